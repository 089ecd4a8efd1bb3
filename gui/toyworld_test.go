package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// TestGenerateWithBundledToyWorld is the first-run path: the bundled model
// is chosen by default and a batch lands in the gallery with its recipes.
// The ToyWorld export is embedded in every build (models/toyworld).
func TestGenerateWithBundledToyWorld(t *testing.T) {
	a := test.NewTempApp(t)
	svc := service.New(service.Config{DataDir: t.TempDir()})
	if _, err := svc.OpenModel(service.BundledModel); err != nil {
		t.Fatal(err)
	}
	v := newMainView(a, svc)
	defer v.win.Close()
	p := v.panel
	waitLong(t, "ToyWorld to be chosen", func() bool { return p.model.Ref == service.BundledModel && !p.generate.Disabled() })
	ui(func() {
		p.prompt.SetText("a red creature on the beach")
		p.steps.SetText("10")
		p.batch.SetText("3")
		test.Tap(p.generate)
	})
	waitLong(t, "3 pictures", func() bool { return len(v.gallery.Items()) == 3 })
	for _, it := range v.gallery.Items() {
		if it.Recipe.ModelName != service.BundledModel || it.Recipe.Prompt != "a red creature on the beach" {
			t.Errorf("recipe %+v", it.Recipe)
		}
	}
	if !strings.Contains(v.win.Title(), service.BundledModel) {
		t.Errorf("title %q", v.win.Title())
	}
}
