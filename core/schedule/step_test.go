package schedule

import (
	"math"
	"strings"
	"testing"
)

// The tests below check single steps against identities derived by hand in
// float64, independent of the golden file: with a perfect model (its output
// is the true ε or v of latents built from known z0 and ε), every sampler's
// clean estimate is z0, and the deterministic samplers land exactly on the
// next point of the same noising path.

var (
	testZ0  = []float64{0.8, -1.3, 0.05, 2.2, -0.4, 1.1}
	testEps = []float64{-0.6, 0.9, 1.7, -1.2, 0.3, -2.0}
	testNz  = []float64{0.25, -0.75, 1.5, 0.1, -1.1, 0.6}
)

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

type constNoise []float64

func (c constNoise) Normal(dst []float32) { copy(dst, f32(c)) }

// perfectOutput is the model output for latents noised with √ᾱ (VP form):
// ε, or v = √ᾱ·ε − √(1−ᾱ)·z0.
func perfectOutput(pred Prediction, abar float64) []float32 {
	out := make([]float64, len(testEps))
	for k := range out {
		out[k] = testEps[k]
		if pred == VPrediction {
			out[k] = math.Sqrt(abar)*testEps[k] - math.Sqrt(1-abar)*testZ0[k]
		}
	}
	return f32(out)
}

func expectClose(t *testing.T, what string, got []float32, want func(k int) float64) {
	t.Helper()
	for k := range got {
		w := want(k)
		if math.Abs(float64(got[k])-w) > 2e-5*math.Max(1, math.Abs(w)) {
			t.Errorf("%s[%d] = %.7g, want %.7g", what, k, got[k], w)
			return
		}
	}
}

