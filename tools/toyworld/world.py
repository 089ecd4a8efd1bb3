"""ToyWorld renderer: pixel-art creatures with an 18-keypoint COCO/OpenPose skeleton on scenes.

Images are RES x RES RGB (RES = 32). 32x32 was chosen so that the whole model family
(VAE factor 4 -> 8x8x4 latents) trains in well under 100 minutes on 2 CPU cores while every
attribute is still clearly visible (body ~9-13 px, eyes 1-6 px: sleepy = 3-px slit under a 3-px lid, accessories 3-6 px).

Identity = (colour, shape, eyes, accessory): 6 x 3 x 3 x 4 = 216 combinations.
Scene = one of 8 named backgrounds.
"""
import math
import numpy as np
from PIL import Image, ImageDraw

RES = 32

COLORS = ["red", "orange", "yellow", "green", "blue", "purple"]
COLOR_RGB = [(220, 40, 40), (245, 140, 30), (240, 220, 40), (60, 190, 60), (50, 90, 230), (150, 60, 200)]
SHAPES = ["round", "square", "pointy"]
EYES = ["big", "tiny", "sleepy"]
ACCESSORIES = ["none", "hat", "crown", "bow"]
ATTRIBUTES = [("color", COLORS), ("shape", SHAPES), ("eyes", EYES), ("accessory", ACCESSORIES)]
SCENES = ["meadow", "beach", "snow", "night", "city", "desert", "forest", "underwater"]
SCENE_PHRASES = {
    "meadow": "in a meadow", "beach": "on the beach", "snow": "in the snow", "night": "at night",
    "city": "in the city", "desert": "in the desert", "forest": "in a forest", "underwater": "underwater",
}
# Caption templates ("{}" = the creature noun phrase). Used in training and by OneActor tuning.
TEMPLATES = [
    "a {}", "a photo of a {}", "a picture of a {}", "a rendering of a {}", "a drawing of a {}",
    "a pixel art {}", "an image of a {}", "a cute {}", "a small {}", "a good photo of a {}",
    "a close photo of a {}", "a bright photo of a {}", "a cropped photo of a {}", "a photo of the {}",
    "a rendering of the {}", "a drawing of the {}", "a picture of the {}", "the {}", "one {}",
    "a nice {}", "a photo of my {}", "a sketch of a {}", "art of a {}", "a cartoon {}",
    "a toy {}",
]
KEYPOINT_NAMES = ["nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
                  "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
                  "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear"]


def n_identities():
    return int(np.prod([len(v) for _, v in ATTRIBUTES]))


def identity_index(ident):
    i = 0
    for (name, vals), v in zip(ATTRIBUTES, ident):
        i = i * len(vals) + int(v)
    return i


def identity_from_index(i):
    out = []
    for name, vals in reversed(ATTRIBUTES):
        out.append(i % len(vals))
        i //= len(vals)
    return tuple(reversed(out))


def identity_words(ident):
    return {name: vals[v] for (name, vals), v in zip(ATTRIBUTES, ident)}


def creature_phrase(ident=None, rng=None, p_attr=0.6, use=None):
    """Noun phrase: '[colour] [shape] creature [with E eyes] [and|with a ACC]'.
    use: optional dict attr->bool forcing which attributes are named."""
    w = identity_words(ident) if ident is not None else {}
    def named(a):
        if ident is None:
            return False
        if use is not None:
            return bool(use.get(a, False))
        return rng.random() < p_attr
    parts = []
    if named("color"):
        parts.append(w["color"])
    if named("shape"):
        parts.append(w["shape"])
    parts.append("creature")
    tail = []
    if named("eyes"):
        tail.append("%s eyes" % w["eyes"])
    if w.get("accessory", "none") != "none" and named("accessory"):
        tail.append("a %s" % w["accessory"])
    s = " ".join(parts)
    if tail:
        s += " with " + " and ".join(tail)
    return s


def caption(ident, scene, rng, p_attr=0.6, p_template=0.3, use=None, template=None):
    np_ = creature_phrase(ident, rng, p_attr, use)
    if template is None:
        template = rng.choice(TEMPLATES[1:]) if rng.random() < p_template else "a {}"
    s = template.format(np_)
    if scene is not None:
        s += " " + SCENE_PHRASES[SCENES[scene]]
    return s.replace("a orange", "an orange").replace("a underwater", "an underwater")


