package diffusion

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// SetFuseAttention turns the UNet's attention fusion on or off (on by
// default); a change takes effect when the UNet session is next opened.
//
// On by default because it pays: with the split UNet (SetHoistProjections)
// the ToyWorld pipeline runs in 0.96–0.98× of the unfused split's time at
// 1 thread and 0.89–0.92× at 2 threads (bench generate --unet
// split,unshared), and a fused graph is used only after it gave the unfused
// graph's output on a check input. On the split UNet fusion also lays the
// prompt's keys and values out head-first (onnx.HeadsFirst), which
// MultiHeadAttention reads without transposing. The price is one more UNet
// session creation when a model is opened (the two are opened one after the
// other, never both in memory).
func (e *Engine) SetFuseAttention(on bool) {
	e.setUNetOption(&e.noFuse, !on)
}

// UNetNote says how the UNet session was opened: with its attentions fused
// into ONNX Runtime's MultiHeadAttention, or as exported and why.
func (e *Engine) UNetNote() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.unetNote
}

// openUNet opens the UNet at path: split around its prompt projections
// (hoistedUNet) where it can be, and with its attentions fused where
// fusion is on and the fused graph passes the check (checkedFused);
// otherwise as exported, with the reason logged. Called with e.mu held.
func (e *Engine) openUNet(path string) (*ort.Session, error) {
	if !e.noHoist {
		s, hz, err := e.hoistedUNet(path)
		if err == nil {
			e.hoist = hz
			return s, nil
		}
		if !errors.Is(err, onnx.ErrNothingToHoist) {
			log.Printf("diffusion: the UNet computes its prompt projections at every step: %v", err)
		}
	}
	if !e.noFuse {
		s, n, err := e.fusedUNet(path)
		if err == nil {
			e.unetNote = fmt.Sprintf("%d attentions fused into MultiHeadAttention", n)
			return s, nil
		}
		e.unetNote = "as exported: " + err.Error()
		if !errors.Is(err, errNothingToFuse) {
			log.Printf("diffusion: the UNet runs as exported: %v", err)
		}
	} else {
		e.unetNote = "as exported (fusion off)"
	}
	return e.rt.NewSession(path, e.StepSessionOptions())
}

var errNothingToFuse = errors.New("no attention to fuse")

// editFused, when set (by tests), edits each fused graph before it is
// saved: a wrong fusion must be caught by the check.
var editFused func(*onnx.Model)

// fuseInto fuses m's attentions and writes the result to path (weights
// hard-linked to the model folder's); n = 0 when there was nothing to fuse.
func fuseInto(m *onnx.Model, path string) (int, error) {
	n, err := onnx.FuseAttention(m)
	if err != nil || n == 0 {
		return 0, err
	}
	if editFused != nil {
		editFused(m)
	}
	return n, m.SaveLinked(path, m.ExternalPaths())
}

