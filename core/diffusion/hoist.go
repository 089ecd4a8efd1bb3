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
// on or off (on by default, for float32 UNets without residual inputs; the
// split is then rewritten further as fusion and row sharing allow, see
// rewrittenSplit); a change takes effect when the UNet session is next
// opened. Measured on the ToyWorld UNet (8 rows, 1 thread): 0.963× of the
// run time per step.
func (e *Engine) SetHoistProjections(on bool) {
	e.setUNetOption(&e.noHoist, !on)
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
	e.unetNote = fmt.Sprintf("%d prompt projections computed once per prompt", len(h.Values))
	if !e.noFuse || !e.noShare {
		s, hz, note, err := e.rewrittenSplit(tmp, path, h)
		if err == nil {
			e.unetNote += note
			return s, hz, nil
		}
		if !errors.Is(err, errNothingToRewrite) {
			log.Printf("diffusion: the split UNet runs as split: %v", err)
			e.unetNote += ", not rewritten: " + err.Error()
		}
	}
	// No check run of the plain split against the original (unlike the
	// rewrites): the split moves whole nodes, unchanged, into a session of
	// their own, so the values are the same by construction
	// (TestHoistedUNetKeepsImages: 0/255 on every layout), and a second
	// session of an SD UNet would cost more load time than the split saves.
	pre, err := e.rt.NewSession(prePath, e.opts)
	if err != nil {
		return nil, nil, fmt.Errorf("the UNet's prompt projections do not load: %w", err)
	}
	hz := &hoisted{pre: pre, input: u.Context, split: &onnx.Hoisted{Values: h.Values, KeepsInput: h.KeepsInput}}
	s, err := e.rt.NewSession(mainPath, e.StepSessionOptions())
	if err != nil {
		hz.close()
		return nil, nil, fmt.Errorf("the split UNet does not load: %w", err)
	}
	return s, hz, nil
}

var errNothingToRewrite = errors.New("nothing to rewrite")

