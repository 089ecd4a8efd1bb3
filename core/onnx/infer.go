package onnx

import (
	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// inferShapes returns output type/shape for the ops the builder knows; an
// output with Type Undefined means "unknown". Only what is needed to declare
// graph outputs of small builder graphs lives here; ONNX Runtime does the
// authoritative inference when it loads a model.
func inferShapes(op string, opset int64, in []ValueInfo, names []string,
	attrs map[string]*onnxpb.AttributeProto, consts map[string]*onnxpb.TensorProto) []ValueInfo {

	first := func() ValueInfo {
		if len(in) == 0 {
			return ValueInfo{}
		}
		return in[0]
	}
	constInts := func(i int) ([]int64, bool) {
		if i >= len(names) {
			return nil, false
		}
		t, ok := consts[names[i]]
		if !ok {
			return nil, false
		}
		v, err := (&Model{}).TensorInt64s(t)
		return v, err == nil
	}
	intsAttr := func(name string) ([]int64, bool) {
		a, ok := attrs[name]
		if !ok {
			return nil, false
		}
		return a.GetInts(), true
	}
	intAttr := func(name string, def int64) int64 {
		if a, ok := attrs[name]; ok {
			return a.GetI()
		}
		return def
	}

	switch op {
	case "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Neg", "Sqrt", "Erf", "Abs",
		"Identity", "Softmax", "LogSoftmax", "Reciprocal", "Floor", "Ceil",
		"LayerNormalization", "InstanceNormalization", "GroupNormalization",
		"BatchNormalization", "Dropout", "Gelu", "LeakyRelu", "Elu", "Softplus":
		return []ValueInfo{first()}
	case "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean":
		out := ValueInfo{Type: first().Type, Shape: broadcastAll(in)}
		return []ValueInfo{out}
	case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Not":
		return []ValueInfo{{Type: Bool, Shape: broadcastAll(in)}}
	case "Where":
		if len(in) == 3 {
			return []ValueInfo{{Type: in[1].Type, Shape: broadcastAll(in)}}
		}
	case "Cast":
		return []ValueInfo{{Type: DataType(intAttr("to", 0)), Shape: first().Shape}}
	case "Shape":
		if r := first().Rank(); r >= 0 {
			return []ValueInfo{{Type: Int64, Shape: []Dim{{Value: int64(r)}}}}
		}
		return []ValueInfo{{Type: Int64, Shape: []Dim{{Value: -1}}}}
	case "MatMul":
		if len(in) == 2 {
			return []ValueInfo{{Type: in[0].Type, Shape: matmulShape(in[0].Shape, in[1].Shape)}}
		}
	case "Gemm":
		if len(in) >= 2 && in[0].Rank() == 2 && in[1].Rank() == 2 {
			a, bb := in[0].Shape, in[1].Shape
			m, k := a[0], a[1]
			if intAttr("transA", 0) != 0 {
				m = a[1]
			}
			n := bb[1]
			if intAttr("transB", 0) != 0 {
				n = bb[0]
			}
			_ = k
			return []ValueInfo{{Type: in[0].Type, Shape: []Dim{m, n}}}
		}
	case "Conv":
		if len(in) >= 2 {
			return []ValueInfo{{Type: in[0].Type, Shape: convShape(in[0].Shape, in[1].Shape, attrs)}}
		}
	case "Transpose":
		x := first()
		if x.Shape == nil {
			return []ValueInfo{{Type: x.Type}}
		}
		perm, ok := intsAttr("perm")
		if !ok {
			perm = make([]int64, len(x.Shape))
			for i := range perm {
				perm[i] = int64(len(perm) - 1 - i)
			}
		}
		out := make([]Dim, len(perm))
		for i, p := range perm {
			out[i] = x.Shape[p]
		}
		return []ValueInfo{{Type: x.Type, Shape: out}}
	case "Reshape":
		x := first()
		shape, ok := constInts(1)
		if !ok {
			return []ValueInfo{{Type: x.Type}}
		}
		return []ValueInfo{{Type: x.Type, Shape: reshapeShape(x.Shape, shape)}}
	case "Flatten":
		x := first()
		if x.Shape == nil {
			return []ValueInfo{{Type: x.Type, Shape: []Dim{{Value: -1}, {Value: -1}}}}
		}
		axis := normAxis(intAttr("axis", 1), len(x.Shape)+1)
		return []ValueInfo{{Type: x.Type, Shape: []Dim{product(x.Shape[:axis]), product(x.Shape[axis:])}}}
	case "Concat":
		axis := intAttr("axis", 0)
		var out []Dim
		for i, v := range in {
			if v.Shape == nil {
				return []ValueInfo{{Type: first().Type}}
			}
			if i == 0 {
				out = append([]Dim{}, v.Shape...)
				axis = int64(normAxis(axis, len(out)))
				continue
			}
			out[axis] = addDims(out[axis], v.Shape[axis])
		}
		return []ValueInfo{{Type: first().Type, Shape: out}}
	case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin":
		x := first()
		axes, ok := intsAttr("axes")
		if !ok {
			axes, ok = constInts(1)
		}
		keep := intAttr("keepdims", 1) != 0
		if x.Shape == nil {
			return []ValueInfo{{Type: x.Type}}
		}
		reduce := map[int]bool{}
		if !ok || len(axes) == 0 { // all axes
			for i := range x.Shape {
				reduce[i] = true
			}
		}
		for _, a := range axes {
			reduce[normAxis(a, len(x.Shape))] = true
		}
		var out []Dim
		for i, d := range x.Shape {
			switch {
			case !reduce[i]:
				out = append(out, d)
			case keep:
				out = append(out, Dim{Value: 1})
			}
		}
		if out == nil {
			out = []Dim{}
		}
		return []ValueInfo{{Type: x.Type, Shape: out}}
	case "Unsqueeze", "Squeeze":
		x := first()
		axes, ok := intsAttr("axes")
		if !ok {
			axes, ok = constInts(1)
		}
		if x.Shape == nil || !ok {
			return []ValueInfo{{Type: x.Type}}
		}
		if op == "Unsqueeze" {
			return []ValueInfo{{Type: x.Type, Shape: unsqueezeShape(x.Shape, axes)}}
		}
		drop := map[int]bool{}
		for _, a := range axes {
			drop[normAxis(a, len(x.Shape))] = true
		}
		out := []Dim{}
		for i, d := range x.Shape {
			if !drop[i] {
				out = append(out, d)
			}
		}
		return []ValueInfo{{Type: x.Type, Shape: out}}
	}
	return nil
}

func normAxis(a int64, rank int) int {
	if a < 0 {
		a += int64(rank)
	}
	return int(a)
}

// broadcast applies numpy broadcasting to two shapes; nil means unknown rank.
func broadcast(a, b []Dim) []Dim {
	if a == nil || b == nil {
		return nil
	}
	n := max(len(a), len(b))
	out := make([]Dim, n)
	for i := 0; i < n; i++ {
		da, db := Dim{Value: 1}, Dim{Value: 1}
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da.Value == 1:
			out[i] = db
		case db.Value == 1:
			out[i] = da
		case da.Known():
			out[i] = da
		case db.Known():
			out[i] = db
		case da.Param != "" && da.Param == db.Param:
			out[i] = da
		default:
			out[i] = Dim{Value: -1}
		}
	}
	return out
}

