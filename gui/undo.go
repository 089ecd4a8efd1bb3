package gui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// undoWindow is how long a delete can be undone from the notice; after it
// (or when another picture is deleted) the delete is made final.
var undoWindow = 10 * time.Second

// undoBar is the notice after a delete: what was deleted and an Undo
// button. Only the latest delete can be undone; the studio makes any
// pending one final when the window closes.
type undoBar struct {
	main  *MainView
	label *widget.Label
	btn   *widget.Button
	root  *fyne.Container

	pending *service.Item // the deleted item that can still come back
	timer   *time.Timer
}

func newUndoBar(m *MainView) *undoBar {
	u := &undoBar{main: m}
	u.label = widget.NewLabel("")
	u.btn = widget.NewButtonWithIcon("Undo", theme.ContentUndoIcon(), u.Undo)
	u.btn.Importance = widget.HighImportance
	u.root = container.NewHBox(u.label, u.btn)
	u.root.Hide()
	return u
}

// Object is the notice (hidden while there is nothing to undo).
func (u *undoBar) Object() fyne.CanvasObject { return u.root }

// Pending is the item the notice can bring back, if any.
func (u *undoBar) Pending() (service.Item, bool) {
	if u.pending == nil {
		return service.Item{}, false
	}
	return *u.pending, true
}

// Delete moves an item to the trash (off the UI goroutine), takes it out
// of the views and offers to undo it.
func (u *undoBar) Delete(it service.Item) {
	st := u.main.studio
	go func() {
		err := st.Trash(it.ID)
		onUI(func() {
			m := u.main
			if err != nil {
				m.ShowError("The picture could not be deleted", err)
				return
			}
			m.gallery.Remove(it.ID)
			if it.Reference {
				m.refs.Reload()
			}
			if m.viewer.Item().ID == it.ID {
				m.closeViewer()
			}
			u.offer(it)
		})
	}()
}

// offer shows the notice for it; an earlier pending delete becomes final.
// The same item again (Delete pressed twice before the first took) only
// starts the wait anew.
func (u *undoBar) offer(it service.Item) {
	if u.pending != nil && u.pending.ID == it.ID {
		u.timer.Stop()
	} else {
		u.finish()
	}
	u.pending = &it
	u.label.SetText(deletedText(it))
	u.root.Show()
	id := it.ID
	u.timer = time.AfterFunc(undoWindow, func() {
		onUI(func() {
			if !u.main.closed && u.pending != nil && u.pending.ID == id {
				u.finish()
			}
		})
	})
	u.main.Notify("")
}

// finish makes the pending delete final and hides the notice.
func (u *undoBar) finish() {
	if u.timer != nil {
		u.timer.Stop()
		u.timer = nil
	}
	if u.pending == nil {
		return
	}
	id, st := u.pending.ID, u.main.studio
	u.pending = nil
	u.root.Hide()
	go func() {
		if err := st.Purge(id); err != nil {
			// The item stays hidden in the trash; closing the window (or
			// the next start) tries again.
			onUI(func() { u.main.Notify("The deleted picture could not be removed yet: " + err.Error()) })
		}
	}()
}

// Undo brings the pending item back.
func (u *undoBar) Undo() {
	if u.pending == nil {
		return
	}
	if u.timer != nil {
		u.timer.Stop()
		u.timer = nil
	}
	it, st := *u.pending, u.main.studio
	u.pending = nil
	u.root.Hide()
	go func() {
		err := st.Restore(it.ID)
		onUI(func() {
			m := u.main
			if err != nil {
				m.ShowError("The picture could not be brought back", err)
				return
			}
			m.gallery.Reload()
			if it.Reference {
				m.refs.Reload()
			}
			m.Notify("The picture is back")
		})
	}()
}

// deletedText names what was deleted: the reference's file name or the
// start of the prompt.
func deletedText(it service.Item) string {
	if it.Reference {
		return fmt.Sprintf("Deleted the reference %s", it.Name)
	}
	p := []rune(it.Recipe.Prompt)
	if len(p) > 32 {
		p = append(p[:31], '…')
	}
	return fmt.Sprintf("Deleted “%s”", string(p))
}
