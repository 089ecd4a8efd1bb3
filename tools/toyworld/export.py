"""Exports the trained ToyWorld models to ONNX in the layouts users meet.

usage: python3 export.py REPO_ROOT

Writes
  models/toyworld/                 layout (b) "optimum": fp32, input_ids int64, unet timestep int64 rank 0,
                                   vae_encoder -> latent_parameters (mean || logvar, 8 ch),
                                   external data <component>/model.onnx_data (opset 17).
                                   + controlnet/ (residual-accepting UNet, OnnxStack convention)
                                   + controlnet_openpose/ (the ControlNet) + judge/ + toyworld.json
  testdata/toyworld/layouts/diffusers/   layout (a) graphs: input_ids int32, timestep float32 [B],
                                   vae_encoder -> latent_sample (sampled in-graph, RandomNormalLike),
                                   external data <component>/weights.pb (opset 14)
  testdata/toyworld/layouts/fp16/  layout (c) graphs: float16 inputs/outputs (timestep float16 [B],
                                   input_ids int32), fp32 weights inside, external data
                                   <component>/model.onnx_data (opset 17)
The (a) and (c) graphs reference the *same bytes at the same offsets* as the committed (b) data
files, so a complete folder is made by copying models/toyworld/<comp>/model.onnx_data to
<layout>/<comp>/weights.pb (a) or <layout>/<comp>/model.onnx_data (c) — see README.md
("Materialising the other layouts"); `python3 export.py --materialize OUT` does the same.
"""
import copy
import hashlib
import json
import os
import shutil
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
from onnx import external_data_helper as edh

import models
import train

HERE = os.path.dirname(os.path.abspath(__file__))
COMPONENTS = ["text_encoder", "unet", "vae_encoder", "vae_decoder", "controlnet", "controlnet_openpose", "judge"]


# ---------------------------------------------------------------- wrappers
class TE(nn.Module):
    def __init__(self, te, ids_dtype):
        super().__init__()
        self.te = te

    def forward(self, input_ids):
        h, p = self.te(input_ids.long())
        return h, p


class TEfp16(TE):
    def forward(self, input_ids):
        h, p = self.te(input_ids.long())
        return h.half(), p.half()


class UNetW(nn.Module):
    """layout: 'a' (t float32 [B]), 'b' (t int64 rank 0), 'c' (fp16 I/O, t float16 [B])."""
    def __init__(self, unet, layout, residuals=False):
        super().__init__()
        self.unet, self.layout, self.residuals = unet, layout, residuals

    def forward(self, sample, timestep, encoder_hidden_states, *res):
        x, ctx = sample.float(), encoder_hidden_states.float()
        if self.layout == "b":
            t = timestep.float() * torch.ones(x.shape[0], dtype=torch.float32)
        else:
            t = timestep.float()
        if self.residuals:
            r = [q.float() for q in res]
            out = self.unet(x, t, ctx, r[:4], r[4])
        else:
            out = self.unet(x, t, ctx)
        return out.half() if self.layout == "c" else out


class VAEEnc(nn.Module):
    def __init__(self, vae, layout):
        super().__init__()
        self.vae, self.layout = vae, layout

    def forward(self, sample):
        mean, logvar = self.vae.encode(sample.float())
        if self.layout == "b":
            return torch.cat([mean, logvar], 1)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        return z.half() if self.layout == "c" else z


class VAEDec(nn.Module):
    def __init__(self, vae, layout):
        super().__init__()
        self.vae, self.layout = vae, layout

    def forward(self, latent_sample):
        out = self.vae.decode(latent_sample.float())
        return out.half() if self.layout == "c" else out


class CN(nn.Module):
    def __init__(self, cn):
        super().__init__()
        self.cn = cn

    def forward(self, sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale):
        downs, mid = self.cn(sample, timestep.float(), encoder_hidden_states, controlnet_cond,
                             conditioning_scale.float())
        return tuple(downs) + (mid,)


class JudgeW(nn.Module):
    def __init__(self, j):
        super().__init__()
        self.j = j

    def forward(self, image):
        return tuple(self.j(image))


