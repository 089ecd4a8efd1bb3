// Package oneactor implements the OneActor method (../shared/docs/oneactor-method.md):
// the projector that maps UNet features h to a semantic offset Δ, its
// tuning, and cluster-conditioned guidance.
package oneactor

import (
	"fmt"
	"math"

	"github.com/oneactor/oneactor-desktop/core/onnx"
)

// ProjectorShape sizes a projector: h is C×H×W, Δ has D elements.
type ProjectorShape struct {
	C, H, W int64
	D       int64
}

// Param is one trainable weight of the projector.
type Param struct {
	Name string
	Dims []int64
	// Init says how InitParams fills it: "xavier" (conv and linear weights),
	// "zeros" (biases, norm shifts) or "ones" (norm scales).
	Init string
}

// Projector is the projector as an ONNX graph whose weights are graph
// inputs, so one compiled gradient model serves every tuning step.
type Projector struct {
	Shape  ProjectorShape
	Batch  int64
	Model  *onnx.Model
	Params []Param
	Input  string // "h" [Batch, C, H, W]
	Output string // "delta" [Batch, D]
}

const normEps = 1e-5

// BuildProjector builds the reference architecture (method doc): stem
// Conv 7×7 stride 2 (C→C/2) + BatchNorm + ReLU; two residual blocks at C/2;
// a strided residual block to C/4 plus one; a strided residual block to C/8
// plus one; flatten; Linear → D; LayerNorm(D). A strided step that would
// shrink the map below 2×2 is dropped (the stem keeps stride 1; later
// stages are left out). BatchNorm always uses the statistics of the batch
// it is given, as the reference code does: it is written with primitive
// ops (ONNX Runtime's BatchNormalization training mode is not reliable on
// CPU), so batch is part of the graph's shape.
func BuildProjector(s ProjectorShape, batch int64) (*Projector, error) {
	if s.C < 8 || s.C%8 != 0 || s.H < 2 || s.W < 2 || s.D < 1 || batch < 1 {
		return nil, fmt.Errorf("projector: h must be at least 8×2×2 with channels divisible by 8 and batch ≥ 1 (got %d×%d×%d, D %d, batch %d)",
			s.C, s.H, s.W, s.D, batch)
	}
	p := &Projector{Shape: s, Batch: batch, Input: "h", Output: "delta"}
	b := onnx.NewBuilder("projector", 17)
	pb := &projBuilder{b: b, p: p}
	x := b.Input(p.Input, onnx.Float, batch, s.C, s.H, s.W)
	h, w := s.H, s.W

	stride := int64(2)
	if (h+1)/2 < 2 || (w+1)/2 < 2 {
		stride = 1
	}
	c := s.C / 2
	x = pb.conv("stem", x, s.C, c, 7, stride, 3)
	h, w = (h+2*3-7)/stride+1, (w+2*3-7)/stride+1
	x = b.Node("Relu", []string{pb.batchNorm("stem.bn", x, c)})
	x = pb.block("stage1.0", x, c, c, 1)
	x = pb.block("stage1.1", x, c, c, 1)
	for i, next := range []int64{s.C / 4, s.C / 8} {
		nh, nw := (h-1)/2+1, (w-1)/2+1
		if nh < 2 || nw < 2 {
			break
		}
		name := fmt.Sprintf("stage%d", i+2)
		x = pb.block(name+".0", x, c, next, 2)
		x = pb.block(name+".1", x, next, next, 1)
		c, h, w = next, nh, nw
	}
	flat := b.Node("Flatten", []string{x}, onnx.AttrInt("axis", 1))
	fc := pb.param("fc.weight", []int64{s.D, c * h * w}, "xavier")
	fcb := pb.param("fc.bias", []int64{s.D}, "zeros")
	y := b.Node("Gemm", []string{flat, fc, fcb}, onnx.AttrInt("transB", 1))
	lnw := pb.param("ln.weight", []int64{s.D}, "ones")
	lnb := pb.param("ln.bias", []int64{s.D}, "zeros")
	y = b.Node("LayerNormalization", []string{y, lnw, lnb}, onnx.AttrInt("axis", -1), onnx.AttrFloat("epsilon", normEps))
	b.OutputAs(p.Output, y, onnx.Float, batch, s.D)
	m, err := b.Model()
	if err != nil {
		return nil, fmt.Errorf("projector: %w", err)
	}
	p.Model = m
	return p, nil
}

