package autodiff

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
)

// resizeCfg is one Resize configuration for the forward-mapping and
// gradient tests.
type resizeCfg struct {
	mode, coord, nearest string
	in, out              []int64
	scales               []float32 // nil: sizes form
}

func (r resizeCfg) String() string {
	form := "sizes"
	if r.scales != nil {
		form = fmt.Sprint("scales", r.scales)
	}
	return fmt.Sprintf("%s/%s/%s %v→%v %s", r.mode, r.coord, r.nearest, r.in, r.out, form)
}

func (r resizeCfg) node(b *onnx.Builder, x string) string {
	attrs := []onnx.Attr{onnx.AttrString("mode", r.mode), onnx.AttrString("coordinate_transformation_mode", r.coord)}
	if r.nearest != "" {
		attrs = append(attrs, onnx.AttrString("nearest_mode", r.nearest))
	}
	if r.scales != nil {
		s := b.Initializer(onnx.TensorFloat32(x+"_scales", []int64{int64(len(r.scales))}, r.scales))
		return b.Node("Resize", []string{x, "", s}, attrs...)
	}
	return b.Node("Resize", []string{x, "", "", ints(b, x+"_sizes", r.out...)}, attrs...)
}

func anyDims(d []int64) []any {
	out := make([]any, len(d))
	for i, v := range d {
		out[i] = v
	}
	return out
}

var resizeCfgs = []resizeCfg{
	{mode: "linear", coord: "half_pixel", in: []int64{1, 2, 3, 4}, out: []int64{1, 2, 6, 8}, scales: []float32{1, 1, 2, 2}},
	{mode: "linear", coord: "pytorch_half_pixel", in: []int64{2, 1, 3, 5}, out: []int64{2, 1, 7, 1}},
	{mode: "linear", coord: "align_corners", in: []int64{1, 2, 4, 3}, out: []int64{1, 2, 7, 5}},
	{mode: "linear", coord: "asymmetric", in: []int64{1, 1, 3, 4}, out: []int64{1, 1, 4, 6}, scales: []float32{1, 1, 1.5, 1.5}},
	// Downsampling, and a scale that is not the size ratio (3·1.7 → 5).
	{mode: "linear", coord: "half_pixel", in: []int64{1, 2, 6, 5}, out: []int64{1, 2, 4, 3}},
	{mode: "linear", coord: "half_pixel", in: []int64{1, 1, 3, 4}, out: []int64{1, 1, 5, 6}, scales: []float32{1, 1, 1.7, 1.6}},
	// Rank 2 (both axes), and 5-D trilinear (an axis that is neither of
	// the last two: the transpose route).
	{mode: "linear", coord: "align_corners", in: []int64{3, 4}, out: []int64{5, 7}},
	{mode: "linear", coord: "half_pixel", in: []int64{1, 2, 2, 3, 3}, out: []int64{1, 2, 3, 5, 4}},
	// Nearest by non-integer factors and downsampling: the matrix route.
	{mode: "nearest", coord: "half_pixel", nearest: "round_prefer_floor", in: []int64{1, 2, 4, 3}, out: []int64{1, 2, 6, 5}},
	{mode: "nearest", coord: "asymmetric", nearest: "floor", in: []int64{1, 1, 6, 5}, out: []int64{1, 1, 4, 3}},
	{mode: "nearest", coord: "align_corners", nearest: "round_prefer_ceil", in: []int64{1, 1, 3, 4}, out: []int64{1, 1, 5, 9}},
	{mode: "nearest", coord: "tf_half_pixel_for_nn", nearest: "ceil", in: []int64{1, 1, 5, 3}, out: []int64{1, 1, 7, 4}},
}

func (r resizeCfg) scale(a int) float32 {
	if r.scales != nil {
		return r.scales[a]
	}
	return float32(r.out[a]) / float32(r.in[a])
}

