package gui

import (
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	oneactor "github.com/oneactor/oneactor-desktop"
	"github.com/oneactor/oneactor-desktop/core/service"
	"github.com/oneactor/oneactor-desktop/icons"
)

// Preference keys of the window layout.
const (
	prefWidth      = "window.width"
	prefHeight     = "window.height"
	prefLeftSplit  = "window.split.left"
	prefRightSplit = "window.split.right"
)

// MainView is the main window and the views in it.
type MainView struct {
	app     fyne.App
	win     fyne.Window
	backend Backend
	studio  *service.Studio

	refs    *ReferencesView
	subj    *subjectUI // subjects column, casting flow, subject page
	gallery *GalleryView
	viewer  *Viewer
	panel   *GeneratePanel
	cond    *ConditioningPanel
	centre  *fyne.Container
	tabs    *container.AppTabs
	status  *widget.Label
	undo    *undoBar

	settings *SettingsView // the last settings opened (for tests)

	leftSplit, rightSplit *container.Split
	device                string
	closed                bool
}

func newMainView(a fyne.App, b Backend) *MainView {
	v := &MainView{app: a, backend: b}
	v.win = a.NewWindow(oneactor.AppInfo().Details.Name)
	v.win.SetIcon(icons.App)
	p := a.Preferences()
	v.win.Resize(fyne.NewSize(float32(p.FloatWithFallback(prefWidth, 1280)), float32(p.FloatWithFallback(prefHeight, 800))))
	v.win.SetOnClosed(v.saveLayout)

	st, err := b.OpenStudio()
	if err != nil {
		v.showLibraryProblem(err)
		return v
	}
	v.open(st)
	return v
}

// open builds the studio screens on an open library.
func (v *MainView) open(st *service.Studio) {
	v.studio = st
	v.status = widget.NewLabel("")
	v.status.Truncation = fyne.TextTruncateEllipsis
	v.gallery = NewGalleryView(st, v.openItem)
	v.viewer = NewViewer(v)
	v.undo = newUndoBar(v)
	v.gallery.OnDelete = v.undo.Delete
	v.refs = NewReferencesView(st, v)
	v.cond = NewConditioningPanel(v)
	v.panel = NewGeneratePanel(st, v)
	v.subj = newSubjectUI(v)
	v.subj.onChange = append(v.subj.onChange, v.panel.chips.SetSubjects, v.gallery.SetSubjects)
	v.centre = container.NewStack(v.gallery.Object())
	v.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Gallery", theme.GridIcon(), v.centre),
		container.NewTabItemWithIcon("Pose & edges", theme.AccountIcon(), v.cond.Object()))

	settingsBtn := widget.NewButtonWithIcon("Settings", theme.SettingsIcon(), v.ShowSettings)
	header := container.NewBorder(nil, nil, v.headerTitle(), settingsBtn)

	p := v.app.Preferences()
	v.rightSplit = container.NewHSplit(v.tabs, v.panel.Object())
	v.rightSplit.SetOffset(p.FloatWithFallback(prefRightSplit, 0.72))
	v.leftSplit = container.NewHSplit(v.subj.Column(v.refs.Object()), v.rightSplit)
	v.leftSplit.SetOffset(p.FloatWithFallback(prefLeftSplit, 0.16))

	v.win.SetContent(container.NewBorder(container.NewVBox(container.NewPadded(header), widget.NewSeparator()),
		container.NewBorder(widget.NewSeparator(), nil, nil, v.undo.Object(), v.status), nil, nil, v.leftSplit))
	v.win.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) {
		var paths []string
		for _, u := range uris {
			paths = append(paths, u.Path())
		}
		v.HandleDrop(paths)
	})
	v.addShortcuts()
	v.win.SetOnClosed(func() {
		v.closed = true
		v.saveLayout()
		st.Close()
	})
	v.gallery.Reload()
	v.refs.Reload()
	v.subj.Reload(nil)
	v.panel.LoadModels()
	v.refreshDevice()
	go func() {
		titles, err := st.TakeInterruptedJobs()
		if err == nil && len(titles) > 0 {
			onUI(func() {
				v.Notify(fmt.Sprintf("The app stopped last time while it ran “%s”; nothing of that job was saved", strings.Join(titles, "”, “")))
			})
		}
	}()
}

