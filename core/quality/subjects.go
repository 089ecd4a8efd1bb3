package quality

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/oneactor/oneactor-desktop/core/control"
	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/oneactor"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// VariantFigures are one way of drawing the targets, judged.
type VariantFigures struct {
	// Consistency is the fraction of pictures whose judged identity equals
	// the target's on every attribute; Agreement the mean per attribute.
	Consistency float64 `json:"consistency"`
	Agreement   float64 `json:"agreement"`
	Scene       float64 `json:"scene"`
	// PoseSpreadPct is the mean distance of a picture's judged body centre
	// (neck) from the mean over the seeds of the same target and scene, in %
	// of the width: 0 would mean every seed drew the same picture.
	PoseSpreadPct float64 `json:"pose_spread_pct"`
	// SecondsPerBatch is the mean wall time of one request (all seeds of a
	// scene prompt).
	SecondsPerBatch float64 `json:"seconds_per_batch"`
}

// SubjectFigures compare OneActor with the plain base prompt, the
// textual-inversion ablation and OneActor with η2 = 0.
type SubjectFigures struct {
	Base                 VariantFigures `json:"base"`
	OneActor             VariantFigures `json:"oneactor"`
	Eta2Zero             VariantFigures `json:"oneactor_eta2_0"`
	Inversion            VariantFigures `json:"textual_inversion"`
	TuneSecondsMean      float64        `json:"tune_seconds_mean"`
	InversionSecondsMean float64        `json:"inversion_seconds_mean"`
	TuneSteps            int            `json:"tune_steps"`
	// CostEta2Zero and CostEta2 are OneActor's sampling time over plain
	// sampling's (same prompts, seeds and steps) — indicative only: the
	// base prompt is drawn once before the variants, so background load
	// biases them; `bench generate --guidance` measures the cost properly.
	CostEta2Zero float64        `json:"cost_eta2_0_vs_plain"`
	CostEta2     float64        `json:"cost_eta2_vs_plain"`
	N            map[string]int `json:"n"`
}

// SubjectOptions size the OneActor benchmark.
type SubjectOptions struct {
	Runtime  *ort.Runtime
	CacheDir string // compiled gradient and h models
	Targets  int    // 0: all of the benchmark's
	Scenes   int    // 0: all
	Seeds    int    // 0: all
	Steps    int    // tuning steps; 0: the benchmark's
	Progress func(target int, phase string, step, total int)
}

