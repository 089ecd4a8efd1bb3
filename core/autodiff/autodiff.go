// Package autodiff compiles reverse-mode gradients of ONNX graphs: from a
// forward model, a loss and the tensors to differentiate with respect to, it
// builds a new ONNX model that also outputs those gradients, which ONNX
// Runtime then runs like any other model (CUDA or CPU). This is how
// OneActor tunes its projector through a frozen UNet with no training
// framework.
package autodiff

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// LossKind selects how the scalar objective is formed.
type LossKind int

const (
	// LossMSE: mean squared error of Output against a new input (Target),
	// optionally with one weight per row (axis 0) of Output.
	LossMSE LossKind = iota
	// LossUpstream: the caller feeds dLoss/dOutput as a new input.
	LossUpstream
)

// Options says what to differentiate.
type Options struct {
	// Wrt are graph inputs or initializers to differentiate with respect
	// to. Initializers listed here become inputs of the gradient model
	// (weights that train, fed by the caller); all other initializers are
	// frozen and get no gradient work.
	Wrt []string
	// Output is the forward output the loss is taken of.
	Output string
	Loss   LossKind
	// RowWeights adds an input [rows] weighting each row's mean squared
	// error: loss = Σ_r w_r · mean((y_r − t_r)²). Without it the loss is the
	// plain mean over all elements.
	RowWeights bool
	// KeepOutputs keeps the forward model's outputs in the gradient model.
	KeepOutputs bool
	// Float32 (Build only) widens a float16 model to float32 first, so the
	// backward pass runs in full precision. The gradient model then takes
	// float32 inputs, and its widened weights are written beside it: twice
	// the bytes of the float16 weights, on disk and in (GPU) memory.
	Float32 bool
}

// Result is a compiled gradient model and the names of its new values.
type Result struct {
	Model *onnx.Model
	// Target (LossMSE) or Upstream (LossUpstream) is the new input.
	Target, Upstream string
	// Weights is the row-weight input (RowWeights).
	Weights string
	// Loss is the scalar loss output (LossMSE).
	Loss string
	// Grads maps each Wrt name to its gradient output.
	Grads map[string]string
	// ForwardNodes and BackwardNodes count the nodes of each pass.
	ForwardNodes, BackwardNodes int
	// Shapes covers the forward values and everything the backward pass
	// added (nil when the build came from the cache).
	Shapes *Shapes `json:"-"`
}

// GradName is the output name of the gradient of value v.
func GradName(v string) string { return v + "_grad" }

// UnsupportedError names an op with no gradient rule and the path from a
// differentiated input to it.
type UnsupportedError struct {
	Op, Node string
	Opset    int64
	Path     []string
	Reason   string
}

func (e *UnsupportedError) Error() string {
	msg := fmt.Sprintf("no gradient for op %s (node %q, opset %d)", e.Op, e.Node, e.Opset)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if len(e.Path) > 0 {
		msg += "; needed on the path " + strings.Join(e.Path, " → ")
	}
	return msg
}

// nonDifferentiable ops produce values that carry no gradient (shapes,
// indices, masks, constants).
var nonDifferentiable = map[string]bool{
	"Shape": true, "Size": true, "Constant": true, "ConstantOfShape": true, "Range": true,
	"Equal": true, "Less": true, "Greater": true, "LessOrEqual": true, "GreaterOrEqual": true,
	"Not": true, "And": true, "Or": true, "Xor": true, "NonZero": true, "ArgMax": true, "ArgMin": true,
	"IsNaN": true, "IsInf": true, "Floor": true, "Ceil": true, "Round": true, "Sign": true,
	"RandomNormal": true, "RandomUniform": true, "RandomNormalLike": true, "RandomUniformLike": true,
	"EyeLike": true, "OneHot": true,
}

