package onnx

import (
	"fmt"

	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// AffineToBatchNorm replaces each per-channel affine written as two
// broadcasting operators — Mul(x, γ) then Add(·, β) with γ and β constant
// [C, 1, 1] tensors, as exporters write GroupNorm's scale and shift after
// its InstanceNormalization — by one BatchNormalization(x, γ, β, mean 0,
// variance 1, epsilon 0), which computes x·γ + β in one pass (γ/√(1+0) is
// γ exactly). ONNX Runtime's CPU Mul and Add broadcast a [C,1,1] constant
// a plane at a time; its BatchNormalization does the whole tensor in one
// go. It returns how many it replaced; a Mul whose result is read
// elsewhere, or constants of any other shape, are left alone.
func AffineToBatchNorm(m *Model) (int, error) {
	g := m.Proto.GetGraph()
	if g == nil {
		return 0, fmt.Errorf("model has no graph")
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = t
	}
	for _, in := range g.GetInput() {
		delete(inits, in.GetName()) // an input may override its initializer
	}
	channels := func(name string) int64 {
		t := inits[name]
		if t == nil || DataType(t.GetDataType()) != Float {
			return 0
		}
		if d := t.GetDims(); len(d) == 3 && d[0] > 0 && d[1] == 1 && d[2] == 1 {
			return d[0]
		}
		return 0
	}
	readers := map[string]int{}
	for _, n := range g.GetNode() {
		for _, x := range n.GetInput() {
			readers[x]++
		}
	}
	for _, o := range g.GetOutput() {
		readers[o.GetName()]++
	}
	consumer := map[string]*onnxpb.NodeProto{}
	for _, n := range g.GetNode() {
		for _, x := range n.GetInput() {
			consumer[x] = n // the only one where readers[x] == 1
		}
	}

	flat := uniqueName(g, "affine_to_batchnorm/flat")
	replace := map[*onnxpb.NodeProto]*onnxpb.NodeProto{} // Add → its BatchNormalization
	drop := map[*onnxpb.NodeProto]bool{}
	var newInits []*onnxpb.TensorProto
	var reshapes []*onnxpb.NodeProto
	flattened := map[string]string{}
	flatten := func(name string) string { // [C,1,1] → [C], once per constant
		if out, ok := flattened[name]; ok {
			return out
		}
		out := uniqueName(g, name+"/flat")
		flattened[name] = out
		reshapes = append(reshapes, &onnxpb.NodeProto{Name: ptr(out), OpType: ptr("Reshape"), Input: []string{name, flat}, Output: []string{out}})
		return out
	}
	for _, mul := range g.GetNode() {
		if mul.GetOpType() != "Mul" || mul.GetDomain() != "" || len(mul.GetInput()) != 2 || len(mul.GetOutput()) != 1 {
			continue
		}
		x, gamma := mul.GetInput()[0], mul.GetInput()[1]
		if channels(gamma) == 0 {
			x, gamma = gamma, x
		}
		c := channels(gamma)
		y := mul.GetOutput()[0]
		if c == 0 || channels(x) != 0 || readers[y] != 1 || drop[mul] {
			continue
		}
		add := consumer[y]
		if add == nil || add.GetOpType() != "Add" || add.GetDomain() != "" || len(add.GetInput()) != 2 || replace[add] != nil {
			continue
		}
		beta := add.GetInput()[1]
		if beta == y {
			beta = add.GetInput()[0]
		}
		if channels(beta) != c || inits[x] != nil {
			continue
		}
		base := uniqueName(g, nameOr(mul)+"/AffineToBatchNorm")
		zeros, ones := make([]float32, c), make([]float32, c)
		for i := range ones {
			ones[i] = 1
		}
		newInits = append(newInits, TensorFloat32(base+"/mean", []int64{c}, zeros), TensorFloat32(base+"/var", []int64{c}, ones))
		replace[add] = &onnxpb.NodeProto{
			Name:      ptr(base),
			OpType:    ptr("BatchNormalization"),
			Input:     []string{x, flatten(gamma), flatten(beta), base + "/mean", base + "/var"},
			Output:    []string{add.GetOutput()[0]},
			Attribute: []*onnxpb.AttributeProto{AttrFloat("epsilon", 0).p},
		}
		drop[mul] = true
	}
	if len(replace) == 0 {
		return 0, nil
	}
	newInits = append(newInits, TensorInt64(flat, []int64{1}, []int64{-1}))
	nodes := append([]*onnxpb.NodeProto{}, reshapes...) // constants first: they read initializers only
	for _, n := range g.GetNode() {
		switch {
		case drop[n]:
		case replace[n] != nil:
			nodes = append(nodes, replace[n])
		default:
			nodes = append(nodes, n)
		}
	}
	g.Node = nodes
	g.Initializer = append(g.Initializer, newInits...)
	return len(replace), nil
}

// uniqueName is base, or base with a number appended, so that no value,
// node or initializer of g has that name yet.
func uniqueName(g *onnxpb.GraphProto, base string) string {
	taken := map[string]bool{}
	for _, t := range g.GetInitializer() {
		taken[t.GetName()] = true
	}
	for _, v := range g.GetInput() {
		taken[v.GetName()] = true
	}
	for _, n := range g.GetNode() {
		taken[n.GetName()] = true
		for _, o := range n.GetOutput() {
			taken[o] = true
		}
	}
	name := base
	for i := 1; taken[name] || taken[name+"/flat"] || taken[name+"/mean"]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	return name
}
