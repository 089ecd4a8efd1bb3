package onnx

import (
	"fmt"
	"slices"

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
	f := newFuser(m)
	constant := func(name string) *onnxpb.TensorProto { // an initializer no graph input overrides
		if _, isInput := f.ins[name]; isInput {
			return nil
		}
		return f.inits[name]
	}
	channels := func(name string) int64 { // C for a float32 [C,1,1] constant, else 0
		t := constant(name)
		if t == nil || DataType(t.GetDataType()) != Float {
			return 0
		}
		if d := t.GetDims(); len(d) == 3 && d[0] > 0 && d[1] == 1 && d[2] == 1 {
			return d[0]
		}
		return 0
	}
	consumer := map[string]*onnxpb.NodeProto{}
	for _, n := range g.GetNode() {
		for _, x := range n.GetInput() {
			consumer[x] = n // the only one where f.private(x)
		}
	}

	names := newNamer(g)
	flat := names.fresh("affine_to_batchnorm/flat")
	replace := map[*onnxpb.NodeProto]*onnxpb.NodeProto{} // Add → its BatchNormalization
	drop := map[*onnxpb.NodeProto]bool{}
	var newInits []*onnxpb.TensorProto
	var reshapes []*onnxpb.NodeProto
	flattened := map[string]string{}
	flatten := func(name string) string { // [C,1,1] → [C], once per constant
		if out, ok := flattened[name]; ok {
			return out
		}
		out := names.fresh(name + "/flat")
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
		if c == 0 || channels(x) != 0 || !f.private(y) || drop[mul] {
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
		if channels(beta) != c || constant(x) != nil {
			continue
		}
		base := names.fresh(nameOr(mul)+"/AffineToBatchNorm", "/mean", "/var")
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

// namer hands out names no value, node or initializer of a graph has,
// nor any name it handed out before.
type namer map[string]bool

func newNamer(g *onnxpb.GraphProto) namer {
	taken := namer{}
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
	return taken
}

// fresh returns base, or base with a number appended, such that neither
// it nor it followed by any of suffixes is taken, and takes them.
func (taken namer) fresh(base string, suffixes ...string) string {
	free := func(name string) bool {
		return !taken[name] && !slices.ContainsFunc(suffixes, func(s string) bool { return taken[name+s] })
	}
	name := base
	for i := 1; !free(name); i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	taken[name] = true
	for _, s := range suffixes {
		taken[name+s] = true
	}
	return name
}