// Compile builds the gradient model. sh must describe the forward model at
// the shapes the gradient model will run with (see Probe).
func Compile(m *onnx.Model, sh *Shapes, opt Options) (*Result, error) {
	opset := m.Opset()
	if opset < 13 {
		return nil, fmt.Errorf("autodiff needs opset 13 or newer (model has %d)", opset)
	}
	mp := cloneModel(m.Proto)
	g := mp.GetGraph()
	forwardNodes := len(g.GetNode())
	sh = sh.clone()
	e := newEmitter(g, sh, "grad")
	e.opset = opset

	out, ok := findOutput(g, opt.Output)
	if !ok {
		return nil, fmt.Errorf("model has no output %q", opt.Output)
	}
	yDims, ok := sh.Dims[out]
	if !ok {
		return nil, fmt.Errorf("no shape for output %q (run Probe on this model)", out)
	}
	dt := sh.Types[out]
	if dt != onnx.Float && dt != onnx.Double {
		return nil, fmt.Errorf("output %q is %s; gradients are computed in float32 or float64 (build with Options.Float32 to widen a float16 model)", out, dt)
	}

	// Forward reach from the differentiated tensors, with a parent link for
	// error messages.
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	inputs := map[string]bool{}
	for _, v := range g.GetInput() {
		inputs[v.GetName()] = true
	}
	active := map[string]bool{}
	parent := map[string]string{}
	for _, w := range opt.Wrt {
		if !inits[w] && !inputs[w] {
			return nil, fmt.Errorf("cannot differentiate with respect to %q: not a graph input or initializer", w)
		}
		if !isFloat(sh.Types[w]) {
			return nil, fmt.Errorf("cannot differentiate with respect to %q: it is %s", w, sh.Types[w])
		}
		active[w] = true
	}
	nodes := g.GetNode()
	for _, n := range nodes {
		if nonDifferentiable[n.GetOpType()] {
			continue
		}
		for _, in := range n.GetInput() {
			if active[in] {
				for _, o := range n.GetOutput() {
					if o != "" && isFloat(sh.Types[o]) && !active[o] {
						active[o] = true
						parent[o] = in
					}
				}
				break
			}
		}
	}
	// Backward reach from the loss output.
	contributes := map[string]bool{out: true}
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		if !anyOf(n.GetOutput(), contributes) {
			continue
		}
		for _, in := range n.GetInput() {
			contributes[in] = true
		}
	}

	res := &Result{Grads: map[string]string{}}
	grads := map[string][]string{}
	var newInputs []*onnxpb.ValueInfoProto

	// Seed: dLoss/dOutput.
	switch opt.Loss {
	case LossMSE:
		res.Target = out + "_target"
		newInputs = append(newInputs, valueInfo(res.Target, dt, yDims...))
		sh.Dims[res.Target], sh.Types[res.Target] = yDims, dt
		diff := e.node("Sub", yDims, dt, []string{out, res.Target})
		sq := e.node("Mul", yDims, dt, []string{diff, diff})
		total := onnx.NumElements(yDims)
		if opt.RowWeights {
			if len(yDims) < 1 {
				return nil, fmt.Errorf("row weights need an output with a row axis")
			}
			rows := yDims[0]
			perRow := total / max(rows, 1)
			res.Weights = "loss_row_weights"
			newInputs = append(newInputs, valueInfo(res.Weights, dt, rows))
			sh.Dims[res.Weights], sh.Types[res.Weights] = []int64{rows}, dt
			wShape := append([]int64{rows}, ones(len(yDims)-1)...)
			wb := e.node("Reshape", wShape, dt, []string{res.Weights, e.constI64("shape", wShape)})
			weighted := e.node("Mul", yDims, dt, []string{sq, wb})
			sum := reduceAll(e, weighted, "ReduceSum", yDims)
			res.Loss = "loss"
			e.g.Node = append(e.g.Node, identity(e.node("Mul", []int64{}, dt, []string{sum, e.scalar(1/float64(perRow), dt)}), res.Loss))
			// dL/dy = 2 (y − t) w_r / perRow
			seed := e.node("Mul", yDims, dt, []string{diff, wb})
			grads[out] = append(grads[out], e.node("Mul", yDims, dt, []string{seed, e.scalar(2/float64(perRow), dt)}))
		} else {
			res.Loss = "loss"
			mean := reduceAll(e, sq, "ReduceMean", yDims)
			e.g.Node = append(e.g.Node, identity(mean, res.Loss))
			grads[out] = append(grads[out], e.node("Mul", yDims, dt, []string{diff, e.scalar(2/float64(total), dt)}))
		}
	case LossUpstream:
		res.Upstream = GradName(out) + "_upstream"
		newInputs = append(newInputs, valueInfo(res.Upstream, dt, yDims...))
		sh.Dims[res.Upstream], sh.Types[res.Upstream] = yDims, dt
		grads[out] = append(grads[out], res.Upstream)
	default:
		return nil, fmt.Errorf("unknown loss kind %d", opt.Loss)
	}

	pathTo := func(v string) []string {
		var p []string
		for v != "" {
			p = append(p, v)
			v = parent[v]
		}
		slices.Reverse(p)
		return p
	}

	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		if !anyOf(n.GetOutput(), contributes) || !anyOf(n.GetOutput(), active) {
			continue
		}
		gOut := make([]string, len(n.GetOutput()))
		any := false
		for j, o := range n.GetOutput() {
			if o != "" && len(grads[o]) > 0 {
				gOut[j] = accumulate(e, grads[o], sh.Dims[o], sh.Types[o])
				any = true
			}
		}
		if !any {
			continue
		}
		need := make([]bool, len(n.GetInput()))
		anyNeed := false
		for j, in := range n.GetInput() {
			need[j] = in != "" && active[in]
			anyNeed = anyNeed || need[j]
		}
		if !anyNeed {
			continue
		}
		rule, ok := rules[n.GetOpType()]
		if !ok {
			return nil, &UnsupportedError{Op: n.GetOpType(), Node: n.GetName(), Opset: opset, Path: pathTo(firstActive(n.GetInput(), active))}
		}
		c := &ruleCtx{e: e, n: n, sh: sh, gOut: gOut, need: need, opset: opset}
		for _, in := range n.GetInput() {
			if _, ok := sh.Dims[in]; in != "" && !ok {
				return nil, fmt.Errorf("no shape for %q, input of %s node %q (run Probe on this model)", in, n.GetOpType(), n.GetName())
			}
		}
		gIn, err := rule(c)
		if err != nil {
			return nil, &UnsupportedError{Op: n.GetOpType(), Node: n.GetName(), Opset: opset,
				Path: pathTo(firstActive(n.GetInput(), active)), Reason: err.Error()}
		}
		for j, gi := range gIn {
			if gi != "" && need[j] {
				grads[n.GetInput()[j]] = append(grads[n.GetInput()[j]], gi)
			}
		}
	}

	// Outputs: loss, gradients, and optionally the forward outputs.
	if !opt.KeepOutputs {
		g.Output = nil
	}
	if res.Loss != "" {
		g.Output = append(g.Output, valueInfo(res.Loss, dt))
	}
	for _, w := range opt.Wrt {
		name := GradName(w)
		var total string
		if len(grads[w]) > 0 {
			total = accumulate(e, grads[w], sh.Dims[w], sh.Types[w])
		} else {
			// w does not reach the loss: its gradient is zero.
			total = e.node("ConstantOfShape", sh.Dims[w], sh.Types[w], []string{e.constI64("shape", sh.Dims[w])}, zeroValue(sh.Types[w]))
		}
		g.Node = append(g.Node, identity(total, name))
		g.Output = append(g.Output, valueInfo(name, sh.Types[w], sh.Dims[w]...))
		res.Grads[w] = name
		if inits[w] && !inputs[w] {
			// A trained weight becomes a plain input that the caller feeds
			// (its value changes every step).
			g.Input = append(g.Input, valueInfo(w, sh.Types[w], sh.Dims[w]...))
			g.Initializer = slices.DeleteFunc(g.Initializer, func(t *onnxpb.TensorProto) bool { return t.GetName() == w })
		}
	}
	g.Input = append(g.Input, newInputs...)
	res.ForwardNodes = forwardNodes
	res.BackwardNodes = len(g.GetNode()) - forwardNodes
	res.Model = &onnx.Model{Proto: mp, Dir: m.Dir}
	res.Shapes = sh
	return res, nil
}

