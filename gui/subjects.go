package gui

import (
	"errors"
	"fmt"
	"image"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// subjectUI holds the OneActor screens of the main window: the subjects
// column, the "New subject" flow and the subject page (shown in the
// centre), and the subject list the prompt chips and the gallery filter
// offer.
type subjectUI struct {
	main *MainView

	list     []service.SubjectInfo // sorted by name
	thumbs   *thumbLoader
	column   *widget.List
	empty    *widget.Label
	root     fyne.CanvasObject
	flow     *NewSubjectView // the casting flow (kept while it runs)
	page     *SubjectPage
	onChange []func([]service.SubjectInfo) // chips, gallery filter
	offer    *widget.Button                // "make a subject of this" after a photo drop
	progress *widget.Button                // the running cast or tune; back to the flow
	// reloadSeq counts Reloads; only the newest applies its list (an
	// older read can finish after a newer one).
	reloadSeq int
}

func newSubjectUI(v *MainView) *subjectUI {
	s := &subjectUI{main: v}
	s.thumbs = newThumbLoader(v.studio.SubjectThumbnail, func(id string) {
		for k, it := range s.list {
			if it.ID == id {
				s.column.RefreshItem(k)
			}
		}
	})
	s.column = widget.NewList(func() int { return len(s.list) }, func() fyne.CanvasObject {
		img := canvas.NewImageFromImage(nil)
		img.FillMode = canvas.ImageFillContain
		img.ScaleMode = canvas.ImageScalePixels
		img.SetMinSize(fyne.NewSquareSize(40))
		name := widget.NewLabel("")
		name.Truncation = fyne.TextTruncateEllipsis
		return container.NewBorder(nil, nil, img, nil, name)
	}, func(id widget.ListItemID, o fyne.CanvasObject) {
		c := o.(*fyne.Container)
		it := s.list[id]
		label := it.Name
		if it.Incompatible {
			label += " (other model)"
		}
		c.Objects[0].(*widget.Label).SetText(label)
		img := c.Objects[1].(*canvas.Image)
		if t := s.thumbs.Get(it.ID); t != img.Image {
			img.Image = t
			img.Refresh()
		}
	})
	s.column.OnSelected = func(id widget.ListItemID) {
		s.column.UnselectAll()
		if id >= 0 && id < len(s.list) {
			s.OpenPage(s.list[id].ID)
		}
	}
	s.empty = widget.NewLabel("No subjects yet. Press New subject to cast one from a prompt, or make one of a reference picture.")
	s.empty.Wrapping = fyne.TextWrapWord
	s.empty.Importance = widget.LowImportance
	newBtn := widget.NewButtonWithIcon("New subject…", theme.ContentAddIcon(), func() { s.OpenFlow("") })
	newBtn.Importance = widget.HighImportance
	importBtn := widget.NewButtonWithIcon("Import…", theme.DownloadIcon(), s.importDialog)
	s.progress = widget.NewButtonWithIcon("", theme.HistoryIcon(), func() { s.OpenFlow("") })
	s.progress.Importance = widget.LowImportance
	s.progress.Alignment = widget.ButtonAlignLeading
	s.progress.Hide()
	s.offer = widget.NewButtonWithIcon("", theme.AccountIcon(), nil)
	s.offer.Importance = widget.SuccessImportance
	s.offer.Hide()
	title := widget.NewLabelWithStyle("Subjects", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.root = container.NewBorder(container.NewVBox(title, container.NewGridWithColumns(2, newBtn, importBtn), s.offer, s.progress), nil, nil, nil,
		container.NewStack(s.empty, s.column))
	return s
}

// Column is the left column: subjects above references.
func (s *subjectUI) Column(refs fyne.CanvasObject) fyne.CanvasObject {
	split := container.NewVSplit(s.root, refs)
	split.SetOffset(0.5)
	return split
}

// Subjects are the subjects known (after the last Reload).
func (s *subjectUI) Subjects() []service.SubjectInfo { return s.list }

// find returns the subject with id.
func (s *subjectUI) find(id string) (service.SubjectInfo, bool) {
	for _, it := range s.list {
		if it.ID == id {
			return it, true
		}
	}
	return service.SubjectInfo{}, false
}

// Reload reads the subjects again (off the UI goroutine); then is called on
// the UI goroutine afterwards, if not nil.
func (s *subjectUI) Reload(then func()) {
	s.reloadSeq++
	seq := s.reloadSeq
	go func() {
		list, err := s.main.studio.Subjects()
		onUI(func() {
			if seq != s.reloadSeq { // a newer read is on its way: it applies
				if then != nil {
					then()
				}
				return
			}
			if err != nil {
				s.main.Notify("The subjects could not be read: " + err.Error())
				return
			}
			s.set(list)
			if then != nil {
				then()
			}
		})
	}()
}

func (s *subjectUI) set(list []service.SubjectInfo) {
	s.list = list
	if len(list) == 0 {
		s.empty.Show()
	} else {
		s.empty.Hide()
	}
	s.column.Refresh()
	for _, f := range s.onChange {
		f(list)
	}
}

// setProgress shows what the "New subject" flow is doing, so the user can
// browse and come back ("" hides it).
func (s *subjectUI) setProgress(text string) {
	if text == "" {
		s.progress.Hide()
		return
	}
	s.progress.SetText(text)
	s.progress.Show()
}

// forget drops a subject's cached thumbnail (renamed pictures stay; a
// deleted subject's go).
func (s *subjectUI) forget(id string) { s.thumbs.Forget(id) }

// showCentre puts o in the centre of the window, on the first tab.
func (v *MainView) showCentre(o fyne.CanvasObject) {
	v.tabs.SelectIndex(0)
	v.centre.Objects = []fyne.CanvasObject{o}
	v.centre.Refresh()
}

// showGallery goes back to the gallery.
func (v *MainView) showGallery() {
	v.showCentre(v.gallery.Object())
}

// OpenFlow shows the "New subject" flow; photoID, when set, is a reference
// picture to make the subject of. A flow that is casting or tuning is
// shown again rather than replaced.
func (s *subjectUI) OpenFlow(photoID string) {
	if s.main.panel.model.Ref == "" {
		s.main.ShowError("Choose a model first", errors.New("a subject is cast and tuned with the model chosen in the generation panel"))
		return
	}
	if s.flow == nil || (!s.flow.Busy() && (photoID != "" || s.flow.Done())) {
		if s.flow != nil {
			s.flow.Close()
		}
		s.flow = NewNewSubjectView(s.main, photoID)
	}
	s.main.showCentre(s.flow.Object())
}

// OpenPage shows a subject's page.
func (s *subjectUI) OpenPage(id string) {
	if s.page != nil {
		s.page.Close()
	}
	s.page = NewSubjectPage(s.main, id)
	s.main.showCentre(s.page.Object())
}

func (s *subjectUI) importDialog() {
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil || rc == nil {
			return
		}
		path := rc.URI().Path()
		rc.Close()
		s.Import(path, false)
	}, s.main.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".oneactor"}))
	d.Show()
}

