package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"path/filepath"
	"time"

	"github.com/oneactor/oneactor-desktop/core/autodiff"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/service"
)

// runBenchGrad times one forward+backward of the model's UNet — d MSE /
// d encoder_hidden_states — over R rows, as tuning runs it: all rows in one
// run when the timestep input has a batch axis, else one row at a time.
func runBenchGrad(args []string, svc *service.Service, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench grad", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", service.BundledModel, "model folder or toyworld")
	rows := fs.Int("rows", 5, "rows (tuning uses 5)")
	repeat := fs.Int("repeat", 5, "timed runs (after one warm-up)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(stderr, "bench grad:", err); return 1 }
	rt, err := svc.Runtime()
	if err != nil {
		return fail(err)
	}
	m, err := svc.OpenModel(*model)
	if err != nil {
		return fail(err)
	}
	u := m.UNet
	batch := int64(*rows)
	runsPerPass := 1
	if u.TimestepRank == 0 {
		batch, runsPerPass = 1, *rows
	}
	// The gradient graph computes in float32 whatever the export's I/O.
	rng := rand.New(rand.NewSource(1))
	feeds, err := randomUNetFeeds(m, batch, true, rng)
	if err != nil {
		return fail(err)
	}
	defer feeds.Destroy()
	ctx := context.Background()
	t0 := time.Now()
	built, err := autodiff.Build(ctx, rt, filepath.Join(m.Dir, u.Dir, "model.onnx"), feeds,
		autodiff.Options{Wrt: []string{u.Context}, Output: u.Out, Loss: autodiff.LossMSE,
			Float32: u.SampleType == onnx.Float16}, filepath.Join(svc.DataDir(), "cache", "grad"))
	if err != nil {
		return fail(err)
	}
	compile := time.Since(t0)
	opts := svc.SessionOptions() // the provider and --threads, and spinning workers, as tuning's gradient session has them
	opts.Spin = true
	s, err := rt.NewSession(built.Path, opts)
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	target, err := randomTensor(onnx.Float, feeds[u.Sample].Shape(), built.Target, rng)
	if err != nil {
		return fail(err)
	}
	feeds[built.Target] = target // destroyed with the other feeds
	pass := func() error {
		for i := 0; i < runsPerPass; i++ {
			if err := s.Run(ctx, feeds, ort.Feeds{}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := pass(); err != nil {
		return fail(err)
	}
	var times []float64
	for i := 0; i < *repeat; i++ {
		t := time.Now()
		if err := pass(); err != nil {
			return fail(err)
		}
		times = append(times, time.Since(t).Seconds())
	}
	fmt.Fprintf(stdout, "model %s UNet: %d forward + %d backward nodes; compile %v (cached: %v)\n",
		m.Name, built.ForwardNodes, built.BackwardNodes, compile.Round(time.Millisecond), built.Cached)
	fmt.Fprintf(stdout, "%d rows as %d run(s) of batch %d: forward+backward median %.4fs over %d runs; peak RSS %.1f MiB\n",
		*rows, runsPerPass, batch, median(times), *repeat, peakRSSMiB())
	return 0
}
