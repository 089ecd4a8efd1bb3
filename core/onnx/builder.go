package onnx

import (
	"fmt"

	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// Attr is a node attribute for Builder.Node.
type Attr struct{ p *onnxpb.AttributeProto }

// AttrInt is an INT attribute.
func AttrInt(name string, v int64) Attr {
	return Attr{&onnxpb.AttributeProto{Name: ptr(name), Type: onnxpb.AttributeProto_INT.Enum(), I: ptr(v)}}
}

// AttrInts is an INTS attribute.
func AttrInts(name string, v ...int64) Attr {
	return Attr{&onnxpb.AttributeProto{Name: ptr(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}}
}

// AttrFloat is a FLOAT attribute.
func AttrFloat(name string, v float32) Attr {
	return Attr{&onnxpb.AttributeProto{Name: ptr(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: ptr(v)}}
}

// AttrFloats is a FLOATS attribute.
func AttrFloats(name string, v ...float32) Attr {
	return Attr{&onnxpb.AttributeProto{Name: ptr(name), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: v}}
}

// AttrString is a STRING attribute.
func AttrString(name, v string) Attr {
	return Attr{&onnxpb.AttributeProto{Name: ptr(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}}
}

// AttrTensor is a TENSOR attribute (e.g. Constant's value).
func AttrTensor(name string, t *onnxpb.TensorProto) Attr {
	return Attr{&onnxpb.AttributeProto{Name: ptr(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}}
}

// Builder assembles an ONNX graph node by node. It infers the type and shape
// of each node output for common ops, so outputs can be declared by name;
// for anything it cannot infer, use OutputAs. The first error sticks and is
// returned by Model.
type Builder struct {
	name   string
	opset  int64
	graph  *onnxpb.GraphProto
	info   map[string]ValueInfo
	consts map[string]*onnxpb.TensorProto
	count  int
	err    error
}

// NewBuilder starts a graph for the given default-domain opset.
func NewBuilder(name string, opset int64) *Builder {
	return &Builder{
		name:   name,
		opset:  opset,
		graph:  &onnxpb.GraphProto{Name: ptr(name)},
		info:   map[string]ValueInfo{},
		consts: map[string]*onnxpb.TensorProto{},
	}
}

func (b *Builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("graph %s: "+format, append([]any{b.name}, args...)...)
	}
}

func (b *Builder) claim(name string) {
	if _, dup := b.info[name]; dup {
		b.fail("value %q defined twice", name)
	}
}

// Input declares a graph input. dims are sizes (int, int64), names of
// symbolic sizes (string), or -1 for unknown.
func (b *Builder) Input(name string, dt DataType, dims ...any) string {
	vi := ValueInfo{Name: name, Type: dt, Shape: b.dims(dims)}
	b.claim(name)
	b.info[name] = vi
	b.graph.Input = append(b.graph.Input, valueInfoProto(vi))
	return name
}

func (b *Builder) dims(dims []any) []Dim {
	out := make([]Dim, len(dims))
	for i, d := range dims {
		switch v := d.(type) {
		case int:
			out[i] = Dim{Value: int64(v)}
		case int64:
			out[i] = Dim{Value: v}
		case string:
			out[i] = Dim{Value: -1, Param: v}
		default:
			b.fail("dimension %v has type %T; use int, int64 or string", d, d)
		}
	}
	return out
}

// Initializer adds a constant weight tensor and returns its name.
func (b *Builder) Initializer(t *onnxpb.TensorProto) string {
	name := t.GetName()
	b.claim(name)
	b.graph.Initializer = append(b.graph.Initializer, t)
	b.info[name] = ValueInfo{Name: name, Type: DataType(t.GetDataType()), Shape: fixedDims(t.GetDims())}
	b.consts[name] = t
	return name
}

// Node adds a single-output node and returns its output's name.
func (b *Builder) Node(op string, inputs []string, attrs ...Attr) string {
	return b.NodeOutputs(op, inputs, 1, attrs...)[0]
}

// NodeOutputs adds a node with n outputs and returns their names.
func (b *Builder) NodeOutputs(op string, inputs []string, n int, attrs ...Attr) []string {
	b.count++
	nodeName := fmt.Sprintf("%s_%d", op, b.count)
	outs := make([]string, n)
	for i := range outs {
		outs[i] = fmt.Sprintf("%s_out%d", nodeName, i)
	}
	node := &onnxpb.NodeProto{Name: ptr(nodeName), OpType: ptr(op), Input: inputs, Output: outs}
	attrMap := map[string]*onnxpb.AttributeProto{}
	for _, a := range attrs {
		node.Attribute = append(node.Attribute, a.p)
		attrMap[a.p.GetName()] = a.p
	}
	ins := make([]ValueInfo, len(inputs))
	for i, in := range inputs {
		if in == "" { // optional input left out
			continue
		}
		vi, ok := b.info[in]
		if !ok {
			b.fail("node %s (%s) uses %q, which is not defined yet", nodeName, op, in)
			return outs
		}
		ins[i] = vi
	}
	inferred := inferShapes(op, b.opset, ins, inputs, attrMap, b.consts)
	for i, o := range outs {
		vi := ValueInfo{Name: o}
		if i < len(inferred) {
			vi = inferred[i]
			vi.Name = o
		}
		b.info[o] = vi
	}
	if op == "Constant" {
		if t := attrMap["value"].GetT(); t != nil {
			b.consts[outs[0]] = t
			b.info[outs[0]] = ValueInfo{Name: outs[0], Type: DataType(t.GetDataType()), Shape: fixedDims(t.GetDims())}
		}
	}
	b.graph.Node = append(b.graph.Node, node)
	return outs
}

// Info returns what the builder knows about a value's type and shape.
func (b *Builder) Info(name string) (ValueInfo, bool) {
	vi, ok := b.info[name]
	return vi, ok
}

// Output declares value name as a graph output under the same name, with the
// inferred type and shape.
func (b *Builder) Output(name string) {
	vi, ok := b.info[name]
	if !ok {
		b.fail("output %q is not defined", name)
		return
	}
	if vi.Type == Undefined {
		b.fail("cannot infer the type of output %q; declare it with OutputAs", name)
		return
	}
	b.graph.Output = append(b.graph.Output, valueInfoProto(vi))
}

// OutputAs exposes value `from` as graph output `name` with an explicit type
// and shape (an Identity node renames it when the names differ). With no
// dims, the inferred shape is used when known, else the rank is left open.
func (b *Builder) OutputAs(name, from string, dt DataType, dims ...any) {
	if name != from {
		b.count++
		b.graph.Node = append(b.graph.Node, &onnxpb.NodeProto{
			Name: ptr(fmt.Sprintf("Identity_%d", b.count)), OpType: ptr("Identity"),
			Input: []string{from}, Output: []string{name},
		})
	}
	vi := ValueInfo{Name: name, Type: dt, Shape: b.dims(dims)}
	if len(dims) == 0 {
		vi.Shape = b.info[from].Shape
	}
	b.info[name] = vi
	b.graph.Output = append(b.graph.Output, valueInfoProto(vi))
}

// Model finishes the graph (IR version 8, the given opset).
func (b *Builder) Model() (*Model, error) {
	if b.err != nil {
		return nil, b.err
	}
	if len(b.graph.Output) == 0 {
		return nil, fmt.Errorf("graph %s has no outputs", b.name)
	}
	return &Model{Proto: &onnxpb.ModelProto{
		IrVersion:       ptr(int64(8)),
		ProducerName:    ptr("oneactor-desktop"),
		ProducerVersion: ptr("core/onnx"),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: ptr(""), Version: ptr(b.opset)}},
		Graph:           b.graph,
	}}, nil
}

func fixedDims(d []int64) []Dim {
	out := make([]Dim, len(d))
	for i, v := range d {
		out[i] = Dim{Value: v}
	}
	return out
}
