//go:build ci

package gui

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/diffusion/difftest"
	"github.com/oneactor/oneactor-desktop/core/service"
)

// testMain opens the main window on a fresh library with a tiny model
// folder added and chosen in the panel.
func testMain(t *testing.T) (*MainView, string) {
	t.Helper()
	model := t.TempDir()
	difftest.WriteFolder(t, model, filepath.Join(".."), difftest.Optimum)
	a := test.NewTempApp(t)
	svc := service.New(service.Config{DataDir: t.TempDir()})
	v := openMain(a, svc)
	t.Cleanup(func() {
		if !v.closed {
			v.win.Close()
		}
	})
	if v.studio == nil {
		t.Fatal("the library did not open")
	}
	if _, err := v.studio.AddModelFolder(model); err != nil {
		t.Fatal(err)
	}
	v.panel.LoadModels()
	waitFor(t, func() bool { return len(v.panel.modelSel.Options) == 2 })
	ui(func() { v.panel.modelSel.SetSelected(v.panel.modelSel.Options[1]) })
	waitFor(t, func() bool { return v.panel.model.Ref == model && !v.panel.generate.Disabled() })
	return v, model
}

// waitLong is waitFor with a longer deadline, for generation jobs.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !locked(cond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// findButton finds a visible button whose text contains text under o.
func findButton(o fyne.CanvasObject, text string) *widget.Button {
	var found *widget.Button
	for _, c := range test.LaidOutObjects(o) {
		if b, ok := c.(*widget.Button); ok && b.Visible() && strings.Contains(b.Text, text) {
			found = b
		}
	}
	return found
}

// topOverlay is the dialog on top of the window, or nil.
func topOverlay(w fyne.Window) fyne.CanvasObject {
	return w.Canvas().Overlays().Top()
}

// overlayText concatenates the labels and rich text in the top dialog.
func overlayText(w fyne.Window) string {
	o := topOverlay(w)
	if o == nil {
		return ""
	}
	var b strings.Builder
	for _, c := range test.LaidOutObjects(o) {
		switch l := c.(type) {
		case *widget.Label:
			b.WriteString(l.Text + "\n")
		case *widget.RichText:
			b.WriteString(l.String() + "\n")
		}
	}
	return b.String()
}

// locked evaluates cond while no worker update runs (see uiMu).
func locked(cond func() bool) bool {
	uiMu.Lock()
	defer uiMu.Unlock()
	return cond()
}

// ui runs a test's interaction while no worker update runs.
func ui(f func()) {
	uiMu.Lock()
	defer uiMu.Unlock()
	f()
}

// openMain builds the main window as the app does, on "the UI goroutine":
// under uiMu, so that the updates of the workers it starts (which the
// test driver runs inline, under uiMu) wait until it is built.
func openMain(a fyne.App, b Backend) *MainView {
	var v *MainView
	ui(func() { v = newMainView(a, b) })
	return v
}
