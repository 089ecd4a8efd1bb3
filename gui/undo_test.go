//go:build ci

package gui

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// viewAndDelete opens item k of the gallery in the viewer and deletes it
// with the viewer's button.
func viewAndDelete(t *testing.T, v *MainView, k int) service.Item {
	t.Helper()
	ui(func() { v.gallery.grid.Select(k) })
	it := v.viewer.Item()
	n := len(v.gallery.Items())
	ui(func() { test.Tap(v.viewer.delete) })
	waitFor(t, func() bool {
		p, ok := v.undo.Pending()
		return ok && p.ID == it.ID && len(v.gallery.Items()) == n-1
	})
	return it
}

func TestUndoDeleteRestoresPictureRecipeAndFavourite(t *testing.T) {
	v, _ := testMain(t)
	items := generated(t, v, "a green frog", 3)
	if err := v.studio.SetFavourite(items[1].ID, true); err != nil {
		t.Fatal(err)
	}
	ui(func() { v.gallery.Reload() })
	waitFor(t, func() bool { return v.gallery.Items()[1].Favourite })
	want, _ := v.studio.Image(items[1].ID)

	gone := viewAndDelete(t, v, 1)
	if gone.ID != items[1].ID || v.viewerOpen() {
		t.Fatalf("deleted %s, viewer open %v", gone.ID, v.viewerOpen())
	}
	for _, it := range v.gallery.Items() {
		if it.ID == gone.ID {
			t.Fatal("the deleted picture is still in the gallery")
		}
	}
	ui(func() { test.Tap(v.undo.btn) })
	waitFor(t, func() bool { return len(v.gallery.Items()) == 3 && !v.undo.root.Visible() })
	back := v.gallery.Items()[1]
	if back.ID != gone.ID || !back.Favourite || back.Recipe.Prompt != "a green frog" || back.Recipe.Seed != gone.Recipe.Seed {
		t.Fatalf("after undo: %+v", back)
	}
	got, err := v.studio.Image(back.ID)
	if err != nil || !samePixels(got, want) {
		t.Fatalf("the picture did not come back whole (%v)", err)
	}
	if !strings.Contains(v.status.Text, "back") {
		t.Errorf("status %q", v.status.Text)
	}

	// Ctrl+Z undoes too (when no entry has the focus).
	gone = viewAndDelete(t, v, 0)
	ui(func() { v.win.Canvas().Unfocus() })
	ui(func() { v.win.Canvas().(fyne.Shortcutable).TypedShortcut(&fyne.ShortcutUndo{}) })
	waitFor(t, func() bool { return len(v.gallery.Items()) == 3 })
}

func TestANewDeleteOrTheTimeoutMakesTheLastOneFinal(t *testing.T) {
	v, _ := testMain(t)
	generated(t, v, "a blue boat", 3)
	first := viewAndDelete(t, v, 0)
	second := viewAndDelete(t, v, 0)
	// Only the latest delete can be undone; the first is final now.
	waitFor(t, func() bool { _, err := v.studio.Item(first.ID); return err != nil })
	if _, err := v.studio.Item(second.ID); err != nil {
		t.Fatalf("the pending delete was made final too early: %v", err)
	}

	old := undoWindow
	undoWindow = 50 * time.Millisecond
	defer func() { undoWindow = old }()
	// (Not viewAndDelete: the notice may be gone before it looks.)
	ui(func() { v.gallery.grid.Select(0) })
	third := v.viewer.Item()
	ui(func() { test.Tap(v.viewer.delete) })
	waitFor(t, func() bool {
		_, err2 := v.studio.Item(second.ID)
		_, err3 := v.studio.Item(third.ID)
		return err2 != nil && err3 != nil && !v.undo.root.Visible()
	})
	if ids, _ := v.studio.Trashed(); len(ids) != 0 {
		t.Fatalf("still pending: %v", ids)
	}
	ui(func() { v.undo.Undo() }) // nothing to undo: no effect
	if len(v.gallery.Items()) != 0 {
		t.Fatalf("gallery %d", len(v.gallery.Items()))
	}
}

