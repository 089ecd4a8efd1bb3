"""ToyWorld benchmark: benchmark data file + judge-measured quality figures.

usage: python3 benchmark.py write REPO_ROOT          writes testdata/toyworld/benchmark.json
       python3 benchmark.py measure [--quick]        measures the quality bars, writes work/figures.json

Metric definitions (also in benchmark.json):
  identity consistency  fraction of images whose judged identity (argmax of all 4 attribute heads) equals the
                        target's on all attributes; mean attribute agreement = mean over images and attributes.
  scene fidelity        fraction of images whose judged scene (argmax) equals the prompt's scene.
  attribute honour      for each attribute named in the prompt: fraction of images whose judged value equals it.
  diversity             number of distinct judged identities among the seeds of one base prompt.
  pose error            |judged keypoint - conditioning keypoint| (Euclidean, pixels) / image width * 100,
                        median over all 18 keypoints of all images.
"""
import json
import os
import sys
import time

import numpy as np
import torch

import models
import openpose
import sampler
import tokenizer
import train
import world

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")

METRICS = {
    "identity_consistency": "fraction of images whose judged identity (argmax of color, shape, eyes, accessory heads) "
                            "equals the target identity on all four attributes",
    "mean_attribute_agreement": "mean over images and the 4 attributes of [judged == target]",
    "scene_fidelity": "fraction of images whose judged scene (argmax of scene head) equals the prompt's scene",
    "attribute_honour": "per attribute named in the prompt: fraction of images whose judged value equals it",
    "diversity": "number of distinct judged identities among the seeds of one base prompt",
    "pose_error": "Euclidean distance between judged and conditioning keypoints in pixels / image width * 100, "
                  "median over all 18 keypoints of all images",
}


def write(root):
    rng = np.random.default_rng(2024)
    targets = []
    seen = set()
    while len(targets) < 12:
        ident = tuple(int(rng.integers(0, len(v))) for _, v in world.ATTRIBUTES)
        if ident in seen:
            continue
        seen.add(ident)
        targets.append({"identity": world.identity_words(ident), "identity_index": world.identity_index(ident)})
    scene_prompts = [{"scene": s, "template": "a {} " + world.SCENE_PHRASES[s]} for s in world.SCENES]
    gen_rng = np.random.default_rng(7)
    gen_cases = []
    for i in range(160):
        ident = tuple(int(gen_rng.integers(0, len(v))) for _, v in world.ATTRIBUTES)
        scene = i % len(world.SCENES)
        use = {a: bool(gen_rng.random() < 0.5) for a, _ in world.ATTRIBUTES}
        prompt = world.caption(ident, scene, gen_rng, use=use, template="a {}")
        named = {a: world.identity_words(ident)[a] for a, _ in world.ATTRIBUTES
                 if use[a] and not (a == "accessory" and ident[3] == 0)}
        gen_cases.append({"prompt": prompt, "scene": world.SCENES[scene], "named": named, "seed": 1000 + i})
    pose_rng = np.random.default_rng(99)
    pose_cases = []
    for i in range(96):
        p = world.sample_pose(pose_rng)
        kp = world.keypoints(p)
        ident = tuple(int(pose_rng.integers(0, len(v))) for _, v in world.ATTRIBUTES)
        pose_cases.append({"prompt": world.caption(ident, int(pose_rng.integers(0, 8)), pose_rng, template="a {}"),
                           "keypoints_32": kp.round(3).tolist(), "seed": 5000 + i})
    bench = {
        "name": "ToyWorld benchmark v1",
        "model": "models/toyworld", "resolution": 32, "base_word": "creature", "base_prompt": "a creature",
        "settings": {"steps": 30, "sampler": "euler", "spacing": "leading", "cfg": 7.5, "negative_prompt": "",
                     "oneactor": {"n_aux": 10, "tune_steps": 200, "v": 0.8, "eta1": 8.5, "eta2": 1.0,
                                  "guided_fraction": 2 / 3}},
        "seed_rule": "seed s -> initial noise: the engine's documented RNG; the PyTorch reference uses "
                     "torch.Generator().manual_seed(s), torch.randn([1,4,8,8])",
        "metrics": METRICS,
        "subject": {"targets": targets, "target_rule": "cast each target by generating 'a creature' images and "
                    "picking the first whose judged identity equals the target identity (or render it and import)",
                    "scene_prompts": scene_prompts, "seeds": list(range(100, 108))},
        "generation": {"cases": gen_cases, "diversity_prompts": ["a creature " + world.SCENE_PHRASES[s] for s in world.SCENES],
                       "diversity_seeds": list(range(200, 216))},
        "controlnet": {"scale": 1.0, "cases": pose_cases,
                       "condition": "openpose.draw_skeleton(keypoints_32, all present, 32, 32) / 255"},
        "bars": {"judge_attribute_accuracy": 0.98, "judge_scene_accuracy": 0.98, "judge_keypoint_median_pct": 3.0,
                 "vae_psnr_db": 28.0, "scene_fidelity": 0.90, "attribute_honour": 0.80, "diversity_min": 8,
                 "pose_error_median_pct": 10.0, "oneactor_identity_consistency": 0.80},
    }
    p = os.path.join(root, "testdata", "toyworld", "benchmark.json")
    with open(p, "w") as f:
        json.dump(bench, f, indent=1)
    print("wrote", p)
    return bench


