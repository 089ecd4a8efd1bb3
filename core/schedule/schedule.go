package schedule

import (
	"fmt"
	"math"
)

// Schedule is a model's training noise schedule: ᾱ_t for t = 0..T-1.
// Samplers are made from it; OneActor's tuning uses AddNoise and Target.
type Schedule struct {
	cfg           Config
	alphasCumprod []float64
	sigmas        []float64 // √((1−ᾱ)/ᾱ), the Euler-family noise level per t
	logSigmas     []float64
}

// New builds the schedule a config describes.
func New(cfg Config) (*Schedule, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	betas := cfg.TrainedBetas
	if betas == nil {
		betas = makeBetas(cfg)
	}
	T := cfg.NumTrainTimesteps
	s := &Schedule{
		cfg:           cfg,
		alphasCumprod: make([]float64, T),
		sigmas:        make([]float64, T),
		logSigmas:     make([]float64, T),
	}
	prod := 1.0
	for i, b := range betas {
		if !(b > 0 && b < 1) {
			return nil, fmt.Errorf("beta[%d] = %g out of (0, 1)", i, b)
		}
		prod *= 1 - b
		s.alphasCumprod[i] = prod
		s.sigmas[i] = math.Sqrt((1 - prod) / prod)
		s.logSigmas[i] = math.Log(s.sigmas[i])
	}
	return s, nil
}

// makeBetas computes β_t in float64. diffusers builds them in float32; the
// ToyWorld goldens and this package use float64, which differs from
// diffusers by about 1e-7 relative in ᾱ.
func makeBetas(cfg Config) []float64 {
	T := cfg.NumTrainTimesteps
	switch cfg.BetaSchedule {
	case ScaledLinear:
		b := linspace(math.Sqrt(cfg.BetaStart), math.Sqrt(cfg.BetaEnd), T, true)
		for i := range b {
			b[i] *= b[i]
		}
		return b
	case SquaredCos:
		// Nichol & Dhariwal's cosine schedule, diffusers' betas_for_alpha_bar.
		alphaBar := func(t float64) float64 {
			c := math.Cos((t + 0.008) / 1.008 * math.Pi / 2)
			return c * c
		}
		b := make([]float64, T)
		for i := range b {
			t1, t2 := float64(i)/float64(T), float64(i+1)/float64(T)
			b[i] = math.Min(1-alphaBar(t2)/alphaBar(t1), 0.999)
		}
		return b
	default: // Linear; Validate has refused anything else
		return linspace(cfg.BetaStart, cfg.BetaEnd, T, true)
	}
}

// Config returns the configuration the schedule was built from.
func (s *Schedule) Config() Config { return s.cfg }

// NumTrainTimesteps is T.
func (s *Schedule) NumTrainTimesteps() int { return len(s.alphasCumprod) }

// AlphaCumprod returns ᾱ_t.
func (s *Schedule) AlphaCumprod(t int) float64 { return s.alphasCumprod[t] }

// AddNoise writes z_t = √ᾱ_t·z0 + √(1−ᾱ_t)·ε into dst (which may alias z0
// or eps): the forward process used for training (OneActor tuning) and by
// the ᾱ-based samplers for img2img.
func (s *Schedule) AddNoise(dst, z0, eps []float32, t int) error {
	if err := s.checkT(t); err != nil {
		return err
	}
	if err := sameLen(dst, z0, eps); err != nil {
		return err
	}
	a := s.alphasCumprod[t]
	axpby(dst, z0, eps, math.Sqrt(a), math.Sqrt(1-a))
	return nil
}

// Target writes the training target of the model's prediction type for
// z_t = AddNoise(z0, ε, t): ε itself, or v = √ᾱ_t·ε − √(1−ᾱ_t)·z0.
func (s *Schedule) Target(dst, z0, eps []float32, t int) error {
	if err := s.checkT(t); err != nil {
		return err
	}
	if err := sameLen(dst, z0, eps); err != nil {
		return err
	}
	if s.cfg.Prediction == Epsilon {
		copy(dst, eps)
		return nil
	}
	a := s.alphasCumprod[t]
	axpby(dst, eps, z0, math.Sqrt(a), -math.Sqrt(1-a))
	return nil
}

func (s *Schedule) checkT(t int) error {
	if t < 0 || t >= len(s.alphasCumprod) {
		return fmt.Errorf("timestep %d outside [0, %d)", t, len(s.alphasCumprod))
	}
	return nil
}

// axpby sets dst[i] = a·x[i] + b·y[i], computed in float64.
func axpby(dst, x, y []float32, a, b float64) {
	for i := range dst {
		dst[i] = float32(a*float64(x[i]) + b*float64(y[i]))
	}
}

func sameLen(dst []float32, srcs ...[]float32) error {
	for _, s := range srcs {
		if len(s) != len(dst) {
			return fmt.Errorf("latent lengths differ: %d vs %d", len(s), len(dst))
		}
	}
	return nil
}