func TestClosingTheWindowFinishesAPendingDelete(t *testing.T) {
	v, _ := testMain(t)
	generated(t, v, "a red kite", 1)
	gone := viewAndDelete(t, v, 0)
	dir := v.backend.DataDir()
	v.win.Close() // not under uiMu: closing waits for the job worker, whose events take that lock
	st, err := service.New(service.Config{DataDir: dir}).OpenStudio()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Item(gone.ID); err == nil {
		t.Fatal("the pending delete survived closing the window")
	}
}

func TestOpenContainingFolder(t *testing.T) {
	v, _ := testMain(t)
	generated(t, v, "a white swan", 1)
	var mu sync.Mutex // the opener runs on the viewer's worker goroutine
	var opened []string
	v.viewer.opener = func(dir string) error { mu.Lock(); opened = append(opened, dir); mu.Unlock(); return nil }
	openedDirs := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(opened) }
	ui(func() { v.gallery.grid.Select(0) })
	ui(func() { test.Tap(v.viewer.folder) })
	waitFor(t, func() bool { return strings.Contains(v.status.Text, "Showing the folder") })
	got := openedDirs()
	if len(got) != 1 || got[0] != v.studio.PicturesDir() {
		t.Fatalf("opened %v, want %s", got, v.studio.PicturesDir())
	}
	files, _ := filepath.Glob(filepath.Join(got[0], "*.png"))
	if len(files) != 1 || !strings.Contains(filepath.Base(files[0]), "seed") {
		t.Fatalf("files %v", files)
	}
	if !strings.Contains(v.status.Text, files[0]) {
		t.Errorf("status %q", v.status.Text)
	}
	// Again: the same file, shown again.
	ui(func() { test.Tap(v.viewer.folder) })
	waitFor(t, func() bool { return len(openedDirs()) == 2 })
	if again, _ := filepath.Glob(filepath.Join(v.studio.PicturesDir(), "*.png")); len(again) != 1 {
		t.Fatalf("files after a second open %v", again)
	}

	// Without xdg-open the dialog says so and where the picture is.
	ui(func() { v.viewer.opener = openFolder })
	t.Setenv("PATH", t.TempDir())
	ui(func() { test.Tap(v.viewer.folder) })
	waitFor(t, func() bool { return topOverlay(v.win) != nil })
	text := overlayText(v.win)
	if !strings.Contains(text, "The folder could not be opened") || !strings.Contains(text, "xdg-open is not installed") || !strings.Contains(text, files[0]) {
		t.Fatalf("dialog %q", text)
	}
}

func TestOpenFolderRunsXdgOpen(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "args")
	script := "#!/bin/sh\necho \"$@\" > " + log + "\n"
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	if err := openFolder("/some/folder"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(log); strings.TrimSpace(string(got)) != "/some/folder" {
		t.Fatalf("xdg-open got %q", got)
	}
	// A failing xdg-open is reported with what it said.
	os.WriteFile(filepath.Join(bin, "xdg-open"), []byte("#!/bin/sh\necho 'no method available for opening' >&2\nexit 3\n"), 0o755)
	if err := openFolder("/x"); err == nil || !strings.Contains(err.Error(), "no method available") {
		t.Fatalf("failing xdg-open: %v", err)
	}
	t.Setenv("PATH", t.TempDir())
	if err := openFolder("/x"); !errors.Is(err, errNoOpener) {
		t.Fatalf("missing xdg-open: %v", err)
	}
}

