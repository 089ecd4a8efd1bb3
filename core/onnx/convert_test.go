package onnx

import (
	"path/filepath"
	"testing"

	"github.com/x448/float16"
)

func TestToFloat32(t *testing.T) {
	b := NewBuilder("half", 17)
	x := b.Input("x", Float16, 2, 600)
	w := make([]float32, 600)
	for i := range w {
		w[i] = float32(i)/300 - 1
	}
	wt := b.Initializer(TensorFloat16("w", []int64{600}, w))
	y := b.Node("Mul", []string{x, wt})
	f := b.Node("Cast", []string{y}, AttrInt("to", int64(Float)))
	back := b.Node("Cast", []string{f}, AttrInt("to", int64(Float16)))
	b.OutputAs("y", back, Float16, 2, 600)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "half.onnx")
	if err := m.SaveWithExternalData(path, ExternalOptions{Location: "w.bin"}); err != nil {
		t.Fatal(err)
	}
	half, _ := Load(path)
	full, err := half.ToFloat32()
	if err != nil {
		t.Fatal(err)
	}
	sig := full.Signature()
	if sig.Inputs[0].Type != Float || sig.Outputs[0].Type != Float {
		t.Fatalf("signature still float16: %v", sig)
	}
	if files := full.ExternalFiles(); len(files) != 0 {
		t.Fatalf("widened weights should be inline, still external: %v", files)
	}
	wf := full.Initializer("w")
	if DataType(wf.GetDataType()) != Float {
		t.Fatal("weight not widened")
	}
	vals, _ := full.TensorFloat32s(wf)
	for i, v := range vals {
		if want := float16.Fromfloat32(w[i]).Float32(); v != want {
			t.Fatalf("w[%d] = %v, want %v (the float16 value, exactly)", i, v, want)
		}
	}
	for _, n := range full.Proto.GetGraph().GetNode() {
		if n.GetOpType() == "Cast" && n.GetAttribute()[0].GetI() == int64(Float16) {
			t.Fatal("Cast to float16 left in the float32 model")
		}
	}
	// The source model is untouched.
	if DataType(half.Initializer("w").GetDataType()) != Float16 {
		t.Fatal("ToFloat32 changed its receiver")
	}
}
