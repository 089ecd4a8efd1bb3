// Package schedule holds the diffusion noise schedule and the samplers that
// walk it: Euler, Euler ancestral, DDIM, DPM++ 2M (optionally with Karras
// sigmas) and LCM, with the timestep spacings of diffusers. Formulas follow
// diffusers 0.27 (the reference the goldens in testdata/toyworld come from);
// schedule tables are computed in float64, latents are float32.
package schedule

import (
	"encoding/json"
	"fmt"
	"os"
)

// Prediction is what the UNet outputs.
type Prediction string

// Prediction types of diffusers' scheduler_config.json.
const (
	Epsilon     Prediction = "epsilon"      // the added noise (SD 1.x, SD 2.x base)
	VPrediction Prediction = "v_prediction" // v = √ᾱ·ε − √(1−ᾱ)·x0 (SD 2.x 768)
)

// Spacing says how inference timesteps are picked from the training ones.
type Spacing string

// Timestep spacings of diffusers (see "Common Diffusion Noise Schedules and
// Sample Steps are Flawed", table 2).
const (
	Leading  Spacing = "leading"
	Trailing Spacing = "trailing"
	Linspace Spacing = "linspace"
)

// Beta schedules.
const (
	ScaledLinear = "scaled_linear"
	Linear       = "linear"
	SquaredCos   = "squaredcos_cap_v2"
)

// Config is the subset of diffusers' scheduler_config.json the samplers use.
type Config struct {
	NumTrainTimesteps int
	BetaStart         float64
	BetaEnd           float64
	BetaSchedule      string
	TrainedBetas      []float64 // when set, replaces the beta schedule
	Prediction        Prediction
	Spacing           Spacing
	StepsOffset       int
	// SetAlphaToOne: DDIM's ᾱ after the last step is 1 (else ᾱ_0).
	SetAlphaToOne   bool
	ClipSample      bool
	ClipSampleRange float64
	// UseKarrasSigmas is the folder's own preference; samplers take theirs
	// from Options.
	UseKarrasSigmas bool
}

// SD1Config is the Stable Diffusion 1.x schedule (scheduler_config.json of
// runwayml/stable-diffusion-v1-5 and of the ToyWorld models).
func SD1Config() Config {
	return Config{
		NumTrainTimesteps: 1000, BetaStart: 0.00085, BetaEnd: 0.012, BetaSchedule: ScaledLinear,
		Prediction: Epsilon, Spacing: Leading, StepsOffset: 1, ClipSampleRange: 1,
	}
}

// rawConfig mirrors the JSON; pointers tell "absent" from zero.
type rawConfig struct {
	NumTrainTimesteps *int      `json:"num_train_timesteps"`
	BetaStart         *float64  `json:"beta_start"`
	BetaEnd           *float64  `json:"beta_end"`
	BetaSchedule      *string   `json:"beta_schedule"`
	TrainedBetas      []float64 `json:"trained_betas"`
	PredictionType    *string   `json:"prediction_type"`
	TimestepSpacing   *string   `json:"timestep_spacing"`
	StepsOffset       *int      `json:"steps_offset"`
	SetAlphaToOne     *bool     `json:"set_alpha_to_one"`
	ClipSample        *bool     `json:"clip_sample"`
	ClipSampleRange   *float64  `json:"clip_sample_range"`
	UseKarrasSigmas   *bool     `json:"use_karras_sigmas"`
	RescaleZeroSNR    *bool     `json:"rescale_betas_zero_snr"`
	Thresholding      *bool     `json:"thresholding"`
	TimestepType      *string   `json:"timestep_type"`
	InterpolationType *string   `json:"interpolation_type"`
}

