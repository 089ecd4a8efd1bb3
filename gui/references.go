package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// ReferencesView is the left column: the user's imported reference
// pictures (the subjects list grows out of it once OneActor casting lands).
type ReferencesView struct {
	studio *service.Studio
	main   *MainView
	items  []service.Item
	thumbs *thumbLoader

	list  *widget.List
	empty *widget.Label
	root  fyne.CanvasObject
}

// NewReferencesView builds the column; call Reload to fill it.
func NewReferencesView(st *service.Studio, m *MainView) *ReferencesView {
	r := &ReferencesView{studio: st, main: m}
	r.thumbs = newThumbLoader(st.Thumbnail, func(id string) {
		for k, it := range r.items {
			if it.ID == id {
				r.list.RefreshItem(k)
			}
		}
	})
	r.list = widget.NewList(func() int { return len(r.items) }, func() fyne.CanvasObject {
		img := canvas.NewImageFromImage(nil)
		img.FillMode = canvas.ImageFillContain
		img.SetMinSize(fyne.NewSquareSize(48))
		name := widget.NewLabel("")
		name.Truncation = fyne.TextTruncateEllipsis
		return container.NewBorder(nil, nil, img, newMakeSubjectButton(), name)
	}, func(id widget.ListItemID, o fyne.CanvasObject) {
		c := o.(*fyne.Container)
		it := r.items[id]
		c.Objects[0].(*widget.Label).SetText(it.Name)
		img := c.Objects[1].(*canvas.Image)
		c.Objects[2].(*widget.Button).OnTapped = func() { m.subj.OpenFlow(it.ID) }
		if t := r.thumbs.Get(it.ID); t != img.Image {
			img.Image = t
			img.Refresh()
		}
	})
	r.list.OnSelected = func(id widget.ListItemID) {
		r.list.UnselectAll()
		if id >= 0 && id < len(r.items) {
			m.openItem(r.items[id])
		}
	}
	r.empty = widget.NewLabel("Drop photos of your subject on the window, or import them, to keep them here as references.")
	r.empty.Wrapping = fyne.TextWrapWord
	r.empty.Importance = widget.LowImportance
	importBtn := widget.NewButtonWithIcon("Import pictures…", theme.FileImageIcon(), r.importDialog)
	title := widget.NewLabelWithStyle("References", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.root = container.NewBorder(container.NewVBox(title, importBtn), nil, nil, nil, container.NewStack(r.empty, r.list))
	return r
}

// Object is the column's root.
func (r *ReferencesView) Object() fyne.CanvasObject { return r.root }

// Items are the references shown.
func (r *ReferencesView) Items() []service.Item { return r.items }

// Reload reads the references again (off the UI goroutine).
func (r *ReferencesView) Reload() {
	go func() {
		items, err := r.studio.References()
		onUI(func() {
			if err != nil {
				r.main.Notify("The references could not be read: " + err.Error())
				return
			}
			r.items = items
			if len(items) == 0 {
				r.empty.Show()
			} else {
				r.empty.Hide()
			}
			r.list.Refresh()
		})
	}()
}

func (r *ReferencesView) importDialog() {
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil || rc == nil {
			return
		}
		path := rc.URI().Path()
		rc.Close()
		r.main.HandleDrop([]string{path})
	}, r.main.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".png", ".jpg", ".jpeg", ".webp"}))
	d.Show()
}
