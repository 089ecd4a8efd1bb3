package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func linearModel(t *testing.T, in, out int) *Model {
	t.Helper()
	b := NewBuilder("linear", 17)
	x := b.Input("x", Float, "batch", in)
	w := make([]float32, in*out)
	for i := range w {
		w[i] = float32(i%7) - 3
	}
	wn := b.Initializer(TensorFloat32("w", []int64{int64(in), int64(out)}, w))
	bias := b.Initializer(TensorFloat32("b", []int64{int64(out)}, make([]float32, out)))
	y := b.Node("Add", []string{b.Node("MatMul", []string{x, wn}), bias})
	b.OutputAs("y", y, Float, "batch", out)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuilderInfersShapes(t *testing.T) {
	b := NewBuilder("shapes", 17)
	x := b.Input("x", Float, "n", 3, 16, 16)
	w := b.Initializer(TensorFloat32("w", []int64{8, 3, 3, 3}, make([]float32, 8*27)))
	c := b.Node("Conv", []string{x, w}, AttrInts("pads", 1, 1, 1, 1), AttrInts("strides", 2, 2))
	r := b.Node("Relu", []string{c})
	sh := b.Initializer(TensorInt64("shape", []int64{3}, []int64{0, 8, -1}))
	flat := b.Node("Reshape", []string{r, sh})
	tr := b.Node("Transpose", []string{flat}, AttrInts("perm", 0, 2, 1))
	mm2 := b.Node("MatMul", []string{tr, b.Input("k", Float, 8, 5)})
	sm := b.Node("Softmax", []string{mm2}, AttrInt("axis", -1))
	mean := b.Node("ReduceMean", []string{sm}, AttrInts("axes", 1), AttrInt("keepdims", 0))
	u := b.Node("Unsqueeze", []string{mean, b.Initializer(TensorInt64("ax", []int64{1}, []int64{0}))})
	cat := b.Node("Concat", []string{u, u}, AttrInt("axis", 0))
	cast := b.Node("Cast", []string{cat}, AttrInt("to", int64(Float16)))

	got := func(name string) string {
		vi, ok := b.Info(name)
		if !ok {
			t.Fatalf("no info for %s", name)
		}
		s := vi.String()
		return s[strings.Index(s, ": ")+2:]
	}
	checks := []struct{ name, want string }{
		{c, "float32[n,8,8,8]"},
		{flat, "float32[n,8,64]"},
		{tr, "float32[n,64,8]"},
		{mm2, "float32[n,64,5]"},
		{sm, "float32[n,64,5]"},
		{mean, "float32[n,5]"},
		{u, "float32[1,n,5]"},
		{cat, "float32[2,n,5]"},
		{cast, "float16[2,n,5]"},
	}
	for _, c := range checks {
		if g := got(c.name); g != c.want {
			t.Errorf("%s: got %s, want %s", c.name, g, c.want)
		}
	}
	b.Output(cast)
	if _, err := b.Model(); err != nil {
		t.Fatal(err)
	}
}

func TestBuilderErrors(t *testing.T) {
	b := NewBuilder("bad", 17)
	b.Node("Relu", []string{"nope"})
	if _, err := b.Model(); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("want undefined-input error, got %v", err)
	}
	b = NewBuilder("dup", 17)
	b.Input("x", Float, 1)
	b.Input("x", Float, 1)
	b.Output("x")
	if _, err := b.Model(); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("want duplicate error, got %v", err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := linearModel(t, 4, 3)
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sig := back.Signature()
	if got := sig.Inputs[0].String(); got != "x: float32[batch,4]" {
		t.Errorf("input: %s", got)
	}
	if got := sig.Outputs[0].String(); got != "y: float32[batch,3]" {
		t.Errorf("output: %s", got)
	}
	if sig.Opset != 17 || sig.IRVersion != 8 {
		t.Errorf("opset %d ir %d", sig.Opset, sig.IRVersion)
	}
	w1, _ := m.TensorFloat32s(m.Initializer("w"))
	w2, err := back.TensorFloat32s(back.Initializer("w"))
	if err != nil || !reflect.DeepEqual(w1, w2) {
		t.Fatalf("weights differ after round trip: %v", err)
	}
}

func TestExternalDataConventions(t *testing.T) {
	for _, loc := range []string{WeightsPB, ModelOnnxData} {
		t.Run(loc, func(t *testing.T) {
			m := linearModel(t, 64, 32) // w: 8 KiB → external; b: 128 B → inline
			dir := t.TempDir()
			path := filepath.Join(dir, "model.onnx")
			if err := m.SaveWithExternalData(path, ExternalOptions{Location: loc}); err != nil {
				t.Fatal(err)
			}
			back, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := back.ExternalFiles(); !reflect.DeepEqual(got, []string{loc}) {
				t.Fatalf("external files %v", got)
			}
			if isExternal(back.Initializer("b")) {
				t.Error("small bias should stay inline")
			}
			w1, _ := m.TensorFloat32s(m.Initializer("w"))
			w2, err := back.TensorFloat32s(back.Initializer("w"))
			if err != nil || !reflect.DeepEqual(w1, w2) {
				t.Fatalf("external weights differ: %v", err)
			}
			// Re-saving an external model into another folder streams the
			// weights across; the source model is unchanged.
			dir2 := t.TempDir()
			if err := back.Save(filepath.Join(dir2, "x.onnx")); err == nil {
				t.Fatal("Save to another folder must refuse dangling external data")
			}
			p2 := filepath.Join(dir2, "copy.onnx")
			if err := back.SaveWithExternalData(p2, ExternalOptions{Location: "copy.bin"}); err != nil {
				t.Fatal(err)
			}
			again, err := Load(p2)
			if err != nil {
				t.Fatal(err)
			}
			w3, err := again.TensorFloat32s(again.Initializer("w"))
			if err != nil || !reflect.DeepEqual(w1, w3) {
				t.Fatalf("copied weights differ: %v", err)
			}
			if !isExternal(back.Initializer("w")) || externalField(back.Initializer("w"), "location") != loc {
				t.Fatal("SaveWithExternalData changed the source model")
			}
		})
	}
}

func TestSignatureDoesNotReadWeights(t *testing.T) {
	m := linearModel(t, 64, 32)
	dir := t.TempDir()
	path := filepath.Join(dir, "unet.onnx")
	if err := m.SaveWithExternalData(path, ExternalOptions{Location: WeightsPB}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, WeightsPB)); err != nil {
		t.Fatal(err)
	}
	sig, err := ReadSignature(path)
	if err != nil {
		t.Fatalf("signature must not need the weights file: %v", err)
	}
	if sig.Inputs[0].Name != "x" || sig.Outputs[0].Name != "y" || sig.ExternalFiles[0] != WeightsPB {
		t.Fatalf("signature %+v", sig)
	}
	back, _ := Load(path)
	_, err = back.TensorBytes(back.Initializer("w"))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reading an absent weights file must fail with not-exist, got %v", err)
	}
}

