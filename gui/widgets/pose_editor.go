package widgets

import (
	"image"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/control"
)

// poseRenderSide is the longest side the editor renders the skeleton at
// while editing: enough for a crisp view, cheap enough to redraw on every
// drag event. Jobs render again at the output size.
const poseRenderSide = 384

// grabRadius is how near (in screen pixels) a press must be to grab a joint.
const grabRadius = 14

// PoseEditor shows the ControlNet skeleton image of a pose (as core/control
// renders it) and lets the user drag joints and select one.
type PoseEditor struct {
	widget.BaseWidget

	pose     *control.Pose
	selected *control.Hit // nil: none
	dragging *control.Hit
	onChange func()

	img    *canvas.Image
	marker *canvas.Circle
	bg     *canvas.Rectangle
}

// NewPoseEditor edits pose; onChange runs after every change.
func NewPoseEditor(pose *control.Pose, onChange func()) *PoseEditor {
	e := &PoseEditor{pose: pose, onChange: onChange}
	e.img = canvas.NewImageFromImage(nil)
	e.img.FillMode = canvas.ImageFillContain
	e.img.ScaleMode = canvas.ImageScalePixels
	e.marker = canvas.NewCircle(color.Transparent)
	e.marker.StrokeColor = theme.Color(theme.ColorNamePrimary)
	e.marker.StrokeWidth = 3
	e.marker.Hide()
	e.bg = canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	e.ExtendBaseWidget(e)
	e.render()
	return e
}

// Pose is the pose being edited.
func (e *PoseEditor) Pose() *control.Pose { return e.pose }

// SetPose replaces the pose (a preset, an imported file).
func (e *PoseEditor) SetPose(p *control.Pose) {
	e.pose, e.selected, e.dragging = p, nil, nil
	e.changed()
}

// Selected is the selected joint, if any.
func (e *PoseEditor) Selected() (control.Hit, bool) {
	if e.selected == nil {
		return control.Hit{}, false
	}
	return *e.selected, true
}

// Select selects a joint (or none when ok is false).
func (e *PoseEditor) Select(h control.Hit, ok bool) {
	if ok {
		e.selected = &h
	} else {
		e.selected = nil
	}
	e.placeMarker()
}

// changed re-renders after an edit and tells the owner.
func (e *PoseEditor) changed() {
	if e.selected != nil && (e.selected.Person >= len(e.pose.People) ||
		!e.pose.People[e.selected.Person].Keypoints[e.selected.Joint].Present) {
		e.selected = nil
	}
	e.render()
	if e.onChange != nil {
		e.onChange()
	}
}

// Image is the rendered conditioning image as shown.
func (e *PoseEditor) Image() image.Image { return e.img.Image }

func (e *PoseEditor) render() {
	w, h := e.pose.Width, e.pose.Height
	// Shown at a fixed size whatever the output size: a 32 px toy canvas
	// would be unreadable, a 1024 px one slow to redraw while dragging.
	scale := float64(poseRenderSide) / float64(max(w, h))
	rw, rh := max(1, int(float64(w)*scale)), max(1, int(float64(h)*scale))
	img, err := control.Render(e.pose, rw, rh)
	if err != nil {
		img = image.NewRGBA(image.Rect(0, 0, rw, rh))
	}
	e.img.Image = img
	e.img.Refresh()
	e.placeMarker()
}

// frame is where the pose canvas is drawn inside the widget (fitted, centred).
func (e *PoseEditor) frame() (origin fyne.Position, scale float32) {
	s := e.Size()
	pw, ph := float32(e.pose.Width), float32(e.pose.Height)
	scale = min(s.Width/pw, s.Height/ph)
	return fyne.NewPos((s.Width-pw*scale)/2, (s.Height-ph*scale)/2), scale
}

// Scale is how many widget units one pose pixel spans at the current size.
func (e *PoseEditor) Scale() float32 {
	_, s := e.frame()
	return s
}

// toPose converts a widget position to pose canvas pixels.
func (e *PoseEditor) toPose(p fyne.Position) (x, y float64) {
	o, s := e.frame()
	if s <= 0 {
		return 0, 0
	}
	return float64((p.X - o.X) / s), float64((p.Y - o.Y) / s)
}

// toWidget converts pose canvas pixels to a widget position.
func (e *PoseEditor) toWidget(x, y float64) fyne.Position {
	o, s := e.frame()
	return fyne.NewPos(o.X+float32(x)*s, o.Y+float32(y)*s)
}

// JointPosition is where a joint is drawn in the widget.
func (e *PoseEditor) JointPosition(person int, k control.Keypoint) fyne.Position {
	pt := e.pose.People[person].Keypoints[k]
	return e.toWidget(pt.X, pt.Y)
}

func (e *PoseEditor) hit(p fyne.Position) (control.Hit, bool) {
	x, y := e.toPose(p)
	_, s := e.frame()
	if s <= 0 {
		return control.Hit{}, false
	}
	return e.pose.HitTest(x, y, float64(grabRadius/s))
}

// Tapped selects the joint under the pointer (or clears the selection).
func (e *PoseEditor) Tapped(ev *fyne.PointEvent) {
	h, ok := e.hit(ev.Position)
	e.Select(h, ok)
}

// Dragged moves the joint grabbed where the drag began.
func (e *PoseEditor) Dragged(ev *fyne.DragEvent) {
	if e.dragging == nil {
		start := ev.Position.Subtract(ev.Dragged)
		h, ok := e.hit(start)
		if !ok {
			return
		}
		e.dragging, e.selected = &h, &h
	}
	x, y := e.toPose(ev.Position)
	if err := e.pose.Move(e.dragging.Person, e.dragging.Joint, x, y); err != nil {
		return
	}
	e.changed()
}

// DragEnd lets go of the joint.
func (e *PoseEditor) DragEnd() { e.dragging = nil }

func (e *PoseEditor) placeMarker() {
	if e.selected == nil {
		e.marker.Hide()
		return
	}
	c := e.JointPosition(e.selected.Person, e.selected.Joint)
	r := float32(grabRadius * 0.8)
	e.marker.Move(c.SubtractXY(r, r))
	e.marker.Resize(fyne.NewSquareSize(2 * r))
	e.marker.Show()
	e.marker.Refresh()
}

// MinSize keeps the canvas usable.
func (e *PoseEditor) MinSize() fyne.Size { return fyne.NewSquareSize(320) }

func (e *PoseEditor) CreateRenderer() fyne.WidgetRenderer {
	return &poseEditorRenderer{e: e}
}

type poseEditorRenderer struct{ e *PoseEditor }

func (r *poseEditorRenderer) Layout(s fyne.Size) {
	e := r.e
	o, sc := e.frame()
	e.bg.Move(fyne.NewPos(0, 0))
	e.bg.Resize(s)
	e.img.Move(o)
	e.img.Resize(fyne.NewSize(float32(e.pose.Width)*sc, float32(e.pose.Height)*sc))
	e.placeMarker()
}

func (r *poseEditorRenderer) MinSize() fyne.Size { return r.e.MinSize() }
func (r *poseEditorRenderer) Refresh() {
	r.Layout(r.e.Size())
	canvas.Refresh(r.e.img)
}
func (r *poseEditorRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.e.bg, r.e.img, r.e.marker}
}
func (r *poseEditorRenderer) Destroy() {}