def judge_images(judge, imgs01):
    """imgs01: [N,3,32,32] float in [0,1] -> (attrs [N,4], scene [N], keypoints px [N,18,2])."""
    outs = []
    with torch.no_grad():
        for i in range(0, imgs01.shape[0], 256):
            outs.append(judge(imgs01[i:i + 256]))
    cat = [torch.cat([o[k] for o in outs]) for k in range(6)]
    attrs = torch.stack([cat[k].argmax(1) for k in range(4)], 1).numpy()
    return attrs, cat[4].argmax(1).numpy(), cat[5].numpy() * 32.0


def measure(quick=False):
    torch.set_num_threads(int(os.environ.get("TOYWORLD_THREADS", "2")))
    M = __import__("export").load_all()
    sf = json.load(open(os.path.join(train.WORK, "vae_scaling.json")))["scaling_factor"]
    tok = tokenizer.ClipTokenizer(os.path.join(ROOT, "models", "toyworld", "tokenizer"))
    bench = json.load(open(os.path.join(ROOT, "testdata", "toyworld", "benchmark.json")))
    figs = {}
    t0 = time.time()
    # judge on fresh renders
    n = 500 if quick else 2000
    d = world.make_dataset(n, seed=999)
    x01 = torch.from_numpy(d["images"]).permute(0, 3, 1, 2).float() / 255.0
    attrs, scene, kp = judge_images(M["judge"], x01)
    acc = {a: float((attrs[:, i] == d["identity"][:, i]).mean()) for i, (a, _) in enumerate(world.ATTRIBUTES)}
    acc["scene"] = float((scene == d["scene"]).mean())
    kerr = np.linalg.norm(kp - d["keypoints"], axis=-1) / 32 * 100
    figs["judge_fresh"] = {"n": n, "accuracy": acc, "keypoint_median_pct": float(np.median(kerr)),
                           "keypoint_mean_pct": float(kerr.mean())}
    # VAE PSNR on fresh renders, and judge after VAE round trip
    with torch.no_grad():
        m, _ = M["vae"].encode(x01 * 2 - 1)
        rec = ((M["vae"].decode(m).clamp(-1, 1) + 1) * 127.5).round() / 255.0
    mse_img = ((rec - x01) ** 2).mean(dim=(1, 2, 3)).numpy()
    figs["vae_fresh"] = {"n": n, "psnr_db_aggregate": float(10 * np.log10(1.0 / mse_img.mean())),
                         "psnr_db_mean_per_image": float(np.mean(10 * np.log10(1.0 / np.maximum(mse_img, 1e-10))))}
    attrs_r, scene_r, kp_r = judge_images(M["judge"], rec)
    acc_r = {a: float((attrs_r[:, i] == d["identity"][:, i]).mean()) for i, (a, _) in enumerate(world.ATTRIBUTES)}
    acc_r["scene"] = float((scene_r == d["scene"]).mean())
    figs["judge_vae_roundtrip"] = {"accuracy": acc_r, "keypoint_median_pct":
                                   float(np.median(np.linalg.norm(kp_r - d["keypoints"], axis=-1) / 32 * 100))}
    print(json.dumps(figs, indent=1), flush=True)
    # generation: scene fidelity + attribute honour
    S = bench["settings"]
    cases = bench["generation"]["cases"][: (48 if quick else None)]
    imgs = []
    for i in range(0, len(cases), 32):
        cs = cases[i:i + 32]
        xT = torch.cat([torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(c["seed"])) for c in cs])
        _, img = sampler.generate(M, tok, [c["prompt"] for c in cs], xT, S["sampler"], S["steps"], S["cfg"], sf=sf)
        imgs.append(((img.clamp(-1, 1) + 1) / 2))
    imgs = torch.cat(imgs)
    save_grid(imgs[:64], os.path.join(train.WORK, "gen_grid.png"))
    attrs, scene, _ = judge_images(M["judge"], imgs)
    names = [a for a, _ in world.ATTRIBUTES]
    sc = [world.SCENES[s] == c["scene"] for s, c in zip(scene, cases)]
    hon = {a: [] for a in names}
    for j, c in enumerate(cases):
        for a, v in c["named"].items():
            i = names.index(a)
            hon[a].append(dict(world.ATTRIBUTES)[a][attrs[j, i]] == v)
    figs["generation"] = {"n": len(cases), "scene_fidelity": float(np.mean(sc)),
                          "attribute_honour": {a: (float(np.mean(v)) if v else None) for a, v in hon.items()},
                          "attribute_honour_counts": {a: len(v) for a, v in hon.items()}}
    # diversity
    div = {}
    for p in bench["generation"]["diversity_prompts"][: (2 if quick else None)]:
        seeds = bench["generation"]["diversity_seeds"]
        xT = torch.cat([torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(s)) for s in seeds])
        _, img = sampler.generate(M, tok, [p] * len(seeds), xT, S["sampler"], S["steps"], S["cfg"], sf=sf)
        a, _, _ = judge_images(M["judge"], (img.clamp(-1, 1) + 1) / 2)
        div[p] = len(set(map(tuple, a.tolist())))
    figs["diversity"] = {"per_prompt": div, "min": min(div.values()), "mean": float(np.mean(list(div.values()))),
                         "seeds": len(bench["generation"]["diversity_seeds"])}
    print(json.dumps({k: figs[k] for k in ("generation", "diversity")}, indent=1), flush=True)
    # ControlNet pose error
    if train.load_ckpt("controlnet"):
        pcs = bench["controlnet"]["cases"][: (32 if quick else None)]
        errs = []
        errs_nocn = []
        for i in range(0, len(pcs), 32):
            cs = pcs[i:i + 32]
            kps = np.array([c["keypoints_32"] for c in cs])
            cond = torch.from_numpy(np.stack([openpose.draw_skeleton(k, [True] * 18, 32, 32) for k in kps])
                                    ).permute(0, 3, 1, 2).float() / 255.0
            xT = torch.cat([torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(c["seed"])) for c in cs])
            for scale, acc_list in ((1.0, errs), (0.0, errs_nocn)):
                _, img = sampler.generate(M, tok, [c["prompt"] for c in cs], xT, S["sampler"], S["steps"], S["cfg"],
                                          sf=sf, control=cond, control_scale=scale)
                _, _, kpj = judge_images(M["judge"], (img.clamp(-1, 1) + 1) / 2)
                acc_list.append(np.linalg.norm(kpj - kps, axis=-1) / 32 * 100)
                if scale == 1.0 and i == 0:
                    save_grid(torch.cat([(img.clamp(-1, 1) + 1) / 2, cond]), os.path.join(train.WORK, "cn_grid.png"))
        figs["controlnet"] = {"n": len(pcs), "scale": 1.0, "pose_error_median_pct": float(np.median(np.concatenate(errs))),
                              "pose_error_median_pct_without_control": float(np.median(np.concatenate(errs_nocn)))}
        print(json.dumps(figs["controlnet"], indent=1), flush=True)
    figs["seconds"] = time.time() - t0
    json.dump(figs, open(os.path.join(train.WORK, "figures%s.json" % ("_quick" if quick else "")), "w"), indent=1)
    return figs


def save_grid(imgs01, path, cols=8):
    from PIL import Image
    a = (imgs01.clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    n = a.shape[0]
    rows = (n + cols - 1) // cols
    g = np.zeros((rows * 32, cols * 32, 3), np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        g[r * 32:(r + 1) * 32, c * 32:(c + 1) * 32] = a[i]
    Image.fromarray(g).resize((cols * 96, rows * 96), Image.NEAREST).save(path)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2] if len(sys.argv) > 2 else ROOT)
    else:
        measure("--quick" in sys.argv)
