package autodiff

import (
	"context"
	"fmt"
	"slices"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// Shapes is the static type, shape and (for small integer tensors) value of
// every tensor of a forward graph at one set of input shapes. The gradient
// graph is specialised to those shapes: every backward rule can then use
// constant axes, pads and reshape targets.
type Shapes struct {
	Dims   map[string][]int64
	Types  map[string]onnx.DataType
	Values map[string][]int64 // integer tensors of ≤ maxConstElems elements
}

const maxConstElems = 64

// paramInputs lists, per op, the input positions that hold integer
// parameters (axes, starts, shapes) whose values the backward rules need.
var paramInputs = map[string][]int{
	"Slice": {1, 2, 3, 4}, "Reshape": {1}, "Expand": {1}, "Unsqueeze": {1},
	"Squeeze": {1}, "ReduceSum": {1}, "ReduceMean": {1}, "Split": {1},
	"Gather": {1}, "Pad": {1}, "Tile": {1}, "Resize": {2, 3}, "Upsample": {1},
}

// Probe runs the forward model once on ONNX Runtime with the given inputs
// and records the shape of every tensor and the values of the integer
// parameters that shape computations produce (ONNX Runtime is the authority
// on its own shape rules). It adds Shape nodes as extra outputs, so it keeps
// only those small tensors, not the activations.
func Probe(ctx context.Context, rt *ort.Runtime, m *onnx.Model, inputs ort.Feeds) (*Shapes, error) {
	types := inferTypes(m)
	sh := &Shapes{Dims: map[string][]int64{}, Types: types, Values: map[string][]int64{}}
	g := m.Proto.GetGraph()
	for _, t := range g.GetInitializer() {
		sh.Dims[t.GetName()] = t.GetDims()
		if isInt(onnx.DataType(t.GetDataType())) && onnx.NumElements(t.GetDims()) <= maxConstElems {
			if v, err := m.TensorInt64s(t); err == nil {
				sh.Values[t.GetName()] = v
			}
		}
	}
	for name, t := range inputs {
		sh.Dims[name] = t.Shape()
	}

	probe := cloneModel(m.Proto)
	pg := probe.GetGraph()
	e := newEmitter(pg, nil, "probe")
	shapeOf := map[string]string{} // probe output → value
	valueOf := map[string]string{}
	want := map[string]bool{}
	// The readers (a Shape per value, a flattened copy per integer
	// parameter) are leaves of the graph, and ONNX Runtime orders nodes by
	// a depth-first walk back from the leaves, the last-listed leaf first.
	// Listed in forward order, the last reader would pull the whole
	// forward pass ahead of all the others, keeping every activation alive
	// until its reader runs at the end (17 GB for an SD 1.5 UNet at 512²,
	// against 4.6 GB for inference). Listed in reverse, the first value's
	// reader is walked first: each reader then runs right after the
	// producer of its value, as inference would free it.
	var readers [][]*onnxpb.NodeProto
	group := func(emit func()) {
		from := len(pg.Node)
		emit()
		readers = append(readers, slices.Clone(pg.Node[from:]))
		pg.Node = pg.Node[:from]
	}
	params := map[string]bool{}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			if o != "" && !want[o] {
				want[o] = true
				group(func() {
					out := e.rawNode("Shape", []string{o})
					shapeOf[out] = o
					pg.Output = append(pg.Output, valueInfo(out, onnx.Int64, -1))
				})
			}
		}
		for _, i := range paramInputs[n.GetOpType()] {
			if i >= len(n.GetInput()) || n.GetInput()[i] == "" {
				continue
			}
			in := n.GetInput()[i]
			if _, known := sh.Values[in]; known || !isInt(types[in]) || params[in] {
				continue
			}
			params[in] = true
			group(func() {
				flat := e.rawNode("Reshape", []string{in, e.constI64("probe_flat", []int64{-1})})
				if types[in] != onnx.Int64 {
					flat = e.rawNode("Cast", []string{flat}, attrInt("to", int64(onnx.Int64)))
				}
				valueOf[flat] = in
				pg.Output = append(pg.Output, valueInfo(flat, onnx.Int64, -1))
			})
		}
	}
	for i := len(readers) - 1; i >= 0; i-- {
		pg.Node = append(pg.Node, readers[i]...)
	}
	pm := &onnx.Model{Proto: probe, Dir: m.Dir}
	// One run, graph as written (optimisations would rename or fuse the
	// values whose shapes are wanted), and no weight prepacking: packed
	// copies of every Conv/MatMul weight would double the weights' memory
	// (3.4 GB more for an SD 1.5 UNet) for a run that happens once.
	so := ort.SessionOptions{Provider: ort.ProviderCPU, OptLevel: ort.OptDisabled,
		Config: map[string]string{"session.disable_prepacking": "1"}}
	var sess *ort.Session
	var err error
	if len(m.ExternalFiles()) > 0 {
		sess, err = saveAndOpen(rt, pm, m.Dir, so)
	} else {
		sess, err = rt.NewSessionFromModel(pm, so)
	}
	if err != nil {
		return nil, fmt.Errorf("shape probe: %w", err)
	}
	defer sess.Close()
	out := ort.Feeds{}
	if err := sess.Run(ctx, inputs, out); err != nil {
		return nil, fmt.Errorf("shape probe: %w", err)
	}
	for name, t := range out {
		if v, ok := shapeOf[name]; ok {
			sh.Dims[v] = append([]int64{}, t.Int64s()...)
		} else if v, ok := valueOf[name]; ok && t.Len() <= maxConstElems {
			sh.Values[v] = append([]int64{}, t.Int64s()...)
		}
		t.Destroy()
	}
	return sh, nil
}

