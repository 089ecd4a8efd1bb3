package schedule

import "math"

// ddimSampler is diffusers' DDIMScheduler (Song et al. 2021, eq. 12) with
// stochasticity eta; eta 0 is deterministic.
type ddimSampler struct {
	stepGuard
	pred        Prediction
	eta         float64
	clip        float64 // clip_sample_range, 0 when clipping is off
	timesteps   []float64
	prevT       []float64
	alphaT      []float64 // ᾱ at each step's timestep
	alphaPrev   []float64 // ᾱ at the timestep the step lands on
	x0, noiseBf []float32
}

func (s *Schedule) newDDIM(n int, eta float64) *ddimSampler {
	T := s.cfg.NumTrainTimesteps
	var ts []float64
	if s.cfg.Spacing == Linspace {
		// DDIM rounds linspace timesteps to integers (Euler keeps them).
		ts = reversed(roundAll(linspace(0, float64(T-1), n, true)))
	} else {
		ts = s.spacedTimesteps(n, false)
	}
	final := s.alphasCumprod[0]
	if s.cfg.SetAlphaToOne {
		final = 1
	}
	d := &ddimSampler{
		stepGuard: stepGuard{DDIM, n}, pred: s.cfg.Prediction, eta: eta, timesteps: ts,
		prevT: make([]float64, n), alphaT: make([]float64, n), alphaPrev: make([]float64, n),
	}
	if s.cfg.ClipSample {
		d.clip = s.cfg.ClipSampleRange
	}
	for i, t := range ts {
		// diffusers steps back by T/n regardless of spacing.
		prev := t - float64(T/n)
		d.prevT[i] = prev
		d.alphaT[i] = s.alphasCumprod[int(t)]
		d.alphaPrev[i] = final
		if prev >= 0 {
			d.alphaPrev[i] = s.alphasCumprod[int(prev)]
		}
	}
	return d
}

func (d *ddimSampler) Timesteps() []float64    { return append([]float64(nil), d.timesteps...) }
func (d *ddimSampler) InitNoiseSigma() float64 { return 1 }
func (d *ddimSampler) Reset()                  {}

func (d *ddimSampler) ScaleModelInput(dst, x []float32, i int) error {
	if err := d.check(i, dst, x); err != nil {
		return err
	}
	copy(dst, x)
	return nil
}

func (d *ddimSampler) Step(i int, x, out []float32, noise Noise) ([]float32, error) {
	if err := d.check(i, x, out); err != nil {
		return nil, err
	}
	a, ap := d.alphaT[i], d.alphaPrev[i]
	variance := (1 - ap) / (1 - a) * (1 - a/ap)
	std := d.eta * math.Sqrt(variance)
	if std > 0 {
		var err error
		if d.noiseBf, err = drawNoise(DDIM, noise, d.noiseBf, len(x)); err != nil {
			return nil, err
		}
	}
	sqrtA, sqrt1mA := math.Sqrt(a), math.Sqrt(1-a)
	sqrtAp := math.Sqrt(ap)
	dirCoef := math.Sqrt(math.Max(0, 1-ap-std*std))
	d.x0 = buffer(d.x0, len(x))
	for k := range x {
		x0, eps := predictX0(d.pred, float64(x[k]), float64(out[k]), sqrtA, sqrt1mA)
		if d.clip > 0 {
			x0 = math.Max(-d.clip, math.Min(d.clip, x0))
		}
		next := sqrtAp*x0 + dirCoef*eps
		if std > 0 {
			next += std * float64(d.noiseBf[k])
		}
		d.x0[k] = float32(x0)
		x[k] = float32(next)
	}
	return d.x0, nil
}

func (d *ddimSampler) AddNoise(dst, z0, noise []float32, i int) error {
	if err := d.check(i, z0, noise); err != nil {
		return err
	}
	if err := sameLen(dst, z0); err != nil {
		return err
	}
	a := d.alphaT[i]
	axpby(dst, z0, noise, math.Sqrt(a), math.Sqrt(1-a))
	return nil
}
