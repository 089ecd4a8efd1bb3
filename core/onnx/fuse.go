package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// MicrosoftDomain is the operator domain of ONNX Runtime's contrib ops.
const MicrosoftDomain = "com.microsoft"

// FuseAttention replaces each scaled-dot-product attention of the main
// graph, written out as the exporters write it,
//
//	q, k, v [B, L, C] ─Reshape [B, L, H, C/H]─Transpose─→ heads
//	softmax(Qh·Khᵀ · scale) · Vh ─Transpose─Reshape [B, L, C]─→ out
//
// by one com.microsoft.MultiHeadAttention(q, k, v) node (ONNX Runtime's
// fused kernel), and returns how many it replaced. The head count is read
// from each head-split Reshape's target (three agreeing constants), the
// scale from the Mul/Div constant(s) around the score MatMul. Two layouts
// are recognised: the 4-D one (Reshape [B,L,H,d] → Transpose (0,2,1,3),
// keys (0,2,3,1) or (0,2,1,3) then (0,1,3,2)), as torch and optimum write
// it, and diffusers' head_to_batch_dim one, where heads are folded into
// the batch ([B·H, L, d] through a second Reshape). An attention that does
// not match exactly (a mask, a bias added to the scores, a value used
// elsewhere, float16 or double data, …) is left alone. Shape computations
// left without a use are removed.
//
// The match is structural, so whoever uses the result must check it
// against the original on real inputs (the batch of the query side and the
// key side are taken to be the same, which the UNet contract guarantees
// but the graph alone does not show).
func FuseAttention(m *Model) (int, error) {
	g := m.Proto.GetGraph()
	if g == nil {
		return 0, fmt.Errorf("model has no graph")
	}
	f := newFuser(m)
	fused := 0
	var drop = map[*onnxpb.NodeProto]bool{}
	var add = map[*onnxpb.NodeProto]*onnxpb.NodeProto{} // final node of a match → its replacement
	for _, n := range g.GetNode() {
		if n.GetOpType() != "Softmax" || n.GetDomain() != "" {
			continue
		}
		a, ok := f.matchAttention(n)
		if !ok {
			continue
		}
		overlap := false
		for _, x := range a.nodes {
			if drop[x] {
				overlap = true
			}
		}
		if overlap {
			continue
		}
		for _, x := range a.nodes {
			drop[x] = true
		}
		fused++
		add[a.last] = &onnxpb.NodeProto{
			Name:   ptr(fmt.Sprintf("%s/MultiHeadAttention", nameOr(n))),
			OpType: ptr("MultiHeadAttention"),
			Domain: ptr(MicrosoftDomain),
			Input:  []string{a.q, a.k, a.v},
			Output: []string{a.last.GetOutput()[0]},
			Attribute: []*onnxpb.AttributeProto{
				AttrInt("num_heads", a.heads).p,
				AttrFloat("scale", a.scale).p,
			},
		}
	}
	if fused == 0 {
		return 0, nil
	}
	before := deadNodes(g.GetNode(), g)
	var nodes []*onnxpb.NodeProto
	for _, n := range g.GetNode() {
		if r := add[n]; r != nil {
			nodes = append(nodes, r)
			continue
		}
		if !drop[n] {
			nodes = append(nodes, n)
		}
	}
	// Remove what only fed the replaced nodes (their shape arithmetic), and
	// nothing that was dead before.
	for {
		dead := deadNodes(nodes, g)
		var keep []*onnxpb.NodeProto
		for _, n := range nodes {
			if !dead[n] || before[n] {
				keep = append(keep, n)
			}
		}
		if len(keep) == len(nodes) {
			break
		}
		nodes = keep
	}
	if missing := undefinedInputs(nodes, g); missing != "" {
		return 0, fmt.Errorf("fusing attention would leave %q without a producer", missing)
	}
	g.Node = nodes
	found := false
	for _, o := range m.Proto.GetOpsetImport() {
		if o.GetDomain() == MicrosoftDomain {
			found = true
		}
	}
	if !found {
		m.Proto.OpsetImport = append(m.Proto.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: ptr(MicrosoftDomain), Version: ptr(int64(1))})
	}
	return fused, nil
}

func nameOr(n *onnxpb.NodeProto) string {
	if n.GetName() != "" {
		return n.GetName()
	}
	return n.GetOutput()[0]
}

