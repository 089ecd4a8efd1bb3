package oneactor

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/diffusion/difftest"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/schedule"
)

// castFixture casts a subject on a synthetic SD-layout model: a batch from
// the base prompt with h captured from the conditional row at the last step.
func castFixture(t *testing.T, l difftest.Layout) (*ort.Runtime, *diffusion.Engine, *SubjectData, []int64) {
	t.Helper()
	rt, err := ort.Init()
	if err != nil {
		t.Fatalf("ONNX Runtime: %v", err)
	}
	dir := t.TempDir()
	difftest.WriteFolder(t, dir, filepath.Join("..", ".."), l)
	m, err := diffusion.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	eng := diffusion.NewEngine(rt, m, ort.SessionOptions{Provider: ort.ProviderCPU})
	t.Cleanup(func() { eng.Close() })
	ctx := context.Background()

	// Probe inputs: one row at the casting size.
	in := ort.Feeds{}
	mk := func(dt onnx.DataType, shape ...int64) *ort.Tensor {
		x, err := ort.NewTensor(dt, shape...)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	in[m.UNet.Sample] = mk(m.UNet.SampleType, 1, 4, 8, 8)
	var ts []int64
	if m.UNet.TimestepRank == 1 {
		ts = []int64{1}
	}
	in[m.UNet.Timestep] = mk(m.UNet.TimestepType, ts...)
	in[m.UNet.Context] = mk(m.UNet.ContextType, 1, int64(m.Tokenizer.MaxLength()), m.Text.Width)
	hm, err := BuildHModel(ctx, rt, filepath.Join(dir, "unet", "model.onnx"), in, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{1, 16, 4, 4}; len(hm.Shape) != 4 || hm.Shape[1] != 16 || hm.Shape[2] != 4 {
		t.Fatalf("h %s has shape %v, want %v (the mid block's input)", hm.Output, hm.Shape, want)
	}
	eng.SetUNetFile(hm.File)
	res, err := eng.Generate(ctx, diffusion.Request{Prompt: "a red creature on the beach", Steps: 4, CFG: 7.5,
		Sampler: schedule.Euler, Seed: 10, N: 4, Width: 32, Height: 32,
		Capture: &diffusion.Capture{Output: hm.Output, Row: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Captured) != 4 || len(res.Captured[0]) != 16*4*4 {
		t.Fatalf("captured %d h's of %d values", len(res.Captured), len(res.Captured[0]))
	}
	s := &SubjectData{BaseWord: "creature", Target: Sample{Z0: res.Latents[0], H: res.Captured[0]}}
	for k := 1; k < 4; k++ {
		s.Aux = append(s.Aux, Sample{Z0: res.Latents[k], H: res.Captured[k]})
	}
	return rt, eng, s, hm.Shape[1:]
}

// The tuning gradient — UNet backward per row, chain rule through the
// offsets and Δ_aver in Go, projector backward — equals finite differences
// of the whole 5-row objective.
func TestTuningGradientMatchesFiniteDifferences(t *testing.T) {
	for name, l := range map[string]difftest.Layout{"rank-0 timestep, row by row": difftest.Optimum, "batched rows": difftest.Script} {
		t.Run(name, func(t *testing.T) { checkTuningGradient(t, l) })
	}
}

func checkTuningGradient(t *testing.T, l difftest.Layout) {
	rt, eng, s, hShape := castFixture(t, l)
	ctx := context.Background()
	cfg := DefaultTune()
	cfg.Steps = 3
	cfg.Templates = []string{"a {} on the beach", "a red {}", "a {} in the snow"}
	tu, err := NewTuner(ctx, rt, eng, 8, 8, hShape, cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tu.Close()
	// This fixture adds its scalar timestep straight to a 4-D tensor, so a
	// [batch] timestep would broadcast along the width: the check in
	// batchTimestep must refuse the edit and say why.
	if tu.batched != (l.TSRank == 1) || (l.TSRank == 0) != (tu.RowByRow != "") {
		t.Fatalf("batched = %v for timestep rank %d (row by row because: %q)", tu.batched, l.TSRank, tu.RowByRow)
	}
	t.Logf("row by row because: %q", tu.RowByRow)
	// Tuning runs where the engine runs: this engine asked for the CPU, so
	// no session may have tried CUDA first (ProviderAuto would, and record
	// why it fell back) or run anywhere else.
	for name, ss := range map[string]*ort.Session{"unet grad": tu.unetGrad, "projector grad": tu.projGrad, "projector": tu.projFwd} {
		if ss.Provider() != ort.ProviderCPU || ss.FallbackReason() != "" {
			t.Errorf("%s session: provider %s, fallback %q; the engine's options say CPU", name, ss.Provider(), ss.FallbackReason())
		}
	}
	b := tu.draw(len(s.Aux))
	loss0, grads, err := tu.lossAndGrad(ctx, s, b)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	// The weights next to Δ: the toy UNet's sensitivity to the text is
	// small (gradients ~1e-5 against a loss of ~1 in float32), so the step
	// is large and the deep, BatchNorm-coupled weights are left to the
	// projector's own check against PyTorch (projector_test.go).
	for _, name := range []string{"fc.bias", "ln.bias", "ln.weight", "fc.weight"} {
		p := tu.params[name].Float32s()
		g := grads[name]
		scale := 0.0
		for _, v := range g {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for _, i := range []int{0, len(p) / 2, len(p) - 1} {
			orig := p[i]
			const eps = 1e-1
			p[i] = orig + eps
			lp, _, err := tu.lossAndGrad(ctx, s, b)
			if err != nil {
				t.Fatal(err)
			}
			p[i] = orig - eps
			lm, _, _ := tu.lossAndGrad(ctx, s, b)
			p[i] = orig
			num := (lp - lm) / (2 * eps)
			rel := math.Abs(num-float64(g[i])) / math.Max(math.Max(math.Abs(num), math.Abs(float64(g[i]))), 0.1*scale+1e-6)
			if rel > 0.05 {
				t.Errorf("%s[%d]: analytic %.5g, numeric %.5g (rel %.2g)", name, i, g[i], num, rel)
			}
			checked++
		}
	}
	t.Logf("loss %.4f; %d projector weights checked against finite differences", loss0, checked)

	curve, err := tu.Run(ctx, s, nil)
	if err != nil || len(curve) != cfg.Steps {
		t.Fatalf("run: %v %v", curve, err)
	}
	tar, aver, err := tu.Offsets(ctx, rt, s)
	if err != nil || len(tar) != int(eng.Model.Text.Width) || len(aver) != len(tar) {
		t.Fatalf("offsets: %d %d %v", len(tar), len(aver), err)
	}
	// Generate with the subject: the offsets change the picture; η2 = 0
	// keeps two rows per step.
	eng.SetUNetFile("")
	prompt := "a creature in the snow"
	req := diffusion.Request{Prompt: prompt, Steps: 6, Sampler: schedule.Euler, Seed: 3, N: 1, Width: 32, Height: 32}
	plain, err := eng.Generate(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range tar {
		tar[i] *= 50 // make the offset visible through the random toy UNet
	}
	req.Guidance = NewGuidance(eng.Model.Tokenizer, prompt, []Offsets{{BaseWord: "creature", Tar: tar, Aver: aver}}, DefaultGuidance())
	with, err := eng.Generate(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	same := true
	for i := range plain.Latents[0] {
		if plain.Latents[0][i] != with.Latents[0][i] {
			same = false
		}
	}
	if same {
		t.Fatal("subject guidance left the latents unchanged")
	}
}

func TestGuiderRows(t *testing.T) {
	e := diffusion.Embeddings{Uncond: make([]float32, 4), Cond: make([]float32, 4), Length: 2, Width: 2}
	cfg := DefaultGuidance()
	g := &guider{cfg: cfg, uncond: e.Uncond, cond: e.Cond, tarCond: e.Cond, averCond: e.Cond}
	rows := []int{}
	for i := 0; i < 30; i++ {
		rows = append(rows, len(g.Rows(i, 30)))
	}
	if rows[0] != 3 || rows[19] != 3 || rows[20] != 2 || rows[29] != 2 {
		t.Fatalf("rows per step with η2 > 0: %v (want 3 on the first 20 of 30)", rows)
	}
	g.cfg.Eta2 = 0
	if len(g.Rows(0, 30)) != 2 {
		t.Fatal("η2 = 0 must cost two rows, like plain sampling")
	}
	// Combine: ε∅ + η1(ε_tar − ε∅) − η2(ε_aver − ε∅)
	g.cfg = cfg
	out := make([]float32, 1)
	g.Combine(0, 30, [][]float32{{1}, {2}, {4}}, out)
	if want := float32(1 + 8.5*1 - 1.0*3); out[0] != want {
		t.Fatalf("guided combine %v, want %v", out[0], want)
	}
	g.Combine(25, 30, [][]float32{{1}, {2}}, out)
	if want := float32(1 + 7.5*1); out[0] != want {
		t.Fatalf("late combine %v, want %v", out[0], want)
	}
}

// Large latents tune one row per call (five rows of an SD 1.5 UNet at 512²
// would need ~28 GB), even when the timestep has a batch axis.
func TestLargeLatentsTuneRowByRow(t *testing.T) {
	rt, eng, _, hShape := castFixture(t, difftest.Script)
	cfg := DefaultTune()
	cfg.Steps = 1
	tu, err := NewTuner(context.Background(), rt, eng, 40, 40, hShape, cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tu.Close()
	if tu.batched || !strings.Contains(tu.RowByRow, "40×40") {
		t.Fatalf("batched %v, reason %q", tu.batched, tu.RowByRow)
	}
}
