package diffusion

import (
	"context"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
	"github.com/oneactor/oneactor-desktop/core/schedule"
)

// A UNet split around its prompt projections (the default for float32
// UNets) draws the same pictures as the UNet as exported: plain CFG over a
// batch, and rows that change partway through sampling (the projections
// must then be recomputed, not reused).
func TestHoistedUNetKeepsImages(t *testing.T) {
	rt := orttest.Runtime(t)
	m, _ := toyworld(t)
	for _, l := range []string{"optimum", "diffusers"} {
		lm := toyLayout(t, m, l)
		for _, req := range []Request{
			{Prompt: "a green pointy creature with a crown in the desert", Steps: 12, CFG: 7.5, Sampler: schedule.Euler, Seed: 7, N: 2, Width: 32, Height: 32},
			{Prompt: "a creature on the beach", Steps: 9, CFG: 7.5, Sampler: schedule.Euler, Seed: 3, N: 1, Width: 32, Height: 32,
				Guidance: func(e Embeddings) (Guider, error) { return newSwitchingRows(e, 5), nil }},
		} {
			// the split alone (fuse_test.go covers it fused, share_test.go shared)
			gen := func(hoist bool) (*Result, string) {
				return generateWith(t, rt, lm, req, func(e *Engine) {
					e.SetHoistProjections(hoist)
					e.SetFuseAttention(false)
					e.SetShareRows(false)
				})
			}
			plain, _ := gen(false)
			split, note := gen(true)
			if !strings.HasPrefix(note, "15 prompt projections computed once per prompt") {
				t.Errorf("%s: UNet %q, want its projections hoisted", l, note)
			}
			for i := range plain.Images {
				if d := maxDiff(plain.Images[i], split.Images[i]); d > 0 {
					t.Errorf("%s %q image %d: %d/255 from the UNet as exported", l, req.Prompt, i, d)
				}
			}
		}
	}
}

// switchingRows is CFG whose conditional row carries an offset on every
// row position until step at, then not (as OneActor's guidance changes its
// rows after the guided fraction of the steps).
type switchingRows struct {
	cfg     CFG
	shifted []float32
	at      int
}

func newSwitchingRows(e Embeddings, at int) *switchingRows {
	shifted := append([]float32{}, e.Cond...)
	for i := range shifted {
		shifted[i] += 0.3 * float32(i%5-2)
	}
	return &switchingRows{cfg: CFG{Uncond: e.Uncond, Cond: e.Cond, Scale: 7.5}, shifted: shifted, at: at}
}

func (g *switchingRows) Rows(step, steps int) [][]float32 {
	if step < g.at {
		return [][]float32{g.cfg.Uncond, g.shifted}
	}
	return g.cfg.Rows(step, steps)
}

func (g *switchingRows) Combine(step, steps int, preds [][]float32, out []float32) {
	g.cfg.Combine(step, steps, preds, out)
}

// A UNet whose graph file is big (weights inside it) runs as exported: the
// split would copy its weights.
func TestHoistSkipsEmbeddedWeights(t *testing.T) {
	rt := orttest.Runtime(t)
	m, _ := toyworld(t)
	old := maxSplitGraphBytes
	maxSplitGraphBytes = 1000 // the ToyWorld graph file is ~300 kB
	defer func() { maxSplitGraphBytes = old }()
	e := NewEngine(rt, m, ort.SessionOptions{Provider: ort.ProviderCPU})
	defer e.Close()
	req := Request{Prompt: "a creature in the snow", Steps: 2, CFG: 7.5, Sampler: schedule.Euler, Seed: 1, N: 1, Width: 32, Height: 32}
	if _, err := e.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	if note := e.UNetNote(); strings.Contains(note, "prompt projections") || e.hoistFor(m.UNet.Dir) != nil {
		t.Errorf("UNet note %q: a big graph file must not be split", note)
	}
}
