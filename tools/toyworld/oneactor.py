"""PyTorch reference of OneActor (../../shared/docs/oneactor-method.md) on the ToyWorld model.

usage: python3 oneactor.py [--targets N] [--seeds N] [--steps 200]   (measures the issue-8 style benchmark)

Casting here uses the import path for the target (render the target identity, VAE-encode, noise to t=100,
one UNet pass with the base prompt -> h) and generates N_aux = 10 auxiliaries from the base prompt
(30 Euler steps, CFG 7.5, empty-prompt negative), recording h from the conditional row at the last step.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import models
import sampler
import tokenizer
import train
import world

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")


class Res(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout)
        self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1), nn.BatchNorm2d(cout)
        self.skip = nn.Conv2d(cin, cout, 1, stride) if (cin != cout or stride != 1) else None

    def forward(self, x):
        h = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(h + (self.skip(x) if self.skip is not None else x))


class Projector(nn.Module):
    """h [B,C,H,W] -> delta [B,D]. Stem conv7x7/2 + BN + ReLU, 2 residual blocks at C/2, strided stages dropped
    while the map would shrink below 2x2, flatten, Linear, LayerNorm. Xavier-uniform init."""
    def __init__(self, C, H, W, D):
        super().__init__()
        layers = [nn.Conv2d(C, C // 2, 7, 2, 3), nn.BatchNorm2d(C // 2), nn.ReLU(), Res(C // 2, C // 2), Res(C // 2, C // 2)]
        c, h, w = C // 2, (H + 1) // 2, (W + 1) // 2
        for _ in range(2):
            if (h + 1) // 2 >= 2 and (w + 1) // 2 >= 2:
                layers += [Res(c, c // 2, 2), Res(c // 2, c // 2)]
                c, h, w = c // 2, (h + 1) // 2, (w + 1) // 2
        self.f = nn.Sequential(*layers)
        self.fc = nn.Linear(c * h * w, D)
        self.ln = nn.LayerNorm(D)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, h):
        return self.ln(self.fc(self.f(h).flatten(1)))


class OneActor:
    def __init__(self, M, tok, sf, base_word="creature", base_prompt="a creature"):
        self.M, self.tok, self.sf = M, tok, sf
        self.base_word, self.base_prompt = base_word, base_prompt
        self.ac = models.sd_alphas_cumprod()

    # -- casting
    def h_of_image(self, img_uint8, t=100, seed=0):
        x = torch.from_numpy(img_uint8[None]).permute(0, 3, 1, 2).float() / 127.5 - 1
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            m, _ = self.M["vae"].encode(x)
            z0 = m * self.sf
            eps = torch.randn(z0.shape, generator=g)
            a = self.ac[t]
            zt = a.sqrt() * z0 + (1 - a).sqrt() * eps
            ctx = sampler.encode_prompts(self.M["te"], self.tok, [self.base_prompt])
            _, h = self.M["unet"](zt, torch.tensor([float(t)]), ctx, return_h=True)
        return z0[0], h[0]

    def auxiliaries(self, seeds, steps=30, cfg=7.5):
        xT = torch.cat([torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(s)) for s in seeds])
        lat, img, h = sampler.generate(self.M, self.tok, [self.base_prompt] * len(seeds), xT, "euler", steps, cfg,
                                       sf=self.sf, return_h=True)
        return lat, h, img

    # -- tuning
    def tune(self, z_tar, h_tar, z_aux, h_aux, steps=200, lr=1e-4, lam1=0.5, lam2=0.2, seed=0, log_every=0):
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        unet, te = self.M["unet"], self.M["te"]
        for p in list(unet.parameters()) + list(te.parameters()):
            p.requires_grad_(False)
        C, H, W = h_tar.shape
        D = models.TE_CFG["hidden_size"]
        proj = Projector(C, H, W, D)
        proj.train()
        opt = torch.optim.AdamW(proj.parameters(), lr=lr, betas=(0.9, 0.999), weight_decay=1e-2)
        curve = []
        n_aux = z_aux.shape[0]
        for step in range(steps):
            aux = rng.integers(0, n_aux, 3)
            z0 = torch.stack([z_tar, z_aux[aux[0]], z_aux[aux[1]], z_aux[aux[2]], z_tar])
            hs = torch.stack([h_tar, h_aux[aux[0]], h_aux[aux[1]], h_aux[aux[2]]])
            flip = rng.random(5) < 0.5
            z0 = torch.where(torch.from_numpy(flip)[:, None, None, None], z0.flip(-1), z0)
            prompts = [rng.choice(world.TEMPLATES).format(self.base_word) for _ in range(5)]
            ids = torch.tensor([self.tok(p) for p in prompts])
            pos = [self.tok.word_positions(p, self.base_word) for p in prompts]
            with torch.no_grad():
                c = te(ids)[0]
            t = torch.from_numpy(rng.integers(0, 1000, 5))
            eps = torch.randn(5, 4, 8, 8)
            eps[4] = eps[0]
            a = self.ac[t][:, None, None, None]
            zt = a.sqrt() * z0 + (1 - a).sqrt() * eps
            d = proj(hs)
            deltas = torch.cat([d, d[1:4].mean(0, keepdim=True)])
            ctx = sampler.add_at(c, pos, deltas)
            pred = unet(zt, t.float(), ctx)
            per = ((pred - eps) ** 2).mean(dim=(1, 2, 3))
            loss = per[0] + lam1 * per[1:4].mean() + lam2 * per[4]
            opt.zero_grad()
            loss.backward()
            opt.step()
            curve.append(loss.item())
            if log_every and step % log_every == 0:
                print("tune step", step, "loss %.4f" % loss.item(), flush=True)
        with torch.no_grad():
            out = proj(torch.cat([h_tar[None], h_aux]))      # batch statistics (train mode), all 11 at once
        return out[0], out[1:].mean(0), curve, proj

    # -- textual-inversion-style ablation (issue 8 (b)): one free offset for the target, no auxiliaries
    def invert(self, z_tar, steps=200, lr=5e-3, seed=0):
        """5 target rows per step (own flip, template, t, noise each), mean MSE with the offset at the base word,
        AdamW (betas 0.9/0.999, weight decay 1e-2) on the offset itself. Sample with
        generate(..., d, d, v=1, eta1=cfg, eta2=0, guided_frac=1), i.e. plain CFG on c (+)_b d."""
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        unet, te = self.M["unet"], self.M["te"]
        for p in list(unet.parameters()) + list(te.parameters()):
            p.requires_grad_(False)
        d = torch.zeros(models.TE_CFG["hidden_size"], requires_grad=True)
        opt = torch.optim.AdamW([d], lr=lr, betas=(0.9, 0.999), weight_decay=1e-2)
        curve = []
        for step in range(steps):
            z0 = z_tar[None].expand(5, -1, -1, -1)
            flip = rng.random(5) < 0.5
            z0 = torch.where(torch.from_numpy(flip)[:, None, None, None], z0.flip(-1), z0)
            prompts = [rng.choice(world.TEMPLATES).format(self.base_word) for _ in range(5)]
            ids = torch.tensor([self.tok(p) for p in prompts])
            pos = [self.tok.word_positions(p, self.base_word) for p in prompts]
            with torch.no_grad():
                c = te(ids)[0]
            t = torch.from_numpy(rng.integers(0, 1000, 5))
            eps = torch.randn(5, 4, 8, 8)
            a = self.ac[t][:, None, None, None]
            zt = a.sqrt() * z0 + (1 - a).sqrt() * eps
            loss = ((unet(zt, t.float(), sampler.add_at(c, pos, d[None].expand(5, -1))) - eps) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            curve.append(loss.item())
        return d.detach(), curve

    # -- guidance
    def generate(self, prompts, xT, d_tar, d_aver, v=0.8, eta1=8.5, eta2=1.0, steps=30, guided_frac=2 / 3,
                 name="euler"):
        te = self.M["te"]
        cond = sampler.encode_prompts(te, self.tok, prompts)
        uncond = sampler.encode_prompts(te, self.tok, [""] * len(prompts))
        pos = [self.tok.word_positions(p, self.base_word) for p in prompts]
        B = len(prompts)
        oa = dict(cond_tar=sampler.add_at(cond, pos, (v * d_tar)[None].expand(B, -1)),
                  cond_aver=sampler.add_at(cond, pos, d_aver[None].expand(B, -1)),
                  eta1=eta1, eta2=eta2, guided_steps=int(round(steps * guided_frac)))
        model = sampler.Model(self.M, cond, uncond, eta1 - eta2, oa=oa)
        lat = sampler.run(name, steps, model, xT)
        with torch.no_grad():
            return self.M["vae"].decode(lat / self.sf)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=12)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--scenes", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--inversion-lr", type=float, default=5e-3)
    ap.add_argument("--out", default="oneactor_figures.json")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("TOYWORLD_THREADS", "2")))
    import benchmark
    M = __import__("export").load_all()
    sf = json.load(open(os.path.join(train.WORK, "vae_scaling.json")))["scaling_factor"]
    tok = tokenizer.ClipTokenizer(os.path.join(ROOT, "models", "toyworld", "tokenizer"))
    bench = json.load(open(os.path.join(ROOT, "testdata", "toyworld", "benchmark.json")))
    oa = OneActor(M, tok, sf)
    seeds = bench["subject"]["seeds"][: args.seeds]
    scenes = bench["subject"]["scene_prompts"][: args.scenes]
    names = [a for a, _ in world.ATTRIBUTES]
    res = {k: {"consistency": [], "agreement": [], "scene": []} for k in ("base", "oneactor", "oneactor_eta2_0",
                                                                              "textual_inversion")}
    aux_lat, aux_h, _ = oa.auxiliaries(list(range(300, 310)))
    tune_times, curves, inv_times = [], [], []
    for ti, tgt in enumerate(bench["subject"]["targets"][: args.targets]):
        ident = world.identity_from_index(tgt["identity_index"])
        img, _ = world.render(ident, 0, world.sample_pose(np.random.default_rng(ti)), np.random.default_rng(ti))
        z_t, h_t = oa.h_of_image(img)
        t0 = time.time()
        d_tar, d_aver, curve, _ = oa.tune(z_t, h_t, aux_lat, aux_h, steps=args.steps, lr=args.lr, seed=ti)
        tune_times.append(time.time() - t0)
        curves.append(curve)
        t0 = time.time()
        d_inv, _ = oa.invert(z_t, steps=args.steps, lr=args.inversion_lr, seed=ti)
        inv_times.append(time.time() - t0)
        prompts, xT, sc = [], [], []
        for s in scenes:
            for sd in seeds:
                prompts.append(s["template"].format("creature"))
                xT.append(torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(sd)))
                sc.append(world.SCENES.index(s["scene"]))
        xT = torch.cat(xT)
        for key in res:
            if key == "base":
                _, im = sampler.generate(M, tok, prompts, xT, "euler", 30, 7.5, sf=sf)
            elif key == "textual_inversion":
                im = oa.generate(prompts, xT, d_inv, d_inv, v=1.0, eta1=7.5, eta2=0.0, guided_frac=1.0)
            else:
                im = oa.generate(prompts, xT, d_tar, d_aver, eta2=(1.0 if key == "oneactor" else 0.0))
            a, s_, _ = benchmark.judge_images(M["judge"], (im.clamp(-1, 1) + 1) / 2)
            res[key]["consistency"].append(float((a == np.array(ident)).all(1).mean()))
            res[key]["agreement"].append(float((a == np.array(ident)).mean()))
            res[key]["scene"].append(float((s_ == np.array(sc)).mean()))
            if ti == 0:
                benchmark.save_grid((im[:32].clamp(-1, 1) + 1) / 2, os.path.join(train.WORK, "oa_%s.png" % key))
        print(ti, world.identity_words(ident), {k: (v["consistency"][-1], v["scene"][-1]) for k, v in res.items()},
              "tune %.1fs" % tune_times[-1], flush=True)
    out = {k: {m: float(np.mean(v)) for m, v in r.items()} for k, r in res.items()}
    out["tune_seconds_mean"] = float(np.mean(tune_times))
    out["inversion_seconds_mean"] = float(np.mean(inv_times))
    out["inversion_lr"] = args.inversion_lr
    out["tune_steps"] = args.steps
    out["lr"] = args.lr
    out["loss_curve_first_target"] = curves[0][::10]
    out["n"] = {"targets": args.targets, "scenes": len(scenes), "seeds": len(seeds)}
    json.dump(out, open(os.path.join(train.WORK, args.out), "w"), indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