// Subjects runs the OneActor benchmark: each target picture is imported as
// a subject (auxiliaries from the base prompt, as the reference does),
// tuned, and drawn in every scene prompt at every seed by OneActor, by
// OneActor with η2 = 0, and by a textual-inversion offset learnt with the
// same machinery and steps; the base prompt alone is the baseline.
func (r *Runner) Subjects(ctx context.Context, o SubjectOptions) (*SubjectFigures, error) {
	b := r.Bench
	e := r.Engine
	targets := b.Subject.Targets
	if o.Targets > 0 && o.Targets < len(targets) {
		targets = targets[:o.Targets]
	}
	scenes := b.Subject.ScenePrompts
	if o.Scenes > 0 && o.Scenes < len(scenes) {
		scenes = scenes[:o.Scenes]
	}
	seeds := b.Subject.Seeds
	if o.Seeds > 0 && o.Seeds < len(seeds) {
		seeds = seeds[:o.Seeds]
	}
	steps := b.Settings.OneActor.TuneSteps
	if o.Steps > 0 {
		steps = o.Steps
	}
	progress := func(t int, phase string, s, n int) {
		if o.Progress != nil {
			o.Progress(t, phase, s, n)
		}
	}
	caster, err := oneactor.NewCaster(ctx, o.Runtime, e, o.CacheDir)
	if err != nil {
		return nil, err
	}
	// Auxiliaries: the reference's ten base-prompt pictures (seeds 300…).
	nAux := b.Settings.OneActor.NAux
	if nAux <= 0 {
		nAux = oneactor.DefaultAux
	}
	auxSeeds := make([]uint64, nAux)
	for i := range auxSeeds {
		auxSeeds[i] = 300 + uint64(i)
	}
	cands, err := caster.CandidatesFrom(ctx, b.BasePrompt, auxSeeds[0], nAux, r.Noise.For(auxSeeds...), nil)
	if err != nil {
		return nil, fmt.Errorf("auxiliaries: %w", err)
	}
	var aux []oneactor.Sample
	for _, c := range cands {
		aux = append(aux, c.Sample)
	}

	// The base prompt does not depend on the target: draw it once.
	type drawn struct {
		vs      []Verdict
		seconds float64
	}
	draw := func(prompt string, g func(diffusion.Embeddings) (diffusion.Guider, error)) (drawn, error) {
		req, err := r.request(prompt, seeds)
		if err != nil {
			return drawn{}, err
		}
		req.Guidance = g
		t0 := time.Now()
		imgs, err := r.generate(ctx, req)
		if err != nil {
			return drawn{}, err
		}
		sec := since(t0)
		vs, err := r.Judge.Judge(ctx, imgs)
		return drawn{vs, sec}, err
	}
	base := make([]drawn, len(scenes))
	for i, sc := range scenes {
		if base[i], err = draw(strings.ReplaceAll(sc.Template, "{}", b.BaseWord), nil); err != nil {
			return nil, err
		}
	}

	w := float64(b.Resolution)
	acc := map[string]*accum{"base": {width: w}, "oneactor": {width: w}, "eta2_0": {width: w}, "inversion": {width: w}}
	f := &SubjectFigures{TuneSteps: steps, N: map[string]int{"targets": len(targets), "scenes": len(scenes), "seeds": len(seeds)}}
	fp := FamilyGuidance(b)
	for ti, tgt := range targets {
		img, _, err := imageio.DecodeFile(b.TargetImage(ti))
		if err != nil {
			return nil, fmt.Errorf("target %d: %w", ti, err)
		}
		target, _, err := caster.FromPicture(ctx, img, b.BasePrompt)
		if err != nil {
			return nil, fmt.Errorf("target %d: %w", ti, err)
		}
		data := &oneactor.SubjectData{BaseWord: b.BaseWord, Target: target, Aux: aux}
		cfg := oneactor.DefaultTune()
		cfg.Steps, cfg.Seed = steps, uint64(ti)
		if e.Model.CaptionTemplates != nil {
			cfg.Templates = e.Model.CaptionTemplates
		}
		tuner, err := oneactor.NewTuner(ctx, o.Runtime, e, caster.LatentH, caster.LatentW, caster.HShape(), cfg, o.CacheDir)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		_, err = tuner.Run(ctx, data, func(p oneactor.Progress) { progress(ti, "tune", p.Step, p.Total) })
		if err != nil {
			tuner.Close()
			return nil, err
		}
		tar, aver, err := tuner.Offsets(ctx, o.Runtime, data)
		f.TuneSecondsMean += since(t0) / float64(len(targets))
		if err != nil {
			tuner.Close()
			return nil, err
		}
		t0 = time.Now()
		inv, _, err := tuner.RunInversion(ctx, data, 0, func(p oneactor.Progress) { progress(ti, "inversion", p.Step, p.Total) })
		f.InversionSecondsMean += since(t0) / float64(len(targets))
		tuner.Close()
		if err != nil {
			return nil, err
		}
		subject := []oneactor.Offsets{{BaseWord: b.BaseWord, Tar: tar, Aver: aver}}
		ablation := []oneactor.Offsets{{BaseWord: b.BaseWord, Tar: inv, Aver: make([]float32, len(inv))}}
		eta0 := fp
		eta0.Eta2 = 0
		for si, sc := range scenes {
			prompt := strings.ReplaceAll(sc.Template, "{}", b.BaseWord)
			acc["base"].add(base[si].vs, tgt.Identity, sc.Scene, base[si].seconds)
			for _, v := range []struct {
				key      string
				subjects []oneactor.Offsets
				cfg      oneactor.GuidanceConfig
			}{
				{"oneactor", subject, fp},
				{"eta2_0", subject, eta0},
				{"inversion", ablation, oneactor.InversionGuidance(b.Settings.CFG)},
			} {
				d, err := draw(prompt, oneactor.NewGuidance(e.Model.Tokenizer, prompt, v.subjects, v.cfg))
				if err != nil {
					return nil, err
				}
				acc[v.key].add(d.vs, tgt.Identity, sc.Scene, d.seconds)
			}
			progress(ti, "judge", si+1, len(scenes))
		}
		r.logf("target %d %v: consistency so far base %.3f, OneActor %.3f, η2=0 %.3f, inversion %.3f", ti, tgt.Identity,
			acc["base"].consistency(), acc["oneactor"].consistency(), acc["eta2_0"].consistency(), acc["inversion"].consistency())
	}
	f.Base, f.OneActor, f.Eta2Zero, f.Inversion = acc["base"].figures(), acc["oneactor"].figures(), acc["eta2_0"].figures(), acc["inversion"].figures()
	f.CostEta2Zero = f.Eta2Zero.SecondsPerBatch / f.Base.SecondsPerBatch
	f.CostEta2 = f.OneActor.SecondsPerBatch / f.Base.SecondsPerBatch
	return f, nil
}

// FamilyGuidance is the benchmark's guidance settings, falling back to
// the method's defaults for any it leaves out.
func FamilyGuidance(b *Benchmark) oneactor.GuidanceConfig {
	g := oneactor.DefaultGuidance()
	s := b.Settings.OneActor
	if s.V > 0 {
		g.V = s.V
	}
	if s.Eta1 > 0 {
		g.Eta1 = s.Eta1
	}
	if s.Eta2 > 0 {
		g.Eta2 = s.Eta2
	}
	if s.GuidedFraction > 0 {
		g.GuidedFraction = s.GuidedFraction
	}
	return g
}

// accum gathers one variant's judged pictures.
type accum struct {
	pictures, same, agree, attrs, scene int
	spread                              float64
	groups                              int
	seconds                             float64
	width                               float64 // picture width, for % figures
}

func (a *accum) add(vs []Verdict, target map[string]string, scene string, seconds float64) {
	var cx, cy float64
	for _, v := range vs {
		a.pictures++
		all := true
		for k, want := range target {
			a.attrs++
			if v.Attributes[k] == want {
				a.agree++
			} else {
				all = false
			}
		}
		if all {
			a.same++
		}
		if v.Scene == scene {
			a.scene++
		}
		cx += v.Keypoints[control.Neck][0] / float64(len(vs))
		cy += v.Keypoints[control.Neck][1] / float64(len(vs))
	}
	d := 0.0
	for _, v := range vs {
		d += math.Hypot(v.Keypoints[control.Neck][0]-cx, v.Keypoints[control.Neck][1]-cy)
	}
	a.spread += d / float64(len(vs)) / a.width * 100
	a.groups++
	a.seconds += seconds
}

func (a *accum) consistency() float64 { return frac(a.same, a.pictures) }

func (a *accum) figures() VariantFigures {
	f := VariantFigures{Consistency: a.consistency(), Agreement: frac(a.agree, a.attrs), Scene: frac(a.scene, a.pictures)}
	if a.groups > 0 {
		f.PoseSpreadPct = a.spread / float64(a.groups)
		f.SecondsPerBatch = a.seconds / float64(a.groups)
	}
	return f
}
