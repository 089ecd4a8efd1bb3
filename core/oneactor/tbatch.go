package oneactor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/onnx/onnxpb"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// batchTimestep makes a per-row timestep out of a UNet whose timestep
// input is one scalar for the whole batch (optimum's layout), so tuning can
// run its five rows, each at its own t, in one call instead of five.
//
// The edit only declares the input as [batch]; whether the graph then
// computes what it should depends on how the exporter broadcast the scalar
// (t·ones(B) works, an Unsqueeze+Expand does not). So the edited model is
// trusted only after a check: two rows at t = 999 and t = 10 in one call
// must equal the original model run once per row. It returns the edited
// model's path, or an error saying why the rows must stay one per call.
func batchTimestep(ctx context.Context, rt *ort.Runtime, m *diffusion.Model, hw [2]int64, cacheDir string) (string, error) {
	u := m.UNet
	if u.TimestepRank != 0 {
		return "", errors.New("the timestep already has a batch axis")
	}
	if u.SampleType != onnx.Float || u.ContextType != onnx.Float || u.OutType != onnx.Float || cacheDir == "" {
		return "", errors.New("only float32 UNets with a cache folder are edited")
	}
	src := filepath.Join(m.Dir, u.Dir, "model.onnx")
	g, err := onnx.Load(src)
	if err != nil {
		return "", err
	}
	found := false
	for _, in := range g.Proto.Graph.Input {
		if in.GetName() == u.Timestep {
			tt := in.GetType().GetTensorType()
			if tt == nil {
				return "", fmt.Errorf("timestep input %q is not a tensor", u.Timestep)
			}
			tt.Shape = &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
				{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}}}}
			found = true
		}
	}
	if !found {
		return "", fmt.Errorf("%s has no input %q", src, u.Timestep)
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("tbatch|%s|%v", src, g.ExternalFiles())))
	dir := filepath.Join(cacheDir, hex.EncodeToString(sum[:8]))
	path := filepath.Join(dir, "unet-tbatch.onnx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := g.SaveLinked(path, g.ExternalPaths()); err != nil {
		return "", fmt.Errorf("write the per-row-timestep UNet: %w", err)
	}
	if err := checkBatchTimestep(ctx, rt, m, src, path, hw); err != nil {
		return "", err
	}
	return path, nil
}

// checkBatchTimestep compares two rows at different timesteps through the
// edited model with the original model run one row at a time.
func checkBatchTimestep(ctx context.Context, rt *ort.Runtime, m *diffusion.Model, orig, edited string, hw [2]int64) error {
	u := m.UNet
	opts := ort.SessionOptions{Provider: ort.ProviderCPU, Quiet: true} // a failed run is an answer here
	a, err := rt.NewSession(orig, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := rt.NewSession(edited, opts)
	if err != nil {
		return fmt.Errorf("the per-row-timestep UNet does not load: %w", err)
	}
	defer b.Close()
	C, L, D := m.LatentChannels, int64(m.Tokenizer.MaxLength()), m.Text.Width
	per, ctxPer := int(C*hw[0]*hw[1]), int(L*D)
	rng := rand.New(rand.NewPCG(7, 11))
	sample := make([]float32, 2*per)
	ehs := make([]float32, 2*ctxPer)
	for i := range sample {
		sample[i] = float32(rng.NormFloat64())
	}
	for i := range ehs {
		ehs[i] = float32(rng.NormFloat64())
	}
	ts := []int64{999, 10}
	var tensors []*ort.Tensor
	defer func() {
		for _, t := range tensors {
			t.Destroy()
		}
	}()
	mk := func(dt onnx.DataType, shape ...int64) *ort.Tensor {
		t, e := ort.NewTensor(dt, shape...)
		if e != nil {
			err = e
			return nil
		}
		tensors = append(tensors, t)
		return t
	}
	// Both rows in one call of the edited model.
	s2, t2, c2, o2 := mk(onnx.Float, 2, C, hw[0], hw[1]), mk(u.TimestepType, 2), mk(onnx.Float, 2, L, D), mk(onnx.Float, 2, C, hw[0], hw[1])
	if err != nil {
		return err
	}
	s2.SetFloat32(sample)
	c2.SetFloat32(ehs)
	setTimesteps(t2, ts)
	if err := b.Run(ctx, ort.Feeds{u.Sample: s2, u.Timestep: t2, u.Context: c2}, ort.Feeds{u.Out: o2}); err != nil {
		return fmt.Errorf("the per-row-timestep UNet does not run: %w", err)
	}
	// Each row alone through the original.
	s1, t1, c1, o1 := mk(onnx.Float, 1, C, hw[0], hw[1]), mk(u.TimestepType), mk(onnx.Float, 1, L, D), mk(onnx.Float, 1, C, hw[0], hw[1])
	if err != nil {
		return err
	}
	worst, scale := 0.0, 0.0
	for r := 0; r < 2; r++ {
		s1.SetFloat32(sample[r*per : (r+1)*per])
		c1.SetFloat32(ehs[r*ctxPer : (r+1)*ctxPer])
		setTimesteps(t1, ts[r:r+1])
		if err := a.Run(ctx, ort.Feeds{u.Sample: s1, u.Timestep: t1, u.Context: c1}, ort.Feeds{u.Out: o1}); err != nil {
			return err
		}
		want, got := o1.Float32s(), o2.Float32s()[r*per:(r+1)*per]
		for i := range want {
			worst = math.Max(worst, math.Abs(float64(want[i]-got[i])))
			scale = math.Max(scale, math.Abs(float64(want[i])))
		}
	}
	if worst > 1e-4*math.Max(1, scale) {
		return fmt.Errorf("with a [batch] timestep the UNet's rows differ from one-row runs by %.3g (scale %.3g): the export broadcasts its scalar timestep in a way that does not carry per-row values", worst, scale)
	}
	return nil
}
