package autodiff

import (
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// emitter appends nodes and constants to a graph under fresh names, and
// records the static shape and type of everything it creates.
type emitter struct {
	g      *onnxpb.GraphProto
	sh     *Shapes
	prefix string
	count  int
	names  map[string]bool
	opset  int64
}

func newEmitter(g *onnxpb.GraphProto, sh *Shapes, prefix string) *emitter {
	e := &emitter{g: g, sh: sh, prefix: prefix, names: map[string]bool{}}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			e.names[o] = true
		}
	}
	for _, v := range g.GetInput() {
		e.names[v.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		e.names[t.GetName()] = true
	}
	return e
}

func (e *emitter) fresh(base string) string {
	for {
		e.count++
		n := fmt.Sprintf("%s/%s_%d", e.prefix, base, e.count)
		if !e.names[n] {
			e.names[n] = true
			return n
		}
	}
}

// rawNode adds a node with one output and returns the output name.
func (e *emitter) rawNode(op string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	out := e.fresh(op)
	e.g.Node = append(e.g.Node, &onnxpb.NodeProto{
		Name: proto.String(out), OpType: proto.String(op),
		Input: inputs, Output: []string{out}, Attribute: attrs,
	})
	return out
}

// node adds a node whose output has the given static shape and type.
func (e *emitter) node(op string, dims []int64, dt onnx.DataType, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	out := e.rawNode(op, inputs, attrs...)
	e.sh.Dims[out] = dims
	e.sh.Types[out] = dt
	return out
}

// nodeN adds a node with n outputs of the given shapes.
func (e *emitter) nodeN(op string, dims [][]int64, dt onnx.DataType, inputs []string, attrs ...*onnxpb.AttributeProto) []string {
	outs := make([]string, len(dims))
	for i := range outs {
		outs[i] = e.fresh(op)
		e.sh.Dims[outs[i]] = dims[i]
		e.sh.Types[outs[i]] = dt
	}
	e.g.Node = append(e.g.Node, &onnxpb.NodeProto{
		Name: proto.String(outs[0]), OpType: proto.String(op),
		Input: inputs, Output: outs, Attribute: attrs,
	})
	return outs
}

func (e *emitter) constI64(base string, v []int64) string {
	name := e.fresh(base)
	e.g.Initializer = append(e.g.Initializer, onnx.TensorInt64(name, []int64{int64(len(v))}, v))
	if e.sh != nil {
		e.sh.Dims[name] = []int64{int64(len(v))}
		e.sh.Types[name] = onnx.Int64
		e.sh.Values[name] = v
	}
	return name
}

// scalar is a rank-0 float constant of the given type (v is rounded to
// it: float64 graphs keep full precision).
func (e *emitter) scalar(v float64, dt onnx.DataType) string {
	name := e.fresh("c")
	var t *onnxpb.TensorProto
	switch dt {
	case onnx.Float16:
		t = onnx.TensorFloat16(name, nil, []float32{float32(v)})
	case onnx.Double:
		t = onnx.TensorFloat64(name, nil, []float64{v})
	default:
		dt = onnx.Float
		t = onnx.TensorFloat32(name, nil, []float32{float32(v)})
	}
	e.g.Initializer = append(e.g.Initializer, t)
	e.sh.Dims[name] = []int64{}
	e.sh.Types[name] = dt
	return name
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

func attrIntOr(n *onnxpb.NodeProto, name string, def int64) int64 {
	if a := attr(n, name); a != nil {
		return a.GetI()
	}
	return def
}

func attrFloatOr(n *onnxpb.NodeProto, name string, def float32) float32 {
	if a := attr(n, name); a != nil {
		return a.GetF()
	}
	return def
}

func attrIntsOr(n *onnxpb.NodeProto, name string, def []int64) []int64 {
	if a := attr(n, name); a != nil {
		return a.GetInts()
	}
	return def
}

func valueInfo(name string, dt onnx.DataType, dims ...int64) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: &onnxpb.TensorShapeProto{}}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		if d >= 0 {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}
		}
		tt.Shape.Dim = append(tt.Shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

func cloneModel(m *onnxpb.ModelProto) *onnxpb.ModelProto {
	return proto.Clone(m).(*onnxpb.ModelProto)
}

// saveAndOpen writes a model that shares the original's external weight
// files where ONNX Runtime will find them (it resolves external data
// relative to the model file, inside its folder), opens it, and removes the
// written file again: the weights are never copied. It prefers a private
// temporary folder with hard links to the weights — the model's own folder
// may be read-only, or a source folder that a build embeds — and writes
// beside the original only when links cannot be made (another file system).
func saveAndOpen(rt *ort.Runtime, m *onnx.Model, dir string, o ort.SessionOptions) (*ort.Session, error) {
	m.Dir = dir
	defer func() { m.Dir = dir }() // SaveLinked points it at the temporary folder
	if tmp, err := os.MkdirTemp("", "oneactor-autodiff-"); err == nil {
		defer os.RemoveAll(tmp)
		path := filepath.Join(tmp, "model.onnx")
		if err := m.SaveLinked(path, m.ExternalPaths()); err == nil {
			return rt.NewSession(path, o)
		}
		m.Dir = dir
	}
	f, err := os.CreateTemp(dir, ".autodiff-*.onnx")
	if err != nil {
		return nil, err
	}
	f.Close()
	defer os.Remove(f.Name())
	if err := m.Save(f.Name()); err != nil {
		return nil, err
	}
	return rt.NewSession(filepath.Clean(f.Name()), o)
}

// zeroValue is ConstantOfShape's value attribute for a zero of type dt
// (without it the op fills float32 zeros).
func zeroValue(dt onnx.DataType) *onnxpb.AttributeProto {
	var t *onnxpb.TensorProto
	switch dt {
	case onnx.Float16:
		t = onnx.TensorFloat16("value", []int64{1}, []float32{0})
	case onnx.Double:
		t = onnx.TensorFloat64("value", []int64{1}, []float64{0})
	default:
		t = onnx.TensorFloat32("value", []int64{1}, []float32{0})
	}
	return &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}
}

// floatConstOf is a constant of type dt (float32 or float64) from float64
// values computed at compile time.
func (e *emitter) floatConstOf(base string, dt onnx.DataType, dims []int64, v []float64) string {
	name := e.fresh(base)
	if dt == onnx.Double {
		e.g.Initializer = append(e.g.Initializer, onnx.TensorFloat64(name, dims, v))
	} else {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		if dt == onnx.Float16 {
			e.g.Initializer = append(e.g.Initializer, onnx.TensorFloat16(name, dims, f))
		} else {
			dt = onnx.Float
			e.g.Initializer = append(e.g.Initializer, onnx.TensorFloat32(name, dims, f))
		}
	}
	e.sh.Dims[name] = dims
	e.sh.Types[name] = dt
	return name
}

func attrString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}
