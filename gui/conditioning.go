package gui

import (
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/control"
	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/service"
	"github.com/oneactor/oneactor-desktop/gui/widgets"
)

// Conditioning modes.
const (
	condOff   = "Off"
	condPose  = "Pose"
	condEdges = "Edges"
)

// ConditioningPanel sets up ControlNet conditioning: a pose drawn in the
// editor, or the edges of a picture, with strength and step range. It is
// disabled, with the reason, for models without a ControlNet.
type ConditioningPanel struct {
	main  *MainView
	model service.ModelInfo
	width int
	// height of the output; the pose canvas follows the output size.
	height int

	mode    *widget.RadioGroup
	note    *widget.Label
	scale   *widget.Slider
	start   *widget.Slider
	end     *widget.Slider
	values  *widget.Label
	editor  *widgets.PoseEditor
	preset  *widget.Select
	restore *widget.Select
	joint   *widget.Label
	poseBox *fyne.Container

	edgeSrc     []byte // the chosen picture file's bytes
	edgeName    string
	edgeImg     image.Image
	low, high   *widget.Slider
	edgeView    *canvas.Image
	edgeLabel   *widget.Label
	edgesBox    *fyne.Container
	edgeVersion int

	controls []fyne.Disableable
	body     *fyne.Container
	root     fyne.CanvasObject
}

// NewConditioningPanel builds the panel of the main view m.
func NewConditioningPanel(m *MainView) *ConditioningPanel {
	c := &ConditioningPanel{main: m, width: 512, height: 512}
	pose, _ := control.NewPose(512, 512)
	pose.AddPerson(control.Standing)
	c.editor = widgets.NewPoseEditor(pose, c.poseChanged)

	c.mode = widget.NewRadioGroup([]string{condOff, condPose, condEdges}, func(string) { c.showMode() })
	c.mode.Horizontal, c.mode.Required = true, true
	c.mode.Selected = condOff
	c.note = widget.NewLabel("")
	c.note.Wrapping = fyne.TextWrapWord
	c.scale = slider(0, 2, 0.05, 1, c.showValues)
	c.start = slider(0, 1, 0.05, 0, c.showValues)
	c.end = slider(0, 1, 0.05, 1, c.showValues)
	c.values = widget.NewLabel("")
	c.showValues(0)

	// Pose tools.
	var presets []string
	for _, p := range control.Presets() {
		presets = append(presets, string(p))
	}
	c.preset = widget.NewSelect(presets, nil)
	c.preset.SetSelected(string(control.Standing))
	usePreset := widget.NewButtonWithIcon("Use preset", theme.ViewRefreshIcon(), c.usePreset)
	addPerson := widget.NewButtonWithIcon("Add person", theme.ContentAddIcon(), c.addPerson)
	removePerson := widget.NewButtonWithIcon("Remove person", theme.ContentRemoveIcon(), c.removePerson)
	mirror := widget.NewButtonWithIcon("Mirror", theme.MediaReplayIcon(), c.mirror)
	deleteJoint := widget.NewButtonWithIcon("Delete joint", theme.DeleteIcon(), c.deleteJoint)
	c.restore = widget.NewSelect(nil, c.restoreJoint)
	c.restore.PlaceHolder = "Restore a joint…"
	importBtn := widget.NewButtonWithIcon("Import JSON…", theme.FolderOpenIcon(), c.importDialog)
	exportBtn := widget.NewButtonWithIcon("Export JSON…", theme.DocumentSaveIcon(), c.exportDialog)
	c.joint = widget.NewLabel("Drag a joint to move it; tap one to select it.")
	c.joint.Importance = widget.LowImportance
	tools := container.NewVBox(
		container.NewGridWithColumns(2, c.preset, usePreset),
		container.NewGridWithColumns(2, addPerson, removePerson),
		container.NewGridWithColumns(2, mirror, deleteJoint),
		c.restore,
		container.NewGridWithColumns(2, importBtn, exportBtn),
		c.joint)
	c.poseBox = container.NewBorder(nil, nil, nil, container.NewPadded(tools), c.editor)

	// Edge tools.
	openPic := widget.NewButtonWithIcon("Open picture…", theme.FileImageIcon(), c.openPictureDialog)
	def := control.DefaultCanny()
	c.low = slider(0, 500, 5, def.Low, func(float64) { c.updateEdges() })
	c.high = slider(0, 500, 5, def.High, func(float64) { c.updateEdges() })
	c.edgeView = canvas.NewImageFromImage(nil)
	c.edgeView.FillMode = canvas.ImageFillContain
	c.edgeView.SetMinSize(fyne.NewSquareSize(320))
	c.edgeLabel = widget.NewLabel("Open or drop a picture: its outlines guide the composition.")
	c.edgeLabel.Wrapping = fyne.TextWrapWord
	edgeForm := widget.NewForm(widget.NewFormItem("Low threshold", c.low), widget.NewFormItem("High threshold", c.high))
	c.edgesBox = container.NewBorder(container.NewVBox(container.NewHBox(openPic), c.edgeLabel, edgeForm), nil, nil, nil, c.edgeView)

	c.controls = []fyne.Disableable{c.scale, c.start, c.end, c.preset, usePreset, addPerson, removePerson, mirror,
		deleteJoint, c.restore, importBtn, exportBtn, openPic, c.low, c.high}
	strength := widget.NewForm(widget.NewFormItem("Strength", c.scale), widget.NewFormItem("From step", c.start),
		widget.NewFormItem("Until step", c.end))
	c.body = container.NewStack()
	top := container.NewVBox(c.note, c.mode, strength, c.values, widget.NewSeparator())
	c.root = container.NewBorder(container.NewPadded(top), nil, nil, nil, c.body)
	c.SetModel(service.ModelInfo{})
	c.refreshRestore()
	return c
}

