package autodiff

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oneactor/oneactor-desktop/core/internal/golden"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
)

// d mean((UNet(x, t, c) − target)²) / dc of the committed ToyWorld UNet
// (rank-0 int64 timestep, so rows with their own timestep run one at a
// time and the row gradients are scaled by 1/rows) against torch autograd.
func TestToyWorldUNetGradientMatchesTorch(t *testing.T) {
	rt := orttest.Runtime(t)
	g, err := golden.Load(toyRoot())
	if err != nil {
		t.Fatal(err)
	}
	unet := filepath.Join(toyRoot(), "models", "toyworld", "unet", "model.onnx")
	ctx := context.Background()
	for _, c := range g.Cases {
		if c.Kind != "gradient" || c.Model != "unet" {
			continue
		}
		x, xs, _ := g.Float32(c.Inputs["sample"])
		tgt, _, _ := g.Float32(c.Inputs["target"])
		ehs, es, _ := g.Float32(c.Inputs["encoder_hidden_states"])
		ts, _, _ := g.Float32(c.Inputs["timestep"])
		wantLoss, _, _ := g.Float32(c.Outputs["loss"])
		want, _, _ := g.Float32(c.Outputs["d_encoder_hidden_states"])
		rows := int(xs[0])
		per, perE := len(x)/rows, len(ehs)/rows
		mk := func(dt onnx.DataType, shape ...int64) *ort.Tensor { return newTensor(t, dt, shape...) }
		sample := mk(onnx.Float, append([]int64{1}, xs[1:]...)...)
		c1 := mk(onnx.Float, append([]int64{1}, es[1:]...)...)
		tt := mk(onnx.Int64)
		built, err := Build(ctx, rt, unet, ort.Feeds{"sample": sample, "timestep": tt, "encoder_hidden_states": c1},
			Options{Wrt: []string{"encoder_hidden_states"}, Output: "out_sample", Loss: LossMSE}, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s, err := rt.NewSession(built.Path, ort.SessionOptions{Provider: ort.ProviderCPU})
		if err != nil {
			t.Fatal(err)
		}
		target := mk(onnx.Float, append([]int64{1}, xs[1:]...)...)
		got := make([]float32, 0, len(want))
		loss := 0.0
		start := time.Now()
		for r := 0; r < rows; r++ {
			sample.SetFloat32(x[r*per : (r+1)*per])
			target.SetFloat32(tgt[r*per : (r+1)*per])
			c1.SetFloat32(ehs[r*perE : (r+1)*perE])
			tt.Int64s()[0] = int64(ts[r])
			out := ort.Feeds{}
			if err := s.Run(ctx, ort.Feeds{"sample": sample, "timestep": tt, "encoder_hidden_states": c1, built.Target: target}, out); err != nil {
				t.Fatal(err)
			}
			loss += float64(out[built.Loss].Float32s()[0]) / float64(rows)
			for _, v := range out[built.Grads["encoder_hidden_states"]].Float32s() {
				got = append(got, v/float32(rows))
			}
		}
		el := time.Since(start)
		rel := golden.RelL2(got, want)
		t.Logf("%d rows (per-row t %v): loss %.6f vs torch %.6f; d/d ehs rel L2 %.2e; %d fwd + %d bwd nodes; %v",
			rows, c.PerRowT, loss, wantLoss[0], rel, built.ForwardNodes, built.BackwardNodes, el)
		if rel > 1e-3 {
			t.Errorf("%d rows: gradient rel L2 error %.3g > 1e-3", rows, rel)
		}
		s.Close()
	}
}

// The same for ControlNet + residual UNet composed into one graph: the text
// input feeds both, so its gradient sums both paths.
func TestToyWorldControlNetGradientMatchesTorch(t *testing.T) {
	rt := orttest.Runtime(t)
	g, err := golden.Load(toyRoot())
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(toyRoot(), "models", "toyworld")
	cn, err := onnx.Load(filepath.Join(root, "controlnet_openpose", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	un, err := onnx.Load(filepath.Join(root, "controlnet", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{}
	for _, o := range cn.Signature().Outputs {
		links[o.Name] = o.Name
	}
	comp, files, err := onnx.Compose(cn, un, links, "unet/")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "cn_unet.onnx")
	if err := comp.SaveLinked(path, files); err != nil {
		t.Fatal(err)
	}
	out := comp.Signature().Outputs[0].Name
	ctx := context.Background()
	for _, c := range g.Cases {
		if c.Kind != "gradient" || c.Model != "controlnet_openpose+controlnet" {
			continue
		}
		x, xs, _ := g.Float32(c.Inputs["sample"])
		tgt, _, _ := g.Float32(c.Inputs["target"])
		ehs, es, _ := g.Float32(c.Inputs["encoder_hidden_states"])
		cond, cs, _ := g.Float32(c.Inputs["controlnet_cond"])
		ts, _, _ := g.Float32(c.Inputs["timestep"])
		want, _, _ := g.Float32(c.Outputs["d_encoder_hidden_states"])
		rows := int(xs[0])
		mk := func(dt onnx.DataType, shape ...int64) *ort.Tensor { return newTensor(t, dt, shape...) }
		feeds := ort.Feeds{}
		for _, vi := range comp.Signature().Inputs {
			switch vi.Name {
			case "sample":
				feeds[vi.Name] = mk(vi.Type, append([]int64{1}, xs[1:]...)...)
			case "encoder_hidden_states":
				feeds[vi.Name] = mk(vi.Type, append([]int64{1}, es[1:]...)...)
			case "controlnet_cond":
				feeds[vi.Name] = mk(vi.Type, append([]int64{1}, cs[1:]...)...)
			case "timestep":
				var sh []int64
				if vi.Rank() == 1 {
					sh = []int64{1}
				}
				feeds[vi.Name] = mk(vi.Type, sh...)
			default: // conditioning_scale
				var sh []int64
				if vi.Rank() == 1 {
					sh = []int64{1}
				}
				s := mk(vi.Type, sh...)
				v := make([]float32, s.Len())
				for i := range v {
					v[i] = float32(c.Scale)
				}
				s.SetFloat32(v)
				feeds[vi.Name] = s
			}
		}
		built, err := Build(ctx, rt, path, feeds, Options{Wrt: []string{"encoder_hidden_states"}, Output: out, Loss: LossMSE}, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s, err := rt.NewSession(built.Path, ort.SessionOptions{Provider: ort.ProviderCPU})
		if err != nil {
			t.Fatal(err)
		}
		target := mk(onnx.Float, append([]int64{1}, xs[1:]...)...)
		feeds[built.Target] = target
		per, perE, perC := len(x)/rows, len(ehs)/rows, len(cond)/rows
		var got []float32
		for r := 0; r < rows; r++ {
			feeds["sample"].SetFloat32(x[r*per : (r+1)*per])
			feeds["encoder_hidden_states"].SetFloat32(ehs[r*perE : (r+1)*perE])
			feeds["controlnet_cond"].SetFloat32(cond[r*perC : (r+1)*perC])
			target.SetFloat32(tgt[r*per : (r+1)*per])
			tsT := feeds["timestep"]
			if tsT.DType() == onnx.Int64 {
				tsT.SetInt64([]int64{int64(ts[r])})
			} else {
				tsT.SetFloat32([]float32{ts[r]})
			}
			o := ort.Feeds{}
			if err := s.Run(ctx, feeds, o); err != nil {
				t.Fatal(err)
			}
			for _, v := range o[built.Grads["encoder_hidden_states"]].Float32s() {
				got = append(got, v/float32(rows))
			}
		}
		rel := golden.RelL2(got, want)
		t.Logf("ControlNet+UNet, %d rows: d/d ehs rel L2 %.2e (%d fwd + %d bwd nodes)", rows, rel, built.ForwardNodes, built.BackwardNodes)
		if rel > 1e-3 {
			t.Errorf("%d rows: rel L2 %.3g > 1e-3", rows, rel)
		}
		s.Close()
	}
}

func toyRoot() string {
	if r := os.Getenv("TOYWORLD_ROOT"); r != "" {
		return r
	}
	return filepath.Join("..", "..")
}

func newTensor(t *testing.T, dt onnx.DataType, shape ...int64) *ort.Tensor {
	t.Helper()
	v, err := ort.NewTensor(dt, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
