package onnx

import (
	"google.golang.org/protobuf/proto"

	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// ToFloat32 returns a copy of the model computing in float32 where it used
// float16: initializers and constants are widened (external float16 weights
// are read now), Cast-to-float16 becomes Cast-to-float32, and float16
// inputs, outputs and value infos become float32. Used to run backward
// passes of float16 exports in full precision; it doubles the memory those
// weights take.
func (m *Model) ToFloat32() (*Model, error) {
	mp := proto.Clone(m.Proto).(*onnxpb.ModelProto)
	out := &Model{Proto: mp, Dir: m.Dir}
	var convErr error
	widen := func(t *onnxpb.TensorProto) {
		if convErr != nil || DataType(t.GetDataType()) != Float16 {
			return
		}
		v, err := m.TensorFloat32s(t)
		if err != nil {
			convErr = err
			return
		}
		w := TensorFloat32(t.GetName(), t.GetDims(), v)
		clearData(t)
		t.DataType = w.DataType
		t.RawData = w.RawData
	}
	forEachTensor(mp.GetGraph(), widen)
	if convErr != nil {
		return nil, convErr
	}
	var fixGraph func(g *onnxpb.GraphProto)
	fixGraph = func(g *onnxpb.GraphProto) {
		for _, vs := range [][]*onnxpb.ValueInfoProto{g.GetInput(), g.GetOutput(), g.GetValueInfo()} {
			for _, v := range vs {
				if tt := v.GetType().GetTensorType(); tt != nil && DataType(tt.GetElemType()) == Float16 {
					tt.ElemType = ptr(int32(Float))
				}
			}
		}
		for _, n := range g.GetNode() {
			for _, a := range n.GetAttribute() {
				if n.GetOpType() == "Cast" && a.GetName() == "to" && DataType(a.GetI()) == Float16 {
					a.I = ptr(int64(Float))
				}
				if a.GetName() == "dtype" && DataType(a.GetI()) == Float16 {
					a.I = ptr(int64(Float))
				}
				if a.GetG() != nil {
					fixGraph(a.GetG())
				}
				for _, sg := range a.GetGraphs() {
					fixGraph(sg)
				}
			}
		}
	}
	fixGraph(mp.GetGraph())
	return out, nil
}
