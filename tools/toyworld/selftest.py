"""Self-checks of the Python references (no trained models needed). usage: python3 selftest.py"""
import json
import os

import numpy as np
import torch

import openpose
import sampler
import schedulers as S
import tokenizer
import world

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
ok = fail = 0


def check(name, cond):
    global ok, fail
    if cond:
        ok += 1
    else:
        fail += 1
        print("FAIL", name)


tok = tokenizer.ClipTokenizer(os.path.join(ROOT, "models", "toyworld", "tokenizer"))
for _, vals in world.ATTRIBUTES:
    for v in vals:
        if v != "none":
            check("single token " + v, len(tok.encode(v)) == 1)
for s in world.SCENES + ["creature"]:
    check("single token " + s, len(tok.encode(s)) == 1)
g = json.load(open(os.path.join(ROOT, "testdata", "toyworld", "tokenizer_golden.json")))
for c in g["cases"]:
    check("golden " + c["text"][:20], tok(c["text"]) == c["ids"])
check("eos is max id", tok.eos == max(tok.encoder.values()))

# skeleton goldens reproduce
idx = json.load(open(os.path.join(ROOT, "testdata", "toyworld", "skeletons", "index.json")))
from PIL import Image
for p in idx["poses"]:
    kp = np.array(p["keypoints_32"])
    for W, fn in p["images"].items():
        W = int(W)
        a = openpose.draw_skeleton(kp * W / 32, p["present"], W, W)
        b = np.asarray(Image.open(os.path.join(ROOT, "testdata", "toyworld", "skeletons", fn)).convert("RGB"))
        check("skeleton " + fn, (a == b).all())


# torch reference sampler == numpy sampler on a synthetic model
class Syn:
    def __call__(self, x, t):
        return 0.2 * x + 0.1 * float(np.sin(t / 100.0))


xT = np.random.default_rng(3).standard_normal(8)
for name, kr in (("euler", False), ("euler", True), ("ddim", False), ("dpmpp_2m", False), ("dpmpp_2m", True)):
    for n in (4, 20, 30):
        ref = S.sample(name, n, lambda x, t: 0.2 * x + 0.1 * np.sin(t / 100.0), xT, "leading", kr)
        got = sampler.run(name, n, Syn(), torch.tensor(xT, dtype=torch.float32), kr).numpy()
        err = np.abs(got - ref).max() / (np.abs(ref).max() + 1e-8)
        check("sampler %s karras=%s n=%d err %.2e" % (name, kr, n, err), err < 1e-4)

# add_noise consistency and alphas_cumprod vs torch
import models
check("alphas_cumprod", np.allclose(models.sd_alphas_cumprod().numpy(), S.alphas_cumprod(), rtol=1e-6))
print("%d passed, %d failed" % (ok, fail))
raise SystemExit(1 if fail else 0)
