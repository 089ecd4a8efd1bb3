package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// promptEntry is a multi-line entry that passes Ctrl+Enter (generate) and
// Esc (cancel) on: a focused Entry otherwise swallows them, and the prompt
// is where the user's focus is when they want to generate.
type promptEntry struct {
	widget.Entry
	onSubmit func()
	onEscape func()
}

func newPromptEntry(rows int, placeholder string) *promptEntry {
	e := &promptEntry{}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.SetMinRowsVisible(rows)
	e.SetPlaceHolder(placeholder)
	e.ExtendBaseWidget(e)
	return e
}

// generateShortcut is Ctrl+Enter (Cmd+Enter on macOS).
var generateShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}

func (e *promptEntry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && (cs.KeyName == fyne.KeyReturn || cs.KeyName == fyne.KeyEnter) &&
		cs.Modifier == fyne.KeyModifierShortcutDefault {
		if e.onSubmit != nil {
			e.onSubmit()
		}
		return
	}
	e.Entry.TypedShortcut(s)
}

func (e *promptEntry) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape && e.onEscape != nil {
		e.onEscape()
		return
	}
	e.Entry.TypedKey(k)
}