func findOutput(g *onnxpb.GraphProto, name string) (string, bool) {
	for _, o := range g.GetOutput() {
		if o.GetName() == name {
			return name, true
		}
	}
	return "", false
}

func anyOf(names []string, set map[string]bool) bool {
	for _, n := range names {
		if n != "" && set[n] {
			return true
		}
	}
	return false
}

func firstActive(names []string, active map[string]bool) string {
	for _, n := range names {
		if active[n] {
			return n
		}
	}
	return ""
}

func ones(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

func identity(from, to string) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{Name: proto.String(to), OpType: proto.String("Identity"), Input: []string{from}, Output: []string{to}}
}

// accumulate sums the gradient contributions of one tensor.
func accumulate(e *emitter, parts []string, dims []int64, dt onnx.DataType) string {
	if len(parts) == 1 {
		return parts[0]
	}
	return e.node("Sum", dims, dt, parts)
}

// reduceAll reduces every axis to a scalar.
func reduceAll(e *emitter, x, op string, dims []int64) string {
	axes := make([]int64, len(dims))
	for i := range axes {
		axes[i] = int64(i)
	}
	return reduce(e, op, x, axes, false, []int64{})
}

func (s *Shapes) clone() *Shapes {
	c := &Shapes{Dims: map[string][]int64{}, Types: map[string]onnx.DataType{}, Values: map[string][]int64{}}
	for k, v := range s.Dims {
		c.Dims[k] = v
	}
	for k, v := range s.Types {
		c.Types[k] = v
	}
	for k, v := range s.Values {
		c.Values[k] = v
	}
	return c
}