type projBuilder struct {
	b *onnx.Builder
	p *Projector
}

func (pb *projBuilder) param(name string, dims []int64, init string) string {
	pb.p.Params = append(pb.p.Params, Param{Name: name, Dims: dims, Init: init})
	d := make([]any, len(dims))
	for i, v := range dims {
		d[i] = v
	}
	return pb.b.Input(name, onnx.Float, d...)
}

func (pb *projBuilder) conv(name, x string, cin, cout, k, stride, pad int64) string {
	w := pb.param(name+".weight", []int64{cout, cin, k, k}, "xavier")
	return pb.b.Node("Conv", []string{x, w}, onnx.AttrInts("strides", stride, stride),
		onnx.AttrInts("pads", pad, pad, pad, pad), onnx.AttrInts("kernel_shape", k, k))
}

// batchNorm normalises with the batch's own statistics over (N, H, W).
func (pb *projBuilder) batchNorm(name, x string, c int64) string {
	b := pb.b
	axes := onnx.AttrInts("axes", 0, 2, 3)
	mean := b.Node("ReduceMean", []string{x}, axes)
	xc := b.Node("Sub", []string{x, mean})
	v := b.Node("ReduceMean", []string{b.Node("Mul", []string{xc, xc})}, axes)
	eps := b.Initializer(onnx.TensorFloat32(name+".eps", nil, []float32{normEps}))
	xhat := b.Node("Div", []string{xc, b.Node("Sqrt", []string{b.Node("Add", []string{v, eps})})})
	shape := b.Initializer(onnx.TensorInt64(name+".cshape", []int64{3}, []int64{c, 1, 1}))
	g := b.Node("Reshape", []string{pb.param(name+".weight", []int64{c}, "ones"), shape})
	beta := b.Node("Reshape", []string{pb.param(name+".bias", []int64{c}, "zeros"), shape})
	return b.Node("Add", []string{b.Node("Mul", []string{xhat, g}), beta})
}

// block is conv3×3-BN-ReLU-conv3×3-BN plus a skip (1×1 strided conv when
// the shape changes), then ReLU.
func (pb *projBuilder) block(name, x string, cin, cout, stride int64) string {
	b := pb.b
	y := pb.conv(name+".conv1", x, cin, cout, 3, stride, 1)
	y = b.Node("Relu", []string{pb.batchNorm(name+".bn1", y, cout)})
	y = pb.conv(name+".conv2", y, cout, cout, 3, 1, 1)
	y = pb.batchNorm(name+".bn2", y, cout)
	skip := x
	if cin != cout || stride != 1 {
		skip = pb.conv(name+".skip", x, cin, cout, 1, stride, 0)
	}
	return b.Node("Relu", []string{b.Node("Add", []string{y, skip})})
}

// InitParams draws initial weights: Xavier-uniform for conv and linear
// weights (fan-in and fan-out include the kernel area, as in torch), zeros
// for biases and norm shifts, ones for norm scales.
func InitParams(params []Param, rng interface{ Float64() float64 }) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range params {
		v := make([]float32, onnx.NumElements(p.Dims))
		switch p.Init {
		case "ones":
			for i := range v {
				v[i] = 1
			}
		case "xavier":
			recept := int64(1)
			for _, d := range p.Dims[2:] {
				recept *= d
			}
			fanIn, fanOut := p.Dims[1]*recept, p.Dims[0]*recept
			a := math.Sqrt(6 / float64(fanIn+fanOut))
			for i := range v {
				v[i] = float32((2*rng.Float64() - 1) * a)
			}
		}
		out[p.Name] = v
	}
	return out
}
