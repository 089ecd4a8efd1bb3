package schedule

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSD15Config(t *testing.T) {
	// runwayml/stable-diffusion-v1-5 scheduler/scheduler_config.json
	c, err := ParseConfig([]byte(`{"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0",
		"beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
		"num_train_timesteps": 1000, "set_alpha_to_one": false, "skip_prk_steps": true,
		"steps_offset": 1, "trained_betas": null, "clip_sample": false}`))
	if err != nil {
		t.Fatal(err)
	}
	want := SD1Config()
	if c.BetaStart != want.BetaStart || c.BetaEnd != want.BetaEnd || c.BetaSchedule != want.BetaSchedule ||
		c.NumTrainTimesteps != 1000 || c.StepsOffset != 1 || c.Spacing != Leading || c.Prediction != Epsilon ||
		c.SetAlphaToOne || c.ClipSample || c.TrainedBetas != nil {
		t.Fatalf("parsed %+v", c)
	}
}

func TestParseSD2VPredictionConfig(t *testing.T) {
	// stabilityai/stable-diffusion-2-1 (768, v-prediction)
	c, err := ParseConfig([]byte(`{"_class_name": "DDIMScheduler", "beta_end": 0.012,
		"beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false,
		"num_train_timesteps": 1000, "prediction_type": "v_prediction", "set_alpha_to_one": false,
		"skip_prk_steps": true, "steps_offset": 1, "trained_betas": null, "timestep_spacing": "trailing"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Prediction != VPrediction || c.Spacing != Trailing {
		t.Fatalf("parsed %+v", c)
	}
}

func TestParseToyWorldConfig(t *testing.T) {
	// What tools/toyworld/export.py writes into every exported model folder.
	c, err := ParseConfig([]byte(`{"_class_name": "PNDMScheduler", "beta_start": 0.00085, "beta_end": 0.012,
		"beta_schedule": "scaled_linear", "num_train_timesteps": 1000, "prediction_type": "epsilon",
		"set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, "clip_sample": false,
		"timestep_spacing": "leading", "trained_betas": null}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.BetaSchedule != SD1Config().BetaSchedule || c.StepsOffset != 1 || c.Spacing != Leading {
		t.Fatalf("parsed %+v", c)
	}
}

func TestParseConfigDefaultsAndErrors(t *testing.T) {
	c, err := ParseConfig([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.BetaSchedule != Linear || c.BetaStart != 0.0001 || c.BetaEnd != 0.02 || c.StepsOffset != 0 || c.Spacing != Leading {
		t.Fatalf("defaults %+v", c)
	}
	for _, bad := range []struct{ json, msg string }{
		{`{"beta_schedule": "sigmoid"}`, "beta_schedule"},
		{`{"prediction_type": "sample"}`, "prediction_type"},
		{`{"timestep_spacing": "uniform"}`, "timestep_spacing"},
		{`{"rescale_betas_zero_snr": true}`, "rescale_betas_zero_snr"},
		{`{"trained_betas": [0.1, 0.2]}`, "trained_betas"},
		{`{"num_train_timesteps": "x"}`, "parsing"},
		{`{"steps_offset": -1}`, "steps_offset"},
	} {
		if _, err := ParseConfig([]byte(bad.json)); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("ParseConfig(%s) error %v, want one mentioning %q", bad.json, err, bad.msg)
		}
	}
	p := filepath.Join(t.TempDir(), "scheduler_config.json")
	os.WriteFile(p, []byte(`{"beta_schedule": "nope"}`), 0o644)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("LoadConfig error %v should name the file", err)
	}
}

func TestBetaSchedules(t *testing.T) {
	lin, err := New(Config{NumTrainTimesteps: 1000, BetaStart: 0.0001, BetaEnd: 0.02, BetaSchedule: Linear,
		Prediction: Epsilon, Spacing: Leading})
	if err != nil {
		t.Fatal(err)
	}
	// ᾱ_t = Π (1 − β_i), β linear from 1e-4 to 2e-2.
	want := 1.0
	for i := range 1000 {
		want *= 1 - (0.0001 + float64(i)*(0.02-0.0001)/999)
	}
	if got := lin.AlphaCumprod(999); math.Abs(got-want) > 1e-12 {
		t.Errorf("linear ᾱ_999 = %g, want %g", got, want)
	}
	cos, err := New(Config{NumTrainTimesteps: 1000, BetaSchedule: SquaredCos, Prediction: Epsilon, Spacing: Leading})
	if err != nil {
		t.Fatal(err)
	}
	// Without the 0.999 cap, ᾱ_t telescopes to f((t+1)/T)/f(0).
	f := func(x float64) float64 { c := math.Cos((x + 0.008) / 1.008 * math.Pi / 2); return c * c }
	if got, want := cos.AlphaCumprod(500), f(501.0/1000)/f(0); math.Abs(got-want) > 1e-9 {
		t.Errorf("cosine ᾱ_500 = %g, want %g", got, want)
	}
	tb := make([]float64, 10)
	for i := range tb {
		tb[i] = 0.1
	}
	tr, err := New(Config{NumTrainTimesteps: 10, TrainedBetas: tb, Prediction: Epsilon, Spacing: Leading})
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.AlphaCumprod(9); math.Abs(got-math.Pow(0.9, 10)) > 1e-12 {
		t.Errorf("trained betas ᾱ_9 = %g", got)
	}
}
