package onnx

import (
	"fmt"
	"strings"

	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// Dim is one dimension of a tensor shape: a fixed size (Value ≥ 0), a named
// symbolic size (Param, e.g. "batch"), or unknown (Value -1, Param "").
type Dim struct {
	Value int64
	Param string
}

// Known reports whether the dimension has a fixed size.
func (d Dim) Known() bool { return d.Value >= 0 }

func (d Dim) String() string {
	switch {
	case d.Value >= 0:
		return fmt.Sprint(d.Value)
	case d.Param != "":
		return d.Param
	}
	return "?"
}

// ValueInfo describes one graph input or output as the model file declares it.
type ValueInfo struct {
	Name string
	Type DataType
	// Shape is nil when the file declares no shape (any rank).
	Shape []Dim
	// NotTensor is set for sequence/map/optional values, which diffusion
	// models never use; callers treat them as unsupported.
	NotTensor bool
}

// Rank is the declared rank, or -1 when the file declares no shape.
func (v ValueInfo) Rank() int {
	if v.Shape == nil {
		return -1
	}
	return len(v.Shape)
}

// Static returns the shape as sizes when every dimension is fixed.
func (v ValueInfo) Static() ([]int64, bool) {
	if v.Shape == nil {
		return nil, false
	}
	out := make([]int64, len(v.Shape))
	for i, d := range v.Shape {
		if !d.Known() {
			return nil, false
		}
		out[i] = d.Value
	}
	return out, true
}

func (v ValueInfo) String() string {
	if v.NotTensor {
		return v.Name + ": non-tensor"
	}
	if v.Shape == nil {
		return fmt.Sprintf("%s: %s[*]", v.Name, v.Type)
	}
	parts := make([]string, len(v.Shape))
	for i, d := range v.Shape {
		parts[i] = d.String()
	}
	return fmt.Sprintf("%s: %s[%s]", v.Name, v.Type, strings.Join(parts, ","))
}

// Signature is a model's interface: what the app needs to call it, read from
// the file without touching weights.
type Signature struct {
	Inputs    []ValueInfo
	Outputs   []ValueInfo
	IRVersion int64
	Opset     int64
	Producer  string
	// ExternalFiles are the external-data locations the weights live in,
	// relative to the model folder.
	ExternalFiles []string
}

// Input returns the named input.
func (s Signature) Input(name string) (ValueInfo, bool) { return find(s.Inputs, name) }

// Output returns the named output.
func (s Signature) Output(name string) (ValueInfo, bool) { return find(s.Outputs, name) }

// InputNames lists input names in declaration order.
func (s Signature) InputNames() []string { return names(s.Inputs) }

// OutputNames lists output names in declaration order.
func (s Signature) OutputNames() []string { return names(s.Outputs) }

func find(vs []ValueInfo, name string) (ValueInfo, bool) {
	for _, v := range vs {
		if v.Name == name {
			return v, true
		}
	}
	return ValueInfo{}, false
}

func names(vs []ValueInfo) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	return out
}

// ReadSignature reads a model file's inputs and outputs. It never opens the
// external weight files, so it works (and is fast) for models of any size.
func ReadSignature(path string) (Signature, error) {
	m, err := Load(path)
	if err != nil {
		return Signature{}, err
	}
	return m.Signature(), nil
}

// Signature returns the model's interface. Graph inputs that are also
// initializers (allowed before IR version 4) are weights, not inputs.
func (m *Model) Signature() Signature {
	g := m.Proto.GetGraph()
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	s := Signature{
		IRVersion:     m.Proto.GetIrVersion(),
		Opset:         m.Opset(),
		Producer:      strings.TrimSpace(m.Proto.GetProducerName() + " " + m.Proto.GetProducerVersion()),
		ExternalFiles: m.ExternalFiles(),
	}
	for _, in := range g.GetInput() {
		if !inits[in.GetName()] {
			s.Inputs = append(s.Inputs, valueInfo(in))
		}
	}
	for _, out := range g.GetOutput() {
		s.Outputs = append(s.Outputs, valueInfo(out))
	}
	return s
}

func valueInfo(v *onnxpb.ValueInfoProto) ValueInfo {
	vi := ValueInfo{Name: v.GetName()}
	tt := v.GetType().GetTensorType()
	if tt == nil {
		vi.NotTensor = true
		return vi
	}
	vi.Type = DataType(tt.GetElemType())
	if sh := tt.GetShape(); sh != nil {
		vi.Shape = make([]Dim, 0, len(sh.GetDim()))
		for _, d := range sh.GetDim() {
			switch x := d.GetValue().(type) {
			case *onnxpb.TensorShapeProto_Dimension_DimValue:
				vi.Shape = append(vi.Shape, Dim{Value: x.DimValue})
			case *onnxpb.TensorShapeProto_Dimension_DimParam:
				vi.Shape = append(vi.Shape, Dim{Value: -1, Param: x.DimParam})
			default:
				vi.Shape = append(vi.Shape, Dim{Value: -1})
			}
		}
	}
	return vi
}

// valueInfoProto is the inverse of valueInfo.
func valueInfoProto(v ValueInfo) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: ptr(int32(v.Type))}
	if v.Shape != nil {
		sh := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{}}
		for _, d := range v.Shape {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			switch {
			case d.Value >= 0:
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d.Value}
			case d.Param != "":
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
			}
			sh.Dim = append(sh.Dim, dim)
		}
		tt.Shape = sh
	}
	return &onnxpb.ValueInfoProto{
		Name: ptr(v.Name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}},
	}
}

func ptr[T any](v T) *T { return &v }