func broadcastAll(in []ValueInfo) []Dim {
	if len(in) == 0 {
		return nil
	}
	out := in[0].Shape
	for _, v := range in[1:] {
		out = broadcast(out, v.Shape)
	}
	return out
}

func matmulShape(a, b []Dim) []Dim {
	if a == nil || b == nil || len(a) == 0 || len(b) == 0 {
		return nil
	}
	aa, bb := a, b
	if len(aa) == 1 {
		aa = []Dim{{Value: 1}, aa[0]}
	}
	if len(bb) == 1 {
		bb = []Dim{bb[0], {Value: 1}}
	}
	batch := broadcast(aa[:len(aa)-2], bb[:len(bb)-2])
	out := append(batch, aa[len(aa)-2], bb[len(bb)-1])
	if len(b) == 1 {
		out = out[:len(out)-1]
	}
	if len(a) == 1 {
		out = append(out[:len(out)-2], out[len(out)-1])
	}
	return out
}

func convShape(x, w []Dim, attrs map[string]*onnxpb.AttributeProto) []Dim {
	if x == nil || w == nil || len(x) < 3 || len(w) != len(x) {
		return nil
	}
	sp := len(x) - 2
	get := func(name string, def int64, n int) []int64 {
		if a, ok := attrs[name]; ok && len(a.GetInts()) == n {
			return a.GetInts()
		}
		out := make([]int64, n)
		for i := range out {
			out[i] = def
		}
		return out
	}
	strides := get("strides", 1, sp)
	dil := get("dilations", 1, sp)
	pads := get("pads", 0, 2*sp)
	if a, ok := attrs["auto_pad"]; ok && string(a.GetS()) != "" && string(a.GetS()) != "NOTSET" {
		return nil // SAME_* / VALID: leave to ORT
	}
	out := []Dim{x[0], w[0]}
	for i := 0; i < sp; i++ {
		in, k := x[2+i], w[2+i]
		if !in.Known() || !k.Known() {
			out = append(out, Dim{Value: -1})
			continue
		}
		eff := dil[i]*(k.Value-1) + 1
		out = append(out, Dim{Value: (in.Value+pads[i]+pads[i+sp]-eff)/strides[i] + 1})
	}
	return out
}

