// Package difftest writes small, complete Stable Diffusion-style model
// folders for tests: random (untrained) networks in the tensor layouts the
// published exporters use, so loading, layouts and the sampling loop can be
// tested without downloading a model.
package difftest

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
)

// Layout describes how a model folder spells its interfaces, like the
// published exporters do.
type Layout struct {
	IDs       onnx.DataType // int32 or int64
	TSType    onnx.DataType // int64, float32 or float16
	TSRank    int
	IO        onnx.DataType // float32 or float16 for sample/context/outputs
	Params    bool          // vae_encoder outputs latent_parameters
	External  string        // "", weights.pb or model.onnx_data
	NoEncoder bool
}

// The three published layouts.
var (
	Optimum = Layout{IDs: onnx.Int64, TSType: onnx.Int64, TSRank: 0, IO: onnx.Float, Params: true, External: onnx.ModelOnnxData}
	Script  = Layout{IDs: onnx.Int32, TSType: onnx.Float, TSRank: 1, IO: onnx.Float, External: onnx.WeightsPB}
	FP16    = Layout{IDs: onnx.Int32, TSType: onnx.Float16, TSRank: 1, IO: onnx.Float16}
)

// Sizes of the fixture models.
const (
	Vocab  = 976
	Length = 77
	Width  = 16
)

