package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/schedule"
	"github.com/oneactor/oneactor-desktop/core/service"
)

const benchUsage = `Usage: oneactor-desktop bench generate [flags]
       oneactor-desktop bench grad [--model M --rows 5 --repeat 5]
       oneactor-desktop bench quality [--parts generation,diversity,controlnet,oneactor] (see bench quality -h)

Times the whole generation pipeline (text encoder, sampling loop, VAE) and
reports, per batch size: median wall time, the share of it spent inside
ONNX Runtime's Run calls, and the process's peak resident memory.

Flags:
`

func runBench(args []string, svc *service.Service, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "grad" {
		return runBenchGrad(args[1:], svc, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "quality" {
		return runBenchQuality(args[1:], svc, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "generate" {
		fmt.Fprint(stderr, benchUsage)
		return 2
	}
	fs := flag.NewFlagSet("bench generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", service.BundledModel, "model folder or toyworld")
	steps := fs.Int("steps", 30, "sampling steps")
	cfg := fs.Float64("cfg", 7.5, "guidance scale")
	sampler := fs.String("sampler", "euler", "sampler")
	batches := fs.String("batch", "1,4", "comma-separated batch sizes")
	repeat := fs.Int("repeat", 3, "timed runs per batch size (after one warm-up)")
	prompt := fs.String("prompt", "a red round creature with a hat on the beach", "prompt")
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	kind, karras, err := schedule.ParseDisplayName(*sampler, "")
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	e, err := svc.Engine(*model)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	ctx := context.Background()
	fmt.Fprintf(stdout, "model %s, %d steps, CFG %g, %s\n", e.Model.Name, *steps, *cfg, schedule.DisplayName(kind, karras))
	fmt.Fprintf(stdout, "%-6s %12s %12s %10s %12s\n", "batch", "median wall", "inside ORT", "ORT share", "peak RSS")
	for _, bs := range strings.Split(*batches, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(bs))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "bench: bad batch size %q\n", bs)
			return 2
		}
		req := diffusion.Request{Prompt: *prompt, Steps: *steps, CFG: *cfg, Sampler: kind,
			SamplerOptions: schedule.Options{Karras: karras}, Seed: 1, N: n}
		req.Width, req.Height = e.Model.DefaultSize(), e.Model.DefaultSize()
		if _, err := e.Generate(ctx, req, nil); err != nil { // warm-up: sessions, arenas
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		var walls, shares []float64
		var inside []time.Duration
		for i := 0; i < *repeat; i++ {
			_, before := e.RunStats()
			t0 := time.Now()
			if _, err := e.Generate(ctx, req, nil); err != nil {
				fmt.Fprintln(stderr, "bench:", err)
				return 1
			}
			wall := time.Since(t0)
			_, after := e.RunStats()
			walls = append(walls, wall.Seconds())
			inside = append(inside, after-before)
			shares = append(shares, (after-before).Seconds()/wall.Seconds())
		}
		mw := median(walls)
		fmt.Fprintf(stdout, "%-6d %11.3fs %11.3fs %9.1f%% %10.1f MiB\n", n, mw, median(durations(inside)), 100*median(shares), peakRSSMiB())
	}
	return 0
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func durations(d []time.Duration) []float64 {
	out := make([]float64, len(d))
	for i, x := range d {
		out[i] = x.Seconds()
	}
	return out
}

// peakRSSMiB reads the process's high-water resident set size (VmHWM).
func peakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}
