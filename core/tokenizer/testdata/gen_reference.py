"""Differential cases for core/tokenizer: random, adversarial prompts encoded by
the Python reference (tools/toyworld/tokenizer.py ClipTokenizer) over the ToyWorld
tokenizer files. Needs the `regex` package only (world.py's numpy/PIL are stubbed).

usage: python3 gen_reference.py REPO_ROOT > reference_cases.json
"""
import json
import random
import sys
import types

root = sys.argv[1]
sys.modules["world"] = types.ModuleType("world")  # only build_files needs it
sys.path.insert(0, root + "/tools/toyworld")
import tokenizer as T  # noqa: E402

tok = T.ClipTokenizer(root + "/models/toyworld/tokenizer")
pieces = [
    "a", "creature", "Creature", "RED", "hat", "the", "beach", " ", "  ", "\t", "\n", "\r\n", "\u3000", "\u00a0",
    "\x1c", "\x1f", "\u2028", "'s", "'S", "'ll", "'", "’", "it's", "don't", ",", ".", "!!", "?!", "...", "(", ")",
    "[", "]", ":1.2", "<", ">", "|", "<|startoftext|>", "<|endoftext|>", "<|ENDOFTEXT|>", "&amp;", "&amp;amp;",
    "&lt;", "&gt;", "&#65;", "&#x41;", "&#1;", "&#128;", "&#x110000;", "&notit;", "&ampx", "&", "&#", "Σ", "ΣΑΣ",
    "ΟΔΟΣ", "İ", "ß", "ẞ", "Ǆ", "ǅ", "e\u0301", "café", "naïve", "Ünïcödé", "猫", "城市", "🐉", "😀", "👍🏽",
    "1", "12", "3.14", "٣", "½", "Ⅻ", "x²", "_", "-", "/", "\\", "\"", "`", "~", "@", "#", "$", "%", "^", "*",
    "+", "=", "{", "}", ";", "xxxxxxxx", "supercalifragilistic", "mug", "hobbit", "snow", "\u200b", "\ufeff",
    "\u0085", "ﬁ", "Ａ", "ｱ", "한국어", "עברית", "العربية", "हिन्दी",
]
rng = random.Random(7)
cases = []
for i in range(400):
    n = rng.randint(1, 40 if i % 10 else 120)
    text = "".join(rng.choice(pieces) + (" " if rng.random() < 0.4 else "") for _ in range(n))
    cases.append({"text": text, "tokens": tok.encode(text)})
json.dump({"description": "random prompts encoded by tools/toyworld/tokenizer.py ClipTokenizer "
                          "(core/tokenizer/testdata/gen_reference.py, seed 7)", "cases": cases},
          sys.stdout, ensure_ascii=True, separators=(",", ":"))