func slider(lo, hi, step, v float64, changed func(float64)) *widget.Slider {
	s := widget.NewSlider(lo, hi)
	s.Step = step
	s.SetValue(v)
	s.OnChanged = changed
	return s
}

// Object is the panel's root.
func (c *ConditioningPanel) Object() fyne.CanvasObject { return c.root }

// SetModel enables the panel for a model with a ControlNet, else disables
// it and says why.
func (c *ConditioningPanel) SetModel(m service.ModelInfo) {
	c.model = m
	switch {
	case m.Ref == "":
		c.note.SetText("Choose a model in the generation panel.")
	case !m.ControlNet:
		c.note.SetText(fmt.Sprintf("%s has no ControlNet, so it cannot follow a pose or edges. "+
			"Add a model folder with a controlnet/ folder to use this panel.", displayName(m)))
	default:
		c.note.SetText(fmt.Sprintf("%s has a ControlNet: generations can follow the pose or the edges below.", displayName(m)))
	}
	on := m.ControlNet
	for _, w := range append(c.controls, c.mode) {
		if on {
			w.Enable()
		} else {
			w.Disable()
		}
	}
	if !on {
		c.mode.SetSelected(condOff)
	}
	c.showMode()
}

// SetSize follows the output size: the pose canvas takes its shape (the
// pose is scaled along) and the edge map is redone.
func (c *ConditioningPanel) SetSize(w, h int) {
	if w <= 0 || h <= 0 || w == c.width && h == c.height {
		return
	}
	c.width, c.height = w, h
	p := c.editor.Pose().Clone()
	if err := p.Resize(w, h); err == nil {
		c.editor.SetPose(p)
	}
	c.updateEdges()
}

func (c *ConditioningPanel) showMode() {
	switch c.mode.Selected {
	case condPose:
		c.body.Objects = []fyne.CanvasObject{c.poseBox}
	case condEdges:
		c.body.Objects = []fyne.CanvasObject{c.edgesBox}
	default:
		c.body.Objects = nil
	}
	c.body.Refresh()
}

func (c *ConditioningPanel) showValues(float64) {
	c.values.SetText(fmt.Sprintf("Strength %.2f, acting from %d%% to %d%% of the steps",
		c.scale.Value, int(c.start.Value*100+0.5), int(c.end.Value*100+0.5)))
}

