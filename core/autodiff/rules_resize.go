package autodiff

import (
	"fmt"
	"math"
	"slices"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// resizeParams is what the gradient needs of a Resize/Upsample node: the
// interpolation, and per axis the scale ONNX Runtime maps coordinates with.
type resizeParams struct {
	mode, coord, nearest string
	scales               []float32 // one per axis of the input
}

// readResize collects a Resize node's attributes and its scale per axis:
// the scales input when given (ONNX Runtime maps coordinates with it, not
// with the rounded size ratio), out/in for the sizes form.
func readResize(c *ruleCtx) (resizeParams, error) {
	xd, yd := c.dims(c.in(0)), c.dims(c.out(0))
	p := resizeParams{mode: "nearest", coord: "half_pixel", nearest: "round_prefer_floor"}
	if a := attr(c.n, "mode"); a != nil {
		p.mode = string(a.GetS())
	}
	if a := attr(c.n, "coordinate_transformation_mode"); a != nil {
		p.coord = string(a.GetS())
	}
	if a := attr(c.n, "nearest_mode"); a != nil {
		p.nearest = string(a.GetS())
	}
	if len(xd) != len(yd) {
		return p, fmt.Errorf("Resize changes the rank (%v → %v)", xd, yd)
	}
	// ratio is ONNX Runtime's scale for the sizes form (float32 division).
	ratio := func(a int) float32 { return float32(yd[a]) / float32(xd[a]) }
	p.scales = make([]float32, len(xd))
	for a := range p.scales {
		p.scales[a] = ratio(a)
	}
	if c.n.GetOpType() == "Upsample" {
		// Upsample-7..9: scales attribute (7) or input 1; asymmetric
		// coordinates, floor rounding.
		p.coord, p.nearest = "asymmetric", "floor"
		if a := attr(c.n, "scales"); a != nil {
			copy(p.scales, a.GetFloats())
		} else if v, ok := c.floatValues(c.in(1)); ok && len(v) == len(xd) {
			copy(p.scales, v)
		}
		return p, nil
	}
	if v := attrIntOr(c.n, "antialias", 0); v != 0 {
		for a := range xd {
			if yd[a] < xd[a] {
				return p, fmt.Errorf("Resize with antialias while downsampling is not supported")
			}
		}
	}
	if pol := attr(c.n, "keep_aspect_ratio_policy"); pol != nil && string(pol.GetS()) != "stretch" && c.in(3) != "" {
		return p, fmt.Errorf("Resize keep_aspect_ratio_policy %q is not supported", pol.GetS())
	}
	axes := attrIntsOr(c.n, "axes", nil)
	if axes == nil {
		for a := range xd {
			axes = append(axes, int64(a))
		}
	}
	axes = slices.Clone(axes)
	for i, a := range axes {
		if a < 0 {
			axes[i] = a + int64(len(xd))
		}
	}
	if s := c.in(2); s != "" && onnx.NumElements(c.dims(s)) > 0 {
		v, ok := c.floatValues(s)
		if !ok {
			return p, fmt.Errorf("Resize scales input %q must be a constant", s)
		}
		if len(v) != len(axes) {
			return p, fmt.Errorf("Resize has %d scales for %d axes", len(v), len(axes))
		}
		for i, a := range axes {
			p.scales[a] = v[i]
		}
	}
	return p, nil
}

// floatValues reads a small float constant (initializer or Constant node).
func (c *ruleCtx) floatValues(name string) ([]float32, bool) {
	var t *onnxpb.TensorProto
	for _, init := range c.e.g.GetInitializer() {
		if init.GetName() == name {
			t = init
			break
		}
	}
	if t == nil {
		for _, n := range c.e.g.GetNode() {
			if n.GetOpType() == "Constant" && len(n.GetOutput()) == 1 && n.GetOutput()[0] == name {
				if a := attr(n, "value"); a != nil {
					t = a.GetT()
				} else if a := attr(n, "value_floats"); a != nil {
					return a.GetFloats(), true
				} else if a := attr(n, "value_float"); a != nil {
					return []float32{a.GetF()}, true
				}
				break
			}
		}
	}
	if t == nil || t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil, false
	}
	v, err := (&onnx.Model{}).TensorFloat32s(t)
	return v, err == nil
}

