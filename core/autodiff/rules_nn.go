package autodiff

import (
	"fmt"
	"slices"

	"github.com/oneactor/oneactor-desktop/core/onnx"
)

// normBackward is the gradient of x̂ = (x − mean)/√(var + ε) through the
// statistics over axes, given g·∂y/∂x̂ (gxhat): the usual
// rstd · (gx̂ − mean(gx̂) − x̂ · mean(gx̂ · x̂)).
func normBackward(c *ruleCtx, x string, axes []int64, eps float32, gxhatFn func(xhat string) string) (gx, xhat string) {
	xd := c.dims(x)
	kd := keepDims(xd, axes)
	mean := reduce(c.e, "ReduceMean", x, axes, true, kd)
	xc := c.op("Sub", xd, x, mean)
	v := reduce(c.e, "ReduceMean", c.op("Mul", xd, xc, xc), axes, true, kd)
	rstd := c.op("Reciprocal", kd, c.op("Sqrt", kd, c.op("Add", kd, v, c.e.scalar(float64(eps), c.dt()))))
	xhat = c.op("Mul", xd, xc, rstd)
	gxhat := gxhatFn(xhat)
	m1 := reduce(c.e, "ReduceMean", gxhat, axes, true, kd)
	m2 := reduce(c.e, "ReduceMean", c.op("Mul", xd, gxhat, xhat), axes, true, kd)
	gx = c.op("Mul", xd, rstd, c.op("Sub", xd, c.op("Sub", xd, gxhat, m1), c.op("Mul", xd, xhat, m2)))
	return gx, xhat
}

func layerNormGrad(c *ruleCtx) ([]string, error) {
	x, scale := c.in(0), c.in(1)
	xd := c.dims(x)
	axis := normAxes([]int64{attrIntOr(c.n, "axis", -1)}, len(xd))[0]
	var axes []int64
	for a := axis; a < int64(len(xd)); a++ {
		axes = append(axes, a)
	}
	eps := attrFloatOr(c.n, "epsilon", 1e-5)
	g := c.g()
	gx, xhat := normBackward(c, x, axes, eps, func(string) string { return c.op("Mul", xd, g, scale) })
	gs := c.grads()
	gs[0] = gx
	if c.need[1] {
		gs[1] = c.reduceTo(c.op("Mul", xd, g, xhat), xd, c.dims(scale))
	}
	if len(gs) > 2 && c.need[2] {
		gs[2] = c.reduceTo(g, xd, c.dims(c.in(2)))
	}
	return gs, nil
}

// channelShape is [C, 1, …] for broadcasting a per-channel vector over NC….
func channelShape(xd []int64) []int64 {
	return append([]int64{xd[1]}, ones(len(xd)-2)...)
}

func instanceNormGrad(c *ruleCtx) ([]string, error) {
	x := c.in(0)
	xd := c.dims(x)
	var axes []int64
	for a := 2; a < len(xd); a++ {
		axes = append(axes, int64(a))
	}
	return affineNormGrad(c, axes)
}

func batchNormGrad(c *ruleCtx) ([]string, error) {
	x := c.in(0)
	xd := c.dims(x)
	axes := []int64{0}
	for a := 2; a < len(xd); a++ {
		axes = append(axes, int64(a))
	}
	if attrIntOr(c.n, "training_mode", 0) != 0 {
		return affineNormGrad(c, axes)
	}
	// Inference mode: running statistics are constants, so y is affine in x.
	eps := attrFloatOr(c.n, "epsilon", 1e-5)
	cs := channelShape(xd)
	scale := c.reshape(c.in(1), cs)
	mean := c.reshape(c.in(3), cs)
	v := c.reshape(c.in(4), cs)
	rstd := c.op("Reciprocal", cs, c.op("Sqrt", cs, c.op("Add", cs, v, c.e.scalar(float64(eps), c.dt()))))
	g := c.g()
	gs := c.grads()
	if c.need[0] {
		gs[0] = c.op("Mul", xd, g, c.op("Mul", cs, scale, rstd))
	}
	if c.need[1] {
		xhat := c.op("Mul", xd, c.op("Sub", xd, x, mean), rstd)
		gs[1] = reduce(c.e, "ReduceSum", c.op("Mul", xd, g, xhat), axes, false, c.dims(c.in(1)))
	}
	if c.need[2] {
		gs[2] = reduce(c.e, "ReduceSum", g, axes, false, c.dims(c.in(2)))
	}
	return gs, nil
}

