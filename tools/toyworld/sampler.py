"""PyTorch reference sampler for ToyWorld: Euler, Euler a, DDIM, DPM++ 2M (+Karras), LCM; CFG with all rows in
one UNet run; ControlNet; OneActor cluster-conditioned guidance (rows uncond / cond+v*d_tar / cond+d_aver).
The schedule arrays come from schedulers.py (float64), the arithmetic runs in float32 torch.
"""
import numpy as np
import torch

import schedulers as S


def encode_prompts(te, tok, prompts):
    ids = torch.tensor([tok(p) for p in prompts], dtype=torch.long)
    with torch.no_grad():
        return te(ids)[0]


def add_at(ctx, positions, delta):
    """c (+)_b x: add delta [B,D] at the base word's rows positions (list per batch row)."""
    ctx = ctx.clone()
    for i, pos in enumerate(positions):
        for p in pos:
            ctx[i, p] = ctx[i, p] + delta[i]
    return ctx


class Model:
    """eps(x_in, t, rows) with CFG / OneActor rows in one batched UNet call."""
    def __init__(self, M, cond, uncond, cfg, control=None, control_scale=1.0, oa=None, capture_h=False):
        self.unet, self.cn = M["unet"], M.get("cn")
        self.cond, self.uncond, self.cfg = cond, uncond, cfg
        self.control, self.control_scale = control, control_scale
        self.oa = oa          # dict(cond_tar, cond_aver, eta1, eta2, guided_steps)
        self.capture_h = capture_h
        self.h = None
        self.step = 0

    def __call__(self, x, t):
        B = x.shape[0]
        guided = self.oa is not None and self.step < self.oa["guided_steps"]
        if guided:
            rows = [self.uncond, self.oa["cond_tar"]] + ([self.oa["cond_aver"]] if self.oa["eta2"] != 0 else [])
        else:
            rows = [self.uncond, self.cond]
        ctx = torch.cat(rows)
        xx = torch.cat([x] * len(rows))
        tt = torch.full((xx.shape[0],), float(t))
        with torch.no_grad():
            dr = mr = None
            if self.control is not None and self.control_scale != 0:
                cc = torch.cat([self.control] * len(rows))
                dr, mr = self.cn(xx, tt, ctx, cc, self.control_scale)
            out, h = self.unet(xx, tt, ctx, dr, mr, return_h=True)
        e = out.chunk(len(rows))
        self.h = h.chunk(len(rows))[1]
        self.step += 1
        if guided:
            r = e[0] + self.oa["eta1"] * (e[1] - e[0])
            if self.oa["eta2"] != 0:
                r = r - self.oa["eta2"] * (e[2] - e[0])
            return r
        scale = self.cfg if self.oa is None else self.oa["eta1"] - self.oa["eta2"]
        return e[0] + scale * (e[1] - e[0])


def run(name, steps, model, xT, karras=False, spacing="leading", generator=None):
    f = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)
    if name in ("euler", "euler_a"):
        d = S.euler(steps, spacing, 1, karras) if name == "euler" else S.euler_ancestral(steps, spacing, 1)
        s = f(d["sigmas"])
        x = xT * float(d["init_noise_sigma"])
        for i, t in enumerate(d["timesteps"]):
            e = model(x / torch.sqrt(s[i] ** 2 + 1), t)
            x0 = x - s[i] * e
            if name == "euler":
                x = x + (x - x0) / s[i] * (s[i + 1] - s[i])
            else:
                dd = (x - x0) / s[i]
                noise = torch.randn(x.shape, generator=generator)
                x = x + dd * (float(d["sigma_down"][i]) - s[i]) + noise * float(d["sigma_up"][i])
        return x
    if name == "ddim":
        d = S.ddim(steps, spacing, 1)
        x = xT
        for i, t in enumerate(d["timesteps"]):
            e = model(x, t)
            a, ap = float(d["alpha_prod_t"][i]), float(d["alpha_prod_t_prev"][i])
            x0 = (x - (1 - a) ** 0.5 * e) / a ** 0.5
            x = ap ** 0.5 * x0 + (1 - ap) ** 0.5 * e
        return x
    if name == "dpmpp_2m":
        d = S.dpmpp_2m(steps, spacing, 1, karras)
        s = d["sigmas"]
        x = xT
        prev = None
        lam = lambda sg: -np.log(sg)
        N = len(d["timesteps"])
        for i, t in enumerate(d["timesteps"]):
            e = model(x, t)
            a_s = 1 / np.sqrt(s[i] ** 2 + 1)
            x0 = (x - s[i] * a_s * e) / a_s
            if s[i + 1] == 0:
                x = x0
            else:
                a_t = 1 / np.sqrt(s[i + 1] ** 2 + 1)
                h = lam(s[i + 1]) - lam(s[i])
                ratio = float((s[i + 1] * a_t) / (s[i] * a_s))
                c = float(-a_t * np.expm1(-h))
                if prev is None or (i == N - 1 and N < 15):
                    x = ratio * x + c * x0
                else:
                    r0 = (lam(s[i]) - lam(s[i - 1])) / h
                    x = ratio * x + c * x0 + 0.5 * c * (1 / r0) * (x0 - prev)
            prev = x0
        return x
    if name == "lcm":
        d = S.lcm(steps)
        x = xT
        for i, t in enumerate(d["timesteps"]):
            e = model(x, t)
            a = float(d["alpha_prod_t"][i])
            x0 = (x - (1 - a) ** 0.5 * e) / a ** 0.5
            den = float(d["c_skip"][i]) * x + float(d["c_out"][i]) * x0
            if i < steps - 1:
                ap = float(d["alpha_prod_t_prev"][i])
                x = ap ** 0.5 * den + (1 - ap) ** 0.5 * torch.randn(x.shape, generator=generator)
            else:
                x = den
        return x
    raise ValueError(name)


def generate(M, tok, prompts, xT, name="euler", steps=30, cfg=7.5, karras=False, sf=1.0, negative="",
             control=None, control_scale=1.0, generator=None, oa=None, return_h=False):
    """prompts: list (batch); xT [B,4,8,8] unit noise. Returns (latents, image in [-1,1])."""
    cond = encode_prompts(M["te"], tok, prompts)
    uncond = encode_prompts(M["te"], tok, [negative] * len(prompts))
    model = Model(M, cond, uncond, cfg, control, control_scale, oa)
    lat = run(name, steps, model, xT, karras, generator=generator)
    with torch.no_grad():
        img = M["vae"].decode(lat / sf)
    if return_h:
        return lat, img, model.h
    return lat, img
