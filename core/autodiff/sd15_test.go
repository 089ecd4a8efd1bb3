package autodiff

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
)

// TestSD15GradientMatchesTorch compiles d MSE / d encoder_hidden_states of
// an SD 1.5-architecture UNet (859.5M random weights, exported by
// tools/autodiff/sd15_unet.py; 3.4 GB, so never in the repository) and
// compares it with torch autograd's on the same inputs. It runs when
// ONEACTOR_SD15_DIR names the export folder (with its reference/ files):
// about two minutes and 7 GB of RAM on CPU.
func TestSD15GradientMatchesTorch(t *testing.T) {
	dir := os.Getenv("ONEACTOR_SD15_DIR")
	if dir == "" {
		t.Skip("ONEACTOR_SD15_DIR not set (see tools/autodiff/sd15_unet.py)")
	}
	rt := orttest.Runtime(t)
	read := func(name string, dims ...int64) *ort.Tensor {
		raw, err := os.ReadFile(filepath.Join(dir, "reference", name+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float32, len(raw)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		x, err := ort.NewTensor(onnx.Float, dims...)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.SetFloat32(v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(x.Destroy)
		return x
	}
	const s = 16
	feeds := ort.Feeds{
		"sample":                read("sample", 1, 4, s, s),
		"timestep":              read("timestep", 1),
		"encoder_hidden_states": read("encoder_hidden_states", 1, 77, 768),
	}
	ctx := context.Background()
	t0 := time.Now()
	b, err := Build(ctx, rt, filepath.Join(dir, "model.onnx"), feeds,
		Options{Wrt: []string{"encoder_hidden_states"}, Output: "out_sample", Loss: LossMSE}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built: %d forward + %d backward nodes in %v", b.ForwardNodes, b.BackwardNodes, time.Since(t0).Round(time.Millisecond))
	sess, err := rt.NewSession(b.Path, ort.SessionOptions{Provider: ort.ProviderCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	feeds[b.Target] = read("target", 1, 4, s, s)
	out := ort.Feeds{}
	if err := sess.Run(ctx, feeds, out); err != nil {
		t.Fatal(err)
	}
	got := out[b.Grads["encoder_hidden_states"]].Float32s()
	want := read("grad", 1, 77, 768).Float32s()
	var num, den float64
	for i := range want {
		d := float64(got[i] - want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	rel := math.Sqrt(num / den)
	t.Logf("loss %v; relative L2 error vs torch autograd %.3e (|grad| %.3e)", out[b.Loss].Float32s(), rel, math.Sqrt(den))
	if rel > 1e-3 {
		t.Fatalf("relative L2 error %.3g > 1e-3", rel)
	}
}