// deadNodes are the nodes none of whose outputs is used by a node of nodes
// or by the graph's outputs (subgraphs' outer-scope uses count as uses).
func deadNodes(nodes []*onnxpb.NodeProto, g *onnxpb.GraphProto) map[*onnxpb.NodeProto]bool {
	used := map[string]bool{}
	for _, o := range g.GetOutput() {
		used[o.GetName()] = true
	}
	for _, n := range nodes {
		for _, in := range n.GetInput() {
			used[in] = true
		}
		for _, a := range n.GetAttribute() {
			// Control-flow bodies may read outer values by name: keep
			// everything such a node could see.
			if a.GetG() != nil || len(a.GetGraphs()) > 0 {
				return map[*onnxpb.NodeProto]bool{}
			}
		}
	}
	dead := map[*onnxpb.NodeProto]bool{}
	for _, n := range nodes {
		live := false
		for _, o := range n.GetOutput() {
			if o != "" && used[o] {
				live = true
			}
		}
		if !live {
			dead[n] = true
		}
	}
	return dead
}

// fuser indexes a graph for pattern matching.
type fuser struct {
	m     *Model
	prod  map[string]*onnxpb.NodeProto
	uses  map[string]int
	inits map[string]*onnxpb.TensorProto
	outs  map[string]bool
	ins   map[string]ValueInfo
}

func newFuser(m *Model) *fuser {
	g := m.Proto.GetGraph()
	f := &fuser{m: m, prod: map[string]*onnxpb.NodeProto{}, uses: map[string]int{},
		inits: map[string]*onnxpb.TensorProto{}, outs: map[string]bool{}, ins: map[string]ValueInfo{}}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			f.prod[o] = n
		}
		for _, in := range n.GetInput() {
			f.uses[in]++
		}
	}
	for _, t := range g.GetInitializer() {
		f.inits[t.GetName()] = t
	}
	for _, o := range g.GetOutput() {
		f.outs[o.GetName()] = true
	}
	for _, in := range g.GetInput() {
		f.ins[in.GetName()] = valueInfo(in)
	}
	return f
}

// op returns the default-domain node producing name if it has that type.
func (f *fuser) op(name, typ string) *onnxpb.NodeProto {
	n := f.prod[name]
	if n == nil || n.GetOpType() != typ || (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") {
		return nil
	}
	return n
}

// private says that value name feeds only one node and is no graph output,
// so the node producing it can go when that one consumer goes.
func (f *fuser) private(name string) bool { return f.uses[name] == 1 && !f.outs[name] }

// constTensor returns the tensor of a constant value: an initializer that
// is not also a graph input, or a Constant node's value.
func (f *fuser) constTensor(name string) *onnxpb.TensorProto {
	if t := f.inits[name]; t != nil {
		if _, isInput := f.ins[name]; isInput {
			return nil
		}
		return t
	}
	if n := f.op(name, "Constant"); n != nil {
		return tensorAttr(n, "value")
	}
	return nil
}

func (f *fuser) constInts(name string) ([]int64, bool) {
	t := f.constTensor(name)
	if t == nil {
		return nil, false
	}
	v, err := f.m.TensorInt64s(t)
	return v, err == nil
}

// constScalarFloat reads a one-element float32 constant.
func (f *fuser) constScalarFloat(name string) (float64, bool) {
	t := f.constTensor(name)
	if t == nil || DataType(t.GetDataType()) != Float || NumElements(t.GetDims()) != 1 {
		return 0, false
	}
	v, err := f.m.TensorFloat32s(t)
	if err != nil || len(v) != 1 {
		return 0, false
	}
	return float64(v[0]), true
}

func intsAttr(n *onnxpb.NodeProto, name string) []int64 {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a.GetInts()
		}
	}
	return nil
}

func intAttr(n *onnxpb.NodeProto, name string, def int64) int64 {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a.GetI()
		}
	}
	return def
}

// tensorAttr is n's tensor attribute name, or nil.
func tensorAttr(n *onnxpb.NodeProto, name string) *onnxpb.TensorProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a.GetT()
		}
	}
	return nil
}

// dimElem is one element of a Reshape target as far as it can be read
// without running the graph: a constant, or num/den × (axis of tensor).
type dimElem struct {
	known    bool
	val      int64
	ref      bool // dimension `axis` of tensor `src`, times num/den
	src      string
	axis     int64
	num, den int64
}

