//go:build ci

package gui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/service"
)

func TestFirstRunShowsWelcome(t *testing.T) {
	a := test.NewTempApp(t)
	v := openMain(a, service.New(service.Config{DataDir: t.TempDir()}))
	defer v.win.Close()
	waitFor(t, func() bool { return v.gallery.body.Objects[0] == v.gallery.welcome })
	waitFor(t, func() bool { return len(v.panel.modelSel.Options) == 1 })
	if !strings.HasPrefix(v.win.Title(), "OneActor Desktop") {
		t.Errorf("title %q", v.win.Title())
	}
}

func TestWindowRemembersSize(t *testing.T) {
	a := test.NewTempApp(t)
	dir := t.TempDir()
	v := openMain(a, service.New(service.Config{DataDir: dir}))
	ui(func() { v.win.Resize(fyne.NewSize(1000, 700)) })
	ui(func() { v.leftSplit.SetOffset(0.3) })
	v.win.Close()
	w := openMain(a, service.New(service.Config{DataDir: dir}))
	defer w.win.Close()
	if s := w.win.Canvas().Size(); s.Width != 1000 || s.Height != 700 {
		t.Errorf("size %v", s)
	}
	if w.leftSplit.Offset != 0.3 {
		t.Errorf("split %v", w.leftSplit.Offset)
	}
}

func TestSecondWindowExplainsTheLock(t *testing.T) {
	dir := t.TempDir()
	st, err := service.New(service.Config{DataDir: dir}).OpenStudio()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := test.NewTempApp(t)
	v := openMain(a, service.New(service.Config{DataDir: dir}))
	defer v.win.Close()
	if v.studio != nil {
		t.Fatal("a second window opened the library")
	}
	if text := allText(v.win.Content()); !strings.Contains(text, "open in another window") || !strings.Contains(text, "Diagnostics") {
		t.Errorf("screen: %q", text)
	}
	if locked(func() bool { return findButton(v.win.Content(), "start a new library") != nil }) {
		t.Error("a locked library offers to start a new one")
	}
}

func TestDamagedLibraryStartsNew(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "library.db"), make([]byte, 8192), 0o600)
	a := test.NewTempApp(t)
	v := openMain(a, service.New(service.Config{DataDir: dir}))
	defer v.win.Close()
	if !strings.Contains(allText(v.win.Content()), "damaged") {
		t.Fatalf("screen: %q", allText(v.win.Content()))
	}
	ui(func() { test.Tap(findButton(v.win.Content(), "start a new library")) })
	if !locked(func() bool { return v.studio != nil && strings.Contains(v.status.Text, "broken") }) {
		t.Fatalf("after starting anew: studio %v, status %q", v.studio != nil, v.status.Text)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "library.db.broken*"))
	if len(matches) != 1 {
		t.Errorf("kept files %v", matches)
	}
}

// allText reads the labels and card titles under o, while no worker
// update runs (the diagnostics card fills itself from a worker).
func allText(o fyne.CanvasObject) string {
	var b strings.Builder
	ui(func() {
		for _, c := range test.LaidOutObjects(o) {
			switch l := c.(type) {
			case *widget.Label:
				b.WriteString(l.Text + "\n")
			case *widget.Card:
				b.WriteString(l.Title + "\n")
			}
		}
	})
	return b.String()
}
