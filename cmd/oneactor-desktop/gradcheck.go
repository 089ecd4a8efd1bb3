package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oneactor/oneactor-desktop/core/autodiff"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/service"
)

const gradcheckUsage = `Usage: oneactor-desktop gradcheck [flags] MODEL.onnx

Builds the gradient model of mean((output − target)²) for MODEL.onnx with
respect to --wrt, runs it on ONNX Runtime (CPU) with random inputs, and
compares every gradient with central finite differences.

With --estimate it only compiles the gradient model (shapes probed with one
forward run on ONNX Runtime CPU) and reports node counts, compile time and
memory: weights, forward activations the backward pass keeps, and the peak
of live values, for one run at the given shapes and projected to --rows rows
(one row at a time, or all rows in one batch), in float32 and as float16.
Example, an SD 1.5 UNet export at 512×512 (64×64 latents):

  oneactor-desktop gradcheck --estimate --wrt encoder_hidden_states \
      --shape sample=1x4x64x64 --shape timestep=1 \
      --shape encoder_hidden_states=1x77x768 unet/model.onnx

Flags:
`

// runGradcheck is the `gradcheck` subcommand.
func runGradcheck(args []string, svc *service.Service, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gradcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	wrt := fs.String("wrt", "", "comma-separated inputs or initializers to differentiate (default: every float input)")
	output := fs.String("output", "", "output the loss is taken of (default: the first float output)")
	eps := fs.Float64("eps", 1e-2, "finite-difference step")
	samples := fs.Int("samples", 16, "elements checked per tensor")
	tol := fs.Float64("tol", 1e-2, "largest accepted relative error")
	seed := fs.Int64("seed", 1, "random seed for inputs, target and sampled elements")
	estimate := fs.Bool("estimate", false, "compile only; report nodes, compile time and memory (no gradient check)")
	rows := fs.Int("rows", 5, "with --estimate: rows to project the memory to (the shapes given are one run)")
	measure := fs.Bool("measure", false, "with --estimate: also run the gradient model once on ONNX Runtime CPU and report the process's memory (Linux)")
	var shapes shapeFlags
	fs.Var(&shapes, "shape", "input shape for symbolic dimensions, e.g. sample=2x4x8x8 (repeatable)")
	fs.Usage = func() { fmt.Fprint(stderr, gradcheckUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(stderr, "gradcheck:", err); return 1 }
	rt, err := svc.Runtime()
	if err != nil {
		return fail(err)
	}
	m, err := onnx.Load(fs.Arg(0))
	if err != nil {
		return fail(err)
	}
	sig := m.Signature()
	rng := rand.New(rand.NewSource(*seed))
	feeds := ort.Feeds{}
	defer feeds.Destroy()
	var defaultWrt []string
	for _, in := range sig.Inputs {
		dims, err := shapes.dims(in)
		if err != nil {
			return fail(err)
		}
		t, err := randomTensor(in.Type, dims, in.Name, rng)
		if err != nil {
			return fail(err)
		}
		feeds[in.Name] = t
		if in.Type == onnx.Float {
			defaultWrt = append(defaultWrt, in.Name)
		}
	}
	targets := defaultWrt
	if *wrt != "" {
		targets = strings.Split(*wrt, ",")
	}
	out := *output
	if out == "" {
		for _, o := range sig.Outputs {
			if o.Type == onnx.Float {
				out = o.Name
				break
			}
		}
	}
	if out == "" || len(targets) == 0 {
		return fail(fmt.Errorf("no float output or nothing to differentiate; use --output and --wrt"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *estimate {
		if err := estimateGradient(ctx, rt, m, feeds, targets, out, *rows, *measure, stdout); err != nil {
			return fail(err)
		}
		return 0
	}
	res, err := autodiff.GradCheck(ctx, rt, m, feeds, targets, out, autodiff.CheckOptions{Eps: *eps, Samples: *samples, Seed: *seed})
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "%s: d mean((%s − target)²) — %d forward nodes, %d backward nodes\n",
		fs.Arg(0), out, res.Compile.ForwardNodes, res.Compile.BackwardNodes)
	fmt.Fprintf(stdout, "%-32s %8s %12s %12s  %s\n", "wrt", "checked", "max rel err", "max |grad|", "result")
	code := 0
	for _, r := range res.Results {
		verdict := "pass"
		if r.MaxRelErr > *tol {
			verdict, code = "FAIL", 1
		}
		fmt.Fprintf(stdout, "%-32s %8d %12.3e %12.3e  %s\n", r.Wrt, r.Checked, r.MaxRelErr, r.MaxAbs, verdict)
	}
	return code
}

// estimateGradient compiles the gradient model of mean((out − target)²)
// and prints its size and memory figures.
func estimateGradient(ctx context.Context, rt *ort.Runtime, m *onnx.Model, feeds ort.Feeds, wrt []string, out string, rows int, measure bool, w io.Writer) error {
	t0 := time.Now()
	sh, err := autodiff.Probe(ctx, rt, m, feeds)
	if err != nil {
		return err
	}
	probe := time.Since(t0)
	t0 = time.Now()
	res, err := autodiff.Compile(m, sh, autodiff.Options{Wrt: wrt, Output: out, Loss: autodiff.LossMSE})
	if err != nil {
		return err
	}
	compile := time.Since(t0)
	est := autodiff.EstimateMemory(res, sh)
	batch := int64(1)
	if d := sh.Dims[out]; len(d) > 0 {
		batch = d[0]
	}
	ops := map[string]int{}
	for _, n := range res.Model.Proto.GetGraph().GetNode() {
		ops[n.GetOpType()]++
	}
	fmt.Fprintf(w, "%s: d mean((%s − target)²) / d %s\n", m.Proto.GetGraph().GetName(), out, strings.Join(wrt, ", "))
	for _, name := range slices.Sorted(maps.Keys(feeds)) {
		fmt.Fprintf(w, "  input %-24s %v\n", name, feeds[name].Shape())
	}
	fmt.Fprintf(w, "nodes: %d forward, %d backward (%d op types)\n", res.ForwardNodes, res.BackwardNodes, len(ops))
	fmt.Fprintf(w, "shape probe (one forward run, ONNX Runtime CPU): %s; compile: %s\n",
		probe.Round(time.Millisecond), compile.Round(time.Millisecond))
	gb := func(b int64) string { return fmt.Sprintf("%11s", humanBytes(b)) }
	fmt.Fprintf(w, "\nmemory at these shapes (batch %d)          float32     float16\n", batch)
	fmt.Fprintf(w, "  weights                               %s %s\n", gb(est.WeightBytes), gb(est.HalfWeightBytes))
	fmt.Fprintf(w, "  activations kept for backward (%4d)  %s %s\n", est.RetainedValues, gb(est.RetainedBytes), gb(est.HalfRetainedBytes))
	fmt.Fprintf(w, "  peak of live values                   %s %s\n", gb(est.PeakBytes), gb(est.HalfPeakBytes))
	fmt.Fprintf(w, "  weights + peak                        %s %s\n", gb(est.WeightBytes+est.PeakBytes), gb(est.HalfWeightBytes+est.HalfPeakBytes))
	if rows > 0 && batch > 0 {
		// Activations grow linearly with the batch axis (every activation
		// of a UNet carries it); weights do not.
		scale := func(b int64) int64 { return b * int64(rows) / batch }
		// Both lines are weights + peak, the peak taken for one row or
		// for all rows together.
		fmt.Fprintf(w, "\n%-40s%s %s\n", fmt.Sprintf("%d rows, one run per row", rows),
			gb(est.WeightBytes+est.PeakBytes/batch), gb(est.HalfWeightBytes+est.HalfPeakBytes/batch))
		fmt.Fprintf(w, "%-40s%s %s\n", fmt.Sprintf("%d rows in one batch", rows),
			gb(est.WeightBytes+scale(est.PeakBytes)), gb(est.HalfWeightBytes+scale(est.HalfPeakBytes)))
	}
	fmt.Fprintln(w, "\nRow lines: weights + peak for one row, or for all rows in one run (activations scale with the batch).")
	fmt.Fprintln(w, "float16 column: the same graph with float16 tensors. A float16 model's backward runs in float32")
	fmt.Fprintln(w, "(widened weights): the float32 column applies to it. Arena rounding and kernel scratch come on top.")
	if measure {
		return measureGradient(ctx, rt, m, res, feeds, sh.Dims[out], est, w)
	}
	return nil
}

// measureGradient runs the compiled model once on ONNX Runtime CPU (all
// optimisations, as tuning runs it) and reports the process's resident
// memory: after loading the session, and its peak during the run (the
// kernel's high-water mark, reset just before).
func measureGradient(ctx context.Context, rt *ort.Runtime, m *onnx.Model, res *autodiff.Result, feeds ort.Feeds, outDims []int64, est autodiff.Memory, w io.Writer) error {
	dir, err := os.MkdirTemp("", "oneactor-estimate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The gradient model refers to the weights by relative location: link
	// them into its folder, as the gradient cache does.
	if err := onnx.LinkWeights(dir, m.ExternalPaths()); err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	path := filepath.Join(dir, "gradient.onnx")
	res.Model.Dir = dir
	if err := res.Model.Save(path); err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	sess, err := rt.NewSession(path, ort.SessionOptions{Provider: ort.ProviderCPU})
	if err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	defer sess.Close()
	in := ort.Feeds{}
	for k, v := range feeds {
		in[k] = v
	}
	target, err := ort.NewTensor(onnx.Float, outDims...)
	if err != nil {
		return err
	}
	defer target.Destroy()
	in[res.Target] = target
	loaded := procStatusBytes("VmRSS")
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("measure: reset the peak RSS: %w", err)
	}
	t0 := time.Now()
	outs := ort.Feeds{}
	if err := sess.Run(ctx, in, outs); err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	took := time.Since(t0)
	outs.Destroy()
	peak := procStatusBytes("VmHWM")
	fmt.Fprintf(w, "\nmeasured on ONNX Runtime CPU (one run, %s): resident after loading %s, peak during the run %s\n",
		took.Round(time.Millisecond), humanBytes(loaded), humanBytes(peak))
	fmt.Fprintf(w, "  run's increment %s vs estimated peak of live values %s\n", humanBytes(peak-loaded), humanBytes(est.PeakBytes))
	return nil
}

// humanBytes writes a size in kB, MB or GB (powers of ten).
func humanBytes(b int64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(b)/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(b)/1e6)
	}
	return fmt.Sprintf("%.1f kB", float64(b)/1e3)
}

// procStatusBytes reads a memory line (VmRSS, VmHWM) of /proc/self/status.
func procStatusBytes(key string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == key+":" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// randomTensor fills a tensor for an input: floats ~ N(0,1); integers are
// small non-negative values (token ids, timesteps), as valid as a guess can be.
func randomTensor(dt onnx.DataType, dims []int64, name string, rng *rand.Rand) (*ort.Tensor, error) {
	t, err := ort.NewTensor(dt, dims...)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", name, err)
	}
	switch dt {
	case onnx.Float, onnx.Float16, onnx.Double:
		v := make([]float32, t.Len())
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		err = t.SetFloat32(v)
	case onnx.Int64, onnx.Int32:
		v := make([]int64, t.Len())
		for i := range v {
			v[i] = rng.Int63n(10)
		}
		err = t.SetInt64(v)
	default:
		err = fmt.Errorf("input %s: element type %s is not supported by gradcheck", name, dt)
	}
	if err != nil {
		t.Destroy()
		return nil, err
	}
	return t, nil
}

// shapeFlags holds --shape name=AxBxC values.
type shapeFlags map[string][]int64

func (s *shapeFlags) String() string { return fmt.Sprint(map[string][]int64(*s)) }

func (s *shapeFlags) Set(v string) error {
	name, dims, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want name=AxBxC, got %q", v)
	}
	var out []int64
	for _, d := range strings.Split(dims, "x") {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bad dimension %q in %q", d, v)
		}
		out = append(out, n)
	}
	if *s == nil {
		*s = shapeFlags{}
	}
	(*s)[name] = out
	return nil
}

// dims resolves an input's shape: --shape wins; otherwise the file's fixed
// sizes, with symbolic sizes only allowed to default when they look like a
// batch dimension (1).
func (s shapeFlags) dims(in onnx.ValueInfo) ([]int64, error) {
	if d, ok := s[in.Name]; ok {
		if in.Rank() >= 0 && len(d) != in.Rank() {
			return nil, fmt.Errorf("--shape %s has rank %d, the model says %s", in.Name, len(d), in)
		}
		return d, nil
	}
	if in.Shape == nil {
		return nil, fmt.Errorf("input %s has no declared shape: pass --shape %s=AxB…", in.Name, in.Name)
	}
	out := make([]int64, len(in.Shape))
	for i, d := range in.Shape {
		switch {
		case d.Known():
			out[i] = d.Value
		case i == 0:
			out[i] = 1
		default:
			return nil, fmt.Errorf("input %s is %s: pass --shape %s=AxB… for its symbolic sizes", in.Name, in, in.Name)
		}
	}
	return out, nil
}
