package quality

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"

	"github.com/disintegration/imaging"

	"github.com/oneactor/oneactor-desktop/core/control"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// Family is what a model family's description file (ToyWorld's
// toyworld.json) says about its judge: the attribute values and scenes,
// in the order of the judge's logits, and where the judge model is.
type Family struct {
	Attributes map[string][]string `json:"attributes"`
	Scenes     []string            `json:"scenes"`
	Judge      string              `json:"judge"` // relative to the file's folder
	dir        string
}

// ReadFamily reads a family description file.
func ReadFamily(path string) (*Family, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the model family description: %w", err)
	}
	var f Family
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(f.Attributes) == 0 || len(f.Scenes) == 0 || f.Judge == "" {
		return nil, fmt.Errorf("%s: attributes, scenes and judge are required to judge pictures", path)
	}
	f.dir = filepath.Dir(path)
	return &f, nil
}

// Verdict is what the judge sees in one picture.
type Verdict struct {
	Attributes map[string]string
	Scene      string
	// Keypoints are the 18 OpenPose body points in pixels of the picture.
	Keypoints [control.NumKeypoints][2]float64
}

// Identity is the verdict's attributes in the judge's head order, for
// counting distinct identities.
func (v Verdict) Identity(order []string) string {
	parts := make([]string, len(order))
	for i, a := range order {
		parts[i] = v.Attributes[a]
	}
	return strings.Join(parts, " ")
}

// Judge runs a family's judge model. The heads are read from the model
// file: one "<attribute>_logits" output per attribute of the family, a
// "scene_logits" output and a "keypoints" output (fractions of the width
// and height), never assumed from positions.
type Judge struct {
	sess      *ort.Session
	input     string
	size      int
	order     []string // attribute heads in the model's output order
	family    *Family
	keypoints string
}

// OpenJudge opens the family's judge.
func OpenJudge(rt *ort.Runtime, f *Family) (*Judge, error) {
	path := filepath.Join(f.dir, f.Judge)
	sess, err := rt.NewSession(path, ort.SessionOptions{Provider: ort.ProviderCPU})
	if err != nil {
		return nil, fmt.Errorf("open the judge: %w", err)
	}
	j := &Judge{sess: sess, family: f}
	sig := sess.Signature()
	if len(sig.Inputs) != 1 || len(sig.Inputs[0].Shape) != 4 || sig.Inputs[0].Type != onnx.Float {
		sess.Close()
		return nil, fmt.Errorf("judge %s: want one float input [N,3,H,W], got %v", path, sig.Inputs)
	}
	in := sig.Inputs[0]
	j.input = in.Name
	if !in.Shape[2].Known() || in.Shape[2] != in.Shape[3] {
		sess.Close()
		return nil, fmt.Errorf("judge %s: input %s must be square with a fixed size", path, in)
	}
	j.size = int(in.Shape[2].Value)
	seen := map[string]bool{}
	for _, o := range sig.Outputs {
		name, ok := strings.CutSuffix(o.Name, "_logits")
		switch {
		case o.Name == "keypoints":
			j.keypoints = o.Name
		case ok && name == "scene":
			seen["scene"] = true
		case ok && f.Attributes[name] != nil:
			j.order = append(j.order, name)
			seen[name] = true
		}
	}
	for a := range f.Attributes {
		if !seen[a] {
			sess.Close()
			return nil, fmt.Errorf("judge %s has no %s_logits output (outputs: %s)", path, a, strings.Join(sig.OutputNames(), ", "))
		}
	}
	if !seen["scene"] || j.keypoints == "" {
		sess.Close()
		return nil, fmt.Errorf("judge %s needs scene_logits and keypoints outputs (outputs: %s)", path, strings.Join(sig.OutputNames(), ", "))
	}
	return j, nil
}

// Attributes returns the attribute names in the judge's head order.
func (j *Judge) Attributes() []string { return j.order }

// Close frees the judge's session.
func (j *Judge) Close() error { return j.sess.Close() }

// Judge judges the pictures (resized to the judge's input size when they
// differ).
func (j *Judge) Judge(ctx context.Context, imgs []image.Image) ([]Verdict, error) {
	const chunk = 64
	var out []Verdict
	for lo := 0; lo < len(imgs); lo += chunk {
		v, err := j.judge(ctx, imgs[lo:min(lo+chunk, len(imgs))])
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
	}
	return out, nil
}

func (j *Judge) judge(ctx context.Context, imgs []image.Image) ([]Verdict, error) {
	n, s := int64(len(imgs)), j.size
	x, err := ort.NewTensor(onnx.Float, n, 3, int64(s), int64(s))
	if err != nil {
		return nil, err
	}
	defer x.Destroy()
	px := x.Float32s()
	plane := s * s
	for k, img := range imgs {
		if b := img.Bounds(); b.Dx() != s || b.Dy() != s {
			img = imaging.Resize(img, s, s, imaging.Lanczos)
		}
		copy(px[k*3*plane:], control.ImageTensor(img))
	}
	outs := ort.Feeds{}
	heads := append(append([]string{}, j.order...), "scene")
	for _, h := range heads {
		values := j.family.Scenes
		if h != "scene" {
			values = j.family.Attributes[h]
		}
		if outs[h+"_logits"], err = ort.NewTensor(onnx.Float, n, int64(len(values))); err != nil {
			return nil, err
		}
	}
	if outs[j.keypoints], err = ort.NewTensor(onnx.Float, n, control.NumKeypoints, 2); err != nil {
		return nil, err
	}
	defer outs.Destroy()
	if err := j.sess.Run(ctx, ort.Feeds{j.input: x}, outs); err != nil {
		return nil, fmt.Errorf("judge: %w", err)
	}
	argmax := func(v []float32) int {
		best := 0
		for i := range v {
			if v[i] > v[best] {
				best = i
			}
		}
		return best
	}
	res := make([]Verdict, n)
	kp := outs[j.keypoints].Float32s()
	for k := range res {
		res[k].Attributes = map[string]string{}
		for _, h := range j.order {
			vals := j.family.Attributes[h]
			l := outs[h+"_logits"].Float32s()
			res[k].Attributes[h] = vals[argmax(l[k*len(vals):(k+1)*len(vals)])]
		}
		ns := len(j.family.Scenes)
		res[k].Scene = j.family.Scenes[argmax(outs["scene_logits"].Float32s()[k*ns:(k+1)*ns])]
		for p := 0; p < control.NumKeypoints; p++ {
			o := (k*control.NumKeypoints + p) * 2
			res[k].Keypoints[p] = [2]float64{float64(kp[o]) * float64(s), float64(kp[o+1]) * float64(s)}
		}
	}
	return res, nil
}