// goResize applies resizeMatrix axis by axis (the mapping the gradient
// transposes).
func goResize(t *testing.T, r resizeCfg, x []float32) []float64 {
	cur := make([]float64, len(x))
	for i, v := range x {
		cur[i] = float64(v)
	}
	dims := append([]int64{}, r.in...)
	for a := range dims {
		A, err := resizeMatrix(r.mode, r.coord, r.nearest, r.in[a], r.out[a], r.scale(a))
		if err != nil {
			t.Fatal(err)
		}
		outer, inner := int64(1), int64(1)
		for i := 0; i < a; i++ {
			outer *= dims[i]
		}
		for i := a + 1; i < len(dims); i++ {
			inner *= dims[i]
		}
		n, m := r.in[a], r.out[a]
		next := make([]float64, outer*m*inner)
		for o := int64(0); o < outer; o++ {
			for i := int64(0); i < m; i++ {
				for j := int64(0); j < n; j++ {
					w := A[i*n+j]
					if w == 0 {
						continue
					}
					for k := int64(0); k < inner; k++ {
						next[(o*m+i)*inner+k] += w * cur[(o*n+j)*inner+k]
					}
				}
			}
		}
		cur, dims[a] = next, m
	}
	return cur
}

// TestResizeMatrixMatchesORT checks the interpolation matrices against
// ONNX Runtime's own Resize: the gradient is only right if the forward
// mapping is.
func TestResizeMatrixMatchesORT(t *testing.T) {
	rt := orttest.Runtime(t)
	for i, r := range resizeCfgs {
		t.Run(r.String(), func(t *testing.T) {
			b := onnx.NewBuilder("resize", 17)
			b.Input("x", onnx.Float, anyDims(r.in)...)
			y := r.node(b, "x")
			b.OutputAs("y", y, onnx.Float, anyDims(r.out)...)
			m, err := b.Model()
			if err != nil {
				t.Fatal(err)
			}
			sess, err := rt.NewSessionFromModel(m, ort.SessionOptions{Provider: ort.ProviderCPU})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			x, _ := ort.NewTensor(onnx.Float, r.in...)
			defer x.Destroy()
			xv := randData(rand.New(rand.NewSource(int64(i))), onnx.NumElements(r.in), 0, 0)
			x.SetFloat32(xv)
			out := ort.Feeds{}
			if err := sess.Run(context.Background(), ort.Feeds{"x": x}, out); err != nil {
				t.Fatal(err)
			}
			got, _ := out["y"].ReadFloat32(nil)
			want := goResize(t, r, xv)
			if len(got) != len(want) {
				t.Fatalf("ORT gave %d elements, the matrices %d", len(got), len(want))
			}
			worst := 0.0
			for k := range got {
				worst = math.Max(worst, math.Abs(float64(got[k])-want[k]))
			}
			if worst > 1e-5 {
				t.Fatalf("max |ORT − matrices| = %.3g\nORT %v\nGo  %v", worst, got, want)
			}
		})
	}
}

type weightFn func(b *onnx.Builder, r *rand.Rand, name string, dims ...int64) string

