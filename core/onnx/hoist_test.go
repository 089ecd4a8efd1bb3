package onnx_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
)

// The ToyWorld UNet split around encoder_hidden_states — Pre (the 14
// cross-attention key/value projections) then Main — gives the original's
// output.
func TestHoistProjectionsToyWorldUNet(t *testing.T) {
	rt := orttest.Runtime(t)
	h := hoistToyUNet(t)
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
	in := toyUNetInputs(t)
	worst, scale := maxDiff(runToyUNet(t, rt, toyUNet, in), runHoisted(t, rt, h, in, nil))
	if worst > 1e-5*math.Max(1, scale) {
		t.Errorf("Pre then Main differs from the UNet by %.3g (scale %.3g)", worst, scale)
	}
	t.Logf("%d values hoisted (keeps the input: %v); max |diff| %.3g at output scale %.3g", len(h.Values), h.KeepsInput, worst, scale)
}

// hoistToyUNet is the ToyWorld UNet split around encoder_hidden_states.
func hoistToyUNet(t *testing.T) *onnx.Hoisted {
	t.Helper()
	m, err := onnx.Load(toyUNet)
	if err != nil {
		t.Fatal(err)
	}
	h, err := onnx.HoistProjections(m, "encoder_hidden_states")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// runHoisted saves both parts of h, runs Pre on the inputs' text states and
// Main on the rest and Pre's values, and returns out_sample; check, when
// set, looks at Pre's values first.
func runHoisted(t *testing.T, rt *ort.Runtime, h *onnx.Hoisted, in ort.Feeds, check func(ort.Feeds)) []float32 {
	t.Helper()
	dir := t.TempDir()
	mainPath, prePath := filepath.Join(dir, "main.onnx"), filepath.Join(dir, "pre.onnx")
	if err := h.Main.SaveLinked(mainPath, h.Main.ExternalPaths()); err != nil {
		t.Fatal(err)
	}
	if err := h.Pre.SaveLinked(prePath, h.Pre.ExternalPaths()); err != nil {
		t.Fatal(err)
	}
	ehs := in["encoder_hidden_states"]
	vals := ort.Feeds{} // allocated by the run
	pre, err := rt.NewSession(prePath, ort.SessionOptions{Provider: ort.ProviderCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer pre.Close()
	if err := pre.Run(context.Background(), ort.Feeds{"encoder_hidden_states": ehs}, vals); err != nil {
		t.Fatal(err)
	}
	defer vals.Destroy()
	if check != nil {
		check(vals)
	}
	mainIn := ort.Feeds{"sample": in["sample"], "timestep": in["timestep"]}
	for k, v := range vals {
		mainIn[k] = v
	}
	if h.KeepsInput {
		mainIn["encoder_hidden_states"] = ehs
	}
	return runToyUNet(t, rt, mainPath, mainIn)
}
