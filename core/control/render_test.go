package control

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

const skeletonDir = "../../testdata/toyworld/skeletons"

type goldenPose struct {
	Name        string            `json:"name"`
	Keypoints32 [][2]float64      `json:"keypoints_32"`
	Present     []bool            `json:"present"`
	Images      map[string]string `json:"images"`
}

func loadGoldenPoses(t testing.TB) []goldenPose {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(skeletonDir, "index.json"))
	if err != nil {
		t.Fatalf("golden skeleton index: %v", err)
	}
	var idx struct {
		Poses []goldenPose `json:"poses"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatalf("golden skeleton index: %v", err)
	}
	if len(idx.Poses) == 0 {
		t.Fatal("golden skeleton index lists no poses")
	}
	return idx.Poses
}

// pose32 is the golden pose on its 32×32 model canvas.
func (g goldenPose) pose32(t testing.TB) *Pose {
	t.Helper()
	if len(g.Keypoints32) != NumKeypoints || len(g.Present) != NumKeypoints {
		t.Fatalf("%s: %d keypoints, %d presence flags", g.Name, len(g.Keypoints32), len(g.Present))
	}
	p := &Pose{Width: 32, Height: 32, People: make([]Person, 1)}
	for k, q := range g.Keypoints32 {
		p.People[0].Keypoints[k] = Point{X: q[0], Y: q[1], Present: g.Present[k]}
	}
	return p
}

func loadPNG(t testing.TB, name string) image.Image {
	t.Helper()
	f, err := os.Open(filepath.Join(skeletonDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img
}

// diffImages counts pixels whose RGB differ and the largest channel
// difference.
func diffImages(got *image.RGBA, want image.Image) (differing, maxAbs int, err error) {
	if got.Bounds() != want.Bounds() {
		return 0, 0, fmt.Errorf("size %v, want %v", got.Bounds(), want.Bounds())
	}
	b := got.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g := got.RGBAAt(x, y)
			r, gg, bb, _ := want.At(x, y).RGBA()
			w := [3]int{int(r >> 8), int(gg >> 8), int(bb >> 8)}
			d := 0
			for c, v := range [3]int{int(g.R), int(g.G), int(g.B)} {
				d = max(d, abs(v-w[c]))
			}
			if d > 0 {
				differing++
				maxAbs = max(maxAbs, d)
			}
		}
	}
	return differing, maxAbs, nil
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// The renderer must reproduce the ToyWorld tool's skeletons pixel for
// pixel at the model resolution (32) and at 512, from the 32-px keypoints.
func TestRenderMatchesToyWorldGoldens(t *testing.T) {
	for _, g := range loadGoldenPoses(t) {
		for _, size := range []int{32, 512} {
			file := g.Images[fmt.Sprint(size)]
			if file == "" {
				t.Fatalf("%s: no %d-px image in the index", g.Name, size)
			}
			got, err := Render(g.pose32(t), size, size)
			if err != nil {
				t.Fatal(err)
			}
			n, m, err := diffImages(got, loadPNG(t, file))
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if n != 0 {
				t.Errorf("%s: %d pixels differ (max channel diff %d)", file, n, m)
			}
		}
	}
}

func TestStickRadius(t *testing.T) {
	for _, c := range []struct {
		w, h int
		want float64
	}{{512, 512, 4}, {1024, 768, 6}, {32, 32, 1}, {64, 1024, 1}, {8, 8, 1}} {
		if got := StickRadius(c.w, c.h); got != c.want {
			t.Errorf("StickRadius(%d, %d) = %v, want %v", c.w, c.h, got, c.want)
		}
	}
}

// Moving a joint moves its disc: the editor's drag shows in the control
// image.
func TestRenderFollowsEdits(t *testing.T) {
	p := presetPose(t, 512, 512, Standing)
	before, err := Render(p, 512, 512)
	if err != nil {
		t.Fatal(err)
	}
	w := p.People[0].Keypoints[RWrist]
	if got := before.RGBAAt(int(w.X), int(w.Y)); got != JointColor(RWrist) {
		t.Fatalf("wrist pixel %v, want %v", got, JointColor(RWrist))
	}
	if err := p.Move(0, RWrist, 40, 480); err != nil {
		t.Fatal(err)
	}
	after, _ := Render(p, 512, 512)
	if got := after.RGBAAt(40, 480); got != JointColor(RWrist) {
		t.Errorf("moved wrist pixel %v", got)
	}
	if got := after.RGBAAt(int(w.X), int(w.Y)); got == JointColor(RWrist) {
		t.Error("wrist disc still at the old place")
	}
	// The forearm now runs from the elbow towards (40, 480): its midpoint
	// carries limb 3's colour.
	e := p.People[0].Keypoints[RElbow]
	if got := after.RGBAAt(int((e.X+40)/2), int((e.Y+480)/2)); got != LimbColor(3) {
		t.Errorf("forearm midpoint %v, want %v", got, LimbColor(3))
	}
	_ = p.Delete(0, RElbow)
	gone, _ := Render(p, 512, 512)
	if got := gone.RGBAAt(int((e.X+40)/2), int((e.Y+480)/2)); got != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("forearm of a deleted elbow still drawn: %v", got)
	}
}

// People are drawn one after another, so the second person's limbs cover
// the first person's joints.
func TestRenderPeopleInOrder(t *testing.T) {
	p := presetPose(t, 512, 512, Standing)
	pr := p.People[0]
	// Person 2: a single limb (neck–right hip) passing through person 1's
	// nose.
	var q Person
	n := pr.Keypoints[Nose]
	q.Keypoints[Neck] = Point{X: n.X, Y: n.Y - 50, Present: true}
	q.Keypoints[RHip] = Point{X: n.X, Y: n.Y + 50, Present: true}
	p.People = append(p.People, q)
	img, _ := Render(p, 512, 512)
	if got := img.RGBAAt(int(n.X), int(n.Y)); got != LimbColor(6) {
		t.Errorf("person 1's nose under person 2's limb shows %v, want %v", got, LimbColor(6))
	}
}

func TestRenderNonSquareAndErrors(t *testing.T) {
	p := presetPose(t, 512, 512, Standing)
	img, err := Render(p, 768, 512)
	if err != nil {
		t.Fatal(err)
	}
	neck := p.People[0].Keypoints[Neck]
	if got := img.RGBAAt(int(neck.X*1.5), int(neck.Y)); got != JointColor(Neck) {
		t.Errorf("neck at ×1.5: %v", got)
	}
	if img.Bounds().Dx() != 768 || img.Bounds().Dy() != 512 {
		t.Errorf("bounds %v", img.Bounds())
	}
	if _, err := Render(p, 0, 512); err == nil {
		t.Error("zero width accepted")
	}
	if _, err := Render(&Pose{}, 64, 64); err == nil {
		t.Error("pose without a canvas accepted")
	}
	// A joint far off the canvas draws nothing and does not fail.
	_ = p.Move(0, Nose, -1e6, 1e6)
	if _, err := Render(p, 64, 64); err != nil {
		t.Error(err)
	}
}

func BenchmarkRender512(b *testing.B) {
	p, _ := NewPose(512, 512)
	for _, name := range Presets() {
		if _, err := p.AddPerson(name); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := Render(p, 512, 512); err != nil {
			b.Fatal(err)
		}
	}
}