// refreshDevice learns which device runs models, for the title.
func (v *MainView) refreshDevice() {
	go func() {
		d := v.backend.Diagnostics()
		onUI(func() { v.device = d.Provider; v.updateTitle() })
	}()
}

func (v *MainView) headerTitle() fyne.CanvasObject {
	logo := canvas.NewImageFromResource(icons.App)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSquareSize(28))
	name := widget.NewLabelWithStyle(oneactor.AppInfo().Details.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	return container.NewHBox(logo, name)
}

// updateTitle shows the active model and device in the window title.
func (v *MainView) updateTitle() {
	t := oneactor.AppInfo().Details.Name
	if v.panel != nil && v.panel.model.Name != "" {
		t += " — " + displayName(v.panel.model)
	}
	if v.device != "" {
		t += " · " + v.device
	}
	v.win.SetTitle(t)
}

func (v *MainView) saveLayout() {
	p := v.app.Preferences()
	s := v.win.Canvas().Size()
	if s.Width > 100 && s.Height > 100 {
		p.SetFloat(prefWidth, float64(s.Width))
		p.SetFloat(prefHeight, float64(s.Height))
	}
	if v.leftSplit != nil {
		p.SetFloat(prefLeftSplit, v.leftSplit.Offset)
		p.SetFloat(prefRightSplit, v.rightSplit.Offset)
	}
}

// Notify shows a short, non-blocking message in the status bar.
func (v *MainView) Notify(msg string) {
	if v.status != nil {
		v.status.SetText(msg)
	}
}

// ShowError shows a dialog with a one-line summary and the details.
func (v *MainView) ShowError(summary string, err error) {
	showError(v.win, summary, err)
}

func showError(w fyne.Window, summary string, err error) {
	head := widget.NewLabelWithStyle(summary, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	head.Wrapping = fyne.TextWrapWord
	detail := widget.NewLabel(err.Error())
	detail.Wrapping = fyne.TextWrapWord
	detail.Selectable = true
	content := container.NewVBox(container.NewBorder(nil, nil, widget.NewIcon(theme.ErrorIcon()), nil, head), detail)
	d := dialog.NewCustom("Something went wrong", "Close", content, w)
	d.Resize(fyne.NewSize(520, 0))
	d.Show()
}

// openItem shows a gallery or reference item in the viewer.
func (v *MainView) openItem(it service.Item) {
	v.tabs.SelectIndex(0)
	v.viewer.Show(it)
	v.centre.Objects = []fyne.CanvasObject{v.viewer.Object()}
	v.centre.Refresh()
}

// closeViewer goes back to the gallery.
func (v *MainView) closeViewer() {
	v.centre.Objects = []fyne.CanvasObject{v.gallery.Object()}
	v.centre.Refresh()
	v.viewer.Clear()
}

func (v *MainView) viewerOpen() bool {
	return len(v.centre.Objects) == 1 && v.centre.Objects[0] == v.viewer.Object()
}

// showLibraryProblem replaces the studio with the reason the library
// cannot be opened and, for a damaged file, the way out.
func (v *MainView) showLibraryProblem(err error) {
	le := &service.LibraryError{Summary: "The library could not be opened", Detail: err.Error()}
	errors.As(err, &le)
	head := widget.NewLabelWithStyle(le.Summary, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	detail := widget.NewLabel(le.Detail)
	detail.Wrapping = fyne.TextWrapWord
	detail.Selectable = true
	box := container.NewVBox(container.NewBorder(nil, nil, widget.NewIcon(theme.ErrorIcon()), nil, head), detail)
	if le.Damaged {
		box.Add(widget.NewButtonWithIcon("Keep the damaged file aside and start a new library", theme.ContentAddIcon(), func() {
			st, kept, err := v.backend.StartNewLibrary()
			if err != nil {
				v.ShowError("A new library could not be started", err)
				return
			}
			v.open(st)
			v.Notify(fmt.Sprintf("Started a new library; the damaged file is kept as %s", kept))
		}))
	}
	diag := NewDiagnosticsView(v.backend, v.app.Clipboard())
	card := widget.NewCard("Your library", "", box)
	v.win.SetContent(container.NewPadded(container.NewVScroll(container.NewVBox(card, diag.Object()))))
	diag.Refresh()
}
