package diffusion

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// hoisted is a UNet opened in two parts (onnx.HoistProjections): pre
// computes the cross-attention key/value projections of the prompt rows,
// which stay the same for every step of a generation, and the main session
// takes them as inputs. The projections are recomputed only when the rows
// change (OneActor's guidance switches rows partway; a new prompt, a new
// batch size).
type hoisted struct {
	pre   *ort.Session
	input string
	split *onnx.Hoisted // its Values and KeepsInput (the graphs are dropped once loaded)
	share *rowShare     // the main part split along each image's rows; nil when not

	ctx  []float32 // the context the cached values were computed from
	outs ort.Feeds
}

// SetHoistProjections turns the hoisting of the UNet's prompt projections
// on or off (on by default, for float32 UNets without residual inputs; with
// attention fusion on, the split's main part is fused); a change
// takes effect when the UNet session is next opened. Measured on the
// ToyWorld UNet (8 rows, 1 thread): 0.963× of the run time per step.
func (e *Engine) SetHoistProjections(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.noHoist == !on {
		return
	}
	e.noHoist = !on
	e.closeUNetLocked()
}

// keptAsExported says why the engine runs this UNet's graph as exported
// ("" when it may split and fuse it): both rewrites are made for float32
// inputs and outputs, and a UNet with ControlNet residual inputs keeps
// the graph the ControlNet was exported against.
func (u UNetIO) keptAsExported() string {
	switch {
	case u.SampleType != onnx.Float || u.ContextType != onnx.Float || u.OutType != onnx.Float:
		return "only float32 UNets are rewritten"
	case len(u.Residuals) > 0:
		return "a UNet with ControlNet residual inputs is left as exported"
	}
	return ""
}

// maxSplitGraphBytes is the largest UNet graph file the engine splits: graphs
// with external weights are a few MB at most. A variable for tests.
var maxSplitGraphBytes int64 = 64 << 20

