package diffusion

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/diffusion/difftest"
	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/ort/orttest"
	"github.com/oneactor/oneactor-desktop/core/schedule"
)

var (
	optimumLike = difftest.Optimum
	scriptLike  = difftest.Script
	fp16Like    = difftest.FP16
)

func writeFixture(t testing.TB, dir string, l difftest.Layout) {
	difftest.WriteFolder(t, dir, filepath.Join("..", ".."), l)
}

func TestOpenReadsRolesFromSignatures(t *testing.T) {
	dir := t.TempDir()
	writeFixture(t, dir, optimumLike)
	m, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Family != Custom || m.Text.Width != difftest.Width || m.Text.IDsType != onnx.Int64 || m.UNet.TimestepRank != 0 ||
		m.UNet.TimestepType != onnx.Int64 || !m.Encoder.Parameters || m.Factor != 4 || m.ScalingFactor != 0.5 {
		t.Fatalf("model: %+v", m)
	}
	if len(m.CaptionTemplates) != 3 || m.CaptionTemplates[0] != "a {} on the beach" {
		t.Fatalf("caption templates from oneactor.json: %v", m.CaptionTemplates)
	}
	d2 := t.TempDir()
	writeFixture(t, d2, fp16Like)
	m2, err := Open(d2)
	if err != nil {
		t.Fatal(err)
	}
	if m2.UNet.SampleType != onnx.Float16 || m2.UNet.TimestepType != onnx.Float16 || m2.Text.IDsType != onnx.Int32 || m2.Encoder.Parameters {
		t.Fatalf("fp16 model: %+v", m2)
	}
}

