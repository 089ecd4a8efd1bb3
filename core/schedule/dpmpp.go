package schedule

import "math"

// dpmSampler is diffusers' DPMSolverMultistepScheduler with
// algorithm_type "dpmsolver++", solver_order 2, solver_type "midpoint",
// final_sigmas_type "zero" and lower_order_final: DPM-Solver++(2M) of Lu et
// al. (2022). It works on the data-prediction x0 in the VP space (x is not
// scaled by σ), so the model input is x itself.
type dpmSampler struct {
	stepGuard
	pred      Prediction
	timesteps []float64
	sigmas    []float64 // n+1 values in σ = √((1−ᾱ)/ᾱ) units, the last 0
	prevStep  int       // index of the last step taken, -1 for none
	x0        []float32
	prevX0    []float32
}

func (s *Schedule) newDPMPP2M(n int, karras bool) *dpmSampler {
	ts := s.spacedTimesteps(n, true)
	sig := make([]float64, n+1)
	if karras {
		// Unlike Euler, DPM++ spans the whole training range of σ and
		// rounds the timesteps.
		T := s.cfg.NumTrainTimesteps
		copy(sig, karrasSigmas(s.sigmas[0], s.sigmas[T-1], n))
		for i := range ts {
			ts[i] = math.RoundToEven(s.sigmaToT(sig[i]))
		}
	} else {
		for i, t := range ts {
			sig[i] = s.sigmaAt(t)
		}
	}
	return &dpmSampler{stepGuard: stepGuard{DPMPP2M, n}, pred: s.cfg.Prediction, timesteps: ts, sigmas: sig, prevStep: -1}
}

func (d *dpmSampler) Timesteps() []float64    { return append([]float64(nil), d.timesteps...) }
func (d *dpmSampler) InitNoiseSigma() float64 { return 1 }
func (d *dpmSampler) Reset()                  { d.prevStep = -1 }

func (d *dpmSampler) ScaleModelInput(dst, x []float32, i int) error {
	if err := d.check(i, dst, x); err != nil {
		return err
	}
	copy(dst, x)
	return nil
}

// alphaSigma converts σ to the VP pair (α_t, σ_t) = (1/√(σ²+1), σ/√(σ²+1)).
func alphaSigma(s float64) (alpha, sigma float64) {
	alpha = 1 / math.Sqrt(s*s+1)
	return alpha, s * alpha
}

// lambda is log-SNR/2: log α_t − log σ_t.
func lambda(s float64) float64 {
	a, sg := alphaSigma(s)
	return math.Log(a) - math.Log(sg)
}

func (d *dpmSampler) Step(i int, x, out []float32, _ Noise) ([]float32, error) {
	if err := d.check(i, x, out); err != nil {
		return nil, err
	}
	sNow, sNext := d.sigmas[i], d.sigmas[i+1]
	alphaS, sigmaS := alphaSigma(sNow)
	alphaT, sigmaT := alphaSigma(sNext)
	// Second order needs the previous step's prediction; the first step
	// taken and the last step (final σ 0) are first order, as in diffusers.
	second := d.prevStep == i-1 && i > 0 && i < d.n-1 && len(d.prevX0) == len(x)
	var h, r0 float64
	if sNext > 0 {
		h = lambda(sNext) - lambda(sNow)
		if second {
			r0 = (lambda(sNow) - lambda(d.sigmas[i-1])) / h
		}
	}
	d.x0 = buffer(d.x0, len(x))
	em1 := math.Expm1(-h)
	for k := range x {
		x0, _ := predictX0(d.pred, float64(x[k]), float64(out[k]), alphaS, sigmaS)
		var next float64
		switch {
		case sNext == 0:
			next = x0 // the first-order update's limit as σ_t → 0
		case second:
			d1 := (x0 - float64(d.prevX0[k])) / r0
			next = (sigmaT/sigmaS)*float64(x[k]) - alphaT*em1*x0 - 0.5*alphaT*em1*d1
		default:
			next = (sigmaT/sigmaS)*float64(x[k]) - alphaT*em1*x0
		}
		d.x0[k] = float32(x0)
		x[k] = float32(next)
	}
	d.prevX0 = append(d.prevX0[:0], d.x0...)
	d.prevStep = i
	return d.x0, nil
}

func (d *dpmSampler) AddNoise(dst, z0, noise []float32, i int) error {
	if err := d.check(i, z0, noise); err != nil {
		return err
	}
	if err := sameLen(dst, z0); err != nil {
		return err
	}
	a, s := alphaSigma(d.sigmas[i])
	axpby(dst, z0, noise, a, s)
	return nil
}