// moreCases are the per-op cases of the rules added after the first ~40,
// with weights made by weight (float32) or weight64.
func moreCases(weight weightFn) []opCase {
	var cases []opCase
	for i, r := range resizeCfgs {
		r := r
		cases = append(cases, opCase{name: fmt.Sprintf("resize-%d %s", i, r), wrt: []string{"x"}, in: []input{{name: "x", dims: r.in}},
			float32Only: "ONNX Runtime's CPU Resize has no float64 kernel",
			build: func(b *onnx.Builder, rng *rand.Rand) string {
				// A random weight on the output makes every output element
				// count differently.
				return b.Node("Mul", []string{r.node(b, "x"), weight(b, rng, "w", r.out...)})
			}})
	}
	x275 := input{name: "x", dims: []int64{2, 7, 5}}
	cases = append(cases,
		opCase{name: "slice-step2", in: []input{x275}, wrt: []string{"x"}, build: func(b *onnx.Builder, r *rand.Rand) string {
			return b.Node("Slice", []string{"x", ints(b, "st", 1), ints(b, "en", 7), ints(b, "ax", 1), ints(b, "sp", 2)})
		}},
		opCase{name: "slice-step3-ragged-end", in: []input{x275}, wrt: []string{"x"}, build: func(b *onnx.Builder, r *rand.Rand) string {
			// Reads 1 and 4 of 7: the zeros after the last read run past
			// the axis and must be cut.
			return b.Node("Slice", []string{"x", ints(b, "st", 1), ints(b, "en", 1<<40), ints(b, "ax", -2), ints(b, "sp", 3)})
		}},
		opCase{name: "slice-reverse", in: []input{x275}, wrt: []string{"x"}, build: func(b *onnx.Builder, r *rand.Rand) string {
			rev := b.Node("Slice", []string{"x", ints(b, "st", -1), ints(b, "en", math.MinInt64), ints(b, "ax", -1), ints(b, "sp", -1)})
			return b.Node("Mul", []string{rev, weight(b, r, "w", 2, 7, 5)})
		}},
		opCase{name: "slice-negative-steps-multi-axis", in: []input{x275}, wrt: []string{"x"}, build: func(b *onnx.Builder, r *rand.Rand) string {
			// Axis 1: 5, 3 (step −2, end excluded at 1); axis 0: 1, 0;
			// axis 2: 0, 2, 4 (step 2, end clamped).
			s := b.Node("Slice", []string{"x", ints(b, "st", 5, -1, 0), ints(b, "en", 1, -100, 99), ints(b, "ax", 1, 0, 2), ints(b, "sp", -2, -1, 2)})
			return b.Node("Mul", []string{s, weight(b, r, "w", 2, 2, 3)})
		}},
		opCase{name: "slice-rank1-step-minus2", in: []input{{name: "x", dims: []int64{6}}}, wrt: []string{"x"}, build: func(b *onnx.Builder, r *rand.Rand) string {
			s := b.Node("Slice", []string{"x", ints(b, "st", 99), ints(b, "en", -99), ints(b, "ax", 0), ints(b, "sp", -2)})
			return b.Node("Mul", []string{s, weight(b, r, "w", 3)})
		}},
	)
	einsum := func(name, eq string, ins ...input) opCase {
		var wrt []string
		for _, in := range ins {
			wrt = append(wrt, in.name)
		}
		return opCase{name: "einsum-" + name, in: ins, wrt: wrt, build: func(b *onnx.Builder, r *rand.Rand) string {
			y := b.Node("Einsum", wrt, onnx.AttrString("equation", eq))
			if strings.HasSuffix(eq, "->") {
				// A rank-0 result goes out as [1]: the binding cannot
				// take a scalar output of undeclared shape.
				y = b.Node("Reshape", []string{y, ints(b, "one", 1)})
			}
			return y
		}}
	}
	in := func(name string, dims ...int64) input { return input{name: name, dims: dims} }
	cases = append(cases,
		einsum("matmul", "ij,jk->ik", in("a", 3, 4), in("b", 4, 5)),
		einsum("batched-attention", "bhqd,bhkd->bhqk", in("q", 2, 2, 3, 4), in("k", 2, 2, 5, 4)),
		einsum("implicit-output", "ik,kj", in("a", 3, 4), in("b", 4, 2)),
		einsum("outer", "i,j->ij", in("u", 3), in("v", 4)),
		einsum("dot-to-scalar", "i,i->", in("u", 5), in("v", 5)),
		// k is summed over a alone: its gradient is broadcast along k.
		einsum("private-sum", "ijk,jl->il", in("a", 2, 3, 4), in("b", 3, 2)),
		einsum("uppercase-and-spaces", "Ab, bC -> CA", in("a", 3, 2), in("b", 2, 4)),
		einsum("three-operands", "ij,jk,kl->il", in("a", 2, 3), in("b", 3, 4), in("c", 4, 2)),
		einsum("transpose", "ijk->kij", in("a", 2, 3, 4)),
		einsum("sum-axes", "ijk->j", in("a", 2, 3, 4)),
		einsum("sum-all", "ij->", in("a", 3, 4)),
		einsum("identity", "ij->ij", in("a", 3, 4)),
	)
	noConvT64 := "ONNX Runtime's CPU ConvTranspose has no float64 kernel"
	cases = append(cases,
		opCase{name: "convtranspose-weight-bias-stride-pad-outpad", float32Only: noConvT64, in: []input{in("x", 2, 4, 4, 5), in("w", 4, 3, 3, 3), in("bias", 3)},
			wrt: []string{"x", "w", "bias"}, build: func(b *onnx.Builder, r *rand.Rand) string {
				return b.Node("ConvTranspose", []string{"x", "w", "bias"}, onnx.AttrInts("strides", 2, 2),
					onnx.AttrInts("pads", 1, 0, 1, 1), onnx.AttrInts("output_padding", 1, 0))
			}},
		opCase{name: "convtranspose-groups-dilation", float32Only: noConvT64, in: []input{in("x", 1, 4, 5, 4), in("w", 4, 1, 2, 3), in("bias", 2)},
			wrt: []string{"x", "w", "bias"}, build: func(b *onnx.Builder, r *rand.Rand) string {
				return b.Node("ConvTranspose", []string{"x", "w", "bias"}, onnx.AttrInts("dilations", 2, 1), onnx.AttrInt("group", 2),
					onnx.AttrInts("strides", 1, 2))
			}},
		opCase{name: "convtranspose-1d-outpad-past-dilation", float32Only: noConvT64, in: []input{in("x", 2, 3, 6), in("w", 3, 2, 3)},
			wrt: []string{"x", "w"}, build: func(b *onnx.Builder, r *rand.Rand) string {
				// output_padding 2 ≥ dilation 1: the weight gradient's
				// convolution overshoots the kernel and is cut back.
				return b.Node("ConvTranspose", []string{"x", "w"}, onnx.AttrInts("strides", 3), onnx.AttrInts("output_padding", 2))
			}},
	)
	return cases
}

