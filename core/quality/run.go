package quality

import (
	"context"
	"fmt"
	"image"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/oneactor/oneactor-desktop/core/control"
	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/schedule"
)

// Runner generates a benchmark's cases with an engine and judges them.
type Runner struct {
	Engine *diffusion.Engine
	Judge  *Judge
	Bench  *Benchmark
	// Noise, when set, gives every seed the reference's initial noise;
	// nil draws it with the engine's RNG from the same seed numbers.
	Noise *NoiseBank
	// Limit, when > 0, runs only the first Limit cases of each part (a
	// quick check, not the benchmark).
	Limit int
	// Log receives one line per finished part (may be nil).
	Log func(format string, args ...any)
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		r.Log(format, args...)
	}
}

func (r *Runner) limit(n int) int {
	if r.Limit > 0 && r.Limit < n {
		return r.Limit
	}
	return n
}

// request is the benchmark's sampling settings for prompt and the seeds
// (consecutive seeds share one request: image k of a batch uses seed+k).
func (r *Runner) request(prompt string, seeds []uint64) (diffusion.Request, error) {
	s := r.Bench.Settings
	kind, karras, err := schedule.ParseDisplayName(s.Sampler, "")
	if err != nil {
		return diffusion.Request{}, fmt.Errorf("benchmark sampler: %w", err)
	}
	for i := 1; i < len(seeds); i++ {
		if seeds[i] != seeds[0]+uint64(i) {
			return diffusion.Request{}, fmt.Errorf("seeds %v are not consecutive", seeds)
		}
	}
	return diffusion.Request{Prompt: prompt, Steps: s.Steps, CFG: s.CFG, Sampler: kind,
		SamplerOptions: schedule.Options{Karras: karras}, Seed: seeds[0], N: len(seeds),
		Width: r.Bench.Resolution, Height: r.Bench.Resolution, Noise: r.Noise.For(seeds...)}, nil
}

func (r *Runner) generate(ctx context.Context, req diffusion.Request) ([]image.Image, error) {
	res, err := r.Engine.Generate(ctx, req, nil)
	if err != nil {
		return nil, fmt.Errorf("generate %q: %w", req.Prompt, err)
	}
	out := make([]image.Image, len(res.Images))
	for i, im := range res.Images {
		out[i] = im
	}
	return out, nil
}

// GenerationFigures are scene fidelity and attribute honour over the
// benchmark's generation cases.
type GenerationFigures struct {
	N                     int                 `json:"n"`
	SceneFidelity         float64             `json:"scene_fidelity"`
	AttributeHonour       map[string]*float64 `json:"attribute_honour"`
	AttributeHonourCounts map[string]int      `json:"attribute_honour_counts"`
}

// Generation generates every generation case (one picture each) and
// judges scene fidelity and the honour of each named attribute.
func (r *Runner) Generation(ctx context.Context) (*GenerationFigures, error) {
	cases := r.Bench.Generation.Cases[:r.limit(len(r.Bench.Generation.Cases))]
	imgs := make([]image.Image, 0, len(cases))
	for _, c := range cases {
		req, err := r.request(c.Prompt, []uint64{c.Seed})
		if err != nil {
			return nil, err
		}
		im, err := r.generate(ctx, req)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, im...)
	}
	vs, err := r.Judge.Judge(ctx, imgs)
	if err != nil {
		return nil, err
	}
	f := &GenerationFigures{N: len(cases), AttributeHonour: map[string]*float64{}, AttributeHonourCounts: map[string]int{}}
	hits := map[string]int{}
	scene := 0
	for i, c := range cases {
		if vs[i].Scene == c.Scene {
			scene++
		}
		for a, want := range c.Named {
			f.AttributeHonourCounts[a]++
			if vs[i].Attributes[a] == want {
				hits[a]++
			}
		}
	}
	f.SceneFidelity = frac(scene, len(cases))
	for _, a := range r.Judge.Attributes() {
		if n := f.AttributeHonourCounts[a]; n > 0 {
			v := frac(hits[a], n)
			f.AttributeHonour[a] = &v
		} else {
			f.AttributeHonour[a] = nil
		}
	}
	r.logf("generation: %d cases, scene fidelity %.3f", len(cases), f.SceneFidelity)
	return f, nil
}

