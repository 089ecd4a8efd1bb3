package schedule

import (
	"fmt"
	"math"
)

// Kind names a sampler.
type Kind string

// The samplers this package implements.
const (
	Euler          Kind = "euler"
	EulerAncestral Kind = "euler_a"
	DDIM           Kind = "ddim"
	DPMPP2M        Kind = "dpmpp_2m"
	LCM            Kind = "lcm"
)

// Kinds lists the samplers, for menus and flag help.
var Kinds = []Kind{Euler, EulerAncestral, DDIM, DPMPP2M, LCM}

// Noise fills dst with independent standard-normal samples. The pipeline
// provides it (seeded), so that the same seed and settings give the same
// image; samplers draw from it once per step that needs noise, in step
// order, len(latents) values at a time.
type Noise interface {
	Normal(dst []float32)
}

// Options are the per-run sampler settings.
type Options struct {
	// Karras uses Karras et al. sigmas (Euler, DPM++ 2M).
	Karras bool
	// Eta is DDIM's stochasticity: 0 is deterministic DDIM, 1 is DDPM-like.
	Eta float64
	// OriginalSteps is LCM's original_inference_steps (default 50).
	OriginalSteps int
}

// Sampler runs one denoising trajectory. Use it as
//
//	x := noise · InitNoiseSigma()
//	for i, t := range Timesteps() {
//	    in := ScaleModelInput(x, i) → UNet(in, t) → out
//	    Step(i, x, out, noise)
//	}
//
// Steps must be taken in order, but may start at any index (img2img: noise
// the image with AddNoise at the first index taken). A Sampler holds
// per-trajectory state (DPM++'s previous prediction): use one per
// trajectory, or Reset it. The latents of a batch are simply one longer
// slice: every element follows the same schedule.
type Sampler interface {
	Kind() Kind
	// Timesteps are the UNet timesteps, descending; fractional for Euler
	// with Karras sigmas or linspace spacing.
	Timesteps() []float64
	// InitNoiseSigma scales unit-variance noise into the first latents.
	InitNoiseSigma() float64
	// ScaleModelInput writes the UNet input for step i into dst (dst may be
	// x): x/√(σ²+1) for the σ-based Euler samplers, x unchanged otherwise.
	ScaleModelInput(dst, x []float32, i int) error
	// Step advances x in place from step i to i+1 given the UNet output
	// (ε or v per the schedule's prediction type). It returns the model's
	// current estimate of the clean latents, for live previews; that slice
	// is owned by the sampler and valid until the next call.
	Step(i int, x, modelOut []float32, noise Noise) (denoised []float32, err error)
	// AddNoise writes the latents at step i for clean latents z0 and
	// unit-variance noise (img2img): what the trajectory would hold there.
	AddNoise(dst, z0, noise []float32, i int) error
	// Reset forgets per-trajectory state.
	Reset()
}

// NewSampler makes a sampler of the given kind for steps inference steps.
func (s *Schedule) NewSampler(kind Kind, steps int, opt Options) (Sampler, error) {
	if steps < 1 || steps > s.cfg.NumTrainTimesteps {
		return nil, fmt.Errorf("%s: %d steps outside [1, %d]", kind, steps, s.cfg.NumTrainTimesteps)
	}
	if opt.Karras && kind != Euler && kind != DPMPP2M {
		return nil, fmt.Errorf("%s: Karras sigmas are available for %s and %s only", kind, Euler, DPMPP2M)
	}
	// Leading spacing with a large offset can step past the last training
	// timestep; diffusers would index out of range there.
	T := float64(s.cfg.NumTrainTimesteps)
	for _, t := range s.spacedTimesteps(steps, kind == DPMPP2M) {
		if t < 0 || t > T-1 {
			return nil, fmt.Errorf("%s: %d steps with %s spacing and steps_offset %d give timestep %g outside [0, %g]",
				kind, steps, s.cfg.Spacing, s.cfg.StepsOffset, t, T-1)
		}
	}
	switch kind {
	case Euler:
		return s.newEuler(steps, opt.Karras, false), nil
	case EulerAncestral:
		return s.newEuler(steps, false, true), nil
	case DDIM:
		if opt.Eta < 0 || opt.Eta > 1 || math.IsNaN(opt.Eta) {
			return nil, fmt.Errorf("ddim: eta %g outside [0, 1]", opt.Eta)
		}
		return s.newDDIM(steps, opt.Eta), nil
	case DPMPP2M:
		return s.newDPMPP2M(steps, opt.Karras), nil
	case LCM:
		orig := opt.OriginalSteps
		if orig == 0 {
			orig = 50
		}
		return s.newLCM(steps, orig)
	}
	return nil, fmt.Errorf("unknown sampler %q (known: %v)", kind, Kinds)
}

// StartStep is the first step index img2img runs for a given strength in
// [0, 1] (diffusers: the last ⌊steps·strength⌋ steps are run; strength 1
// runs all, 0 runs none and returns steps).
func StartStep(steps int, strength float64) int {
	strength = math.Max(0, math.Min(1, strength))
	init := min(int(float64(steps)*strength), steps)
	return max(steps-init, 0)
}

// predictX0 returns the clean-latent estimate and the implied ε for one
// element, given √ᾱ and √(1−ᾱ) of the current step.
func predictX0(pred Prediction, x, out, sqrtA, sqrt1mA float64) (x0, eps float64) {
	if pred == VPrediction {
		return sqrtA*x - sqrt1mA*out, sqrtA*out + sqrt1mA*x
	}
	return (x - sqrt1mA*out) / sqrtA, out
}

// stepGuard is the bookkeeping every sampler shares: index range, lengths.
type stepGuard struct {
	kind Kind
	n    int
}

func (g stepGuard) check(i int, x, out []float32) error {
	if i < 0 || i >= g.n {
		return fmt.Errorf("%s: step %d outside [0, %d)", g.kind, i, g.n)
	}
	if len(x) != len(out) {
		return fmt.Errorf("%s: %d latents but %d model outputs", g.kind, len(x), len(out))
	}
	return nil
}

func (g stepGuard) Kind() Kind { return g.kind }

// buffer returns a float32 slice of length n, reusing buf when it fits.
func buffer(buf []float32, n int) []float32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]float32, n)
}

func drawNoise(kind Kind, noise Noise, buf []float32, n int) ([]float32, error) {
	if noise == nil {
		return nil, fmt.Errorf("%s: this step needs a noise source", kind)
	}
	buf = buffer(buf, n)
	noise.Normal(buf)
	return buf, nil
}
