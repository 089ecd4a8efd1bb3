package onnx_test

import (
	"math"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
)

// The ToyWorld UNet split, fused and with its prompt keys and values laid
// out head-first by Pre gives the original's output; every key and value
// (7 cross-attentions × 2) is re-laid as [B, H, L, d].
func TestHeadsFirstToyWorldUNet(t *testing.T) {
	rt := orttest.Runtime(t)
	h := hoistToyUNet(t)
	if n, err := onnx.FuseAttention(h.Main); err != nil || n != 14 {
		t.Fatalf("fused %d attentions (%v), want 14", n, err)
	}
	if n := onnx.HeadsFirst(h); n != 14 {
		t.Errorf("%d values laid out head-first, want 14", n)
	}
	four := 0
	for _, v := range h.Values {
		if len(v.Shape) == 4 {
			four++
		}
	}
	if four != 14 {
		t.Errorf("%d of the values are 4-D, want 14: %v", four, h.Values)
	}
	in := toyUNetInputs(t)
	got := runHoisted(t, rt, h, in, func(vals ort.Feeds) {
		for _, v := range h.Values {
			if got := vals[v.Name].Shape(); len(v.Shape) == 4 && (len(got) != 4 || got[0] != 3 || got[2] != 77 || (got[1]*got[3] != 64 && got[1]*got[3] != 96)) {
				t.Errorf("value %s has shape %v, want [3, H, 77, d]", v.Name, got)
			}
		}
	})
	worst, scale := maxDiff(runToyUNet(t, rt, toyUNet, in), got)
	if worst > 1e-4*math.Max(1, scale) {
		t.Errorf("head-first keys/values: the UNet's output differs by %.3g (scale %.3g)", worst, scale)
	}
	t.Logf("max |diff| %.3g at output scale %.3g", worst, scale)
}

// A hoisted value that something besides a fused attention reads keeps its
// layout.
func TestHeadsFirstLeavesOtherReaders(t *testing.T) {
	h := hoistToyUNet(t)
	// Unfused: the projections feed Reshapes, not MultiHeadAttention.
	if n := onnx.HeadsFirst(h); n != 0 {
		t.Errorf("unfused graph: %d values re-laid, want 0", n)
	}
	if _, err := onnx.FuseAttention(h.Main); err != nil {
		t.Fatal(err)
	}
	// One more reader of the first value: that value stays as it was.
	g := h.Main.Proto.GetGraph()
	first := h.Values[0].Name
	op := "Identity"
	g.Node = append(g.Node, &onnxpb.NodeProto{OpType: &op, Input: []string{first}, Output: []string{"extra_reader"}})
	if n := onnx.HeadsFirst(h); n != len(h.Values)-1 {
		t.Errorf("%d values re-laid, want all but the one read elsewhere (%d)", n, len(h.Values)-1)
	}
	if h.Values[0].Name != first || len(h.Values[0].Shape) != 3 {
		t.Errorf("value read elsewhere became %s %v", h.Values[0].Name, h.Values[0].Shape)
	}
}
