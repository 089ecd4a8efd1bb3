package gui

import (
	"fyne.io/fyne/v2"
)

// addShortcuts binds the keyboard: Ctrl+Enter generates, Esc cancels the
// running job (or leaves the viewer), Delete removes the viewed picture
// (with undo), Ctrl+Z undoes the last delete.
// The prompt entries pass Ctrl+Enter and Esc on themselves (promptEntry).
func (v *MainView) addShortcuts() {
	c := v.win.Canvas()
	c.AddShortcut(generateShortcut, func(fyne.Shortcut) { v.panel.Generate() })
	c.AddShortcut(&fyne.ShortcutUndo{}, func(fyne.Shortcut) { v.undo.Undo() })
	c.SetOnTypedKey(func(k *fyne.KeyEvent) {
		if c.Overlays().Top() != nil {
			// A dialog is up: keys are for it, never for the picture or
			// the job behind it.
			return
		}
		switch k.Name {
		case fyne.KeyEscape:
			if v.panel.running != "" {
				v.panel.CancelRunning()
			} else if v.viewerOpen() {
				v.closeViewer()
			}
		case fyne.KeyDelete:
			if v.viewerOpen() {
				v.viewer.Delete()
			}
		}
	})
}
