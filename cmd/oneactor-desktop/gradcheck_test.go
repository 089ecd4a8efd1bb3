package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
)

func TestGradcheckEstimate(t *testing.T) {
	b := onnx.NewBuilder("conv", 17)
	x := b.Input("x", onnx.Float, "batch", 2, 8, 8)
	w := b.Initializer(onnx.TensorFloat32("w", []int64{3, 2, 3, 3}, make([]float32, 54)))
	y := b.Node("Relu", []string{b.Node("Conv", []string{x, w}, onnx.AttrInts("pads", 1, 1, 1, 1))})
	b.OutputAs("y", y, onnx.Float, "batch", 3, 8, 8)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "conv.onnx")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run([]string{"gradcheck", "--estimate", "--measure", "--rows", "3", "--shape", "x=1x2x8x8", path}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"forward", "backward", "compile:", "weights", "kept for backward", "peak of live values",
		"3 rows, one run per row", "3 rows in one batch", "measured on ONNX Runtime CPU"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Logf("\n%s", out.String())
}
