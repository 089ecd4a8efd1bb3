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

// SetFuseAttention turns the UNet's attention fusion on or off (off by
// default); a change takes effect when the UNet session is next opened.
//
// Off by default because it does not pay for itself: fused, the ToyWorld
// UNet runs only ~2% faster on CPU (8 rows, 1 thread, 0.978× of the
// original's time), while opening costs a second session of the original
// for the check — twice the UNet's memory at load time for an SD checkpoint.
func (e *Engine) SetFuseAttention(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fuse == on {
		return
	}
	e.fuse = on
	e.closeUNetLocked()
}

// UNetNote says how the UNet session was opened: with its attentions fused
// into ONNX Runtime's MultiHeadAttention, or as exported and why.
func (e *Engine) UNetNote() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.unetNote
}

// openUNet opens the UNet at path, with its attentions fused when
// onnx.FuseAttention finds them and the fused graph gives the same output
// as the original on a fixed random input; otherwise the original, with the
// reason logged. Called with e.mu held.
func (e *Engine) openUNet(path string) (*ort.Session, error) {
	if !e.noHoist && !e.fuse {
		s, hz, err := e.hoistedUNet(path)
		if err == nil {
			e.hoist = hz
			return s, nil
		}
		if !errors.Is(err, onnx.ErrNothingToHoist) {
			log.Printf("diffusion: the UNet computes its prompt projections at every step: %v", err)
		}
	}
	if e.fuse {
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
	return e.rt.NewSession(path, e.opts)
}

var errNothingToFuse = errors.New("no attention to fuse")

// fusedUNet writes the fused UNet to a temporary folder (its weights
// hard-linked, the model folder untouched), checks it and opens it.
func (e *Engine) fusedUNet(path string) (*ort.Session, int, error) {
	u := e.Model.UNet
	if u.SampleType != onnx.Float || u.ContextType != onnx.Float || u.OutType != onnx.Float {
		return nil, 0, fmt.Errorf("%w: only float32 UNets are fused", errNothingToFuse)
	}
	if len(u.Residuals) > 0 {
		return nil, 0, fmt.Errorf("%w: a UNet with ControlNet residual inputs is left as exported", errNothingToFuse)
	}
	m, err := onnx.Load(path)
	if err != nil {
		return nil, 0, err
	}
	n, err := onnx.FuseAttention(m)
	if err != nil {
		return nil, 0, err
	}
	if n == 0 {
		return nil, 0, errNothingToFuse
	}
	tmp, err := os.MkdirTemp("", "oneactor-unet-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(tmp) // the session holds what it needs once created
	fused := filepath.Join(tmp, "model.onnx")
	if err := m.SaveLinked(fused, m.ExternalPaths()); err != nil {
		return nil, 0, err
	}
	want, err := e.checkRun(path)
	if err != nil {
		return nil, 0, fmt.Errorf("check run of the original UNet: %w", err)
	}
	s, err := e.rt.NewSession(fused, e.opts)
	if err != nil {
		return nil, 0, fmt.Errorf("the fused UNet does not load: %w", err)
	}
	got, err := runCheck(s, u, e.Model)
	if err != nil {
		s.Close()
		return nil, 0, fmt.Errorf("the fused UNet does not run: %w", err)
	}
	worst, scale := 0.0, 0.0
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(want[i]-got[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	if math.IsNaN(worst) || worst > 1e-4*math.Max(1, scale) {
		s.Close()
		return nil, 0, fmt.Errorf("the fused UNet's output differs from the original by %.3g (scale %.3g)", worst, scale)
	}
	return s, n, nil
}

// checkRun runs the UNet file at path once on the check input.
func (e *Engine) checkRun(path string) ([]float32, error) {
	s, err := e.rt.NewSession(path, e.opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return runCheck(s, e.Model.UNet, e.Model)
}

// runCheck feeds a UNet session two rows of fixed random latents (8×8) and
// text states at timestep 500 and returns its output.
func runCheck(s *ort.Session, u UNetIO, m *Model) ([]float32, error) {
	const B, hw = 2, 8
	L := int64(77)
	if m.Tokenizer != nil {
		L = int64(m.Tokenizer.MaxLength())
	}
	rng := rand.New(rand.NewPCG(20, 26))
	var tensors []*ort.Tensor
	defer func() {
		for _, t := range tensors {
			t.Destroy()
		}
	}()
	mk := func(dt onnx.DataType, fill bool, shape ...int64) (*ort.Tensor, error) {
		t, err := ort.NewTensor(dt, shape...)
		if err != nil {
			return nil, err
		}
		tensors = append(tensors, t)
		if v := t.Float32s(); v != nil && fill {
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
		}
		return t, nil
	}
	sample, err := mk(onnx.Float, true, B, m.LatentChannels, hw, hw)
	if err != nil {
		return nil, err
	}
	ctx, err := mk(onnx.Float, true, B, L, u.ContextWidth)
	if err != nil {
		return nil, err
	}
	var tshape []int64
	if u.TimestepRank == 1 {
		tshape = []int64{B}
	}
	ts, err := mk(u.TimestepType, false, tshape...)
	if err != nil {
		return nil, err
	}
	if err := setTimestep(ts, 500); err != nil {
		return nil, err
	}
	out, err := mk(onnx.Float, false, B, m.LatentChannels, hw, hw)
	if err != nil {
		return nil, err
	}
	if err := s.Run(context.Background(), ort.Feeds{u.Sample: sample, u.Timestep: ts, u.Context: ctx}, ort.Feeds{u.Out: out}); err != nil {
		return nil, err
	}
	return append([]float32{}, out.Float32s()...), nil
}
