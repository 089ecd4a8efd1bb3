//go:build toyworldcheck

// Command ortcheck runs the exported ToyWorld ONNX models with ONNX Runtime
// (through core/ort) on the golden inputs and prints the max abs difference to
// the PyTorch golden outputs. Developer tool, excluded from normal builds:
//
//	ONNXRUNTIME_LIB=.deps/onnxruntime-1.30.0 go run -tags toyworldcheck ./tools/toyworld/ortcheck [DIR_a [DIR_c]]
//
// DIR_a, DIR_c (optional): materialised diffusers-script and fp16 layouts (python3 export.py --materialize OUT
// → OUT/diffusers, OUT/fp16); fp16 outputs are compared with tolerance 1e-2.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/oneactor/oneactor-desktop/core/onnx"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

type entry struct {
	File  string  `json:"file"`
	Dtype string  `json:"dtype"`
	Shape []int64 `json:"shape"`
}

var (
	gold     = "testdata/toyworld/golden"
	manifest struct {
		Tensors map[string]entry `json:"tensors"`
	}
	rt   *ort.Runtime
	fail int
)

func must(err error) {
	if err != nil {
		fmt.Println("ERROR:", err)
		os.Exit(1)
	}
}

func f32(name string) ([]float32, []int64) {
	e := manifest.Tensors[name]
	b, err := os.ReadFile(filepath.Join(gold, e.File))
	must(err)
	switch e.Dtype {
	case "float32":
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, e.Shape
	case "int64":
		out := make([]float32, len(b)/8)
		for i := range out {
			out[i] = float32(int64(binary.LittleEndian.Uint64(b[8*i:])))
		}
		return out, e.Shape
	}
	panic(e.Dtype)
}

func tensor(dt onnx.DataType, vals []float32, shape ...int64) *ort.Tensor {
	t, err := ort.NewTensor(dt, shape...)
	must(err)
	switch dt {
	case onnx.Int64, onnx.Int32:
		iv := make([]int64, len(vals))
		for i, v := range vals {
			iv[i] = int64(v)
		}
		must(t.SetInt64(iv))
	default:
		must(t.SetFloat32(vals))
	}
	return t
}

func golden(name string, dt onnx.DataType) *ort.Tensor {
	v, s := f32(name)
	return tensor(dt, v, s...)
}

var tol = 1e-4

func run(path string, in ort.Feeds, outs map[string]string) {
	s, err := rt.NewSession(path, ort.SessionOptions{Provider: ort.ProviderCPU})
	must(err)
	defer s.Close()
	out := ort.Feeds{}
	for o, g := range outs {
		_, shape := f32(g)
		t, err := s.Output(o, shape...)
		must(err)
		out[o] = t
	}
	must(s.Run(context.Background(), in, out))
	for o, g := range outs {
		want, _ := f32(g)
		got, err := out[o].ReadFloat32(nil)
		must(err)
		var md, mx float64
		for i := range want {
			md = math.Max(md, math.Abs(float64(got[i]-want[i])))
			mx = math.Max(mx, math.Abs(float64(want[i])))
		}
		st := "ok"
		if md > tol*math.Max(1, mx) {
			st = "FAIL"
			fail++
		}
		fmt.Printf("%-4s %-60s %-36s max|diff| %.3g (max|want| %.3g)\n", st, path, o, md, mx)
	}
}

