package widgets

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/oneactor/oneactor-desktop/core/control"
)

// TestPoseEditorGolden renders the editor with a custom pose (the walking
// preset with the right wrist dragged up and the left knee deleted) and
// compares the whole widget, skeleton and selection marker, to a reviewed
// image.
func TestPoseEditorGolden(t *testing.T) {
	test.NewTempApp(t)
	p, _ := control.NewPose(512, 512)
	p.AddPerson(control.Walking)
	e := NewPoseEditor(p, nil)
	w := test.NewTempWindow(t, e)
	w.Resize(fyne.NewSize(400, 400))
	from := e.JointPosition(0, control.RWrist)
	e.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: from.AddXY(30, -90)}, Dragged: fyne.NewDelta(30, -90)})
	e.DragEnd()
	if err := p.Delete(0, control.LKnee); err != nil {
		t.Fatal(err)
	}
	e.SetPose(p)
	e.Select(control.Hit{Person: 0, Joint: control.RWrist}, true)
	test.AssertImageMatches(t, "pose_editor_custom.png", w.Canvas().Capture())
}
