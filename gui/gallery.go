package gui

import (
	"image"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/service"
	"github.com/oneactor/oneactor-desktop/icons"
)

// GalleryCell is the size of one thumbnail cell.
var GalleryCell = fyne.NewSquareSize(150)

// GalleryView is the centre of the window: every generated picture as a
// thumbnail, newest first, in a virtualised grid (only the cells on screen
// exist), with filters.
type GalleryView struct {
	studio *service.Studio
	onOpen func(service.Item)
	// OnDelete deletes an item (offered in the right-click menu when set).
	OnDelete func(service.Item)

	items  []service.Item
	filter service.GalleryFilter
	thumbs *thumbLoader
	// loading counts Reloads in flight; a newer one wins.
	generation int

	grid *widget.GridWrap
	show *widget.RadioGroup
	// subjectSel filters by subject (subject_filter.go).
	subjectSel *widget.Select
	subjectIDs map[string]string // choice → subject id
	search     *widget.Entry
	count      *widget.Label
	welcome    fyne.CanvasObject
	body       *fyne.Container
	root       fyne.CanvasObject
	// searchTimer delays a text search until typing pauses.
	searchTimer *time.Timer
}

// Filter choices.
const (
	showAll        = "All"
	showFavourites = "Favourites"
)

// NewGalleryView builds the gallery; call Reload to fill it.
func NewGalleryView(st *service.Studio, onOpen func(service.Item)) *GalleryView {
	g := &GalleryView{studio: st, onOpen: onOpen}
	g.thumbs = newThumbLoader(func(id string) (image.Image, error) {
		img, err := st.Thumbnail(id)
		if err != nil {
			return nil, err
		}
		// Scaled to the cell: every thumbnail shown becomes a texture, and
		// the stored 256 px ones would cost 2.5× the memory.
		return imageio.Thumbnail(img, int(GalleryCell.Width))
	}, g.thumbLoaded)
	g.grid = widget.NewGridWrap(func() int { return len(g.items) }, g.newCell, g.updateCell)
	g.grid.OnSelected = func(id widget.GridWrapItemID) {
		g.grid.UnselectAll()
		if id >= 0 && id < len(g.items) {
			g.onOpen(g.items[id])
		}
	}
	g.show = widget.NewRadioGroup([]string{showAll, showFavourites}, func(s string) {
		g.filter.Favourites = s == showFavourites
		g.Reload()
	})
	g.show.Horizontal = true
	g.show.Required = true
	g.show.Selected = showAll
	g.search = widget.NewEntry()
	g.search.SetPlaceHolder("Search prompts…")
	g.search.ActionItem = widget.NewIcon(theme.SearchIcon())
	g.search.OnChanged = func(s string) {
		if g.searchTimer != nil {
			g.searchTimer.Stop()
		}
		g.searchTimer = time.AfterFunc(250*time.Millisecond, func() {
			onUI(func() { g.setText(s) })
		})
	}
	g.search.OnSubmitted = g.setText
	g.count = widget.NewLabel("")
	g.count.Importance = widget.LowImportance
	g.welcome = newWelcome()
	g.body = container.NewStack(g.grid)
	g.subjectSel = newSubjectFilter(g)
	bar := container.NewBorder(nil, nil, container.NewHBox(g.show, g.subjectSel), g.count, g.search)
	g.root = container.NewBorder(container.NewPadded(bar), nil, nil, nil, g.body)
	return g
}

func (g *GalleryView) setText(s string) {
	if g.filter.Text != s {
		g.filter.Text = s
		g.Reload()
	}
}

// Object is the view's root.
func (g *GalleryView) Object() fyne.CanvasObject { return g.root }

// Items are the items shown, newest first.
func (g *GalleryView) Items() []service.Item { return g.items }

// Reload reads the items again (off the UI goroutine).
func (g *GalleryView) Reload() {
	g.generation++
	gen, f := g.generation, g.filter
	go func() {
		items, err := g.studio.Gallery(f)
		onUI(func() {
			if gen != g.generation {
				return // a newer filter was chosen meanwhile
			}
			if err != nil {
				g.count.SetText("the gallery could not be read: " + err.Error())
				return
			}
			g.setItems(items)
		})
	}()
}

func (g *GalleryView) setItems(items []service.Item) {
	g.items = items
	switch {
	case len(items) == 0 && g.filter == (service.GalleryFilter{}):
		g.body.Objects = []fyne.CanvasObject{g.welcome}
		g.count.SetText("")
	default:
		g.body.Objects = []fyne.CanvasObject{g.grid}
		g.count.SetText(plural(len(items), "picture"))
	}
	g.body.Refresh()
	g.grid.Refresh()
}

