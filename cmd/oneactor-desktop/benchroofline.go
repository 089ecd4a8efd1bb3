package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oneactor/oneactor-desktop/core/autodiff"
	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/service"
)

// runBenchRoofline answers "how far is the sampling loop from this
// machine's limit?": it counts the UNet's arithmetic (multiply-accumulates
// of its convolutions and matrix products at the run's real shapes, read
// by probing the graph), times UNet runs alone, and compares the rate with
// the ceiling ONNX Runtime itself reaches on a large square MatMul with the
// same session settings (threads, provider).
func runBenchRoofline(args []string, svc *service.Service, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench roofline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", service.BundledModel, "model folder or toyworld")
	rowsFlag := fs.String("rows", "2,8", "comma-separated UNet rows per run (with CFG, 2 per image: batch 4 = 8 rows)")
	repeat := fs.Int("repeat", 40, "timed runs per measurement (after warm-up); the median is reported")
	gemmN := fs.Int("gemm", 1024, "n of the n×n·n×n MatMul that measures the ceiling")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(stderr, "bench roofline:", err); return 1 }
	var rows []int64
	for _, s := range strings.Split(*rowsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "bench roofline: bad row count %q\n", s)
			return 2
		}
		rows = append(rows, int64(n))
	}
	if *repeat < 1 || *gemmN < 16 {
		fmt.Fprintln(stderr, "bench roofline: --repeat must be ≥ 1 and --gemm ≥ 16")
		return 2
	}
	rt, err := svc.Runtime()
	if err != nil {
		return fail(err)
	}
	m, err := svc.OpenModel(*model)
	if err != nil {
		return fail(err)
	}
	opts := svc.SessionOptions()
	ctx := context.Background()

	ceiling, gemmTime, err := gemmCeiling(ctx, rt, opts, int64(*gemmN), *repeat)
	if err != nil {
		return fail(fmt.Errorf("ceiling: %w", err))
	}
	threads := "one per core"
	if opts.IntraOpThreads > 0 {
		threads = strconv.Itoa(opts.IntraOpThreads)
	}
	fmt.Fprintf(stdout, "ONNX Runtime (%s, intra-op threads: %s)\n", opts.Provider, threads)
	fmt.Fprintf(stdout, "ceiling: MatMul %d×%d·%d×%d, %.2f GFLOP, median %.2f ms → %.1f GFLOP/s\n",
		*gemmN, *gemmN, *gemmN, *gemmN, 2*float64(*gemmN)*float64(*gemmN)*float64(*gemmN)/1e9,
		gemmTime.Seconds()*1e3, ceiling/1e9)

	u := m.UNet
	path := filepath.Join(m.Dir, u.Dir, "model.onnx")
	graph, err := onnx.Load(path)
	if err != nil {
		return fail(err)
	}
	s, err := rt.NewSession(path, opts)
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	fmt.Fprintf(stdout, "model %s, UNet %s\n", m.Name, filepath.Join(u.Dir, "model.onnx"))
	fmt.Fprintf(stdout, "%-5s %11s %12s %10s %11s   %s\n", "rows", "UNet MFLOP", "median run", "GFLOP/s", "of ceiling", "arithmetic by operator")
	rng := rand.New(rand.NewSource(1))
	for _, r := range rows {
		feeds, out, work, err := unetWork(ctx, rt, m, graph, r, rng)
		if err != nil {
			return fail(err)
		}
		defer feeds.Destroy()
		defer out.Destroy()
		if len(work.Unknown) > 0 {
			fmt.Fprintf(stderr, "bench roofline: %d nodes without shapes are not counted: %s\n",
				len(work.Unknown), strings.Join(work.Unknown[:min(5, len(work.Unknown))], ", "))
		}
		run := func() error { return s.Run(ctx, feeds, ort.Feeds{u.Out: out}) }
		med, err := medianTime(run, *repeat)
		if err != nil {
			return fail(err)
		}
		rate := float64(work.FLOPs()) / med.Seconds()
		fmt.Fprintf(stdout, "%-5d %11.1f %10.2f ms %10.1f %10.0f%%   %s\n", r, float64(work.FLOPs())/1e6,
			med.Seconds()*1e3, rate/1e9, 100*rate/ceiling, byOp(work))
	}
	return 0
}

// unetWork makes random UNet inputs of r rows (types and ranks as the model
// declares them), an output tensor, and counts the UNet's arithmetic at
// those shapes (probed by running the graph once in ONNX Runtime).
func unetWork(ctx context.Context, rt *ort.Runtime, m *diffusion.Model, graph *onnx.Model, r int64, rng *rand.Rand) (ort.Feeds, *ort.Tensor, onnx.Work, error) {
	u := m.UNet
	feeds, err := randomUNetFeeds(m, r, false, rng)
	if err != nil {
		return nil, nil, onnx.Work{}, err
	}
	work, err := countUNetWork(ctx, rt, m, graph, r, feeds, rng)
	var out *ort.Tensor
	if err == nil {
		h := int64(m.DefaultSize()) / m.Factor
		out, err = ort.NewTensor(u.OutType, r, m.LatentChannels, h, h)
	}
	if err != nil {
		feeds.Destroy()
		return nil, nil, onnx.Work{}, err
	}
	return feeds, out, work, nil
}