def prefix_phrase(ident, rng, p_attr=0.8):
    """Noun phrase with every named attribute BEFORE the base word, so that the causal text encoder's
    "creature" row sees them all: '[colour] [shape] [E eyes] [ACC|simple] creature' (accessory "none" is
    named "simple"). Used by the identity-routing fine-tune (train.py route)."""
    w = identity_words(ident)
    parts = []
    if rng.random() < p_attr:
        parts.append(w["color"])
    if rng.random() < p_attr:
        parts.append(w["shape"])
    if rng.random() < p_attr:
        parts.append("%s eyes" % w["eyes"])
    if rng.random() < p_attr:
        parts.append("simple" if w["accessory"] == "none" else w["accessory"])
    parts.append("creature")
    return " ".join(parts)


def routed_captions(ident, scene, rng, p_attr=0.8, p_template=0.3):
    """(generic caption, prefix caption) with the same template and scene: 'a creature in a meadow',
    'a red round big eyes hat creature in a meadow'."""
    template = rng.choice(TEMPLATES[1:]) if rng.random() < p_template else "a {}"
    tail = (" " + SCENE_PHRASES[SCENES[scene]]) if scene is not None else ""
    fix = lambda s: s.replace("a orange", "an orange").replace("a underwater", "an underwater")
    return fix(template.format("creature") + tail), fix(template.format(prefix_phrase(ident, rng, p_attr)) + tail)


# ---------------------------------------------------------------- pose

def sample_pose(rng):
    """Returns pose parameters (dict). All keypoints in RES-pixel continuous coords."""
    R = rng.uniform(4.5, 6.5)
    cx = rng.uniform(9.0, 23.0)
    cy = rng.uniform(10.5 + (R - 4.5), 16.5)
    return dict(cx=cx, cy=cy, R=R,
                arm_r=(rng.uniform(-60, 70), rng.uniform(-70, 70)),
                arm_l=(rng.uniform(-60, 70), rng.uniform(-70, 70)),
                leg_r=(rng.uniform(-25, 25), rng.uniform(-25, 25)),
                leg_l=(rng.uniform(-25, 25), rng.uniform(-25, 25)))


def keypoints(p):
    """18x2 float array (x, y) in RES-pixel coordinates, OpenPose order."""
    cx, cy, R = p["cx"], p["cy"], p["R"]
    k = np.zeros((18, 2))
    k[0] = (cx, cy + 0.10 * R)               # nose
    k[1] = (cx, cy + 0.45 * R)               # neck
    k[14] = (cx - 0.40 * R, cy - 0.15 * R)   # right eye (image left)
    k[15] = (cx + 0.40 * R, cy - 0.15 * R)
    k[16] = (cx - 0.75 * R, cy - 0.45 * R)   # right ear
    k[17] = (cx + 0.75 * R, cy - 0.45 * R)
    k[2] = (cx - 0.80 * R, cy + 0.35 * R)    # right shoulder
    k[5] = (cx + 0.80 * R, cy + 0.35 * R)
    k[8] = (cx - 0.45 * R, cy + 0.85 * R)    # right hip
    k[11] = (cx + 0.45 * R, cy + 0.85 * R)
    La = 0.75 * R
    for side, (s, e, w), sign in (("arm_r", (2, 3, 4), -1), ("arm_l", (5, 6, 7), 1)):
        a1, d = p[side]
        a1 = math.radians(a1)
        a2 = a1 + math.radians(d)
        k[e] = k[s] + La * np.array([sign * math.cos(a1), math.sin(a1)])
        k[w] = k[e] + La * np.array([sign * math.cos(a2), math.sin(a2)])
    Ll = 0.5 * R
    for side, (h, kn, an), sign in (("leg_r", (8, 9, 10), -1), ("leg_l", (11, 12, 13), 1)):
        b1, b2 = p[side]
        b1 = math.radians(b1)
        b2 = math.radians(b2)
        k[kn] = k[h] + Ll * np.array([sign * math.sin(b1), math.cos(b1)])
        k[an] = k[kn] + Ll * np.array([sign * math.sin(b2), math.cos(b2)])
    return k


# ---------------------------------------------------------------- drawing