// ParseConfig reads a diffusers scheduler_config.json. Fields it lacks take
// diffusers' class defaults, except timestep_spacing, which defaults to
// "leading": SD 1.x folders ship a PNDMScheduler config without the field,
// and diffusers carries PNDM's "leading" over when it switches samplers.
func ParseConfig(data []byte) (Config, error) {
	var r rawConfig
	if err := json.Unmarshal(data, &r); err != nil {
		return Config{}, fmt.Errorf("parsing scheduler config: %w", err)
	}
	c := Config{
		NumTrainTimesteps: 1000, BetaStart: 0.0001, BetaEnd: 0.02, BetaSchedule: Linear,
		Prediction: Epsilon, Spacing: Leading, ClipSampleRange: 1,
		TrainedBetas: r.TrainedBetas,
	}
	setInt(&c.NumTrainTimesteps, r.NumTrainTimesteps)
	setInt(&c.StepsOffset, r.StepsOffset)
	setFloat(&c.BetaStart, r.BetaStart)
	setFloat(&c.BetaEnd, r.BetaEnd)
	setFloat(&c.ClipSampleRange, r.ClipSampleRange)
	setBool(&c.SetAlphaToOne, r.SetAlphaToOne)
	setBool(&c.ClipSample, r.ClipSample)
	setBool(&c.UseKarrasSigmas, r.UseKarrasSigmas)
	if r.BetaSchedule != nil {
		c.BetaSchedule = *r.BetaSchedule
	}
	if r.PredictionType != nil {
		c.Prediction = Prediction(*r.PredictionType)
	}
	if r.TimestepSpacing != nil {
		c.Spacing = Spacing(*r.TimestepSpacing)
	}
	// Options that change the math in ways this package does not implement
	// are refused by name rather than silently ignored.
	if r.RescaleZeroSNR != nil && *r.RescaleZeroSNR {
		return c, fmt.Errorf("scheduler config: rescale_betas_zero_snr is not supported yet")
	}
	if r.Thresholding != nil && *r.Thresholding {
		return c, fmt.Errorf("scheduler config: dynamic thresholding is not supported yet")
	}
	if r.TimestepType != nil && *r.TimestepType != "discrete" {
		return c, fmt.Errorf("scheduler config: timestep_type %q is not supported", *r.TimestepType)
	}
	if r.InterpolationType != nil && *r.InterpolationType != "linear" {
		return c, fmt.Errorf("scheduler config: interpolation_type %q is not supported", *r.InterpolationType)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("scheduler config: %w", err)
	}
	return c, nil
}

// LoadConfig reads scheduler_config.json from disk.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading scheduler config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Validate checks the values the samplers rely on.
func (c Config) Validate() error {
	if c.NumTrainTimesteps < 2 {
		return fmt.Errorf("num_train_timesteps %d < 2", c.NumTrainTimesteps)
	}
	if c.TrainedBetas != nil {
		if len(c.TrainedBetas) != c.NumTrainTimesteps {
			return fmt.Errorf("trained_betas has %d values for %d timesteps", len(c.TrainedBetas), c.NumTrainTimesteps)
		}
	} else {
		switch c.BetaSchedule {
		case ScaledLinear, Linear, SquaredCos:
		default:
			return fmt.Errorf("beta_schedule %q is not supported (want %s, %s or %s)", c.BetaSchedule, ScaledLinear, Linear, SquaredCos)
		}
		if c.BetaSchedule != SquaredCos && !(c.BetaStart > 0 && c.BetaEnd > 0 && c.BetaStart < 1 && c.BetaEnd < 1) {
			return fmt.Errorf("beta_start %g / beta_end %g out of (0, 1)", c.BetaStart, c.BetaEnd)
		}
	}
	switch c.Prediction {
	case Epsilon, VPrediction:
	default:
		return fmt.Errorf("prediction_type %q is not supported (want %s or %s)", c.Prediction, Epsilon, VPrediction)
	}
	switch c.Spacing {
	case Leading, Trailing, Linspace:
	default:
		return fmt.Errorf("timestep_spacing %q is not supported (want leading, trailing or linspace)", c.Spacing)
	}
	if c.StepsOffset < 0 || c.StepsOffset >= c.NumTrainTimesteps {
		return fmt.Errorf("steps_offset %d out of range", c.StepsOffset)
	}
	return nil
}

func setInt(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

func setFloat(dst *float64, v *float64) {
	if v != nil {
		*dst = *v
	}
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}