// countUNetWork probes the UNet's shapes with feeds and counts its work.
// The probe reads intermediate shapes through extra outputs of dynamic
// shape, which ONNX Runtime only allocates for float32; a float16 export is
// probed as its float32 copy (same operators, same shapes, same work).
func countUNetWork(ctx context.Context, rt *ort.Runtime, m *diffusion.Model, graph *onnx.Model, r int64, feeds ort.Feeds, rng *rand.Rand) (onnx.Work, error) {
	u := m.UNet
	if u.SampleType == onnx.Float16 || u.ContextType == onnx.Float16 || u.TimestepType == onnx.Float16 {
		g32, err := graph.ToFloat32()
		if err != nil {
			return onnx.Work{}, err
		}
		f32, err := randomUNetFeeds(m, r, true, rng)
		if err != nil {
			return onnx.Work{}, err
		}
		defer f32.Destroy()
		graph, feeds = g32, f32
	}
	shapes, err := autodiff.Probe(ctx, rt, graph, feeds)
	if err != nil {
		return onnx.Work{}, fmt.Errorf("probe the UNet's shapes at %d rows: %w", r, err)
	}
	return onnx.CountWork(graph, shapes.Dims)
}

// randomUNetFeeds makes random UNet inputs for `rows` rows at the model's
// default size: sample, timestep (rank and integer/float type as the model
// declares; one value per row when it has a batch axis) and context. With
// float32, float16 inputs are made float32 (for graphs converted by
// ToFloat32 or built by autodiff).
func randomUNetFeeds(m *diffusion.Model, rows int64, float32 bool, rng *rand.Rand) (ort.Feeds, error) {
	u := m.UNet
	h := int64(m.DefaultSize()) / m.Factor
	var tshape []int64
	if u.TimestepRank == 1 {
		tshape = []int64{rows}
	}
	typ := func(dt onnx.DataType) onnx.DataType {
		if float32 && dt == onnx.Float16 {
			return onnx.Float
		}
		return dt
	}
	feeds := ort.Feeds{}
	for _, in := range []struct {
		name  string
		dt    onnx.DataType
		shape []int64
	}{
		{u.Sample, u.SampleType, []int64{rows, m.LatentChannels, h, h}},
		{u.Timestep, u.TimestepType, tshape},
		{u.Context, u.ContextType, []int64{rows, int64(m.Tokenizer.MaxLength()), m.Text.Width}},
	} {
		t, err := randomTensor(typ(in.dt), in.shape, in.name, rng)
		if err != nil {
			feeds.Destroy()
			return nil, err
		}
		feeds[in.name] = t
	}
	return feeds, nil
}

// gemmCeiling times an n×n·n×n float32 MatMul in ONNX Runtime and returns
// its rate in FLOP/s (2n³ per run) and the median run time.
func gemmCeiling(ctx context.Context, rt *ort.Runtime, opts ort.SessionOptions, n int64, repeat int) (float64, time.Duration, error) {
	b := onnx.NewBuilder("gemm_ceiling", 17)
	y := b.Node("MatMul", []string{b.Input("a", onnx.Float, n, n), b.Input("b", onnx.Float, n, n)})
	b.OutputAs("y", y, onnx.Float, n, n)
	gm, err := b.Model()
	if err != nil {
		return 0, 0, err
	}
	s, err := rt.NewSessionFromModel(gm, opts)
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	rng := rand.New(rand.NewSource(2))
	in := ort.Feeds{}
	for _, name := range []string{"a", "b"} {
		t, err := randomTensor(onnx.Float, []int64{n, n}, name, rng)
		if err != nil {
			return 0, 0, err
		}
		defer t.Destroy()
		in[name] = t
	}
	out, err := ort.NewTensor(onnx.Float, n, n)
	if err != nil {
		return 0, 0, err
	}
	defer out.Destroy()
	med, err := medianTime(func() error { return s.Run(ctx, in, ort.Feeds{"y": out}) }, repeat)
	if err != nil {
		return 0, 0, err
	}
	return 2 * float64(n) * float64(n) * float64(n) / med.Seconds(), med, nil
}

// medianTime runs f three times untimed (arenas, pre-packed weights), then
// repeat times, and returns the median duration.
func medianTime(f func() error, repeat int) (time.Duration, error) {
	for i := 0; i < 3; i++ {
		if err := f(); err != nil {
			return 0, err
		}
	}
	d := make([]float64, repeat)
	for i := range d {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		d[i] = time.Since(t0).Seconds()
	}
	return time.Duration(median(d) * float64(time.Second)), nil
}

func byOp(w onnx.Work) string {
	ops := make([]string, 0, len(w.ByOp))
	for op := range w.ByOp {
		ops = append(ops, op)
	}
	slices.SortFunc(ops, func(a, b string) int { return cmp.Compare(w.ByOp[b], w.ByOp[a]) })
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = fmt.Sprintf("%s %.0f%%", op, 100*float64(w.ByOp[op])/float64(w.MACs))
	}
	return strings.Join(parts, ", ")
}