RES_NAMES = ["down_block_%d_additional_residual" % i for i in range(4)] + ["mid_block_additional_residual"]
JUDGE_OUT = ["color_logits", "shape_logits", "eyes_logits", "accessory_logits", "scene_logits", "keypoints"]


def load_all():
    te, unet = train.load_unet_ema()
    vae = train.load_vae()
    cn = models.ControlNet()
    ck = train.load_ckpt("cnrefit") or train.load_ckpt("controlnet")   # cnrefit: re-fit to the final UNet (unetft/route)
    if ck:
        cn.load_state_dict(ck["ema_cn"])
    cn.eval()
    j = models.Judge()
    ck = train.load_ckpt("judge")
    if ck:
        j.load_state_dict(ck["judge"])
    j.eval()
    return dict(te=te, unet=unet, vae=vae, cn=cn, judge=j)


def export_one(module, args, in_names, out_names, dyn, path, opset):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp.onnx"
    with torch.no_grad():
        torch.onnx.export(module, args, tmp, input_names=in_names, output_names=out_names, dynamic_axes=dyn,
                          opset_version=opset, do_constant_folding=True)
    m = onnx.load(tmp)
    os.remove(tmp)
    return m


def specs(M, layout):
    """(name, module, example args, input names, output names, dynamic axes) per component."""
    B = 2
    f = torch.float16 if layout == "c" else torch.float32
    ids_dtype = torch.int64 if layout == "b" else torch.int32
    ids = torch.full((B, 77), 975, dtype=ids_dtype)
    ids[:, 0] = 974
    sample = torch.randn(B, 4, 8, 8).to(f)
    ehs = torch.randn(B, 77, 64).to(f)
    if layout == "b":
        ts = torch.tensor(500, dtype=torch.int64)
    else:
        ts = torch.full((B,), 500.0).to(f)
    img = torch.rand(B, 3, 32, 32).to(f)
    lat = torch.randn(B, 4, 8, 8).to(f)
    res = [torch.zeros(B, 64, 8, 8), torch.zeros(B, 64, 8, 8), torch.zeros(B, 64, 4, 4), torch.zeros(B, 96, 4, 4),
           torch.zeros(B, 96, 4, 4)]
    res = [r.to(f) for r in res]
    bhw = {0: "batch", 2: "height", 3: "width"}
    te_mod = TEfp16(M["te"], ids_dtype) if layout == "c" else TE(M["te"], ids_dtype)
    ts_dyn = {} if layout == "b" else {"timestep": {0: "batch"}}
    out = [
        ("text_encoder", te_mod, (ids,), ["input_ids"], ["last_hidden_state", "pooler_output"],
         {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}, "pooler_output": {0: "batch"}}),
        ("unet", UNetW(M["unet"], layout), (sample, ts, ehs), ["sample", "timestep", "encoder_hidden_states"],
         ["out_sample"], dict({"sample": bhw, "encoder_hidden_states": {0: "batch", 1: "sequence"},
                               "out_sample": bhw}, **ts_dyn)),
        ("vae_encoder", VAEEnc(M["vae"], layout), (img,), ["sample"],
         ["latent_parameters" if layout == "b" else "latent_sample"],
         {"sample": bhw, ("latent_parameters" if layout == "b" else "latent_sample"): bhw}),
        ("vae_decoder", VAEDec(M["vae"], layout), (lat,), ["latent_sample"], ["sample"],
         {"latent_sample": bhw, "sample": bhw}),
    ]
    if layout == "b":
        half = {0: "batch", 2: "height_half", 3: "width_half"}      # 4x4 residuals of an 8x8 latent
        rdyn = {n: (bhw if i < 2 else half) for i, n in enumerate(RES_NAMES)}
        out.append(("controlnet", UNetW(M["unet"], layout, residuals=True), (sample, ts, ehs, *res),
                    ["sample", "timestep", "encoder_hidden_states"] + RES_NAMES, ["out_sample"],
                    dict({"sample": bhw, "encoder_hidden_states": {0: "batch", 1: "sequence"}, "out_sample": bhw},
                         **rdyn)))
        out.append(("controlnet_openpose", CN(M["cn"]),
                    (sample, torch.full((B,), 500, dtype=torch.int64), ehs, img, torch.tensor([1.0], dtype=torch.float64)),
                    ["sample", "timestep", "encoder_hidden_states", "controlnet_cond", "conditioning_scale"], RES_NAMES,
                    dict({"sample": bhw, "timestep": {0: "batch"}, "encoder_hidden_states": {0: "batch", 1: "sequence"},
                          "controlnet_cond": {0: "batch", 2: "image_height", 3: "image_width"}}, **rdyn)))
        out.append(("judge", JudgeW(M["judge"]), (img,), ["image"], JUDGE_OUT,
                    dict({"image": {0: "batch"}}, **{n: {0: "batch"} for n in JUDGE_OUT})))
    return out


