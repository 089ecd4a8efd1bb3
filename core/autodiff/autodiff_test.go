package autodiff

import (
	"context"
	"errors"
	"math/rand"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
)

type input struct {
	name   string
	dims   []int64
	lo, hi float64 // uniform range; 0,0 means standard normal
}

type opCase struct {
	name  string
	build func(b *onnx.Builder, r *rand.Rand) string // returns the output value
	in    []input
	wrt   []string
	tol   float64
	eps   float64
	// double runs the case in float64 (inputs, output, gradients): the
	// finite differences are then exact to ~1e-8 and the tolerance tight.
	double bool
	// float32Only says why a case has no float64 run (ONNX Runtime's CPU
	// kernels for the op are float32 only).
	float32Only string
}

func randData(r *rand.Rand, n int64, lo, hi float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		if lo == 0 && hi == 0 {
			out[i] = float32(r.NormFloat64())
		} else {
			out[i] = float32(lo + (hi-lo)*r.Float64())
		}
	}
	return out
}

func weight(b *onnx.Builder, r *rand.Rand, name string, dims ...int64) string {
	return b.Initializer(onnx.TensorFloat32(name, dims, randData(r, onnx.NumElements(dims), 0, 0)))
}

// weight64 is weight in float64.
func weight64(b *onnx.Builder, r *rand.Rand, name string, dims ...int64) string {
	v := make([]float64, onnx.NumElements(dims))
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return b.Initializer(onnx.TensorFloat64(name, dims, v))
}

func ints(b *onnx.Builder, name string, v ...int64) string {
	return b.Initializer(onnx.TensorInt64(name, []int64{int64(len(v))}, v))
}

func runCase(t *testing.T, rt *ort.Runtime, c opCase) { t.Helper(); runCaseOpset(t, rt, 17, c) }

