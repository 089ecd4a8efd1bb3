package schedule

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// schedulers_golden.json comes from tools/toyworld/schedulers.py, an
// independent float64 numpy implementation of the diffusers formulas.
var goldenPath = filepath.Join("..", "..", "testdata", "toyworld", "schedulers_golden.json")

type goldenCase struct {
	Scheduler   Kind      `json:"scheduler"`
	Spacing     Spacing   `json:"spacing"`
	Steps       int       `json:"steps"`
	Karras      bool      `json:"karras"`
	StepsOffset *int      `json:"steps_offset"`
	Timesteps   []float64 `json:"timesteps"`
	Sigmas      []float64 `json:"sigmas"`
	InitNoise   float64   `json:"init_noise_sigma"`
	SigmaUp     []float64 `json:"sigma_up"`
	SigmaDown   []float64 `json:"sigma_down"`
	PrevT       []float64 `json:"prev_timesteps"`
	AlphaT      []float64 `json:"alpha_prod_t"`
	AlphaPrev   []float64 `json:"alpha_prod_t_prev"`
	CSkip       []float64 `json:"c_skip"`
	COut        []float64 `json:"c_out"`
}

type goldenRun struct {
	Scheduler Kind        `json:"scheduler"`
	Karras    bool        `json:"karras"`
	Steps     int         `json:"steps"`
	Spacing   Spacing     `json:"spacing"`
	Noises    [][]float64 `json:"noises"`
	Result    []float64   `json:"result"`
}

type goldenFile struct {
	AlphasCumprod []float64    `json:"alphas_cumprod"`
	Cases         []goldenCase `json:"cases"`
	Synthetic     struct {
		XT   []float64   `json:"x_T"`
		Runs []goldenRun `json:"runs"`
	} `json:"synthetic_sampling"`
}

func loadGolden(t *testing.T) goldenFile {
	t.Helper()
	b, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 || len(g.Synthetic.Runs) == 0 || len(g.AlphasCumprod) != 1000 {
		t.Fatal("golden file is missing cases")
	}
	return g
}

// closeRel is the acceptance bound: 1e-6 relative (absolute near zero).
func closeRel(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)+1e-12
}

func compare(t *testing.T, name string, got, want []float64, rel float64) {
	t.Helper()
	if want == nil {
		return
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", name, len(got), len(want))
		return
	}
	for i := range want {
		if !closeRel(got[i], want[i], rel) {
			t.Errorf("%s[%d] = %.17g, want %.17g", name, i, got[i], want[i])
			return
		}
	}
}

func sd1(t *testing.T, spacing Spacing, offset int) *Schedule {
	t.Helper()
	cfg := SD1Config()
	cfg.Spacing = spacing
	cfg.StepsOffset = offset
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGoldenAlphasCumprod(t *testing.T) {
	g := loadGolden(t)
	s := sd1(t, Leading, 1)
	compare(t, "alphas_cumprod", s.alphasCumprod, g.AlphasCumprod, 1e-12)
}

func TestGoldenSchedules(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Cases {
		offset := 1
		if c.StepsOffset != nil {
			offset = *c.StepsOffset
		}
		name := fmt.Sprintf("%s/%s/%d/karras=%v/offset=%d", c.Scheduler, c.Spacing, c.Steps, c.Karras, offset)
		t.Run(name, func(t *testing.T) {
			s := sd1(t, c.Spacing, offset)
			smp, err := s.NewSampler(c.Scheduler, c.Steps, Options{Karras: c.Karras})
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "timesteps", smp.Timesteps(), c.Timesteps, 1e-6)
			if !closeRel(smp.InitNoiseSigma(), c.InitNoise, 1e-6) {
				t.Errorf("init_noise_sigma = %.17g, want %.17g", smp.InitNoiseSigma(), c.InitNoise)
			}
			switch x := smp.(type) {
			case *eulerSampler:
				compare(t, "sigmas", x.sigmas, c.Sigmas, 1e-6)
				compare(t, "sigma_up", x.sigmaUp, c.SigmaUp, 1e-6)
				compare(t, "sigma_down", x.sigmaDown, c.SigmaDown, 1e-6)
			case *dpmSampler:
				compare(t, "sigmas", x.sigmas, c.Sigmas, 1e-6)
			case *ddimSampler:
				compare(t, "prev_timesteps", x.prevT, c.PrevT, 1e-6)
				compare(t, "alpha_prod_t", x.alphaT, c.AlphaT, 1e-6)
				compare(t, "alpha_prod_t_prev", x.alphaPrev, c.AlphaPrev, 1e-6)
			case *lcmSampler:
				compare(t, "c_skip", x.cSkip, c.CSkip, 1e-6)
				compare(t, "c_out", x.cOut, c.COut, 1e-6)
				compare(t, "alpha_prod_t", x.alphaT, c.AlphaT, 1e-6)
				compare(t, "alpha_prod_t_prev", x.alphaPrev, c.AlphaPrev, 1e-6)
			default:
				t.Fatalf("unexpected sampler type %T", smp)
			}
		})
	}
}

// listNoise hands out pre-drawn noise vectors in order.
type listNoise struct {
	vecs [][]float64
	next int
}

func (l *listNoise) Normal(dst []float32) {
	v := l.vecs[l.next]
	l.next++
	for i := range dst {
		dst[i] = float32(v[i])
	}
}

// TestGoldenSyntheticSampling runs every sampler end to end with the
// golden's toy model ε(x_in, t) = 0.2·x_in + 0.1·sin(t/100) and compares
// the final latents. Latents are float32 here and float64 in the
// reference, hence the looser bound.
func TestGoldenSyntheticSampling(t *testing.T) {
	g := loadGolden(t)
	for _, r := range g.Synthetic.Runs {
		t.Run(fmt.Sprintf("%s/%d/karras=%v", r.Scheduler, r.Steps, r.Karras), func(t *testing.T) {
			s := sd1(t, r.Spacing, 1)
			smp, err := s.NewSampler(r.Scheduler, r.Steps, Options{Karras: r.Karras})
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float32, len(g.Synthetic.XT))
			for i, v := range g.Synthetic.XT {
				x[i] = float32(v * smp.InitNoiseSigma())
			}
			noise := &listNoise{vecs: r.Noises}
			in := make([]float32, len(x))
			out := make([]float32, len(x))
			for i, ts := range smp.Timesteps() {
				if err := smp.ScaleModelInput(in, x, i); err != nil {
					t.Fatal(err)
				}
				for k := range in {
					out[k] = float32(0.2*float64(in[k]) + 0.1*math.Sin(ts/100))
				}
				if _, err := smp.Step(i, x, out, noise); err != nil {
					t.Fatal(err)
				}
			}
			got := make([]float64, len(x))
			for i, v := range x {
				got[i] = float64(v)
			}
			for i := range got {
				if math.Abs(got[i]-r.Result[i]) > 1e-5*math.Abs(r.Result[i])+1e-5 {
					t.Errorf("result[%d] = %.9g, want %.9g", i, got[i], r.Result[i])
				}
			}
		})
	}
}