// shapeValue evaluates a 1-D int64 shape tensor built by the exporters'
// shape arithmetic (Shape → Gather → Unsqueeze → Concat, with Div/Mul by
// constants and Casts). ok is false when any part is beyond that.
func (f *fuser) shapeValue(name string, depth int) ([]dimElem, bool) {
	if depth > 12 {
		return nil, false
	}
	if v, ok := f.constInts(name); ok {
		out := make([]dimElem, len(v))
		for i, x := range v {
			out[i] = dimElem{known: true, val: x}
		}
		return out, true
	}
	n := f.prod[name]
	if n == nil || (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") {
		return nil, false
	}
	in := n.GetInput()
	switch n.GetOpType() {
	case "Concat":
		var out []dimElem
		for _, x := range in {
			v, ok := f.shapeValue(x, depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, v...)
		}
		return out, true
	case "Unsqueeze", "Squeeze", "Cast", "Floor", "Identity":
		// On the one-element values of shape arithmetic these only change
		// the rank or the number type.
		if len(in) == 0 {
			return nil, false
		}
		v, ok := f.shapeValue(in[0], depth+1)
		if !ok || len(v) != 1 {
			return nil, false
		}
		return v, true
	case "Gather":
		if len(in) != 2 || intAttr(n, "axis", 0) != 0 {
			return nil, false
		}
		sh := f.op(in[0], "Shape")
		idx, ok := f.constInts(in[1])
		if sh == nil || !ok || len(idx) != 1 || idx[0] < 0 || len(sh.GetAttribute()) > 0 {
			return nil, false
		}
		return []dimElem{{ref: true, src: sh.GetInput()[0], axis: idx[0], num: 1, den: 1}}, true
	case "Div", "Mul":
		if len(in) != 2 {
			return nil, false
		}
		a, b := in[0], in[1]
		c, ok := f.constInts(b)
		if !ok && n.GetOpType() == "Mul" {
			a, b = b, a
			c, ok = f.constInts(b)
		}
		if !ok || len(c) != 1 || c[0] <= 0 {
			return nil, false
		}
		v, ok := f.shapeValue(a, depth+1)
		if !ok || len(v) != 1 {
			return nil, false
		}
		e := v[0]
		switch {
		case e.known && n.GetOpType() == "Mul":
			e.val *= c[0]
		case e.known:
			if e.val%c[0] != 0 {
				return nil, false
			}
			e.val /= c[0]
		case n.GetOpType() == "Mul":
			e.num *= c[0]
		default:
			e.den *= c[0]
		}
		return []dimElem{e}, true
	}
	return nil, false
}

// staticLastDim is the size of the last axis of a value when the graph
// fixes it: a projection's weight, a normalisation's scale, a graph input's
// declared size. 0 when unknown.
func (f *fuser) staticLastDim(name string, depth int) int64 {
	if depth > 8 {
		return 0
	}
	if vi, ok := f.ins[name]; ok {
		if r := len(vi.Shape); r > 0 && vi.Shape[r-1].Known() {
			return vi.Shape[r-1].Value
		}
		return 0
	}
	n := f.prod[name]
	if n == nil || (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") {
		return 0
	}
	in := n.GetInput()
	switch n.GetOpType() {
	case "MatMul":
		if w := f.constTensor(in[1]); w != nil && len(w.GetDims()) == 2 {
			return w.GetDims()[1]
		}
	case "LayerNormalization":
		if len(in) > 1 && intAttr(n, "axis", -1) == -1 {
			if w := f.constTensor(in[1]); w != nil && len(w.GetDims()) == 1 {
				return w.GetDims()[0]
			}
		}
		return f.staticLastDim(in[0], depth+1)
	case "Cast", "Identity":
		return f.staticLastDim(in[0], depth+1)
	case "Add":
		for i := range 2 {
			if w := f.constTensor(in[i]); w != nil && len(w.GetDims()) == 1 && w.GetDims()[0] > 1 {
				return w.GetDims()[0]
			}
		}
	}
	return 0
}

