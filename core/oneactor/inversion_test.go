package oneactor

import (
	"context"
	"math"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/diffusion/difftest"
)

// The ablation's gradient (five target rows through the UNet's compiled
// backward, summed at the base word) equals finite differences of its
// objective, and a run returns one offset of the text width and its curve.
func TestInversionGradientMatchesFiniteDifferences(t *testing.T) {
	for name, l := range map[string]difftest.Layout{"rank-0 timestep, row by row": difftest.Optimum, "batched rows": difftest.Script} {
		t.Run(name, func(t *testing.T) {
			rt, eng, s, hShape := castFixture(t, l)
			ctx := context.Background()
			cfg := DefaultTune()
			cfg.Steps = 4
			cfg.Templates = []string{"a {} on the beach", "a red {}", "a {} in the snow"}
			tu, err := NewTuner(ctx, rt, eng, 8, 8, hShape, cfg, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer tu.Close()
			D := int(eng.Model.Text.Width)
			delta := make([]float32, D)
			for i := range delta {
				delta[i] = float32(math.Sin(float64(i))) // away from zero, where nothing is special
			}
			d := tu.drawInversion()
			loss0, grad, err := tu.inversionLossGrad(ctx, s, d, delta)
			if err != nil {
				t.Fatal(err)
			}
			scale := 0.0
			for _, g := range grad {
				scale = math.Max(scale, math.Abs(float64(g)))
			}
			if scale == 0 {
				t.Fatal("zero gradient: the offset does not reach the UNet")
			}
			for _, i := range []int{0, D / 3, D - 1} {
				orig := delta[i]
				const eps = 1e-1
				delta[i] = orig + eps
				lp, _, err := tu.inversionLossGrad(ctx, s, d, delta)
				if err != nil {
					t.Fatal(err)
				}
				delta[i] = orig - eps
				lm, _, _ := tu.inversionLossGrad(ctx, s, d, delta)
				delta[i] = orig
				num := (lp - lm) / (2 * eps)
				rel := math.Abs(num-float64(grad[i])) / math.Max(math.Max(math.Abs(num), math.Abs(float64(grad[i]))), 0.1*scale)
				if rel > 0.05 {
					t.Errorf("Δ[%d]: analytic %.5g, numeric %.5g (rel %.2g)", i, grad[i], num, rel)
				}
			}
			off, curve, err := tu.RunInversion(ctx, s, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(off) != D || len(curve) != cfg.Steps {
				t.Fatalf("offset of %d values (want %d), curve of %d (want %d)", len(off), D, len(curve), cfg.Steps)
			}
			moved := 0.0
			for _, x := range off {
				moved = math.Max(moved, math.Abs(float64(x)))
			}
			// Adam moves each coordinate by about lr per step at first.
			if moved < 0.5*DefaultInversionLR || moved > float64(cfg.Steps)*DefaultInversionLR*1.5 {
				t.Errorf("largest offset coordinate %.3g after %d steps at lr %g", moved, cfg.Steps, DefaultInversionLR)
			}
			t.Logf("loss %.4f, gradient scale %.3g, offset max %.3g", loss0, scale, moved)
		})
	}
}
