package onnx_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
)

// attentionGraph builds one cross-attention over x [B, L, 8] and
// ctx [B, M, 6] with 2 heads, as torch writes it (4-D head split) or as
// diffusers' head_to_batch_dim does (heads folded into the batch).
func attentionGraph(t *testing.T, folded bool) *onnx.Model {
	t.Helper()
	const C, H, D = 8, 2, 4
	r := rand.New(rand.NewPCG(3, 4))
	b := onnx.NewBuilder("attention", 17)
	x := b.Input("x", onnx.Float, "B", "L", C)
	ctx := b.Input("ctx", onnx.Float, "B", "M", 6)
	weight := func(name string, rows, cols int) string {
		v := make([]float32, rows*cols)
		for i := range v {
			v[i] = float32(r.NormFloat64()) / 2
		}
		return b.Initializer(onnx.TensorFloat32(name, []int64{int64(rows), int64(cols)}, v))
	}
	i64 := func(name string, dims []int64, v ...int64) string {
		return b.Initializer(onnx.TensorInt64(name, dims, v))
	}
	zero := i64("axes0", []int64{1}, 0)
	dim := func(of string, axis int64, name string) string {
		return b.Node("Gather", []string{b.Node("Shape", []string{of}), i64(name, nil, axis)}, onnx.AttrInt("axis", 0))
	}
	unsq := func(s string) string { return b.Node("Unsqueeze", []string{s, zero}) }
	q := b.Node("MatMul", []string{x, weight("wq", C, C)})
	k := b.Node("MatMul", []string{ctx, weight("wk", 6, C)})
	v := b.Node("MatMul", []string{ctx, weight("wv", 6, C)})
	bq := dim(x, 0, "i0")
	hd := b.Node("Div", []string{dim(k, 2, "i2"), i64("h", nil, H)})
	split := func(in string, seq string) string {
		shape := b.Node("Concat", []string{unsq(bq), seq, i64("hh"+in, []int64{1}, H), unsq(hd)}, onnx.AttrInt("axis", 0))
		return b.Node("Reshape", []string{in, shape})
	}
	minus1 := i64("m1", []int64{1}, -1)
	var out string
	scale := b.Initializer(onnx.TensorFloat32("scale", nil, []float32{0.5}))
	if !folded {
		lq := dim(x, 1, "i1")
		qh := b.Node("Transpose", []string{split(q, unsq(lq))}, onnx.AttrInts("perm", 0, 2, 1, 3))
		kh := b.Node("Transpose", []string{split(k, minus1)}, onnx.AttrInts("perm", 0, 2, 3, 1))
		vh := b.Node("Transpose", []string{split(v, minus1)}, onnx.AttrInts("perm", 0, 2, 1, 3))
		s := b.Node("Mul", []string{b.Node("MatMul", []string{qh, kh}), scale})
		p := b.Node("Softmax", []string{s}, onnx.AttrInt("axis", -1))
		o := b.Node("Transpose", []string{b.Node("MatMul", []string{p, vh})}, onnx.AttrInts("perm", 0, 2, 1, 3))
		shape := b.Node("Concat", []string{unsq(bq), unsq(lq), i64("c", []int64{1}, C)}, onnx.AttrInt("axis", 0))
		out = b.Node("Reshape", []string{o, shape})
	} else {
		fold := func(in string) string {
			t := b.Node("Transpose", []string{split(in, minus1)}, onnx.AttrInts("perm", 0, 2, 1, 3))
			bh := b.Node("Mul", []string{bq, i64("h2"+in, nil, H)})
			shape := b.Node("Concat", []string{unsq(bh), minus1, i64("d"+in, []int64{1}, D)}, onnx.AttrInt("axis", 0))
			return b.Node("Reshape", []string{t, shape})
		}
		qh, kh, vh := fold(q), fold(k), fold(v)
		kt := b.Node("Transpose", []string{kh}, onnx.AttrInts("perm", 0, 2, 1))
		s := b.Node("Div", []string{b.Node("MatMul", []string{qh, kt}), b.Initializer(onnx.TensorFloat32("two", nil, []float32{2}))})
		p := b.Node("Softmax", []string{s}, onnx.AttrInt("axis", -1))
		o := b.Node("MatMul", []string{p, vh})
		ob := b.Node("Div", []string{dim(o, 0, "j0"), i64("h3", nil, H)})
		ol, od := dim(o, 1, "j1"), dim(o, 2, "j2")
		u := b.Node("Reshape", []string{o, b.Node("Concat", []string{unsq(ob), i64("h4", []int64{1}, H), unsq(ol), unsq(od)}, onnx.AttrInt("axis", 0))})
		ot := b.Node("Transpose", []string{u}, onnx.AttrInts("perm", 0, 2, 1, 3))
		oc := b.Node("Mul", []string{od, i64("h5", nil, H)})
		out = b.Node("Reshape", []string{ot, b.Node("Concat", []string{unsq(ob), unsq(ol), unsq(oc)}, onnx.AttrInt("axis", 0))})
	}
	// Something after the attention, as in a transformer block.
	y := b.Node("Add", []string{out, x})
	b.OutputAs("y", y, onnx.Float, "B", "L", C)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func runAttention(t *testing.T, rt *ort.Runtime, m *onnx.Model, x, ctx []float32, B, L, M int64) []float32 {
	t.Helper()
	s, err := rt.NewSessionFromModel(m, ort.SessionOptions{Provider: ort.ProviderCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	xt, _ := ort.NewTensor(onnx.Float, B, L, 8)
	ct, _ := ort.NewTensor(onnx.Float, B, M, 6)
	yt, _ := ort.NewTensor(onnx.Float, B, L, 8)
	defer xt.Destroy()
	defer ct.Destroy()
	defer yt.Destroy()
	xt.SetFloat32(x)
	ct.SetFloat32(ctx)
	if err := s.Run(context.Background(), ort.Feeds{"x": xt, "ctx": ct}, ort.Feeds{"y": yt}); err != nil {
		t.Fatal(err)
	}
	return append([]float32{}, yt.Float32s()...)
}

func TestFuseAttentionSmallGraphs(t *testing.T) {
	rt := orttest.Runtime(t)
	for _, folded := range []bool{false, true} {
		orig := attentionGraph(t, folded)
		fused := attentionGraph(t, folded)
		n, err := onnx.FuseAttention(fused)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("folded=%v: fused %d attentions, want 1", folded, n)
		}
		ops := map[string]int{}
		for _, nd := range fused.Proto.GetGraph().GetNode() {
			ops[nd.GetOpType()]++
		}
		if ops["Softmax"] != 0 || ops["Transpose"] != 0 || ops["MultiHeadAttention"] != 1 || ops["Shape"] != 0 {
			t.Errorf("folded=%v: nodes after fusion %v", folded, ops)
		}
		for _, nd := range fused.Proto.GetGraph().GetNode() {
			if nd.GetOpType() == "MultiHeadAttention" {
				for _, a := range nd.GetAttribute() {
					if a.GetName() == "num_heads" && a.GetI() != 2 {
						t.Errorf("num_heads %d, want 2", a.GetI())
					}
				}
			}
		}
		r := rand.New(rand.NewPCG(5, 6))
		for _, bs := range [][3]int64{{1, 5, 7}, {3, 4, 9}} {
			B, L, M := bs[0], bs[1], bs[2]
			x := make([]float32, B*L*8)
			c := make([]float32, B*M*6)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			for i := range c {
				c[i] = float32(r.NormFloat64())
			}
			want := runAttention(t, rt, orig, x, c, B, L, M)
			got := runAttention(t, rt, fused, x, c, B, L, M)
			worst := 0.0
			for i := range want {
				worst = math.Max(worst, math.Abs(float64(want[i]-got[i])))
			}
			if worst > 1e-5 {
				t.Errorf("folded=%v B=%d L=%d M=%d: fused output differs by %.3g", folded, B, L, M, worst)
			}
		}
	}
}

// A mask added to the scores is not something MultiHeadAttention(q, k, v)
// computes here: such an attention stays as it is.
func TestFuseAttentionLeavesOthersAlone(t *testing.T) {
	m := attentionGraph(t, false)
	g := m.Proto.GetGraph()
	g.Initializer = append(g.Initializer, onnx.TensorFloat32("mask", []int64{1}, []float32{-1}))
	for _, n := range g.GetNode() {
		if n.GetOpType() == "Softmax" {
			g.Node = append(g.Node, &onnxpb.NodeProto{OpType: proto.String("Add"),
				Input: []string{n.Input[0], "mask"}, Output: []string{"masked"}})
			n.Input[0] = "masked"
		}
	}
	before := len(g.GetNode())
	n, err := onnx.FuseAttention(m)
	if err != nil || n != 0 || len(g.GetNode()) != before {
		t.Errorf("masked attention: fused %d (err %v), %d nodes of %d left", n, err, len(g.GetNode()), before)
	}
}

// The ToyWorld UNet: every attention of every transformer block is fused
// and the UNet's output stays the same.
func TestFuseAttentionToyWorldUNet(t *testing.T) {
	rt := orttest.Runtime(t)
	m, err := onnx.Load(toyUNet)
	if err != nil {
		t.Fatal(err)
	}
	softmax := 0
	for _, n := range m.Proto.GetGraph().GetNode() {
		if n.GetOpType() == "Softmax" {
			softmax++
		}
	}
	n, err := onnx.FuseAttention(m)
	if err != nil {
		t.Fatal(err)
	}
	// Each transformer block has a self- and a cross-attention, and
	// nothing else in the UNet has a Softmax.
	if n != softmax || n == 0 {
		t.Fatalf("fused %d attentions, the UNet has %d", n, softmax)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	if err := m.SaveLinked(path, m.ExternalPaths()); err != nil {
		t.Fatal(err)
	}
	in := toyUNetInputs(t)
	worst, scale := maxDiff(runToyUNet(t, rt, toyUNet, in), runToyUNet(t, rt, path, in))
	if worst > 1e-4*math.Max(1, scale) {
		t.Errorf("fused UNet differs by %.3g (scale %.3g)", worst, scale)
	}
	t.Logf("%d attentions fused; max |diff| %.3g at output scale %.3g", n, worst, scale)
}
