package control

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readGoldenJSON(t *testing.T, name string) *Pose {
	t.Helper()
	f, err := os.Open(filepath.Join(skeletonDir, name+"_512.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, c, err := ReadOpenPose(f, DecodeOptions{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if c != Pixels {
		t.Fatalf("%s: read as %v, want pixels", name, c)
	}
	return p
}

// The ToyWorld JSON files decode to the index's keypoints (×16, exact) and
// render to the golden images at both sizes.
func TestReadToyWorldJSON(t *testing.T) {
	for _, g := range loadGoldenPoses(t) {
		p := readGoldenJSON(t, g.Name)
		if p.Width != 512 || p.Height != 512 || len(p.People) != 1 {
			t.Fatalf("%s: canvas %d×%d, %d people", g.Name, p.Width, p.Height, len(p.People))
		}
		for k, pt := range p.People[0].Keypoints {
			if pt.Present != g.Present[k] {
				t.Errorf("%s %v: present %v, want %v", g.Name, Keypoint(k), pt.Present, g.Present[k])
			}
			if g.Present[k] && (pt.X != g.Keypoints32[k][0]*16 || pt.Y != g.Keypoints32[k][1]*16) {
				t.Errorf("%s %v: (%v, %v), want 16 × %v", g.Name, Keypoint(k), pt.X, pt.Y, g.Keypoints32[k])
			}
		}
		for _, size := range []int{32, 512} {
			img, err := Render(p, size, size)
			if err != nil {
				t.Fatal(err)
			}
			file := g.Images[fmt.Sprint(size)]
			if n, m, err := diffImages(img, loadPNG(t, file)); err != nil || n != 0 {
				t.Errorf("%s from JSON: %d pixels differ (max %d), err %v", file, n, m, err)
			}
		}
	}
}

// samePose compares two poses' canvases and keypoints, positions to within
// tol (relative to the canvas) for present points.
func samePose(t *testing.T, got, want *Pose, tol float64) {
	t.Helper()
	if got.Width != want.Width || got.Height != want.Height || len(got.People) != len(want.People) {
		t.Fatalf("got %d×%d with %d people, want %d×%d with %d",
			got.Width, got.Height, len(got.People), want.Width, want.Height, len(want.People))
	}
	for i := range want.People {
		for k, w := range want.People[i].Keypoints {
			g := got.People[i].Keypoints[k]
			if g.Present != w.Present {
				t.Errorf("person %d %v: present %v, want %v", i, Keypoint(k), g.Present, w.Present)
			}
			if w.Present && (math.Abs(g.X-w.X) > tol*float64(want.Width) || math.Abs(g.Y-w.Y) > tol*float64(want.Height)) {
				t.Errorf("person %d %v: (%v, %v), want (%v, %v)", i, Keypoint(k), g.X, g.Y, w.X, w.Y)
			}
		}
	}
}

func TestOpenPoseRoundTrip(t *testing.T) {
	p := readGoldenJSON(t, "pose05") // has missing points
	if _, err := p.AddPerson(ArmsUp); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Coords{Pixels, Normalized} {
		data, err := EncodeOpenPose(p, c)
		if err != nil {
			t.Fatal(err)
		}
		q, gotC, err := DecodeOpenPose(data, DecodeOptions{})
		if err != nil {
			t.Fatalf("%v: %v\n%s", c, err, data)
		}
		if gotC != c {
			t.Errorf("written as %v, read back as %v", c, gotC)
		}
		tol := 0.0
		if c == Normalized {
			tol = 1e-12
		}
		samePose(t, q, p, tol)
		again, err := EncodeOpenPose(q, c)
		if err != nil || (c == Pixels && !bytes.Equal(again, data)) {
			t.Errorf("%v: second encoding differs (err %v)", c, err)
		}
	}
}

// Hand, face and unknown fields survive a decode/edit/encode cycle, and
// missing points are written as 0,0,0.
func TestOpenPoseKeepsHandsFaceAndUnknownFields(t *testing.T) {
	body := make([]float64, 54)
	for k := 0; k < 18; k++ {
		body[3*k], body[3*k+1], body[3*k+2] = float64(100+k), float64(200+k), 1
	}
	body[3*4+2] = 0.4 // right wrist: low confidence → missing
	hand := make([]float64, 63)
	for j := range hand {
		hand[j] = float64(j%3+1) * 10
	}
	in := map[string]any{
		"version": 1.3,
		"people": []any{map[string]any{
			"person_id": []int{-1}, "pose_keypoints_2d": body,
			"hand_left_keypoints_2d": hand, "hand_right_keypoints_2d": []float64{},
			"face_keypoints_2d": []float64{5, 6, 0.9},
		}},
		"canvas_width": 640, "canvas_height": 480,
	}
	data, _ := json.Marshal(in)
	p, c, err := DecodeOpenPose(data, DecodeOptions{})
	if err != nil || c != Pixels {
		t.Fatalf("decode: %v (%v)", err, c)
	}
	if p.People[0].Keypoints[RWrist].Present || !p.People[0].Keypoints[LWrist].Present {
		t.Errorf("c < 1 must read as missing, c = 1 as present")
	}
	if err := p.Move(0, Nose, 300, 250); err != nil {
		t.Fatal(err)
	}
	out, err := EncodeOpenPose(p, Pixels)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Version float64 `json:"version"`
		People  []struct {
			PersonID  []int     `json:"person_id"`
			Pose      []float64 `json:"pose_keypoints_2d"`
			HandLeft  []float64 `json:"hand_left_keypoints_2d"`
			HandRight []float64 `json:"hand_right_keypoints_2d"`
			Face      []float64 `json:"face_keypoints_2d"`
		} `json:"people"`
		W int `json:"canvas_width"`
		H int `json:"canvas_height"`
	}
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	pr := back.People[0]
	if back.Version != 1.3 || len(pr.PersonID) != 1 || pr.PersonID[0] != -1 || back.W != 640 || back.H != 480 {
		t.Errorf("unknown fields or canvas lost: %s", out)
	}
	if fmt.Sprint(pr.HandLeft) != fmt.Sprint(hand) || pr.HandRight == nil || len(pr.HandRight) != 0 ||
		fmt.Sprint(pr.Face) != "[5 6 0.9]" {
		t.Errorf("hand/face arrays changed: %s", out)
	}
	if pr.Pose[0] != 300 || pr.Pose[1] != 250 || pr.Pose[2] != 1 {
		t.Errorf("moved nose written as %v", pr.Pose[:3])
	}
	if pr.Pose[12] != 0 || pr.Pose[13] != 0 || pr.Pose[14] != 0 {
		t.Errorf("missing wrist written as %v, want 0,0,0", pr.Pose[12:15])
	}
}