// Control is the conditioning for the next job (nil when off).
func (c *ConditioningPanel) Control() (*service.ControlSettings, error) {
	if !c.model.ControlNet || c.mode.Selected == condOff {
		return nil, nil
	}
	if c.end.Value <= c.start.Value {
		return nil, fmt.Errorf("conditioning: it must stop after it starts (from %d%% until %d%%)", int(c.start.Value*100), int(c.end.Value*100))
	}
	s := &service.ControlSettings{Scale: c.scale.Value, Start: c.start.Value, End: c.end.Value}
	switch c.mode.Selected {
	case condPose:
		js, err := c.PoseJSON()
		if err != nil {
			return nil, err
		}
		s.Kind, s.Pose = service.ControlPose, js
	default:
		if c.edgeSrc == nil {
			return nil, fmt.Errorf("edges: open a picture first, or switch conditioning off")
		}
		s.Kind, s.Image, s.Low, s.High = service.ControlEdges, c.edgeSrc, c.low.Value, c.high.Value
	}
	return s, nil
}

// PoseJSON is the edited pose in the OpenPose format (pixel coordinates).
func (c *ConditioningPanel) PoseJSON() ([]byte, error) {
	return control.EncodeOpenPose(c.editor.Pose(), control.Pixels)
}

// LoadPoseJSON replaces the pose with an OpenPose document and switches to
// pose conditioning. The pose keeps the file's canvas when it has one.
func (c *ConditioningPanel) LoadPoseJSON(data []byte) error {
	p, _, err := control.DecodeOpenPose(data, control.DecodeOptions{CanvasWidth: c.width, CanvasHeight: c.height})
	if err != nil {
		return err
	}
	if p.Width != c.width || p.Height != c.height {
		if err := p.Resize(c.width, c.height); err != nil {
			return err
		}
	}
	c.editor.SetPose(p)
	if c.model.ControlNet {
		c.mode.SetSelected(condPose)
	}
	return nil
}

// LoadPoseFile reads an OpenPose JSON file (bounded in size).
func (c *ConditioningPanel) LoadPoseFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, control.MaxJSONBytes+1))
	if err != nil {
		return err
	}
	if len(data) > control.MaxJSONBytes {
		return fmt.Errorf("%s is too large for an OpenPose file", filepath.Base(path))
	}
	return c.LoadPoseJSON(data)
}

func (c *ConditioningPanel) poseChanged() {
	c.refreshRestore()
	if h, ok := c.editor.Selected(); ok {
		c.joint.SetText(fmt.Sprintf("Selected: person %d, %s", h.Person+1, h.Joint))
	}
}

// refreshRestore lists the missing joints of the selected (or first) person.
func (c *ConditioningPanel) refreshRestore() {
	var opts []string
	if i := c.person(); i >= 0 {
		for k, pt := range c.editor.Pose().People[i].Keypoints {
			if !pt.Present {
				opts = append(opts, control.Keypoint(k).String())
			}
		}
	}
	c.restore.SetOptions(opts)
	c.restore.ClearSelected()
}

// person is the selected person, else the first; -1 without people.
func (c *ConditioningPanel) person() int {
	if h, ok := c.editor.Selected(); ok {
		return h.Person
	}
	if len(c.editor.Pose().People) > 0 {
		return 0
	}
	return -1
}

// edit applies a change to a copy of the pose, so a failed edit leaves it whole.
func (c *ConditioningPanel) edit(f func(p *control.Pose) error) {
	p := c.editor.Pose().Clone()
	if err := f(p); err != nil {
		c.main.Notify("Pose: " + err.Error())
		return
	}
	sel, ok := c.editor.Selected()
	c.editor.SetPose(p)
	if ok && sel.Person < len(p.People) && p.People[sel.Person].Keypoints[sel.Joint].Present {
		c.editor.Select(sel, true)
	}
	c.poseChanged()
}

func (c *ConditioningPanel) usePreset() {
	c.edit(func(p *control.Pose) error {
		p.People = nil
		_, err := p.AddPerson(control.Preset(c.preset.Selected))
		return err
	})
}

func (c *ConditioningPanel) addPerson() {
	c.edit(func(p *control.Pose) error {
		_, err := p.AddPerson(control.Preset(c.preset.Selected))
		return err
	})
}

