package gui

import (
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
	"github.com/oneactor/oneactor-desktop/icons"
)

// Viewer shows one picture full size with its recipe and actions.
type Viewer struct {
	main *MainView
	item service.Item
	pic  image.Image

	img      *canvas.Image
	picture  *fyne.Container // the fitted or scrolled image
	zoom     *widget.RadioGroup
	recipe   *widget.Label
	title    *widget.Label
	favBtn   *widget.Button
	copyBtn  *widget.Button
	reuseBtn *widget.Button
	export   *widget.Button
	folder   *widget.Button
	delete   *widget.Button
	root     fyne.CanvasObject

	// opener shows a folder in the file manager (openFolder; tests swap it).
	opener func(dir string) error
}

// Zoom choices.
const (
	zoomFit  = "Fit"
	zoomFull = "100%"
)

// NewViewer builds the viewer of the main view m.
func NewViewer(m *MainView) *Viewer {
	v := &Viewer{main: m, opener: openFolder}
	v.img = canvas.NewImageFromImage(nil)
	v.img.FillMode = canvas.ImageFillContain
	v.picture = container.NewStack(v.img)
	v.zoom = widget.NewRadioGroup([]string{zoomFit, zoomFull}, func(string) { v.layoutPicture() })
	v.zoom.Horizontal, v.zoom.Required = true, true
	v.zoom.Selected = zoomFit
	back := widget.NewButtonWithIcon("Gallery", theme.NavigateBackIcon(), m.closeViewer)
	v.favBtn = widget.NewButtonWithIcon("Favourite", theme.NewThemedResource(icons.Star), v.toggleFavourite)
	v.copyBtn = widget.NewButtonWithIcon("Copy prompt", theme.ContentCopyIcon(), v.copyPrompt)
	v.reuseBtn = widget.NewButtonWithIcon("Reuse settings", theme.MediaReplayIcon(), v.reuse)
	v.export = widget.NewButtonWithIcon("Export PNG…", theme.DocumentSaveIcon(), v.exportDialog)
	v.folder = widget.NewButtonWithIcon("Open folder", theme.FolderOpenIcon(), v.OpenFolder)
	v.delete = widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), v.Delete)
	v.delete.Importance = widget.DangerImportance
	v.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.title.Truncation = fyne.TextTruncateEllipsis
	v.recipe = widget.NewLabel("")
	v.recipe.Wrapping = fyne.TextWrapWord
	v.recipe.Selectable = true
	bar := container.NewHBox(back, widget.NewSeparator(), v.zoom)
	// The actions wrap onto a second row when the viewer is narrow, so
	// none (Delete last) is ever out of sight.
	actions := container.New(&flowLayout{}, v.favBtn, v.copyBtn, v.reuseBtn, v.export, v.folder, v.delete)
	details := container.NewVBox(widget.NewSeparator(), v.title, actions, v.recipe)
	v.root = container.NewBorder(container.NewPadded(bar), details, nil, nil, v.picture)
	return v
}

// Object is the viewer's root.
func (v *Viewer) Object() fyne.CanvasObject { return v.root }

// Show loads an item's picture (off the UI goroutine) and its recipe.
func (v *Viewer) Show(it service.Item) {
	v.item, v.pic = it, nil
	v.img.Image = nil
	v.img.Refresh()
	v.showDetails()
	st := v.main.studio
	go func() {
		img, err := st.Image(it.ID)
		onUI(func() {
			if v.item.ID != it.ID {
				return
			}
			if err != nil {
				v.main.ShowError("The picture could not be shown", err)
				return
			}
			v.pic = img
			v.img.Image = img
			v.layoutPicture()
		})
	}()
}

// Clear forgets the shown item (so its picture can be freed).
func (v *Viewer) Clear() {
	v.item, v.pic = service.Item{}, nil
	v.img.Image = nil
}

// Item is the shown item.
func (v *Viewer) Item() service.Item { return v.item }