func runCaseOpset(t *testing.T, rt *ort.Runtime, opset int64, c opCase) {
	t.Helper()
	r := rand.New(rand.NewSource(int64(len(c.name)) * 7919))
	b := onnx.NewBuilder(c.name, opset)
	feeds := ort.Feeds{}
	dt, tol, eps := onnx.Float, 1e-2, c.eps
	if c.double {
		dt, tol = onnx.Double, 1e-6
		if eps == 0 {
			eps = 1e-4
		}
	}
	if c.tol != 0 {
		tol = c.tol
	}
	for _, in := range c.in {
		dims := make([]any, len(in.dims))
		for i, d := range in.dims {
			dims[i] = d
		}
		b.Input(in.name, dt, dims...)
		x, err := ort.NewTensor(dt, in.dims...)
		if err != nil {
			t.Fatal(err)
		}
		x.SetFloat32(randData(r, onnx.NumElements(in.dims), in.lo, in.hi))
		if c.double {
			// Full float64 values, not float32 ones widened.
			for i := range x.Float64s() {
				x.Float64s()[i] += 1e-3 * r.NormFloat64()
			}
		}
		feeds[in.name] = x
	}
	out := c.build(b, r)
	b.OutputAs("y", out, dt)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	res, err := GradCheck(context.Background(), rt, m, feeds, c.wrt, "y", CheckOptions{Eps: eps, Samples: 24, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, cr := range res.Results {
		t.Logf("d/d%-5s max rel err %.2e over %d elements", cr.Wrt, cr.MaxRelErr, cr.Checked)
		if cr.MaxRelErr > tol || cr.Checked == 0 || cr.MaxAbs == 0 {
			t.Errorf("%s: d/d%s max rel err %.3g over %d elements (max |g| %.3g), tol %.g",
				c.name, cr.Wrt, cr.MaxRelErr, cr.Checked, cr.MaxAbs, tol)
		}
	}
}

// floatFn makes a constant in the precision under test.
type floatFn func(name string, dims []int64, v ...float64) *onnxpb.TensorProto

func const32(name string, dims []int64, v ...float64) *onnxpb.TensorProto {
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return onnx.TensorFloat32(name, dims, f)
}

func const64(name string, dims []int64, v ...float64) *onnxpb.TensorProto {
	return onnx.TensorFloat64(name, dims, v)
}

// baseCases are the per-op cases of the first ~40 rules, with weights and
// constants in one precision.
func baseCases(weight weightFn, fc floatFn) []opCase {
	noConv64 := "ONNX Runtime's CPU Conv and ConvTranspose are float32 only"
	x234 := input{name: "x", dims: []int64{2, 3, 4}}
	pos := func(name string, dims ...int64) input { return input{name: name, dims: dims, lo: 0.5, hi: 2} }
	cases := []opCase{
		{name: "add-broadcast", in: []input{x234, {name: "a", dims: []int64{4}}, {name: "b", dims: []int64{3, 1}}},
			wrt: []string{"x", "a", "b"}, build: func(b *onnx.Builder, r *rand.Rand) string {
				return b.Node("Add", []string{b.Node("Add", []string{"x", "a"}), "b"})
			}},
		{name: "sub-mul-broadcast", in: []input{x234, {name: "a", dims: []int64{2, 1, 4}}},
			wrt: []string{"x", "a"}, build: func(b *onnx.Builder, r *rand.Rand) string {
				return b.Node("Mul", []string{b.Node("Sub", []string{"a", "x"}), "x"})
			}},
		{name: "div", in: []input{x234, pos("d", 3, 1)}, wrt: []string{"x", "d"},
			build: func(b *onnx.Builder, r *rand.Rand) string { return b.Node("Div", []string{"x", "d"}) }},
		{name: "pow-sqrt-log-exp", in: []input{pos("p", 2, 3)}, wrt: []string{"p"},
			build: func(b *onnx.Builder, r *rand.Rand) string {
				two := b.Initializer(fc("two", nil, 2))
				sq := b.Node("Pow", []string{"p", two})
				return b.Node("Add", []string{b.Node("Sqrt", []string{sq}),
					b.Node("Mul", []string{b.Node("Log", []string{"p"}), b.Node("Exp", []string{b.Node("Neg", []string{"p"})})})})
			}},
		{name: "erf-tanh-sigmoid-reciprocal", float32Only: "ONNX Runtime's CPU Erf is float32 only", in: []input{x234, pos("q", 2, 3, 4)}, wrt: []string{"x", "q"},
			build: func(b *onnx.Builder, r *rand.Rand) string {
				e := b.Node("Erf", []string{"x"})
				th := b.Node("Tanh", []string{e})
				s := b.Node("Sigmoid", []string{"x"})
				return b.Node("Add", []string{b.Node("Mul", []string{th, s}), b.Node("Reciprocal", []string{"q"})})
			}},
		{name: "relu", in: []input{{name: "x", dims: []int64{4, 5}, lo: 0.1, hi: 1}, {name: "z", dims: []int64{4, 5}, lo: -1, hi: -0.1}},
			wrt: []string{"x", "z"}, build: func(b *onnx.Builder, r *rand.Rand) string {
				// Relu(z) is zero everywhere: its mask must block the gradient.
				return b.Node("Add", []string{b.Node("Mul", []string{b.Node("Relu", []string{"x"}), "z"}), b.Node("Relu", []string{"z"})})
			}},
		{name: "softmax", in: []input{x234}, wrt: []string{"x"}, build: func(b *onnx.Builder, r *rand.Rand) string {
			s1 := b.Node("Softmax", []string{"x"}, onnx.AttrInt("axis", 1))
			s2 := b.Node("Softmax", []string{"x"}, onnx.AttrInt("axis", -1))
			return b.Node("Mul", []string{s1, s2})
		}},
		{name: "matmul-batched-broadcast", in: []input{x234, {name: "w", dims: []int64{4, 5}}, {name: "v", dims: []int64{1, 5, 2}}},
			wrt: []string{"x", "w", "v"}, build: func(b *onnx.Builder, r *rand.Rand) string {
				return b.Node("MatMul", []string{b.Node("MatMul", []string{"x", "w"}), "v"})
			}},
		{name: "gemm", in: []input{{name: "a", dims: []int64{4, 3}}, {name: "w", dims: []int64{5, 4}}, {name: "c", dims: []int64{5}}},
			wrt: []string{"a", "w", "c"}, build: func(b *onnx.Builder, r *rand.Rand) string {
				return b.Node("Gemm", []string{"a", "w", "c"}, onnx.AttrInt("transA", 1), onnx.AttrInt("transB", 1),
					onnx.AttrFloat("alpha", 0.7), onnx.AttrFloat("beta", 1.3))
			}},
		{name: "conv-groups-stride-dilation", float32Only: noConv64, in: []input{{name: "x", dims: []int64{2, 4, 9, 8}}, {name: "w", dims: []int64{6, 2, 3, 3}}, {name: "bias", dims: []int64{6}}},
			wrt: []string{"x", "w", "bias"}, build: func(b *onnx.Builder, r *rand.Rand) string {
				return b.Node("Conv", []string{"x", "w", "bias"}, onnx.AttrInts("strides", 2, 2), onnx.AttrInts("pads", 1, 1, 1, 1),
					onnx.AttrInts("dilations", 2, 1), onnx.AttrInt("group", 2))
			}},
		{name: "conv-7x7-stride2", float32Only: noConv64, in: []input{{name: "x", dims: []int64{2, 3, 10, 10}}, {name: "w", dims: []int64{4, 3, 7, 7}}},
			wrt: []string{"x", "w"}, build: func(b *onnx.Builder, r *rand.Rand) string {
				return b.Node("Conv", []string{"x", "w"}, onnx.AttrInts("strides", 2, 2), onnx.AttrInts("pads", 3, 3, 3, 3))
			}},
		{name: "conv-transpose", float32Only: noConv64, in: []input{{name: "x", dims: []int64{1, 4, 5, 5}}}, wrt: []string{"x"},
			build: func(b *onnx.Builder, r *rand.Rand) string {
				return b.Node("ConvTranspose", []string{"x", weight(b, r, "w", 4, 3, 3, 3)}, onnx.AttrInts("strides", 2, 2), onnx.AttrInts("pads", 1, 1, 1, 1), onnx.AttrInts("output_padding", 1, 1))
			}},
		{name: "layernorm", in: []input{x234, {name: "g", dims: []int64{4}}, {name: "bb", dims: []int64{4}}}, wrt: []string{"x", "g", "bb"},
			build: func(b *onnx.Builder, r *rand.Rand) string {
				return b.Node("LayerNormalization", []string{"x", "g", "bb"}, onnx.AttrInt("axis", -1), onnx.AttrFloat("epsilon", 1e-5))
			}},
		{name: "instancenorm", float32Only: "ONNX Runtime's CPU InstanceNormalization is float32 only", in: []input{{name: "x", dims: []int64{2, 3, 4, 5}}, {name: "g", dims: []int64{3}}, {name: "bb", dims: []int64{3}}},
			wrt: []string{"x", "g", "bb"}, build: func(b *onnx.Builder, r *rand.Rand) string {
				return b.Node("InstanceNormalization", []string{"x", "g", "bb"}, onnx.AttrFloat("epsilon", 1e-5))
			}},
		{name: "batchnorm-inference", in: []input{{name: "x", dims: []int64{2, 3, 4, 4}}, {name: "g", dims: []int64{3}}, {name: "bb", dims: []int64{3}}},
			wrt: []string{"x", "g", "bb"}, build: func(b *onnx.Builder, r *rand.Rand) string {
				mean := weight(b, r, "mean", 3)
				v := b.Initializer(fc("var", []int64{3}, 0.5, 1, 2))
				return b.Node("BatchNormalization", []string{"x", "g", "bb", mean, v})
			}},
		{name: "reduce", in: []input{x234}, wrt: []string{"x"}, build: func(b *onnx.Builder, r *rand.Rand) string {
			m := b.Node("ReduceMean", []string{"x"}, onnx.AttrInts("axes", 1), onnx.AttrInt("keepdims", 1))
			s := b.Node("ReduceSum", []string{"x", ints(b, "ax", -1)}, onnx.AttrInt("keepdims", 0))
			u := b.Node("Unsqueeze", []string{s, ints(b, "ax1", 1)})
			return b.Node("Mul", []string{b.Node("Mul", []string{"x", m}), b.Node("Transpose", []string{u}, onnx.AttrInts("perm", 0, 2, 1))})
		}},
		{name: "reshape-transpose-flatten-squeeze", in: []input{x234}, wrt: []string{"x"}, build: func(b *onnx.Builder, r *rand.Rand) string {
			rs := b.Node("Reshape", []string{"x", ints(b, "s", 0, -1, 2)})
			tr := b.Node("Transpose", []string{rs}, onnx.AttrInts("perm", 2, 0, 1))
			fl := b.Node("Flatten", []string{tr}, onnx.AttrInt("axis", 1))
			u := b.Node("Unsqueeze", []string{fl, ints(b, "a0", 0)})
			sq := b.Node("Squeeze", []string{u, ints(b, "a1", 0)})
			return b.Node("Mul", []string{sq, sq})
		}},
		{name: "concat-split", in: []input{x234, {name: "z", dims: []int64{2, 2, 4}}}, wrt: []string{"x", "z"},
			build: func(b *onnx.Builder, r *rand.Rand) string {
				cat := b.Node("Concat", []string{"x", "z"}, onnx.AttrInt("axis", 1))
				parts := b.NodeOutputs("Split", []string{cat, ints(b, "sp", 1, 4)}, 2, onnx.AttrInt("axis", 1))
				// Only the second part reaches the loss: the first gets zeros.
				return b.Node("Mul", []string{parts[1], parts[1]})
			}},
		{name: "slice-constant-and-computed", in: []input{{name: "x", dims: []int64{2, 6, 4}}}, wrt: []string{"x"},
			build: func(b *onnx.Builder, r *rand.Rand) string {
				// torch's chunk(2, dim=1): the end comes from the shape.
				sh := b.Node("Shape", []string{"x"})
				d := b.Node("Gather", []string{sh, b.Initializer(onnx.TensorInt64("i1", []int64{1}, []int64{1}))}, onnx.AttrInt("axis", 0))
				half := b.Node("Div", []string{d, b.Initializer(onnx.TensorInt64("two", []int64{1}, []int64{2}))})
				a := b.Node("Slice", []string{"x", ints(b, "st", 0), half, ints(b, "ax", 1)})
				c := b.Node("Slice", []string{"x", half, ints(b, "en", 1<<40), ints(b, "ax2", 1)})
				e := b.Node("Slice", []string{"x", ints(b, "st3", -4), ints(b, "en3", -1), ints(b, "ax3", -2)})
				return b.Node("Add", []string{b.Node("Mul", []string{a, c}), e})
			}},
		{name: "gather", in: []input{x234}, wrt: []string{"x"}, build: func(b *onnx.Builder, r *rand.Rand) string {
			g1 := b.Node("Gather", []string{"x", b.Initializer(onnx.TensorInt64("idx", []int64{3}, []int64{2, 0, 2}))}, onnx.AttrInt("axis", 1))
			g2 := b.Node("Gather", []string{"x", b.Initializer(onnx.TensorInt64("one", nil, []int64{-1}))}, onnx.AttrInt("axis", 2))
			return b.Node("Mul", []string{g1, b.Node("Unsqueeze", []string{g2, ints(b, "ua", 2)})})
		}},
		{name: "expand-where-cast", float32Only: "the case itself casts float32 → float64 → float32", in: []input{{name: "x", dims: []int64{3, 1}}, {name: "z", dims: []int64{3, 4}}}, wrt: []string{"x", "z"},
			build: func(b *onnx.Builder, r *rand.Rand) string {
				ex := b.Node("Expand", []string{"x", ints(b, "shape", 2, 3, 4)})
				cond := b.Node("Greater", []string{"z", b.Initializer(fc("zero", nil, 0))})
				w := b.Node("Where", []string{cond, ex, "z"})
				d := b.Node("Cast", []string{w}, onnx.AttrInt("to", int64(onnx.Double)))
				return b.Node("Cast", []string{b.Node("Mul", []string{d, d})}, onnx.AttrInt("to", int64(onnx.Float)))
			}},
		{name: "resize-nearest", float32Only: "ONNX Runtime's CPU Resize is float32 only", in: []input{{name: "x", dims: []int64{1, 2, 3, 4}}}, wrt: []string{"x"},
			build: func(b *onnx.Builder, r *rand.Rand) string {
				scales := b.Initializer(onnx.TensorFloat32("scales", []int64{4}, []float32{1, 1, 2, 2}))
				up := b.Node("Resize", []string{"x", "", scales}, onnx.AttrString("mode", "nearest"),
					onnx.AttrString("coordinate_transformation_mode", "asymmetric"), onnx.AttrString("nearest_mode", "floor"))
				up2 := b.Node("Resize", []string{"x", "", scales}, onnx.AttrString("mode", "nearest"))
				return b.Node("Mul", []string{up, b.Node("Mul", []string{up2, weight(b, r, "w", 1, 2, 6, 8)})})
			}},
		{name: "shared-tensor-accumulates", in: []input{x234}, wrt: []string{"x"}, build: func(b *onnx.Builder, r *rand.Rand) string {
			s := b.Node("Sigmoid", []string{"x"})
			return b.Node("Add", []string{b.Node("Mul", []string{"x", s}), b.Node("Mul", []string{"x", "x"})})
		}},
	}
	return cases
}

func TestOpGradients(t *testing.T) {
	rt := orttest.Runtime(t)
	for _, c := range baseCases(weight, const32) {
		t.Run(c.name, func(t *testing.T) { runCase(t, rt, c) })
	}
}

// TestOpGradients64 runs the same cases in float64 where ONNX Runtime's CPU
// kernels (forward and those the gradient uses) exist in float64.
func TestOpGradients64(t *testing.T) {
	rt := orttest.Runtime(t)
	for _, c := range baseCases(weight64, const64) {
		if c.float32Only != "" {
			continue
		}
		c.double = true
		t.Run(c.name, func(t *testing.T) { runCase(t, rt, c) })
	}
}

func TestFrozenWeightsArePruned(t *testing.T) {
	b := onnx.NewBuilder("frozen", 17)
	r := rand.New(rand.NewSource(1))
	x := b.Input("x", onnx.Float, 1, 2, 5, 5)
	c := b.Node("Conv", []string{x, weight(b, r, "w", 3, 2, 3, 3)}, onnx.AttrInts("pads", 1, 1, 1, 1))
	side := b.Node("Relu", []string{x}) // reaches no output
	_ = side
	b.OutputAs("y", c, onnx.Float, 1, 3, 5, 5)
	m, _ := b.Model()
	sh := &Shapes{Dims: map[string][]int64{x: {1, 2, 5, 5}, "w": {3, 2, 3, 3}, c: {1, 3, 5, 5}, "y": {1, 3, 5, 5}, side: {1, 2, 5, 5}},
		Types: inferTypes(m), Values: map[string][]int64{}}
	res, err := Compile(m, sh, Options{Wrt: []string{"x"}, Output: "y", Loss: LossUpstream})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range res.Model.Proto.GetGraph().GetNode()[res.ForwardNodes:] {
		switch n.GetOpType() {
		case "ConvTranspose", "Identity":
		default:
			t.Errorf("frozen weight or dead branch got gradient work: %s", n.GetOpType())
		}
	}
}

func TestUnsupportedOpNamesPath(t *testing.T) {
	b := onnx.NewBuilder("unsup", 17)
	x := b.Input("x", onnx.Float, 2, 3)
	h := b.Node("Relu", []string{x})
	s := b.Node("Sin", []string{h})
	b.OutputAs("y", s, onnx.Float, 2, 3)
	m, _ := b.Model()
	sh := &Shapes{Dims: map[string][]int64{x: {2, 3}, h: {2, 3}, s: {2, 3}, "y": {2, 3}}, Types: inferTypes(m), Values: map[string][]int64{}}
	_, err := Compile(m, sh, Options{Wrt: []string{"x"}, Output: "y"})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Op != "Sin" || ue.Opset != 17 {
		t.Fatalf("want UnsupportedError for Sin, got %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "x → "+h) || !strings.Contains(msg, ue.Node) {
		t.Fatalf("message lacks node or path: %s", msg)
	}
}
