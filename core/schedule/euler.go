package schedule

import "math"

// eulerSampler is diffusers' EulerDiscreteScheduler (Karras et al.'s
// Algorithm 2 without churn) and, with ancestral set,
// EulerAncestralDiscreteScheduler. Latents live in σ-space: x = x0 + σ·ε.
type eulerSampler struct {
	stepGuard
	pred      Prediction
	ancestral bool
	timesteps []float64
	sigmas    []float64 // n+1 values, the last 0
	sigmaUp   []float64 // ancestral only
	sigmaDown []float64
	init      float64
	x0, eps   []float32
}

func (s *Schedule) newEuler(n int, karras, ancestral bool) *eulerSampler {
	kind := Euler
	if ancestral {
		kind = EulerAncestral
	}
	ts := s.spacedTimesteps(n, false)
	sig := make([]float64, n+1)
	for i, t := range ts {
		sig[i] = s.sigmaAt(t)
	}
	if karras {
		// Karras sigmas between the spaced schedule's own ends; the UNet
		// then sees the (fractional) timesteps those sigmas belong to.
		copy(sig, karrasSigmas(sig[n-1], sig[0], n))
		for i := range ts {
			ts[i] = s.sigmaToT(sig[i])
		}
	}
	maxSigma := 0.0
	for _, v := range sig {
		maxSigma = math.Max(maxSigma, v)
	}
	init := math.Sqrt(maxSigma*maxSigma + 1)
	if s.cfg.Spacing == Linspace || s.cfg.Spacing == Trailing {
		init = maxSigma
	}
	e := &eulerSampler{
		stepGuard: stepGuard{kind, n}, pred: s.cfg.Prediction, ancestral: ancestral,
		timesteps: ts, sigmas: sig, init: init,
	}
	if ancestral {
		e.sigmaUp = make([]float64, n)
		e.sigmaDown = make([]float64, n)
		for i := range n {
			from, to := sig[i]*sig[i], sig[i+1]*sig[i+1]
			up := math.Sqrt(to * (from - to) / from)
			e.sigmaUp[i] = up
			e.sigmaDown[i] = math.Sqrt(to - up*up)
		}
	}
	return e
}

func (e *eulerSampler) Timesteps() []float64    { return append([]float64(nil), e.timesteps...) }
func (e *eulerSampler) InitNoiseSigma() float64 { return e.init }
func (e *eulerSampler) Reset()                  {}

func (e *eulerSampler) ScaleModelInput(dst, x []float32, i int) error {
	if err := e.check(i, dst, x); err != nil {
		return err
	}
	scale := 1 / math.Sqrt(e.sigmas[i]*e.sigmas[i]+1)
	for k, v := range x {
		dst[k] = float32(float64(v) * scale)
	}
	return nil
}

func (e *eulerSampler) Step(i int, x, out []float32, noise Noise) ([]float32, error) {
	if err := e.check(i, x, out); err != nil {
		return nil, err
	}
	sigma := e.sigmas[i]
	target := e.sigmas[i+1] // Euler: straight to the next σ
	var up float64
	if e.ancestral {
		target, up = e.sigmaDown[i], e.sigmaUp[i]
		// Drawn on every step, even the last where up is 0, so that the
		// noise stream's position depends only on the step count.
		var err error
		if e.eps, err = drawNoise(e.kind, noise, e.eps, len(x)); err != nil {
			return nil, err
		}
	}
	e.x0 = buffer(e.x0, len(x))
	s2 := sigma*sigma + 1
	for k := range x {
		xv, ov := float64(x[k]), float64(out[k])
		var x0 float64
		if e.pred == VPrediction {
			x0 = ov*(-sigma/math.Sqrt(s2)) + xv/s2
		} else {
			x0 = xv - sigma*ov
		}
		next := xv + (xv-x0)/sigma*(target-sigma)
		if e.ancestral {
			next += float64(e.eps[k]) * up
		}
		e.x0[k] = float32(x0)
		x[k] = float32(next)
	}
	return e.x0, nil
}

func (e *eulerSampler) AddNoise(dst, z0, noise []float32, i int) error {
	if err := e.check(i, z0, noise); err != nil {
		return err
	}
	if err := sameLen(dst, z0); err != nil {
		return err
	}
	axpby(dst, z0, noise, 1, e.sigmas[i])
	return nil
}