// TestKeysDoNothingBehindADialog: with a dialog up, Delete and Esc leave
// the viewed picture alone.
func TestKeysDoNothingBehindADialog(t *testing.T) {
	v, _ := testMain(t)
	generated(t, v, "a grey cat", 1)
	ui(func() { v.gallery.grid.Select(0) })
	ui(func() { v.ShowError("Something", errors.New("details")) })
	for _, k := range []fyne.KeyName{fyne.KeyDelete, fyne.KeyEscape} {
		ui(func() { v.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: k}) })
	}
	time.Sleep(100 * time.Millisecond)
	if !v.viewerOpen() || len(v.gallery.Items()) != 1 {
		t.Fatalf("behind a dialog: viewer open %v, %d pictures", v.viewerOpen(), len(v.gallery.Items()))
	}
	if _, ok := v.undo.Pending(); ok {
		t.Fatal("a picture was deleted behind the dialog")
	}
}

// TestDeletingTwiceStillUndoes: Delete pressed twice on the same picture
// (before the viewer closed) leaves one pending delete that Undo reverses.
func TestDeletingTwiceStillUndoes(t *testing.T) {
	v, _ := testMain(t)
	items := generated(t, v, "a double tap", 2)
	ui(func() { v.gallery.grid.Select(0) })
	ui(func() {
		v.undo.Delete(items[0])
		v.undo.Delete(items[0])
	})
	waitFor(t, func() bool { _, ok := v.undo.Pending(); return ok && len(v.gallery.Items()) == 1 })
	time.Sleep(100 * time.Millisecond) // a wrong purge would have run by now
	ui(func() { test.Tap(v.undo.btn) })
	waitFor(t, func() bool { return len(v.gallery.Items()) == 2 })
	if _, err := v.studio.Item(items[0].ID); err != nil {
		t.Fatalf("the picture did not come back: %v", err)
	}
}

// TestDeleteFromTheGalleryMenu: a right click on a thumbnail offers Open
// and Delete; Delete works as in the viewer, with Undo.
func TestDeleteFromTheGalleryMenu(t *testing.T) {
	v, _ := testMain(t)
	items := generated(t, v, "a pink pig", 2)
	var cell *galleryCell
	waitFor(t, func() bool {
		for _, c := range visibleCells(v.gallery) {
			if c.index == 1 {
				cell = c
			}
		}
		return cell != nil
	})
	ui(func() { cell.TappedSecondary(&fyne.PointEvent{AbsolutePosition: fyne.NewPos(300, 200)}) })
	if topOverlay(v.win) == nil {
		t.Fatal("no menu on a right click")
	}
	// Tap "Delete" in the menu where it is drawn: the menu item (tappable)
	// that holds the text.
	var at fyne.Position
	var item fyne.CanvasObject
	for _, o := range test.LaidOutObjects(topOverlay(v.win)) {
		if _, ok := o.(fyne.Tappable); ok {
			item = o
		}
		if txt, ok := o.(*canvas.Text); ok && txt.Text == "Delete" && item != nil {
			at = fyne.CurrentApp().Driver().AbsolutePositionForObject(item).AddXY(5, 5)
		}
	}
	if at.IsZero() {
		t.Fatal("the menu has no Delete")
	}
	ui(func() { test.TapCanvas(v.win.Canvas(), at) })
	waitFor(t, func() bool {
		p, ok := v.undo.Pending()
		return ok && p.ID == items[1].ID && len(v.gallery.Items()) == 1
	})
	if topOverlay(v.win) != nil {
		t.Error("the menu stayed open")
	}
	ui(func() { test.Tap(v.undo.btn) })
	waitFor(t, func() bool { return len(v.gallery.Items()) == 2 })

	// Open from the menu shows the picture in the viewer.
	m := v.gallery.itemMenu(0)
	if len(m.Items) != 2 || m.Items[0].Label != "Open" || m.Items[1].Label != "Delete" {
		t.Fatalf("menu %+v", m.Items)
	}
	ui(func() { m.Items[0].Action() })
	if !v.viewerOpen() || v.viewer.Item().ID != v.gallery.Items()[0].ID {
		t.Fatal("Open did not show the picture")
	}
}
