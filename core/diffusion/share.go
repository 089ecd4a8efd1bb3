package diffusion

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// rowShare is the split UNet's main part split once more (onnx.SplitShared)
// along the rows of one image. Every guidance row of an image (CFG's
// unconditional and conditional rows, OneActor's cluster rows) reads the
// same latents and differs only in the prompt, so what the UNet computes
// before the prompt first enters — the timestep embedding, the input
// convolution, the first resnet and self-attention — is the same for all
// of them. prefix computes it once per image, and its values, each image's
// row repeated for each of its rows, are main's inputs.
type rowShare struct {
	prefix *ort.Session
	split  *onnx.Shared // its Values, KeepsInput, PrefixInputs (the graphs are dropped once loaded)
	sample string       // the shared input
	main   onnx.Signature

	outs    ort.Feeds // the prefix's outputs, one row per image; reused for the same latent shape
	outsFor []int64   // that latent shape
	reps    ort.Feeds // the same values, one row per UNet row
}

// SetShareRows turns on or off the computing, once per image, of what the
// UNet computes alike for all of an image's guidance rows (on by default,
// for UNets split around their prompt projections; see rowShare). A change
// takes effect when the UNet session is next opened. Measured on the
// ToyWorld UNet (4 images × 2 rows, 1 thread): 0.977× of the time per step.
func (e *Engine) SetShareRows(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.noShare == !on {
		return
	}
	e.noShare = !on
	e.closeUNetLocked()
}

// editShared, when set (by tests), edits each split before it is saved: a
// wrong split must be caught by the check.
var editShared func(*onnx.Shared)

// sharedMain splits the main part g of a split UNet (hz) for shared rows,
// writes both parts into dir and opens them, once they gave the output of
// the reference graph at refPath (the main part as split, unfused) on
// check inputs whose images have two rows each. Called with e.mu held.
func (e *Engine) sharedMain(dir, refPath string, g *onnx.Model, hz *hoisted) (*ort.Session, *rowShare, error) {
	u := e.Model.UNet
	sp, err := onnx.SplitShared(g, u.Sample, []string{u.Timestep})
	if err != nil {
		return nil, nil, err
	}
	for _, in := range sp.PrefixInputs {
		if in != u.Sample && in != u.Timestep {
			return nil, nil, fmt.Errorf("the shared part reads input %q", in)
		}
	}
	for _, v := range sp.Values {
		if v.Type != onnx.Float {
			return nil, nil, fmt.Errorf("value %q crossing the split is %s, not float32", v.Name, v.Type)
		}
	}
	if editShared != nil {
		editShared(sp)
	}
	prefixPath, mainPath := filepath.Join(dir, "shared.onnx"), filepath.Join(dir, "main_shared.onnx")
	if err := sp.Prefix.SaveLinked(prefixPath, sp.Prefix.ExternalPaths()); err != nil {
		return nil, nil, err
	}
	if err := sp.Main.SaveLinked(mainPath, sp.Main.ExternalPaths()); err != nil {
		return nil, nil, err
	}

	in, out, err := checkInputs(u, e.Model)
	if err != nil {
		return nil, nil, err
	}
	defer in.Destroy()
	defer out.Destroy()
	values, err := hz.compute(context.Background(), in[u.Context])
	if err != nil {
		return nil, nil, err
	}
	defer values.Destroy()
	feeds := maps.Clone(in) // in still owns the context tensor feed replaces
	hz.feed(feeds, values, in[u.Context])

	ref, err := e.rt.NewSession(refPath, e.opts)
	if err != nil {
		return nil, nil, err
	}
	want, err := runCheck(ref, feeds, u.Out, out)
	ref.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("check run of the split UNet: %w", err)
	}

	prefix, err := e.rt.NewSession(prefixPath, e.opts)
	if err != nil {
		return nil, nil, fmt.Errorf("the UNet's shared part does not load: %w", err)
	}
	rs := &rowShare{prefix: prefix, split: &onnx.Shared{Values: sp.Values, KeepsInput: sp.KeepsInput, PrefixInputs: sp.PrefixInputs}, sample: u.Sample}
	s, err := e.rt.NewSession(mainPath, e.opts)
	if err != nil {
		rs.close()
		return nil, nil, fmt.Errorf("the UNet's main part does not load: %w", err)
	}
	rs.main = s.Signature()
	got, err := e.runSharedCheck(s, rs, feeds, out)
	if err == nil {
		err = sameOutput(want, got)
	}
	if err != nil {
		s.Close()
		rs.close()
		return nil, nil, fmt.Errorf("rows computed once per image: %w", err)
	}
	return s, rs, nil
}

