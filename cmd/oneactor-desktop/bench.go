package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/oneactor"
	"github.com/oneactor/oneactor-desktop/core/schedule"
	"github.com/oneactor/oneactor-desktop/core/service"
)

const benchUsage = `Usage: oneactor-desktop bench generate [flags]
       oneactor-desktop bench grad [--model M --rows 5 --repeat 5]
       oneactor-desktop bench quality [--parts generation,diversity,controlnet,oneactor] (see bench quality -h)
       oneactor-desktop bench roofline [--model M --rows 2,8 --repeat 40 --gemm 1024]

Times the whole generation pipeline (text encoder, sampling loop, VAE) and
reports, per batch size: median wall time, the share of it spent inside
ONNX Runtime's Run calls, and the process's peak resident memory. With
--guidance plain,eta2_0,oneactor it also times OneActor's guidance (a
subject's offsets at --word) against plain sampling, taking turns.

With --lockstep another program takes turns with it, run for run (see
tools/bench/vs_torch.py): after its warm-up for a batch size it prints
"lockstep ready batch=N", and before each timed round it waits for a line
on standard input, then prints "lockstep turn batch=N mode=M wall=S
cpu=S" (the process's CPU time over the run).

Flags:
`

func runBench(args []string, svc *service.Service, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "grad" {
		return runBenchGrad(args[1:], svc, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "roofline" {
		return runBenchRoofline(args[1:], svc, stdout, stderr)
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
	guidance := fs.String("guidance", "plain", "comma-separated: plain (CFG), eta2_0 and oneactor (cluster-conditioned guidance with η2 = 0 / the default η2, offsets at --word)")
	word := fs.String("word", "creature", "base word for the OneActor modes (must be in the prompt)")
	lockstep := fs.Bool("lockstep", false, "take turns with another program: wait for a line on standard input before each timed round and report it (see the usage above)")
	unetModes := fs.String("unet", "fused", "comma-separated, timed in turns: fused (the engine's default: prompt projections once per prompt, attentions fused and each image's shared rows computed once, after a check), unshared (fused, every row computed in full), split (the projections alone) and exported (the UNet as exported)")
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
	// A mode is a guidance on a UNet variant; the modes take turns.
	type benchMode struct {
		name, guidance string
		eng            *diffusion.Engine
	}
	var modes []benchMode
	type unetVariant struct {
		name string
		eng  *diffusion.Engine
	}
	var variants []unetVariant
	rt, err := svc.Runtime()
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	unets := strings.Split(*unetModes, ",")
	for _, u := range unets {
		if u != "split" && u != "fused" && u != "unshared" && u != "exported" {
			fmt.Fprintf(stderr, "bench: --unet %q: use fused, unshared, split, exported\n", u)
			return 2
		}
		// Each variant is an engine of its own with explicit settings, so
		// the names mean the same whatever the engine's defaults are.
		eng := diffusion.NewEngine(rt, e.Model, svc.SessionOptions())
		eng.SetHoistProjections(u != "exported")
		eng.SetFuseAttention(u == "fused" || u == "unshared")
		eng.SetShareRows(u == "fused")
		defer eng.Close()
		variants = append(variants, unetVariant{u, eng})
		for _, g := range strings.Split(*guidance, ",") {
			if g != "plain" && g != "eta2_0" && g != "oneactor" {
				fmt.Fprintf(stderr, "bench: --guidance %q: use plain, eta2_0, oneactor\n", g)
				return 2
			}
			name := g
			if len(unets) > 1 {
				name += "/" + u
			}
			modes = append(modes, benchMode{name: name, guidance: g, eng: eng})
		}
	}
	// Ratios are against the first plain mode (on the first UNet variant).
	ref := ""
	for _, m := range modes {
		if m.guidance == "plain" {
			ref = m.name
			break
		}
	}
	// OneActor's cost does not depend on the offsets' values: any vectors of
	// the text width at the base word time the same rows.
	W := int(e.Model.Text.Width)
	off := make([]float32, W)
	for i := range off {
		off[i] = float32(i%7-3) / 10
	}
	subject := []oneactor.Offsets{{BaseWord: *word, Tar: off, Aver: off}}
	build := func(mode string, req diffusion.Request) diffusion.Request {
		g := oneactor.DefaultGuidance()
		switch mode {
		case "eta2_0":
			g.Eta2 = 0
		case "plain":
			return req
		}
		req.Guidance = oneactor.NewGuidance(e.Model.Tokenizer, req.Prompt, subject, g)
		return req
	}
	turns := bufio.NewReader(benchStdin)
	fmt.Fprintf(stdout, "model %s, %d steps, CFG %g, %s\n", e.Model.Name, *steps, *cfg, schedule.DisplayName(kind, karras))
	fmt.Fprintf(stdout, "%-6s %-15s %12s %12s %10s %10s %12s\n", "batch", "guidance", "median wall", "inside ORT", "ORT share", "vs plain", "peak RSS")
	for _, bs := range strings.Split(*batches, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(bs))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "bench: bad batch size %q\n", bs)
			return 2
		}
		base := diffusion.Request{Prompt: *prompt, Steps: *steps, CFG: *cfg, Sampler: kind,
			SamplerOptions: schedule.Options{Karras: karras}, Seed: 1, N: n}
		base.Width, base.Height = e.Model.DefaultSize(), e.Model.DefaultSize()
		walls := map[string][]float64{}
		shares := map[string][]float64{}
		inside := map[string][]time.Duration{}
		// One warm-up per mode (sessions, arenas), then the modes take turns
		// so that background load falls on all of them alike.
		for i := -1; i < *repeat; i++ {
			if *lockstep && i >= 0 {
				if i == 0 {
					fmt.Fprintf(stdout, "lockstep ready batch=%d\n", n)
				}
				if _, err := turns.ReadString('\n'); err != nil {
					fmt.Fprintln(stderr, "bench: --lockstep: waiting for the next turn:", err)
					return 1
				}
			}
			for _, m := range modes {
				req := build(m.guidance, base)
				_, before := m.eng.RunStats()
				cpu0 := processCPU()
				t0 := time.Now()
				if _, err := m.eng.Generate(ctx, req, nil); err != nil {
					fmt.Fprintln(stderr, "bench:", err)
					return 1
				}
				wall := time.Since(t0)
				cpu := processCPU() - cpu0
				_, after := m.eng.RunStats()
				if i < 0 {
					continue
				}
				if *lockstep {
					fmt.Fprintf(stdout, "lockstep turn batch=%d mode=%s wall=%.6f cpu=%.6f\n", n, m.name, wall.Seconds(), cpu.Seconds())
				}
				walls[m.name] = append(walls[m.name], wall.Seconds())
				inside[m.name] = append(inside[m.name], after-before)
				shares[m.name] = append(shares[m.name], (after-before).Seconds()/wall.Seconds())
			}
		}
		for _, m := range modes {
			ratio := "-"
			if ref != "" {
				ratio = fmt.Sprintf("%.3f×", median(walls[m.name])/median(walls[ref]))
			}
			fmt.Fprintf(stdout, "%-6d %-15s %11.3fs %11.3fs %9.1f%% %10s %10.1f MiB\n", n, m.name, median(walls[m.name]),
				median(durations(inside[m.name])), 100*median(shares[m.name]), ratio, peakRSSMiB())
		}
	}
	for _, v := range variants {
		fmt.Fprintf(stdout, "UNet %s: %s\n", v.name, v.eng.UNetNote())
	}
	return 0
}

// processCPU is the CPU time (user + system) the process has used: unlike
// wall time it does not grow while a busy host keeps the process waiting.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchStdin is where --lockstep reads its turns (a variable for tests).
var benchStdin io.Reader = os.Stdin

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
