package gui

import (
	"fmt"

	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// offerSubject offers, after one photo was dropped (and kept as a
// reference), to make a subject of it: a button at the top of the
// subjects column (not a dialog: a drop never blocks the window). The
// photo becomes the target of the "New subject" flow.
func (v *MainView) offerSubject(it service.Item) {
	if v.subj == nil {
		return
	}
	name := it.Name
	if name == "" {
		name = "the picture"
	}
	b := v.subj.offer
	b.SetText(fmt.Sprintf("Make a subject of %s", ellipsis(name, 28)))
	b.OnTapped = func() {
		b.Hide()
		v.subj.OpenFlow(it.ID)
	}
	b.Show()
}

// newMakeSubjectButton is the references list's "make a subject of this"
// action (its OnTapped is set per row).
func newMakeSubjectButton() *widget.Button {
	b := widget.NewButtonWithIcon("", theme.AccountIcon(), nil)
	b.Importance = widget.LowImportance
	return b
}