// runSharedCheck runs the shared part and the main part on the check
// feeds (checkImages images of checkRows rows).
func (e *Engine) runSharedCheck(s *ort.Session, rs *rowShare, feeds ort.Feeds, out *ort.Tensor) ([]float32, error) {
	u := e.Model.UNet
	sample := feeds[u.Sample].Float32s()
	per := len(sample) / (checkImages * checkRows)
	lat, err := ort.NewTensor(onnx.Float, checkImages, e.Model.LatentChannels, checkHW, checkHW)
	if err != nil {
		return nil, err
	}
	defer lat.Destroy()
	for k := 0; k < checkImages; k++ {
		copy(lat.Float32s()[k*per:(k+1)*per], sample[k*checkRows*per:])
	}
	ts := feeds[u.Timestep]
	if u.TimestepRank == 1 {
		if ts, err = ort.NewTensor(u.TimestepType, checkImages); err != nil {
			return nil, err
		}
		defer ts.Destroy()
		if err := setTimestep(ts, checkTimestep); err != nil {
			return nil, err
		}
	}
	in := maps.Clone(feeds)
	if err := rs.feed(context.Background(), in, lat, ts, checkImages, checkRows); err != nil {
		return nil, err
	}
	return runCheck(s, in, u.Out, out)
}

// feed runs the shared part on the latents of n images (and the timestep
// at n rows where the UNet takes one per row) and puts its values, each
// image's row repeated for its R rows (image after image, as Generate lays
// rows out), into the main part's inputs in; inputs the main part does not
// read are taken out of in.
func (rs *rowShare) feed(ctx context.Context, in ort.Feeds, latents, ts *ort.Tensor, n, R int) error {
	pin := ort.Feeds{rs.sample: latents}
	for _, name := range rs.split.PrefixInputs[1:] {
		pin[name] = ts
	}
	if rs.outs != nil && !slices.Equal(rs.outsFor, latents.Shape()) {
		rs.outs.Destroy()
		rs.outs = nil
	}
	outs := rs.outs
	if outs == nil {
		outs = ort.Feeds{}
	}
	if err := rs.prefix.Run(ctx, pin, outs); err != nil {
		outs.Destroy()
		rs.outs = nil
		return fmt.Errorf("UNet shared part: %w", err)
	}
	rs.outs, rs.outsFor = outs, append(rs.outsFor[:0], latents.Shape()...)
	if rs.reps == nil {
		rs.reps = ort.Feeds{}
	}
	for _, v := range rs.split.Values {
		src := outs[v.Name]
		shape := src.Shape()
		if len(shape) == 0 || shape[0] != int64(n) {
			return fmt.Errorf("UNet shared part: value %q has shape %v, not %d rows first", v.Name, shape, n)
		}
		want := append([]int64{int64(n * R)}, shape[1:]...)
		dst := rs.reps[v.Name]
		if dst == nil || !slices.Equal(dst.Shape(), want) {
			dst.Destroy()
			t, err := ort.NewTensor(onnx.Float, want...)
			if err != nil {
				return err
			}
			rs.reps[v.Name], dst = t, t
		}
		s, d := src.Float32s(), dst.Float32s()
		each := len(s) / n
		for k := 0; k < n; k++ {
			row := s[k*each : (k+1)*each]
			for j := 0; j < R; j++ {
				copy(d[(k*R+j)*each:], row)
			}
		}
		in[v.Name] = dst
	}
	for name := range in {
		if _, ok := rs.main.Input(name); !ok {
			delete(in, name)
		}
	}
	return nil
}

func (rs *rowShare) close() {
	if rs == nil {
		return
	}
	rs.outs.Destroy()
	rs.reps.Destroy()
	rs.outs, rs.reps = nil, nil
	rs.prefix.Close()
}