func main() {
	b, err := os.ReadFile(filepath.Join(gold, "manifest.json"))
	must(err)
	must(json.Unmarshal(b, &manifest))
	rt, err = ort.Init()
	must(err)
	m := "models/toyworld"
	run(m+"/text_encoder/model.onnx", ort.Feeds{"input_ids": golden("te_input_ids", onnx.Int64)},
		map[string]string{"last_hidden_state": "te_last_hidden_state", "pooler_output": "te_pooler_output"})
	for _, t := range []int{999, 500, 20} {
		run(m+"/unet/model.onnx", ort.Feeds{
			"sample":                golden(fmt.Sprintf("unet_t%d_sample", t), onnx.Float),
			"timestep":              tensor(onnx.Int64, []float32{float32(t)}),
			"encoder_hidden_states": golden("unet_ehs", onnx.Float),
		}, map[string]string{"out_sample": fmt.Sprintf("unet_t%d_out_sample", t)})
	}
	run(m+"/vae_encoder/model.onnx", ort.Feeds{"sample": golden("vae_image", onnx.Float)},
		map[string]string{"latent_parameters": "vae_latent_parameters"})
	run(m+"/vae_decoder/model.onnx", ort.Feeds{"latent_sample": golden("vae_latent_mean", onnx.Float)},
		map[string]string{"sample": "vae_decoded_from_mean"})
	cs, _ := f32("cn_sample")
	_ = cs
	run(m+"/controlnet_openpose/model.onnx", ort.Feeds{
		"sample":                golden("cn_sample", onnx.Float),
		"timestep":              tensor(onnx.Int64, []float32{500, 500}, 2),
		"encoder_hidden_states": golden("unet_ehs", onnx.Float),
		"controlnet_cond":       golden("cn_cond", onnx.Float),
		"conditioning_scale":    tensor(onnx.Double, []float32{1}, 1),
	}, map[string]string{
		"down_block_0_additional_residual": "cn_down_block_0_additional_residual",
		"down_block_3_additional_residual": "cn_down_block_3_additional_residual",
		"mid_block_additional_residual":    "cn_mid_block_additional_residual",
	})
	in := ort.Feeds{
		"sample":                        golden("cn_sample", onnx.Float),
		"timestep":                      tensor(onnx.Int64, []float32{500}),
		"encoder_hidden_states":         golden("unet_ehs", onnx.Float),
		"mid_block_additional_residual": golden("cn_mid_block_additional_residual", onnx.Float),
	}
	for i := 0; i < 4; i++ {
		in[fmt.Sprintf("down_block_%d_additional_residual", i)] = golden(fmt.Sprintf("cn_down_block_%d_additional_residual", i), onnx.Float)
	}
	run(m+"/controlnet/model.onnx", in, map[string]string{"out_sample": "cn_unet_out_sample"})
	names := []string{"color_logits", "shape_logits", "eyes_logits", "accessory_logits", "scene_logits", "keypoints"}
	outs := map[string]string{}
	for _, n := range names {
		outs[n] = "judge_" + n
	}
	run(m+"/judge/model.onnx", ort.Feeds{"image": golden("judge_image", onnx.Float)}, outs)
	if len(os.Args) > 1 {
		a := os.Args[1]
		run(a+"/text_encoder/model.onnx", ort.Feeds{"input_ids": golden("te_input_ids", onnx.Int32)},
			map[string]string{"last_hidden_state": "te_last_hidden_state"})
		run(a+"/unet/model.onnx", ort.Feeds{
			"sample":                golden("unet_t500_sample", onnx.Float),
			"timestep":              tensor(onnx.Float, []float32{500, 500}, 2),
			"encoder_hidden_states": golden("unet_ehs", onnx.Float),
		}, map[string]string{"out_sample": "unet_t500_out_sample"})
		run(a+"/vae_decoder/model.onnx", ort.Feeds{"latent_sample": golden("vae_latent_mean", onnx.Float)},
			map[string]string{"sample": "vae_decoded_from_mean"})
	}
	if len(os.Args) > 2 {
		c := os.Args[2]
		tol = 1e-2 // float16 inputs/outputs
		run(c+"/text_encoder/model.onnx", ort.Feeds{"input_ids": golden("te_input_ids", onnx.Int32)},
			map[string]string{"last_hidden_state": "te_last_hidden_state", "pooler_output": "te_pooler_output"})
		run(c+"/unet/model.onnx", ort.Feeds{
			"sample":                golden("unet_t500_sample", onnx.Float16),
			"timestep":              tensor(onnx.Float16, []float32{500, 500}, 2),
			"encoder_hidden_states": golden("unet_ehs", onnx.Float16),
		}, map[string]string{"out_sample": "unet_t500_out_sample"})
		run(c+"/vae_decoder/model.onnx", ort.Feeds{"latent_sample": golden("vae_latent_mean", onnx.Float16)},
			map[string]string{"sample": "vae_decoded_from_mean"})
	}
	fmt.Printf("%d failed\n", fail)
	if fail > 0 {
		os.Exit(1)
	}
}
