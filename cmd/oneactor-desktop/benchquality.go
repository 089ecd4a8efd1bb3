package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oneactor/oneactor-desktop/core/quality"
	"github.com/oneactor/oneactor-desktop/core/service"
)

const benchQualityUsage = `Usage: oneactor-desktop bench quality [flags]

Generates a benchmark file's cases with the Go pipeline, judges every
picture with the model family's judge model and compares the figures with
the PyTorch reference's (run from the repository root for the defaults):

  generation   scene fidelity and honour of each attribute named in the prompt
  diversity    distinct judged identities among the seeds of a base prompt
  controlnet   median judged keypoint error with the ControlNet (and without)
  oneactor     each target picture made a subject (imported photo + base-prompt
               auxiliaries), tuned, and drawn in every scene at every seed:
               identity consistency of OneActor, OneActor with η2 = 0, a
               textual-inversion ablation and the plain base prompt; scene
               fidelity; pose spread across seeds; sampling cost ratios

By default every seed starts from the reference's initial noise
(benchmark_noise.f32), so Go and PyTorch sample from the same x_T and any
difference is the implementations'; --noise engine uses the engine's own RNG.
Exits 1 when a parity check or a bar is missed.

Flags:
`

func runBenchQuality(args []string, svc *service.Service, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench quality", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", service.BundledModel, "model folder or toyworld")
	benchPath := fs.String("benchmark", filepath.Join("testdata", "toyworld", "benchmark.json"), "benchmark file")
	family := fs.String("family", "", "model family description with the judge (default: toyworld.json in the model folder)")
	refDir := fs.String("reference", filepath.Join("testdata", "toyworld", "reference"), "folder with the PyTorch reference's figures (torch_figures.json, torch_oneactor_figures.json)")
	parts := fs.String("parts", "generation,diversity,controlnet,oneactor", "comma-separated parts to run")
	noise := fs.String("noise", "reference", "initial noise: reference (the PyTorch reference's x_T) or engine (the engine's RNG)")
	limit := fs.Int("limit", 0, "run only the first N cases of each sampler part (a quick look, not the benchmark)")
	targets := fs.Int("targets", 0, "OneActor targets (0: all)")
	scenes := fs.Int("scenes", 0, "OneActor scene prompts (0: all)")
	seeds := fs.Int("seeds", 0, "OneActor seeds per scene (0: all)")
	tuneSteps := fs.Int("tune-steps", 0, "tuning steps (0: the benchmark's)")
	tol := fs.Float64("tol", 3, "parity tolerance in percentage points for the sampler's figures")
	subjectTol := fs.Float64("subject-tol", 5, "parity tolerance in percentage points for OneActor consistency")
	out := fs.String("out", "", "write the figures as JSON to this file")
	fs.Usage = func() { fmt.Fprint(stderr, benchQualityUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "bench quality:", err)
		return 1
	}
	bench, err := quality.ReadBenchmark(*benchPath)
	if err != nil {
		return fail(err)
	}
	e, err := svc.Engine(*model)
	if err != nil {
		return fail(err)
	}
	if *family == "" {
		*family = filepath.Join(e.Model.Dir, "toyworld.json")
	}
	fam, err := quality.ReadFamily(*family)
	if err != nil {
		return fail(fmt.Errorf("%w (give --family for a model without one)", err))
	}
	rt, err := svc.Runtime()
	if err != nil {
		return fail(err)
	}
	judge, err := quality.OpenJudge(rt, fam)
	if err != nil {
		return fail(err)
	}
	defer judge.Close()
	r := &quality.Runner{Engine: e, Judge: judge, Bench: bench, Limit: *limit,
		Log: func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }}
	switch *noise {
	case "reference":
		if r.Noise, err = bench.ReadNoise(); err != nil {
			return fail(err)
		}
		if r.Noise == nil {
			return fail(fmt.Errorf("the benchmark has no reference noise (benchmark_noise.json beside it); use --noise engine"))
		}
	case "engine":
	default:
		return fail(fmt.Errorf("--noise %q: use reference or engine", *noise))
	}
	ref, err := quality.ReadReference(*refDir)
	if err != nil {
		return fail(err)
	}
	figs := &quality.Figures{Model: e.Model.Name, Noise: *noise}
	ctx := context.Background()
	t0 := time.Now()
	for _, p := range strings.Split(*parts, ",") {
		switch strings.TrimSpace(p) {
		case "generation":
			figs.Generation, err = r.Generation(ctx)
		case "diversity":
			figs.Diversity, err = r.Diversity(ctx)
		case "controlnet":
			figs.ControlNet, err = r.ControlNet(ctx)
		case "oneactor":
			last := ""
			figs.Subjects, err = r.Subjects(ctx, quality.SubjectOptions{Runtime: rt, CacheDir: filepath.Join(svc.DataDir(), "cache"),
				Targets: *targets, Scenes: *scenes, Seeds: *seeds, Steps: *tuneSteps,
				Progress: func(t int, phase string, step, total int) {
					if line := fmt.Sprintf("target %d %s", t, phase); line != last && step == total {
						fmt.Fprintf(stdout, "  %s done (%d)\n", line, total)
						last = line
					}
				}})
		default:
			return fail(fmt.Errorf("unknown part %q (generation, diversity, controlnet, oneactor)", p))
		}
		if err != nil {
			return fail(err)
		}
	}
	figs.Seconds = time.Since(t0).Seconds()
	if *out != "" {
		data, _ := json.MarshalIndent(figs, "", " ")
		if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
			return fail(err)
		}
	}
	if s := figs.Subjects; s != nil {
		fmt.Fprintf(stdout, "\nOneActor (%d targets × %d scenes × %d seeds, %d tuning steps; tuning %.1f s, inversion %.1f s per subject)\n",
			s.N["targets"], s.N["scenes"], s.N["seeds"], s.TuneSteps, s.TuneSecondsMean, s.InversionSecondsMean)
		fmt.Fprintf(stdout, "%-20s %12s %10s %8s %14s %12s\n", "variant", "consistency", "agreement", "scene", "pose spread %", "s per batch")
		for _, v := range []struct {
			name string
			f    quality.VariantFigures
		}{{"base prompt", s.Base}, {"OneActor", s.OneActor}, {"OneActor η2 = 0", s.Eta2Zero}, {"textual inversion", s.Inversion}} {
			fmt.Fprintf(stdout, "%-20s %12.3f %10.3f %8.3f %14.2f %12.3f\n", v.name, v.f.Consistency, v.f.Agreement, v.f.Scene, v.f.PoseSpreadPct, v.f.SecondsPerBatch)
		}
	}
	fmt.Fprintf(stdout, "\n%s, noise: %s, %.0f s\n", figs.Model, figs.Noise, figs.Seconds)
	if failed := quality.WriteChecks(stdout, quality.Compare(figs, ref, bench.Bars, *tol, *subjectTol)); failed > 0 {
		fmt.Fprintf(stdout, "%d checks missed\n", failed)
		return 1
	}
	return 0
}