// headSplit reads a Reshape that splits [B, L, C] into [B, L, H, C/H]:
// its target must keep axis 0 (a reference to some tensor's axis 0, or 0
// meaning "copy"), keep the tokens (-1, 0, or a reference to an axis 1),
// and end in a constant head count H and a head size d with H·d = C
// (constant, or a reference to a C-sized axis divided by H).
func (f *fuser) headSplit(r *onnxpb.NodeProto) (heads, c int64, ok bool) {
	if len(r.GetInput()) != 2 {
		return 0, 0, false
	}
	t, ok := f.shapeValue(r.GetInput()[1], 0)
	if !ok || len(t) != 4 {
		return 0, 0, false
	}
	allowZero := intAttr(r, "allowzero", 0) != 0
	isCopy := func(e dimElem, axis int64) bool {
		return (e.known && e.val == 0 && !allowZero) || (e.ref && e.axis == axis && e.num == 1 && e.den == 1)
	}
	if !isCopy(t[0], 0) || !(isCopy(t[1], 1) || (t[1].known && t[1].val == -1)) {
		return 0, 0, false
	}
	if !t[2].known || t[2].val <= 0 {
		return 0, 0, false
	}
	heads = t[2].val
	c = f.staticLastDim(r.GetInput()[0], 0)
	switch e := t[3]; {
	case e.known && e.val > 0:
		if c > 0 && c != heads*e.val {
			return 0, 0, false
		}
		if c == 0 {
			c = heads * e.val
		}
	case e.ref && e.num == 1 && e.den == heads:
		ref := f.staticLastDim(e.src, 0)
		if ref > 0 && c > 0 && ref != c {
			return 0, 0, false
		}
		if c == 0 {
			c = ref
		}
		if c == 0 || c%heads != 0 {
			return 0, 0, false
		}
	default:
		return 0, 0, false
	}
	return heads, c, true
}

// headMerge reads the Reshape [B, L, H, d] → [B, L, H·d] after attention.
// In the folded layout its target is read off the folded [B·H, L, d]
// output, so axis 0 appears divided by H and axis 2 times H.
func (f *fuser) headMerge(r *onnxpb.NodeProto, heads, hidden int64, folded bool) bool {
	if len(r.GetInput()) != 2 {
		return false
	}
	t, ok := f.shapeValue(r.GetInput()[1], 0)
	if !ok || len(t) != 3 {
		return false
	}
	allowZero := intAttr(r, "allowzero", 0) != 0
	isCopy := func(e dimElem, axis int64) bool {
		return (e.known && e.val == 0 && !allowZero) || (e.ref && e.axis == axis && e.num == 1 && e.den == 1)
	}
	batch := isCopy(t[0], 0) || (folded && t[0].ref && t[0].axis == 0 && t[0].num == 1 && t[0].den == heads)
	if !batch || !(isCopy(t[1], 1) || (t[1].known && t[1].val == -1)) {
		return false
	}
	switch e := t[2]; {
	case e.known:
		return e.val == hidden || (e.val == -1 && !(t[1].known && t[1].val == -1))
	case folded && e.ref && e.axis == 2 && e.num == heads && e.den == 1:
		return true
	case e.ref && e.num == 1 && e.den == 1:
		s := f.staticLastDim(e.src, 0)
		return s == 0 || s == hidden
	}
	return false
}

// batchFold reads diffusers' Reshape [B, H, L, d] → [B·H, L, d] (or the
// inverse, with unfold): axis 1 of the folded form is the tokens, axis 2
// the head size.
func (f *fuser) batchFold(r *onnxpb.NodeProto, heads, headSize int64, unfold bool) bool {
	if len(r.GetInput()) != 2 {
		return false
	}
	t, ok := f.shapeValue(r.GetInput()[1], 0)
	if !ok {
		return false
	}
	tokens := func(e dimElem) bool {
		return (e.known && e.val == -1) || (e.ref && e.axis == 1 && e.num == 1 && e.den == 1)
	}
	size := func(e dimElem) bool {
		return (e.known && e.val == headSize) || (e.ref && e.axis == 2 && e.num == 1 && e.den == 1)
	}
	if unfold { // [B·H, L, d] → [B, H, L, d]
		return len(t) == 4 && t[0].ref && t[0].axis == 0 && t[0].num == 1 && t[0].den == heads &&
			t[1].known && t[1].val == heads && tokens(t[2]) && size(t[3])
	}
	// [B, H, L, d] → [B·H, L, d]
	return len(t) == 3 && t[0].ref && t[0].axis == 0 && t[0].num == heads && t[0].den == 1 &&
		tokens(t[1]) && size(t[2])
}

func isPerm(n *onnxpb.NodeProto, perm ...int64) bool {
	return n != nil && slices.Equal(intsAttr(n, "perm"), perm)
}

// attention is one matched attention.
type attention struct {
	q, k, v string
	heads   int64
	scale   float32
	last    *onnxpb.NodeProto
	nodes   []*onnxpb.NodeProto
}