// affineNormGrad handles per-channel scale/bias norms whose statistics are
// taken over axes (instance norm: spatial; batch norm in training mode:
// batch and spatial).
func affineNormGrad(c *ruleCtx, axes []int64) ([]string, error) {
	x := c.in(0)
	xd := c.dims(x)
	eps := attrFloatOr(c.n, "epsilon", 1e-5)
	cs := channelShape(xd)
	scale := c.reshape(c.in(1), cs)
	g := c.g()
	gx, xhat := normBackward(c, x, axes, eps, func(string) string { return c.op("Mul", xd, g, scale) })
	chAxes := []int64{0}
	for a := 2; a < len(xd); a++ {
		chAxes = append(chAxes, int64(a))
	}
	gs := c.grads()
	gs[0] = gx
	if c.need[1] {
		gs[1] = reduce(c.e, "ReduceSum", c.op("Mul", xd, g, xhat), chAxes, false, c.dims(c.in(1)))
	}
	if c.need[2] {
		gs[2] = reduce(c.e, "ReduceSum", g, chAxes, false, c.dims(c.in(2)))
	}
	return gs, nil
}

type convAttrs struct {
	strides, pads, dil []int64
	group              int64
}

func readConvAttrs(c *ruleCtx, spatial int) (convAttrs, error) {
	if ap := attr(c.n, "auto_pad"); ap != nil && string(ap.GetS()) != "" && string(ap.GetS()) != "NOTSET" {
		return convAttrs{}, fmt.Errorf("auto_pad %s is not supported (export with explicit pads)", ap.GetS())
	}
	fill := func(v []int64, n int, def int64) []int64 {
		if len(v) == n {
			return v
		}
		out := make([]int64, n)
		for i := range out {
			out[i] = def
		}
		return out
	}
	return convAttrs{
		strides: fill(attrIntsOr(c.n, "strides", nil), spatial, 1),
		pads:    fill(attrIntsOr(c.n, "pads", nil), 2*spatial, 0),
		dil:     fill(attrIntsOr(c.n, "dilations", nil), spatial, 1),
		group:   attrIntOr(c.n, "group", 1),
	}, nil
}

func convGrad(c *ruleCtx) ([]string, error) {
	x, w := c.in(0), c.in(1)
	xd, wd, yd := c.dims(x), c.dims(w), c.dims(c.out(0))
	sp := len(xd) - 2
	a, err := readConvAttrs(c, sp)
	if err != nil {
		return nil, err
	}
	g := c.g()
	gs := c.grads()
	if c.need[0] {
		// dX = ConvTranspose(dY, W) with output padding to hit X's size.
		outPad := make([]int64, sp)
		for i := 0; i < sp; i++ {
			full := a.strides[i]*(yd[2+i]-1) + (wd[2+i]-1)*a.dil[i] + 1 - a.pads[i] - a.pads[i+sp]
			outPad[i] = xd[2+i] - full
			if outPad[i] < 0 || outPad[i] >= max(a.strides[i], a.dil[i]) {
				return nil, fmt.Errorf("cannot invert Conv geometry on axis %d", i)
			}
		}
		gs[0] = c.e.node("ConvTranspose", xd, c.dt(), []string{g, w},
			attrInts("strides", a.strides...), attrInts("pads", a.pads...), attrInts("dilations", a.dil...),
			attrInt("group", a.group), attrInts("output_padding", outPad...))
	}
	if c.need[1] {
		gw, err := convWeightGrad(c, x, g, xd, wd, yd, a)
		if err != nil {
			return nil, err
		}
		gs[1] = gw
	}
	if len(gs) > 2 && c.need[2] {
		axes := []int64{0}
		for i := 2; i < len(yd); i++ {
			axes = append(axes, int64(i))
		}
		gs[2] = reduce(c.e, "ReduceSum", g, axes, false, c.dims(c.in(2)))
	}
	return gs, nil
}

