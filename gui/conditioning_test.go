//go:build ci

package gui

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/oneactor/oneactor-desktop/core/control"
	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/service"
)

// withControlNet pretends the chosen model has a ControlNet (the test
// model folders have none); the panel only reads the flag.
func withControlNet(v *MainView) {
	m := v.panel.model
	m.ControlNet = true
	ui(func() { v.cond.SetModel(m) })
}

func keypoint(t *testing.T, js []byte, person int, k control.Keypoint) (x, y float64) {
	t.Helper()
	var doc struct {
		People []struct {
			Pose []float64 `json:"pose_keypoints_2d"`
		} `json:"people"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	p := doc.People[person].Pose
	return p[3*int(k)], p[3*int(k)+1]
}

func rgbaBytes(img image.Image) []byte {
	if r, ok := img.(*image.RGBA); ok {
		return r.Pix
	}
	return nil
}

func TestDraggingAJointChangesPoseAndImage(t *testing.T) {
	v, _ := testMain(t)
	withControlNet(v)
	c := v.cond
	ui(func() {
		v.tabs.SelectIndex(1)
		c.mode.SetSelected(condPose)
		c.editor.Resize(fyne.NewSize(400, 400))
	})
	before, _ := c.PoseJSON()
	img0 := bytes.Clone(rgbaBytes(c.editor.Image()))
	x0, y0 := keypoint(t, before, 0, control.RWrist)

	from := c.editor.JointPosition(0, control.RWrist)
	delta := fyne.NewDelta(-40, -60)
	ui(func() {
		c.editor.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: from.AddXY(-20, -30)}, Dragged: fyne.NewDelta(-20, -30)})
		c.editor.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: from.Add(delta)}, Dragged: fyne.NewDelta(-20, -30)})
		c.editor.DragEnd()
	})
	after, _ := c.PoseJSON()
	x1, y1 := keypoint(t, after, 0, control.RWrist)
	scale := c.editor.Scale()
	if dx, dy := x1-x0, y1-y0; abs(dx-float64(delta.DX/scale)) > 1 || abs(dy-float64(delta.DY/scale)) > 1 {
		t.Fatalf("right wrist moved by (%.1f, %.1f), want (%.1f, %.1f)", dx, dy, delta.DX/scale, delta.DY/scale)
	}
	if bytes.Equal(img0, rgbaBytes(c.editor.Image())) {
		t.Fatal("the rendered control image did not change")
	}
	if h, ok := c.editor.Selected(); !ok || h.Joint != control.RWrist {
		t.Errorf("selection after the drag: %+v %v", h, ok)
	}
	// The job gets exactly the edited pose.
	r, err := v.panel.Recipe()
	if err != nil {
		t.Fatal(err)
	}
	if r.Control == nil || r.Control.Kind != service.ControlPose || !bytes.Equal(r.Control.Pose, after) || r.Control.Scale != 1 || r.Control.End != 1 {
		t.Fatalf("control %+v", r.Control)
	}
	// The rendered image is the standard skeleton: the wrist's colour at the wrist.
	img := c.editor.Image().(*image.RGBA)
	sx := float64(img.Bounds().Dx()) / float64(c.editor.Pose().Width)
	if got := img.RGBAAt(int(x1*sx), int(y1*sx)); got != control.JointColor(control.RWrist) {
		t.Errorf("colour at the wrist %v, want %v", got, control.JointColor(control.RWrist))
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestPoseEditingTools(t *testing.T) {
	v, _ := testMain(t)
	withControlNet(v)
	c := v.cond
	ui(func() { v.tabs.SelectIndex(1); c.mode.SetSelected(condPose); c.editor.Resize(fyne.NewSize(400, 400)) })
	people := func() int { return len(c.editor.Pose().People) }

	// Tap a joint, delete it, restore it.
	ui(func() { test.TapAt(c.editor, c.editor.JointPosition(0, control.LElbow)) })
	if h, ok := c.editor.Selected(); !ok || h.Joint != control.LElbow {
		t.Fatalf("tap selected %+v %v", h, ok)
	}
	ui(func() { test.Tap(findButton(c.Object(), "Delete joint")) })
	if c.editor.Pose().People[0].Keypoints[control.LElbow].Present {
		t.Fatal("the joint is still there")
	}
	if !strings.Contains(strings.Join(c.restore.Options, ","), control.LElbow.String()) {
		t.Fatalf("restore choices %v", c.restore.Options)
	}
	ui(func() { c.restore.SetSelected(control.LElbow.String()) })
	if !c.editor.Pose().People[0].Keypoints[control.LElbow].Present || len(c.restore.Options) != 0 {
		t.Fatal("the joint was not restored")
	}

	ui(func() { test.Tap(findButton(c.Object(), "Add person")) })
	if people() != 2 {
		t.Fatalf("%d people", people())
	}
	ui(func() { c.editor.Select(control.Hit{Person: 1, Joint: control.Neck}, true) })
	ui(func() { test.Tap(findButton(c.Object(), "Remove person")) })
	if people() != 1 {
		t.Fatalf("%d people after remove", people())
	}

	before, _ := c.PoseJSON()
	rx, _ := keypoint(t, before, 0, control.RWrist)
	lx, _ := keypoint(t, before, 0, control.LWrist)
	ui(func() { c.editor.Select(control.Hit{}, false); test.Tap(findButton(c.Object(), "Mirror")) })
	after, _ := c.PoseJSON()
	w := float64(c.editor.Pose().Width)
	if mx, _ := keypoint(t, after, 0, control.RWrist); abs(mx-(w-lx)) > 1e-6 {
		t.Errorf("mirrored right wrist x %.2f, want %.2f (was %.2f)", mx, w-lx, rx)
	}

	for _, pr := range control.Presets() {
		ui(func() { c.preset.SetSelected(string(pr)); test.Tap(findButton(c.Object(), "Use preset")) })
		want, _ := control.NewPreset(pr, c.editor.Pose().Width, c.editor.Pose().Height)
		if people() != 1 || c.editor.Pose().People[0].Keypoints != want.Keypoints {
			t.Errorf("preset %s not applied", pr)
		}
	}
}

func TestConditioningOffWithoutControlNet(t *testing.T) {
	v, _ := testMain(t)
	c := v.cond
	if !c.mode.Disabled() || !strings.Contains(c.note.Text, "has no ControlNet") || c.mode.Selected != condOff {
		t.Fatalf("panel for a model without ControlNet: disabled %v, note %q", c.mode.Disabled(), c.note.Text)
	}
	if r, err := v.panel.Recipe(); err != nil || r.Control != nil {
		t.Fatalf("recipe control %+v, %v", r.Control, err)
	}
}

func TestPoseJSONDropAndEdges(t *testing.T) {
	v, _ := testMain(t)
	withControlNet(v)
	c := v.cond
	dir := t.TempDir()
	p, _ := control.NewPose(200, 100)
	p.AddPerson(control.ArmsUp)
	js, _ := control.EncodeOpenPose(p, control.Pixels)
	path := filepath.Join(dir, "pose.json")
	os.WriteFile(path, js, 0o644)
	ui(func() { v.HandleDrop([]string{path}) })
	waitFor(t, func() bool { return strings.Contains(v.status.Text, "Loaded the pose") })
	if c.mode.Selected != condPose || v.tabs.SelectedIndex() != 1 {
		t.Errorf("mode %q, tab %d", c.mode.Selected, v.tabs.SelectedIndex())
	}
	// The pose is scaled onto the output's canvas.
	got := c.editor.Pose()
	if got.Width != c.width || got.Height != c.height || len(got.People) != 1 {
		t.Fatalf("pose %dx%d with %d people", got.Width, got.Height, len(got.People))
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"people": "x"}`), 0o644)
	ui(func() { v.HandleDrop([]string{bad}) })
	waitFor(t, func() bool { return strings.Contains(v.status.Text, "bad.json is not an OpenPose file") })

	// Edges: a picture dropped on the open conditioning tab.
	src := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := 16; y < 48; y++ {
		for x := 16; x < 48; x++ {
			src.Set(x, y, color.White)
		}
	}
	pic := filepath.Join(dir, "square.png")
	imageio.WritePNGFile(pic, src)
	ui(func() { v.HandleDrop([]string{pic}) })
	waitFor(t, func() bool { return c.edgeView.Image != nil && c.mode.Selected == condEdges })
	if len(v.refs.Items()) != 0 {
		t.Error("the edges picture was imported as a reference")
	}
	edges := c.edgeView.Image.(*image.Gray)
	if edges.Bounds().Dx() != c.width || edges.Bounds().Dy() != c.height || count255(edges) == 0 {
		t.Fatalf("edge map %v with %d edge pixels", edges.Bounds(), count255(edges))
	}
	first := count255(edges)
	ui(func() { c.high.SetValue(500); c.low.SetValue(490) })
	waitFor(t, func() bool { return c.edgeView.Image.(*image.Gray) != edges })
	if n := count255(c.edgeView.Image.(*image.Gray)); n > first {
		t.Errorf("higher thresholds found more edges: %d > %d", n, first)
	}
	r, err := v.panel.Recipe()
	if err != nil || r.Control == nil || r.Control.Kind != service.ControlEdges || r.Control.High != 500 {
		t.Fatalf("edges control %+v %v", r.Control, err)
	}
	ui(func() { c.start.SetValue(0.8); c.end.SetValue(0.5) })
	if _, err := v.panel.Recipe(); err == nil {
		t.Error("a range that ends before it starts was accepted")
	}
}

func count255(g *image.Gray) int {
	n := 0
	for _, v := range g.Pix {
		if v == 255 {
			n++
		}
	}
	return n
}