// resizeGrad: Resize is linear in its input and separable per axis, y =
// X ×₁ A₁ ×₂ A₂ … with one [out, in] interpolation matrix per resized axis.
// The shapes are static after Probe, so the matrices are built here, in Go,
// with ONNX Runtime's coordinate rules, and the gradient contracts the
// output gradient with each of them (MatMul). Nearest upsampling by whole
// factors — the UNet's — takes a cheaper route: each input pixel feeds a
// block of output pixels, so its gradient is the block's sum.
func resizeGrad(c *ruleCtx) ([]string, error) {
	p, err := readResize(c)
	if err != nil {
		return nil, err
	}
	xd, yd := c.dims(c.in(0)), c.dims(c.out(0))
	switch p.mode {
	case "nearest", "linear":
	default:
		return nil, fmt.Errorf("Resize mode %q is not supported (nearest and linear are)", p.mode)
	}
	gs := c.grads()
	if p.mode == "nearest" {
		if g, ok := nearestBlockGrad(c, p, xd, yd); ok {
			gs[0] = g
			return gs, nil
		}
	}
	g := c.g()
	for a := range xd {
		A, err := resizeMatrix(p.mode, p.coord, p.nearest, xd[a], yd[a], p.scales[a])
		if err != nil {
			return nil, err
		}
		if isIdentity(A, xd[a], yd[a]) {
			continue
		}
		g = contractAxis(c, g, a, A, xd[a], yd[a])
	}
	gs[0] = g
	return gs, nil
}

// nearestBlockGrad is the block-sum gradient of nearest upsampling by
// integer factors, when the coordinate and rounding modes map output index i
// to input index ⌊i/s⌋ on every axis.
func nearestBlockGrad(c *ruleCtx, p resizeParams, xd, yd []int64) (string, bool) {
	var split, sumAxes []int64
	for a := range xd {
		if yd[a]%xd[a] != 0 {
			return "", false
		}
		s := yd[a] / xd[a]
		if s > 1 || p.scales[a] != 1 {
			A, err := resizeMatrix("nearest", p.coord, p.nearest, xd[a], yd[a], p.scales[a])
			if err != nil {
				return "", false
			}
			for i := int64(0); i < yd[a]; i++ {
				if A[i*xd[a]+i/s] != 1 {
					return "", false
				}
			}
		}
		split = append(split, xd[a])
		if s > 1 {
			split = append(split, s)
			sumAxes = append(sumAxes, int64(len(split)-1))
		}
	}
	g := c.reshape(c.g(), split)
	if len(sumAxes) > 0 {
		g = reduce(c.e, "ReduceSum", g, sumAxes, false, xd)
	}
	return c.reshape(g, xd), true
}

// contractAxis maps a gradient [.., out, ..] (axis a) to [.., in, ..]
// through Aᵀ, A being the row-major [out, in] interpolation matrix.
func contractAxis(c *ruleCtx, g string, a int, A []float64, in, out int64) string {
	gd := c.dims(g)
	r := len(gd)
	res := slices.Clone(gd)
	res[a] = in
	switch {
	case a == r-1: // g[.., out] · A[out, in]
		return c.op("MatMul", res, g, c.e.floatConstOf("resize_matrix", c.dt(), []int64{out, in}, A))
	case a == r-2: // Aᵀ[in, out] · g[.., out, W]
		return c.op("MatMul", res, c.e.floatConstOf("resize_matrix_t", c.dt(), []int64{in, out}, transpose2(A, out, in)), g)
	}
	perm := make([]int64, 0, r)
	for i := 0; i < r; i++ {
		if i != a {
			perm = append(perm, int64(i))
		}
	}
	perm = append(perm, int64(a))
	inv := make([]int64, r)
	for i, p := range perm {
		inv[p] = int64(i)
	}
	t := c.transpose(g, perm)
	td := slices.Clone(c.dims(t))
	td[r-1] = in
	m := c.op("MatMul", td, t, c.e.floatConstOf("resize_matrix", c.dt(), []int64{out, in}, A))
	return c.transpose(m, inv)
}