// convWeightGrad: dW[f,c,k] = Σ_n,o dY[n,f,o]·X[n,c,o·s + k·d − p], which is a
// convolution of X (batch and channels swapped) by dY (likewise) with stride
// and dilation exchanged; one such convolution per group.
func convWeightGrad(c *ruleCtx, x, g string, xd, wd, yd []int64, a convAttrs) (string, error) {
	sp := len(xd) - 2
	G := a.group
	cg, fg := xd[1]/G, yd[1]/G
	swap := make([]int64, len(xd))
	for i := range swap {
		swap[i] = int64(i)
	}
	swap[0], swap[1] = 1, 0
	xs, gsplit := []string{x}, []string{g}
	if G > 1 {
		xdims := make([][]int64, G)
		gdims := make([][]int64, G)
		sizesX, sizesG := make([]int64, G), make([]int64, G)
		for i := range xdims {
			xdims[i] = slices.Clone(xd)
			xdims[i][1] = cg
			gdims[i] = slices.Clone(yd)
			gdims[i][1] = fg
			sizesX[i], sizesG[i] = cg, fg
		}
		xs = splitOp(c, x, 1, sizesX, xdims)
		gsplit = splitOp(c, g, 1, sizesG, gdims)
	}
	parts := make([]string, G)
	for gi := int64(0); gi < G; gi++ {
		xt := c.transpose(xs[gi], swap)     // [cg, N, H…]
		gt := c.transpose(gsplit[gi], swap) // [fg, N, OH…]
		od := []int64{cg, fg}
		for i := 0; i < sp; i++ {
			span := (yd[2+i]-1)*a.strides[i] + 1
			od = append(od, (xd[2+i]+a.pads[i]+a.pads[i+sp]-span)/a.dil[i]+1)
		}
		conv := c.e.node("Conv", od, c.dt(), []string{xt, gt},
			attrInts("strides", a.dil...), attrInts("dilations", a.strides...), attrInts("pads", a.pads...))
		// The convolution may run past the kernel when the stride did not
		// divide the input evenly: keep the kernel's extent.
		if !slices.Equal(od[2:], wd[2:]) {
			starts := make([]int64, sp)
			axes := make([]int64, sp)
			for i := range axes {
				axes[i] = int64(2 + i)
			}
			sd := slices.Clone(od)
			copy(sd[2:], wd[2:])
			conv = c.e.node("Slice", sd, c.dt(), []string{conv, c.e.constI64("starts", starts),
				c.e.constI64("ends", wd[2:]), c.e.constI64("axes", axes)})
		}
		parts[gi] = c.transpose(conv, swap) // [fg, cg, K…]
	}
	if G == 1 {
		return parts[0], nil
	}
	return c.e.node("Concat", wd, c.dt(), parts, attrInt("axis", 0)), nil
}

