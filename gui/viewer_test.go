//go:build ci

package gui

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/service"
)

// generated makes n pictures through the panel and returns the gallery items.
func generated(t *testing.T, v *MainView, prompt string, n int) []service.Item {
	t.Helper()
	p := v.panel
	ui(func() { p.prompt.SetText(prompt) })
	ui(func() { p.steps.SetText("2") })
	ui(func() { p.batch.SetText(strconv.Itoa(n)) })
	before := len(v.gallery.Items())
	ui(func() { test.Tap(p.generate) })
	waitLong(t, "the pictures", func() bool { return len(v.gallery.Items()) == before+n })
	return v.gallery.Items()
}

func TestViewerActions(t *testing.T) {
	v, model := testMain(t)
	items := generated(t, v, "a yellow duck", 2)
	ui(func() { v.gallery.grid.Select(0) })
	if !v.viewerOpen() || v.viewer.Item().ID != items[0].ID {
		t.Fatal("the viewer did not open")
	}
	waitFor(t, func() bool { return v.viewer.img.Image != nil })
	if !strings.Contains(v.viewer.recipe.Text, "a yellow duck") || !strings.Contains(v.viewer.recipe.Text, "Steps: 2") {
		t.Errorf("recipe %q", v.viewer.recipe.Text)
	}

	ui(func() { v.viewer.zoom.SetSelected(zoomFull) })
	if v.viewer.img.FillMode != canvas.ImageFillOriginal {
		t.Errorf("100%%: fill mode %v", v.viewer.img.FillMode)
	}
	ui(func() { v.viewer.zoom.SetSelected(zoomFit) })

	ui(func() { test.Tap(v.viewer.favBtn) })
	waitFor(t, func() bool { return v.viewer.favBtn.Text == "Unfavourite" && v.gallery.Items()[0].Favourite })
	if it, _ := v.studio.Item(items[0].ID); !it.Favourite {
		t.Error("favourite not stored")
	}

	ui(func() { test.Tap(v.viewer.copyBtn) })
	if got := v.app.Clipboard().Content(); got != "a yellow duck" {
		t.Errorf("clipboard %q", got)
	}

	ui(func() { v.panel.prompt.SetText("something else") })
	ui(func() { v.panel.seedLock.SetChecked(false) })
	ui(func() { test.Tap(v.viewer.reuseBtn) })
	if v.panel.prompt.Text != "a yellow duck" || !v.panel.seedLock.Checked || v.panel.seed.Text != strconv.FormatInt(items[0].Recipe.Seed, 10) {
		t.Errorf("reuse: prompt %q seed %q locked %v", v.panel.prompt.Text, v.panel.seed.Text, v.panel.seedLock.Checked)
	}
	waitFor(t, func() bool { return v.panel.model.Ref == model })

	out := filepath.Join(t.TempDir(), "duck.png")
	ui(func() { v.viewer.exportTo(v.viewer.Item(), out, false) })
	waitFor(t, func() bool { _, err := os.Stat(out); return err == nil && strings.Contains(v.status.Text, "Exported") })
	f, _ := os.Open(out)
	text, ok, _ := imageio.ReadParameters(f)
	f.Close()
	if !ok || !strings.Contains(text, "a yellow duck") {
		t.Errorf("exported recipe %q", text)
	}

	// Delete goes back to the gallery at once, with Undo in the notice.
	ui(func() { test.Tap(v.viewer.delete) })
	waitFor(t, func() bool { return !v.viewerOpen() && len(v.gallery.Items()) == 1 && v.undo.root.Visible() })
	if topOverlay(v.win) != nil {
		t.Errorf("a dialog came up on delete: %q", overlayText(v.win))
	}
	if !strings.Contains(v.undo.label.Text, "a yellow duck") {
		t.Errorf("notice %q", v.undo.label.Text)
	}

	// Esc leaves the viewer; the Delete key deletes the viewed picture.
	ui(func() { v.gallery.grid.Select(0) })
	ui(func() { v.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape}) })
	if v.viewerOpen() {
		t.Error("Esc did not close the viewer")
	}
	ui(func() { v.gallery.grid.Select(0) })
	ui(func() { v.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyDelete}) })
	waitFor(t, func() bool { return !v.viewerOpen() && len(v.gallery.Items()) == 0 })
}

// TestViewerActionsWrapWhenNarrow: in a narrow viewer the actions wrap to
// a second row instead of running off the edge (Delete stays in sight).
func TestViewerActionsWrapWhenNarrow(t *testing.T) {
	v, _ := testMain(t)
	generated(t, v, "a narrow one", 1)
	ui(func() { v.gallery.grid.Select(0) })
	waitFor(t, func() bool { return v.viewer.img.Image != nil }) // the picture is loaded off the UI goroutine
	var w fyne.Window
	ui(func() {
		w = test.NewTempWindow(t, v.viewer.Object())
		w.SetPadded(false)
		w.Resize(fyne.NewSize(480, 600))
		relayout(w.Content())
	})
	d := fyne.CurrentApp().Driver()
	rows := map[float32]bool{}
	for _, b := range []*widget.Button{v.viewer.favBtn, v.viewer.copyBtn, v.viewer.reuseBtn, v.viewer.export, v.viewer.folder, v.viewer.delete} {
		p := d.AbsolutePositionForObject(b)
		if p.X < -4 || p.X+b.Size().Width > 484 || b.Size().Width < b.MinSize().Width { // 4: theme padding
			t.Errorf("%q at x %.0f, width %.0f (min %.0f): not wholly in a 480 px viewer", b.Text, p.X, b.Size().Width, b.MinSize().Width)
		}
		rows[p.Y] = true
	}
	if len(rows) < 2 {
		t.Errorf("the actions did not wrap: %d row(s)", len(rows))
	}
}