func TestOpGradientsMore(t *testing.T) {
	rt := orttest.Runtime(t)
	for _, c := range moreCases(weight) {
		t.Run(c.name, func(t *testing.T) { runCase(t, rt, c) })
	}
}

func TestOpGradientsMore64(t *testing.T) {
	rt := orttest.Runtime(t)
	for _, c := range moreCases(weight64) {
		if c.float32Only != "" {
			continue // float32 with TestOpGradientsMore's tolerance
		}
		c.double = true
		t.Run(c.name, func(t *testing.T) { runCase(t, rt, c) })
	}
}

// TestOpGradientsGroupNorm covers GroupNormalization at opset 18 (scale and
// bias per group) and 21 (per channel), which ONNX Runtime runs as the
// op's function body.
func TestOpGradientsGroupNorm(t *testing.T) {
	rt := orttest.Runtime(t)
	for _, c := range []struct {
		opset        int64
		x            []int64
		groups, npar int64
	}{
		{18, []int64{2, 6, 3, 4}, 3, 3},
		{21, []int64{2, 6, 3, 4}, 3, 6},
		{21, []int64{2, 4, 5}, 2, 4},    // rank 3
		{21, []int64{1, 4, 2, 2}, 1, 4}, // one group: layer norm over C, H, W
		{18, []int64{3, 8}, 2, 2},       // rank 2
	} {
		for _, double := range []bool{false, true} {
			name := fmt.Sprintf("opset%d-x%v-groups%d-float%d", c.opset, c.x, c.groups, map[bool]int{false: 32, true: 64}[double])
			w := weight
			if double {
				w = weight64
			}
			// float32: normalising over a dozen elements amplifies the
			// loss's float32 rounding in the finite differences (~2e-2
			// seen); the float64 runs check the same rule to 1e-6.
			runCaseOpset(t, rt, c.opset, opCase{name: "groupnorm-" + name, double: double, tol: map[bool]float64{false: 5e-2, true: 1e-6}[double],
				in:  []input{{name: "x", dims: c.x}, {name: "s", dims: []int64{c.npar}}, {name: "bb", dims: []int64{c.npar}}},
				wrt: []string{"x", "s", "bb"},
				build: func(b *onnx.Builder, r *rand.Rand) string {
					attrs := []onnx.Attr{onnx.AttrInt("num_groups", c.groups), onnx.AttrFloat("epsilon", 1e-4)}
					if double && c.opset >= 21 {
						// Opset 21 normalises in stash_type, float32 by
						// default: float64 all through needs it said.
						attrs = append(attrs, onnx.AttrInt("stash_type", int64(onnx.Double)))
					}
					gn := b.Node("GroupNormalization", []string{"x", "s", "bb"}, attrs...)
					// Weighting the output keeps dL/dx from vanishing (the
					// normalisation removes the mean of any uniform gradient).
					return b.Node("Mul", []string{gn, w(b, r, "w", c.x...)})
				}})
		}
	}
}

