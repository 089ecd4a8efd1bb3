package onnx

import (
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// ErrNothingToShare: no part of the graph is computed from the shared
// input alone.
var ErrNothingToShare = errors.New("nothing computed from the shared input alone")

// Shared is a graph split in two for runs whose rows come in groups that
// feed the same value of one input (a diffusion UNet under classifier-free
// guidance: an image's unconditional and conditional rows read the same
// latents and differ only in the prompt). Prefix computes, from that input
// and the inputs every row reads alike (the timestep), everything that does
// not depend on the row-varying inputs; it runs once per group. Main takes
// Prefix's outputs, each group's row repeated for each of its rows, as
// inputs instead of computing them.
type Shared struct {
	Prefix, Main *Model
	// Values are Prefix's outputs and Main's new inputs, in order; each has
	// the shared input's rows as its leading axis (checked by the caller on
	// a run: the split cannot see shapes the file does not declare).
	Values []ValueInfo
	// KeepsInput is set when Main still reads the shared input itself
	// (shape computations), so it must be fed too, at every row.
	KeepsInput bool
	// PrefixInputs are the graph inputs Prefix reads, the shared one first.
	PrefixInputs []string
}

// shapeOps produce a tensor's shape, not its values: their results (and
// whatever is computed from shapes and constants alone) are integer
// bookkeeping that each part recomputes for its own row count.
var shapeOps = map[string]bool{"Shape": true, "Size": true}

// SplitShared splits m for rows that share the value of input `shared`;
// `uniform` are the inputs every row reads alike (the timestep), and every
// other input is taken to differ between the rows (the prompt's text
// states, values computed from them, ControlNet residuals). Nodes move
// whole and unchanged, so Prefix then Main compute exactly what m
// computes, given that Main's new inputs repeat Prefix's rows as the row
// groups do.
func SplitShared(m *Model, shared string, uniform []string) (*Shared, error) {
	g := m.Proto.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("model has no graph")
	}
	types := map[string]DataType{}
	var sharedInfo *onnxpb.ValueInfoProto
	for _, v := range g.GetInput() {
		types[v.GetName()] = DataType(v.GetType().GetTensorType().GetElemType())
		if v.GetName() == shared {
			sharedInfo = v
		}
	}
	if sharedInfo == nil {
		return nil, fmt.Errorf("share: the graph has no input %q", shared)
	}
	consts := map[string]bool{}
	for _, t := range g.GetInitializer() {
		consts[t.GetName()] = true
		types[t.GetName()] = DataType(t.GetDataType())
	}
	// Per value: computed from the shared input (fromShared), from a varying
	// input (fromVarying), or from shapes and constants alone (shapeOnly).
	fromShared := map[string]bool{shared: true}
	fromVarying := map[string]bool{}
	for _, v := range g.GetInput() {
		if name := v.GetName(); name != shared && !slices.Contains(uniform, name) && !consts[name] {
			fromVarying[name] = true
		}
	}
	shapeOnly := map[string]bool{}
	nodes := g.GetNode()
	core := make([]bool, len(nodes)) // computed once per row group
	producer := map[string]int{}
	for i, n := range nodes {
		ins := n.GetInput()
		s, v, allShape, anyShape := false, false, true, false
		for _, x := range ins {
			if x == "" || consts[x] {
				continue
			}
			s = s || fromShared[x]
			v = v || fromVarying[x]
			if shapeOnly[x] {
				anyShape = true
			} else {
				allShape = false
			}
		}
		isShape := shapeOps[n.GetOpType()] || (anyShape && allShape)
		isConst := n.GetOpType() == "Constant" || (len(ins) > 0 && !slices.ContainsFunc(ins, func(x string) bool { return x != "" && !consts[x] }))
		outType := nodeOutputType(n, types)
		for _, o := range n.GetOutput() {
			producer[o] = i
			fromShared[o], fromVarying[o] = s, v
			if isShape {
				shapeOnly[o] = true
			}
			if isConst && !isShape {
				consts[o] = true
			}
			if outType != Undefined {
				types[o] = outType
			}
		}
		core[i] = s && !v && !isShape && !isConst
	}

	// Main: every node but the core, less what nothing reads any more.
	needed := map[string]bool{}
	for _, o := range g.GetOutput() {
		needed[o.GetName()] = true
	}
	inMain := make([]bool, len(nodes))
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		if core[i] || !slices.ContainsFunc(n.GetOutput(), func(o string) bool { return needed[o] }) {
			continue
		}
		inMain[i] = true
		for _, x := range n.GetInput() {
			needed[x] = true
		}
	}
	// The values crossing over: core outputs Main reads.
	var values []ValueInfo
	for i, n := range nodes {
		if !core[i] {
			continue
		}
		for _, o := range n.GetOutput() {
			if !needed[o] {
				continue
			}
			for _, out := range g.GetOutput() {
				if out.GetName() == o {
					return nil, fmt.Errorf("share: graph output %q would be computed once per row group", o)
				}
			}
			t := types[o]
			if t != Float && t != Float16 {
				return nil, fmt.Errorf("share: value %q crossing the split has type %s, not a float tensor with rows", o, t)
			}
			values = append(values, ValueInfo{Name: o, Type: t})
		}
	}
	if len(values) == 0 {
		return nil, ErrNothingToShare
	}
	// Prefix: the core and everything it reads (shape bookkeeping, the
	// timestep's embedding, constants), recomputed at its own row count.
	inPrefix := make([]bool, len(nodes))
	want := map[string]bool{}
	for _, v := range values {
		want[v.Name] = true
	}
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		if !core[i] && !slices.ContainsFunc(n.GetOutput(), func(o string) bool { return want[o] }) {
			continue
		}
		if !core[i] && slices.ContainsFunc(n.GetInput(), func(x string) bool { return fromVarying[x] }) {
			return nil, fmt.Errorf("share: node %q is needed before the split but reads a varying input", n.GetName())
		}
		inPrefix[i] = true
		for _, x := range n.GetInput() {
			want[x] = true
		}
	}

	sub := func(keep []bool, name string, outputs []ValueInfo) *Model {
		var kept []*onnxpb.NodeProto
		used := map[string]bool{}
		for i, n := range nodes {
			if keep[i] {
				kept = append(kept, proto.Clone(n).(*onnxpb.NodeProto))
				for _, x := range n.GetInput() {
					used[x] = true
				}
			}
		}
		isUsed := func(x string) bool { return used[x] }
		return m.withGraph(subgraph(g, name, kept, isUsed, isUsed, outputs))
	}
	prefix := sub(inPrefix, g.GetName()+"_shared", values)
	var prefixInputs []string
	for _, v := range prefix.Proto.GetGraph().GetInput() {
		if fromVarying[v.GetName()] {
			return nil, fmt.Errorf("share: the shared part reads varying input %q", v.GetName())
		}
		if v.GetName() == shared {
			prefixInputs = append([]string{shared}, prefixInputs...)
		} else {
			prefixInputs = append(prefixInputs, v.GetName())
		}
	}
	var outs []ValueInfo
	for _, o := range g.GetOutput() {
		outs = append(outs, valueInfo(o))
	}
	main := sub(inMain, g.GetName(), outs)
	mg := main.Proto.GetGraph()
	for _, v := range values {
		mg.Input = append(mg.Input, valueInfoProto(v))
	}
	mg.ValueInfo = nil
	keeps := slices.ContainsFunc(mg.GetInput(), func(v *onnxpb.ValueInfoProto) bool { return v.GetName() == shared })
	return &Shared{Prefix: prefix, Main: main, Values: values, KeepsInput: keeps, PrefixInputs: prefixInputs}, nil
}

// nodeOutputType is the element type of n's outputs as far as the split
// needs it: Undefined where it cannot tell.
func nodeOutputType(n *onnxpb.NodeProto, types map[string]DataType) DataType {
	switch n.GetOpType() {
	case "Shape", "Size", "NonZero", "ArgMax", "ArgMin":
		return Int64
	case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf":
		return Bool
	case "Cast":
		return DataType(intAttr(n, "to", int64(Undefined)))
	case "Constant":
		return DataType(tensorAttr(n, "value").GetDataType()) // Undefined without one
	case "ConstantOfShape":
		if t := tensorAttr(n, "value"); t != nil {
			return DataType(t.GetDataType())
		}
		return Float
	case "Where":
		if len(n.GetInput()) == 3 {
			return types[n.GetInput()[1]]
		}
		return Undefined
	}
	if len(n.GetInput()) == 0 {
		return Undefined
	}
	return types[n.GetInput()[0]]
}
