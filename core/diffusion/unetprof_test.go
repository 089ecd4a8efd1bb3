package diffusion

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
)

// TestProfileUNet writes ONNX Runtime's per-node profile of the ToyWorld
// UNet at 8 rows, one thread, to $UNET_PROFILE (a path prefix); skipped
// when it is not set. $UNET_FILE picks another UNet file (UNET_FILE=fused:
// the UNet as onnx.FuseAttention rewrites it).
func TestProfileUNet(t *testing.T) {
	prefix := os.Getenv("UNET_PROFILE")
	if prefix == "" {
		t.Skip("set UNET_PROFILE")
	}
	rt := orttest.Runtime(t)
	m, _ := toyworld(t)
	path := filepath.Join(m.Dir, m.UNet.Dir, "model.onnx")
	if f := os.Getenv("UNET_FILE"); f == "fused" {
		path = fusedCopy(t, path)
	} else if f != "" {
		path = f
	}
	s, err := rt.NewSession(path, ort.SessionOptions{Provider: ort.ProviderCPU, IntraOpThreads: 1,
		ProfilePrefix: prefix, OptimizedModelPath: prefix + "_opt.onnx"})
	if err != nil {
		t.Fatal(err)
	}
	u := m.UNet
	B, hw := int64(8), m.UNet.SampleSize
	if hw <= 0 {
		hw = 8
	}
	mk := orttest.RandomTensors(t, rand.New(rand.NewPCG(1, 2)))
	sample := mk(onnx.Float, B, m.LatentChannels, hw, hw)
	ts := mk(u.TimestepType)
	setTimestep(ts, 500)
	c := mk(onnx.Float, B, int64(m.Tokenizer.MaxLength()), m.Text.Width)
	out := mk(onnx.Float, B, m.LatentChannels, hw, hw)
	for i := 0; i < 40; i++ {
		if err := s.Run(context.Background(), ort.Feeds{u.Sample: sample, u.Timestep: ts, u.Context: c}, ort.Feeds{u.Out: out}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
}

// fusedCopy writes the UNet at src as onnx.FuseAttention rewrites it to a
// temporary file and returns its path.
func fusedCopy(t *testing.T, src string) string {
	g, err := onnx.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	n, err := onnx.FuseAttention(g)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := g.SaveLinked(path, g.ExternalPaths()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d attentions fused", n)
	return path
}

// TestABUNet times the ToyWorld UNet against $UNET_AB (an edited copy) at
// 8 rows, one thread, the two taking turns, and compares their outputs
// (UNET_AB=fused: the UNet as onnx.FuseAttention rewrites it).
// $UNET_AB_BASE replaces the original as the baseline; $UNET_AB_CONFIG
// ("key=value,…") adds session configuration entries to the edited side;
// UNET_AB_OPT=extended opens it without the layout optimisations.
func TestABUNet(t *testing.T) {
	other := os.Getenv("UNET_AB")
	if other == "" {
		t.Skip("set UNET_AB")
	}
	rt := orttest.Runtime(t)
	m, _ := toyworld(t)
	if other == "fused" || os.Getenv("UNET_AB_FUSE") != "" { // the engine's rewrite: onnx.FuseAttention (of the committed UNet, or of $UNET_AB)
		src := filepath.Join(m.Dir, m.UNet.Dir, "model.onnx")
		if other != "fused" {
			src = other
		}
		other = fusedCopy(t, src)
	}
	opts := ort.SessionOptions{Provider: ort.ProviderCPU, IntraOpThreads: 1}
	base := filepath.Join(m.Dir, m.UNet.Dir, "model.onnx")
	if p := os.Getenv("UNET_AB_BASE"); p != "" {
		base = p
	}
	a, err := rt.NewSession(base, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	bopts := opts
	if c := os.Getenv("UNET_AB_CONFIG"); c != "" { // "key=value,key=value" for the edited side
		bopts.Config = map[string]string{}
		for _, kv := range strings.Split(c, ",") {
			k, v, _ := strings.Cut(kv, "=")
			bopts.Config[k] = v
		}
	}
	if os.Getenv("UNET_AB_OPT") == "extended" { // the edited side without the layout (NCHWc) optimisations
		bopts.OptLevel = ort.OptExtended
	}
	b, err := rt.NewSession(other, bopts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	u := m.UNet
	B, hw := int64(8), int64(8)
	mk := orttest.RandomTensors(t, rand.New(rand.NewPCG(1, 2)))
	sample := mk(onnx.Float, B, m.LatentChannels, hw, hw)
	ts := mk(u.TimestepType)
	setTimestep(ts, 500)
	c := mk(onnx.Float, B, int64(m.Tokenizer.MaxLength()), m.Text.Width)
	oa := mk(onnx.Float, B, m.LatentChannels, hw, hw)
	ob := mk(onnx.Float, B, m.LatentChannels, hw, hw)
	// Inputs only the edited graph has (e.g. hoisted context projections,
	// static shapes in its signature) get random values: timing only.
	extra := ort.Feeds{}
	for _, in := range b.Signature().Inputs {
		if in.Name == u.Sample || in.Name == u.Timestep || in.Name == u.Context {
			continue
		}
		dims := make([]int64, len(in.Shape))
		for i, d := range in.Shape {
			dims[i] = d.Value
		}
		extra[in.Name] = mk(in.Type, dims...)
	}
	run := func(s *ort.Session, o *ort.Tensor) time.Duration {
		feeds := ort.Feeds{u.Sample: sample, u.Timestep: ts, u.Context: c}
		if s == b {
			if _, ok := b.Signature().Input(u.Context); !ok {
				delete(feeds, u.Context)
			}
			for k, v := range extra {
				feeds[k] = v
			}
		}
		t0 := time.Now()
		if err := s.Run(context.Background(), feeds, ort.Feeds{u.Out: o}); err != nil {
			t.Fatal(err)
		}
		return time.Since(t0)
	}
	for i := 0; i < 5; i++ {
		run(a, oa)
		run(b, ob)
	}
	worst := 0.0
	for i, v := range oa.Float32s() {
		worst = max(worst, math.Abs(float64(v-ob.Float32s()[i])))
	}
	n := 200
	if s := os.Getenv("UNET_AB_N"); s != "" {
		fmt.Sscan(s, &n)
	}
	var ta, tb []float64
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			ta = append(ta, run(a, oa).Seconds())
			tb = append(tb, run(b, ob).Seconds())
		} else {
			tb = append(tb, run(b, ob).Seconds())
			ta = append(ta, run(a, oa).Seconds())
		}
	}
	sort.Float64s(ta)
	sort.Float64s(tb)
	var ratios []float64
	for i := range ta {
		ratios = append(ratios, tb[i]/ta[i])
	}
	t.Logf("max |diff| %.3g; original median %.2f ms (p10 %.2f), edited median %.2f ms (p10 %.2f); edited/original median %.3f, p10 %.3f",
		worst, 1e3*ta[n/2], 1e3*ta[n/10], 1e3*tb[n/2], 1e3*tb[n/10], tb[n/2]/ta[n/2], tb[n/10]/ta[n/10])
}