// A 0..1 file on a larger canvas reads as normalised, scaling hands too.
func TestOpenPoseDetectsNormalised(t *testing.T) {
	body := strings.Repeat("0.5,0.25,1,", 17) + "1,1,1"
	doc := `{"people":[{"pose_keypoints_2d":[` + body + `],"hand_left_keypoints_2d":[0.5,0.5,0.8]}],"canvas_width":200,"canvas_height":100}`
	p, c, err := DecodeOpenPose([]byte(doc), DecodeOptions{})
	if err != nil || c != Normalized {
		t.Fatalf("got %v, %v; want normalised", c, err)
	}
	pt := p.People[0].Keypoints[Nose]
	if pt.X != 100 || pt.Y != 25 || p.People[0].Keypoints[LEar].X != 200 {
		t.Errorf("nose at (%v, %v), left ear x %v; want (100, 25), 200", pt.X, pt.Y, p.People[0].Keypoints[LEar].X)
	}
	if h := p.People[0].HandLeft; h[0] != 100 || h[1] != 50 || h[2] != 0.8 {
		t.Errorf("hand %v, want [100 50 0.8]", h)
	}
	// One coordinate above 1 makes the whole file pixels.
	doc = strings.Replace(doc, "1,1,1", "1,1.5,1", 1)
	if _, c, err = DecodeOpenPose([]byte(doc), DecodeOptions{}); err != nil || c != Pixels {
		t.Errorf("with y = 1.5: got %v, %v; want pixels", c, err)
	}
}

func TestOpenPoseCanvasFallback(t *testing.T) {
	doc := `{"version":1.3,"people":[{"pose_keypoints_2d":[` + strings.Repeat("10,20,1,", 17) + `10,20,1]}]}`
	if _, _, err := DecodeOpenPose([]byte(doc), DecodeOptions{}); err == nil || !strings.Contains(err.Error(), "canvas_width") {
		t.Errorf("strict decode without a canvas: %v", err)
	}
	p, _, err := DecodeOpenPose([]byte(doc), DecodeOptions{CanvasWidth: 64, CanvasHeight: 48})
	if err != nil || p.Width != 64 || p.Height != 48 {
		t.Errorf("fallback canvas: %v", err)
	}
}

