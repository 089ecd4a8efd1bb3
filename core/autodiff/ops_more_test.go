package autodiff

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
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
	rt := testRuntime(t)
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

func TestOpGradientsMore(t *testing.T) {
	rt := testRuntime(t)
	var cases []opCase
	for i, r := range resizeCfgs {
		r := r
		cases = append(cases, opCase{name: fmt.Sprintf("resize-%d %s", i, r), wrt: []string{"x"}, in: []input{{name: "x", dims: r.in}},
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
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCase(t, rt, c) })
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
