#!/usr/bin/env python3
"""PyTorch side of the gradient benchmark: one forward + backward of the
ToyWorld UNet, d mean((out - target)^2) / d encoder_hidden_states, over 5
rows with their own timesteps — what `oneactor-desktop bench grad` times.

usage: python3 tools/bench/torch_grad.py [--rows 5] [--repeat 5] [--threads 2]
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "toyworld"))

import torch  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    M = __import__("export").load_all()
    unet = M["unet"]
    D = M["te"](torch.zeros(1, 77, dtype=torch.long))[0].shape[-1]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(a.rows, 4, 8, 8, generator=g)
    tgt = torch.randn(a.rows, 4, 8, 8, generator=g)
    ts = torch.linspace(999, 1, a.rows)
    e0 = torch.randn(a.rows, 77, D, generator=g)

    def once():
        e = e0.clone().requires_grad_(True)
        loss = torch.mean((unet(x, ts, e) - tgt) ** 2)
        gr, = torch.autograd.grad(loss, e)
        return gr

    once()
    times = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    times.sort()
    print(f"torch {torch.__version__}, {a.threads} threads: {a.rows} rows forward+backward median {times[len(times)//2]:.4f}s over {a.repeat} runs")


if __name__ == "__main__":
    main()
