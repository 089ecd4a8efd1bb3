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

// Per-channel Mul-then-Add pairs become BatchNormalization, and the graph
// computes what it did: bit for bit here (γ/√(1+0) is γ). A pair whose Mul
// result is read twice, and a 1-D constant (which broadcasts along the
// last axis, not the channels), stay.
func TestAffineToBatchNorm(t *testing.T) {
	rt := orttest.Runtime(t)
	r := rand.New(rand.NewPCG(3, 4))
	randn := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	b := onnx.NewBuilder("g", 17)
	x := b.Input("x", onnx.Float, "batch", 6, 5, 5)
	gamma := b.Initializer(onnx.TensorFloat32("gamma", []int64{6, 1, 1}, randn(6)))
	beta := b.Initializer(onnx.TensorFloat32("beta", []int64{6, 1, 1}, randn(6)))
	row := b.Initializer(onnx.TensorFloat32("row", []int64{5}, randn(5)))
	a1 := b.Node("Add", []string{b.Node("Mul", []string{x, gamma}), beta})  // rewritten
	a2 := b.Node("Add", []string{beta, b.Node("Mul", []string{gamma, a1})}) // rewritten (operands swapped)
	m3 := b.Node("Mul", []string{a2, gamma})                                // read twice: stays
	a3 := b.Node("Add", []string{m3, beta})
	a4 := b.Node("Add", []string{b.Node("Mul", []string{a3, row}), row}) // 1-D: stays
	b.OutputAs("y", b.Node("Add", []string{a4, m3}), onnx.Float)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	before := filepath.Join(dir, "before.onnx")
	if err := m.Save(before); err != nil {
		t.Fatal(err)
	}
	n, err := onnx.AffineToBatchNorm(m)
	if err != nil || n != 2 {
		t.Fatalf("replaced %d (%v), want 2", n, err)
	}
	after := filepath.Join(dir, "after.onnx")
	if err := m.Save(after); err != nil {
		t.Fatal(err)
	}
	in, err := ort.NewTensor(onnx.Float, 3, 6, 5, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	copy(in.Float32s(), randn(3*6*5*5))
	run := func(path string) []float32 {
		s, err := rt.NewSession(path, ort.SessionOptions{Provider: ort.ProviderCPU})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out, err := ort.NewTensor(onnx.Float, 3, 6, 5, 5)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Destroy()
		if err := s.Run(context.Background(), ort.Feeds{"x": in}, ort.Feeds{"y": out}); err != nil {
			t.Fatal(err)
		}
		return append([]float32{}, out.Float32s()...)
	}
	want, got := run(before), run(after)
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("element %d: %g after the rewrite, %g before", i, got[i], want[i])
		}
	}
}

// The ToyWorld UNet's 24 GroupNorm scale-and-shift pairs become
// BatchNormalization, and its output stays.
func TestAffineToBatchNormToyWorldUNet(t *testing.T) {
	rt := orttest.Runtime(t)
	m, err := onnx.Load(toyUNet)
	if err != nil {
		t.Fatal(err)
	}
	n, err := onnx.AffineToBatchNorm(m)
	if err != nil || n != 24 {
		t.Fatalf("replaced %d (%v), want 24 (one per GroupNorm)", n, err)
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := m.SaveLinked(path, m.ExternalPaths()); err != nil {
		t.Fatal(err)
	}
	in := toyUNetInputs(t)
	worst, scale := maxDiff(runToyUNet(t, rt, toyUNet, in), runToyUNet(t, rt, path, in))
	if worst > 1e-5*math.Max(1, scale) {
		t.Errorf("the UNet's output differs by %.3g (scale %.3g)", worst, scale)
	}
	t.Logf("max |diff| %.3g at output scale %.3g", worst, scale)
}