def _scene(d, scene, rng):
    name = SCENES[scene]
    hz = int(rng.integers(18, 23))
    W = RES
    if name == "meadow":
        d.rectangle([0, 0, W, hz], fill=(135, 200, 250))
        d.rectangle([0, hz, W, W], fill=(70, 160, 60))
        for _ in range(6):
            x, y = rng.integers(0, W), rng.integers(hz + 1, W)
            d.point((int(x), int(y)), fill=(250, 250, 120))
    elif name == "beach":
        d.rectangle([0, 0, W, hz - 4], fill=(150, 210, 255))
        d.rectangle([0, hz - 4, W, hz], fill=(30, 110, 200))
        d.rectangle([0, hz, W, W], fill=(235, 215, 150))
    elif name == "snow":
        d.rectangle([0, 0, W, hz], fill=(200, 205, 215))
        d.rectangle([0, hz, W, W], fill=(250, 250, 252))
        for _ in range(8):
            x, y = rng.integers(0, W), rng.integers(0, hz)
            d.point((int(x), int(y)), fill=(255, 255, 255))
    elif name == "night":
        d.rectangle([0, 0, W, hz], fill=(15, 20, 60))
        d.rectangle([0, hz, W, W], fill=(20, 50, 30))
        for _ in range(7):
            x, y = rng.integers(0, W), rng.integers(0, hz - 2)
            d.point((int(x), int(y)), fill=(255, 255, 200))
        mx, my = int(rng.integers(2, 27)), int(rng.integers(1, 6))
        d.ellipse([mx, my, mx + 3, my + 3], fill=(250, 250, 210))
    elif name == "city":
        d.rectangle([0, 0, W, W], fill=(170, 180, 195))
        x = -int(rng.integers(0, 4))
        while x < W:
            bw, bh = int(rng.integers(4, 8)), int(rng.integers(8, 17))
            d.rectangle([x, hz - bh, x + bw - 1, hz], fill=(80, 80, 95))
            for wy in range(hz - bh + 2, hz - 1, 3):
                for wx in range(x + 1, x + bw - 1, 2):
                    d.point((wx, wy), fill=(250, 220, 100))
            x += bw + 1
        d.rectangle([0, hz, W, W], fill=(110, 110, 115))
    elif name == "desert":
        d.rectangle([0, 0, W, hz], fill=(250, 200, 140))
        d.rectangle([0, hz, W, W], fill=(215, 170, 90))
        cxx = int(rng.integers(1, 30))
        d.rectangle([cxx, hz - 7, cxx + 1, hz], fill=(40, 120, 50))
        d.rectangle([cxx - 2, hz - 5, cxx - 2, hz - 3], fill=(40, 120, 50))
    elif name == "forest":
        d.rectangle([0, 0, W, hz], fill=(170, 210, 170))
        d.rectangle([0, hz, W, W], fill=(90, 70, 40))
        x = -int(rng.integers(0, 5))
        while x < W:
            th = int(rng.integers(10, 16))
            d.polygon([(x, hz), (x + 6, hz), (x + 3, hz - th)], fill=(20, 90, 40))
            x += int(rng.integers(4, 7))
    elif name == "underwater":
        for y in range(W):
            t = y / W
            d.line([(0, y), (W, y)], fill=(int(20 + 20 * t), int(150 - 70 * t), int(190 - 60 * t)))
        for _ in range(5):
            x, y = rng.integers(0, W - 2), rng.integers(0, W - 2)
            d.ellipse([int(x), int(y), int(x) + 2, int(y) + 2], outline=(200, 240, 255))


def _dark(c, f=0.45):
    return tuple(int(v * f) for v in c)


