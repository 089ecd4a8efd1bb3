package autodiff

import (
	"github.com/oneactor/oneactor-desktop/core/onnx"
)

// Memory estimates what a gradient model keeps in memory, from its static
// shapes: the weights, the forward activations that backward nodes read
// (they must stay alive from the forward pass until their use, so they set
// the floor of the peak), and the peak of all live values when the nodes
// run in the graph's order, each value freed after its last reader (ONNX
// Runtime's planner frees the same way; its arena rounding and kernel
// scratch space come on top).
type Memory struct {
	WeightBytes    int64
	RetainedBytes  int64 // forward activations read by the backward pass
	RetainedValues int
	// PeakBytes is the largest total of live non-weight values (inputs,
	// activations, gradients) during one forward+backward run.
	PeakBytes int64
	// Half* are the same figures with every floating-point tensor stored
	// as float16: what a float16 model would need if its backward pass ran
	// in float16 (Options.Float32 widens it instead, which gives the
	// figures above).
	HalfWeightBytes, HalfRetainedBytes, HalfPeakBytes int64
}

// EstimateMemory reads the compiled model and its shapes (res.Shapes when
// present, else sh, which then must cover the backward values too for the
// peak to count them).
func EstimateMemory(res *Result, sh *Shapes) Memory {
	if res.Shapes != nil {
		sh = res.Shapes
	}
	g := res.Model.Proto.GetGraph()
	var m Memory
	size := func(v string) (full, half int64, ok bool) {
		d, ok := sh.Dims[v]
		if !ok {
			return 0, 0, false
		}
		n := onnx.NumElements(d)
		t := sh.Types[v]
		full = n * int64(t.Size())
		half = full
		if isFloat(t) {
			half = 2 * n
		}
		return full, half, true
	}
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
		dt := onnx.DataType(t.GetDataType())
		n := onnx.NumElements(t.GetDims())
		m.WeightBytes += n * int64(dt.Size())
		if isFloat(dt) {
			m.HalfWeightBytes += 2 * n
		} else {
			m.HalfWeightBytes += n * int64(dt.Size())
		}
	}
	nodes := g.GetNode()
	forward := map[string]bool{}
	for _, n := range nodes[:res.ForwardNodes] {
		for _, o := range n.GetOutput() {
			forward[o] = true
		}
	}
	seen := map[string]bool{}
	for _, n := range nodes[res.ForwardNodes:] {
		for _, in := range n.GetInput() {
			if !forward[in] || seen[in] {
				continue
			}
			seen[in] = true
			if full, half, ok := size(in); ok {
				m.RetainedBytes += full
				m.HalfRetainedBytes += half
				m.RetainedValues++
			}
		}
	}

	// Liveness: a value lives from its producer (graph inputs: from the
	// start) to its last reader; graph outputs live to the end.
	last := map[string]int{}
	for i, n := range nodes {
		for _, in := range n.GetInput() {
			last[in] = i
		}
	}
	for _, o := range g.GetOutput() {
		last[o.GetName()] = len(nodes)
	}
	var live, liveHalf int64
	held := map[string]bool{} // weights and the caller's inputs are never freed
	for v := range inits {
		held[v] = true
	}
	for _, in := range g.GetInput() {
		held[in.GetName()] = true
		if full, half, ok := size(in.GetName()); ok && !inits[in.GetName()] {
			live += full
			liveHalf += half
		}
	}
	m.PeakBytes, m.HalfPeakBytes = live, liveHalf
	for i, n := range nodes {
		for _, o := range n.GetOutput() {
			if full, half, ok := size(o); ok && o != "" {
				live += full
				liveHalf += half
			}
		}
		m.PeakBytes = max(m.PeakBytes, live)
		m.HalfPeakBytes = max(m.HalfPeakBytes, liveHalf)
		freed := map[string]bool{}
		free := func(v string) {
			if v == "" || held[v] || freed[v] {
				return
			}
			if l, used := last[v]; used && l > i {
				return
			}
			if full, half, ok := size(v); ok {
				freed[v] = true
				live -= full
				liveHalf -= half
			}
		}
		for _, in := range n.GetInput() {
			free(in)
		}
		for _, o := range n.GetOutput() {
			free(o) // outputs nobody reads
		}
	}
	return m
}
