package autodiff

import (
	"context"

	"github.com/x448/float16"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
)

// A model with external weights: the gradient model refers to the same
// weights file (no copy), through a hard link from the cache folder or
// beside the model, and a second Build reuses the first.
func TestBuildKeepsWeightsExternalAndCaches(t *testing.T) {
	rt := orttest.Runtime(t)
	r := rand.New(rand.NewSource(3))
	b := onnx.NewBuilder("ext", 17)
	x := b.Input("x", onnx.Float, 2, 64)
	w := weight(b, r, "w", 64, 64)
	b.OutputAs("y", b.Node("Tanh", []string{b.Node("MatMul", []string{x, w})}), onnx.Float, 2, 64)
	m, _ := b.Model()
	ctx := context.Background()

	for _, useCache := range []bool{true, false} {
		dir := t.TempDir()
		path := filepath.Join(dir, "model.onnx")
		if err := m.SaveWithExternalData(path, onnx.ExternalOptions{Location: onnx.ModelOnnxData}); err != nil {
			t.Fatal(err)
		}
		weights := filepath.Join(dir, onnx.ModelOnnxData)
		st, _ := os.Stat(weights)
		xt, _ := ort.NewTensor(onnx.Float, 2, 64)
		xt.SetFloat32(randData(r, 128, 0, 0))
		cache := t.TempDir()
		wantDir := cache
		if !useCache { // no cache folder: the gradient model goes beside the model
			cache, wantDir = "", dir
		}
		built, err := Build(ctx, rt, path, ort.Feeds{"x": xt}, Options{Wrt: []string{"x"}, Output: "y", Loss: LossUpstream}, cache)
		if err != nil {
			t.Fatal(err)
		}
		if built.Cached {
			t.Fatal("first build reported as cached")
		}
		if rel, _ := filepath.Rel(wantDir, built.Path); filepath.IsAbs(rel) || rel[:2] == ".." {
			t.Errorf("gradient model at %s, want under %s", built.Path, wantDir)
		}
		gm, err := onnx.Load(built.Path)
		if err != nil {
			t.Fatal(err)
		}
		if files := gm.ExternalFiles(); len(files) != 1 || files[0] != onnx.ModelOnnxData {
			t.Fatalf("gradient model's external files: %v", files)
		}
		if st2, _ := os.Stat(weights); st2.Size() != st.Size() {
			t.Fatal("weights file changed")
		}
		if fi, _ := os.Stat(built.Path); fi.Size() > 64<<10 {
			t.Fatalf("gradient model holds %d bytes: weights copied?", fi.Size())
		}
		s, err := rt.NewSession(built.Path, ort.SessionOptions{Provider: ort.ProviderCPU})
		if err != nil {
			t.Fatal(err)
		}
		up, _ := ort.NewTensor(onnx.Float, 2, 64)
		up.SetFloat32(randData(r, 128, 0, 0))
		out := ort.Feeds{}
		if err := s.Run(ctx, ort.Feeds{"x": xt, built.Upstream: up}, out); err != nil {
			t.Fatal(err)
		}
		s.Close()
		again, err := Build(ctx, rt, path, ort.Feeds{"x": xt}, Options{Wrt: []string{"x"}, Output: "y", Loss: LossUpstream}, cache)
		if err != nil || !again.Cached || again.Path != built.Path || again.Grads["x"] != built.Grads["x"] {
			t.Fatalf("second build: %+v %v", again, err)
		}
	}
}