// convTransposeGrad: ConvTranspose(X, W) is the adjoint of Conv(·, W) with
// the same strides, pads, dilations and groups, so ⟨G, ConvTranspose(X, W)⟩
// = ⟨Conv(G, W), X⟩. Hence dX = Conv(G, W), and dW is the weight gradient of
// that Conv with G as its input and X as its output gradient.
func convTransposeGrad(c *ruleCtx) ([]string, error) {
	x, w := c.in(0), c.in(1)
	xd, wd, yd := c.dims(x), c.dims(w), c.dims(c.out(0))
	a, err := readConvAttrs(c, len(xd)-2)
	if err != nil {
		return nil, err
	}
	if attr(c.n, "output_shape") != nil {
		return nil, fmt.Errorf("ConvTranspose with output_shape is not supported (export with explicit pads and output_padding)")
	}
	g := c.g()
	gs := c.grads()
	if c.need[0] {
		gs[0] = c.e.node("Conv", xd, c.dt(), []string{g, w},
			attrInts("strides", a.strides...), attrInts("pads", a.pads...), attrInts("dilations", a.dil...),
			attrInt("group", a.group))
	}
	if c.need[1] {
		gw, err := convWeightGrad(c, g, x, yd, wd, xd, a)
		if err != nil {
			return nil, err
		}
		gs[1] = gw
	}
	if len(gs) > 2 && c.need[2] {
		axes := []int64{0}
		for i := 2; i < len(yd); i++ {
			axes = append(axes, int64(i))
		}
		gs[2] = reduce(c.e, "ReduceSum", g, axes, false, c.dims(c.in(2)))
	}
	return gs, nil
}

// groupNormGrad: GroupNormalization (opset 18 and 21) normalises x viewed as
// [N, G, C/G·spatial] over its last axis. Opset 18 scales and shifts per
// group (scale, bias: [G]); opset 21 per channel ([C]), like torch's
// GroupNorm. The statistics' gradient is normBackward's on that view.
func groupNormGrad(c *ruleCtx) ([]string, error) {
	x, scale := c.in(0), c.in(1)
	xd := c.dims(x)
	if len(xd) < 2 {
		return nil, fmt.Errorf("GroupNormalization of a rank-%d input", len(xd))
	}
	G := attrIntOr(c.n, "num_groups", 0)
	if G <= 0 || xd[1]%G != 0 {
		return nil, fmt.Errorf("GroupNormalization: %d groups do not divide %d channels", G, xd[1])
	}
	N := xd[0]
	K := onnx.NumElements(xd) / max(N*G, 1)
	view := []int64{N, G, K}
	perChannel := c.opset >= 21
	if sd := c.dims(scale); len(sd) == 1 && !perChannel && sd[0] != G {
		return nil, fmt.Errorf("GroupNormalization-18 wants %d group scales, got %d", G, sd[0])
	}
	eps := attrFloatOr(c.n, "epsilon", 1e-5)
	g := c.g()
	gv := c.reshape(g, view)
	var gxhat string
	if perChannel {
		gxhat = c.reshape(c.op("Mul", xd, g, c.reshape(scale, channelShape(xd))), view)
	} else {
		gxhat = c.op("Mul", view, gv, c.reshape(scale, []int64{G, 1}))
	}
	gxv, xhatv := normBackward(c, c.reshape(x, view), []int64{2}, eps, func(string) string { return gxhat })
	gs := c.grads()
	gs[0] = c.reshape(gxv, xd)
	chAxes := []int64{0}
	for a := 2; a < len(xd); a++ {
		chAxes = append(chAxes, int64(a))
	}
	if c.need[1] {
		if perChannel {
			gs[1] = reduce(c.e, "ReduceSum", c.op("Mul", xd, g, c.reshape(xhatv, xd)), chAxes, false, c.dims(scale))
		} else {
			gs[1] = reduce(c.e, "ReduceSum", c.op("Mul", view, gv, xhatv), []int64{0, 2}, false, c.dims(scale))
		}
	}
	if len(gs) > 2 && c.need[2] {
		if perChannel {
			gs[2] = reduce(c.e, "ReduceSum", g, chAxes, false, c.dims(c.in(2)))
		} else {
			gs[2] = reduce(c.e, "ReduceSum", gv, []int64{0, 2}, false, c.dims(c.in(2)))
		}
	}
	return gs, nil
}
