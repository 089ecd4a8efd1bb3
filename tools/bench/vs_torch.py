#!/usr/bin/env python3
"""The pipeline benchmark of issue #4, side by side in one run: the Go
pipeline (`oneactor-desktop bench generate --lockstep`) and the PyTorch
reference sampler (torch_pipeline.py, in this process) take turns run for
run, so that a slow phase of a shared machine falls on both alike. Each
pair is one Go run and one torch run back to back (after a short idle
pause each, --settle), the order alternating from pair to pair.

usage: python3 tools/bench/vs_torch.py --go PATH/oneactor-desktop
           [--threads 1] [--batch 1,4] [--pairs 15] [--steps 30]
Prints, per batch size, the median wall time of each side and the median,
lowest and highest of the per-pair ratios (Go / torch); the same ratio of
the two processes' CPU time (user + system), which a busy host that keeps
a process waiting does not inflate; then the Go side's own table (share of
time inside ONNX Runtime, peak RSS).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# OMP_WAIT_POLICY is left to torch's default: PASSIVE would make its
# OpenMP workers sleep between operators, costing it a wake-up per operator
# at 2+ threads (0.67–0.84 s against 0.50–0.62 s at batch 4 here); the
# default spins only briefly after each operator before sleeping.

import torch_pipeline  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--go", required=True, help="the oneactor-desktop binary")
    ap.add_argument("--threads", type=int, default=1, help="threads for both sides")
    ap.add_argument("--batch", default="1,4")
    ap.add_argument("--pairs", type=int, default=15)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--prompt", default="a red round creature with a hat on the beach")
    ap.add_argument("--settle", type=float, default=0.3,
                    help="idle seconds before each timed run, so that neither side's thread pool, still spinning "
                         "after its turn, overlaps the other's (matters at 2+ threads)")
    a = ap.parse_args()
    batches = [int(x) for x in a.batch.split(",")]

    go = subprocess.Popen(
        [a.go, "--threads", str(a.threads), "bench", "generate", "--lockstep", "--repeat", str(a.pairs),
         "--batch", a.batch, "--steps", str(a.steps), "--prompt", a.prompt],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
    table = []

    def go_line(prefix):
        while True:
            line = go.stdout.readline()
            if not line:
                sys.exit(f"vs_torch: the Go side ended early (exit {go.wait()})")
            if line.startswith(prefix):
                return line
            if not line.startswith("lockstep"):
                table.append(line.rstrip("\n"))

    def torch_turn(bs):
        time.sleep(a.settle)
        return torch_pipeline.generate(M, tok, sf, a.prompt, bs, a.steps, cpu=True)

    def go_turn():
        time.sleep(a.settle)
        go.stdin.write("\n")
        go.stdin.flush()
        f = dict(kv.split("=") for kv in go_line("lockstep turn").split()[2:])
        return float(f["wall"]), float(f["cpu"])

    M, tok, sf = torch_pipeline.load(a.threads)
    print(f"torch {torch_pipeline.torch.__version__} and {os.path.basename(a.go)}, {a.threads} thread(s) each, "
          f"{a.steps} steps, CFG 7.5, Euler; {a.pairs} pairs per batch size, order alternating")
    print(f"{'batch':<6} {'Go median':>10} {'torch median':>13} {'Go/torch median':>16} {'lowest':>8} {'highest':>8}"
          f" {'CPU-time Go/torch':>18}")
    for bs in batches:
        torch_pipeline.generate(M, tok, sf, a.prompt, bs, a.steps)  # warm-up
        go_line(f"lockstep ready batch={bs}")
        gos, tos, ratios, cpu_ratios = [], [], [], []
        for i in range(a.pairs):
            if i % 2 == 0:
                t = torch_turn(bs)
                g = go_turn()
            else:
                g = go_turn()
                t = torch_turn(bs)
            gos.append(g[0])
            tos.append(t[0])
            ratios.append(g[0] / t[0])
            cpu_ratios.append(g[1] / t[1])
        print(f"{bs:<6} {statistics.median(gos):>9.3f}s {statistics.median(tos):>12.3f}s "
              f"{statistics.median(ratios):>15.3f}x {min(ratios):>7.3f}x {max(ratios):>7.3f}x"
              f" {statistics.median(cpu_ratios):>17.3f}x")
    go.stdin.close()
    rest = go.stdout.read()
    go.wait()
    print("Go side:")
    for line in table + rest.splitlines():
        if not line.startswith("lockstep"):
            print("  " + line)


if __name__ == "__main__":
    main()
