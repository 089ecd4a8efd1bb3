package diffusion

import (
	"context"
	"fmt"
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
// takes effect when the UNet session is next opened. Measured with bench
// generate --unet fused,unshared (ToyWorld, 1 thread, in turns): the
// pipeline takes 0.95–0.99× of the unshared time at batch 4 and 0.93–0.96×
// at batch 1; OneActor's three rows per image share more.
func (e *Engine) SetShareRows(on bool) {
	e.setUNetOption(&e.noShare, !on)
}

// editShared, when set (by tests), edits each split before it is saved: a
// wrong split must be caught by the check.
var editShared func(*onnx.Shared)

// splitShared splits g, a split UNet's main part, for shared rows and
// refuses a split the engine cannot feed.
func (e *Engine) splitShared(g *onnx.Model) (*onnx.Shared, error) {
	u := e.Model.UNet
	sp, err := onnx.SplitShared(g, u.Sample, []string{u.Timestep})
	if err != nil {
		return nil, err
	}
	for _, in := range sp.PrefixInputs {
		if in != u.Sample && in != u.Timestep {
			return nil, fmt.Errorf("the shared part reads input %q", in)
		}
	}
	for _, v := range sp.Values {
		if v.Type != onnx.Float {
			return nil, fmt.Errorf("value %q crossing the split is %s, not float32", v.Name, v.Type)
		}
	}
	if editShared != nil {
		editShared(sp)
	}
	return sp, nil
}

// shareCheckRows feeds the shared part's values for the check inputs
// (checkImages images of checkRows rows) into feeds.
func (e *Engine) shareCheckRows(rs *rowShare, feeds ort.Feeds) error {
	u := e.Model.UNet
	sample := feeds[u.Sample].Float32s()
	per := len(sample) / (checkImages * checkRows)
	lat, err := ort.NewTensor(onnx.Float, checkImages, e.Model.LatentChannels, checkHW, checkHW)
	if err != nil {
		return err
	}
	defer lat.Destroy()
	for k := 0; k < checkImages; k++ {
		copy(lat.Float32s()[k*per:(k+1)*per], sample[k*checkRows*per:])
	}
	ts := feeds[u.Timestep]
	if u.TimestepRank == 1 {
		if ts, err = ort.NewTensor(u.TimestepType, checkImages); err != nil {
			return err
		}
		defer ts.Destroy()
		if err := setTimestep(ts, checkTimestep); err != nil {
			return err
		}
	}
	return rs.feed(context.Background(), feeds, lat, ts, checkImages, checkRows)
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
