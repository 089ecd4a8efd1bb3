package onnx_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
)

// Helpers of the tests that run rewritten graphs in ONNX Runtime.

// maxDiff is the largest |want−got| and the largest |want| (the scale a
// tolerance is relative to).
func maxDiff(want, got []float32) (worst, scale float64) {
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(want[i]-got[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	return worst, scale
}

// toyUNet is the committed ToyWorld UNet graph.
var toyUNet = filepath.Join("..", "..", "models", "toyworld", "unet", "model.onnx")

// toyUNetInputs are 3 rows of fixed random latents and text states at
// timestep 321, in the ToyWorld UNet's input names.
func toyUNetInputs(t testing.TB) ort.Feeds {
	mk := orttest.RandomTensors(t, rand.New(rand.NewPCG(7, 8)))
	ts := mk(onnx.Int64)
	ts.SetInt64([]int64{321})
	return ort.Feeds{"sample": mk(onnx.Float, 3, 4, 8, 8), "timestep": ts, "encoder_hidden_states": mk(onnx.Float, 3, 77, 64)}
}

// runToyUNet runs a ToyWorld UNet graph file (or a rewrite of it taking in)
// and returns out_sample.
func runToyUNet(t testing.TB, rt *ort.Runtime, path string, in ort.Feeds) []float32 {
	t.Helper()
	s, err := rt.NewSession(path, ort.SessionOptions{Provider: ort.ProviderCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := ort.NewTensor(onnx.Float, in["sample"].Shape()...)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Destroy()
	if err := s.Run(context.Background(), in, ort.Feeds{"out_sample": out}); err != nil {
		t.Fatal(err)
	}
	return append([]float32{}, out.Float32s()...)
}
