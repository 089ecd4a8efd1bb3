#!/usr/bin/env python3
"""PyTorch side of the tuning benchmark: casting (10 auxiliaries, target from
a rendered image) and 200 OneActor tuning steps with the reference
implementation (tools/toyworld/oneactor.py) on the ToyWorld model — what
`oneactor-desktop subject create --model toyworld --steps 200` does.

usage: python3 tools/bench/torch_tune.py [--steps 200] [--threads 2]
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "toyworld"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import oneactor  # noqa: E402
import tokenizer  # noqa: E402
import train  # noqa: E402
import world  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    M = __import__("export").load_all()
    sf = json.load(open(os.path.join(train.WORK, "vae_scaling.json")))["scaling_factor"]
    tok = tokenizer.ClipTokenizer(os.path.join(HERE, "..", "..", "models", "toyworld", "tokenizer"))
    oa = oneactor.OneActor(M, tok, sf)
    t0 = time.perf_counter()
    aux_lat, aux_h, _ = oa.auxiliaries(list(range(300, 310)))
    ident = world.identity_from_index(60)
    img, _ = world.render(ident, 0, world.sample_pose(np.random.default_rng(0)), np.random.default_rng(0))
    z_t, h_t = oa.h_of_image(img)
    cast = time.perf_counter() - t0
    t0 = time.perf_counter()
    oa.tune(z_t, h_t, aux_lat, aux_h, steps=a.steps, seed=0)
    tune = time.perf_counter() - t0
    print(f"torch {torch.__version__}, {a.threads} threads: casting {cast:.1f}s, tuning {a.steps} steps {tune:.1f}s")


if __name__ == "__main__":
    main()