// WriteFolder builds a tiny but complete SD-style folder in dir: the models
// are small random networks, not trained — enough to prove loading, layouts
// and the sampling loop. Every layout gets the same weights. repoRoot is the
// repository root (for the ToyWorld tokenizer files).
func WriteFolder(t testing.TB, dir, repoRoot string, l Layout) {
	t.Helper()
	r := rand.New(rand.NewSource(42))
	w := func(b *onnx.Builder, name string, scale float64, dims ...int64) string {
		v := make([]float32, onnx.NumElements(dims))
		for i := range v {
			v[i] = float32(r.NormFloat64() * scale)
		}
		return b.Initializer(onnx.TensorFloat32(name, dims, v))
	}
	toF := func(b *onnx.Builder, x string) string {
		if l.IO == onnx.Float16 {
			return b.Node("Cast", []string{x}, onnx.AttrInt("to", int64(onnx.Float)))
		}
		return x
	}
	fromF := func(b *onnx.Builder, x string) string {
		if l.IO == onnx.Float16 {
			return b.Node("Cast", []string{x}, onnx.AttrInt("to", int64(onnx.Float16)))
		}
		return x
	}
	save := func(comp string, b *onnx.Builder) {
		m, err := b.Model()
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, comp), 0o755)
		p := filepath.Join(dir, comp, "model.onnx")
		if l.External != "" {
			err = m.SaveWithExternalData(p, onnx.ExternalOptions{Location: l.External, Threshold: 256})
		} else {
			err = m.Save(p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	// Text encoder: embedding lookup plus a position term.
	b := onnx.NewBuilder("text_encoder", 17)
	ids := b.Input("input_ids", l.IDs, "batch", Length)
	ids64 := b.Node("Cast", []string{ids}, onnx.AttrInt("to", int64(onnx.Int64)))
	emb := b.Node("Gather", []string{w(b, "tok", 1, Vocab, Width), ids64})
	hid := b.Node("Add", []string{emb, w(b, "pos", 0.1, Length, Width)})
	b.OutputAs("last_hidden_state", fromF(b, hid), l.IO, "batch", Length, Width)
	b.OutputAs("pooler_output", fromF(b, b.Node("ReduceMean", []string{hid}, onnx.AttrInts("axes", 1), onnx.AttrInt("keepdims", 0))), l.IO, "batch", Width)
	save("text_encoder", b)

	// UNet shaped like SD's: conv_in, two down stages (the second at half
	// resolution) whose outputs are skip connections, a mid block with
	// cross-attention to the text, and two up stages that concatenate the
	// skips; plus 0.5·x and a timestep term.
	b = onnx.NewBuilder("unet", 17)
	x := toF(b, b.Input("sample", l.IO, "batch", 4, "h", "w"))
	var ts string
	if l.TSRank == 0 {
		ts = b.Input("timestep", l.TSType)
	} else {
		ts = b.Input("timestep", l.TSType, "batch")
	}
	ctx := toF(b, b.Input("encoder_hidden_states", l.IO, "batch", Length, Width))
	tf := b.Node("Cast", []string{ts}, onnx.AttrInt("to", int64(onnx.Float)))
	tf = b.Node("Mul", []string{tf, b.Initializer(onnx.TensorFloat32("tscale", nil, []float32{0.001}))})
	if l.TSRank == 1 {
		tf = b.Node("Reshape", []string{tf, b.Initializer(onnx.TensorInt64("tshape", []int64{4}, []int64{-1, 1, 1, 1}))})
	}
	pads := onnx.AttrInts("pads", 1, 1, 1, 1)
	conv := func(in, name string, cin, cout int64, stride int64) string {
		return b.Node("Conv", []string{in, w(b, name, 0.3/float64(cin), cout, cin, 3, 3)}, pads, onnx.AttrInts("strides", stride, stride))
	}
	h0 := conv(x, "conv_in", 4, 8, 1)
	skip1 := b.Node("Relu", []string{conv(h0, "down1", 8, 8, 1)})
	d := conv(skip1, "downsample", 8, 8, 2)
	skip2 := b.Node("Relu", []string{conv(d, "down2", 8, 16, 1)}) // the mid block's input
	mid := b.Node("Relu", []string{conv(skip2, "mid", 16, 16, 1)})
	// Cross-attention: every position attends over the text tokens.
	shp := b.Node("Shape", []string{mid})
	flat := b.Node("Reshape", []string{mid, b.Initializer(onnx.TensorInt64("flat", []int64{3}, []int64{0, 16, -1}))}) // [B,16,HW]
	f := b.Node("Transpose", []string{flat}, onnx.AttrInts("perm", 0, 2, 1))                                          // [B,HW,16]
	q := b.Node("MatMul", []string{f, w(b, "wq", 0.3, 16, Width)})                                                    // [B,HW,D]
	kt := b.Node("Transpose", []string{ctx}, onnx.AttrInts("perm", 0, 2, 1))                                          // [B,D,L]
	att := b.Node("Softmax", []string{b.Node("MatMul", []string{q, kt})}, onnx.AttrInt("axis", -1))                   // [B,HW,L]
	o := b.Node("MatMul", []string{b.Node("MatMul", []string{att, ctx}), w(b, "wo", 0.3, Width, 16)})                 // [B,HW,16]
	o = b.Node("Reshape", []string{b.Node("Transpose", []string{o}, onnx.AttrInts("perm", 0, 2, 1)), shp})
	mid = b.Node("Add", []string{mid, o})
	up1 := b.Node("Relu", []string{conv(b.Node("Concat", []string{mid, skip2}, onnx.AttrInt("axis", 1)), "up1", 32, 8, 1)})
	up := b.Node("Resize", []string{up1, "", b.Initializer(onnx.TensorFloat32("upscale", []int64{4}, []float32{1, 1, 2, 2}))}, onnx.AttrString("mode", "nearest"))
	up2 := conv(b.Node("Concat", []string{up, skip1}, onnx.AttrInt("axis", 1)), "up2", 16, 4, 1)
	half := b.Node("Mul", []string{x, b.Initializer(onnx.TensorFloat32("half", nil, []float32{0.5}))})
	out := b.Node("Add", []string{b.Node("Add", []string{half, up2}), tf})
	b.OutputAs("out_sample", fromF(b, out), l.IO, "batch", 4, "h", "w")
	save("unet", b)

	// VAE decoder: nearest ×4 upsampling, 1×1 conv to RGB, tanh.
	b = onnx.NewBuilder("vae_decoder", 17)
	z := toF(b, b.Input("latent_sample", l.IO, "batch", 4, "h", "w"))
	up = b.Node("Resize", []string{z, "", b.Initializer(onnx.TensorFloat32("sc", []int64{4}, []float32{1, 1, 4, 4}))}, onnx.AttrString("mode", "nearest"))
	rgb := b.Node("Tanh", []string{b.Node("Conv", []string{up, w(b, "to_rgb", 0.5, 3, 4, 1, 1), w(b, "rgb_b", 0.1, 3)})})
	b.OutputAs("sample", fromF(b, rgb), l.IO, "batch", 3, "H", "W")
	save("vae_decoder", b)

	if !l.NoEncoder {
		b = onnx.NewBuilder("vae_encoder", 17)
		img := toF(b, b.Input("sample", l.IO, "batch", 3, "H", "W"))
		pool := b.Node("AveragePool", []string{img}, onnx.AttrInts("kernel_shape", 4, 4), onnx.AttrInts("strides", 4, 4))
		outC, name := int64(4), "latent_sample"
		if l.Params {
			outC, name = 8, "latent_parameters"
		}
		lat := b.Node("Conv", []string{pool, w(b, "enc", 0.5, outC, 3, 1, 1)})
		b.OutputAs(name, fromF(b, lat), l.IO, "batch", outC, "h", "w")
		save("vae_encoder", b)
	}

	idx := map[string]any{"_class_name": "OnnxStableDiffusionPipeline", "text_encoder": []string{"diffusers", "OnnxRuntimeModel"},
		"unet": []string{"diffusers", "OnnxRuntimeModel"}, "vae_decoder": []string{"diffusers", "OnnxRuntimeModel"},
		"tokenizer": []string{"transformers", "CLIPTokenizer"}, "scheduler": []string{"diffusers", "EulerDiscreteScheduler"}}
	if !l.NoEncoder {
		idx["vae_encoder"] = []string{"diffusers", "OnnxRuntimeModel"}
	}
	WriteJSON(t, filepath.Join(dir, "model_index.json"), idx)
	WriteJSON(t, filepath.Join(dir, "scheduler", "scheduler_config.json"), map[string]any{
		"_class_name": "EulerDiscreteScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
		"num_train_timesteps": 1000, "prediction_type": "epsilon", "steps_offset": 1, "timestep_spacing": "leading"})
	WriteJSON(t, filepath.Join(dir, "oneactor.json"), map[string]any{"templates": []string{"a {} on the beach", "a {}", "a red {}"}})
	WriteJSON(t, filepath.Join(dir, "unet", "config.json"), map[string]any{"sample_size": 8, "cross_attention_dim": Width})
	WriteJSON(t, filepath.Join(dir, "vae_decoder", "config.json"), map[string]any{
		"scaling_factor": 0.5, "latent_channels": 4, "block_out_channels": []int{8, 8, 8}})
	tokSrc := filepath.Join(repoRoot, "models", "toyworld", "tokenizer")
	os.MkdirAll(filepath.Join(dir, "tokenizer"), 0o755)
	for _, f := range []string{"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"} {
		data, err := os.ReadFile(filepath.Join(tokSrc, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "tokenizer", f), data, 0o644)
	}
}

// WriteJSON writes v as indented JSON, creating folders.
func WriteJSON(t testing.TB, path string, v any) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	data, _ := json.MarshalIndent(v, "", " ")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
