package oneactor

import (
	"context"
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"slices"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/autodiff"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

type gdFixture struct {
	Shape  struct{ C, H, W, D int64 }
	Batch  int64
	LR     float64
	Steps  int
	Params []struct {
		Name   string
		Dims   []int64
		Values []float32
	}
	H, Target []float32
	Losses    []float64
}

// The projector trained by plain gradient descent through the compiled
// gradient model follows the PyTorch autograd curve of the same network,
// weights and data (tools/autodiff/projector_gd.py).
func TestProjectorGradientDescentMatchesTorch(t *testing.T) {
	rt, err := ort.Init()
	if err != nil {
		t.Fatalf("ONNX Runtime: %v (run with `make test`)", err)
	}
	data, err := os.ReadFile("../../testdata/autodiff/projector_gd.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx gdFixture
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatal(err)
	}
	p, err := BuildProjector(ProjectorShape{C: fx.Shape.C, H: fx.Shape.H, W: fx.Shape.W, D: fx.Shape.D}, fx.Batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Params) != len(fx.Params) {
		t.Fatalf("%d params, torch has %d", len(p.Params), len(fx.Params))
	}
	ctx := context.Background()
	feeds := ort.Feeds{}
	newT := func(dims []int64, v []float32) *ort.Tensor {
		x, err := ort.NewTensor(onnx.Float, dims...)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.SetFloat32(v); err != nil {
			t.Fatal(err)
		}
		return x
	}
	var wrt []string
	for i, pp := range p.Params {
		ref := fx.Params[i]
		if pp.Name != ref.Name || !slices.Equal(pp.Dims, ref.Dims) {
			t.Fatalf("param %d: %s%v, torch %s%v", i, pp.Name, pp.Dims, ref.Name, ref.Dims)
		}
		feeds[pp.Name] = newT(pp.Dims, ref.Values)
		wrt = append(wrt, pp.Name)
	}
	feeds[p.Input] = newT([]int64{fx.Batch, fx.Shape.C, fx.Shape.H, fx.Shape.W}, fx.H)

	sh, err := autodiff.Probe(ctx, rt, p.Model, feeds)
	if err != nil {
		t.Fatal(err)
	}
	res, err := autodiff.Compile(p.Model, sh, autodiff.Options{Wrt: wrt, Output: p.Output, Loss: autodiff.LossMSE})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("projector: %d forward nodes, %d backward nodes", res.ForwardNodes, res.BackwardNodes)
	sess, err := rt.NewSessionFromModel(res.Model, ort.SessionOptions{Provider: ort.ProviderCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	feeds[res.Target] = newT([]int64{fx.Batch, fx.Shape.D}, fx.Target)

	out := ort.Feeds{}
	var losses []float64
	for step := 0; step < fx.Steps; step++ {
		if err := sess.Run(ctx, feeds, out); err != nil {
			t.Fatal(err)
		}
		losses = append(losses, float64(out[res.Loss].Float32s()[0]))
		for _, name := range wrt {
			w, g := feeds[name].Float32s(), out[res.Grads[name]].Float32s()
			for i := range w {
				w[i] -= float32(fx.LR) * g[i]
			}
		}
	}
	for i := range losses {
		rel := math.Abs(losses[i]-fx.Losses[i]) / fx.Losses[i]
		if rel > 2e-3 {
			t.Errorf("step %d: loss %.6f, torch %.6f (rel diff %.2g)", i, losses[i], fx.Losses[i], rel)
		}
	}
	if losses[len(losses)-1] > 0.5*losses[0] {
		t.Errorf("loss did not fall: %v", losses)
	}
	t.Logf("Go/ORT loss: %.4f … %.4f; torch: %.4f … %.4f", losses[0], losses[len(losses)-1], fx.Losses[0], fx.Losses[len(fx.Losses)-1])
}

func TestProjectorShapes(t *testing.T) {
	for _, s := range []ProjectorShape{
		{C: 1280, H: 8, W: 8, D: 768},    // SD 1.5 at 512²
		{C: 128, H: 2, W: 2, D: 64},      // tiny maps: no strided stage
		{C: 1280, H: 32, W: 32, D: 2048}, // SDXL at 1024²
	} {
		p, err := BuildProjector(s, 3)
		if err != nil {
			t.Fatal(err)
		}
		vi, _ := p.Model.Signature().Output("delta")
		if st, ok := vi.Static(); !ok || st[0] != 3 || st[1] != s.D {
			t.Errorf("%+v: output %s", s, vi)
		}
		if s.C <= 128 { // initialising the SD-sized ones would take seconds
			w := InitParams(p.Params, rand.New(rand.NewSource(1)))
			if len(w) != len(p.Params) {
				t.Errorf("init covers %d of %d params", len(w), len(p.Params))
			}
		}
	}
	if _, err := BuildProjector(ProjectorShape{C: 12, H: 8, W: 8, D: 4}, 1); err == nil {
		t.Error("channels not divisible by 8 accepted")
	}
}
