"""Golden vectors for the Go tests.

usage: python3 goldens.py schedulers REPO_ROOT     (model independent)
       python3 goldens.py models REPO_ROOT         (needs trained checkpoints)

Format (testdata/toyworld/golden/):
  manifest.json  {"tensors": {NAME: {"file": NAME.bin, "dtype": "float32"|"int64", "shape": [...]}}, "cases": [...]}
  NAME.bin       raw little-endian values, C order, no header.
schedulers_golden.json (testdata/toyworld/): plain JSON, float64 values.
"""
import json
import os
import sys

import numpy as np

import schedulers as S

HERE = os.path.dirname(os.path.abspath(__file__))


def schedulers_golden(root):
    ac = S.alphas_cumprod()
    out = {"description": "Independent float64 numpy implementation (tools/toyworld/schedulers.py) of the diffusers "
                          "formulas; SD 1.x schedule: scaled_linear beta 0.00085..0.012, 1000 train steps; steps_offset "
                          "1 (applies to leading spacing only). dpmpp_2m: dpmsolver++, order 2, final sigma 0, "
                          "last step first order. lcm: original_inference_steps 50, timestep_scaling 10, sigma_data 0.5.",
           "alphas_cumprod": ac.tolist(), "cases": []}
    steps = [1, 2, 4, 10, 20, 25, 30, 50]
    for n in steps:
        for sp in ("leading", "trailing", "linspace"):
            out["cases"].append(dict(scheduler="euler", spacing=sp, steps=n, karras=False,
                                     **{k: np.asarray(v).tolist() for k, v in S.euler(n, sp, 1, False, ac).items()}))
            out["cases"].append(dict(scheduler="euler", spacing=sp, steps=n, karras=True,
                                     **{k: np.asarray(v).tolist() for k, v in S.euler(n, sp, 1, True, ac).items()}))
            out["cases"].append(dict(scheduler="euler_a", spacing=sp, steps=n, karras=False,
                                     **{k: np.asarray(v).tolist() for k, v in S.euler_ancestral(n, sp, 1, ac).items()}))
            out["cases"].append(dict(scheduler="ddim", spacing=sp, steps=n, karras=False,
                                     **{k: np.asarray(v).tolist() for k, v in S.ddim(n, sp, 1, False, ac).items()}))
            for kr in (False, True):
                out["cases"].append(dict(scheduler="dpmpp_2m", spacing=sp, steps=n, karras=kr,
                                         **{k: np.asarray(v).tolist() for k, v in S.dpmpp_2m(n, sp, 1, kr, ac).items()}))
        if n <= 50:
            out["cases"].append(dict(scheduler="lcm", spacing="leading", steps=n, karras=False,
                                     **{k: np.asarray(v).tolist() for k, v in S.lcm(n, 50, ac).items()}))
    # leading with steps_offset 0
    for n in (10, 30):
        out["cases"].append(dict(scheduler="euler", spacing="leading", steps=n, karras=False, steps_offset=0,
                                 **{k: np.asarray(v).tolist() for k, v in S.euler(n, "leading", 0, False, ac).items()}))
    # full sampler trajectories with a synthetic model eps(x, t) = 0.2 * x + 0.1 * sin(t / 100)
    rng = np.random.default_rng(42)
    xT = rng.standard_normal(8)
    traj = []
    for name in ("euler", "euler_a", "ddim", "dpmpp_2m", "lcm"):
        for kr in ((False, True) if name in ("euler", "dpmpp_2m") else (False,)):
            for n in (4, 20):
                noises = [rng.standard_normal(8) for _ in range(n)]
                res = S.sample(name, n, lambda x, t: 0.2 * x + 0.1 * np.sin(t / 100.0), xT, "leading", kr, noises, ac)
                traj.append(dict(scheduler=name, karras=kr, steps=n, spacing="leading",
                                 noises=[z.tolist() for z in noises] if name in ("euler_a", "lcm") else None,
                                 result=res.tolist()))
    out["synthetic_sampling"] = {"model": "eps(x_in, t) = 0.2 * x_in + 0.1 * sin(t / 100); x_in is the scaled model "
                                          "input (x / sqrt(sigma^2 + 1) for Euler family)",
                                 "x_T": xT.tolist(), "note": "x_T is unit-variance noise; Euler multiplies it by "
                                 "init_noise_sigma; euler_a/lcm use noises[i] at step i", "runs": traj}
    p = os.path.join(root, "testdata", "toyworld", "schedulers_golden.json")
    with open(p, "w") as f:
        json.dump(out, f)
    print("wrote", p, len(out["cases"]), "cases")


class Writer:
    def __init__(self, d):
        self.d = d
        os.makedirs(d, exist_ok=True)
        self.tensors = {}
        self.cases = []

    def add(self, name, arr):
        arr = np.ascontiguousarray(arr)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        dt = {np.dtype("float32"): "float32", np.dtype("int64"): "int64", np.dtype("int32"): "int32",
              np.dtype("float16"): "float16", np.dtype("uint8"): "uint8"}[arr.dtype]
        arr.astype(arr.dtype.newbyteorder("<")).tofile(os.path.join(self.d, name + ".bin"))
        self.tensors[name] = {"file": name + ".bin", "dtype": dt, "shape": list(arr.shape)}
        return name

    def save(self, extra=None):
        m = {"format": "NAME.bin = raw little-endian values in C order; dtype and shape here",
             "tensors": self.tensors, "cases": self.cases}
        if extra:
            m.update(extra)
        with open(os.path.join(self.d, "manifest.json"), "w") as f:
            json.dump(m, f, indent=1)