// DiversityFigures count distinct judged identities among the seeds of
// each base prompt.
type DiversityFigures struct {
	PerPrompt map[string]int `json:"per_prompt"`
	Min       int            `json:"min"`
	Mean      float64        `json:"mean"`
	Seeds     int            `json:"seeds"`
}

// Diversity generates each diversity prompt at every diversity seed.
func (r *Runner) Diversity(ctx context.Context) (*DiversityFigures, error) {
	g := r.Bench.Generation
	prompts := g.DiversityPrompts[:r.limit(len(g.DiversityPrompts))]
	f := &DiversityFigures{PerPrompt: map[string]int{}, Seeds: len(g.DiversitySeeds), Min: math.MaxInt}
	for _, p := range prompts {
		req, err := r.request(p, g.DiversitySeeds)
		if err != nil {
			return nil, err
		}
		imgs, err := r.generate(ctx, req)
		if err != nil {
			return nil, err
		}
		vs, err := r.Judge.Judge(ctx, imgs)
		if err != nil {
			return nil, err
		}
		ids := map[string]bool{}
		for _, v := range vs {
			ids[v.Identity(r.Judge.Attributes())] = true
		}
		f.PerPrompt[p] = len(ids)
		f.Min = min(f.Min, len(ids))
		f.Mean += float64(len(ids)) / float64(len(prompts))
	}
	r.logf("diversity: min %d, mean %.2f distinct identities over %d seeds", f.Min, f.Mean, f.Seeds)
	return f, nil
}

// ControlFigures are the judged pose error with the ControlNet, and
// without it (same prompts and seeds) for scale.
type ControlFigures struct {
	N                       int     `json:"n"`
	Scale                   float64 `json:"scale"`
	PoseErrorMedianPct      float64 `json:"pose_error_median_pct"`
	PoseErrorMedianPctPlain float64 `json:"pose_error_median_pct_without_control"`
}

// ControlNet generates every ControlNet case with its skeleton (drawn by
// core/control at the generation size) at the benchmark's scale and with
// the ControlNet off, and reports the median keypoint error in % of width.
func (r *Runner) ControlNet(ctx context.Context) (*ControlFigures, error) {
	cn := r.Bench.ControlNet
	cases := cn.Cases[:r.limit(len(cn.Cases))]
	size := r.Bench.Resolution
	var with, without []float64
	for _, c := range cases {
		if len(c.Keypoints) != control.NumKeypoints {
			return nil, fmt.Errorf("ControlNet case %q has %d keypoints, want %d", c.Prompt, len(c.Keypoints), control.NumKeypoints)
		}
		pose, err := control.NewPose(size, size)
		if err != nil {
			return nil, err
		}
		var person control.Person
		for k, p := range c.Keypoints {
			person.Keypoints[k] = control.Point{X: p[0], Y: p[1], Present: true}
		}
		pose.People = []control.Person{person}
		cond, err := control.PoseTensor(pose, size, size)
		if err != nil {
			return nil, err
		}
		req, err := r.request(c.Prompt, []uint64{c.Seed})
		if err != nil {
			return nil, err
		}
		for _, on := range []bool{true, false} {
			q := req
			if on {
				q.Control = &diffusion.Control{Image: cond, Scale: cn.Scale, Start: 0, End: 1}
			}
			imgs, err := r.generate(ctx, q)
			if err != nil {
				return nil, err
			}
			vs, err := r.Judge.Judge(ctx, imgs)
			if err != nil {
				return nil, err
			}
			for k, p := range c.Keypoints {
				d := math.Hypot(vs[0].Keypoints[k][0]-p[0], vs[0].Keypoints[k][1]-p[1]) / float64(size) * 100
				if on {
					with = append(with, d)
				} else {
					without = append(without, d)
				}
			}
		}
	}
	f := &ControlFigures{N: len(cases), Scale: cn.Scale, PoseErrorMedianPct: median(with), PoseErrorMedianPctPlain: median(without)}
	r.logf("controlnet: %d cases, median pose error %.2f%% (%.2f%% without control)", f.N, f.PoseErrorMedianPct, f.PoseErrorMedianPctPlain)
	return f, nil
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// since is time.Since in seconds.
func since(t time.Time) float64 { return time.Since(t).Seconds() }