// Import reads a subject bundle; one made for another model is kept only
// when the user agrees (it is marked and cannot be drawn with this model).
func (s *subjectUI) Import(path string, force bool) {
	ref := s.main.panel.model.Ref
	go func() {
		info, err := s.main.studio.ImportSubject(path, ref, force)
		onUI(func() {
			var other *service.OtherModelError
			switch {
			case errors.As(err, &other):
				dialog.ShowConfirm("Subject of another model",
					fmt.Sprintf("%s was tuned for another model than the one chosen, so it cannot be drawn with it.\n\nKeep it anyway (marked “other model”)?", filepath.Base(path)),
					func(ok bool) {
						if ok {
							s.Import(path, true)
						}
					}, s.main.win)
			case err != nil:
				s.main.ShowError(fmt.Sprintf("%s could not be imported", filepath.Base(path)), err)
			default:
				s.main.Notify(fmt.Sprintf("Imported the subject %s", info.Name))
				s.Reload(nil)
			}
		})
	}()
}

// subjectNames lists names for a select, and the ids in the same order.
func subjectNames(list []service.SubjectInfo) (names, ids []string) {
	seen := map[string]int{}
	for _, it := range list {
		n := it.Name
		if seen[strings.ToLower(n)]++; seen[strings.ToLower(n)] > 1 {
			n = fmt.Sprintf("%s (%d)", n, seen[strings.ToLower(n)])
		}
		names, ids = append(names, n), append(ids, it.ID)
	}
	return names, ids
}

// pictureBox is a fixed-size, pixel-scaled picture (ToyWorld pictures are
// 32 px; smoothing would blur them).
func pictureBox(img image.Image, side float32) *canvas.Image {
	c := canvas.NewImageFromImage(img)
	c.FillMode = canvas.ImageFillContain
	c.ScaleMode = canvas.ImageScalePixels
	c.SetMinSize(fyne.NewSquareSize(side))
	return c
}
