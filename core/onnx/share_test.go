package onnx_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
)

// The ToyWorld UNet split for rows that share their latents: Prefix at
// one row per latent, its values repeated per row, then Main, gives the
// original's output at every row.
func TestSplitSharedToyWorldUNet(t *testing.T) {
	rt := orttest.Runtime(t)
	m, err := onnx.Load(toyUNet)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := onnx.SplitShared(m, "sample", []string{"timestep"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(sp.PrefixInputs, ",") != "sample,timestep" {
		t.Errorf("prefix reads %v, want sample and timestep", sp.PrefixInputs)
	}
	dir := t.TempDir()
	prefixPath, mainPath := filepath.Join(dir, "prefix.onnx"), filepath.Join(dir, "main.onnx")
	if err := sp.Prefix.SaveLinked(prefixPath, sp.Prefix.ExternalPaths()); err != nil {
		t.Fatal(err)
	}
	if err := sp.Main.SaveLinked(mainPath, sp.Main.ExternalPaths()); err != nil {
		t.Fatal(err)
	}

	// 3 rows: latent a, a, b (two images, of 2 and 1 rows), 3 prompts.
	in := toyUNetInputs(t)
	x := in["sample"].Float32s()
	per := len(x) / 3
	copy(x[per:2*per], x[:per])
	want := runToyUNet(t, rt, toyUNet, in)

	lat, err := ort.NewTensor(onnx.Float, 2, 4, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer lat.Destroy()
	copy(lat.Float32s(), x[:per])
	copy(lat.Float32s()[per:], x[2*per:])
	pre, err := rt.NewSession(prefixPath, ort.SessionOptions{Provider: ort.ProviderCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer pre.Close()
	vals := ort.Feeds{}
	if err := pre.Run(context.Background(), ort.Feeds{"sample": lat, "timestep": in["timestep"]}, vals); err != nil {
		t.Fatal(err)
	}
	defer vals.Destroy()
	feeds := ort.Feeds{"encoder_hidden_states": in["encoder_hidden_states"]}
	if sp.KeepsInput {
		feeds["sample"] = in["sample"]
	}
	for _, v := range sp.Values {
		src := vals[v.Name]
		if src.Shape()[0] != 2 {
			t.Fatalf("value %s has shape %v, want 2 rows first", v.Name, src.Shape())
		}
		shape := append([]int64{3}, src.Shape()[1:]...)
		dst, err := ort.NewTensor(onnx.Float, shape...)
		if err != nil {
			t.Fatal(err)
		}
		defer dst.Destroy()
		s, d := src.Float32s(), dst.Float32s()
		each := len(s) / 2
		copy(d, s[:each])
		copy(d[each:], s[:each])
		copy(d[2*each:], s[each:])
		feeds[v.Name] = dst
	}
	main, err := rt.NewSession(mainPath, ort.SessionOptions{Provider: ort.ProviderCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer main.Close()
	for name := range feeds {
		if _, ok := main.Signature().Input(name); !ok {
			delete(feeds, name)
		}
	}
	if _, ok := main.Signature().Input("timestep"); ok {
		feeds["timestep"] = in["timestep"]
	}
	out, err := ort.NewTensor(onnx.Float, 3, 4, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Destroy()
	if err := main.Run(context.Background(), feeds, ort.Feeds{"out_sample": out}); err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, v := range out.Float32s() {
		worst = math.Max(worst, math.Abs(float64(v-want[i])))
	}
	if worst > 1e-5 {
		t.Errorf("max |diff| %g from the UNet", worst)
	}
	t.Logf("%d values cross; prefix %d nodes, main %d; max |diff| %g", len(sp.Values),
		len(sp.Prefix.Proto.GetGraph().GetNode()), len(sp.Main.Proto.GetGraph().GetNode()), worst)
}

// Graphs where nothing or the wrong thing would be shared are refused.
func TestSplitSharedRefuses(t *testing.T) {
	// The prompt enters first: nothing is computed from the latents alone.
	b := onnx.NewBuilder("g", 17)
	x := b.Input("x", onnx.Float, "batch", 4)
	c := b.Input("c", onnx.Float, "batch", 4)
	b.OutputAs("y", b.Node("Relu", []string{b.Node("Add", []string{x, c})}), onnx.Float)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnx.SplitShared(m, "x", nil); !errors.Is(err, onnx.ErrNothingToShare) {
		t.Errorf("prompt first: %v, want ErrNothingToShare", err)
	}
	// An output computed from the latents alone would have one row per
	// latent, not per row.
	b = onnx.NewBuilder("g", 17)
	x = b.Input("x", onnx.Float, "batch", 4)
	c = b.Input("c", onnx.Float, "batch", 4)
	r := b.Node("Relu", []string{x})
	b.OutputAs("y", b.Node("Add", []string{r, c}), onnx.Float)
	b.OutputAs("r", r, onnx.Float)
	if m, err = b.Model(); err != nil {
		t.Fatal(err)
	}
	if _, err := onnx.SplitShared(m, "x", nil); err == nil || !strings.Contains(err.Error(), "graph output") {
		t.Errorf("shared output: %v, want it refused", err)
	}
	// A uniform input is read by the prefix; the shared Relu crosses over.
	b = onnx.NewBuilder("g", 17)
	x = b.Input("x", onnx.Float, "batch", 4)
	ts := b.Input("t", onnx.Float, 1)
	c = b.Input("c", onnx.Float, "batch", 4)
	b.OutputAs("y", b.Node("Add", []string{b.Node("Relu", []string{b.Node("Mul", []string{x, ts})}), c}), onnx.Float)
	if m, err = b.Model(); err != nil {
		t.Fatal(err)
	}
	sp, err := onnx.SplitShared(m, "x", []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Values) != 1 || strings.Join(sp.PrefixInputs, ",") != "x,t" || sp.KeepsInput {
		t.Errorf("values %v, prefix inputs %v, keeps input %v; want the Relu's output, x and t, false", sp.Values, sp.PrefixInputs, sp.KeepsInput)
	}
}
