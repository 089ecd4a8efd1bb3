package diffusion

import (
	"context"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/diffusion/difftest"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/schedule"
)

// The engine fuses the ToyWorld UNet's attentions (optimum and diffusers
// exports) and the images stay what they were for the same seed.
func TestFusedUNetKeepsImages(t *testing.T) {
	rt := testRuntime(t)
	m, _ := toyworld(t)
	ctx := context.Background()
	req := Request{Prompt: "a green pointy creature with a crown in the desert", Steps: 12, CFG: 7.5, Sampler: schedule.Euler, Seed: 7, N: 2, Width: 32, Height: 32}
	for _, l := range []struct{ name, data string }{{"optimum", ""}, {"diffusers", onnx.WeightsPB}} {
		lm := m
		if l.data != "" {
			var err error
			if lm, err = Open(difftest.ToyWorldLayout(t, repoRoot, l.name)); err != nil {
				t.Fatal(err)
			}
		}
		gen := func(fuse bool) (*Result, string) {
			e := NewEngine(rt, lm, ort.SessionOptions{Provider: ort.ProviderCPU})
			defer e.Close()
			e.SetHoistProjections(false) // fusion alone (hoisted_test.go covers both)
			e.SetFuseAttention(fuse)
			r, err := e.Generate(ctx, req, nil)
			if err != nil {
				t.Fatal(err)
			}
			return r, e.UNetNote()
		}
		plain, _ := gen(false)
		fused, note := gen(true)
		if !strings.HasPrefix(note, "14 attentions fused") {
			t.Errorf("%s: UNet %s, want its 14 attentions fused", l.name, note)
		}
		for i := range plain.Images {
			if d := maxDiff(plain.Images[i], fused.Images[i]); d > 2 {
				t.Errorf("%s image %d: %d/255 from the unfused UNet", l.name, i, d)
			} else {
				t.Logf("%s image %d: max |diff| %d/255 (%s)", l.name, i, d, note)
			}
		}
	}
}