// A float16 model is widened to float32 for the backward pass.
func TestBuildFloat16AsFloat32(t *testing.T) {
	rt := orttest.Runtime(t)
	b := onnx.NewBuilder("half", 17)
	x := b.Input("x", onnx.Float16, 1, 3000)
	w := make([]float32, 3000)
	for i := range w {
		w[i] = float32(i%17)/7 - 1.1
	}
	y := b.Node("Mul", []string{x, b.Initializer(onnx.TensorFloat16("w", []int64{3000}, w))})
	b.OutputAs("y", y, onnx.Float16, 1, 3000)
	m, _ := b.Model()
	dir := t.TempDir()
	path := filepath.Join(dir, "unet.onnx")
	if err := m.SaveWithExternalData(path, onnx.ExternalOptions{Location: onnx.WeightsPB}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	xt, _ := ort.NewTensor(onnx.Float, 1, 3000)
	if _, err := Build(ctx, rt, path, ort.Feeds{"x": xt}, Options{Wrt: []string{"x"}, Output: "y", Loss: LossUpstream}, ""); err == nil {
		t.Fatal("float16 output accepted without Float32")
	}
	built, err := Build(ctx, rt, path, ort.Feeds{"x": xt}, Options{Wrt: []string{"x"}, Output: "y", Loss: LossUpstream, Float32: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(built.Path, ort.SessionOptions{Provider: ort.ProviderCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	up, _ := ort.NewTensor(onnx.Float, 1, 3000)
	ones := make([]float32, 3000)
	for i := range ones {
		ones[i] = 1
	}
	up.SetFloat32(ones)
	out := ort.Feeds{}
	if err := s.Run(ctx, ort.Feeds{"x": xt, built.Upstream: up}, out); err != nil {
		t.Fatal(err)
	}
	g := out[built.Grads["x"]].Float32s()
	for i := range g {
		if g[i] != float16Round(w[i]) {
			t.Fatalf("dy/dx[%d] = %v, want the float16 weight %v", i, g[i], float16Round(w[i]))
		}
	}
}

func float16Round(v float32) float32 { return float16.Fromfloat32(v).Float32() }

// The retained-activation estimate grows with the rows evaluated together,
// which is why tuning runs the UNet one row at a time.
func TestMemoryEstimateScalesWithRows(t *testing.T) {
	rt := orttest.Runtime(t)
	r := rand.New(rand.NewSource(9))
	b := onnx.NewBuilder("net", 17)
	x := b.Input("x", onnx.Float, "batch", 8, 16, 16)
	h := b.Node("Relu", []string{b.Node("Conv", []string{x, weight(b, r, "w1", 16, 8, 3, 3)}, onnx.AttrInts("pads", 1, 1, 1, 1))})
	y := b.Node("Tanh", []string{b.Node("Conv", []string{h, weight(b, r, "w2", 8, 16, 3, 3)}, onnx.AttrInts("pads", 1, 1, 1, 1))})
	b.OutputAs("y", y, onnx.Float, "batch", 8, 16, 16)
	m, _ := b.Model()
	est := map[int64]Memory{}
	for _, rows := range []int64{1, 5} {
		xt, _ := ort.NewTensor(onnx.Float, rows, 8, 16, 16)
		sh, err := Probe(context.Background(), rt, m, ort.Feeds{"x": xt})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Compile(m, sh, Options{Wrt: []string{"x"}, Output: "y", Loss: LossMSE})
		if err != nil {
			t.Fatal(err)
		}
		est[rows] = EstimateMemory(res, sh)
	}
	one, five := est[1], est[5]
	if one.RetainedBytes == 0 || five.RetainedBytes != 5*one.RetainedBytes || one.WeightBytes != five.WeightBytes {
		t.Fatalf("estimates: 1 row %+v, 5 rows %+v", one, five)
	}
	// The peak holds at least the retained activations, and grows with the
	// rows too (all but the scalar loss and shape constants carry the batch).
	if one.PeakBytes < one.RetainedBytes || five.PeakBytes-5*one.PeakBytes > 64 || 5*one.PeakBytes-five.PeakBytes > 64 {
		t.Fatalf("peaks: 1 row %d (retained %d), 5 rows %d", one.PeakBytes, one.RetainedBytes, five.PeakBytes)
	}
	if one.HalfRetainedBytes*2 != one.RetainedBytes || one.HalfWeightBytes >= one.WeightBytes {
		t.Fatalf("float16 figures are not half the float32 ones: %+v", one)
	}
	t.Logf("1 row: %d retained bytes in %d values, peak %d; 5 rows: %d, peak %d",
		one.RetainedBytes, one.RetainedValues, one.PeakBytes, five.RetainedBytes, five.PeakBytes)
}
