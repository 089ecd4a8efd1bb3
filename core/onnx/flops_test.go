package onnx

import (
	"slices"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

func TestCountWork(t *testing.T) {
	node := func(op, name string, in []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
		return &onnxpb.NodeProto{Name: ptr(name), OpType: ptr(op), Input: in, Output: []string{name + ".y"}, Attribute: attrs}
	}
	intAttr := func(k string, v int64) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: ptr(k), I: ptr(v), Type: onnxpb.AttributeProto_INT.Enum()}
	}
	mha := node("MultiHeadAttention", "mha", []string{"q", "k", "v"})
	mha.Domain = ptr(MicrosoftDomain)
	g := &onnxpb.GraphProto{Node: []*onnxpb.NodeProto{
		node("Conv", "conv", []string{"x", "w", "b"}),
		node("Conv", "dw", []string{"x6", "w6"}, intAttr("group", 6)),
		node("ConvTranspose", "up", []string{"x4", "wt"}),
		node("MatMul", "bmm", []string{"a4", "b3"}),
		node("Gemm", "gemm", []string{"ga", "gb", "gc"}, intAttr("transB", 1)),
		node("MatMul", "vec", []string{"v6", "m67"}),
		node("MatMul", "lost", []string{"nowhere", "m67"}),
		node("Relu", "relu", []string{"x"}),
		mha,
	}}
	dims := map[string][]int64{
		"x": {2, 3, 8, 8}, "w": {4, 3, 3, 3}, "b": {4}, "conv.y": {2, 4, 8, 8},
		"x6": {1, 6, 4, 4}, "w6": {6, 1, 3, 3}, "dw.y": {1, 6, 4, 4},
		"x4": {1, 4, 4, 4}, "wt": {4, 2, 2, 2},
		"a4": {2, 1, 5, 6}, "b3": {3, 6, 7},
		"ga": {5, 6}, "gb": {7, 6}, "gc": {7},
		"v6": {6}, "m67": {6, 7},
		"q": {2, 64, 32}, "k": {2, 77, 32}, "v": {2, 77, 32},
	}
	w, err := CountWork(&Model{Proto: &onnxpb.ModelProto{Graph: g}}, dims)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		"Conv":               2*4*8*8*3*9 + 1*6*4*4*1*9, // every output sums Cin/group × 3×3
		"ConvTranspose":      1 * 4 * 4 * 4 * 2 * 2 * 2, // every input scatters into Cout/group × 2×2
		"MatMul":             2*3*5*6*7 + 6*7,           // batch axes broadcast to [2,3]; 1-D a promoted
		"Gemm":               5 * 6 * 7,                 // transB: B is [N, K]
		"MultiHeadAttention": 2 * 2 * 64 * 77 * 32,      // Q·Kᵀ and A·V
	}
	var total int64
	for op, v := range want {
		if w.ByOp[op] != v {
			t.Errorf("%s: %d MACs, want %d", op, w.ByOp[op], v)
		}
		total += v
	}
	if w.MACs != total || w.FLOPs() != 2*total {
		t.Errorf("total %d MACs (%d FLOPs), want %d", w.MACs, w.FLOPs(), total)
	}
	if w.Nodes != 7 {
		t.Errorf("%d nodes counted, want 7", w.Nodes)
	}
	if !slices.Equal(w.Unknown, []string{"MatMul lost"}) {
		t.Errorf("unknown %q, want the MatMul without shapes", w.Unknown)
	}
}

func TestCountWorkRejectsMismatchedMatMul(t *testing.T) {
	g := &onnxpb.GraphProto{Node: []*onnxpb.NodeProto{
		{Name: ptr("mm"), OpType: ptr("MatMul"), Input: []string{"a", "b"}, Output: []string{"y"}},
	}}
	w, err := CountWork(&Model{Proto: &onnxpb.ModelProto{Graph: g}}, map[string][]int64{"a": {5, 6}, "b": {5, 7}})
	if err != nil {
		t.Fatal(err)
	}
	if w.MACs != 0 || len(w.Unknown) != 1 {
		t.Errorf("inner sizes 6 and 5 must not count: %+v", w)
	}
	if _, err := CountWork(&Model{Proto: &onnxpb.ModelProto{}}, nil); err == nil {
		t.Error("a model without a graph must be an error")
	}
}