func sd1With(t *testing.T, pred Prediction) *Schedule {
	t.Helper()
	cfg := SD1Config()
	cfg.Prediction = pred
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOneStepPerfectModel(t *testing.T) {
	const steps, i = 10, 3
	for _, pred := range []Prediction{Epsilon, VPrediction} {
		s := sd1With(t, pred)
		t.Run(string(pred)+"/euler", func(t *testing.T) {
			smp, _ := s.NewSampler(Euler, steps, Options{})
			e := smp.(*eulerSampler)
			sig, next := e.sigmas[i], e.sigmas[i+1]
			x := make([]float32, len(testZ0))
			if err := smp.AddNoise(x, f32(testZ0), f32(testEps), i); err != nil {
				t.Fatal(err)
			}
			expectClose(t, "x_t", x, func(k int) float64 { return testZ0[k] + sig*testEps[k] })
			in := make([]float32, len(x))
			smp.ScaleModelInput(in, x, i)
			expectClose(t, "model input", in, func(k int) float64 {
				return (testZ0[k] + sig*testEps[k]) / math.Sqrt(sig*sig+1)
			})
			x0, err := smp.Step(i, x, perfectOutput(pred, 1/(sig*sig+1)), nil)
			if err != nil {
				t.Fatal(err)
			}
			expectClose(t, "x0", x0, func(k int) float64 { return testZ0[k] })
			expectClose(t, "x_next", x, func(k int) float64 { return testZ0[k] + next*testEps[k] })
		})
		t.Run(string(pred)+"/euler_a", func(t *testing.T) {
			smp, _ := s.NewSampler(EulerAncestral, steps, Options{})
			e := smp.(*eulerSampler)
			sig, next := e.sigmas[i], e.sigmas[i+1]
			// σ_up² + σ_down² = σ_next², with σ_up from k-diffusion.
			up := math.Sqrt(next * next * (sig*sig - next*next) / (sig * sig))
			down := math.Sqrt(next*next - up*up)
			x := make([]float32, len(testZ0))
			smp.AddNoise(x, f32(testZ0), f32(testEps), i)
			if _, err := smp.Step(i, x, perfectOutput(pred, 1/(sig*sig+1)), constNoise(testNz)); err != nil {
				t.Fatal(err)
			}
			expectClose(t, "x_next", x, func(k int) float64 { return testZ0[k] + down*testEps[k] + up*testNz[k] })
		})
		for _, eta := range []float64{0, 1} {
			t.Run(string(pred)+"/ddim", func(t *testing.T) {
				smp, _ := s.NewSampler(DDIM, steps, Options{Eta: eta})
				ts := smp.Timesteps()
				a := s.alphasCumprod[int(ts[i])]
				ap := s.alphasCumprod[int(ts[i])-1000/steps]
				x := make([]float32, len(testZ0))
				smp.AddNoise(x, f32(testZ0), f32(testEps), i)
				x0, err := smp.Step(i, x, perfectOutput(pred, a), constNoise(testNz))
				if err != nil {
					t.Fatal(err)
				}
				std := eta * math.Sqrt((1-ap)/(1-a)*(1-a/ap))
				expectClose(t, "x0", x0, func(k int) float64 { return testZ0[k] })
				expectClose(t, "x_next", x, func(k int) float64 {
					return math.Sqrt(ap)*testZ0[k] + math.Sqrt(1-ap-std*std)*testEps[k] + std*testNz[k]
				})
			})
		}
		for _, karras := range []bool{false, true} {
			t.Run(string(pred)+"/dpmpp_2m", func(t *testing.T) {
				smp, _ := s.NewSampler(DPMPP2M, steps, Options{Karras: karras})
				d := smp.(*dpmSampler)
				// Two steps: first order, then second order; with a perfect
				// model both stay on the path α·z0 + σ·ε.
				x := make([]float32, len(testZ0))
				smp.AddNoise(x, f32(testZ0), f32(testEps), i)
				for j := i; j < i+2; j++ {
					sig := d.sigmas[j]
					if _, err := smp.Step(j, x, perfectOutput(pred, 1/(sig*sig+1)), nil); err != nil {
						t.Fatal(err)
					}
					an, sn := alphaSigma(d.sigmas[j+1])
					expectClose(t, "x_next", x, func(k int) float64 { return an*testZ0[k] + sn*testEps[k] })
				}
			})
		}
		t.Run(string(pred)+"/lcm", func(t *testing.T) {
			smp, _ := s.NewSampler(LCM, 4, Options{})
			ts := smp.Timesteps()
			for _, j := range []int{1, 3} { // a middle step and the last
				st := ts[j] * 10
				cSkip := 0.25 / (st*st + 0.25)
				cOut := st / math.Sqrt(st*st+0.25)
				a := s.alphasCumprod[int(ts[j])]
				x := make([]float32, len(testZ0))
				smp.AddNoise(x, f32(testZ0), f32(testEps), j)
				den, err := smp.Step(j, x, perfectOutput(pred, a), constNoise(testNz))
				if err != nil {
					t.Fatal(err)
				}
				denW := func(k int) float64 {
					return cOut*testZ0[k] + cSkip*(math.Sqrt(a)*testZ0[k]+math.Sqrt(1-a)*testEps[k])
				}
				expectClose(t, "denoised", den, denW)
				if j == 3 {
					expectClose(t, "x_last", x, denW)
					continue
				}
				ap := s.alphasCumprod[int(ts[j+1])]
				expectClose(t, "x_next", x, func(k int) float64 {
					return math.Sqrt(ap)*denW(k) + math.Sqrt(1-ap)*testNz[k]
				})
			}
		})
	}
}

func TestTrainingAddNoiseAndTarget(t *testing.T) {
	for _, pred := range []Prediction{Epsilon, VPrediction} {
		s := sd1With(t, pred)
		const ts = 517
		a := s.AlphaCumprod(ts)
		zt := make([]float32, len(testZ0))
		if err := s.AddNoise(zt, f32(testZ0), f32(testEps), ts); err != nil {
			t.Fatal(err)
		}
		expectClose(t, "z_t", zt, func(k int) float64 { return math.Sqrt(a)*testZ0[k] + math.Sqrt(1-a)*testEps[k] })
		tgt := make([]float32, len(testZ0))
		if err := s.Target(tgt, f32(testZ0), f32(testEps), ts); err != nil {
			t.Fatal(err)
		}
		want := perfectOutput(pred, a)
		expectClose(t, "target", tgt, func(k int) float64 { return float64(want[k]) })
	}
	s := sd1With(t, Epsilon)
	if err := s.AddNoise(make([]float32, 6), f32(testZ0), f32(testEps), 1000); err == nil {
		t.Error("t = 1000 accepted")
	}
	if err := s.AddNoise(make([]float32, 5), f32(testZ0), f32(testEps), 10); err == nil {
		t.Error("length mismatch accepted")
	}
}

func TestDPMResetRestartsFirstOrder(t *testing.T) {
	s := sd1With(t, Epsilon)
	run := func(smp Sampler) []float32 {
		x := f32(testZ0)
		for i := range 3 {
			out := make([]float32, len(x))
			for k := range x {
				out[k] = 0.3*x[k] + float32(i)*0.1
			}
			if _, err := smp.Step(i, x, out, nil); err != nil {
				t.Fatal(err)
			}
		}
		return x
	}
	smp, _ := s.NewSampler(DPMPP2M, 5, Options{})
	first := run(smp)
	smp.Reset()
	again := run(smp)
	fresh, _ := s.NewSampler(DPMPP2M, 5, Options{})
	other := run(fresh)
	for k := range first {
		if first[k] != again[k] || first[k] != other[k] {
			t.Fatalf("after Reset %v, fresh %v, first %v", again, other, first)
		}
	}
}

func TestTrailingSpacingRoundsHalfToEven(t *testing.T) {
	cfg := SD1Config()
	cfg.Spacing = Trailing
	s, _ := New(cfg)
	smp, err := s.NewSampler(Euler, 16, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// 1000 − 62.5k, numpy-rounded (937.5 → 938, 812.5 → 812), minus 1.
	want := []float64{999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61}
	got := smp.Timesteps()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("timesteps = %v, want %v", got, want)
		}
	}
}

