package diffusion

import (
	"context"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/diffusion/difftest"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
	"github.com/oneactor/oneactor-desktop/core/schedule"
)

// The engine fuses the ToyWorld UNet's attentions (optimum and diffusers
// exports), alone and in the main part of the split UNet, and the images
// stay what they were for the same seed.
func TestFusedUNetKeepsImages(t *testing.T) {
	rt := orttest.Runtime(t)
	m, _ := toyworld(t)
	req := Request{Prompt: "a green pointy creature with a crown in the desert", Steps: 12, CFG: 7.5, Sampler: schedule.Euler, Seed: 7, N: 2, Width: 32, Height: 32}
	for _, l := range []struct{ name, data string }{{"optimum", ""}, {"diffusers", onnx.WeightsPB}} {
		lm := m
		if l.data != "" {
			var err error
			if lm, err = Open(difftest.ToyWorldLayout(t, repoRoot, l.name)); err != nil {
				t.Fatal(err)
			}
		}
		gen := func(fuse, hoist bool) (*Result, string) { return generateUNet(t, rt, lm, req, fuse, hoist) }
		plain, _ := gen(false, false)
		for _, c := range []struct {
			hoist bool
			note  string
		}{{false, "14 attentions fused into MultiHeadAttention"}, {true, "15 prompt projections computed once per prompt, 14 attentions fused into MultiHeadAttention, "}} {
			fused, note := gen(true, c.hoist)
			if note != c.note && !(c.hoist && strings.HasPrefix(note, c.note) && strings.HasSuffix(note, "values computed once per image")) {
				t.Errorf("%s: UNet %q, want %q", l.name, note, c.note)
			}
			for i := range plain.Images {
				if d := maxDiff(plain.Images[i], fused.Images[i]); d > 2 {
					t.Errorf("%s image %d: %d/255 from the UNet as exported (%s)", l.name, i, d, note)
				} else {
					t.Logf("%s image %d: max |diff| %d/255 (%s)", l.name, i, d, note)
				}
			}
		}
	}
}

// A fused graph that computes something else (here: every attention's
// scale halved) fails the check, and the engine runs the unfused graph:
// the images are the exported UNet's.
func TestWrongFusionIsCaught(t *testing.T) {
	rt := orttest.Runtime(t)
	m, _ := toyworld(t)
	editFused = func(g *onnx.Model) {
		for _, n := range g.Proto.GetGraph().GetNode() {
			if n.GetOpType() != "MultiHeadAttention" {
				continue
			}
			for _, a := range n.GetAttribute() {
				if a.GetName() == "scale" {
					a.F = ptrTo(a.GetF() / 2)
				}
			}
		}
	}
	defer func() { editFused = nil }()
	req := Request{Prompt: "a blue tall creature at night", Steps: 6, CFG: 7.5, Sampler: schedule.Euler, Seed: 11, N: 1, Width: 32, Height: 32}
	gen := func(fuse, hoist bool) (*Result, string) { return generateUNet(t, rt, m, req, fuse, hoist) }
	plain, _ := gen(false, false)
	for _, hoist := range []bool{false, true} {
		r, note := gen(true, hoist)
		if !strings.Contains(note, "output differs from the") { // the unfused one / the UNet as exported
			t.Errorf("hoist %v: UNet note %q, want the failed check named", hoist, note)
		}
		if d := maxDiff(plain.Images[0], r.Images[0]); d != 0 {
			t.Errorf("hoist %v: %d/255 from the UNet as exported: the wrong fusion was used", hoist, d)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// generateUNet draws req on a new engine with the UNet's attention fusion
// and projection hoisting set, and says how the UNet was opened.
func generateUNet(t *testing.T, rt *ort.Runtime, m *Model, req Request, fuse, hoist bool) (*Result, string) {
	t.Helper()
	return generateWith(t, rt, m, req, func(e *Engine) {
		e.SetHoistProjections(hoist)
		e.SetFuseAttention(fuse)
	})
}

// generateWith runs req on a new engine that set configures.
func generateWith(t *testing.T, rt *ort.Runtime, m *Model, req Request, set func(*Engine)) (*Result, string) {
	t.Helper()
	e := NewEngine(rt, m, ort.SessionOptions{Provider: ort.ProviderCPU})
	defer e.Close()
	set(e)
	r, err := e.Generate(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, e.UNetNote()
}