func TestOpenPoseRejectsMalformed(t *testing.T) {
	pose := func(vals string) string {
		return `{"people":[{"pose_keypoints_2d":[` + vals + `]}],"canvas_width":512,"canvas_height":512}`
	}
	ok := strings.Repeat("1,2,1,", 17) + "1,2,1"
	many := `{"people":[` + strings.Repeat(`{"pose_keypoints_2d":[`+ok+`]},`, 100) +
		`{"pose_keypoints_2d":[` + ok + `]}],"canvas_width":512,"canvas_height":512}`
	cases := []struct{ name, doc, want string }{
		{"empty", ``, "expected a JSON object"},
		{"array", `[` + pose(ok) + `]`, "expected a JSON object"},
		{"null", `null`, "null"},
		{"trailing", pose(ok) + `x`, "expected a JSON object"},
		{"no people", `{"canvas_width":512,"canvas_height":512}`, `no "people"`},
		{"people not array", `{"people":{},"canvas_width":512,"canvas_height":512}`, `"people" must be an array`},
		{"person null", `{"people":[null],"canvas_width":512,"canvas_height":512}`, "person 0"},
		{"17 triples", pose(strings.Repeat("1,2,1,", 16) + "1,2,1"), "has 51 values; expected 54"},
		{"19 triples", pose(ok + ",1,2,1"), "has 57 values; expected 54"},
		{"not triples", pose(ok + ",1"), "not a multiple of 3"},
		{"no body", `{"people":[{}],"canvas_width":512,"canvas_height":512}`, `no "pose_keypoints_2d"`},
		{"string value", pose(`"NaN",` + ok[2:]), "must be an array of numbers"},
		{"NaN token", pose(`NaN,` + ok[2:]), "expected a JSON object"},
		{"overflow", pose(`1e400,` + ok[2:]), "must be an array of numbers"},
		{"absurd coordinate", pose(`1e300,` + ok[2:]), "finite number within"},
		{"bad hand", `{"people":[{"pose_keypoints_2d":[` + ok + `],"hand_left_keypoints_2d":[1,2]}],"canvas_width":512,"canvas_height":512}`, "hand_left_keypoints_2d"},
		{"zero canvas", strings.Replace(pose(ok), `"canvas_width":512`, `"canvas_width":0`, 1), "canvas_width"},
		{"huge canvas", strings.Replace(pose(ok), `"canvas_height":512`, `"canvas_height":1e9`, 1), "canvas_height"},
		{"fractional canvas", strings.Replace(pose(ok), `"canvas_width":512`, `"canvas_width":511.5`, 1), "whole number"},
		{"canvas string", strings.Replace(pose(ok), `"canvas_width":512`, `"canvas_width":"512"`, 1), "must be a number"},
		{"101 people", many, "101 people"},
	}
	for _, tc := range cases {
		p, _, err := DecodeOpenPose([]byte(tc.doc), DecodeOptions{})
		if err == nil {
			t.Errorf("%s: accepted (%d people)", tc.name, len(p.People))
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "OpenPose JSON: ") {
			t.Errorf("%s: error %q, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if _, _, err := DecodeOpenPose([]byte(pose(ok)), DecodeOptions{}); err != nil {
		t.Fatalf("the well-formed base case fails: %v", err)
	}
}

func TestReadOpenPoseSizeLimit(t *testing.T) {
	big := bytes.Repeat([]byte(" "), MaxJSONBytes+1)
	if _, _, err := ReadOpenPose(bytes.NewReader(big), DecodeOptions{}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized input: %v", err)
	}
}

// Whatever the bytes, decoding never panics, and whatever decodes encodes
// and decodes again to the same pose in the same coordinate convention.
func FuzzDecodeOpenPose(f *testing.F) {
	for _, name := range []string{"pose00", "pose05", "pose09"} {
		data, err := os.ReadFile(filepath.Join(skeletonDir, name+"_512.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"people":[{"pose_keypoints_2d":[` + strings.Repeat("0.5,0.5,1,", 17) + `0,0,0],"face_keypoints_2d":[0.1,0.2,0.3]}],"canvas_width":3,"canvas_height":2,"x":[1]}`))
	f.Add([]byte(`{"people":[],"canvas_width":1,"canvas_height":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, c, err := DecodeOpenPose(data, DecodeOptions{CanvasWidth: 8, CanvasHeight: 8})
		if err != nil {
			return
		}
		out, err := EncodeOpenPose(p, c)
		if err != nil {
			t.Fatalf("decoded pose does not encode: %v", err)
		}
		q, c2, err := DecodeOpenPose(out, DecodeOptions{})
		if err != nil || c2 != c {
			t.Fatalf("re-decode: %v (%v, was %v)\n%s", err, c2, c, out)
		}
		tol := 0.0
		if c == Normalized {
			tol = 1e-12
		}
		samePose(t, q, p, tol)
		if _, err := Render(p, 16, 16); err != nil {
			t.Fatalf("decoded pose does not render: %v", err)
		}
	})
}