func TestStartStep(t *testing.T) {
	for _, c := range []struct {
		steps    int
		strength float64
		want     int
	}{{30, 0.75, 8}, {30, 1, 0}, {30, 0, 30}, {20, 0.5, 10}, {10, 1.5, 0}, {7, 0.3, 5}} {
		if got := StartStep(c.steps, c.strength); got != c.want {
			t.Errorf("StartStep(%d, %g) = %d, want %d", c.steps, c.strength, got, c.want)
		}
	}
}

func TestSamplerErrors(t *testing.T) {
	s := sd1With(t, Epsilon)
	bad := []struct {
		kind  Kind
		steps int
		opt   Options
		msg   string
	}{
		{"heun", 10, Options{}, "unknown sampler"},
		{DDIM, 10, Options{Karras: true}, "Karras"},
		{DDIM, 10, Options{Eta: 2}, "eta"},
		{LCM, 51, Options{}, "distilled"},
		{Euler, 0, Options{}, "steps"},
		{Euler, 1000, Options{}, "timestep 1000"}, // leading + steps_offset 1
	}
	for _, b := range bad {
		if _, err := s.NewSampler(b.kind, b.steps, b.opt); err == nil || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("NewSampler(%s, %d, %+v) error %v, want one mentioning %q", b.kind, b.steps, b.opt, err, b.msg)
		}
	}
	for _, k := range []Kind{EulerAncestral, LCM} {
		smp, _ := s.NewSampler(k, 4, Options{})
		x := f32(testZ0)
		if _, err := smp.Step(0, x, f32(testEps), nil); err == nil || !strings.Contains(err.Error(), "noise") {
			t.Errorf("%s without noise: %v", k, err)
		}
	}
	smp, _ := s.NewSampler(Euler, 4, Options{})
	if _, err := smp.Step(4, f32(testZ0), f32(testEps), nil); err == nil {
		t.Error("step 4 of 4 accepted")
	}
	if _, err := smp.Step(0, f32(testZ0), f32(testEps[:3]), nil); err == nil {
		t.Error("length mismatch accepted")
	}
}
