package onnx

import (
	"os"
	"path/filepath"
	"testing"
)

func TestComposeSharesInputsAndLinksValues(t *testing.T) {
	// a: y = x·w1 (and a side output r = x + 1); b: z = (x + r)·w2.
	ba := NewBuilder("a", 17)
	x := ba.Input("x", Float, 2, 64)
	ba.OutputAs("r", ba.Node("Add", []string{x, ba.Initializer(TensorFloat32("one", nil, []float32{1}))}), Float, 2, 64)
	ba.OutputAs("y", ba.Node("MatMul", []string{x, ba.Initializer(TensorFloat32("w", []int64{64, 64}, make([]float32, 64*64)))}), Float, 2, 64)
	a, _ := ba.Model()
	bb := NewBuilder("b", 17)
	bx := bb.Input("x", Float, 2, 64)
	br := bb.Input("res", Float, 2, 64)
	bb.OutputAs("z", bb.Node("MatMul", []string{bb.Node("Add", []string{bx, br}), bb.Initializer(TensorFloat32("w", []int64{64, 64}, make([]float32, 64*64)))}), Float, 2, 64)
	b, _ := bb.Model()
	da, db := t.TempDir(), t.TempDir()
	a.SaveWithExternalData(filepath.Join(da, "model.onnx"), ExternalOptions{Location: ModelOnnxData})
	b.SaveWithExternalData(filepath.Join(db, "model.onnx"), ExternalOptions{Location: ModelOnnxData})
	a, _ = Load(filepath.Join(da, "model.onnx"))
	b, _ = Load(filepath.Join(db, "model.onnx"))

	c, files, err := Compose(a, b, map[string]string{"res": "r"}, "b/")
	if err != nil {
		t.Fatal(err)
	}
	sig := c.Signature()
	if len(sig.Inputs) != 1 || sig.Inputs[0].Name != "x" || len(sig.Outputs) != 1 || sig.Outputs[0].Name != "b/z" {
		t.Fatalf("composed signature %+v", sig)
	}
	if len(files) != 2 || files["b/"+ModelOnnxData] != filepath.Join(db, ModelOnnxData) {
		t.Fatalf("files %v", files)
	}
	out := t.TempDir()
	if err := c.SaveLinked(filepath.Join(out, "cn_unet.onnx"), files); err != nil {
		t.Fatal(err)
	}
	back, err := Load(filepath.Join(out, "cn_unet.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"w", "b/w"} {
		if _, err := back.TensorBytes(back.Initializer(name)); err != nil {
			t.Fatalf("weights of %s not reachable: %v", name, err)
		}
	}
	sa, _ := os.Stat(filepath.Join(db, ModelOnnxData))
	sb, _ := os.Stat(filepath.Join(out, "b/"+ModelOnnxData))
	if !os.SameFile(sa, sb) {
		t.Fatal("weights copied instead of linked")
	}
	if _, _, err := Compose(a, b, map[string]string{"res": "nope"}, "b/"); err == nil {
		t.Fatal("link to a missing value accepted")
	}
}
