package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/diffusion/difftest"
	"github.com/oneactor/oneactor-desktop/core/imageio"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

func TestDoctor(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"--data-dir", t.TempDir(), "doctor"}, &out, &errb)
	if code != 0 {
		t.Fatalf("doctor exit %d\n%s%s", code, out.String(), errb.String())
	}
	text := out.String()
	for _, want := range []string{"ONNX Runtime:  " + ort.TestedVersion, "Provider:      CPU", "running on CPU because: ", "Data folder:"} {
		if !strings.Contains(text, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, text)
		}
	}
	t.Logf("\n%s", text)
}

func TestBadArguments(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--provider", "tpu", "doctor"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "auto, cuda or cpu") {
		t.Errorf("bad provider: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %q", code, errb.String())
	}
}

func TestGradcheckCommand(t *testing.T) {
	b := onnx.NewBuilder("mlp", 17)
	x := b.Input("x", onnx.Float, "batch", 6)
	w := b.Initializer(onnx.TensorFloat32("w", []int64{6, 3}, []float32{
		0.1, -0.2, 0.3, 0.4, -0.5, 0.6, -0.7, 0.8, 0.9, 1.0, -1.1, 1.2, 0.5, 0.5, -0.5, 0.2, 0.1, 0.3}))
	y := b.Node("Tanh", []string{b.Node("MatMul", []string{x, w})})
	b.OutputAs("y", y, onnx.Float, "batch", 3)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mlp.onnx")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run([]string{"gradcheck", "--wrt", "x,w", "--shape", "x=4x6", path}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"x ", "w ", "pass"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "FAIL") {
		t.Errorf("gradients fail:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
	errb.Reset()
	if code := run([]string{"gradcheck", filepath.Join(t.TempDir(), "missing.onnx")}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "missing.onnx") {
		t.Errorf("missing model: exit %d, %q", code, errb.String())
	}
}

func TestGenerateCommand(t *testing.T) {
	model := t.TempDir()
	difftest.WriteFolder(t, model, filepath.Join("..", ".."), difftest.Optimum)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"--data-dir", t.TempDir(), "generate", "--model", model, "--prompt", "a red creature on the beach",
		"--steps", "4", "--seed", "7", "--n", "2", "--width", "32", "--height", "32", "--sampler", "DPM++ 2M Karras", "--out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	files := strings.Fields(stdout.String())
	if len(files) != 2 || !strings.Contains(stderr.String(), "4/4") {
		t.Fatalf("files %v, progress %q", files, stderr.String())
	}
	f, err := os.Open(files[1])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	text, ok, err := imageio.ReadParameters(f)
	if err != nil || !ok {
		t.Fatalf("no recipe: %v", err)
	}
	rec := imageio.ParseRecipe(text)
	if rec.Prompt != "a red creature on the beach" || rec.Seed != 8 || rec.Steps != 4 || rec.Sampler != "DPM++ 2M Karras" || rec.Width != 32 {
		t.Fatalf("recipe %+v from %q", rec, text)
	}
	stderr.Reset()
	if code := run([]string{"generate", "--model", filepath.Join(model, "nope"), "--prompt", "x"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "model_index.json") && !strings.Contains(stderr.String(), "not a folder") {
		t.Errorf("bad model folder: exit %d %q", code, stderr.String())
	}
}

func TestModelsCommand(t *testing.T) {
	good, bad := t.TempDir(), t.TempDir()
	difftest.WriteFolder(t, good, filepath.Join("..", ".."), difftest.Script)
	difftest.WriteFolder(t, bad, filepath.Join("..", ".."), difftest.Script)
	os.Remove(filepath.Join(bad, "unet", "model.onnx"))
	var stdout, stderr bytes.Buffer
	run([]string{"--data-dir", t.TempDir(), "models", good, bad}, &stdout, &stderr)
	text := stdout.String()
	if !strings.Contains(text, good) || !strings.Contains(text, "UNUSABLE") || !strings.Contains(text, "unet/model.onnx") {
		t.Fatalf("models output:\n%s", text)
	}
	t.Logf("\n%s", text)
}

func TestBenchCommands(t *testing.T) {
	model := t.TempDir()
	difftest.WriteFolder(t, model, filepath.Join("..", ".."), difftest.Script)
	data := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--data-dir", data, "bench", "generate", "--model", model, "--steps", "3", "--batch", "1,2", "--repeat", "1"}, &stdout, &stderr); code != 0 {
		t.Fatalf("bench generate: exit %d: %s", code, stderr.String())
	}
	if code := run([]string{"--data-dir", data, "bench", "generate", "--model", model, "--steps", "3", "--batch", "1", "--repeat", "1",
		"--guidance", "plain,eta2_0,oneactor", "--prompt", "a creature on the beach"}, &stdout, &stderr); code != 0 {
		t.Fatalf("bench generate --guidance: exit %d: %s", code, stderr.String())
	}
	if code := run([]string{"--data-dir", data, "bench", "generate", "--model", model, "--steps", "3", "--batch", "1", "--repeat", "1",
		"--unet", "split,fused,unshared,exported"}, &stdout, &stderr); code != 0 {
		t.Fatalf("bench generate --unet: exit %d: %s", code, stderr.String())
	}
	// --lockstep: one turn per line of standard input, announced and reported.
	benchStdin = strings.NewReader("\n\n")
	var lock bytes.Buffer
	if code := run([]string{"--data-dir", data, "bench", "generate", "--model", model, "--steps", "2", "--batch", "1", "--repeat", "2", "--lockstep"}, &lock, &stderr); code != 0 {
		t.Fatalf("bench generate --lockstep: exit %d: %s", code, stderr.String())
	}
	if got := lock.String(); !strings.Contains(got, "lockstep ready batch=1\n") || strings.Count(got, "lockstep turn batch=1 mode=plain wall=") != 2 {
		t.Errorf("bench generate --lockstep output:\n%s", got)
	}
	benchStdin = strings.NewReader("\n") // one turn short
	if code := run([]string{"--data-dir", data, "bench", "generate", "--model", model, "--steps", "2", "--batch", "1", "--repeat", "2", "--lockstep"}, &lock, &stderr); code != 1 {
		t.Errorf("bench generate --lockstep with its input ended early: exit %d, want 1", code)
	}
	benchStdin = os.Stdin
	if code := run([]string{"--data-dir", data, "bench", "generate", "--model", model, "--unet", "nonsense"}, &stdout, &stderr); code != 2 {
		t.Errorf("bench generate --unet nonsense: exit %d, want 2", code)
	}
	if code := run([]string{"--data-dir", data, "bench", "grad", "--model", model, "--rows", "5", "--repeat", "1"}, &stdout, &stderr); code != 0 {
		t.Fatalf("bench grad: exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"ORT share", "eta2_0", "oneactor", "vs plain", "plain/split", "plain/fused", "plain/unshared", "plain/exported", "forward+backward median", "backward nodes"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("\n%s", out)
}

func TestSubjectCommands(t *testing.T) {
	model := t.TempDir()
	difftest.WriteFolder(t, model, filepath.Join("..", ".."), difftest.Optimum)
	data := t.TempDir()
	var stdout, stderr bytes.Buffer
	must := func(args ...string) string {
		t.Helper()
		stdout.Reset()
		stderr.Reset()
		if code := run(append([]string{"--data-dir", data}, args...), &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		return stdout.String()
	}
	out := must("subject", "cast", "--model", model, "--prompt", "a creature on the beach", "--word", "creature", "--n", "3", "--seed", "4", "--out", t.TempDir())
	if strings.Count(out, ".png") != 3 {
		t.Fatalf("cast output:\n%s", out)
	}
	must("subject", "tune", "--model", model, "--name", "Blobby", "--prompt", "a creature on the beach", "--word", "creature",
		"--seed", "4", "--aux", "2", "--target", "1", "--steps", "2")
	if out := must("subject", "list"); !strings.Contains(out, "Blobby") {
		t.Fatalf("list:\n%s", out)
	}
	if out := must("subject", "show", "blobby"); !strings.Contains(out, "2 auxiliaries") {
		t.Fatalf("show:\n%s", out)
	}
	bundle := filepath.Join(t.TempDir(), "blobby.oneactor")
	must("subject", "export", "Blobby", bundle)
	imgs := t.TempDir()
	out = must("generate", "--model", model, "--prompt", "a creature in the snow", "--subject", "Blobby", "--steps", "3",
		"--width", "32", "--height", "32", "--seed", "1", "--out", imgs)
	f, err := os.Open(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	text, _, _ := imageio.ReadParameters(f)
	f.Close()
	if !strings.Contains(text, "OneActor subjects: Blobby") {
		t.Fatalf("recipe lacks the subject: %q", text)
	}
	// Another library imports the bundle for the same model.
	data2 := t.TempDir()
	stdout.Reset()
	if code := run([]string{"--data-dir", data2, "subject", "import", "--model", model, bundle}, &stdout, &stderr); code != 0 {
		t.Fatalf("import: %s", stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"--data-dir", data, "generate", "--model", model, "--prompt", "a red hat", "--subject", "Blobby", "--steps", "2",
		"--width", "32", "--height", "32", "--out", imgs}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "creature") {
		t.Fatalf("prompt without the base word: exit %d %q", code, stderr.String())
	}
}

// bench quality on the committed ToyWorld model: the diversity of the first
// base prompt from the reference's initial noise equals PyTorch's, so the
// parity check passes and the command exits 0.
func TestBenchQualityCommand(t *testing.T) {
	root := filepath.Join("..", "..")
	var stdout, stderr bytes.Buffer
	args := []string{"--data-dir", t.TempDir(), "bench", "quality", "--model", filepath.Join(root, "models", "toyworld"),
		"--benchmark", filepath.Join(root, "testdata", "toyworld", "benchmark.json"),
		"--reference", filepath.Join(root, "testdata", "toyworld", "reference"), "--parts", "diversity", "--limit", "1"}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("bench quality: exit %d: %s\n%s", code, stderr.String(), stdout.String())
	}
	if out := stdout.String(); !strings.Contains(out, "distinct identities % of seeds (mean)") || !strings.Contains(out, "±3 pts of PyTorch") {
		t.Errorf("bench quality output:\n%s", out)
	}
	if code := run(append(args[:len(args):len(args)], "--parts", "nonsense"), &stdout, &stderr); code == 0 {
		t.Error("an unknown part was accepted")
	}
}

// bench roofline counts the UNet's arithmetic at the probed shapes of every
// layout (timestep int64 rank 0, float32 [B], float16 [B]); the count must
// equal torch's profiler on the same architecture (conv2d + mm + addmm +
// bmm FLOPs of tools/toyworld/models.UNet: 1122.566144 MFLOP at 8 rows,
// exactly 8× the 1-row count) whatever the layout.
func TestBenchRoofline(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, layout := range []string{"optimum", "diffusers", "fp16"} {
		t.Run(layout, func(t *testing.T) {
			model := filepath.Join(root, "models", "toyworld")
			if layout != "optimum" {
				model = difftest.ToyWorldLayout(t, root, layout)
			}
			var stdout, stderr bytes.Buffer
			if code := run([]string{"--data-dir", t.TempDir(), "bench", "roofline", "--model", model, "--rows", "1,8",
				"--repeat", "1", "--gemm", "64"}, &stdout, &stderr); code != 0 {
				t.Fatalf("bench roofline: exit %d: %s", code, stderr.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr: %s", stderr.String())
			}
			got := map[string]string{}
			for _, line := range strings.Split(stdout.String(), "\n") {
				if f := strings.Fields(line); len(f) > 2 && (f[0] == "1" || f[0] == "8") {
					got[f[0]] = f[1]
				}
			}
			if got["1"] != "140.3" || got["8"] != "1122.6" {
				t.Errorf("UNet MFLOP at 1 and 8 rows: %q, want 140.3 and 1122.6\n%s", got, stdout.String())
			}
			if !strings.Contains(stdout.String(), "ceiling: MatMul 64×64·64×64") {
				t.Errorf("no ceiling line:\n%s", stdout.String())
			}
			t.Logf("\n%s", stdout.String())
		})
	}
}
