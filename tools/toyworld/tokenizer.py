"""CLIP-format byte-level BPE tokenizer for ToyWorld.

build_files(dir): learns BPE merges on the ToyWorld caption vocabulary plus a list of common
English words and writes vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json
in the layout of openai/clip-vit-large-patch14 (the SD 1.5 tokenizer):
  ids 0..255   the 256 byte symbols (GPT-2 bytes_to_unicode order)
  ids 256..511 the same with '</w>'
  then one id per merge, in merge order
  then <|startoftext|>, <|endoftext|> (the two highest ids; EOS is the largest id).
merges.txt: first line '#version: 0.2', then one merge 'a b' per line.

ClipTokenizer is the reference implementation the goldens come from (OpenAI CLIP
simple_tokenizer without ftfy): html.unescape twice, strip, collapse whitespace to one
space, lower-case, split with the CLIP pattern, byte-encode, BPE, then
[BOS] + ids[:75] + [EOS] padded with EOS (pad_token <|endoftext|>, SD 1.x) to 77.
"""
import html
import json
import os
import regex as re

import world

PAT = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
                 re.IGNORECASE)
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
MAX_LEN = 77

EXTRA_WORDS = """
a an the of in on at with and or to from by for under over near behind beside inside outside
photo picture image rendering drawing sketch painting art pixel cartoon toy cute small big
tiny large little good nice close bright dark cropped my one two three happy sad angry sleepy
creature creatures character mascot monster animal cat dog bird fish robot person man woman
child hobbit mug cup bottle car house tree flower sun moon star stars sky cloud clouds rain
red orange yellow green blue purple pink white black brown gray grey gold silver
round square pointy tall short fat thin eyes eye hat crown bow scarf glasses
meadow beach snow night city desert forest underwater sea ocean river lake mountain mountains
field garden park street road room kitchen table counter marble wood wooden stone
morning evening sunset sunrise light shadow day winter summer spring autumn
standing sitting running jumping walking flying dancing waving smiling looking holding
is are was be has have very high quality detailed best masterpiece style
photorealistic realistic digital oil watercolor studio lighting background simple
""".split()


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENC = bytes_to_unicode()


def whitespace_clean(t):
    return re.sub(r"\s+", " ", t).strip()


def basic_clean(t):
    return html.unescape(html.unescape(t)).strip()


def corpus_words():
    import numpy as np
    rng = np.random.default_rng(0)
    freq = {}
    def add(text, c=1):
        text = whitespace_clean(basic_clean(text)).lower()
        for tok in PAT.findall(text):
            w = "".join(BYTE_ENC[b] for b in tok.encode("utf-8"))
            freq[w] = freq.get(w, 0) + c
    for _ in range(4000):
        img_ident = tuple(int(rng.integers(0, len(v))) for _, v in world.ATTRIBUTES)
        add(world.caption(img_ident, int(rng.integers(0, len(world.SCENES))), rng))
    for t in world.TEMPLATES:
        add(t.format("creature"), 5)
    for w in EXTRA_WORDS:
        add(w, 1)
    return freq


def learn_merges(freq):
    words = {tuple(w[:-1]) + (w[-1] + "</w>",): c for w, c in freq.items()}
    merges = []
    while True:
        pairs = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], -len(kv[0][0] + kv[0][1]), kv[0]))[0]
        merges.append(best)
        nw = {}
        for w, c in words.items():
            out = []
            i = 0
            while i < len(w):
                if i < len(w) - 1 and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] = c
        words = nw
    return merges


def build_files(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    merges = learn_merges(corpus_words())
    vocab = list(BYTE_ENC.values())
    vocab = vocab + [v + "</w>" for v in vocab]
    for a, b in merges:
        vocab.append(a + b)
    vocab += [BOS, EOS]
    enc = {v: i for i, v in enumerate(vocab)}
    assert len(enc) == len(vocab), "duplicate vocab entries"
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(enc, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(a + " " + b + "\n")
    special = {"bos_token": {"content": BOS, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
               "eos_token": {"content": EOS, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
               "pad_token": EOS,
               "unk_token": {"content": EOS, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}}
    with open(os.path.join(out_dir, "special_tokens_map.json"), "w") as f:
        json.dump(special, f, indent=2)
    cfg = {"add_prefix_space": False, "bos_token": special["bos_token"], "eos_token": special["eos_token"],
           "pad_token": EOS, "unk_token": special["unk_token"], "do_lower_case": True, "errors": "replace",
           "model_max_length": MAX_LEN, "name_or_path": "toyworld/tokenizer", "special_tokens_map_file": None,
           "tokenizer_class": "CLIPTokenizer"}
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    return len(vocab)


class ClipTokenizer:
    def __init__(self, d):
        with open(os.path.join(d, "vocab.json"), encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(os.path.join(d, "merges.txt"), encoding="utf-8") as f:
            lines = f.read().split("\n")[1:]
        merges = [tuple(l.split()) for l in lines if l.strip()]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.bos = self.encoder[BOS]
        self.eos = self.encoder[EOS]
        self.pad = self.eos
        self.cache = {BOS: BOS, EOS: EOS}
        self.vocab_size = len(self.encoder)

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            a, b = best
            out, i = [], 0
            while i < len(word):
                try:
                    j = word.index(a, i)
                except ValueError:
                    out.extend(word[i:])
                    break
                out.extend(word[i:j])
                i = j
                if word[i] == a and i < len(word) - 1 and word[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = tuple(out)
        res = " ".join(word)
        self.cache[token] = res
        return res

    def encode(self, text):
        """Token ids without BOS/EOS."""
        text = whitespace_clean(basic_clean(text)).lower()
        ids = []
        for tok in PAT.findall(text):
            if tok in (BOS, EOS):
                ids.append(self.encoder[tok])
                continue
            t = "".join(BYTE_ENC[b] for b in tok.encode("utf-8"))
            ids.extend(self.encoder[p] for p in self.bpe(t).split(" "))
        return ids

    def __call__(self, text):
        """77 ids: BOS, up to 75 tokens, EOS, EOS padding (SD 1.x)."""
        ids = [self.bos] + self.encode(text)[:MAX_LEN - 2] + [self.eos]
        return ids + [self.pad] * (MAX_LEN - len(ids))

    def word_positions(self, text, word):
        """Positions (in the 77-id sequence) of the tokens of `word`; `word` must be one token."""
        wid = self.encode(word)
        ids = self(text)
        if len(wid) != 1:
            return None
        return [i for i, t in enumerate(ids) if t == wid[0]]


if __name__ == "__main__":
    import sys
    d = sys.argv[1]
    n = build_files(d)
    tok = ClipTokenizer(d)
    words = set(EXTRA_WORDS)
    for _, vals in world.ATTRIBUTES:
        words |= set(vals)
    bad = [w for w in sorted(words) if len(tok.encode(w)) != 1]
    print("vocab", n, "multi-token words:", bad)
    print(tok("a red round creature with a hat on the beach")[:14])