func isInt(t onnx.DataType) bool {
	switch t {
	case onnx.Int64, onnx.Int32, onnx.Int16, onnx.Int8, onnx.Uint8, onnx.Uint16, onnx.Uint32, onnx.Uint64:
		return true
	}
	return false
}

func isFloat(t onnx.DataType) bool {
	return t == onnx.Float || t == onnx.Float16 || t == onnx.Double || t == onnx.BFloat16
}

// inferTypes propagates element types through the graph: every value's type
// follows from its op and its inputs' types.
func inferTypes(m *onnx.Model) map[string]onnx.DataType {
	g := m.Proto.GetGraph()
	types := map[string]onnx.DataType{}
	for _, v := range append(append([]*onnxpb.ValueInfoProto{}, g.GetInput()...), g.GetValueInfo()...) {
		if tt := v.GetType().GetTensorType(); tt != nil {
			types[v.GetName()] = onnx.DataType(tt.GetElemType())
		}
	}
	for _, t := range g.GetInitializer() {
		types[t.GetName()] = onnx.DataType(t.GetDataType())
	}
	for _, n := range g.GetNode() {
		in := func(i int) onnx.DataType {
			if i < len(n.GetInput()) {
				return types[n.GetInput()[i]]
			}
			return onnx.Undefined
		}
		var t onnx.DataType
		switch n.GetOpType() {
		case "Shape", "Size", "NonZero", "ArgMax", "ArgMin":
			t = onnx.Int64
		case "Cast":
			t = onnx.DataType(attr(n, "to").GetI())
		case "CastLike":
			t = in(1)
		case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf":
			t = onnx.Bool
		case "Constant":
			t = onnx.DataType(attr(n, "value").GetT().GetDataType())
			if attr(n, "value_int") != nil || attr(n, "value_ints") != nil {
				t = onnx.Int64
			}
			if attr(n, "value_float") != nil || attr(n, "value_floats") != nil {
				t = onnx.Float
			}
		case "ConstantOfShape":
			t = onnx.Float
			if v := attr(n, "value"); v != nil {
				t = onnx.DataType(v.GetT().GetDataType())
			}
		case "Where":
			t = in(1)
		default:
			t = in(0)
		}
		for _, o := range n.GetOutput() {
			types[o] = t
		}
	}
	return types
}
