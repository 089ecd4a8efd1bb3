// Package orttest holds the helpers that tests running graphs in ONNX
// Runtime share: the runtime itself and tensors of random inputs.
package orttest

import (
	"math/rand/v2"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// Runtime is ONNX Runtime; the test fails when the library is missing
// (`make test` provides it).
func Runtime(t testing.TB) *ort.Runtime {
	t.Helper()
	rt, err := ort.Init()
	if err != nil {
		t.Fatalf("ONNX Runtime: %v (run the tests with `make test`)", err)
	}
	return rt
}

// RandomTensors returns a maker of tensors, float32 ones filled with
// standard normal values from r, freed when the test ends.
func RandomTensors(t testing.TB, r *rand.Rand) func(dt onnx.DataType, shape ...int64) *ort.Tensor {
	return func(dt onnx.DataType, shape ...int64) *ort.Tensor {
		t.Helper()
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
}
