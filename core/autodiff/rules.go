package autodiff

import (
	"fmt"
	"math"
	"slices"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// ruleCtx is what a gradient rule sees of one forward node.
type ruleCtx struct {
	e     *emitter
	n     *onnxpb.NodeProto
	sh    *Shapes
	gOut  []string // gradient of each output ("" if none reaches the loss)
	need  []bool   // which inputs want a gradient
	opset int64
}

// rule returns one gradient per input ("" for none).
type rule func(c *ruleCtx) ([]string, error)

func (c *ruleCtx) in(i int) string {
	if i < len(c.n.GetInput()) {
		return c.n.GetInput()[i]
	}
	return ""
}
func (c *ruleCtx) out(i int) string      { return c.n.GetOutput()[i] }
func (c *ruleCtx) dims(v string) []int64 { return c.sh.Dims[v] }
func (c *ruleCtx) g() string             { return c.gOut[0] }

// dt is the element type gradients of this node flow in: its output's
// float type.
func (c *ruleCtx) dt() onnx.DataType {
	if t := c.sh.Types[c.out(0)]; isFloat(t) {
		return t
	}
	return onnx.Float
}
func (c *ruleCtx) grads() []string { return make([]string, len(c.n.GetInput())) }

// op emits an elementwise/shape-preserving node with the given result shape.
func (c *ruleCtx) op(op string, dims []int64, inputs ...string) string {
	return c.e.node(op, dims, c.dt(), inputs)
}

// constValues returns the integer values of a parameter input.
func (c *ruleCtx) constValues(i int) ([]int64, error) {
	name := c.in(i)
	v, ok := c.sh.Values[name]
	if !ok {
		return nil, fmt.Errorf("input %d (%q) must be a constant or computable from shapes", i, name)
	}
	return v, nil
}

// reduceTo sums a broadcast gradient back to the shape of the input it
// belongs to (numpy broadcasting in reverse).
func (c *ruleCtx) reduceTo(g string, gDims, xDims []int64) string {
	if slices.Equal(gDims, xDims) {
		return g
	}
	lead := len(gDims) - len(xDims)
	var axes []int64
	for i := range gDims {
		if i < lead || (xDims[i-lead] == 1 && gDims[i] != 1) {
			axes = append(axes, int64(i))
		}
	}
	keep := make([]int64, len(gDims))
	for i := range gDims {
		keep[i] = gDims[i]
		if slices.Contains(axes, int64(i)) {
			keep[i] = 1
		}
	}
	r := g
	if len(axes) > 0 {
		r = reduce(c.e, "ReduceSum", g, axes, true, keep)
	}
	if !slices.Equal(keep, xDims) {
		r = c.reshape(r, xDims)
	}
	return r
}

func (c *ruleCtx) reshape(x string, dims []int64) string {
	if slices.Equal(c.dims(x), dims) {
		return x
	}
	return c.e.node("Reshape", dims, c.sh.Types[x], []string{x, c.e.constI64("shape", dims)})
}

func (c *ruleCtx) transpose(x string, perm []int64) string {
	d := c.dims(x)
	out := make([]int64, len(perm))
	for i, p := range perm {
		out[i] = d[p]
	}
	return c.e.node("Transpose", out, c.sh.Types[x], []string{x}, attrInts("perm", perm...))
}

// reduce emits ReduceSum/ReduceMean over axes, with the axes as an input or
// attribute as the opset requires.
func reduce(e *emitter, op, x string, axes []int64, keepdims bool, outDims []int64) string {
	k := int64(0)
	if keepdims {
		k = 1
	}
	dt := e.sh.Types[x]
	if op == "ReduceSum" && e.opset >= 13 || e.opset >= 18 {
		return e.node(op, outDims, dt, []string{x, e.constI64("axes", axes)}, attrInt("keepdims", k))
	}
	return e.node(op, outDims, dt, []string{x}, attrInts("axes", axes...), attrInt("keepdims", k))
}

func normAxes(axes []int64, rank int) []int64 {
	out := make([]int64, len(axes))
	for i, a := range axes {
		if a < 0 {
			a += int64(rank)
		}
		out[i] = a
	}
	slices.Sort(out)
	return out
}

func keepDims(d []int64, axes []int64) []int64 {
	out := slices.Clone(d)
	for _, a := range axes {
		out[a] = 1
	}
	return out
}

func swapLast2(rank int) []int64 {
	p := make([]int64, rank)
	for i := range p {
		p[i] = int64(i)
	}
	p[rank-1], p[rank-2] = p[rank-2], p[rank-1]
	return p
}

var rules = map[string]rule{
	"Identity": passThrough, "Dropout": passThrough,
	"Reshape": reshapeGrad, "Flatten": reshapeGrad, "Squeeze": reshapeGrad, "Unsqueeze": reshapeGrad,
	"Add": addSub(false), "Sub": addSub(true), "Sum": sumGrad,
	"Mul": mulGrad, "Div": divGrad, "Pow": powGrad,
	"Neg": unary(func(c *ruleCtx, g, x, y string, d []int64) string { return c.op("Neg", d, g) }),
	"Exp": unary(func(c *ruleCtx, g, x, y string, d []int64) string { return c.op("Mul", d, g, y) }),
	"Log": unary(func(c *ruleCtx, g, x, y string, d []int64) string { return c.op("Div", d, g, x) }),
	"Sqrt": unary(func(c *ruleCtx, g, x, y string, d []int64) string {
		return c.op("Div", d, c.op("Mul", d, g, c.e.scalar(0.5, c.dt())), y)
	}),
	"Reciprocal": unary(func(c *ruleCtx, g, x, y string, d []int64) string {
		return c.op("Neg", d, c.op("Mul", d, g, c.op("Mul", d, y, y)))
	}),
	"Tanh": unary(func(c *ruleCtx, g, x, y string, d []int64) string {
		return c.op("Mul", d, g, c.op("Sub", d, c.e.scalar(1, c.dt()), c.op("Mul", d, y, y)))
	}),
	"Sigmoid": unary(func(c *ruleCtx, g, x, y string, d []int64) string {
		return c.op("Mul", d, g, c.op("Mul", d, y, c.op("Sub", d, c.e.scalar(1, c.dt()), y)))
	}),
	"Relu": unary(func(c *ruleCtx, g, x, y string, d []int64) string {
		mask := c.e.node("Greater", d, onnx.Bool, []string{x, c.e.scalar(0, c.dt())})
		return c.e.node("Where", d, c.dt(), []string{mask, g, c.e.scalar(0, c.dt())})
	}),
	"Erf": unary(func(c *ruleCtx, g, x, y string, d []int64) string {
		e := c.op("Exp", d, c.op("Neg", d, c.op("Mul", d, x, x)))
		return c.op("Mul", d, g, c.op("Mul", d, e, c.e.scalar(2/math.Sqrt(math.Pi), c.dt())))
	}),
	"Softmax":   softmaxGrad,
	"MatMul":    matmulGrad,
	"Gemm":      gemmGrad,
	"Transpose": transposeGrad,
	"Concat":    concatGrad,
	"Split":     splitGrad,
	"Slice":     sliceGrad,
	"Gather":    gatherGrad,
	"Expand":    expandGrad,
	"Where":     whereGrad,
	"Cast":      castGrad,
	"ReduceSum": reduceGrad(false), "ReduceMean": reduceGrad(true),
	"Conv":                  convGrad,
	"ConvTranspose":         convTransposeGrad,
	"LayerNormalization":    layerNormGrad,
	"InstanceNormalization": instanceNormGrad,
	"BatchNormalization":    batchNormGrad,
	"Resize":                resizeGrad,
	"Upsample":              resizeGrad,
	"Einsum":                einsumGrad,
	"GroupNormalization":    groupNormGrad,
}

func passThrough(c *ruleCtx) ([]string, error) {
	gs := c.grads()
	gs[0] = c.g()
	return gs, nil
}

func reshapeGrad(c *ruleCtx) ([]string, error) {
	gs := c.grads()
	gs[0] = c.reshape(c.g(), c.dims(c.in(0)))
	return gs, nil
}

func unary(f func(c *ruleCtx, g, x, y string, d []int64) string) rule {
	return func(c *ruleCtx) ([]string, error) {
		gs := c.grads()
		gs[0] = f(c, c.g(), c.in(0), c.out(0), c.dims(c.out(0)))
		return gs, nil
	}
}

func addSub(sub bool) rule {
	return func(c *ruleCtx) ([]string, error) {
		gs := c.grads()
		yd := c.dims(c.out(0))
		for i := 0; i < 2; i++ {
			if !c.need[i] {
				continue
			}
			g := c.g()
			if sub && i == 1 {
				g = c.op("Neg", yd, g)
			}
			gs[i] = c.reduceTo(g, yd, c.dims(c.in(i)))
		}
		return gs, nil
	}
}

func sumGrad(c *ruleCtx) ([]string, error) {
	gs := c.grads()
	yd := c.dims(c.out(0))
	for i := range c.n.GetInput() {
		if c.need[i] {
			gs[i] = c.reduceTo(c.g(), yd, c.dims(c.in(i)))
		}
	}
	return gs, nil
}

func mulGrad(c *ruleCtx) ([]string, error) {
	gs := c.grads()
	yd := c.dims(c.out(0))
	for i := 0; i < 2; i++ {
		if c.need[i] {
			gs[i] = c.reduceTo(c.op("Mul", yd, c.g(), c.in(1-i)), yd, c.dims(c.in(i)))
		}
	}
	return gs, nil
}

func divGrad(c *ruleCtx) ([]string, error) {
	gs := c.grads()
	yd := c.dims(c.out(0))
	a, b, y := c.in(0), c.in(1), c.out(0)
	if c.need[0] {
		gs[0] = c.reduceTo(c.op("Div", yd, c.g(), b), yd, c.dims(a))
	}
	if c.need[1] {
		// d(a/b)/db = −y/b
		t := c.op("Neg", yd, c.op("Div", yd, c.op("Mul", yd, c.g(), y), b))
		gs[1] = c.reduceTo(t, yd, c.dims(b))
	}
	return gs, nil
}

func powGrad(c *ruleCtx) ([]string, error) {
	gs := c.grads()
	yd := c.dims(c.out(0))
	x, p, y := c.in(0), c.in(1), c.out(0)
	if c.need[0] {
		// d(x^p)/dx = p · x^(p−1)
		pm1 := c.e.node("Sub", c.dims(p), c.sh.Types[p], []string{p, c.e.scalar(1, c.sh.Types[p])})
		t := c.op("Mul", yd, c.g(), c.op("Mul", yd, p, c.op("Pow", yd, x, pm1)))
		gs[0] = c.reduceTo(t, yd, c.dims(x))
	}
	if c.need[1] {
		t := c.op("Mul", yd, c.g(), c.op("Mul", yd, y, c.op("Log", c.dims(x), x)))
		gs[1] = c.reduceTo(t, yd, c.dims(p))
	}
	return gs, nil
}

func softmaxGrad(c *ruleCtx) ([]string, error) {
	y := c.out(0)
	d := c.dims(y)
	axis := attrIntOr(c.n, "axis", -1)
	if c.opset < 13 {
		return nil, fmt.Errorf("Softmax before opset 13 (flattening semantics) is not supported")
	}
	ax := normAxes([]int64{axis}, len(d))
	gy := c.op("Mul", d, c.g(), y)
	s := reduce(c.e, "ReduceSum", gy, ax, true, keepDims(d, ax))
	gs := c.grads()
	gs[0] = c.op("Mul", d, y, c.op("Sub", d, c.g(), s))
	return gs, nil
}

func matmulGrad(c *ruleCtx) ([]string, error) {
	a, b := c.in(0), c.in(1)
	ad, bd, yd := c.dims(a), c.dims(b), c.dims(c.out(0))
	if len(ad) < 2 || len(bd) < 2 {
		return nil, fmt.Errorf("MatMul with a 1-D operand is not supported")
	}
	gs := c.grads()
	if c.need[0] {
		bt := c.transpose(b, swapLast2(len(bd)))
		full := slices.Clone(yd)
		full[len(full)-1] = ad[len(ad)-1]
		gs[0] = c.reduceTo(c.op("MatMul", full, c.g(), bt), full, ad)
	}
	if c.need[1] {
		at := c.transpose(a, swapLast2(len(ad)))
		full := slices.Clone(yd)
		full[len(full)-2] = bd[len(bd)-2]
		gs[1] = c.reduceTo(c.op("MatMul", full, at, c.g()), full, bd)
	}
	return gs, nil
}

func gemmGrad(c *ruleCtx) ([]string, error) {
	a, b := c.in(0), c.in(1)
	alpha := attrFloatOr(c.n, "alpha", 1)
	beta := attrFloatOr(c.n, "beta", 1)
	ta, tb := attrIntOr(c.n, "transA", 0) != 0, attrIntOr(c.n, "transB", 0) != 0
	g := c.g()
	yd := c.dims(c.out(0))
	if alpha != 1 {
		g = c.op("Mul", yd, g, c.e.scalar(float64(alpha), c.dt()))
	}
	gs := c.grads()
	// Y = A'·B' with A' = transA ? Aᵀ : A, B' likewise.
	if c.need[0] {
		// dA' = g·B'ᵀ; dA = transA ? (dA')ᵀ : dA'
		ad := c.dims(a)
		if !ta {
			gs[0] = c.e.node("Gemm", ad, c.dt(), []string{g, b}, attrInt("transB", boolInt(!tb)))
		} else {
			gs[0] = c.e.node("Gemm", ad, c.dt(), []string{b, g}, attrInt("transA", boolInt(tb)), attrInt("transB", 1))
		}
	}
	if c.need[1] {
		bd := c.dims(b)
		if !tb {
			gs[1] = c.e.node("Gemm", bd, c.dt(), []string{a, g}, attrInt("transA", boolInt(!ta)))
		} else {
			gs[1] = c.e.node("Gemm", bd, c.dt(), []string{g, a}, attrInt("transA", 1), attrInt("transB", boolInt(ta)))
		}
	}
	if len(c.n.GetInput()) > 2 && c.need[2] {
		gc := c.gOut[0]
		if beta != 1 {
			gc = c.op("Mul", yd, gc, c.e.scalar(float64(beta), c.dt()))
		}
		gs[2] = c.reduceTo(gc, yd, c.dims(c.in(2)))
	}
	return gs, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func transposeGrad(c *ruleCtx) ([]string, error) {
	d := c.dims(c.in(0))
	perm := attrIntsOr(c.n, "perm", nil)
	if perm == nil {
		for i := len(d) - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	inv := make([]int64, len(perm))
	for i, p := range perm {
		inv[p] = int64(i)
	}
	gs := c.grads()
	gs[0] = c.transpose(c.g(), inv)
	return gs, nil
}

func concatGrad(c *ruleCtx) ([]string, error) {
	yd := c.dims(c.out(0))
	axis := normAxes([]int64{attrIntOr(c.n, "axis", 0)}, len(yd))[0]
	var sizes []int64
	var dims [][]int64
	for _, in := range c.n.GetInput() {
		d := c.dims(in)
		sizes = append(sizes, d[axis])
		dims = append(dims, d)
	}
	parts := splitOp(c, c.g(), axis, sizes, dims)
	gs := c.grads()
	for i := range parts {
		if c.need[i] {
			gs[i] = parts[i]
		}
	}
	return gs, nil
}

func splitOp(c *ruleCtx, x string, axis int64, sizes []int64, dims [][]int64) []string {
	if c.opset >= 13 {
		return c.e.nodeN("Split", dims, c.dt(), []string{x, c.e.constI64("split", sizes)}, attrInt("axis", axis))
	}
	return c.e.nodeN("Split", dims, c.dt(), []string{x}, attrInt("axis", axis), attrInts("split", sizes...))
}

func splitGrad(c *ruleCtx) ([]string, error) {
	xd := c.dims(c.in(0))
	axis := normAxes([]int64{attrIntOr(c.n, "axis", 0)}, len(xd))[0]
	parts := make([]string, len(c.n.GetOutput()))
	for i, o := range c.n.GetOutput() {
		parts[i] = c.gOut[i]
		if parts[i] == "" {
			od := c.dims(o)
			parts[i] = c.e.node("ConstantOfShape", od, c.dt(), []string{c.e.constI64("shape", od)}, zeroValue(c.dt()))
		}
	}
	gs := c.grads()
	gs[0] = c.e.node("Concat", xd, c.dt(), parts, attrInt("axis", axis))
	return gs, nil
}

func sliceGrad(c *ruleCtx) ([]string, error) {
	xd := c.dims(c.in(0))
	yd := c.dims(c.out(0))
	var starts, ends, axes, steps []int64
	var err error
	if starts, err = c.constValues(1); err != nil {
		return nil, err
	}
	if ends, err = c.constValues(2); err != nil {
		return nil, err
	}
	if c.in(3) != "" {
		if axes, err = c.constValues(3); err != nil {
			return nil, err
		}
	}
	if c.in(4) != "" {
		if steps, err = c.constValues(4); err != nil {
			return nil, err
		}
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if len(ends) != len(starts) || len(axes) != len(starts) || (steps != nil && len(steps) != len(starts)) {
		return nil, fmt.Errorf("Slice parameters of different lengths (starts %d, ends %d, axes %d, steps %d)",
			len(starts), len(ends), len(axes), len(steps))
	}
	if onnx.NumElements(yd) == 0 {
		// Nothing was read: the gradient is zero everywhere.
		gs := c.grads()
		gs[0] = c.e.node("ConstantOfShape", xd, c.dt(), []string{c.e.constI64("shape", xd)}, zeroValue(c.dt()))
		return gs, nil
	}
	// Every axis is scattered back on its own: strided axes first (their
	// own node chain each), then one Pad for all the offsets.
	g := c.g()
	pads := make([]int64, 2*len(xd))
	for i, a := range axes {
		if a < 0 {
			a += int64(len(xd))
		}
		if a < 0 || a >= int64(len(xd)) {
			return nil, fmt.Errorf("Slice axis %d out of range for rank %d", axes[i], len(xd))
		}
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		n := xd[a]
		first, k, err := sliceRange(starts[i], ends[i], step, n)
		if err != nil {
			return nil, err
		}
		if k != yd[a] {
			return nil, fmt.Errorf("Slice on axis %d: computed %d elements, ONNX Runtime produced %d", a, k, yd[a])
		}
		lo, stride := first, step
		if step < 0 {
			// Reverse the gradient along the axis so that it runs in
			// increasing index order from the lowest element read.
			lo, stride = first+(k-1)*step, -step
			gd := c.dims(g)
			g = c.e.node("Slice", gd, c.dt(), []string{g, c.e.constI64("starts", []int64{-1}),
				c.e.constI64("ends", []int64{math.MinInt64}), c.e.constI64("axes", []int64{a}), c.e.constI64("steps", []int64{-1})})
		}
		span := k
		if stride > 1 && k > 1 {
			// Interleave stride−1 zeros after every element: [.., k, ..] →
			// [.., k, 1, ..] → pad to [.., k, stride, ..] → [.., k·stride, ..],
			// then drop the zeros that run past the last element read.
			gd := c.dims(g)
			u := slices.Insert(slices.Clone(gd), int(a)+1, 1)
			g = c.reshape(g, u)
			pd := make([]int64, 2*len(u))
			pd[int(a)+1+len(u)] = stride - 1
			wide := slices.Clone(u)
			wide[a+1] = stride
			g = c.e.node("Pad", wide, c.dt(), []string{g, c.e.constI64("pads", pd)})
			flat := slices.Clone(gd)
			flat[a] = k * stride
			g = c.reshape(g, flat)
			span = (k-1)*stride + 1
			cut := slices.Clone(flat)
			cut[a] = span
			g = c.e.node("Slice", cut, c.dt(), []string{g, c.e.constI64("starts", []int64{0}),
				c.e.constI64("ends", []int64{span}), c.e.constI64("axes", []int64{a})})
		}
		pads[a] = lo
		pads[int(a)+len(xd)] = n - lo - span
	}
	gs := c.grads()
	if slices.ContainsFunc(pads, func(p int64) bool { return p != 0 }) {
		g = c.e.node("Pad", xd, c.dt(), []string{g, c.e.constI64("pads", pads)})
	}
	gs[0] = g
	return gs, nil
}

// sliceRange applies ONNX Slice's rules to one axis of size n: negative
// indices count from the end, starts and ends clamp to the axis (to [0, n]
// for positive steps, [0, n−1] and [−1, n−1] for negative ones). It returns
// the first index read and how many elements are read.
func sliceRange(start, end, step, n int64) (first, count int64, err error) {
	if step == 0 {
		return 0, 0, fmt.Errorf("Slice step 0")
	}
	if step == math.MinInt64 {
		step++ // −step must not overflow; any step beyond the axis reads one element
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if step > 0 {
		start, end = max(0, min(start, n)), max(0, min(end, n))
		if end <= start {
			return start, 0, nil
		}
		return start, 1 + (end-start-1)/step, nil // ⌈(end−start)/step⌉, no overflow for huge steps
	}
	start, end = max(0, min(start, n-1)), max(-1, min(end, n-1))
	if start <= end {
		return start, 0, nil
	}
	return start, 1 + (start-end-1)/-step, nil
}

func gatherGrad(c *ruleCtx) ([]string, error) {
	if !c.need[0] {
		return c.grads(), nil
	}
	xd := c.dims(c.in(0))
	idx, err := c.constValues(1)
	if err != nil {
		return nil, err
	}
	axis := normAxes([]int64{attrIntOr(c.n, "axis", 0)}, len(xd))[0]
	idxDims := c.dims(c.in(1))
	D := xd[axis]
	K := int64(len(idx))
	// g has shape pre + idxDims + post; flatten the index dims to K, move
	// them last, multiply by a constant one-hot [K, D], move D back.
	pre, post := xd[:axis], xd[axis+1:]
	flat := append(append(slices.Clone(pre), K), post...)
	g := c.reshape(c.g(), flat)
	rank := int64(len(flat))
	perm := []int64{}
	for i := int64(0); i < rank; i++ {
		if i != axis {
			perm = append(perm, i)
		}
	}
	perm = append(perm, axis)
	gt := c.transpose(g, perm)
	oh := make([]float64, K*D)
	for k, i := range idx {
		if i < 0 {
			i += D
		}
		oh[int64(k)*D+i] = 1
	}
	ohName := c.e.floatConstOf("onehot", c.dt(), []int64{K, D}, oh)
	mdims := slices.Clone(c.dims(gt))
	mdims[len(mdims)-1] = D
	m := c.op("MatMul", mdims, gt, ohName)
	inv := make([]int64, rank)
	for i, p := range perm {
		inv[p] = int64(i)
	}
	_ = idxDims
	gs := c.grads()
	gs[0] = c.transpose(m, inv)
	return gs, nil
}

func expandGrad(c *ruleCtx) ([]string, error) {
	gs := c.grads()
	gs[0] = c.reduceTo(c.g(), c.dims(c.out(0)), c.dims(c.in(0)))
	return gs, nil
}

func whereGrad(c *ruleCtx) ([]string, error) {
	gs := c.grads()
	yd := c.dims(c.out(0))
	zero := c.e.scalar(0, c.dt())
	if c.need[1] {
		gs[1] = c.reduceTo(c.e.node("Where", yd, c.dt(), []string{c.in(0), c.g(), zero}), yd, c.dims(c.in(1)))
	}
	if c.need[2] {
		gs[2] = c.reduceTo(c.e.node("Where", yd, c.dt(), []string{c.in(0), zero, c.g()}), yd, c.dims(c.in(2)))
	}
	return gs, nil
}

func castGrad(c *ruleCtx) ([]string, error) {
	gs := c.grads()
	xt := c.sh.Types[c.in(0)]
	if xt == c.sh.Types[c.out(0)] {
		gs[0] = c.g()
	} else {
		gs[0] = c.e.node("Cast", c.dims(c.in(0)), xt, []string{c.g()}, attrInt("to", int64(xt)))
	}
	return gs, nil
}

func reduceGrad(mean bool) rule {
	return func(c *ruleCtx) ([]string, error) {
		x := c.in(0)
		xd := c.dims(x)
		var axes []int64
		if a := attr(c.n, "axes"); a != nil {
			axes = a.GetInts()
		} else if c.in(1) != "" {
			v, err := c.constValues(1)
			if err != nil {
				return nil, err
			}
			axes = v
		}
		if len(axes) == 0 {
			if attrIntOr(c.n, "noop_with_empty_axes", 0) != 0 {
				return passThrough(c)
			}
			for i := range xd {
				axes = append(axes, int64(i))
			}
		}
		axes = normAxes(axes, len(xd))
		g := c.reshape(c.g(), keepDims(xd, axes))
		if mean {
			n := int64(1)
			for _, a := range axes {
				n *= xd[a]
			}
			g = c.op("Mul", c.dims(g), g, c.e.scalar(1/float64(n), c.dt()))
		}
		gs := c.grads()
		gs[0] = c.op("Expand", xd, g, c.e.constI64("shape", xd))
		return gs, nil
	}
}