// TestSliceRange checks ONNX's clamping rules, including the empty and
// the one-element cases a gradient check cannot reach.
func TestSliceRange(t *testing.T) {
	for _, c := range []struct{ start, end, step, n, first, count int64 }{
		{0, 7, 2, 7, 0, 4},
		{1, 1 << 40, 3, 7, 1, 2},
		{-1, math.MinInt64, -1, 5, 4, 5},
		{5, 1, -2, 7, 5, 2},
		{99, -99, -2, 6, 5, 3},
		{3, 1, 1, 6, 3, 0},
		{1, 3, -1, 6, 1, 0},
		{-100, 100, 1, 4, 0, 4},
		{2, 3, 5, 4, 2, 1},
		{0, 0, 1, 0, 0, 0},
		{1, 5, math.MaxInt64, 6, 1, 1},
		{4, -9, math.MinInt64 + 1, 6, 4, 1},
		{4, -9, math.MinInt64, 6, 4, 1},
	} {
		f, k, err := sliceRange(c.start, c.end, c.step, c.n)
		if err != nil || f != c.first || k != c.count {
			t.Errorf("sliceRange(%d, %d, %d, n=%d) = %d, %d, %v; want %d, %d", c.start, c.end, c.step, c.n, f, k, err, c.first, c.count)
		}
	}
	if _, _, err := sliceRange(0, 1, 0, 3); err == nil {
		t.Error("step 0 accepted")
	}
}

// TestUnsupportedVariants: the forms the new rules do not cover fail with
// an UnsupportedError that says why, not with a wrong gradient.
func TestUnsupportedVariants(t *testing.T) {
	rt := orttest.Runtime(t)
	for _, c := range []struct {
		name, want string
		x          []int64
		build      func(b *onnx.Builder) string
	}{
		{"einsum-ellipsis", "ellipsis", []int64{2, 3, 4}, func(b *onnx.Builder) string {
			return b.Node("Einsum", []string{"x"}, onnx.AttrString("equation", "...ij->...ji"))
		}},
		{"einsum-diagonal", "diagonal", []int64{3, 3}, func(b *onnx.Builder) string {
			return b.Node("Einsum", []string{"x"}, onnx.AttrString("equation", "ii->i"))
		}},
		{"resize-cubic", "cubic", []int64{1, 1, 3, 3}, func(b *onnx.Builder) string {
			return b.Node("Resize", []string{"x", "", "", ints(b, "sizes", 1, 1, 6, 6)}, onnx.AttrString("mode", "cubic"))
		}},
		{"resize-tf-crop-and-resize", "tf_crop_and_resize", []int64{1, 1, 4, 4}, func(b *onnx.Builder) string {
			roi := b.Initializer(onnx.TensorFloat32("roi", []int64{8}, []float32{0, 0, 0.1, 0.1, 1, 1, 0.9, 0.9}))
			return b.Node("Resize", []string{"x", roi, "", ints(b, "sizes", 1, 1, 6, 6)}, onnx.AttrString("mode", "linear"),
				onnx.AttrString("coordinate_transformation_mode", "tf_crop_and_resize"))
		}},
		{"convtranspose-output-shape", "output_shape", []int64{1, 2, 3, 3}, func(b *onnx.Builder) string {
			r := rand.New(rand.NewSource(1))
			return b.Node("ConvTranspose", []string{"x", weight(b, r, "w", 2, 2, 3, 3)}, onnx.AttrInts("strides", 2, 2),
				onnx.AttrInts("output_shape", 6, 6))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := onnx.NewBuilder(c.name, 17)
			b.Input("x", onnx.Float, anyDims(c.x)...)
			b.OutputAs("y", c.build(b), onnx.Float)
			m, err := b.Model()
			if err != nil {
				t.Fatal(err)
			}
			xt, _ := ort.NewTensor(onnx.Float, c.x...)
			defer xt.Destroy()
			sh, err := Probe(context.Background(), rt, m, ort.Feeds{"x": xt})
			if err != nil {
				t.Fatal(err)
			}
			_, err = Compile(m, sh, Options{Wrt: []string{"x"}, Output: "y", Loss: LossMSE})
			var ue *UnsupportedError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an UnsupportedError mentioning %q, got %v", c.want, err)
			}
			t.Log(err)
		})
	}
}