func transpose2(A []float64, rows, cols int64) []float64 {
	t := make([]float64, len(A))
	for i := int64(0); i < rows; i++ {
		for j := int64(0); j < cols; j++ {
			t[j*rows+i] = A[i*cols+j]
		}
	}
	return t
}

func isIdentity(A []float64, in, out int64) bool {
	if in != out {
		return false
	}
	for i := int64(0); i < out; i++ {
		for j := int64(0); j < in; j++ {
			want := 0.0
			if i == j {
				want = 1
			}
			if A[i*in+j] != want {
				return false
			}
		}
	}
	return true
}

// resizeCoord is ONNX Runtime's get_original_coordinate: the input
// coordinate output index i maps to, computed in float32 as it does.
func resizeCoord(coord string, i, in, out int64, scale float32) (float32, error) {
	x := float32(i)
	switch coord {
	case "half_pixel":
		return (x+0.5)/scale - 0.5, nil
	case "pytorch_half_pixel":
		if out > 1 {
			return (x+0.5)/scale - 0.5, nil
		}
		return 0, nil
	case "asymmetric":
		return x / scale, nil
	case "tf_half_pixel_for_nn":
		return (x + 0.5) / scale, nil
	case "align_corners":
		if out == 1 {
			return 0, nil
		}
		return x * float32(in-1) / float32(out-1), nil
	case "half_pixel_symmetric":
		adjust := float32(out) / (scale * float32(in))
		center := float32(in) / 2
		return center*(1-adjust) + (x+0.5)/scale - 0.5, nil
	}
	return 0, fmt.Errorf("Resize coordinate_transformation_mode %q is not supported", coord)
}

// resizeMatrix is the row-major [out, in] matrix of one axis of Resize:
// output[i] = Σ_j A[i, j] · input[j], following ONNX Runtime's CPU kernel
// (linear: the coordinate clamped to [0, in−1] and split between its two
// neighbours; nearest: the rounded coordinate, clamped).
func resizeMatrix(mode, coord, nearest string, in, out int64, scale float32) ([]float64, error) {
	if in <= 0 || out <= 0 {
		return nil, fmt.Errorf("Resize of an empty axis (%d → %d)", in, out)
	}
	A := make([]float64, out*in)
	for i := int64(0); i < out; i++ {
		x, err := resizeCoord(coord, i, in, out, scale)
		if err != nil {
			return nil, err
		}
		switch mode {
		case "linear":
			x = max(0, min(x, float32(in-1)))
			x1 := min(int64(x), in-1)
			x2 := min(x1+1, in-1)
			if x1 == x2 {
				A[i*in+x1] = 1
				continue
			}
			// ORT: dx1 = |x − x1| weighs x2, dx2 = |x − x2| weighs x1.
			A[i*in+x1] += float64(float32(math.Abs(float64(x - float32(x2)))))
			A[i*in+x2] += float64(float32(math.Abs(float64(x - float32(x1)))))
		case "nearest":
			var r float64
			xf := float64(x)
			switch nearest {
			case "floor":
				r = math.Floor(xf)
			case "ceil":
				r = math.Ceil(xf)
			case "round_prefer_ceil":
				r = math.Round(xf)
			case "round_prefer_floor", "":
				if xf == math.Trunc(xf)+0.5 {
					r = math.Floor(xf)
				} else {
					r = math.Round(xf)
				}
			default:
				return nil, fmt.Errorf("Resize nearest_mode %q is not supported", nearest)
			}
			j := int64(max(0, min(r, float64(in-1))))
			A[i*in+j] = 1
		default:
			return nil, fmt.Errorf("Resize mode %q is not supported", mode)
		}
	}
	return A, nil
}
