package control

import (
	"encoding/json"
	"fmt"
	"image"
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