// fusedUNet writes the fused UNet to a temporary folder (the model folder
// untouched), checks it and opens it.
func (e *Engine) fusedUNet(path string) (*ort.Session, int, error) {
	u := e.Model.UNet
	if why := u.keptAsExported(); why != "" {
		return nil, 0, fmt.Errorf("%w: %s", errNothingToFuse, why)
	}
	m, err := onnx.Load(path)
	if err != nil {
		return nil, 0, err
	}
	tmp, err := os.MkdirTemp("", "oneactor-unet-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(tmp) // the session holds what it needs once created
	fused := filepath.Join(tmp, "model.onnx")
	n, err := fuseInto(m, fused)
	if err != nil {
		return nil, 0, err
	}
	if n == 0 {
		return nil, 0, errNothingToFuse
	}
	in, out, err := checkInputs(u, e.Model)
	if err != nil {
		return nil, 0, err
	}
	defer in.Destroy()
	defer out.Destroy()
	s, err := e.checkedFused(path, fused, func(s *ort.Session) ([]float32, error) { return runCheck(s, in, u.Out, out) })
	return s, n, err
}

// checkedFused opens the fused graph when it gives the same output as the
// original on the check input (run), and fails otherwise. The two are
// opened one after the other, so a big UNet is never in memory twice; the
// price is one more session creation when a model is opened.
func (e *Engine) checkedFused(original, fused string, run func(*ort.Session) ([]float32, error)) (*ort.Session, error) {
	o, err := e.rt.NewSession(original, e.opts)
	if err != nil {
		return nil, err
	}
	want, err := run(o)
	o.Close()
	if err != nil {
		return nil, fmt.Errorf("check run of the unfused UNet: %w", err)
	}
	s, err := e.rt.NewSession(fused, e.StepSessionOptions())
	if err != nil {
		return nil, fmt.Errorf("the fused UNet does not load: %w", err)
	}
	got, err := run(s)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("the fused UNet does not run: %w", err)
	}
	if err := sameOutput(want, got); err != nil {
		s.Close()
		return nil, fmt.Errorf("the fused UNet's output differs from the unfused one: %w", err)
	}
	return s, nil
}

// sameOutput fails when got is not want up to float rounding: within 1e-4
// of the output's scale (at least 1).
func sameOutput(want, got []float32) error {
	worst, scale := 0.0, 0.0
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(want[i]-got[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	if math.IsNaN(worst) || worst > 1e-4*math.Max(1, scale) {
		return fmt.Errorf("max |difference| %.3g (scale %.3g)", worst, scale)
	}
	return nil
}

// The check inputs: checkImages images of checkRows rows each (the rows of
// an image share its latents, as guidance rows do), checkHW×checkHW
// latents, at timestep checkTimestep.
const checkImages, checkRows, checkHW, checkTimestep = 2, 2, 8, 500

// checkInputs are fixed random latents and text states (a different text
// row for every row), and an output tensor for them; the caller destroys
// both.
func checkInputs(u UNetIO, m *Model) (ort.Feeds, *ort.Tensor, error) {
	const B, hw = checkImages * checkRows, checkHW
	L := int64(77)
	if m.Tokenizer != nil {
		L = int64(m.Tokenizer.MaxLength())
	}
	var tshape []int64
	if u.TimestepRank == 1 {
		tshape = []int64{B}
	}
	rng := rand.New(rand.NewPCG(20, 26))
	in := ort.Feeds{}
	for _, x := range []struct {
		name  string
		dt    onnx.DataType
		shape []int64
	}{
		{u.Sample, onnx.Float, []int64{B, m.LatentChannels, hw, hw}},
		{u.Context, onnx.Float, []int64{B, L, u.ContextWidth}},
		{u.Timestep, u.TimestepType, tshape},
	} {
		t, err := ort.NewTensor(x.dt, x.shape...)
		if err != nil {
			in.Destroy()
			return nil, nil, err
		}
		in[x.name] = t
		if v := t.Float32s(); v != nil && x.name != u.Timestep {
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
		}
		if v := t.Float32s(); v != nil && x.name == u.Sample {
			per := len(v) / B
			for r := 0; r < B; r++ { // row r has the latents of its image's first row
				copy(v[r*per:(r+1)*per], v[(r-r%checkRows)*per:])
			}
		}
	}
	out, err := ort.NewTensor(onnx.Float, B, m.LatentChannels, hw, hw)
	if err == nil {
		err = setTimestep(in[u.Timestep], checkTimestep)
	}
	if err != nil {
		out.Destroy()
		in.Destroy()
		return nil, nil, err
	}
	return in, out, nil
}

// runCheck runs a UNet session on the check feeds and returns a copy of
// its output.
func runCheck(s *ort.Session, in ort.Feeds, outName string, out *ort.Tensor) ([]float32, error) {
	if err := s.Run(context.Background(), in, ort.Feeds{outName: out}); err != nil {
		return nil, err
	}
	return append([]float32{}, out.Float32s()...), nil
}
