package gui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/ort"
)

// SettingsView edits the persisted settings: model folders, device, and
// shows the data folder and diagnostics.
type SettingsView struct {
	main    *MainView
	folders []string

	list    *widget.List
	none    *widget.Label // shown while no folder is added
	path    *widget.Entry
	add     *widget.Button
	problem *widget.Label
	device  *widget.RadioGroup
	diag    *DiagnosticsView
	root    fyne.CanvasObject
}

// Device choices, as shown.
var deviceChoices = []string{"Automatic (GPU when available)", "GPU (CUDA)", "CPU"}
var deviceProviders = []ort.Provider{ort.ProviderAuto, ort.ProviderCUDA, ort.ProviderCPU}

// NewSettingsView builds the view; Reload fills it.
func NewSettingsView(m *MainView) *SettingsView {
	s := &SettingsView{main: m}
	s.list = widget.NewList(func() int { return len(s.folders) }, func() fyne.CanvasObject {
		l := widget.NewLabel("")
		l.Truncation = fyne.TextTruncateEllipsis
		return container.NewBorder(nil, nil, nil, widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), nil), l)
	}, func(id widget.ListItemID, o fyne.CanvasObject) {
		c := o.(*fyne.Container)
		dir := s.folders[id]
		c.Objects[0].(*widget.Label).SetText(dir)
		c.Objects[1].(*widget.Button).OnTapped = func() { s.remove(dir) }
	})
	s.none = widget.NewLabel("No model folders added yet: ToyWorld is the only model. Add a folder below, or drop one on the window.")
	s.none.Wrapping = fyne.TextWrapWord
	s.none.Alignment = fyne.TextAlignCenter
	s.path = widget.NewEntry()
	s.path.SetPlaceHolder("/path/to/a Stable Diffusion ONNX model folder")
	s.path.OnSubmitted = func(string) { s.addPath() }
	s.add = widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), s.addPath)
	browse := widget.NewButtonWithIcon("Choose folder…", theme.FolderOpenIcon(), func() {
		dialog.ShowFolderOpen(func(u fyne.ListableURI, err error) {
			if err == nil && u != nil {
				s.path.SetText(u.Path())
				s.addPath()
			}
		}, m.win)
	})
	s.problem = widget.NewLabel("")
	s.problem.Wrapping = fyne.TextWrapWord
	s.problem.Importance = widget.DangerImportance
	s.problem.Selectable = true
	s.problem.Hide()
	help := widget.NewLabel("A model folder is a Stable Diffusion model exported to ONNX (diffusers, Optimum or Olive layout): " +
		"model_index.json with text_encoder, unet and vae_decoder folders. ToyWorld, the bundled demo model, is always available.")
	help.Wrapping = fyne.TextWrapWord

	s.device = widget.NewRadioGroup(deviceChoices, nil)
	s.device.Required = true
	s.device.OnChanged = s.deviceChanged

	dataDir := widget.NewLabel(m.backend.DataDir())
	dataDir.Selectable = true
	dataDir.Wrapping = fyne.TextWrapBreak

	s.diag = NewDiagnosticsView(m.backend, m.app.Clipboard())
	models := widget.NewCard("Model folders", "", container.NewVBox(help,
		withMinHeight(120, container.NewStack(s.none, s.list)),
		container.NewBorder(nil, nil, nil, container.NewHBox(browse, s.add), s.path), s.problem))
	device := widget.NewCard("Device", "Where models run; a change applies to the next job", s.device)
	data := widget.NewCard("Data folder", "Your library: pictures, references, settings", dataDir)
	s.root = container.NewVScroll(container.NewVBox(models, device, data, s.diag.Object()))
	return s
}

// Object is the view's root.
func (s *SettingsView) Object() fyne.CanvasObject { return s.root }

// Reload reads the settings (off the UI goroutine).
func (s *SettingsView) Reload() {
	st := s.main.studio
	go func() {
		dirs, err := st.ModelFolders()
		prov := st.Provider()
		onUI(func() {
			if err != nil {
				s.showProblem(err)
			}
			s.folders = dirs
			s.list.Refresh()
			if len(dirs) == 0 {
				s.none.Show()
			} else {
				s.none.Hide()
			}
			for k, p := range deviceProviders {
				if p == prov {
					s.device.OnChanged = nil
					s.device.SetSelected(deviceChoices[k])
					s.device.OnChanged = s.deviceChanged
				}
			}
		})
	}()
	s.diag.Refresh()
}

func (s *SettingsView) showProblem(err error) {
	s.problem.SetText(err.Error())
	s.problem.Show()
}

// addPath validates and adds the folder in the path entry; a folder that
// cannot be used is refused with the loader's words, shown verbatim.
func (s *SettingsView) addPath() {
	dir := s.path.Text
	if dir == "" {
		return
	}
	s.add.Disable()
	s.problem.Hide()
	st := s.main.studio
	go func() {
		info, err := st.AddModelFolder(dir)
		onUI(func() {
			s.add.Enable()
			if err != nil {
				s.showProblem(fmt.Errorf("%s cannot be used: %w", dir, err))
				return
			}
			s.path.SetText("")
			s.main.Notify(fmt.Sprintf("Added %s (%s)", info.Name, info.Family))
			s.main.panel.LoadModels()
			s.Reload()
		})
	}()
}

func (s *SettingsView) remove(dir string) {
	st := s.main.studio
	go func() {
		err := st.RemoveModelFolder(dir)
		onUI(func() {
			if err != nil {
				s.showProblem(err)
				return
			}
			s.main.panel.LoadModels()
			s.Reload()
		})
	}()
}

func (s *SettingsView) deviceChanged(choice string) {
	for k, c := range deviceChoices {
		if c != choice {
			continue
		}
		p := deviceProviders[k]
		st := s.main.studio
		go func() {
			err := st.SetProvider(p)
			onUI(func() {
				if err != nil {
					s.showProblem(err)
					s.Reload()
					return
				}
				s.main.refreshDevice()
				s.diag.Refresh()
			})
		}()
	}
}

// ShowSettings opens the settings in a dialog over the main window.
func (v *MainView) ShowSettings() {
	s := NewSettingsView(v)
	d := dialog.NewCustom("Settings", "Close", s.Object(), v.win)
	d.Resize(v.win.Canvas().Size().Subtract(fyne.NewSize(160, 120)))
	s.Reload()
	d.Show()
	v.settings = s
}