func (v *Viewer) showDetails() {
	it := v.item
	if it.Reference {
		v.title.SetText(fmt.Sprintf("Reference picture %s — imported %s", it.Name, it.Time.Local().Format("2 Jan 2006 15:04")))
		v.recipe.SetText("An imported picture: it has no generation settings.")
	} else {
		model := it.Recipe.ModelName
		if model == "" {
			model = "unknown model"
		}
		v.title.SetText(fmt.Sprintf("%s — %s, seed %d", it.Time.Local().Format("2 Jan 2006 15:04:05"), model, it.Recipe.Seed))
		v.recipe.SetText(it.Recipe.Text())
	}
	if it.Favourite {
		v.favBtn.SetText("Unfavourite")
		v.favBtn.Importance = widget.HighImportance
	} else {
		v.favBtn.SetText("Favourite")
		v.favBtn.Importance = widget.MediumImportance
	}
	v.favBtn.Refresh()
	for _, b := range []*widget.Button{v.copyBtn, v.reuseBtn} {
		if it.Reference {
			b.Disable()
		} else {
			b.Enable()
		}
	}
}

// layoutPicture shows the picture fitted to the space, or at 100% with
// scroll bars.
func (v *Viewer) layoutPicture() {
	if v.zoom.Selected == zoomFull {
		v.img.FillMode = canvas.ImageFillOriginal
		v.picture.Objects = []fyne.CanvasObject{container.NewScroll(container.NewCenter(v.img))}
	} else {
		v.img.FillMode = canvas.ImageFillContain
		v.picture.Objects = []fyne.CanvasObject{v.img}
	}
	v.picture.Refresh()
	v.img.Refresh()
}

func (v *Viewer) toggleFavourite() {
	it := v.item
	fav := !it.Favourite
	go func() {
		err := v.main.studio.SetFavourite(it.ID, fav)
		onUI(func() {
			if err != nil {
				v.main.ShowError("The favourite mark could not be saved", err)
				return
			}
			if v.item.ID == it.ID {
				v.item.Favourite = fav
				v.showDetails()
			}
			v.main.gallery.SetFavourite(it.ID, fav)
		})
	}()
}

func (v *Viewer) copyPrompt() {
	v.main.app.Clipboard().SetContent(v.item.Recipe.Prompt)
	v.main.Notify("Prompt copied")
}

func (v *Viewer) reuse() {
	v.main.panel.Apply(v.item.Recipe)
	v.main.Notify("The settings of this picture are in the generation panel")
}

func (v *Viewer) exportDialog() {
	it := v.item
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		path := w.URI().Path()
		// The dialog created the file; Export refuses to replace files, so
		// hand it an empty name to take.
		w.Close()
		v.exportTo(it, path, true)
	}, v.main.win)
	d.SetFileName(exportName(it))
	d.SetFilter(storage.NewExtensionFileFilter([]string{".png"}))
	d.Show()
}

// exportTo writes the item's PNG to path; replace allows taking over an
// empty file the save dialog made.
func (v *Viewer) exportTo(it service.Item, path string, replace bool) {
	go func() {
		err := exportFile(v.main.studio, it.ID, path, replace)
		onUI(func() {
			if err != nil {
				v.main.ShowError("The picture could not be exported", err)
				return
			}
			v.main.Notify("Exported " + path)
		})
	}()
}

func exportName(it service.Item) string {
	if it.Reference && it.Name != "" {
		return strings.TrimSuffix(it.Name, ".png") + ".png"
	}
	return fmt.Sprintf("oneactor-%s-%d.png", it.Time.Local().Format("20060102-150405"), it.Recipe.Seed)
}

// Delete deletes the shown item with undo: the viewer goes back to the
// gallery and a notice offers Undo for a while.
func (v *Viewer) Delete() {
	if v.item.ID == "" {
		return
	}
	v.main.undo.Delete(v.item)
}

// OpenFolder writes the shown picture as a PNG into the pictures folder
// (once) and shows that folder in the file manager.
func (v *Viewer) OpenFolder() {
	it := v.item
	if it.ID == "" {
		return
	}
	st, open := v.main.studio, v.opener
	go func() {
		path, err := st.PictureFile(it.ID)
		if err != nil {
			onUI(func() { v.main.ShowError("The picture could not be written to a file", err) })
			return
		}
		err = open(filepath.Dir(path))
		onUI(func() {
			if err != nil {
				v.main.ShowError("The folder could not be opened", fmt.Errorf("%w.\n\nThe picture is saved as %s", err, path))
				return
			}
			v.main.Notify("Showing the folder of " + path)
		})
	}()
}