// galleryCell is one cell: the thumbnail, and a star on favourites.
type galleryCell struct {
	widget.BaseWidget
	img  *canvas.Image
	star *widget.Icon

	g     *GalleryView
	index int // the item shown
}

func (g *GalleryView) newCell() fyne.CanvasObject {
	c := &galleryCell{img: canvas.NewImageFromImage(nil), star: widget.NewIcon(nil), g: g}
	c.img.FillMode = canvas.ImageFillContain
	c.img.ScaleMode = canvas.ImageScaleFastest
	c.img.SetMinSize(GalleryCell)
	c.ExtendBaseWidget(c)
	return c
}

func (c *galleryCell) CreateRenderer() fyne.WidgetRenderer {
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bg.CornerRadius = theme.InputRadiusSize()
	return widget.NewSimpleRenderer(container.NewStack(bg, c.img,
		container.NewVBox(layout.NewSpacer(), container.NewHBox(layout.NewSpacer(), c.star))))
}

func (g *GalleryView) updateCell(id widget.GridWrapItemID, o fyne.CanvasObject) {
	c := o.(*galleryCell)
	if id < 0 || id >= len(g.items) {
		return
	}
	c.index = id
	it := g.items[id]
	var img image.Image
	if t := g.thumbs.Get(it.ID); t != nil {
		img = t
	}
	if c.img.Image != img {
		c.img.Image = img
		c.img.Refresh()
	}
	if it.Favourite {
		c.star.SetResource(theme.NewPrimaryThemedResource(icons.Star))
	} else {
		c.star.SetResource(nil)
	}
}

// TappedSecondary (a right click) offers the picture's actions.
func (c *galleryCell) TappedSecondary(ev *fyne.PointEvent) {
	m := c.g.itemMenu(c.index)
	if m == nil {
		return
	}
	if cv := fyne.CurrentApp().Driver().CanvasForObject(c); cv != nil {
		widget.ShowPopUpMenuAtPosition(m, cv, ev.AbsolutePosition)
	}
}

// itemMenu is the right-click menu of item k: open it, delete it (with
// undo, when the window offers it).
func (g *GalleryView) itemMenu(k int) *fyne.Menu {
	if k < 0 || k >= len(g.items) {
		return nil
	}
	it := g.items[k]
	items := []*fyne.MenuItem{fyne.NewMenuItem("Open", func() { g.onOpen(it) })}
	if g.OnDelete != nil {
		del := fyne.NewMenuItem("Delete", func() { g.OnDelete(it) })
		del.Icon = theme.DeleteIcon()
		items = append(items, del)
	}
	return fyne.NewMenu("", items...)
}

// thumbLoaded refreshes the cell showing id, if it is still on screen.
func (g *GalleryView) thumbLoaded(id string) {
	for k, it := range g.items {
		if it.ID == id {
			g.grid.RefreshItem(k)
			return
		}
	}
}

// SetFavourite updates one shown item without reading the list again.
func (g *GalleryView) SetFavourite(id string, fav bool) {
	for k := range g.items {
		if g.items[k].ID == id {
			g.items[k].Favourite = fav
			g.grid.RefreshItem(k)
		}
	}
	if g.filter.Favourites && !fav {
		g.Reload()
	}
}

// Remove drops a deleted item.
func (g *GalleryView) Remove(id string) {
	g.thumbs.Forget(id)
	for k := range g.items {
		if g.items[k].ID == id {
			g.setItems(append(g.items[:k:k], g.items[k+1:]...))
			return
		}
	}
}

// newWelcome is the first-run state: what the bundled model is and how to
// add a real one.
func newWelcome() fyne.CanvasObject {
	title := widget.NewLabelWithStyle("Welcome to OneActor Desktop", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	text := widget.NewRichTextFromMarkdown(`Your pictures will appear here, newest first.

**Try it now:** the generation panel on the right starts with **ToyWorld**, a small demo model that comes with the app. It draws simple toy scenes in seconds, even without a GPU. Write a prompt such as *a red creature on the beach* and press **Generate** (or Ctrl+Enter). If the panel says this build has no ToyWorld model, add a model folder first.

**Use a real model:** export a Stable Diffusion 1.x or 2.x model to ONNX, for example with Hugging Face Optimum: ` + "`optimum-cli export onnx --model <model> <folder>`" + `, then add the folder in **Settings → Model folders**, or drop the folder on this window. (SDXL is recognised but not supported yet.)

**Bring your own pictures:** drop photos on the window to keep them as references, or drop a PNG made by this app or AUTOMATIC1111 to reuse its settings.`)
	text.Wrapping = fyne.TextWrapWord
	return container.NewPadded(container.NewVScroll(container.NewVBox(title, text)))
}