func TestExternalLocationTraversalRejected(t *testing.T) {
	m := linearModel(t, 64, 32)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	if err := m.SaveWithExternalData(path, ExternalOptions{Location: "w.bin"}); err != nil {
		t.Fatal(err)
	}
	back, _ := Load(path)
	w := back.Initializer("w")
	for _, bad := range []string{"../w.bin", "/etc/passwd", "a/../../w.bin"} {
		for _, kv := range w.ExternalData {
			if kv.GetKey() == "location" {
				kv.Value = ptr(bad)
			}
		}
		if _, err := back.TensorBytes(w); err == nil {
			t.Errorf("location %q accepted", bad)
		}
	}
	if err := m.SaveWithExternalData(filepath.Join(dir, "n.onnx"), ExternalOptions{Location: "../x.bin"}); err == nil {
		t.Error("SaveWithExternalData accepted a location outside the folder")
	}
}

func TestNotONNX(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"empty":   {},
		"text":    []byte("this is not a model\n"),
		"garbage": {0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		p := filepath.Join(dir, name+".onnx")
		os.WriteFile(p, data, 0o644)
		if _, err := Load(p); !errors.Is(err, ErrNotONNX) {
			t.Errorf("%s: want ErrNotONNX, got %v", name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.onnx")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestTypedFieldTensors(t *testing.T) {
	// Exporters sometimes write float_data / int64_data instead of raw_data.
	m := &Model{}
	ft := TensorFloat32("f", []int64{2}, nil)
	ft.RawData = nil
	ft.FloatData = []float32{1.5, -2}
	if v, err := m.TensorFloat32s(ft); err != nil || !reflect.DeepEqual(v, []float32{1.5, -2}) {
		t.Fatalf("float_data: %v %v", v, err)
	}
	h := TensorFloat16("h", []int64{2}, nil)
	h.RawData = nil
	h.Int32Data = []int32{0x3c00, 0xc000} // 1.0, -2.0 in half precision
	if v, err := m.TensorFloat32s(h); err != nil || !reflect.DeepEqual(v, []float32{1, -2}) {
		t.Fatalf("float16 in int32_data: %v %v", v, err)
	}
	bad := TensorFloat32("bad", []int64{3}, []float32{1, 2})
	if _, err := m.TensorBytes(bad); err == nil {
		t.Fatal("size mismatch not detected")
	}
}
