"""OpenPose body skeleton drawing, exactly as ../../shared/docs/openpose.md (pixel rule below).

draw_skeleton(kp, present, W, H) -> HxWx3 uint8. Exact rule (the Go renderer must match):
  * canvas black; s = max(1, 4 * min(W, H) / 512)  (stick half-width and joint radius, px;
    4 px at 512, "scaled with the image", never below 1 px).
  * keypoints are pixel coordinates (x right, y down; (0,0) is the top-left corner of the
    top-left pixel, so pixel (i, j) has centre (i + 0.5, j + 0.5)).
  * limbs in order i = 0..16 (LIMBS): skipped when either end is missing or the limb has
    length 0; otherwise every pixel whose centre p satisfies
        (u / a)^2 + (v / s)^2 <= 1,   a = length / 2,
        u = (p - m) . d,  v = (p - m) . n,  m = midpoint, d = unit limb direction, n = d rotated 90°
    is set to floor(COLORS[i] * 0.6) (integer truncation: 255->153, 170->102, 85->51),
    overwriting what is there.
  * then joints k = 0..17 that are present: every pixel whose centre is within distance s
    (|p - k|^2 <= s^2) is set to COLORS[k].
All arithmetic in float64.
"""
import numpy as np

LIMBS = [(1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
         (1, 0), (0, 14), (14, 16), (0, 15), (15, 17)]
COLORS = [[255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0], [0, 255, 0],
          [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255], [0, 0, 255], [85, 0, 255],
          [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85]]


def stick_width(W, H):
    return max(1.0, 4.0 * min(W, H) / 512.0)


def draw_skeleton(kp, present, W, H):
    kp = np.asarray(kp, np.float64)
    img = np.zeros((H, W, 3), np.uint8)
    s = stick_width(W, H)
    px = np.arange(W, dtype=np.float64)[None, :] + 0.5
    py = np.arange(H, dtype=np.float64)[:, None] + 0.5
    for i, (a, b) in enumerate(LIMBS):
        if not (present[a] and present[b]):
            continue
        dx, dy = kp[b, 0] - kp[a, 0], kp[b, 1] - kp[a, 1]
        L = float(np.hypot(dx, dy))
        if L <= 0:
            continue
        mx, my = (kp[a, 0] + kp[b, 0]) / 2, (kp[a, 1] + kp[b, 1]) / 2
        ux, uy = dx / L, dy / L
        X, Y = px - mx, py - my
        u = X * ux + Y * uy
        v = -X * uy + Y * ux
        m = (u / (L / 2)) ** 2 + (v / s) ** 2 <= 1.0
        img[m] = [int(c * 0.6) for c in COLORS[i]]
    for k in range(18):
        if not present[k]:
            continue
        m = (px - kp[k, 0]) ** 2 + (py - kp[k, 1]) ** 2 <= s * s
        img[m] = COLORS[k]
    return img


def to_openpose_json(kp, present, W, H):
    flat = []
    for k in range(18):
        if present[k]:
            flat += [float(kp[k][0]), float(kp[k][1]), 1.0]
        else:
            flat += [0.0, 0.0, 0.0]
    return {"people": [{"pose_keypoints_2d": flat}], "canvas_width": W, "canvas_height": H}