def tensor_key(t):
    raw = onnx.numpy_helper.to_array(t).tobytes()
    return (t.data_type, tuple(t.dims), hashlib.sha256(raw).hexdigest())


def save_external(m, path, location, threshold=1024):
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    data = os.path.join(d, location)
    if os.path.exists(data):
        os.remove(data)
    onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True, location=location,
                    size_threshold=threshold, convert_attribute=False)
    # index of (dtype, dims, hash) -> (offset, length)
    m2 = onnx.load(path, load_external_data=False)
    idx = {}
    mfull = onnx.load(path)
    for t, tf in zip(m2.graph.initializer, mfull.graph.initializer):
        if t.data_location == onnx.TensorProto.EXTERNAL:
            info = {e.key: e.value for e in t.external_data}
            idx[tensor_key(tf)] = (int(info.get("offset", 0)), int(info["length"]))
    return idx


def save_referencing(m, path, location, idx):
    """Save m with every initializer found in idx stored as external data at idx's offset in `location`
    (a file with the same bytes as the indexed one); the rest stays embedded."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    m = copy.deepcopy(m)
    n_ext = 0
    for t in m.graph.initializer:
        k = tensor_key(t)
        if k in idx:
            off, ln = idx[k]
            raw = onnx.numpy_helper.to_array(t).tobytes()
            for fld in ("float_data", "int64_data", "int32_data", "double_data"):
                t.ClearField(fld)
            t.raw_data = raw
            edh.set_external_data(t, location=location, offset=off, length=ln)
            t.ClearField("raw_data")
            t.data_location = onnx.TensorProto.EXTERNAL
            n_ext += 1
    onnx.save_model(m, path)
    return n_ext


def io_desc(m):
    def one(v):
        tt = v.type.tensor_type
        dims = [d.dim_param if d.dim_param else d.dim_value for d in tt.shape.dim]
        return {"name": v.name, "dtype": onnx.TensorProto.DataType.Name(tt.elem_type).lower(), "shape": dims}
    return {"inputs": [one(v) for v in m.graph.input], "outputs": [one(v) for v in m.graph.output]}


def configs(root, layout, sf, scheduler_class):
    c = {}
    c["text_encoder"] = dict(architectures=["CLIPTextModel"], model_type="clip_text_model", bos_token_id=974,
                             eos_token_id=975, pad_token_id=1, **models.TE_CFG)
    ucfg = dict(models.UNET_CFG)
    c["unet"] = {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.21.0",
                 "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                 "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
                 "mid_block_type": "UNetMidBlock2DCrossAttn", "act_fn": "silu", **ucfg}
    c["controlnet"] = dict(c["unet"], _toyworld_note="UNet accepting ControlNet residuals (OnnxStack convention)")
    vcfg = {"_class_name": "AutoencoderKL", "_diffusers_version": "0.21.0", "scaling_factor": sf,
            "down_block_types": ["DownEncoderBlock2D"] * 3, "up_block_types": ["UpDecoderBlock2D"] * 3,
            "layers_per_block": 1, "act_fn": "silu", **models.VAE_CFG}
    c["vae_encoder"] = vcfg
    c["vae_decoder"] = vcfg
    c["controlnet_openpose"] = {"_class_name": "ControlNetModel", "_diffusers_version": "0.21.0",
                                "conditioning_channels": 3, "controlnet_conditioning_channel_order": "rgb",
                                "conditioning": "openpose", **ucfg}
    sched = {"_class_name": scheduler_class, "_diffusers_version": "0.21.0", "beta_start": 0.00085, "beta_end": 0.012,
             "beta_schedule": "scaled_linear", "num_train_timesteps": 1000, "prediction_type": "epsilon",
             "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "clip_sample": False,
             "timestep_spacing": "leading", "trained_betas": None}
    return c, sched


MODEL_INDEX = {
    "a": {"_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.21.0",
          "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
          "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["diffusers", "OnnxRuntimeModel"],
          "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "OnnxRuntimeModel"],
          "vae_decoder": ["diffusers", "OnnxRuntimeModel"], "vae_encoder": ["diffusers", "OnnxRuntimeModel"]},
    "b": {"_class_name": "ORTStableDiffusionPipeline", "_diffusers_version": "0.21.0",
          "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
          "scheduler": ["diffusers", "EulerDiscreteScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
          "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
          "vae_decoder": ["diffusers", "AutoencoderKL"], "vae_encoder": ["diffusers", "AutoencoderKL"]},
    "c": {"_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.21.0",
          "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
          "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["diffusers", "OnnxRuntimeModel"],
          "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "OnnxRuntimeModel"],
          "vae_decoder": ["diffusers", "OnnxRuntimeModel"], "vae_encoder": ["diffusers", "OnnxRuntimeModel"]},
}


def latent_rgb_factors(M, sf):
    """Least-squares linear map latents (scaled) -> RGB in [-1,1] (rows = latent channels, cols = R,G,B)
    plus a bias row, fitted on training images."""
    lat = np.load(os.path.join(train.WORK, "latents.npz"))
    d = train.load_data()
    n = 2000
    z = lat["mean"][:n] * sf                                           # [n,4,8,8]
    img = d["images"][:n].astype(np.float32) / 127.5 - 1               # [n,32,32,3]
    img = img.reshape(n, 8, 4, 8, 4, 3).mean(axis=(2, 4))              # [n,8,8,3]
    X = z.transpose(0, 2, 3, 1).reshape(-1, 4)
    X = np.concatenate([X, np.ones((X.shape[0], 1), np.float32)], 1)
    Y = img.reshape(-1, 3)
    W, *_ = np.linalg.lstsq(X, Y, rcond=None)
    return W[:4].tolist(), W[4].tolist()


def main(root, layouts=("b", "a", "c")):
    torch.manual_seed(0)
    M = load_all()
    sf = json.load(open(os.path.join(train.WORK, "vae_scaling.json")))["scaling_factor"]
    dirs = {"b": os.path.join(root, "models", "toyworld"),
            "a": os.path.join(root, "testdata", "toyworld", "layouts", "diffusers"),
            "c": os.path.join(root, "testdata", "toyworld", "layouts", "fp16")}
    opset = {"a": 14, "b": 17, "c": 17}
    sched_cls = {"a": "PNDMScheduler", "b": "EulerDiscreteScheduler", "c": "DDIMScheduler"}
    indexes = {}
    summary = {}
    for layout in layouts:
        base = dirs[layout]
        for comp in COMPONENTS:
            p = os.path.join(base, comp)
            if os.path.isdir(p):
                shutil.rmtree(p)
        cfgs, sched = configs(root, layout, sf, sched_cls[layout])
        summary[layout] = {}
        for name, mod, args, inn, outn, dyn in specs(M, layout):
            m = export_one(mod, args, inn, outn, dyn, os.path.join(base, name, "model.onnx"), opset[layout])
            path = os.path.join(base, name, "model.onnx")
            if layout == "b":
                indexes[name] = save_external(m, path, "model.onnx_data")
                n_ext = len(indexes[name])
            else:
                loc = "weights.pb" if layout == "a" else "model.onnx_data"
                n_ext = save_referencing(m, path, loc, indexes[name])
            if name in cfgs:
                json.dump(cfgs[name], open(os.path.join(base, name, "config.json"), "w"), indent=1)
            summary[layout][name] = dict(io_desc(m), external_tensors=n_ext, nodes=len(m.graph.node))
            print(layout, name, "nodes", len(m.graph.node), "external", n_ext, flush=True)
        os.makedirs(os.path.join(base, "scheduler"), exist_ok=True)
        json.dump(sched, open(os.path.join(base, "scheduler", "scheduler_config.json"), "w"), indent=1)
        tdir = os.path.join(base, "tokenizer")
        src = os.path.join(root, "models", "toyworld", "tokenizer")
        if layout != "b":
            if os.path.isdir(tdir):
                shutil.rmtree(tdir)
            shutil.copytree(src, tdir)
        json.dump(MODEL_INDEX[layout], open(os.path.join(base, "model_index.json"), "w"), indent=1)
    if "b" in layouts:
        fac, bias = latent_rgb_factors(M, sf)
        import world
        tw = {"name": "ToyWorld", "resolution": 32, "vae_scale_factor": 4, "latent_channels": 4,
              "scaling_factor": sf, "base_word": "creature", "templates": world.TEMPLATES,
              "attributes": {k: v for k, v in world.ATTRIBUTES}, "scenes": world.SCENES,
              "scene_phrases": world.SCENE_PHRASES,
              "latent_rgb_factors": fac, "latent_rgb_bias": bias,
              "latent_rgb_note": "rgb[-1,1] = latents(scaled, i.e. as sampled) @ factors + bias, per latent pixel",
              "controlnet": {"unet": "controlnet/model.onnx", "openpose": "controlnet_openpose/model.onnx",
                             "residuals": RES_NAMES},
              "judge": "judge/model.onnx"}
        json.dump(tw, open(os.path.join(dirs["b"], "toyworld.json"), "w"), indent=1)
        # Generic conventions the app reads (not ToyWorld-specific): preview factors in the VAE
        # decoder's config, and the model's caption templates for OneActor tuning in oneactor.json.
        vpath = os.path.join(dirs["b"], "vae_decoder", "config.json")
        vc = json.load(open(vpath))
        vc["latent_rgb_factors"], vc["latent_rgb_bias"] = fac, bias
        json.dump(vc, open(vpath, "w"), indent=1)
        json.dump({"templates": world.TEMPLATES, "base_word": "creature",
                   "note": "caption templates for OneActor subject tuning ({} = the base word); read by core/diffusion"},
                  open(os.path.join(dirs["b"], "oneactor.json"), "w"), indent=1)
    json.dump(summary, open(os.path.join(root, "testdata", "toyworld", "layouts", "signatures.json"), "w"), indent=1)
    # checks (the (a)/(c) graphs are checked in materialised copies)
    import tempfile
    tmp = tempfile.mkdtemp()
    materialize(root, tmp)
    cdirs = {"b": dirs["b"], "a": os.path.join(tmp, "diffusers"), "c": os.path.join(tmp, "fp16")}
    for layout in layouts:
        for comp in COMPONENTS:
            p = os.path.join(cdirs[layout], comp, "model.onnx")
            if os.path.exists(p):
                onnx.checker.check_model(p)
    shutil.rmtree(tmp)
    print("checker ok")


def materialize(root, out):
    """Make complete (a) and (c) folders under out/ by copying the committed data files."""
    for name, loc in (("diffusers", "weights.pb"), ("fp16", "model.onnx_data")):
        src = os.path.join(root, "testdata", "toyworld", "layouts", name)
        dst = os.path.join(out, name)
        if os.path.isdir(dst):
            shutil.rmtree(dst)
        shutil.copytree(src, dst)
        for comp in os.listdir(dst):
            data = os.path.join(root, "models", "toyworld", comp, "model.onnx_data")
            if os.path.isfile(os.path.join(dst, comp, "model.onnx")) and os.path.exists(data):
                shutil.copyfile(data, os.path.join(dst, comp, loc))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--materialize":
        materialize(os.path.join(HERE, "..", ".."), sys.argv[2])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".."))