func TestBrokenFoldersNameTheProblem(t *testing.T) {
	cases := []struct {
		name   string
		damage func(dir string)
		want   []string
	}{
		{"missing unet", func(d string) { os.Remove(filepath.Join(d, "unet", "model.onnx")) }, []string{"unet/model.onnx", "missing"}},
		{"missing weights", func(d string) { os.Remove(filepath.Join(d, "unet", onnx.ModelOnnxData)) }, []string{"unet/model.onnx_data", "missing"}},
		{"not onnx", func(d string) {
			os.WriteFile(filepath.Join(d, "vae_decoder", "model.onnx"), []byte("<html>oops</html>"), 0o644)
		}, []string{"vae_decoder/model.onnx", "not an ONNX model"}},
		{"no index", func(d string) { os.Remove(filepath.Join(d, "model_index.json")) }, []string{"model_index.json", "missing"}},
		{"wrong shape", func(d string) {
			b := onnx.NewBuilder("dec", 17)
			x := b.Input("latent_sample", onnx.Float, 1, 4, 8, 8)
			b.OutputAs("sample", b.Node("Relu", []string{x}), onnx.Float, 1, 4, 8, 8)
			m, _ := b.Model()
			m.Save(filepath.Join(d, "vae_decoder", "model.onnx"))
		}, []string{"vae_decoder/model.onnx", `"sample"`, "4 channels"}},
		{"text width mismatch", func(d string) {
			b := onnx.NewBuilder("te", 17)
			ids := b.Input("input_ids", onnx.Int64, 1, difftest.Length)
			f := b.Node("Cast", []string{ids}, onnx.AttrInt("to", int64(onnx.Float)))
			e := b.Node("Unsqueeze", []string{f, b.Initializer(onnx.TensorInt64("a", []int64{1}, []int64{2}))})
			h := b.Node("Expand", []string{e, b.Initializer(onnx.TensorInt64("s", []int64{3}, []int64{1, difftest.Length, 32}))})
			b.OutputAs("last_hidden_state", h, onnx.Float, 1, difftest.Length, 32)
			m, _ := b.Model()
			m.Save(filepath.Join(d, "text_encoder", "model.onnx"))
		}, []string{"unet/model.onnx", "encoder_hidden_states", "width 16", "gives 32"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFixture(t, dir, optimumLike)
			c.damage(dir)
			_, err := Open(dir)
			var fe *FolderError
			if !errors.As(err, &fe) {
				t.Fatalf("want FolderError, got %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSDXLIsRecognised(t *testing.T) {
	dir := t.TempDir()
	writeFixture(t, dir, optimumLike)
	difftest.WriteJSON(t, filepath.Join(dir, "model_index.json"), map[string]any{"_class_name": "ORTStableDiffusionXLPipeline",
		"text_encoder": []string{"x"}, "text_encoder_2": []string{"x"}, "unet": []string{"x"}, "vae_decoder": []string{"x"},
		"tokenizer": []string{"x"}, "tokenizer_2": []string{"x"}, "scheduler": []string{"x"}})
	m, err := Open(dir)
	if !errors.Is(err, ErrNotSupported) || m == nil || m.Family != SDXL || !strings.Contains(err.Error(), "SDXL") {
		t.Fatalf("want SDXL not supported, got %v", err)
	}
}

func newEngine(t *testing.T, l difftest.Layout) *Engine {
	t.Helper()
	dir := t.TempDir()
	writeFixture(t, dir, l)
	m, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(orttest.Runtime(t), m, ort.SessionOptions{Provider: ort.ProviderCPU})
	t.Cleanup(func() { e.Close() })
	return e
}

func baseRequest() Request {
	return Request{Prompt: "a red creature on the beach", Negative: "", Steps: 6, CFG: 7.5,
		Sampler: schedule.Euler, Seed: 1234, N: 1, Width: 32, Height: 32}
}

func maxDiff(a, b *image.RGBA) int {
	d := 0
	for i := range a.Pix {
		x := int(a.Pix[i]) - int(b.Pix[i])
		if x < 0 {
			x = -x
		}
		d = max(d, x)
	}
	return d
}

func TestGenerateIsDeterministicAndBatchesBySeed(t *testing.T) {
	e := newEngine(t, optimumLike)
	ctx := context.Background()
	r := baseRequest()
	var events []Event
	r.PreviewEvery = 2
	a, err := e.Generate(ctx, r, func(ev Event) { events = append(events, ev) })
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != r.Steps || events[len(events)-1].Step != r.Steps || events[1].Preview == nil || events[0].Preview != nil {
		t.Fatalf("events: %d, last %+v", len(events), events[len(events)-1])
	}
	b, _ := e.Generate(ctx, r, nil)
	if d := maxDiff(a.Images[0], b.Images[0]); d != 0 {
		t.Fatalf("same seed differs by %d", d)
	}
	r.Seed = 1233
	r.N = 3
	batch, err := e.Generate(ctx, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if batch.Seeds[1] != 1234 || maxDiff(batch.Images[1], a.Images[0]) != 0 {
		t.Fatalf("image 1 of a batch from seed 1233 must equal seed 1234 alone")
	}
	if maxDiff(batch.Images[0], batch.Images[2]) == 0 {
		t.Fatal("different seeds gave the same image")
	}
}

// Every layout (ids int32/int64, timestep int64 rank 0 / float32 [B] /
// float16 [B], fp32 or fp16 I/O, both external-data conventions) makes the
// same picture from the same seed.
func TestLayoutsAgree(t *testing.T) {
	ctx := context.Background()
	r := baseRequest()
	ref, err := newEngine(t, optimumLike).Generate(ctx, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]difftest.Layout{"script": scriptLike, "fp16": fp16Like} {
		got, err := newEngine(t, l).Generate(ctx, r, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d := maxDiff(ref.Images[0], got.Images[0])
		limit := 2
		if l.IO == onnx.Float16 {
			limit = 8
		}
		t.Logf("%s layout: max abs difference %d/255", name, d)
		if d > limit {
			t.Errorf("%s layout differs by %d/255 (limit %d)", name, d, limit)
		}
	}
}

func TestCancelMidSampling(t *testing.T) {
	e := newEngine(t, optimumLike)
	ctx, cancel := context.WithCancel(context.Background())
	r := baseRequest()
	r.Steps = 20
	steps := 0
	res, err := e.Generate(ctx, r, func(ev Event) {
		steps = ev.Step
		if ev.Step == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("want cancellation, got %v %v", res, err)
	}
	if steps != 3 {
		t.Fatalf("ran %d steps after cancelling at 3", steps)
	}
}

func TestImg2ImgAndValidation(t *testing.T) {
	e := newEngine(t, optimumLike)
	ctx := context.Background()
	r := baseRequest()
	src, err := e.Generate(ctx, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	px := make([]float32, 3*32*32)
	img := src.Images[0]
	for i := 0; i < 32*32; i++ {
		for c := 0; c < 3; c++ {
			px[c*32*32+i] = float32(img.Pix[i*4+c])/127.5 - 1
		}
	}
	var events int
	r.Init = &InitImage{Pixels: px, Strength: 0.5}
	out, err := e.Generate(ctx, r, func(Event) { events++ })
	if err != nil {
		t.Fatal(err)
	}
	if events != 3 || len(out.Images) != 1 {
		t.Fatalf("img2img at strength 0.5 of 6 steps ran %d steps", events)
	}
	for _, bad := range []func(*Request){
		func(r *Request) { r.Width = 30 },
		func(r *Request) { r.Steps = 0 },
		func(r *Request) { r.Init.Strength = 0 },
		func(r *Request) { r.Control = &Control{Scale: 1} },
	} {
		rr := r
		ii := *r.Init
		rr.Init = &ii
		bad(&rr)
		if _, err := e.Generate(ctx, rr, nil); err == nil {
			t.Errorf("bad request accepted: %+v", rr)
		}
	}
}