// rewrittenSplit rewrites the split UNet h as far as the engine's settings
// allow — attentions fused (onnx.FuseAttention) with the prompt's keys and
// values laid out head-first by Pre (onnx.HeadsFirst), GroupNorm's
// scale-and-shift pairs made one operator (onnx.AffineToBatchNorm), each
// image's shared rows computed once (onnx.SplitShared) — writes the parts into dir and
// opens them, once they gave the output of the UNet as exported (at path)
// on the check inputs. The original is closed before the parts open, so
// the UNet is never in memory twice; the price is one more session
// creation when a model is opened. A rewrite that fails the check takes
// the others with it (the plain split runs): the check cannot tell which
// one went wrong. It returns the note's addition. Called with e.mu held.
func (e *Engine) rewrittenSplit(dir, path string, h *onnx.Hoisted) (*ort.Session, *hoisted, string, error) {
	u := e.Model.UNet
	rewrites, note := 0, "" // graph rewrites made (attentions fused, affines replaced)
	if !e.noFuse {
		n, err := onnx.FuseAttention(h.Main)
		if err != nil {
			log.Printf("diffusion: the UNet's attentions are not fused: %v", err)
		} else if n > 0 {
			rewrites += n
			if editFused != nil {
				editFused(h.Main)
			}
			note += fmt.Sprintf(", %d attentions fused into MultiHeadAttention", n)
			if k := onnx.HeadsFirst(h); k > 0 {
				note += fmt.Sprintf(", %d prompt keys/values laid out head-first", k)
			}
		}
		if k, err := onnx.AffineToBatchNorm(h.Main); err != nil {
			log.Printf("diffusion: the UNet's channel scale-and-shifts stay two operators: %v", err)
		} else if k > 0 {
			rewrites += k
			note += fmt.Sprintf(", %d channel scale-and-shifts as BatchNormalization", k)
		}
	}
	var sp *onnx.Shared
	if !e.noShare {
		var err error
		if sp, err = e.splitShared(h.Main); err != nil {
			if !errors.Is(err, onnx.ErrNothingToShare) {
				log.Printf("diffusion: the UNet computes every row in full: %v", err)
			}
			sp = nil
		} else {
			note += fmt.Sprintf(", %d values computed once per image", len(sp.Values))
		}
	}
	if rewrites == 0 && sp == nil {
		return nil, nil, "", errNothingToRewrite
	}
	main := h.Main
	paths := map[string]*onnx.Model{"pre2.onnx": h.Pre}
	if sp != nil {
		main = sp.Main
		paths["shared.onnx"] = sp.Prefix
	}
	paths["main2.onnx"] = main
	for name, m := range paths {
		if err := m.SaveLinked(filepath.Join(dir, name), m.ExternalPaths()); err != nil {
			return nil, nil, "", err
		}
	}

	in, out, err := checkInputs(u, e.Model)
	if err != nil {
		return nil, nil, "", err
	}
	defer in.Destroy()
	defer out.Destroy()
	o, err := e.rt.NewSession(path, e.opts)
	if err != nil {
		return nil, nil, "", err
	}
	want, err := runCheck(o, in, u.Out, out)
	o.Close()
	if err != nil {
		return nil, nil, "", fmt.Errorf("check run of the UNet as exported: %w", err)
	}

	pre, err := e.rt.NewSession(filepath.Join(dir, "pre2.onnx"), e.opts)
	if err != nil {
		return nil, nil, "", fmt.Errorf("the UNet's prompt projections do not load: %w", err)
	}
	hz := &hoisted{pre: pre, input: u.Context, split: &onnx.Hoisted{Values: h.Values, KeepsInput: h.KeepsInput}}
	fail := func(s *ort.Session, err error) (*ort.Session, *hoisted, string, error) {
		if s != nil {
			s.Close()
		}
		hz.close()
		return nil, nil, "", err
	}
	if sp != nil {
		// The shared part is small, runs at one row per image, and runs
		// right before the main part.
		prefix, err := e.rt.NewSession(filepath.Join(dir, "shared.onnx"), e.SideSessionOptions())
		if err != nil {
			return fail(nil, fmt.Errorf("the UNet's shared part does not load: %w", err))
		}
		hz.share = &rowShare{prefix: prefix, sample: u.Sample,
			split: &onnx.Shared{Values: sp.Values, KeepsInput: sp.KeepsInput, PrefixInputs: sp.PrefixInputs}}
	}
	s, err := e.rt.NewSession(filepath.Join(dir, "main2.onnx"), e.StepSessionOptions())
	if err != nil {
		return fail(nil, fmt.Errorf("the rewritten UNet does not load: %w", err))
	}
	if hz.share != nil {
		hz.share.main = s.Signature()
	}
	got, err := e.runRewrittenCheck(s, hz, in, out)
	if err != nil {
		return fail(s, fmt.Errorf("the rewritten UNet does not run: %w", err))
	}
	if err := sameOutput(want, got); err != nil {
		return fail(s, fmt.Errorf("the rewritten UNet's output differs from the UNet as exported: %w", err))
	}
	return s, hz, note, nil
}

// runRewrittenCheck runs the rewritten parts on the check inputs: the
// projections, the shared part at one row per check image, the main part.
func (e *Engine) runRewrittenCheck(s *ort.Session, hz *hoisted, in ort.Feeds, out *ort.Tensor) ([]float32, error) {
	u := e.Model.UNet
	values, err := hz.compute(context.Background(), in[u.Context])
	if err != nil {
		return nil, err
	}
	defer values.Destroy()
	feeds := maps.Clone(in) // in still owns the context tensor feed replaces
	hz.feed(feeds, values, in[u.Context])
	if hz.share != nil {
		if err := e.shareCheckRows(hz.share, feeds); err != nil {
			return nil, err
		}
	}
	return runCheck(s, feeds, u.Out, out)
}

// compute runs pre on the context tensor; the run allocates the values
// (once per prompt), whose shapes the split does not fix.
func (hz *hoisted) compute(ctx context.Context, ctxT *ort.Tensor) (ort.Feeds, error) {
	outs := ort.Feeds{}
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
