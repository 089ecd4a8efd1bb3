package oneactor

import (
	"context"
	"errors"
	"math"
	"time"
)

// DefaultInversionLR is the learning rate of the textual-inversion
// ablation. A free offset needs a far larger step than the projector's
// weights (1e-4 would move each coordinate by at most 0.02 in 200 steps);
// 5e-3 is the value textual-inversion trainers commonly use.
const DefaultInversionLR = 5e-3

// RunInversion is the textual-inversion-style ablation OneActor is judged
// against: one free offset for the base word, learnt from the target alone
// with the same gradient machinery, objective rows (templates, flips,
// random timesteps and noise) and step budget as Run, with no auxiliaries
// and no projector. It returns the offset (sample with it through
// InversionGuidance) and the loss curve. The tuner's projector is left as
// it is.
func (t *Tuner) RunInversion(ctx context.Context, s *SubjectData, lr float64, onStep func(Progress)) ([]float32, []float64, error) {
	if len(s.Target.Z0) == 0 {
		return nil, nil, errors.New("textual inversion needs the target's latents")
	}
	if lr <= 0 {
		lr = DefaultInversionLR
	}
	D := int(t.D)
	delta := make([]float32, D)
	m := make([]float64, D)
	v := make([]float64, D)
	c := t.cfg
	start := time.Now()
	var curve []float64
	for step := 1; step <= c.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, curve, err
		}
		loss, grad, err := t.inversionLossGrad(ctx, s, t.drawInversion(), delta)
		if err != nil {
			return nil, curve, err
		}
		// AdamW on the offset, the same update the projector's weights get.
		bc1 := 1 - math.Pow(c.Beta1, float64(step))
		bc2 := 1 - math.Pow(c.Beta2, float64(step))
		for i := range delta {
			g := float64(grad[i])
			m[i] = c.Beta1*m[i] + (1-c.Beta1)*g
			v[i] = c.Beta2*v[i] + (1-c.Beta2)*g*g
			x := float64(delta[i]) * (1 - lr*c.WeightDecay)
			delta[i] = float32(x - lr*(m[i]/bc1)/(math.Sqrt(v[i]/bc2)+1e-8))
		}
		curve = append(curve, loss)
		if onStep != nil {
			el := time.Since(start)
			onStep(Progress{Step: step, Total: c.Steps, Loss: loss, Elapsed: el,
				ETA: time.Duration(float64(el) / float64(step) * float64(c.Steps-step))})
		}
	}
	return delta, curve, nil
}

// InversionGuidance samples with a textual-inversion offset: plain
// classifier-free guidance at scale cfg with the offset added at the base
// word on every step — two rows, the cost of plain sampling.
func InversionGuidance(cfg float64) GuidanceConfig {
	return GuidanceConfig{V: 1, Eta1: cfg, Eta2: 0, GuidedFraction: 1}
}

// inversionDraw is one step's five target rows, each with its own flip,
// timestep, caption and noise.
type inversionDraw struct {
	batch
	eps5 []float32
}

func (t *Tuner) drawInversion() inversionDraw {
	d := inversionDraw{batch: t.draw(1)}
	d.flips[4] = t.cfg.Flip && t.rng.IntN(2) == 1
	d.eps5 = make([]float32, len(d.eps[0]))
	t.noise.Normal(d.eps5)
	return d
}

// inversionLossGrad is the ablation's objective, the mean of five target
// rows' MSE with delta at the base word, and its gradient in delta.
func (t *Tuner) inversionLossGrad(ctx context.Context, s *SubjectData, d inversionDraw, delta []float32) (float64, []float32, error) {
	var rows [5]rowInput
	var w [5]float64
	for r := 0; r < 5; r++ {
		eps := d.eps5
		if r < 4 {
			eps = d.eps[r]
		}
		w[r] = 1.0 / 5
		rows[r] = rowInput{z0: t.maybeFlip(s.Target.Z0, d.flips[r], t.h, t.w, t.C), eps: eps,
			t: d.ts[r], template: d.prompt[r], word: s.BaseWord, off: delta}
	}
	loss, dOff, err := t.rowsLossGrad(ctx, rows, w)
	if err != nil {
		return 0, nil, err
	}
	grad := make([]float32, len(delta))
	for r := range dOff {
		for i := range grad {
			grad[i] += dOff[r][i]
		}
	}
	return loss, grad, nil
}