def model_goldens(root):
    import torch
    import models
    import tokenizer
    import train
    import world
    import openpose
    torch.set_num_threads(2)
    torch.manual_seed(0)
    M = __import__("export").load_all()
    te, unet, vae, cn, judge = M["te"], M["unet"], M["vae"], M["cn"], M["judge"]
    sf = json.load(open(os.path.join(train.WORK, "vae_scaling.json")))["scaling_factor"]
    tok = tokenizer.ClipTokenizer(os.path.join(root, "models", "toyworld", "tokenizer"))
    W = Writer(os.path.join(root, "testdata", "toyworld", "golden"))
    g = torch.Generator().manual_seed(1234)
    prompts = ["a red round creature with a hat on the beach", "a creature at night", ""]
    ids = torch.tensor([tok(p) for p in prompts], dtype=torch.long)
    with torch.no_grad():
        hs, pooled = te(ids)
    W.add("te_input_ids", ids.numpy())
    W.add("te_last_hidden_state", hs.numpy())
    W.add("te_pooler_output", pooled.numpy())
    W.cases.append({"model": "text_encoder", "prompts": prompts, "inputs": {"input_ids": "te_input_ids"},
                    "outputs": {"last_hidden_state": "te_last_hidden_state", "pooler_output": "te_pooler_output"},
                    "tolerance": 1e-4})
    ctx = hs[:2].clone()
    for t in (999, 500, 20):
        x = torch.randn(2, 4, 8, 8, generator=g)
        with torch.no_grad():
            out, h = unet(x, torch.full((2,), float(t)), ctx, return_h=True)
        W.add("unet_t%d_sample" % t, x.numpy())
        W.add("unet_t%d_out_sample" % t, out.numpy())
        W.add("unet_t%d_h" % t, h.numpy())
        W.cases.append({"model": "unet", "timestep": t, "inputs": {"sample": "unet_t%d_sample" % t,
                        "encoder_hidden_states": "unet_ehs"}, "outputs": {"out_sample": "unet_t%d_out_sample" % t,
                        "h_mid_block_input": "unet_t%d_h" % t}, "tolerance": 1e-4,
                        "note": "same timestep for both rows (works for rank-0 and [B] timestep inputs)"})
    W.add("unet_ehs", ctx.numpy())
    # VAE
    rng = np.random.default_rng(77)
    imgs = np.stack([world.random_sample(rng)[0] for _ in range(2)])
    xi = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        mean, logvar = vae.encode(xi)
        dec = vae.decode(mean)
    W.add("vae_image", xi.numpy())
    W.add("vae_latent_parameters", torch.cat([mean, logvar], 1).numpy())
    W.add("vae_decoded_from_mean", dec.numpy())
    W.cases.append({"model": "vae_encoder", "inputs": {"sample": "vae_image"},
                    "outputs": {"latent_parameters": "vae_latent_parameters"}, "tolerance": 1e-4,
                    "note": "latent_sample layouts sample in-graph: compare its mean over many runs, or check "
                            "(latent_sample - mean)/exp(0.5*logvar) looks standard normal"})
    W.cases.append({"model": "vae_decoder", "inputs": {"latent_sample": "vae_latent_mean"},
                    "outputs": {"sample": "vae_decoded_from_mean"}, "tolerance": 1e-4,
                    "note": "latent_sample input is unscaled (pipeline divides by scaling_factor first)"})
    W.add("vae_latent_mean", mean.numpy())
    # ControlNet
    kp = world.keypoints(world.sample_pose(np.random.default_rng(5)))
    cond = openpose.draw_skeleton(kp, [True] * 18, 32, 32)
    condt = torch.from_numpy(np.stack([cond, cond])).permute(0, 3, 1, 2).float() / 255.0
    x = torch.randn(2, 4, 8, 8, generator=g)
    with torch.no_grad():
        downs, mid = cn(x, torch.full((2,), 500.0), ctx, condt, 1.0)
        out = unet(x, torch.full((2,), 500.0), ctx, downs, mid)
    W.add("cn_sample", x.numpy())
    W.add("cn_cond", condt.numpy())
    for i, dr in enumerate(downs):
        W.add("cn_down_block_%d_additional_residual" % i, dr.numpy())
    W.add("cn_mid_block_additional_residual", mid.numpy())
    W.add("cn_unet_out_sample", out.numpy())
    W.cases.append({"model": "controlnet_openpose+controlnet", "timestep": 500, "conditioning_scale": 1.0,
                    "inputs": {"sample": "cn_sample", "encoder_hidden_states": "unet_ehs", "controlnet_cond": "cn_cond"},
                    "outputs": {**{"down_block_%d_additional_residual" % i: "cn_down_block_%d_additional_residual" % i
                                   for i in range(4)}, "mid_block_additional_residual": "cn_mid_block_additional_residual",
                                "residual_unet_out_sample": "cn_unet_out_sample"}, "tolerance": 1e-4})
    # judge
    with torch.no_grad():
        jo = judge(torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0)
    W.add("judge_image", (torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0).numpy())
    names = ["color_logits", "shape_logits", "eyes_logits", "accessory_logits", "scene_logits", "keypoints"]
    for n_, o in zip(names, jo):
        W.add("judge_" + n_, o.numpy())
    W.cases.append({"model": "judge", "inputs": {"image": "judge_image"}, "outputs": {n_: "judge_" + n_ for n_ in names},
                    "tolerance": 1e-4})
    # gradients d MSE / d encoder_hidden_states
    for rows, per_row_t in ((2, False), (5, True)):
        x = torch.randn(rows, 4, 8, 8, generator=g)
        tgt = torch.randn(rows, 4, 8, 8, generator=g)
        ts = torch.tensor([999.0, 500.0, 250.0, 100.0, 1.0][:rows]) if per_row_t else torch.full((rows,), 500.0)
        e = hs[[0, 1, 0, 1, 0][:rows]].clone().requires_grad_(True)
        loss = torch.mean((unet(x, ts, e) - tgt) ** 2)
        gr, = torch.autograd.grad(loss, e)
        tag = "grad%d" % rows
        W.add(tag + "_sample", x.numpy())
        W.add(tag + "_target", tgt.numpy())
        W.add(tag + "_timesteps", ts.numpy())
        W.add(tag + "_ehs", e.detach().numpy())
        W.add(tag + "_loss", np.array([loss.item()], np.float32))
        W.add(tag + "_d_ehs", gr.numpy())
        W.cases.append({"model": "unet", "kind": "gradient", "loss": "mean((out_sample - target)^2) over all elements",
                        "inputs": {"sample": tag + "_sample", "timestep": tag + "_timesteps",
                                   "encoder_hidden_states": tag + "_ehs", "target": tag + "_target"},
                        "outputs": {"loss": tag + "_loss", "d_encoder_hidden_states": tag + "_d_ehs"},
                        "tolerance": "relative L2 1e-3", "per_row_timesteps": per_row_t})
        # ControlNet + UNet
        e2 = hs[[0, 1, 0, 1, 0][:rows]].clone().requires_grad_(True)
        c = torch.cat([condt] * 3)[:rows]
        downs, mid = cn(x, ts, e2, c, 1.0)
        loss2 = torch.mean((unet(x, ts, e2, downs, mid) - tgt) ** 2)
        gr2, = torch.autograd.grad(loss2, e2)
        W.add(tag + "_cn_cond", c.numpy())
        W.add(tag + "_cn_loss", np.array([loss2.item()], np.float32))
        W.add(tag + "_cn_d_ehs", gr2.numpy())
        W.cases.append({"model": "controlnet_openpose+controlnet", "kind": "gradient", "conditioning_scale": 1.0,
                        "loss": "mean((residual_unet(out) - target)^2); the same encoder_hidden_states feed ControlNet and UNet",
                        "inputs": {"sample": tag + "_sample", "timestep": tag + "_timesteps",
                                   "encoder_hidden_states": tag + "_ehs", "controlnet_cond": tag + "_cn_cond",
                                   "target": tag + "_target"},
                        "outputs": {"loss": tag + "_cn_loss", "d_encoder_hidden_states": tag + "_cn_d_ehs"},
                        "tolerance": "relative L2 1e-3", "per_row_timesteps": per_row_t})
    # reference sampler end to end (noise given explicitly)
    import sampler
    for name, kr in (("euler", False), ("dpmpp_2m", True), ("ddim", False)):
        xT = torch.randn(1, 4, 8, 8, generator=g)
        p = "a blue square creature with a crown in the snow"
        lat, img = sampler.generate(M, tok, [p], xT, name, steps=30, cfg=7.5, karras=kr, sf=sf)
        tag = "sample_%s%s" % (name, "_karras" if kr else "")
        W.add(tag + "_xT", xT.numpy())
        W.add(tag + "_latents", lat.numpy())
        W.add(tag + "_image", img.numpy())
        W.cases.append({"kind": "pipeline", "prompt": p, "negative_prompt": "", "scheduler": name, "karras": kr,
                        "spacing": "leading", "steps": 30, "cfg": 7.5, "inputs": {"x_T": tag + "_xT"},
                        "outputs": {"latents": tag + "_latents", "image": tag + "_image"},
                        "note": "x_T unit variance (multiplied by init_noise_sigma); latents final (scaled) latents; "
                                "image = vae_decoder(latents / scaling_factor) in [-1,1]"})
    W.save({"scaling_factor": sf})
    print("model goldens:", len(W.tensors), "tensors")


if __name__ == "__main__":
    what, root = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", ".."))
    sys.path.insert(0, HERE)
    if what == "schedulers":
        schedulers_golden(root)
    else:
        model_goldens(root)
