"""Writes the benchmark inputs the PyTorch references draw with torch, so the Go
benchmark (`oneactor-desktop bench quality`) can use exactly the same ones:
- the OneActor target pictures as PNGs: target i = world.render(identity,
  scene 0, world.sample_pose(rng(i)), rng(i)), as oneactor.py renders them;
- the initial noise x_T of every benchmark seed, torch.randn([1,4,8,8],
  generator=torch.Generator().manual_seed(seed)), as benchmark.py and
  oneactor.py draw it: benchmark_noise.f32 (little-endian float32, one
  [4,8,8] block per seed, in the order of benchmark_noise.json's "seeds").

usage: python3 write_targets.py [REPO_ROOT]
  -> testdata/toyworld/benchmark_targets/target_NN.png, testdata/toyworld/benchmark_noise.{f32,json}
"""
import json
import os
import sys

import numpy as np
from PIL import Image

import world

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main(root):
    bench = json.load(open(os.path.join(root, "testdata", "toyworld", "benchmark.json")))
    out = os.path.join(root, "testdata", "toyworld", "benchmark_targets")
    os.makedirs(out, exist_ok=True)
    for ti, tgt in enumerate(bench["subject"]["targets"]):
        ident = world.identity_from_index(tgt["identity_index"])
        img, _ = world.render(ident, 0, world.sample_pose(np.random.default_rng(ti)), np.random.default_rng(ti))
        Image.fromarray(img).save(os.path.join(out, "target_%02d.png" % ti))
    print("wrote %d targets to %s" % (len(bench["subject"]["targets"]), out))
    import torch
    seeds = set(bench["subject"]["seeds"]) | {300 + i for i in range(10)}  # oneactor.py's auxiliaries
    seeds |= {c["seed"] for c in bench["generation"]["cases"]} | set(bench["generation"]["diversity_seeds"])
    seeds |= {c["seed"] for c in bench["controlnet"]["cases"]}
    seeds = sorted(seeds)
    x = torch.cat([torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(sd)) for sd in seeds])
    x.numpy().astype("<f4").tofile(os.path.join(root, "testdata", "toyworld", "benchmark_noise.f32"))
    json.dump({"shape": [4, 8, 8], "dtype": "float32", "rule": "torch.randn([1,4,8,8], generator=torch.Generator().manual_seed(seed))",
               "seeds": seeds}, open(os.path.join(root, "testdata", "toyworld", "benchmark_noise.json"), "w"))
    print("wrote the initial noise of %d seeds" % len(seeds))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ROOT)
