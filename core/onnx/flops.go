package onnx

import (
	"fmt"
	"slices"

	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
)

// Work is the arithmetic of a graph's compute-bound operators at one set of
// tensor shapes: the multiply-accumulates of every Conv, ConvTranspose,
// MatMul and Gemm (and of ONNX Runtime's fused attention), the work a CPU's
// FMA units have to do whatever the kernels. Element-wise operators,
// normalisations and softmax are left out: they are memory-bound, and
// together they are a few per cent of a diffusion UNet's arithmetic.
type Work struct {
	MACs  int64            // multiply-accumulates in all
	ByOp  map[string]int64 // per operator type
	Nodes int              // nodes counted
	// Unknown lists the compute-bound nodes whose input shapes were not
	// given, so that a caller can tell a complete count from a partial one.
	Unknown []string
}

// FLOPs counts one multiply-accumulate as two floating-point operations,
// the usual convention of roofline figures and of torch's profiler.
func (w Work) FLOPs() int64 { return 2 * w.MACs }

// CountWork returns the Work of m's main graph, reading every tensor's shape
// from dims (for instance autodiff.Probe's Shapes.Dims, which has them for
// inputs, initializers and every intermediate value).
func CountWork(m *Model, dims map[string][]int64) (Work, error) {
	g := m.Proto.GetGraph()
	if g == nil {
		return Work{}, fmt.Errorf("model has no graph")
	}
	w := Work{ByOp: map[string]int64{}}
	shape := func(name string) ([]int64, bool) {
		d, ok := dims[name]
		return d, ok && name != ""
	}
	for _, n := range g.GetNode() {
		op := n.GetOpType()
		if n.GetDomain() != "" && !(n.GetDomain() == MicrosoftDomain && op == "MultiHeadAttention") {
			continue
		}
		in := n.GetInput()
		var macs int64
		var ok bool
		switch op {
		case "Conv":
			macs, ok = convMACs(n.GetOutput(), in, shape, false)
		case "ConvTranspose":
			macs, ok = convMACs(n.GetOutput(), in, shape, true)
		case "MatMul", "Gemm":
			if len(in) < 2 {
				continue
			}
			a, okA := shape(in[0])
			b, okB := shape(in[1])
			ok = okA && okB
			if ok {
				macs, ok = matmulMACs(op, n, a, b)
			}
		case "MultiHeadAttention":
			// q [B, Lq, C], k/v [B, Lk, C] (3-D, unpacked): Q·Kᵀ and A·V.
			if len(in) < 3 {
				continue
			}
			q, okQ := shape(in[0])
			k, okK := shape(in[1])
			ok = okQ && okK && len(q) == 3 && len(k) == 3
			if ok {
				macs = 2 * q[0] * q[1] * k[1] * q[2]
			}
		default:
			continue
		}
		if !ok {
			w.Unknown = append(w.Unknown, nodeLabel(n.GetName(), op))
			continue
		}
		w.MACs += macs
		w.ByOp[op] += macs
		w.Nodes++
	}
	return w, nil
}

func nodeLabel(name, op string) string {
	if name == "" {
		return op
	}
	return op + " " + name
}

// convMACs: every output element of a Conv sums Cin/group × kernel
// products; every input element of a ConvTranspose scatters into
// Cout/group × kernel outputs. Both read the weight [Cout, Cin/g, k…] or
// [Cin, Cout/g, k…].
func convMACs(out, in []string, shape func(string) ([]int64, bool), transpose bool) (int64, bool) {
	if len(in) < 2 || len(out) < 1 {
		return 0, false
	}
	wt, ok := shape(in[1])
	if !ok || len(wt) < 3 {
		return 0, false
	}
	kernel := NumElements(wt[2:])
	if transpose {
		x, ok := shape(in[0])
		if !ok {
			return 0, false
		}
		return NumElements(x) * wt[1] * kernel, true
	}
	y, ok := shape(out[0])
	if !ok {
		return 0, false
	}
	return NumElements(y) * wt[1] * kernel, true
}

// matmulMACs follows numpy's matmul rules (1-D operands promoted, batch
// axes broadcast) and Gemm's transA/transB.
func matmulMACs(op string, n *onnxpb.NodeProto, a, b []int64) (int64, bool) {
	a, b = slices.Clone(a), slices.Clone(b)
	if op == "Gemm" {
		if len(a) != 2 || len(b) != 2 {
			return 0, false
		}
		for _, at := range n.GetAttribute() {
			if at.GetName() == "transA" && at.GetI() != 0 {
				a[0], a[1] = a[1], a[0]
			}
			if at.GetName() == "transB" && at.GetI() != 0 {
				b[0], b[1] = b[1], b[0]
			}
		}
	}
	if len(a) == 0 || len(b) == 0 {
		return 0, false
	}
	if len(a) == 1 {
		a = []int64{1, a[0]}
	}
	if len(b) == 1 {
		b = []int64{b[0], 1}
	}
	M, K, N := a[len(a)-2], a[len(a)-1], b[len(b)-1]
	if b[len(b)-2] != K {
		return 0, false
	}
	// Broadcast batch axes.
	ba, bb := a[:len(a)-2], b[:len(b)-2]
	batch := int64(1)
	for i := 0; i < max(len(ba), len(bb)); i++ {
		da, db := int64(1), int64(1)
		if j := len(ba) - 1 - i; j >= 0 {
			da = ba[j]
		}
		if j := len(bb) - 1 - i; j >= 0 {
			db = bb[j]
		}
		if da != db && da != 1 && db != 1 {
			return 0, false
		}
		batch *= max(da, db)
	}
	return batch * M * K * N, true
}
