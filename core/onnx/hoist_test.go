package onnx_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// The ToyWorld UNet split around encoder_hidden_states — Pre (the 14
// cross-attention key/value projections) then Main — gives the original's
// output.
func TestHoistProjectionsToyWorldUNet(t *testing.T) {
	rt, err := ort.Init()
	if err != nil {
		t.Skip("ONNX Runtime not available:", err)
	}
	src := filepath.Join("..", "..", "models", "toyworld", "unet", "model.onnx")
	m, err := onnx.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	h, err := onnx.HoistProjections(m, "encoder_hidden_states")
	if err != nil {
		t.Fatal(err)
	}
	matmuls := 0
	for _, n := range h.Pre.Proto.GetGraph().GetNode() {
		if n.GetOpType() == "MatMul" {
			matmuls++
		}
	}
	// 7 transformer blocks × (key, value) of the cross-attention.
	if matmuls != 14 {
		t.Errorf("%d projections hoisted, want 14", matmuls)
	}
	dir := t.TempDir()
	mainPath, prePath := filepath.Join(dir, "main.onnx"), filepath.Join(dir, "pre.onnx")
	if err := h.Main.SaveLinked(mainPath, h.Main.ExternalPaths()); err != nil {
		t.Fatal(err)
	}
	if err := h.Pre.SaveLinked(prePath, h.Pre.ExternalPaths()); err != nil {
		t.Fatal(err)
	}
	open := func(p string) *ort.Session {
		s, err := rt.NewSession(p, ort.SessionOptions{Provider: ort.ProviderCPU})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	r := rand.New(rand.NewPCG(7, 8))
	mk := func(dt onnx.DataType, shape ...int64) *ort.Tensor {
		x, err := ort.NewTensor(dt, shape...)
		if err != nil {
			t.Fatal(err)
		}
		if v := x.Float32s(); v != nil {
			for i := range v {
				v[i] = float32(r.NormFloat64())
			}
		}
		t.Cleanup(x.Destroy)
		return x
	}
	B := int64(3)
	ts := mk(onnx.Int64)
	ts.SetInt64([]int64{321})
	sample, ehs := mk(onnx.Float, B, 4, 8, 8), mk(onnx.Float, B, 77, 64)
	want := mk(onnx.Float, B, 4, 8, 8)
	if err := open(src).Run(context.Background(), ort.Feeds{"sample": sample, "timestep": ts, "encoder_hidden_states": ehs},
		ort.Feeds{"out_sample": want}); err != nil {
		t.Fatal(err)
	}
	// Pre's outputs, sized from the input as Values says.
	vals := ort.Feeds{}
	for _, v := range h.Values {
		dims := make([]int64, len(v.Shape))
		for i, d := range v.Shape {
			dims[i] = d.Value
			if d.Value <= 0 {
				dims[i] = ehs.Shape()[i]
			}
		}
		vals[v.Name] = mk(v.Type, dims...)
	}
	if err := open(prePath).Run(context.Background(), ort.Feeds{"encoder_hidden_states": ehs}, vals); err != nil {
		t.Fatal(err)
	}
	in := ort.Feeds{"sample": sample, "timestep": ts}
	for k, v := range vals {
		in[k] = v
	}
	if h.KeepsInput {
		in["encoder_hidden_states"] = ehs
	}
	got := mk(onnx.Float, B, 4, 8, 8)
	if err := open(mainPath).Run(context.Background(), in, ort.Feeds{"out_sample": got}); err != nil {
		t.Fatal(err)
	}
	worst, scale := 0.0, 0.0
	for i, w := range want.Float32s() {
		worst = math.Max(worst, math.Abs(float64(w-got.Float32s()[i])))
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	if worst > 1e-5*math.Max(1, scale) {
		t.Errorf("Pre then Main differs from the UNet by %.3g (scale %.3g)", worst, scale)
	}
	t.Logf("%d values hoisted (keeps the input: %v); max |diff| %.3g at output scale %.3g", len(h.Values), h.KeepsInput, worst, scale)
}