func (c *ConditioningPanel) removePerson() {
	i := c.person()
	if i < 0 {
		return
	}
	c.editor.Select(control.Hit{}, false)
	c.edit(func(p *control.Pose) error { return p.RemovePerson(i) })
}

// mirror flips the selected person, or the whole pose when none is selected.
func (c *ConditioningPanel) mirror() {
	if h, ok := c.editor.Selected(); ok {
		c.edit(func(p *control.Pose) error { return p.MirrorPerson(h.Person) })
		return
	}
	c.edit(func(p *control.Pose) error { p.Mirror(); return nil })
}

func (c *ConditioningPanel) deleteJoint() {
	h, ok := c.editor.Selected()
	if !ok {
		c.main.Notify("Select a joint first: tap it in the pose")
		return
	}
	c.editor.Select(control.Hit{}, false)
	c.edit(func(p *control.Pose) error { return p.Delete(h.Person, h.Joint) })
	c.joint.SetText(fmt.Sprintf("Deleted the %s of person %d", h.Joint, h.Person+1))
}

func (c *ConditioningPanel) restoreJoint(name string) {
	if name == "" {
		return
	}
	i := c.person()
	for k := control.Keypoint(0); k < control.NumKeypoints; k++ {
		if k.String() == name && i >= 0 {
			c.edit(func(p *control.Pose) error { return p.Restore(i, k) })
			return
		}
	}
}

func (c *ConditioningPanel) importDialog() {
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil || rc == nil {
			return
		}
		path := rc.URI().Path()
		rc.Close()
		if err := c.LoadPoseFile(path); err != nil {
			c.main.ShowError("The pose could not be read", err)
		}
	}, c.main.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".json"}))
	d.Show()
}

func (c *ConditioningPanel) exportDialog() {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		defer w.Close()
		js, err := c.PoseJSON()
		if err == nil {
			_, err = w.Write(js)
		}
		if err != nil {
			c.main.ShowError("The pose could not be saved", err)
			return
		}
		c.main.Notify("Saved the pose to " + w.URI().Path())
	}, c.main.win)
	d.SetFileName("pose.json")
	d.Show()
}

func (c *ConditioningPanel) openPictureDialog() {
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil || rc == nil {
			return
		}
		path := rc.URI().Path()
		rc.Close()
		c.OpenEdgePicture(path)
	}, c.main.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".png", ".jpg", ".jpeg", ".webp"}))
	d.Show()
}

// OpenEdgePicture loads a picture (safely decoded, off the UI goroutine)
// as the source of the edge map and switches to edge conditioning.
func (c *ConditioningPanel) OpenEdgePicture(path string) {
	go func() {
		data, err := os.ReadFile(path)
		var img image.Image
		if err == nil {
			img, _, err = imageio.DecodeBytes(data)
		}
		onUI(func() {
			if err != nil {
				c.main.ShowError("The picture could not be opened", err)
				return
			}
			c.edgeSrc, c.edgeImg, c.edgeName = data, img, filepath.Base(path)
			if c.model.ControlNet {
				c.mode.SetSelected(condEdges)
			}
			c.updateEdges()
		})
	}()
}

// updateEdges recomputes the edge map preview at the output size, off the
// UI goroutine; a newer request supersedes an older one.
func (c *ConditioningPanel) updateEdges() {
	if c.edgeImg == nil {
		return
	}
	c.edgeVersion++
	v, src, w, h := c.edgeVersion, c.edgeImg, c.width, c.height
	opt := control.DefaultCanny()
	opt.Low, opt.High = c.low.Value, c.high.Value
	go func() {
		edges, err := control.EdgeMap(src, w, h, opt)
		onUI(func() {
			if v != c.edgeVersion {
				return
			}
			if err != nil {
				c.edgeLabel.SetText("The edges could not be found: " + err.Error())
				return
			}
			c.edgeView.Image = edges
			c.edgeView.Refresh()
			c.edgeLabel.SetText(fmt.Sprintf("Edges of %s at %d × %d (low %d, high %d)", c.edgeName, w, h, int(opt.Low), int(opt.High)))
		})
	}()
}
