package oneactor

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/internal/golden"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

func toyRoot() string {
	if r := os.Getenv("TOYWORLD_ROOT"); r != "" {
		return r
	}
	return filepath.Join("..", "..")
}

// The structurally found h of the ToyWorld UNet is the mid-block input
// PyTorch reports (goldens unet_t*_h), at every golden timestep.
func TestToyWorldHIsTheMidBlockInput(t *testing.T) {
	rt, err := ort.Init()
	if err != nil {
		t.Fatal(err)
	}
	g, err := golden.Load(toyRoot())
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(toyRoot(), "models", "toyworld", "unet")
	dir := t.TempDir() // BuildHModel writes beside the UNet: work on a copy
	for _, f := range []string{"model.onnx", onnx.ModelOnnxData} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	unet := filepath.Join(dir, "model.onnx")
	ctx := context.Background()
	checked := 0
	for _, c := range g.Cases {
		if c.Model != "unet" || c.Kind != "" {
			continue
		}
		x, xs, _ := g.Float32(c.Inputs["sample"])
		ehs, es, _ := g.Float32(c.Inputs["encoder_hidden_states"])
		want, _, _ := g.Float32(c.Outputs["h_mid_block_input"])
		sample, _ := ort.NewTensor(onnx.Float, xs...)
		sample.SetFloat32(x)
		text, _ := ort.NewTensor(onnx.Float, es...)
		text.SetFloat32(ehs)
		ts, _ := ort.NewTensor(onnx.Int64)
		ts.Int64s()[0] = int64(c.Timestep)
		in := ort.Feeds{"sample": sample, "timestep": ts, "encoder_hidden_states": text}
		hm, err := BuildHModel(ctx, rt, unet, in, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s, err := rt.NewSession(hm.File, ort.SessionOptions{Provider: ort.ProviderCPU})
		if err != nil {
			t.Fatal(err)
		}
		out := ort.Feeds{}
		if err := s.Run(ctx, in, out); err != nil {
			t.Fatal(err)
		}
		got := out[hm.Output].Float32s()
		d := golden.MaxAbsDiff(got, want)
		t.Logf("t=%g: h = %q %v, max |diff| vs PyTorch's mid-block input %.2e", c.Timestep, hm.Output, hm.Shape, d)
		if len(got) != len(want) || d > 1e-4 {
			t.Fatalf("h differs from the mid-block input: %d vs %d values, max diff %.3g", len(got), len(want), d)
		}
		s.Close()
		checked++
	}
	if checked == 0 {
		t.Fatal("no UNet golden cases")
	}
}

// The bundled ToyWorld export has a scalar timestep; tuning gives it a
// per-row one (verified inside NewTuner) and batches the five rows. The
// loss and the projector's gradient equal the one-row-per-call path's for
// the same draw.
func TestToyWorldTuningBatchesAScalarTimestep(t *testing.T) {
	rt, err := ort.Init()
	if err != nil {
		t.Fatal(err)
	}
	m, err := diffusion.Open(filepath.Join(toyRoot(), "models", "toyworld"))
	if err != nil {
		t.Fatal(err)
	}
	if m.UNet.TimestepRank != 0 {
		t.Fatalf("the bundled layout should have a rank-0 timestep, has rank %d", m.UNet.TimestepRank)
	}
	eng := diffusion.NewEngine(rt, m, ort.SessionOptions{Provider: ort.ProviderCPU})
	defer eng.Close()
	ctx := context.Background()
	cache := t.TempDir()
	c, err := NewCaster(ctx, rt, eng, cache)
	if err != nil {
		t.Fatal(err)
	}
	cands, err := c.Candidates(ctx, "a creature", 300, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &SubjectData{BaseWord: "creature", Target: cands[0].Sample}
	for _, k := range cands[1:] {
		s.Aux = append(s.Aux, k.Sample)
	}
	cfg := DefaultTune()
	fast, err := NewTuner(ctx, rt, eng, c.LatentH, c.LatentW, c.HShape(), cfg, cache)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	if !fast.batched || fast.RowByRow != "" {
		t.Fatalf("rows not batched: %s", fast.RowByRow)
	}
	cfg.LowMemory = true
	slow, err := NewTuner(ctx, rt, eng, c.LatentH, c.LatentW, c.HShape(), cfg, cache)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if slow.batched {
		t.Fatal("the low-memory setting still batches")
	}
	b := fast.draw(len(s.Aux))
	lf, gf, err := fast.lossAndGrad(ctx, s, b)
	if err != nil {
		t.Fatal(err)
	}
	ls, gs, err := slow.lossAndGrad(ctx, s, b)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(lf-ls) > 1e-5*math.Max(1, math.Abs(ls)) {
		t.Errorf("loss batched %.7g, row by row %.7g", lf, ls)
	}
	for name, g := range gs {
		worst, scale := 0.0, 0.0
		for i := range g {
			worst = math.Max(worst, math.Abs(float64(g[i]-gf[name][i])))
			scale = math.Max(scale, math.Abs(float64(g[i])))
		}
		if worst > 1e-3*scale+1e-9 {
			t.Errorf("%s: gradients differ by %.3g (scale %.3g)", name, worst, scale)
		}
	}
	t.Logf("loss %.6f both ways; %d projector gradients equal", lf, len(gs))
}
