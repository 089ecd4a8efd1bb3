package diffusion

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/diffusion/difftest"
	"github.com/oneactor/oneactor-desktop/core/internal/golden"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
	"github.com/oneactor/oneactor-desktop/core/schedule"
)

// These tests run the committed ToyWorld export (models/toyworld, the
// optimum layout) against the PyTorch goldens of tools/toyworld/goldens.py.

// repoRoot is where models/toyworld and testdata/toyworld live
// (TOYWORLD_ROOT overrides it, e.g. to try a fresh export).
var repoRoot = func() string {
	if r := os.Getenv("TOYWORLD_ROOT"); r != "" {
		return r
	}
	return "../.."
}()

func toyworld(t *testing.T) (*Model, *golden.Set) {
	t.Helper()
	m, err := Open(filepath.Join(repoRoot, "models", "toyworld"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := golden.Load(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	return m, g
}

// toyLayout is the bundled ToyWorld model for "optimum" (its layout), else
// the ToyWorld export in layout l (difftest.ToyWorldLayout).
func toyLayout(t *testing.T, m *Model, l string) *Model {
	t.Helper()
	if l == "optimum" {
		return m
	}
	lm, err := Open(difftest.ToyWorldLayout(t, repoRoot, l))
	if err != nil {
		t.Fatal(err)
	}
	return lm
}

func goldenTensor(t *testing.T, g *golden.Set, name string, dt onnx.DataType) *ort.Tensor {
	t.Helper()
	shape := g.Shape(name)
	x, err := ort.NewTensor(dt, shape...)
	if err != nil {
		t.Fatal(err)
	}
	switch dt {
	case onnx.Int64, onnx.Int32:
		v, _, err := g.Int64(name)
		if err != nil {
			t.Fatal(err)
		}
		x.SetInt64(v)
	default:
		v, _, err := g.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		x.SetFloat32(v)
	}
	return x
}

// Each component's outputs match PyTorch within the golden tolerance.
func TestToyWorldComponentsMatchGoldens(t *testing.T) {
	rt := orttest.Runtime(t)
	m, g := toyworld(t)
	ctx := context.Background()
	dirs := map[string]string{"text_encoder": "text_encoder", "unet": "unet", "vae_encoder": "vae_encoder", "vae_decoder": "vae_decoder", "judge": "judge"}
	for _, c := range g.Cases {
		comp, ok := dirs[c.Model]
		if !ok || c.Kind != "" {
			continue
		}
		s, err := rt.NewSession(filepath.Join(m.Dir, comp, "model.onnx"), ort.SessionOptions{Provider: ort.ProviderCPU})
		if err != nil {
			t.Fatal(err)
		}
		sig := s.Signature()
		in := ort.Feeds{}
		for _, vi := range sig.Inputs {
			if vi.Name == "timestep" {
				var shape []int64
				if vi.Rank() == 1 {
					shape = []int64{g.Shape(c.Inputs["sample"])[0]}
				}
				ts, _ := ort.NewTensor(vi.Type, shape...)
				if err := setTimestep(ts, c.Timestep); err != nil {
					t.Fatal(err)
				}
				in[vi.Name] = ts
				continue
			}
			name, ok := c.Inputs[vi.Name]
			if !ok {
				t.Fatalf("%s: no golden input for %s", c.Model, vi.Name)
			}
			in[vi.Name] = goldenTensor(t, g, name, vi.Type)
		}
		out := ort.Feeds{}
		for _, vi := range sig.Outputs {
			if ref, ok := c.Outputs[vi.Name]; ok {
				out[vi.Name], _ = ort.NewTensor(vi.Type, g.Shape(ref)...)
			}
		}
		if err := s.Run(ctx, in, out); err != nil {
			t.Fatalf("%s: %v", c.Model, err)
		}
		for role, ref := range c.Outputs {
			got, ok := out[role]
			if !ok {
				continue // e.g. h, checked by the OneActor tests
			}
			want, _, _ := g.Float32(ref)
			v, _ := got.ReadFloat32(nil)
			d := golden.MaxAbsDiff(v, want)
			t.Logf("%-13s t=%-4g %-18s max |diff| %.2e", c.Model, c.Timestep, role, d)
			if d > 1e-4 {
				t.Errorf("%s %s: max abs diff %.3g > 1e-4", c.Model, role, d)
			}
		}
		s.Close()
	}
}

// The whole pipeline from the same x_T gives PyTorch's latents.
func TestToyWorldPipelineMatchesReferenceSampler(t *testing.T) {
	rt := orttest.Runtime(t)
	m, g := toyworld(t)
	e := NewEngine(rt, m, ort.SessionOptions{Provider: ort.ProviderCPU})
	defer e.Close()
	for _, c := range g.Cases {
		if c.Kind != "pipeline" {
			continue
		}
		xT, _, _ := g.Float32(c.Inputs["x_T"])
		want, _, _ := g.Float32(c.Outputs["latents"])
		res, err := e.Generate(context.Background(), Request{Prompt: c.Prompt, Negative: c.Negative, Steps: c.Steps, CFG: c.CFG,
			Sampler: schedule.Kind(c.Scheduler), SamplerOptions: schedule.Options{Karras: c.Karras}, N: 1,
			Width: 32, Height: 32, Noise: xT}, nil)
		if err != nil {
			t.Fatal(err)
		}
		d := golden.MaxAbsDiff(res.Latents[0], want)
		t.Logf("%s karras=%v: final latents max |diff| %.2e (rel L2 %.2e)", c.Scheduler, c.Karras, d, golden.RelL2(res.Latents[0], want))
		if d > 2e-3 {
			t.Errorf("%s: latents differ by %.3g", c.Scheduler, d)
		}
	}
}

// Every ToyWorld layout makes the same picture from the same seed.
func TestToyWorldLayoutsAgree(t *testing.T) {
	rt := orttest.Runtime(t)
	m, _ := toyworld(t)
	ctx := context.Background()
	req := Request{Prompt: "a green pointy creature with a crown in the desert", Steps: 20, CFG: 7.5, Sampler: schedule.Euler, Seed: 42, N: 1, Width: 32, Height: 32}
	gen := func(m *Model) *Result {
		e := NewEngine(rt, m, ort.SessionOptions{Provider: ort.ProviderCPU})
		defer e.Close()
		r, err := e.Generate(ctx, req, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ref := gen(m)
	for _, l := range []struct{ name, data string }{{"diffusers", onnx.WeightsPB}, {"fp16", onnx.ModelOnnxData}} {
		dir := difftest.ToyWorldLayout(t, repoRoot, l.name)
		lm, err := Open(dir)
		if err != nil {
			t.Fatalf("%s: %v", l.name, err)
		}
		got := gen(lm)
		d := maxDiff(ref.Images[0], got.Images[0])
		t.Logf("layout %s (ids %s, timestep %s rank %d, I/O %s): max |diff| %d/255", l.name, lm.Text.IDsType, lm.UNet.TimestepType, lm.UNet.TimestepRank, lm.UNet.SampleType, d)
		if lm.UNet.SampleType == onnx.Float && d > 2 {
			t.Errorf("%s: %d/255 from the optimum layout", l.name, d)
		}
	}
}
