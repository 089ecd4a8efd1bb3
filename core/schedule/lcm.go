package schedule

import (
	"fmt"
	"math"
)

// lcmSampler is diffusers' LCMScheduler (Luo et al. 2023): each step
// predicts the clean latents with the consistency-model boundary condition
// and, except on the last step, re-noises them to the next timestep.
type lcmSampler struct {
	stepGuard
	pred      Prediction
	timesteps []float64
	cSkip     []float64
	cOut      []float64
	alphaT    []float64
	alphaPrev []float64 // 1 after the last step (unused there: no re-noising)
	denoised  []float32
	noiseBuf  []float32
}

const (
	lcmSigmaData       = 0.5
	lcmTimestepScaling = 10.0
)

func (s *Schedule) newLCM(n, originalSteps int) (*lcmSampler, error) {
	T := s.cfg.NumTrainTimesteps
	if originalSteps < 1 || originalSteps > T {
		return nil, fmt.Errorf("lcm: original_inference_steps %d outside [1, %d]", originalSteps, T)
	}
	if n > originalSteps {
		return nil, fmt.Errorf("lcm: %d steps exceed the %d the model was distilled with", n, originalSteps)
	}
	// The distillation schedule: every k-th timestep, k = T/originalSteps,
	// descending; the n inference steps pick evenly from it.
	k := T / originalSteps
	origin := make([]float64, originalSteps)
	for i := range origin {
		origin[originalSteps-1-i] = float64((i+1)*k - 1)
	}
	l := &lcmSampler{
		stepGuard: stepGuard{LCM, n}, pred: s.cfg.Prediction,
		timesteps: make([]float64, n), cSkip: make([]float64, n), cOut: make([]float64, n),
		alphaT: make([]float64, n), alphaPrev: make([]float64, n),
	}
	for i, v := range linspace(0, float64(originalSteps), n, false) {
		l.timesteps[i] = origin[int(math.Floor(v))]
	}
	for i, t := range l.timesteps {
		st := t * lcmTimestepScaling
		l.cSkip[i] = lcmSigmaData * lcmSigmaData / (st*st + lcmSigmaData*lcmSigmaData)
		l.cOut[i] = st / math.Sqrt(st*st+lcmSigmaData*lcmSigmaData)
		l.alphaT[i] = s.alphasCumprod[int(t)]
		l.alphaPrev[i] = 1
		if i+1 < n {
			l.alphaPrev[i] = s.alphasCumprod[int(l.timesteps[i+1])]
		}
	}
	return l, nil
}

func (l *lcmSampler) Timesteps() []float64    { return append([]float64(nil), l.timesteps...) }
func (l *lcmSampler) InitNoiseSigma() float64 { return 1 }
func (l *lcmSampler) Reset()                  {}

func (l *lcmSampler) ScaleModelInput(dst, x []float32, i int) error {
	if err := l.check(i, dst, x); err != nil {
		return err
	}
	copy(dst, x)
	return nil
}

func (l *lcmSampler) Step(i int, x, out []float32, noise Noise) ([]float32, error) {
	if err := l.check(i, x, out); err != nil {
		return nil, err
	}
	last := i == l.n-1
	if !last {
		var err error
		if l.noiseBuf, err = drawNoise(LCM, noise, l.noiseBuf, len(x)); err != nil {
			return nil, err
		}
	}
	a, ap := l.alphaT[i], l.alphaPrev[i]
	sqrtA, sqrt1mA := math.Sqrt(a), math.Sqrt(1-a)
	sqrtAp, sqrt1mAp := math.Sqrt(ap), math.Sqrt(1-ap)
	l.denoised = buffer(l.denoised, len(x))
	for k := range x {
		x0, _ := predictX0(l.pred, float64(x[k]), float64(out[k]), sqrtA, sqrt1mA)
		den := l.cOut[i]*x0 + l.cSkip[i]*float64(x[k])
		l.denoised[k] = float32(den)
		if last {
			x[k] = float32(den)
		} else {
			x[k] = float32(sqrtAp*den + sqrt1mAp*float64(l.noiseBuf[k]))
		}
	}
	return l.denoised, nil
}

func (l *lcmSampler) AddNoise(dst, z0, noise []float32, i int) error {
	if err := l.check(i, z0, noise); err != nil {
		return err
	}
	if err := sameLen(dst, z0); err != nil {
		return err
	}
	a := l.alphaT[i]
	axpby(dst, z0, noise, math.Sqrt(a), math.Sqrt(1-a))
	return nil
}
