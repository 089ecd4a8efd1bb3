"""Writes the OneActor benchmark's target pictures as PNGs, so the Go benchmark
(`oneactor-desktop bench quality`) imports exactly the images the PyTorch
reference (oneactor.py) renders: target i = world.render(identity, scene 0,
world.sample_pose(rng(i)), rng(i)).

usage: python3 write_targets.py [REPO_ROOT]    -> testdata/toyworld/benchmark_targets/target_NN.png
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


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ROOT)
