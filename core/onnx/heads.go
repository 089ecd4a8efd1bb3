package onnx

import (
	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// HeadsFirst lays out, at the end of Pre, the hoisted values that Main's
// fused attentions alone read as key or value head-first: [B, T, H·d] →
// Reshape [B, T, H, d] → Transpose → [B, H, T, d]. MultiHeadAttention takes
// a key and value in that layout as they are (its cross-attention cache
// layout), where it would otherwise transpose them at every run; Pre runs
// once per prompt. Call it after FuseAttention(h.Main). It returns how many
// values it re-laid; a value with any other reader, or a width its
// attentions' head count does not divide, is left as it was.
func HeadsFirst(h *Hoisted) int {
	mg, pg := h.Main.Proto.GetGraph(), h.Pre.Proto.GetGraph()
	type use struct {
		node  *onnxpb.NodeProto
		input int
	}
	uses := map[string][]use{}
	for _, n := range mg.GetNode() {
		for i, x := range n.GetInput() {
			uses[x] = append(uses[x], use{n, i})
		}
	}
	for _, o := range mg.GetOutput() {
		uses[o.GetName()] = append(uses[o.GetName()], use{nil, -1})
	}
	done := 0
	for vi, v := range h.Values {
		if len(v.Shape) != 3 || v.Shape[2].Value <= 0 || len(uses[v.Name]) == 0 {
			continue
		}
		heads := int64(0)
		for _, u := range uses[v.Name] {
			n := u.node
			if n == nil || n.GetOpType() != "MultiHeadAttention" || n.GetDomain() != MicrosoftDomain || (u.input != 1 && u.input != 2) {
				heads = -1
				break
			}
			nh := intAttr(n, "num_heads", 0)
			if nh <= 0 || (heads != 0 && heads != nh) {
				heads = -1
				break
			}
			heads = nh
		}
		width := v.Shape[2].Value
		if heads <= 0 || width%heads != 0 {
			continue
		}
		name := v.Name + "/heads_first"
		shapeName := v.Name + "/heads_shape"
		pg.Initializer = append(pg.Initializer, TensorInt64(shapeName, []int64{4}, []int64{0, 0, heads, width / heads}))
		pg.Node = append(pg.Node,
			&onnxpb.NodeProto{Name: ptr(v.Name + "/HeadsReshape"), OpType: ptr("Reshape"),
				Input: []string{v.Name, shapeName}, Output: []string{v.Name + "/heads"}},
			&onnxpb.NodeProto{Name: ptr(v.Name + "/HeadsTranspose"), OpType: ptr("Transpose"),
				Input: []string{v.Name + "/heads"}, Output: []string{name},
				Attribute: []*onnxpb.AttributeProto{AttrInts("perm", 0, 2, 1, 3).p}},
		)
		nv := ValueInfo{Name: name, Type: v.Type, Shape: []Dim{v.Shape[0], {Value: heads}, v.Shape[1], {Value: width / heads}}}
		for i, o := range pg.GetOutput() {
			if o.GetName() == v.Name {
				pg.Output[i] = valueInfoProto(nv)
			}
		}
		for i, in := range mg.GetInput() {
			if in.GetName() == v.Name {
				mg.Input[i] = valueInfoProto(nv)
			}
		}
		for _, u := range uses[v.Name] {
			u.node.Input[u.input] = name
		}
		h.Values[vi] = nv
		done++
	}
	return done
}
