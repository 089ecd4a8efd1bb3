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
		sess, err = saveAndOpen(rt, res.Model, m.Dir, ort.SessionOptions{Provider: ort.ProviderCPU, OptLevel: ort.OptDisabled})
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
		dt := onnx.Float
		if onnx.DataType(init.GetDataType()) == onnx.Double {
			dt = onnx.Double
		}
		t, err := ort.NewTensor(dt, init.GetDims()...)
		if err != nil {
			return nil, err
		}
		owned = append(owned, t)
		if err := t.SetFloat32(vals); err != nil {
			return nil, err
		}
		feeds[w] = t
	}
	// The check runs in the output's precision: float64 models get
	// float64 targets, perturbations and losses.
	dt := sh.Types[output]
	target, err := ort.NewTensor(dt, sh.Dims[output]...)
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
	// output's scale, which keeps rounding of the loss small next to the
	// finite differences.
	tv, err := readFloats(out[output])
	if err != nil {
		return nil, err
	}
	for i := range tv {
		tv[i] += rng.NormFloat64()
	}
	if err := writeFloats(target, tv); err != nil {
		return nil, err
	}
	if err := sess.Run(ctx, feeds, out); err != nil {
		return nil, err
	}
	analytic := map[string][]float64{}
	for _, w := range wrt {
		if analytic[w], err = readFloats(out[res.Grads[w]]); err != nil {
			return nil, err
		}
	}
	loss := func() (float64, error) {
		if err := sess.Run(ctx, feeds, out); err != nil {
			return 0, err
		}
		v, err := readFloats(out[res.Loss])
		if err != nil {
			return 0, err
		}
		return v[0], nil
	}
	// The loss is stored in the output's precision: one unit in its last
	// place, divided by the step, is the resolution of every numeric
	// derivative (float32: ~6e-6 for a loss near 1).
	l0, err := loss()
	if err != nil {
		return nil, err
	}
	ulp := math.Nextafter(math.Abs(l0), math.Inf(1)) - math.Abs(l0)
	if dt != onnx.Double {
		f := float32(math.Abs(l0))
		ulp = float64(math.Nextafter32(f, float32(math.Inf(1))) - f)
	}
	quantum := ulp / (2 * o.Eps)
	checked := &Checked{Compile: res}
	for _, w := range wrt {
		t := feeds[w]
		vals, err := readFloats(t)
		if err != nil {
			return nil, err
		}
		a := analytic[w]
		r := CheckResult{Wrt: w}
		for _, v := range a {
			r.MaxAbs = math.Max(r.MaxAbs, math.Abs(v))
		}
		// The loss's rounding puts about one quantum of noise on every
		// numeric derivative, so elements far below the tensor's gradient
		// scale are compared against 1% of that scale (float64: 1e-6 of
		// it), and never against less than 100 quanta (noise ≤ 1%),
		// instead of their own tiny size.
		floor := math.Max(math.Max(1e-2*r.MaxAbs, 1e-5), 100*quantum)
		if t.DType() == onnx.Double && dt == onnx.Double {
			floor = math.Max(math.Max(1e-6*r.MaxAbs, 1e-12), 100*quantum)
		}
		idx := rng.Perm(len(vals))
		if len(idx) > o.Samples {
			idx = idx[:o.Samples]
		}
		// The step is taken in the tensor's own precision: the difference
		// quotient divides by the perturbation actually applied.
		at := func(k int, v float64) (float64, error) {
			vals[k] = v
			if err := writeFloats(t, vals); err != nil {
				return 0, err
			}
			back, err := readFloats(t)
			if err != nil {
				return 0, err
			}
			return back[k], nil
		}
		for _, k := range idx {
			orig := vals[k]
			xp, err := at(k, orig+o.Eps)
			if err != nil {
				return nil, err
			}
			lp, err := loss()
			if err != nil {
				return nil, err
			}
			xm, err := at(k, orig-o.Eps)
			if err != nil {
				return nil, err
			}
			lm, err := loss()
			if err != nil {
				return nil, err
			}
			if _, err := at(k, orig); err != nil {
				return nil, err
			}
			num := (lp - lm) / (xp - xm)
			an := a[k]
			rel := math.Abs(an-num) / math.Max(math.Max(math.Abs(an), math.Abs(num)), floor)
			r.MaxRelErr = math.Max(r.MaxRelErr, rel)
			r.Checked++
		}
		checked.Results = append(checked.Results, r)
	}
	return checked, nil
}

// readFloats copies a float32 or float64 tensor's values as float64.
func readFloats(t *ort.Tensor) ([]float64, error) {
	if t.DType() == onnx.Double {
		return append([]float64{}, t.Float64s()...), nil
	}
	f, err := t.ReadFloat32(nil)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(f))
	for i, v := range f {
		out[i] = float64(v)
	}
	return out, nil
}

// writeFloats sets a float32, float16 or float64 tensor from float64 values.
func writeFloats(t *ort.Tensor, v []float64) error {
	if t.DType() == onnx.Double {
		if len(v) != t.Len() {
			return fmt.Errorf("set tensor %v: %d values for %d elements", t.Shape(), len(v), t.Len())
		}
		copy(t.Float64s(), v)
		return nil
	}
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return t.SetFloat32(f)
}
