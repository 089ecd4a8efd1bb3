package control

import (
	"image/color"
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func presetPose(t *testing.T, w, h int, names ...Preset) *Pose {
	t.Helper()
	p, err := NewPose(w, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := p.AddPerson(n); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestKeypointTables(t *testing.T) {
	for k := Keypoint(0); k < NumKeypoints; k++ {
		if k.Mirror().Mirror() != k {
			t.Errorf("%v: mirror is not an involution", k)
		}
	}
	if RElbow.Mirror() != LElbow || Nose.Mirror() != Nose || REar.Mirror() != LEar {
		t.Error("mirror pairs wrong")
	}
	if JointColor(18) != (color.RGBA{}) || LimbColor(NumLimbs) != (color.RGBA{}) || Keypoint(-1).Mirror() != -1 {
		t.Error("invalid indices must not panic and give nothing")
	}
	if RElbow.String() != "right elbow" || Keypoint(18).Valid() {
		t.Error("names or validity wrong")
	}
	if c := LimbColor(0); c.R != 153 || c.G != 0 {
		t.Errorf("limb 0 colour %v, want 153,0,0", c)
	}
	if c := LimbColor(1); c.R != 153 || c.G != 51 {
		t.Errorf("limb 1 colour %v, want 153,51,0", c)
	}
	if c := LimbColor(2); c.G != 102 {
		t.Errorf("limb 2 colour %v, want 153,102,0", c)
	}
	l := Limbs()
	if l[0] != (Limb{Neck, RShoulder}) || l[16] != (Limb{LEye, LEar}) {
		t.Errorf("limb order wrong: %v … %v", l[0], l[16])
	}
}

func TestPresetsFitTheCanvas(t *testing.T) {
	for _, size := range [][2]int{{512, 512}, {768, 512}, {512, 768}, {32, 32}} {
		w, h := size[0], size[1]
		seen := map[[2]float64]Preset{}
		for _, name := range Presets() {
			pr, err := NewPreset(name, w, h)
			if err != nil {
				t.Fatal(err)
			}
			if pr.PresentCount() != NumKeypoints {
				t.Errorf("%s: %d present", name, pr.PresentCount())
			}
			minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
			for _, pt := range pr.Keypoints {
				minX, maxX = math.Min(minX, pt.X), math.Max(maxX, pt.X)
				minY, maxY = math.Min(minY, pt.Y), math.Max(maxY, pt.Y)
			}
			fw, fh := (maxX-minX)/float64(w), (maxY-minY)/float64(h)
			if minX < 0 || minY < 0 || maxX > float64(w) || maxY > float64(h) || (!near(fw, 0.8, 1e-9) && !near(fh, 0.8, 1e-9)) {
				t.Errorf("%s on %d×%d: box x %.1f..%.1f y %.1f..%.1f", name, w, h, minX, maxX, minY, maxY)
			}
			if !near((minX+maxX)/2, float64(w)/2, 1e-9) || !near((minY+maxY)/2, float64(h)/2, 1e-9) {
				t.Errorf("%s not centred", name)
			}
			// Facing the viewer: the subject's right on the image's left.
			if pr.Keypoints[RShoulder].X >= pr.Keypoints[LShoulder].X {
				t.Errorf("%s: right shoulder not on the image's left", name)
			}
			key := [2]float64{pr.Keypoints[RWrist].X, pr.Keypoints[RAnkle].X}
			if other, dup := seen[key]; dup {
				t.Errorf("%s looks like %s", name, other)
			}
			seen[key] = name
		}
		up, _ := NewPreset(ArmsUp, w, h)
		if up.Keypoints[RWrist].Y >= up.Keypoints[Nose].Y {
			t.Error("arms up: wrists not above the head")
		}
	}
	if _, err := NewPreset("cartwheel", 512, 512); err == nil {
		t.Error("unknown preset accepted")
	}
	if _, err := NewPreset(Standing, 0, 512); err == nil {
		t.Error("zero canvas accepted")
	}
}

func TestMoveDeleteRestore(t *testing.T) {
	p := presetPose(t, 512, 512, Standing)
	orig := p.People[0].Keypoints
	if err := p.Move(0, RWrist, 10, 20); err != nil {
		t.Fatal(err)
	}
	if pt := p.People[0].Keypoints[RWrist]; pt.X != 10 || pt.Y != 20 || !pt.Present {
		t.Errorf("moved wrist %+v", pt)
	}
	for _, bad := range []error{
		p.Move(1, RWrist, 0, 0), p.Move(0, 18, 0, 0), p.Move(0, Nose, math.NaN(), 0),
		p.Delete(-1, Nose), p.Restore(0, -1),
	} {
		if bad == nil {
			t.Error("out-of-range or non-finite edit accepted")
		}
	}
	if err := p.Move(0, RWrist, orig[RWrist].X, orig[RWrist].Y); err != nil {
		t.Fatal(err)
	}
	// The reference body is the standing preset, so each deleted joint of
	// a standing preset comes back where it was.
	for k := Keypoint(0); k < NumKeypoints; k++ {
		if err := p.Delete(0, k); err != nil {
			t.Fatal(err)
		}
		if p.People[0].Keypoints[k].Present {
			t.Fatalf("%v still present after delete", k)
		}
		if err := p.Restore(0, k); err != nil {
			t.Fatal(err)
		}
		got := p.People[0].Keypoints[k]
		if !got.Present || !near(got.X, orig[k].X, 1e-9) || !near(got.Y, orig[k].Y, 1e-9) {
			t.Errorf("%v restored to (%.2f, %.2f), was (%.2f, %.2f)", k, got.X, got.Y, orig[k].X, orig[k].Y)
		}
	}
}

// Restoring on a smaller, shifted body seen from the back (its left side on
// the image's left) follows that body.
func TestRestoreFollowsScaleAndFacing(t *testing.T) {
	p := presetPose(t, 512, 512, Standing)
	pr := &p.People[0]
	pr.scale(0.5, 0.5)
	pr.Translate(40, 30)
	var back [NumKeypoints]Point
	for k, pt := range pr.Keypoints {
		back[Keypoint(k).Mirror()] = pt // same places, sides swapped: seen from behind
	}
	pr.Keypoints = back
	want := pr.Keypoints[LElbow]
	if want.X > pr.Keypoints[LShoulder].X {
		t.Fatal("setup: from behind, the left elbow is on the image's left of the shoulder")
	}
	// Delete the whole left arm: the elbow's only anchor is the shoulder.
	for _, k := range []Keypoint{LElbow, LWrist} {
		if err := p.Delete(0, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Restore(0, LElbow); err != nil {
		t.Fatal(err)
	}
	if got := pr.Keypoints[LElbow]; !near(got.X, want.X, 1e-9) || !near(got.Y, want.Y, 1e-9) {
		t.Errorf("left elbow restored to (%.2f, %.2f), want (%.2f, %.2f)", got.X, got.Y, want.X, want.Y)
	}
}

func TestRestoreWithNothingPresent(t *testing.T) {
	p := presetPose(t, 300, 600, Walking)
	for k := Keypoint(0); k < NumKeypoints; k++ {
		_ = p.Delete(0, k)
	}
	if err := p.Restore(0, Neck); err != nil {
		t.Fatal(err)
	}
	std, _ := NewPreset(Standing, 300, 600)
	if got := p.People[0].Keypoints[Neck]; got != std.Keypoints[Neck] {
		t.Errorf("lone neck at %+v, want the standing preset's %+v", got, std.Keypoints[Neck])
	}
	// The next joint is placed relative to it.
	if err := p.Restore(0, Nose); err != nil {
		t.Fatal(err)
	}
	if got := p.People[0].Keypoints[Nose]; got.Y >= p.People[0].Keypoints[Neck].Y {
		t.Errorf("nose restored below the neck: %+v", got)
	}
}

func TestRestoreClampsToCanvas(t *testing.T) {
	p := presetPose(t, 512, 512, Standing)
	p.People[0].Translate(-200, 0) // right side hangs off the left edge
	_ = p.Delete(0, RWrist)
	if err := p.Restore(0, RWrist); err != nil {
		t.Fatal(err)
	}
	if pt := p.People[0].Keypoints[RWrist]; pt.X != 0 {
		t.Errorf("restored wrist at x %.2f, want clamped to 0", pt.X)
	}
}

func TestAddRemovePeople(t *testing.T) {
	p := presetPose(t, 1024, 512, Standing, Sitting, ArmsUp)
	if len(p.People) != 3 {
		t.Fatalf("%d people", len(p.People))
	}
	var centres []float64
	for i := range p.People {
		lo, hi, _ := p.People[i].xRange()
		centres = append(centres, (lo+hi)/2)
	}
	for i := range centres {
		for j := i + 1; j < len(centres); j++ {
			if math.Abs(centres[i]-centres[j]) < 100 {
				t.Errorf("people %d and %d overlap: centres %.0f, %.0f", i, j, centres[i], centres[j])
			}
		}
	}
	if err := p.RemovePerson(1); err != nil {
		t.Fatal(err)
	}
	up, _ := NewPreset(ArmsUp, 1024, 512)
	if len(p.People) != 2 || p.People[1].Keypoints[RWrist].Y != up.Keypoints[RWrist].Y {
		t.Error("removing person 1 did not keep person 2 as the new person 1")
	}
	if err := p.RemovePerson(2); err == nil {
		t.Error("removing a missing person succeeded")
	}
	for len(p.People) < MaxPeople {
		if _, err := p.AddPerson(Standing); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.AddPerson(Standing); err == nil {
		t.Errorf("person %d added", MaxPeople+1)
	}
}

func TestMirror(t *testing.T) {
	p := presetPose(t, 400, 300, Walking)
	pr := &p.People[0]
	pr.HandLeft = []float64{10, 20, 0.9, 0, 0, 0}
	pr.HandRight = []float64{30, 40, 0.8}
	face := make([]float64, 210)
	for i := 0; i < 70; i++ {
		face[3*i], face[3*i+1], face[3*i+2] = float64(i), float64(1000+i), 1
	}
	pr.Face = face
	before := p.Clone()
	p.Mirror()
	b := before.People[0]
	for k := Keypoint(0); k < NumKeypoints; k++ {
		got, src := pr.Keypoints[k.Mirror()], b.Keypoints[k]
		if got.X != 400-src.X || got.Y != src.Y {
			t.Errorf("%v → %v: (%v, %v), want (%v, %v)", k, k.Mirror(), got.X, got.Y, 400-src.X, src.Y)
		}
	}
	if pr.HandRight[0] != 390 || pr.HandRight[1] != 20 || pr.HandRight[3] != 0 || pr.HandLeft[0] != 370 {
		t.Errorf("hands after mirror: left %v right %v", pr.HandLeft, pr.HandRight)
	}
	// Landmark 36 (right eye's outer corner) must now hold what was 45.
	if pr.Face[3*36+1] != 1045 || pr.Face[3*36] != 400-45 || pr.Face[3*8+1] != 1008 || pr.Face[3*68+1] != 1069 {
		t.Errorf("face landmarks not relabelled: 36 → y %v, chin → y %v, pupil → y %v",
			pr.Face[3*36+1], pr.Face[3*8+1], pr.Face[3*68+1])
	}
	if b.HandLeft[0] != 10 {
		t.Error("Clone shares hand arrays with the original")
	}
	p.Mirror()
	samePose(t, p, before, 0)
	if pr.Face[3*36+1] != 1036 {
		t.Error("mirroring twice does not restore the face")
	}

	// MirrorPerson keeps the body where it stands.
	lo, hi, _ := pr.xRange()
	lw := pr.Keypoints[LWrist]
	if err := p.MirrorPerson(0); err != nil {
		t.Fatal(err)
	}
	lo2, hi2, _ := pr.xRange()
	if !near(lo, lo2, 1e-9) || !near(hi, hi2, 1e-9) {
		t.Errorf("MirrorPerson: range %.1f..%.1f → %.1f..%.1f", lo, hi, lo2, hi2)
	}
	if rw := pr.Keypoints[RWrist]; !near(rw.X, lo+hi-lw.X, 1e-9) || rw.Y != lw.Y {
		t.Errorf("MirrorPerson: right wrist %+v, want the left wrist %+v reflected", rw, lw)
	}
}

func TestHitTest(t *testing.T) {
	p := presetPose(t, 512, 512, Standing)
	pt := p.People[0].Keypoints[LKnee]
	h, ok := p.HitTest(pt.X+3, pt.Y-4, 6)
	if !ok || h.Person != 0 || h.Joint != LKnee || !near(h.Dist, 5, 1e-9) {
		t.Errorf("hit %+v %v, want left knee at 5 px", h, ok)
	}
	if _, ok := p.HitTest(pt.X+3, pt.Y-4, 4.9); ok {
		t.Error("hit outside the radius")
	}
	_ = p.Delete(0, LKnee)
	if h, ok := p.HitTest(pt.X, pt.Y, 6); ok {
		t.Errorf("missing joint hit: %+v", h)
	}
	// A second person on the same spot is drawn on top, so it wins.
	p2 := presetPose(t, 512, 512, Standing)
	p2.People = append(p2.People, p2.People[0])
	nose := p2.People[0].Keypoints[Nose]
	if h, ok := p2.HitTest(nose.X, nose.Y, 2); !ok || h.Person != 1 || h.Joint != Nose {
		t.Errorf("overlapping people: hit %+v", h)
	}
}

func TestCoordinateConversions(t *testing.T) {
	p := presetPose(t, 640, 480, Standing)
	nx, ny := p.ToNormalized(320, 120)
	if nx != 0.5 || ny != 0.25 {
		t.Errorf("normalised (%v, %v)", nx, ny)
	}
	if x, y := p.FromNormalized(nx, ny); x != 320 || y != 120 {
		t.Errorf("back to pixels (%v, %v)", x, y)
	}
	before := p.People[0].Keypoints[Neck]
	if err := p.Resize(320, 960); err != nil {
		t.Fatal(err)
	}
	if got := p.People[0].Keypoints[Neck]; got.X != before.X/2 || got.Y != before.Y*2 || p.Width != 320 {
		t.Errorf("resized neck %+v from %+v", got, before)
	}
	if err := p.Resize(0, 10); err == nil {
		t.Error("resize to 0 accepted")
	}
	if _, err := NewPose(MaxCanvas+1, 10); err == nil {
		t.Error("oversized canvas accepted")
	}
}

func TestApplyPresetKeepsSizeAndPlace(t *testing.T) {
	p := presetPose(t, 512, 512, Standing)
	pr := &p.People[0]
	pr.scale(0.5, 0.5)
	pr.Translate(30, 60)
	pr.HandLeft = []float64{1, 2, 1}
	neck := pr.Keypoints[Neck]
	shoulders := pr.Keypoints[LShoulder].X - pr.Keypoints[RShoulder].X
	if err := p.ApplyPreset(0, ArmsUp); err != nil {
		t.Fatal(err)
	}
	if pr.Keypoints[Neck] != neck {
		t.Errorf("neck moved from %+v to %+v", neck, pr.Keypoints[Neck])
	}
	if got := pr.Keypoints[LShoulder].X - pr.Keypoints[RShoulder].X; !near(got, shoulders, 1e-9) {
		t.Errorf("shoulder width %v, want %v (size kept)", got, shoulders)
	}
	if pr.Keypoints[LWrist].Y >= pr.Keypoints[Nose].Y || pr.HandLeft != nil || pr.PresentCount() != NumKeypoints {
		t.Errorf("not the arms-up body: %+v, hands %v", pr.Keypoints[LWrist], pr.HandLeft)
	}
	// Without a neck, the bounding boxes share their centre.
	_ = p.Delete(0, Neck)
	cx, cy := pr.boxCentre()
	if err := p.ApplyPreset(0, Sitting); err != nil {
		t.Fatal(err)
	}
	if x, y := pr.boxCentre(); !near(x, cx, 1e-9) || !near(y, cy, 1e-9) {
		t.Errorf("box centre (%v, %v), want (%v, %v)", x, y, cx, cy)
	}
	// Nothing present: the preset as NewPreset places it.
	for k := Keypoint(0); k < NumKeypoints; k++ {
		_ = p.Delete(0, k)
	}
	_ = p.ApplyPreset(0, Walking)
	want, _ := NewPreset(Walking, 512, 512)
	if pr.Keypoints != want.Keypoints {
		t.Error("empty person did not get the centred preset")
	}
	if p.ApplyPreset(1, Walking) == nil || p.ApplyPreset(0, "x") == nil {
		t.Error("bad person or preset accepted")
	}
}
