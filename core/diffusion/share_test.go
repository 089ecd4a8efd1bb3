package diffusion

import (
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
	"github.com/oneactor/oneactor-desktop/core/schedule"
)

// sharedRequests are the generations the row-sharing tests draw: CFG at two
// images, and one image whose conditional row changes partway (as
// OneActor's guidance does).
var sharedRequests = []Request{
	{Prompt: "a green pointy creature with a crown in the desert", Steps: 12, CFG: 7.5, Sampler: schedule.Euler, Seed: 7, N: 2, Width: 32, Height: 32},
	{Prompt: "a creature on the beach", Steps: 9, CFG: 7.5, Sampler: schedule.Euler, Seed: 3, N: 1, Width: 32, Height: 32,
		Guidance: func(e Embeddings) (Guider, error) { return newSwitchingRows(e, 5), nil }},
}

// Computing an image's shared rows once (SetShareRows, on by default)
// keeps the images of the split UNet, unfused and fused, on the optimum
// and diffusers exports. Not bit for bit everywhere: the shared part runs
// at one row per image where the full graph ran at every row, and ONNX
// Runtime picks its matrix kernels by row count (a matrix-vector kernel for
// a single row), so the last bits of a value can differ.
func TestSharedRowsKeepImages(t *testing.T) {
	rt := orttest.Runtime(t)
	m, _ := toyworld(t)
	for _, l := range []string{"optimum", "diffusers"} {
		lm := toyLayout(t, m, l)
		for _, fuse := range []bool{false, true} {
			for _, req := range sharedRequests {
				gen := func(share bool) (*Result, string) {
					return generateWith(t, rt, lm, req, func(e *Engine) {
						e.SetFuseAttention(fuse)
						e.SetShareRows(share)
					})
				}
				full, _ := gen(false)
				shared, note := gen(true)
				if !strings.HasSuffix(note, "values computed once per image") {
					t.Errorf("%s fuse %v: UNet %q, want its shared rows computed once", l, fuse, note)
				}
				for i := range full.Images {
					if d := maxDiff(full.Images[i], shared.Images[i]); d > 1 {
						t.Errorf("%s fuse %v %q image %d: %d/255 from every row in full", l, fuse, req.Prompt, i, d)
					} else {
						t.Logf("%s fuse %v %q image %d: %d/255 (%s)", l, fuse, req.Prompt, i, d, note)
					}
				}
			}
		}
	}
}

// A shared part that computes something else (here: its first value
// doubled) fails the check, and the engine runs the plain split: the
// images are its, bit for bit.
func TestWrongShareIsCaught(t *testing.T) {
	rt := orttest.Runtime(t)
	m, _ := toyworld(t)
	editShared = func(sp *onnx.Shared) {
		g := sp.Prefix.Proto.GetGraph()
		v := sp.Values[0].Name
		for _, n := range g.GetNode() {
			for i, o := range n.GetOutput() {
				if o == v {
					n.Output[i] = v + "_half"
				}
			}
		}
		g.Node = append(g.Node, &onnxpb.NodeProto{OpType: ptrTo("Add"), Input: []string{v + "_half", v + "_half"}, Output: []string{v}})
	}
	defer func() { editShared = nil }()
	req := sharedRequests[0]
	full, _ := generateWith(t, rt, m, req, func(e *Engine) {
		e.SetShareRows(false)
		e.SetFuseAttention(false)
	})
	r, note := generateWith(t, rt, m, req, func(*Engine) {})
	if !strings.Contains(note, "output differs from the UNet as exported") {
		t.Errorf("UNet note %q, want the failed check named", note)
	}
	for i := range full.Images {
		if d := maxDiff(full.Images[i], r.Images[i]); d != 0 {
			t.Errorf("image %d: %d/255 from every row in full: the wrong split was used", i, d)
		}
	}
}