// heads follows a head split back from the tensor entering the score or
// value MatMul: Transpose(perm) ← Reshape(x) [← Reshape fold for the 3-D
// layout]; it returns x, the head count and x's width.
func (f *fuser) headsOf(name string, perm []int64, folded bool, nodes *[]*onnxpb.NodeProto) (x string, heads, c int64, ok bool) {
	var fold *onnxpb.NodeProto
	if folded {
		fold = f.op(name, "Reshape")
		if fold == nil || !f.private(name) {
			return "", 0, 0, false
		}
		name = fold.GetInput()[0]
	}
	tr := f.op(name, "Transpose")
	if tr == nil || !f.private(name) || !isPerm(tr, perm...) {
		return "", 0, 0, false
	}
	r := f.op(tr.GetInput()[0], "Reshape")
	if r == nil || !f.private(tr.GetInput()[0]) {
		return "", 0, 0, false
	}
	heads, c, ok = f.headSplit(r)
	if !ok {
		return "", 0, 0, false
	}
	if fold != nil && !f.batchFold(fold, heads, c/heads, false) {
		return "", 0, 0, false
	}
	*nodes = append(*nodes, tr, r)
	if fold != nil {
		*nodes = append(*nodes, fold)
	}
	return r.GetInput()[0], heads, c, true
}

// scaled strips a Mul or Div by a float32 scalar constant from name.
func (f *fuser) scaled(name string, nodes *[]*onnxpb.NodeProto) (string, float64) {
	for _, typ := range []string{"Mul", "Div"} {
		n := f.op(name, typ)
		if n == nil || !f.private(name) || len(n.GetInput()) != 2 {
			continue
		}
		in := n.GetInput()
		if c, ok := f.constScalarFloat(in[1]); ok && c != 0 {
			*nodes = append(*nodes, n)
			if typ == "Div" {
				return in[0], 1 / c
			}
			return in[0], c
		}
		if c, ok := f.constScalarFloat(in[0]); ok && typ == "Mul" {
			*nodes = append(*nodes, n)
			return in[1], c
		}
	}
	return name, 1
}

func (f *fuser) matchAttention(sm *onnxpb.NodeProto) (a attention, ok bool) {
	var nodes []*onnxpb.NodeProto
	nodes = append(nodes, sm)
	if ax := intAttr(sm, "axis", -1); ax != -1 && ax != 3 && ax != 2 {
		return a, false
	}
	scores := sm.GetInput()[0]
	if !f.private(scores) || !f.private(sm.GetOutput()[0]) {
		return a, false
	}
	scores, scale := f.scaled(scores, &nodes)
	qk := f.op(scores, "MatMul")
	if qk == nil || !f.private(scores) {
		return a, false
	}
	nodes = append(nodes, qk)
	// The value MatMul: softmax · Vh.
	var pv *onnxpb.NodeProto
	for _, n := range f.m.Proto.GetGraph().GetNode() {
		if n.GetOpType() == "MatMul" && n.GetDomain() == "" && len(n.GetInput()) == 2 && n.GetInput()[0] == sm.GetOutput()[0] {
			pv = n
		}
	}
	if pv == nil {
		return a, false
	}
	nodes = append(nodes, pv)
	qh, s1 := f.scaled(qk.GetInput()[0], &nodes)
	kh, s2 := f.scaled(qk.GetInput()[1], &nodes)
	scale *= s1 * s2

	// The folded (3-D) layout has a Reshape right before the MatMuls.
	folded := f.op(qh, "Reshape") != nil
	if folded {
		if ax := intAttr(sm, "axis", -1); ax == 3 {
			return a, false
		}
	} else if ax := intAttr(sm, "axis", -1); ax == 2 {
		return a, false
	}
	q, hq, cq, ok := f.headsOf(qh, []int64{0, 2, 1, 3}, folded, &nodes)
	if !ok {
		return a, false
	}
	var k string
	var hk, ck int64
	if folded {
		// keys: Transpose(0,2,1) of the folded heads.
		t := f.op(kh, "Transpose")
		if t == nil || !f.private(kh) || !isPerm(t, 0, 2, 1) {
			return a, false
		}
		nodes = append(nodes, t)
		k, hk, ck, ok = f.headsOf(t.GetInput()[0], []int64{0, 2, 1, 3}, true, &nodes)
	} else if t := f.op(kh, "Transpose"); t != nil && isPerm(t, 0, 1, 3, 2) && f.private(kh) {
		nodes = append(nodes, t)
		k, hk, ck, ok = f.headsOf(t.GetInput()[0], []int64{0, 2, 1, 3}, false, &nodes)
	} else {
		k, hk, ck, ok = f.headsOf(kh, []int64{0, 2, 3, 1}, false, &nodes)
	}
	if !ok {
		return a, false
	}
	v, hv, cv, ok := f.headsOf(pv.GetInput()[1], []int64{0, 2, 1, 3}, folded, &nodes)
	if !ok || hq != hk || hq != hv || cq != ck || cq%hq != 0 || cv%hv != 0 {
		return a, false
	}
	// Heads back together: [B,H,L,d] → Transpose(0,2,1,3) → Reshape [B,L,H·d];
	// the folded layout first unfolds [B·H,L,d] → [B,H,L,d].
	out := pv.GetOutput()[0]
	if folded {
		u := f.oneConsumer(out, "Reshape")
		if u == nil || !f.batchFold(u, hv, cv/hv, true) || !f.private(u.GetOutput()[0]) {
			return a, false
		}
		nodes = append(nodes, u)
		out = u.GetOutput()[0]
	}
	tr := f.oneConsumer(out, "Transpose")
	if tr == nil || !isPerm(tr, 0, 2, 1, 3) || !f.private(tr.GetOutput()[0]) {
		return a, false
	}
	merge := f.oneConsumer(tr.GetOutput()[0], "Reshape")
	if merge == nil || !f.headMerge(merge, hv, cv, folded) {
		return a, false
	}
	nodes = append(nodes, tr, merge)
	// float32 only: the scale constant has the scores' type, the weights
	// the projections' type.
	if !f.computesInFloat32(nodes, q) {
		return a, false
	}
	if math.IsNaN(scale) || math.IsInf(scale, 0) || scale == 0 {
		return a, false
	}
	return attention{q: q, k: k, v: v, heads: hq, scale: float32(scale), last: merge, nodes: nodes}, true
}