def draw_creature(d, ident, p, kp):
    col = COLOR_RGB[ident[0]]
    dark = _dark(col)
    cx, cy, R = p["cx"], p["cy"], p["R"]
    # limbs (drawn first, body covers their inner part)
    for chain in ((2, 3, 4), (5, 6, 7), (8, 9, 10), (11, 12, 13)):
        pts = [tuple(kp[i]) for i in chain]
        d.line(pts, fill=dark, width=1)
    for i in (4, 7):
        x, y = kp[i]
        d.rectangle([int(x) - 1, int(y) - 1, int(x), int(y)], fill=dark)  # hands 2x2
    for i in (10, 13):
        x, y = kp[i]
        d.rectangle([int(x) - 1, int(y), int(x) + 1, int(y)], fill=(30, 30, 30))  # feet 3x1
    shape = SHAPES[ident[1]]
    if shape == "round":
        box = [cx - R, cy - R, cx + R, cy + R]
        d.ellipse(box, fill=col, outline=dark)
        top = cy - R
    elif shape == "square":
        box = [cx - 0.9 * R, cy - 0.9 * R, cx + 0.9 * R, cy + R]
        d.rectangle(box, fill=col, outline=dark)
        top = cy - 0.9 * R
    else:
        pts = [(cx, cy - 1.3 * R), (cx + 1.15 * R, cy + R), (cx - 1.15 * R, cy + R)]
        d.polygon(pts, fill=col, outline=dark)
        top = cy - 1.3 * R
    # eyes
    eyes = EYES[ident[2]]
    for i in (14, 15):
        x, y = int(round(kp[i][0])), int(round(kp[i][1]))
        if eyes == "big":
            d.rectangle([x - 1, y - 1, x + 1, y + 1], fill=(255, 255, 255))
            d.point((x, y), fill=(0, 0, 0))
        elif eyes == "tiny":
            d.point((x, y), fill=(0, 0, 0))
        else:  # sleepy: a 3-px slit under a 3-px lid of the outline colour (6 px, unlike tiny's single dot)
            d.line([(x - 1, y - 1), (x + 1, y - 1)], fill=dark)
            d.line([(x - 1, y), (x + 1, y)], fill=(0, 0, 0))
    # accessory
    acc = ACCESSORIES[ident[3]]
    t = int(round(top))
    x = int(round(cx))
    if acc == "hat":
        d.rectangle([x - 4, t, x + 4, t], fill=(20, 20, 20))
        d.rectangle([x - 2, t - 3, x + 2, t - 1], fill=(20, 20, 20))
    elif acc == "crown":
        d.rectangle([x - 3, t - 1, x + 3, t], fill=(255, 200, 0))
        for dx in (-3, 0, 3):
            d.point((x + dx, t - 2), fill=(255, 200, 0))
    elif acc == "bow":
        d.polygon([(x, t - 1), (x - 3, t - 3), (x - 3, t + 1)], fill=(255, 80, 170))
        d.polygon([(x, t - 1), (x + 3, t - 3), (x + 3, t + 1)], fill=(255, 80, 170))


def render(ident, scene, pose, rng):
    """Returns (HxWx3 uint8 image, 18x2 keypoints in pixels)."""
    im = Image.new("RGB", (RES, RES))
    d = ImageDraw.Draw(im)
    _scene(d, scene, rng)
    kp = keypoints(pose)
    draw_creature(d, ident, pose, kp)
    return np.asarray(im, dtype=np.uint8), kp


def random_sample(rng):
    ident = tuple(int(rng.integers(0, len(v))) for _, v in ATTRIBUTES)
    scene = int(rng.integers(0, len(SCENES)))
    pose = sample_pose(rng)
    img, kp = render(ident, scene, pose, rng)
    return img, kp, ident, scene


def make_dataset(n, seed):
    rng = np.random.default_rng(seed)
    imgs = np.zeros((n, RES, RES, 3), np.uint8)
    kps = np.zeros((n, 18, 2), np.float32)
    ids = np.zeros((n, 4), np.int64)
    scenes = np.zeros((n,), np.int64)
    for i in range(n):
        imgs[i], kps[i], ident, scenes[i] = random_sample(rng)
        ids[i] = ident
    return dict(images=imgs, keypoints=kps, identity=ids, scene=scenes)


if __name__ == "__main__":
    import sys
    rng = np.random.default_rng(0)
    tiles = []
    for i in range(64):
        img, kp, ident, scene = random_sample(rng)
        tiles.append(img)
        if i < 8:
            print(caption(ident, scene, rng))
    grid = np.concatenate([np.concatenate(tiles[r * 8:(r + 1) * 8], 1) for r in range(8)], 0)
    Image.fromarray(grid).resize((256 * 3, 256 * 3), Image.NEAREST).save(sys.argv[1] if len(sys.argv) > 1 else "grid.png")
