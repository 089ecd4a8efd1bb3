package autodiff

import (
	"context"
	"fmt"
	"math"
	"math/rand"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// CheckResult compares one gradient with central finite differences.
type CheckResult struct {
	Wrt       string
	Checked   int     // elements compared
	MaxRelErr float64 // max |analytic − numeric| / max(|analytic|, |numeric|, floor)
	MaxAbs    float64 // largest |gradient| element (the scale of the floor)
}

// CheckOptions tunes GradCheck.
type CheckOptions struct {
	Eps     float64 // finite-difference step (default 1e-2)
	Samples int     // elements checked per tensor (default 16; all if smaller)
	Seed    int64
}

// Checked is the outcome of GradCheck.
type Checked struct {
	Results []CheckResult
	Compile *Result
}

// GradCheck compiles the gradient of mean((output − target)²) with respect
// to wrt (a random target), runs it on ONNX Runtime, and compares each
// gradient with central finite differences of the same loss.
func GradCheck(ctx context.Context, rt *ort.Runtime, m *onnx.Model, inputs ort.Feeds, wrt []string, output string, o CheckOptions) (*Checked, error) {
	if o.Eps == 0 {
		o.Eps = 1e-2
	}
	if o.Samples == 0 {
		o.Samples = 16
	}
	rng := rand.New(rand.NewSource(o.Seed))
	sh, err := Probe(ctx, rt, m, inputs)
	if err != nil {
		return nil, err
	}
	res, err := Compile(m, sh, Options{Wrt: wrt, Output: output, Loss: LossMSE, KeepOutputs: true})
	if err != nil {
		return nil, err
	}
	var sess *ort.Session
	if len(m.ExternalFiles()) > 0 {
		sess, err = saveAndOpen(rt, res.Model, m.Dir)
	} else {
		sess, err = rt.NewSessionFromModel(res.Model, ort.SessionOptions{Provider: ort.ProviderCPU})
	}
	if err != nil {
		return nil, fmt.Errorf("load gradient model: %w", err)
	}
	defer sess.Close()

	feeds := ort.Feeds{}
	for k, v := range inputs {
		feeds[k] = v
	}
	var owned []*ort.Tensor
	defer func() {
		for _, t := range owned {
			t.Destroy()
		}
	}()
	for _, w := range wrt {
		if _, ok := feeds[w]; ok {
			continue
		}
		init := m.Initializer(w)
		vals, err := m.TensorFloat32s(init)
		if err != nil {
			return nil, err
		}
		t, err := ort.NewTensor(onnx.Float, init.GetDims()...)
		if err != nil {
			return nil, err
		}
		owned = append(owned, t)
		t.SetFloat32(vals)
		feeds[w] = t
	}
	target, err := ort.NewTensor(onnx.Float, sh.Dims[output]...)
	if err != nil {
		return nil, err
	}
	owned = append(owned, target)
	feeds[res.Target] = target
	out := ort.Feeds{}
	if err := sess.Run(ctx, feeds, out); err != nil {
		return nil, err
	}
	// Target = output + unit noise: the loss stays near 1 whatever the
	// output's scale, which keeps float32 rounding of the loss small
	// next to the finite differences.
	tv, err := out[output].ReadFloat32(nil)
	if err != nil {
		return nil, err
	}
	for i := range tv {
		tv[i] += float32(rng.NormFloat64())
	}
	target.SetFloat32(tv)
	if err := sess.Run(ctx, feeds, out); err != nil {
		return nil, err
	}
	analytic := map[string][]float32{}
	for _, w := range wrt {
		analytic[w], _ = out[res.Grads[w]].ReadFloat32(nil)
	}
	loss := func() (float64, error) {
		if err := sess.Run(ctx, feeds, out); err != nil {
			return 0, err
		}
		v, _ := out[res.Loss].ReadFloat32(nil)
		return float64(v[0]), nil
	}
	checked := &Checked{Compile: res}
	for _, w := range wrt {
		t := feeds[w]
		vals, _ := t.ReadFloat32(nil)
		a := analytic[w]
		r := CheckResult{Wrt: w}
		for _, v := range a {
			r.MaxAbs = math.Max(r.MaxAbs, math.Abs(float64(v)))
		}
		// The loss is float32: its rounding (~1e-7 relative) divided by
		// 2·eps puts ~5e-6 of noise on every numeric derivative, so
		// elements far below the tensor's gradient scale are compared
		// against 1% of that scale instead of their own tiny size.
		floor := math.Max(1e-2*r.MaxAbs, 1e-5)
		idx := rng.Perm(len(vals))
		if len(idx) > o.Samples {
			idx = idx[:o.Samples]
		}
		for _, k := range idx {
			orig := vals[k]
			vals[k] = orig + float32(o.Eps)
			t.SetFloat32(vals)
			lp, err := loss()
			if err != nil {
				return nil, err
			}
			vals[k] = orig - float32(o.Eps)
			t.SetFloat32(vals)
			lm, err := loss()
			if err != nil {
				return nil, err
			}
			vals[k] = orig
			t.SetFloat32(vals)
			num := (lp - lm) / (2 * o.Eps)
			an := float64(a[k])
			rel := math.Abs(an-num) / math.Max(math.Max(math.Abs(an), math.Abs(num)), floor)
			r.MaxRelErr = math.Max(r.MaxRelErr, rel)
			r.Checked++
		}
		checked.Results = append(checked.Results, r)
	}
	return checked, nil
}
