package quality

import (
	"context"
	"image"
	"math"
	"path/filepath"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

// These tests run the committed ToyWorld model, its judge and the
// benchmark file; the full benchmark is `oneactor-desktop bench quality`.
var repoRoot = filepath.Join("..", "..")

func toyRunner(t *testing.T) (*Runner, *ort.Runtime) {
	t.Helper()
	rt, err := ort.Init()
	if err != nil {
		t.Fatalf("ONNX Runtime: %v", err)
	}
	m, err := diffusion.Open(filepath.Join(repoRoot, "models", "toyworld"))
	if err != nil {
		t.Fatal(err)
	}
	e := diffusion.NewEngine(rt, m, ort.SessionOptions{Provider: ort.ProviderCPU})
	t.Cleanup(func() { e.Close() })
	fam, err := ReadFamily(filepath.Join(m.Dir, "toyworld.json"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJudge(rt, fam)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	b, err := ReadBenchmark(filepath.Join(repoRoot, "testdata", "toyworld", "benchmark.json"))
	if err != nil {
		t.Fatal(err)
	}
	nb, err := b.ReadNoise()
	if err != nil || nb == nil {
		t.Fatalf("reference noise: %v", err)
	}
	return &Runner{Engine: e, Judge: j, Bench: b, Noise: nb, Log: t.Logf}, rt
}

// The judge reads its heads from the model file and names every target
// picture's identity (renders, which it judges at ≥ 98% per attribute).
func TestJudgeNamesTheTargets(t *testing.T) {
	r, _ := toyRunner(t)
	if got := r.Judge.Attributes(); len(got) != 4 {
		t.Fatalf("attribute heads %v, want 4", got)
	}
	var imgs []image.Image
	for i := range r.Bench.Subject.Targets {
		img, _, err := imageio.DecodeFile(r.Bench.TargetImage(i))
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	vs, err := r.Judge.Judge(context.Background(), imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i, tg := range r.Bench.Subject.Targets {
		for a, want := range tg.Identity {
			if vs[i].Attributes[a] != want {
				t.Errorf("target %d: judged %s %q, want %q", i, a, vs[i].Attributes[a], want)
			}
		}
		if vs[i].Scene != "meadow" { // the reference renders targets in scene 0
			t.Errorf("target %d: judged scene %q, want meadow", i, vs[i].Scene)
		}
	}
}

// From the reference's initial noise, the Go pipeline draws what PyTorch
// drew: the distinct identities per diversity prompt equal the reference's
// counts exactly; scene fidelity and the ControlNet's pose error meet the
// benchmark's bars on the first cases.
func TestQuickBenchmarkMatchesReference(t *testing.T) {
	r, _ := toyRunner(t)
	ctx := context.Background()
	ref, err := ReadReference(filepath.Join(repoRoot, "testdata", "toyworld", "reference"))
	if err != nil || ref.Diversity == nil {
		t.Fatalf("reference figures: %v", err)
	}
	r.Limit = 2
	div, err := r.Diversity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for p, n := range div.PerPrompt {
		if want := ref.Diversity.PerPrompt[p]; n != want {
			t.Errorf("%q: %d distinct identities over %d seeds, PyTorch %d", p, n, div.Seeds, want)
		}
	}
	r.Limit = 12
	gen, err := r.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gen.SceneFidelity < r.Bench.Bars.SceneFidelity {
		t.Errorf("scene fidelity %.2f on %d cases, bar %.2f", gen.SceneFidelity, gen.N, r.Bench.Bars.SceneFidelity)
	}
	r.Limit = 4
	cn, err := r.ControlNet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cn.PoseErrorMedianPct > r.Bench.Bars.PoseErrorMedianPct || cn.PoseErrorMedianPct >= cn.PoseErrorMedianPctPlain {
		t.Errorf("pose error %.2f%% with the ControlNet, %.2f%% without (bar %.0f%%)", cn.PoseErrorMedianPct, cn.PoseErrorMedianPctPlain, r.Bench.Bars.PoseErrorMedianPct)
	}
}

// The OneActor part runs end to end on a small slice (one target, one
// scene, two seeds, a few tuning steps) and fills every figure.
func TestSubjectsSlice(t *testing.T) {
	r, rt := toyRunner(t)
	f, err := r.Subjects(context.Background(), SubjectOptions{Runtime: rt, CacheDir: t.TempDir(), Targets: 1, Scenes: 1, Seeds: 2, Steps: 3})
	if err != nil {
		t.Fatal(err)
	}
	if f.N["targets"] != 1 || f.N["scenes"] != 1 || f.N["seeds"] != 2 || f.TuneSteps != 3 {
		t.Fatalf("sizes %v, steps %d", f.N, f.TuneSteps)
	}
	for name, v := range map[string]VariantFigures{"base": f.Base, "oneactor": f.OneActor, "eta2_0": f.Eta2Zero, "inversion": f.Inversion} {
		if v.SecondsPerBatch <= 0 || v.Scene < 0.5 || v.Agreement < 0 || v.Agreement > 1 {
			t.Errorf("%s: %+v", name, v)
		}
	}
	if f.CostEta2Zero <= 0 || math.IsNaN(f.CostEta2) {
		t.Errorf("cost ratios %g %g", f.CostEta2Zero, f.CostEta2)
	}
}

func TestCompare(t *testing.T) {
	h := func(v float64) *float64 { return &v }
	ref := &Reference{Generation: &GenerationFigures{SceneFidelity: 1, AttributeHonour: map[string]*float64{"color": h(0.95), "shape": h(0.5)}},
		OneActor: map[string]VariantFigures{"oneactor": {Consistency: 0.5}}}
	f := &Figures{Generation: &GenerationFigures{SceneFidelity: 0.98, AttributeHonour: map[string]*float64{"color": h(0.90), "shape": h(0.52), "eyes": nil}},
		Subjects: &SubjectFigures{OneActor: VariantFigures{Consistency: 0.56, Scene: 1}, Base: VariantFigures{Consistency: 0.1, Scene: 1},
			Inversion: VariantFigures{Consistency: 0.2, Scene: 1}, CostEta2Zero: 1.01, CostEta2: 1.6}}
	bars := Bars{SceneFidelity: 0.9, Consistency: 0.8}
	got := map[string]bool{}
	for _, c := range Compare(f, ref, bars, 3, 5) {
		got[c.Metric+" "+c.Bar] = c.OK
	}
	want := map[string]bool{
		"scene fidelity % ±3 pts of PyTorch":                                  true,
		"attribute honour % (color) ±3 pts of PyTorch":                        false,
		"attribute honour % (shape) ±3 pts of PyTorch":                        true,
		"identity consistency % (oneactor) ±5 pts of PyTorch":                 false,
		"identity consistency % (OneActor) ≥ 80":                              false,
		"OneActor beats base and inversion (consistency, equal scene) > both": true,
	}
	for k, ok := range want {
		if g, present := got[k]; !present || g != ok {
			t.Errorf("%s: got %v (present %v), want %v", k, g, present, ok)
		}
	}
}
