#!/usr/bin/env python3
"""PyTorch side of the pipeline benchmark: the ToyWorld reference sampler
(tools/toyworld/sampler.py) on the same weights, same steps, CFG and batch
sizes as `oneactor-desktop bench generate --model toyworld`.

usage: python3 tools/bench/torch_pipeline.py [--steps 30] [--batch 1,4] [--repeat 3] [--threads 2]
Prints the median wall time per batch size (text encoder + sampling + VAE).
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TW = os.path.join(HERE, "..", "toyworld")
sys.path.insert(0, TW)

import torch  # noqa: E402

import sampler  # noqa: E402
import tokenizer  # noqa: E402
import train  # noqa: E402


def load(threads):
    """The ToyWorld models, tokenizer and VAE scaling factor, with torch at
    `threads` intra-op threads."""
    torch.set_num_threads(threads)
    M = __import__("export").load_all()
    sf = json.load(open(os.path.join(train.WORK, "vae_scaling.json")))["scaling_factor"]
    tok = tokenizer.ClipTokenizer(os.path.join(HERE, "..", "..", "models", "toyworld", "tokenizer"))
    return M, tok, sf


def generate(M, tok, sf, prompt, bs, steps, cpu=False):
    """One timed generation (text encoder + sampling + VAE) of bs images;
    returns its wall time in seconds, and with cpu=True also the process's
    CPU time over it."""
    xT = torch.randn(bs, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        c0, t0 = time.process_time(), time.perf_counter()
        sampler.generate(M, tok, [prompt] * bs, xT, "euler", steps, 7.5, sf=sf)
        wall, used = time.perf_counter() - t0, time.process_time() - c0
    return (wall, used) if cpu else wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", default="1,4")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt", default="a red round creature with a hat on the beach")
    a = ap.parse_args()
    M, tok, sf = load(a.threads)
    print(f"torch {torch.__version__}, {a.threads} threads, {a.steps} steps, CFG 7.5, euler")
    for bs in [int(x) for x in a.batch.split(",")]:
        generate(M, tok, sf, a.prompt, bs, a.steps)  # warm-up
        times = sorted(generate(M, tok, sf, a.prompt, bs, a.steps) for _ in range(a.repeat))
        print(f"batch {bs}: median {times[len(times) // 2]:.3f}s over {a.repeat} runs")


if __name__ == "__main__":
    main()