// hoistedUNet splits the UNet at path, writes both parts to a temporary
// folder (weights hard-linked) and opens them. Called with e.mu held.
func (e *Engine) hoistedUNet(path string) (*ort.Session, *hoisted, error) {
	u := e.Model.UNet
	if why := u.keptAsExported(); why != "" {
		return nil, nil, fmt.Errorf("%w: %s", onnx.ErrNothingToHoist, why)
	}
	// The split rewrites the graph file; with the weights inside it (no
	// external data) that would mean copying them, several times the
	// UNet's size in memory and on disk while loading.
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxSplitGraphBytes {
		return nil, nil, fmt.Errorf("%w: the weights are inside %s (%d MiB)", onnx.ErrNothingToHoist, filepath.Base(path), fi.Size()>>20)
	}
	m, err := onnx.Load(path)
	if err != nil {
		return nil, nil, err
	}
	h, err := onnx.HoistProjections(m, u.Context)
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.MkdirTemp("", "oneactor-unet-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp) // the sessions hold what they need once created
	mainPath, prePath := filepath.Join(tmp, "model.onnx"), filepath.Join(tmp, "pre.onnx")
	if err := h.Main.SaveLinked(mainPath, h.Main.ExternalPaths()); err != nil {
		return nil, nil, err
	}
	if err := h.Pre.SaveLinked(prePath, h.Pre.ExternalPaths()); err != nil {
		return nil, nil, err
	}
	fusedPath, fused := filepath.Join(tmp, "fused.onnx"), 0
	if !e.noFuse {
		if fused, err = fuseInto(h.Main, fusedPath); err != nil {
			log.Printf("diffusion: the UNet's attentions are not fused: %v", err)
			fused = 0
		}
	}
	// No check run of the split against the original (unlike fusion): the
	// split moves whole nodes, unchanged, into a session of their own, so
	// the values are the same by construction (TestHoistedUNetKeepsImages:
	// 0/255 on every layout), and a second session of an SD UNet would
	// cost more load time than the split saves.
	pre, err := e.rt.NewSession(prePath, e.opts)
	if err != nil {
		return nil, nil, fmt.Errorf("the UNet's prompt projections do not load: %w", err)
	}
	hz := &hoisted{pre: pre, input: u.Context, split: &onnx.Hoisted{Values: h.Values, KeepsInput: h.KeepsInput}}
	e.unetNote = fmt.Sprintf("%d prompt projections computed once per prompt", len(h.Values))
	if !e.noShare {
		// h.Main is the fused graph when fused > 0; the check compares it,
		// shared, with the unfused split, so it checks the fusion too.
		s, rs, err := e.sharedMain(tmp, mainPath, h.Main, hz)
		if err == nil {
			hz.share = rs
			if fused > 0 {
				e.unetNote += fmt.Sprintf(", %d attentions fused into MultiHeadAttention", fused)
			}
			e.unetNote += fmt.Sprintf(", %d values computed once per image", len(rs.split.Values))
			return s, hz, nil
		}
		if !errors.Is(err, onnx.ErrNothingToShare) {
			log.Printf("diffusion: the UNet computes every row in full: %v", err)
			e.unetNote += ", rows not shared: " + err.Error()
		}
	}
	if fused > 0 {
		s, err := e.checkedFusedSplit(mainPath, fusedPath, hz)
		if err == nil {
			e.unetNote += fmt.Sprintf(", %d attentions fused into MultiHeadAttention", fused)
			return s, hz, nil
		}
		log.Printf("diffusion: the UNet's attentions are not fused: %v", err)
		e.unetNote += ", attentions not fused: " + err.Error()
	}
	s, err := e.rt.NewSession(mainPath, e.opts)
	if err != nil {
		hz.close()
		return nil, nil, fmt.Errorf("the split UNet does not load: %w", err)
	}
	return s, hz, nil
}

// checkedFusedSplit is checkedFused for the main part of a split UNet: the
// check's context goes through the projections first.
func (e *Engine) checkedFusedSplit(mainPath, fusedPath string, hz *hoisted) (*ort.Session, error) {
	u := e.Model.UNet
	in, out, err := checkInputs(u, e.Model)
	if err != nil {
		return nil, err
	}
	defer in.Destroy()
	defer out.Destroy()
	values, err := hz.compute(context.Background(), in[u.Context])
	if err != nil {
		return nil, err
	}
	defer values.Destroy()
	feeds := maps.Clone(in) // in still owns the context tensor feed replaces
	hz.feed(feeds, values, in[u.Context])
	return e.checkedFused(mainPath, fusedPath, func(s *ort.Session) ([]float32, error) { return runCheck(s, feeds, u.Out, out) })
}

// compute runs pre on the context tensor into new tensors, sized from the
// context (onnx.Hoisted.ValueDims).
func (hz *hoisted) compute(ctx context.Context, ctxT *ort.Tensor) (ort.Feeds, error) {
	outs := ort.Feeds{}
	for _, v := range hz.split.Values {
		dims := hz.split.ValueDims(v, ctxT.Shape())
		t, err := ort.NewTensor(v.Type, dims...)
		if err != nil {
			outs.Destroy()
			return nil, err
		}
		outs[v.Name] = t
	}
	if err := hz.pre.Run(ctx, ort.Feeds{hz.input: ctxT}, outs); err != nil {
		outs.Destroy()
		return nil, fmt.Errorf("UNet prompt projections: %w", err)
	}
	return outs, nil
}

// valuesFor returns the projections of the context rows cat (held in ctxT),
// computing them only when the rows differ from the last call's.
func (hz *hoisted) valuesFor(ctx context.Context, ctxT *ort.Tensor, cat []float32) (ort.Feeds, error) {
	if hz.outs != nil && slices.Equal(hz.ctx, cat) {
		return hz.outs, nil
	}
	hz.reset()
	outs, err := hz.compute(ctx, ctxT)
	if err != nil {
		return nil, err
	}
	hz.outs, hz.ctx = outs, append(hz.ctx[:0], cat...)
	return outs, nil
}

// feed puts the projections (and the context, when the main part still
// reads it) into a UNet run's inputs in place of the context.
func (hz *hoisted) feed(in ort.Feeds, values ort.Feeds, ctxT *ort.Tensor) {
	delete(in, hz.input)
	for k, v := range values {
		in[k] = v
	}
	if hz.split.KeepsInput {
		in[hz.input] = ctxT
	}
}

func (hz *hoisted) reset() {
	hz.outs.Destroy()
	hz.outs, hz.ctx = nil, hz.ctx[:0]
}

func (hz *hoisted) close() {
	hz.reset()
	hz.pre.Close()
	hz.share.close()
}