func reshapeShape(x []Dim, shape []int64) []Dim {
	out := make([]Dim, len(shape))
	infer := -1
	for i, v := range shape {
		switch {
		case v == 0 && x != nil && i < len(x):
			out[i] = x[i]
		case v == -1:
			infer = i
		default:
			out[i] = Dim{Value: v}
		}
	}
	if infer < 0 {
		return out
	}
	out[infer] = Dim{Value: -1}
	if x == nil {
		return out
	}
	// The inferred size is (product of input dims) / (product of the other
	// output dims). Symbolic dims that appear on both sides cancel, so
	// [n,8,8,8] → [0,8,-1] gives [n,8,64].
	rest := append([]Dim{}, x...)
	known := int64(1)
	for i, d := range out {
		if i == infer {
			continue
		}
		if d.Known() {
			known *= d.Value
			continue
		}
		j := indexOfParam(rest, d.Param)
		if d.Param == "" || j < 0 {
			return out
		}
		rest = append(rest[:j], rest[j+1:]...)
	}
	total := product(rest)
	if total.Known() && known > 0 {
		out[infer] = Dim{Value: total.Value / known}
	}
	return out
}

func indexOfParam(ds []Dim, p string) int {
	for i, d := range ds {
		if !d.Known() && d.Param == p {
			return i
		}
	}
	return -1
}

func unsqueezeShape(x []Dim, axes []int64) []Dim {
	rank := len(x) + len(axes)
	ins := map[int]bool{}
	for _, a := range axes {
		ins[normAxis(a, rank)] = true
	}
	out := make([]Dim, 0, rank)
	j := 0
	for i := 0; i < rank; i++ {
		if ins[i] {
			out = append(out, Dim{Value: 1})
		} else {
			out = append(out, x[j])
			j++
		}
	}
	return out
}

func product(ds []Dim) Dim {
	if ds == nil {
		return Dim{Value: -1}
	}
	p := int64(1)
	for _, d := range ds {
		if !d.Known() {
			return Dim{Value: -1}
		}
		p *= d.Value
	}
	return Dim{Value: p}
}

func addDims(a, b Dim) Dim {
	if a.Known() && b.Known() {
		return Dim{Value: a.Value + b.Value}
	}
	return Dim{Value: -1}
}
