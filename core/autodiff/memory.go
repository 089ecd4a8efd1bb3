package autodiff

import (
	"github.com/oneactor/oneactor-desktop/core/onnx"
)

// Memory estimates what a gradient model keeps in memory, from its static
// shapes: the weights, and the forward activations that backward nodes read
// (they must stay alive from the forward pass until their use, so they set
// the floor of the peak). Gradient temporaries come and go on top of that.
type Memory struct {
	WeightBytes    int64
	RetainedBytes  int64 // forward activations read by the backward pass
	RetainedValues int
}

// EstimateMemory reads the compiled model and its shapes.
func EstimateMemory(res *Result, sh *Shapes) Memory {
	g := res.Model.Proto.GetGraph()
	var m Memory
	for _, t := range g.GetInitializer() {
		m.WeightBytes += onnx.NumElements(t.GetDims()) * int64(onnx.DataType(t.GetDataType()).Size())
	}
	forward := map[string]bool{}
	for _, n := range g.GetNode()[:res.ForwardNodes] {
		for _, o := range n.GetOutput() {
			forward[o] = true
		}
	}
	seen := map[string]bool{}
	for _, n := range g.GetNode()[res.ForwardNodes:] {
		for _, in := range n.GetInput() {
			if !forward[in] || seen[in] {
				continue
			}
			seen[in] = true
			if d, ok := sh.Dims[in]; ok {
				m.RetainedBytes += onnx.NumElements(d) * int64(sh.Types[in].Size())
				m.RetainedValues++
			}
		}
	}
	return m
}
