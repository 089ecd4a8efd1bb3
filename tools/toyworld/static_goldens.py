"""Writes the model-independent fixtures: tokenizer files, tokenizer goldens, skeleton goldens.

usage: python3 static_goldens.py REPO_ROOT
"""
import json
import os
import sys

import numpy as np
from PIL import Image

import openpose
import tokenizer
import world

TOKENIZER_STRINGS = [
    "", "a creature", "a red round creature with a hat on the beach",
    "a photo of a creature in the snow", "A RED Round Creature", "a   creature\t\nat   night",
    "an orange pointy creature with sleepy eyes and a crown in the city",
    "a purple square creature with big eyes underwater", "creature, creature; creature!",
    "a creature... at night?!", "it's a creature's hat, isn't it? we'll see, they're here, i'm ok, you'd go, we've",
    "a café in the city", "naïve résumé", "ein Geschöpf im Schnee", "ТВАРЬ на пляже", "城市里的生物",
    "a creature 🐉 with fire 🔥", "emoji only 😀😃😄", "numbers 12345 and 3.14 and 1,000",
    "&amp; html &lt;escaped&gt; &amp;amp;", "<|startoftext|>a creature<|endoftext|>",
    "hyphen-ated and under_scored and slash/word", "CamelCaseCreature", "x" * 30,
    "supercalifragilisticexpialidocious creature", "a photo of a hobbit with a ceramic mug",
    "tabs\tand\nnewlines\r\nmixed", "(a creature:1.2) [snow] {meadow}", "'quoted' \"double\" `back`",
    " ".join(["creature"] * 80), " ".join(["a red round creature on the beach"] * 12),
    "a crea ture in the mead ow", "Ünïcödé ÜBER straße", "tiny eyes, big eyes, sleepy eyes",
    "a cute toy creature, pixel art, best quality, masterpiece",
]

# 12 fixed poses in the 32-px model frame; some with missing points.
def fixed_poses():
    rng = np.random.default_rng(1234)
    poses = []
    for i in range(12):
        p = world.sample_pose(rng)
        kp = world.keypoints(p)
        present = [True] * 18
        if i == 3:
            for k in (16, 17):
                present[k] = False                    # no ears
        if i == 5:
            for k in (3, 4):
                present[k] = False                    # right arm missing
        if i == 7:
            present[1] = False                        # no neck: every limb from the neck skipped
        if i == 9:
            for k in (0, 14, 15, 16, 17):
                present[k] = False                    # no face
        if i == 11:
            kp[4] = kp[3]                              # zero-length forearm (skipped limb)
        poses.append((kp, present))
    # one pose partly outside the canvas
    kp = world.keypoints(dict(cx=3.0, cy=12.0, R=6.0, arm_r=(0, 0), arm_l=(-30, 20), leg_r=(10, 0), leg_l=(-10, 5)))
    poses.append((kp, [True] * 18))
    return poses


def main(root):
    tdir = os.path.join(root, "models", "toyworld", "tokenizer")
    tokenizer.build_files(tdir)
    tok = tokenizer.ClipTokenizer(tdir)
    gold = {"description": "ids: 77 input_ids (BOS, tokens truncated to 75, EOS, padded with EOS) from "
                           "tools/toyworld/tokenizer.py ClipTokenizer over models/toyworld/tokenizer; "
                           "tokens: ids without BOS/EOS/padding and without truncation",
            "bos": tok.bos, "eos": tok.eos, "pad": tok.pad, "max_length": 77, "cases": []}
    for s in TOKENIZER_STRINGS:
        gold["cases"].append({"text": s, "ids": tok(s), "tokens": tok.encode(s)})
    words = {}
    for w in ["creature", "hobbit", "mug", "red", "hat", "beach", "crea", "supercalifragilisticexpialidocious", "café"]:
        words[w] = tok.encode(w)
    gold["words"] = words
    gold["word_positions"] = [{"text": t, "word": "creature", "positions": tok.word_positions(t, "creature")}
                              for t in ["a creature", "a photo of a red creature on the beach", "creature creature"]]
    td = os.path.join(root, "testdata", "toyworld")
    os.makedirs(td, exist_ok=True)
    with open(os.path.join(td, "tokenizer_golden.json"), "w", encoding="utf-8") as f:
        json.dump(gold, f, ensure_ascii=False, indent=1)

    sdir = os.path.join(td, "skeletons")
    os.makedirs(sdir, exist_ok=True)
    index = []
    for i, (kp, present) in enumerate(fixed_poses()):
        entry = {"name": "pose%02d" % i, "keypoints_32": [[float(x), float(y)] for x, y in kp],
                 "present": present, "images": {}}
        for W in (32, 512):
            k = kp * (W / 32.0)
            img = openpose.draw_skeleton(k, present, W, W)
            fn = "pose%02d_%d.png" % (i, W)
            Image.fromarray(img).save(os.path.join(sdir, fn))
            entry["images"][str(W)] = fn
            if W == 512:
                with open(os.path.join(sdir, "pose%02d_512.json" % i), "w") as f:
                    json.dump(openpose.to_openpose_json(k, present, W, W), f)
        index.append(entry)
    with open(os.path.join(sdir, "index.json"), "w") as f:
        json.dump({"description": "Skeletons drawn by tools/toyworld/openpose.py (rule in its docstring). "
                                  "keypoints_32 are pixel coords in a 32x32 canvas; for size W multiply by W/32. "
                                  "present=false: missing keypoint. poseNN_512.json: OpenPose JSON of the 512 canvas.",
                   "poses": index}, f, indent=1)
    print("tokenizer vocab", tok.vocab_size, "cases", len(TOKENIZER_STRINGS), "poses", len(index))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
