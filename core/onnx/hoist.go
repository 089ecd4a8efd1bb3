package onnx

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// ErrNothingToHoist: the graph has no projection of the input to move.
var ErrNothingToHoist = errors.New("no projection of the input to hoist")

// Hoisted is a graph split in two around one input: Pre computes, from that
// input alone, the values Main then takes as inputs instead of computing
// them itself.
type Hoisted struct {
	Main, Pre *Model
	// Values are Pre's outputs and Main's new inputs, in order.
	Values []ValueInfo
	// KeepsInput is set when Main still reads the input itself (shape
	// computations, say), so it must be fed too.
	KeepsInput bool
}

// HoistProjections moves out of m's main graph the projections of the graph
// input `input` by constant matrices — MatMul(input, W) with W an
// initializer, through Casts of the input — which are the same for every
// run that feeds the same input. For a diffusion UNet and its
// encoder_hidden_states these are the cross-attention layers' key and value
// projections of the prompt: identical at every sampling step, so the caller
// can run Pre once per prompt and Main at every step.
func HoistProjections(m *Model, input string) (*Hoisted, error) {
	g := m.Proto.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("model has no graph")
	}
	var in ValueInfo
	found := false
	for _, v := range g.GetInput() {
		if v.GetName() == input {
			in, found = valueInfo(v), true
		}
	}
	if !found {
		return nil, fmt.Errorf("hoist: the graph has no input %q", input)
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = t
	}
	// derived: values computed from the input alone, with type and shape.
	derived := map[string]ValueInfo{input: in}
	hoist := map[int]bool{}
	for i, n := range g.GetNode() {
		if n.GetDomain() != "" || len(n.GetOutput()) != 1 {
			continue
		}
		ins := n.GetInput()
		switch n.GetOpType() {
		case "Cast":
			src, ok := derived[ins[0]]
			if !ok || len(ins) != 1 {
				continue
			}
			to := DataType(intAttr(n, "to", int64(Undefined)))
			if to == Undefined {
				continue
			}
			derived[n.GetOutput()[0]] = ValueInfo{Name: n.GetOutput()[0], Type: to, Shape: src.Shape}
		case "MatMul":
			src, ok := derived[ins[0]]
			w := inits[ins[1]]
			if !ok || w == nil || len(w.GetDims()) != 2 || len(src.Shape) < 2 {
				continue
			}
			shape := append(append([]Dim{}, src.Shape[:len(src.Shape)-1]...), Dim{Value: w.GetDims()[1]})
			derived[n.GetOutput()[0]] = ValueInfo{Name: n.GetOutput()[0], Type: src.Type, Shape: shape}
		default:
			continue
		}
		hoist[i] = true
	}
	// What the remaining graph reads.
	readByMain := map[string]bool{}
	for i, n := range g.GetNode() {
		if !hoist[i] {
			for _, x := range n.GetInput() {
				readByMain[x] = true
			}
		}
	}
	for _, o := range g.GetOutput() {
		readByMain[o.GetName()] = true
	}
	var values []ValueInfo
	matmuls := 0
	usedByPre := map[string]bool{}
	var preNodes []*onnxpb.NodeProto
	for i, n := range g.GetNode() {
		if !hoist[i] {
			continue
		}
		if n.GetOpType() == "MatMul" {
			matmuls++
		}
		for _, x := range n.GetInput() {
			usedByPre[x] = true
		}
		preNodes = append(preNodes, proto.Clone(n).(*onnxpb.NodeProto))
		if out := n.GetOutput()[0]; readByMain[out] {
			values = append(values, derived[out])
		}
	}
	if matmuls == 0 {
		return nil, ErrNothingToHoist
	}

	main := &Model{Proto: proto.Clone(m.Proto).(*onnxpb.ModelProto), Dir: m.Dir}
	mg := main.Proto.GetGraph()
	var keep []*onnxpb.NodeProto
	for i, n := range mg.GetNode() {
		if !hoist[i] {
			keep = append(keep, n)
		}
	}
	mg.Node = keep
	var inputs []*onnxpb.ValueInfoProto
	for _, v := range mg.GetInput() {
		if v.GetName() != input || readByMain[input] {
			inputs = append(inputs, v)
		}
	}
	for _, v := range values {
		inputs = append(inputs, valueInfoProto(v))
	}
	mg.Input = inputs
	var mainInits []*onnxpb.TensorProto
	for _, t := range mg.GetInitializer() {
		if readByMain[t.GetName()] || !usedByPre[t.GetName()] {
			mainInits = append(mainInits, t)
		}
	}
	mg.Initializer = mainInits

	pg := subgraph(g, g.GetName()+"_hoisted", preNodes, func(x string) bool { return x == input }, func(x string) bool { return usedByPre[x] }, values)
	return &Hoisted{Main: main, Pre: m.withGraph(pg), Values: values, KeepsInput: readByMain[input]}, nil
}