// oneConsumer returns the only node reading name, if it has type typ.
// Shape nodes reading it do not count: diffusers reads the sizes for the
// following Reshape targets off the tensor itself (they go with them).
func (f *fuser) oneConsumer(name, typ string) *onnxpb.NodeProto {
	if f.outs[name] {
		return nil
	}
	var found *onnxpb.NodeProto
	for _, n := range f.m.Proto.GetGraph().GetNode() {
		if n.GetOpType() == "Shape" && n.GetDomain() == "" {
			continue
		}
		if slices.Contains(n.GetInput(), name) {
			if found != nil {
				return nil
			}
			found = n
		}
	}
	if found == nil || found.GetOpType() != typ || found.GetDomain() != "" || found.GetInput()[0] != name {
		return nil
	}
	return found
}

// computesInFloat32 tells whether a matched attention computes in
// float32, judged by its constants: the scale constants, or failing those
// the query projection's weight. With nothing to read, the check run that
// must follow the rewrite decides.
func (f *fuser) computesInFloat32(nodes []*onnxpb.NodeProto, q string) bool {
	typ := Undefined
	look := func(n *onnxpb.NodeProto) {
		for _, in := range n.GetInput() {
			if t := f.constTensor(in); t != nil && typ == Undefined {
				typ = DataType(t.GetDataType())
			}
		}
	}
	for _, n := range nodes {
		if n.GetOpType() == "Mul" || n.GetOpType() == "Div" {
			look(n)
		}
	}
	if typ == Undefined {
		if n := f.prod[q]; n != nil && (n.GetOpType() == "MatMul" || n.GetOpType() == "Add") {
			look(n)
		}
	}
	return typ == Undefined || typ == Float
}

// undefinedInputs names a node input that nothing defines, or "".
func undefinedInputs(nodes []*onnxpb.NodeProto, g *onnxpb.GraphProto) string {
	def := map[string]bool{"": true}
	for _, in := range g.GetInput() {
		def[in.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		def[t.GetName()] = true
	}
	for _, n := range nodes {
		for _, o := range n.GetOutput() {
			def[o] = true
		}
	}
	for _, n := range nodes {
		for _, in := range n.GetInput() {
			if !def[in] {
				return in
			}
		}
	}
	for _, o := range g.GetOutput() {
		if !def[o.GetName()] {
			return o.GetName()
		}
	}
	return ""
}
