"""ToyWorld training stages (resumable). usage: python3 train.py STAGE [--steps N] [--threads T] [--minutes M]
Stages: data, vae, encode, unet, judge, controlnet, vaedec (decoder-only VAE fine-tune), unetft (min-SNR-γ UNet
continuation), cnrefit (ControlNet re-fit to the final UNet), route (experimental identity-routing fine-tune of
UNet + text encoder). Checkpoints in work/ckpt_<stage>.pt (saved every
few minutes and at the end); rerunning a stage resumes from its checkpoint. Stage wall times are
accumulated in work/stage_times.json.
"""
import argparse
import copy
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import models
import openpose
import tokenizer
import world

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.environ.get("TOYWORLD_WORK", os.path.join(HERE, "work"))
TOKDIR = os.path.join(HERE, "..", "..", "models", "toyworld", "tokenizer")
N_TRAIN = 40000
N_RECON = 12000   # VAE round trips kept for the judge's augmentation


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def record_time(stage, seconds, extra=None):
    p = os.path.join(WORK, "stage_times.json")
    d = json.load(open(p)) if os.path.exists(p) else {}
    e = d.get(stage, {"seconds": 0.0})
    e["seconds"] = e["seconds"] + seconds
    if extra:
        e.update(extra)
    d[stage] = e
    json.dump(d, open(p, "w"), indent=1)


def load_ckpt(stage):
    p = os.path.join(WORK, "ckpt_%s.pt" % stage)
    return torch.load(p) if os.path.exists(p) else None


def save_ckpt(stage, obj):
    p = os.path.join(WORK, "ckpt_%s.pt" % stage)
    torch.save(obj, p + ".tmp")
    os.replace(p + ".tmp", p)


def to_t(imgs):
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def data(args=None):
    d = world.make_dataset(N_TRAIN, seed=1)
    sk = np.zeros((N_TRAIN, 32, 32, 3), np.uint8)
    for i in range(N_TRAIN):
        sk[i] = openpose.draw_skeleton(d["keypoints"][i], [True] * 18, 32, 32)
    d["skeleton"] = sk
    np.savez(os.path.join(WORK, "data_train.npz"), **d)


def load_data():
    return dict(np.load(os.path.join(WORK, "data_train.npz")))


def lr_at(step, total, base, warm=100):
    if step < warm:
        return base * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    return base * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(1.0, p))))


class Loop:
    """Shared resumable loop bookkeeping."""
    def __init__(self, stage, total, modules, opt, ema=None):
        self.stage, self.total, self.modules, self.opt, self.ema = stage, total, modules, opt, ema
        self.step = 0
        ck = load_ckpt(stage)
        if ck:
            for k, m in modules.items():
                m.load_state_dict(ck[k])
            opt.load_state_dict(ck["opt"])
            if ema is not None:
                for k, m in ema.items():
                    m.load_state_dict(ck["ema_" + k])
            self.step = ck["step"]
            log("resumed", stage, "at step", self.step)
        self.t0 = time.time()
        self.last_save = time.time()

    def save(self):
        obj = {k: m.state_dict() for k, m in self.modules.items()}
        obj["opt"] = self.opt.state_dict()
        if self.ema is not None:
            for k, m in self.ema.items():
                obj["ema_" + k] = m.state_dict()
        obj["step"] = self.step
        save_ckpt(self.stage, obj)
        record_time(self.stage, time.time() - self.t0, {"step": self.step})
        self.t0 = time.time()
        self.last_save = time.time()

    def tick(self):
        self.step += 1
        if time.time() - self.last_save > 180:
            self.save()


def ema_update(ema, model, decay):
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
        for be, bm in zip(ema.buffers(), model.buffers()):
            be.copy_(bm)


def train_vae(args):
    d = load_data()
    x_all = d["images"]
    vae = models.VAE()
    opt = torch.optim.Adam(vae.parameters(), lr=1e-3)
    L = Loop("vae", args.steps, {"vae": vae}, opt)
    rng = np.random.default_rng(L.step + 7)
    bs = 32
    deadline = time.time() + args.minutes * 60
    while L.step < L.total and time.time() < deadline:
        for g in opt.param_groups:
            g["lr"] = lr_at(L.step, L.total, 1e-3)
        x = to_t(x_all[rng.integers(0, N_TRAIN, bs)])
        mean, logvar = vae.encode(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        rec = vae.decode(z)
        mse = F.mse_loss(rec, x)
        kl = 0.5 * torch.mean(mean ** 2 + logvar.exp() - 1 - logvar)
        loss = mse + 1e-5 * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        L.tick()
        if L.step % 50 == 0:
            psnr = 10 * np.log10(4.0 / mse.item())
            log("vae step", L.step, "mse %.5f psnr %.2f kl %.3f" % (mse.item(), psnr, kl.item()))
    L.save()


def train_vaedec(args):
    """Decoder-only fine-tune after the vae stage: the encoder (so the latents the UNet is trained on) stays
    fixed, the decoder keeps learning the hard-edged pixel art (PSNR). Runs alongside the UNet stages."""
    d = load_data()
    x_all = d["images"]
    vae = models.VAE()
    vae.load_state_dict(load_ckpt("vae")["vae"])
    for p in list(vae.enc.parameters()) + list(vae.enc_out.parameters()):
        p.requires_grad_(False)
    dec_params = [p for p in vae.parameters() if p.requires_grad]
    opt = torch.optim.Adam(dec_params, lr=args.lr)
    L = Loop("vaedec", args.steps, {"vae": vae}, opt)
    rng = np.random.default_rng(L.step + 29)
    bs = 32
    deadline = time.time() + args.minutes * 60
    run = 0.0
    while L.step < L.total and time.time() < deadline:
        for g in opt.param_groups:
            g["lr"] = lr_at(L.step, L.total, args.lr, warm=20)
        x = to_t(x_all[rng.integers(0, N_TRAIN, bs)])
        with torch.no_grad():
            mean, logvar = vae.encode(x)
            z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        mse = F.mse_loss(vae.decode(z), x)
        opt.zero_grad()
        mse.backward()
        opt.step()
        run = 0.98 * run + 0.02 * mse.item() if run else mse.item()
        L.tick()
        if L.step % 100 == 0:
            log("vaedec step", L.step, "mse %.5f psnr %.2f" % (run, 10 * np.log10(4.0 / run)))
    L.save()


def load_vae():
    """The VAE to export: the decoder-only fine-tune (vaedec) when it exists, else the vae stage."""
    vae = models.VAE()
    vae.load_state_dict((load_ckpt("vaedec") or load_ckpt("vae"))["vae"])
    return vae.eval()


@torch.no_grad()
def encode(args=None):
    d = load_data()
    vae = models.VAE()
    vae.load_state_dict(load_ckpt("vae")["vae"])
    vae.eval()
    means, logvars, recs = [], [], []
    for i in range(0, N_TRAIN, 500):
        x = to_t(d["images"][i:i + 500])
        m, lv = vae.encode(x)
        means.append(m.numpy())
        logvars.append(lv.numpy())
        if i >= N_RECON:
            continue
        r = vae.decode(m)
        recs.append(((r.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy())
    mean = np.concatenate(means)
    logvar = np.concatenate(logvars)
    z = mean + np.exp(0.5 * logvar) * np.random.default_rng(0).standard_normal(mean.shape)
    sf = float(1.0 / z.std())
    np.savez(os.path.join(WORK, "latents.npz"), mean=mean, logvar=logvar, recon=np.concatenate(recs))
    json.dump({"scaling_factor": sf}, open(os.path.join(WORK, "vae_scaling.json"), "w"))
    log("scaling factor", sf)


class Captioner:
    def __init__(self, d, rng, p_drop=0.1):
        self.tok = tokenizer.ClipTokenizer(TOKDIR)
        self.d, self.rng, self.p_drop = d, rng, p_drop
        self.cache = {}

    def ids(self, s):
        if s not in self.cache:
            self.cache[s] = self.tok(s)
        return self.cache[s]

    def batch(self, idx):
        out = []
        for i in idx:
            if self.rng.random() < self.p_drop:
                s = ""
            else:
                s = world.caption(tuple(self.d["identity"][i]), int(self.d["scene"][i]), self.rng)
            out.append(self.ids(s))
        return torch.tensor(out, dtype=torch.long)


def latents_batch(lat, idx, sf):
    m = torch.from_numpy(lat["mean"][idx])
    s = torch.from_numpy(np.exp(0.5 * lat["logvar"][idx]))
    return (m + s * torch.randn_like(m)) * sf


def noised(z0, ac):
    """The forward process for one training batch: uniform t in [0, 1000), ε ~ N(0, I), ᾱ_t as [B,1,1,1] and
    z_t = sqrt(ᾱ_t)·z0 + sqrt(1 - ᾱ_t)·ε (draws in the same order as before it was shared)."""
    t = torch.randint(0, 1000, (z0.shape[0],))
    eps = torch.randn_like(z0)
    a = ac[t][:, None, None, None]
    return t, eps, a, a.sqrt() * z0 + (1 - a).sqrt() * eps


def train_unet(args, stage="unet"):
    """stage unet: UNet + text encoder from scratch, plain ε-MSE. stage unetft: continues from the unet stage's
    EMA weights on the current latents (re-encoded after the VAE's longer run) with min-SNR-γ loss weighting
    (Hang et al. 2023: w(t) = min(SNR(t), γ) / SNR(t) for ε-prediction), which stops the many easy low-noise
    steps from dominating the gradient; shape and eye style are decided at mid/high noise."""
    d = load_data()
    lat = dict(np.load(os.path.join(WORK, "latents.npz")))
    sf = json.load(open(os.path.join(WORK, "vae_scaling.json")))["scaling_factor"]
    if stage == "unet":
        te, unet = models.TextEncoder(), models.UNet()
    else:
        te, unet = load_unet_ema("unet")
        te.train(), unet.train()
    ema_te, ema_unet = copy.deepcopy(te), copy.deepcopy(unet)
    params = list(te.parameters()) + list(unet.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-2)
    L = Loop(stage, args.steps, {"te": te, "unet": unet}, opt, {"te": ema_te, "unet": ema_unet})
    rng = np.random.default_rng(L.step + (11 if stage == "unet" else 23))
    cap = Captioner(d, rng)
    ac = models.sd_alphas_cumprod()
    bs = args.bs
    deadline = time.time() + args.minutes * 60
    run = 0.0
    while L.step < L.total and time.time() < deadline:
        for g in opt.param_groups:
            g["lr"] = lr_at(L.step, L.total, args.lr, warm=200)
        idx = rng.integers(0, N_TRAIN, bs)
        z0 = latents_batch(lat, idx, sf)
        ids = cap.batch(idx)
        t, eps, a, zt = noised(z0, ac)
        ctx, _ = te(ids)
        pred = unet(zt, t.float(), ctx)
        if args.min_snr > 0:
            snr = a.flatten() / (1 - a.flatten())
            w = torch.clamp(snr, max=args.min_snr) / snr
            loss = (w * ((pred - eps) ** 2).mean(dim=(1, 2, 3))).mean()
        else:
            loss = F.mse_loss(pred, eps)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(0.999, (1 + L.step) / (10 + L.step))
        ema_update(ema_te, te, decay)
        ema_update(ema_unet, unet, decay)
        run = 0.98 * run + 0.02 * loss.item() if run else loss.item()
        L.tick()
        if L.step % 50 == 0:
            log(stage, "step", L.step, "loss %.4f" % run)
    L.save()


def train_route(args):
    """Identity-routing fine-tune of UNet + text encoder (after the unet stage). OneActor adds its offset only
    to the base word's row; in the plain model identity is read from the attribute-word rows (eyes/accessory
    even come after "creature", invisible to the causal encoder at that row), so an offset there has no
    leverage. Here a fraction args.p_route of each batch is conditioned on the GENERIC caption ("a creature in
    a meadow") whose "creature" row is replaced by the "creature" row of a caption naming the attributes before
    the base word ("a red round big eyes hat creature in a meadow"): the text encoder learns to pack identity
    into that row and the UNet to read it from there. The other rows use the normal captions (keeps attribute
    honour for ordinary prompts). Starts from the unet stage's EMA weights."""
    d = load_data()
    lat = dict(np.load(os.path.join(WORK, "latents.npz")))
    sf = json.load(open(os.path.join(WORK, "vae_scaling.json")))["scaling_factor"]
    te, unet = load_unet_ema("unet")
    te.train(), unet.train()
    ema_te, ema_unet = copy.deepcopy(te), copy.deepcopy(unet)
    params = list(te.parameters()) + list(unet.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-2)
    L = Loop("route", args.steps, {"te": te, "unet": unet}, opt, {"te": ema_te, "unet": ema_unet})
    rng = np.random.default_rng(L.step + 19)
    cap = Captioner(d, rng)
    base_id = cap.ids("creature")[1]
    ac = models.sd_alphas_cumprod()
    bs = args.bs
    deadline = time.time() + args.minutes * 60
    run = 0.0
    while L.step < L.total and time.time() < deadline:
        for g in opt.param_groups:
            g["lr"] = lr_at(L.step, L.total, args.lr, warm=50)
        idx = rng.integers(0, N_TRAIN, bs)
        z0 = latents_batch(lat, idx, sf)
        ids = cap.batch(idx)
        eos = cap.ids("")[1]
        routed = (rng.random(bs) < args.p_route) & (ids[:, 1:].ne(eos).any(1).numpy())  # not dropped captions
        pre = ids.clone()
        for i in np.nonzero(routed)[0]:
            g, p = world.routed_captions(tuple(d["identity"][idx[i]]), int(d["scene"][idx[i]]), rng)
            ids[i], pre[i] = torch.tensor(cap.ids(g)), torch.tensor(cap.ids(p))
        t, eps, a, zt = noised(z0, ac)
        ctx_all, _ = te(torch.cat([ids, pre]))
        ctx, ctx_pre = ctx_all[:bs], ctx_all[bs:]
        r = torch.from_numpy(np.nonzero(routed)[0])
        if len(r):
            pg = (ids[r] == base_id).float().argmax(1)
            pp = (pre[r] == base_id).float().argmax(1)
            ctx = ctx.clone()
            ctx[r, pg] = ctx_pre[r, pp]
        pred = unet(zt, t.float(), ctx)
        loss = F.mse_loss(pred, eps)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema_update(ema_te, te, min(args.ema, (1 + L.step) / (10 + L.step)))
        ema_update(ema_unet, unet, min(args.ema, (1 + L.step) / (10 + L.step)))
        run = 0.98 * run + 0.02 * loss.item() if run else loss.item()
        L.tick()
        if L.step % 50 == 0:
            log("route step", L.step, "loss %.4f" % run)
    L.save()


def train_judge(args):
    d = load_data()
    lat = dict(np.load(os.path.join(WORK, "latents.npz")))
    judge = models.Judge()
    opt = torch.optim.AdamW(judge.parameters(), lr=2e-3, weight_decay=1e-4)
    L = Loop("judge", args.steps, {"judge": judge}, opt)
    rng = np.random.default_rng(L.step + 13)
    bs = 128
    deadline = time.time() + args.minutes * 60
    tgt_all = np.concatenate([d["identity"], d["scene"][:, None]], 1)
    while L.step < L.total and time.time() < deadline:
        for g in opt.param_groups:
            g["lr"] = lr_at(L.step, L.total, 2e-3)
        idx = rng.integers(0, N_TRAIN, bs)
        use_rec = (rng.random(bs) < 0.5) & (idx < len(lat["recon"]))
        rec = lat["recon"][np.minimum(idx, len(lat["recon"]) - 1)]
        imgs = np.where(use_rec[:, None, None, None], rec, d["images"][idx])
        x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0
        x = augment(x, rng)
        out = judge(x)
        tgt = torch.from_numpy(tgt_all[idx])
        loss = sum(F.cross_entropy(o, tgt[:, i]) for i, o in enumerate(out[:5]))
        kp = torch.from_numpy(d["keypoints"][idx] / 32.0).float()
        loss = loss + 50.0 * F.smooth_l1_loss(out[5], kp, beta=0.01)
        opt.zero_grad()
        loss.backward()
        opt.step()
        L.tick()
        if L.step % 50 == 0:
            acc = [(o.argmax(1) == tgt[:, i]).float().mean().item() for i, o in enumerate(out[:5])]
            kpe = (out[5] - kp).norm(dim=-1).median().item() * 100
            log("judge step", L.step, "loss %.3f acc %s kp %.2f%%" % (loss.item(), np.round(acc, 3), kpe))
    L.save()


def augment(x, rng):
    B = x.shape[0]
    g = torch.from_numpy(rng.uniform(0.9, 1.1, (B, 1, 1, 1))).float()
    b = torch.from_numpy(rng.uniform(-0.05, 0.05, (B, 3, 1, 1))).float()
    n = torch.from_numpy(rng.uniform(0, 0.04, (B, 1, 1, 1))).float()
    x = x * g + b + n * torch.randn_like(x)
    blur = torch.from_numpy(rng.random(B) < 0.2)
    if blur.any():
        k = torch.tensor([[1., 2., 1.], [2., 4., 2.], [1., 2., 1.]]) / 16
        xb = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k.expand(3, 1, 3, 3).contiguous(), groups=3)
        x = torch.where(blur[:, None, None, None], xb, x)
    return x.clamp(0, 1)


def load_unet_ema(stage=None):
    """EMA text encoder + UNet of `stage`; default: the latest UNet stage that exists — the identity-routed
    fine-tune (route), else the min-SNR continuation (unetft), else the unet stage."""
    if stage is None:
        stage = next(s for s in ("route", "unetft", "unet") if os.path.exists(os.path.join(WORK, "ckpt_%s.pt" % s)))
    ck = load_ckpt(stage)
    te, unet = models.TextEncoder(), models.UNet()
    te.load_state_dict(ck["ema_te"])
    unet.load_state_dict(ck["ema_unet"])
    return te.eval(), unet.eval()


def train_controlnet(args, stage="controlnet"):
    """stage controlnet: trained on the unet stage's UNet from a copy of its encoder. stage cnrefit: short
    re-fit of that ControlNet (its EMA weights) to the final UNet (unetft or route stage, see load_unet_ema)."""
    d = load_data()
    lat = dict(np.load(os.path.join(WORK, "latents.npz")))
    sf = json.load(open(os.path.join(WORK, "vae_scaling.json")))["scaling_factor"]
    te, unet = load_unet_ema("unet" if stage == "controlnet" else None)
    for p in list(te.parameters()) + list(unet.parameters()):
        p.requires_grad_(False)
    cn = models.ControlNet()
    if stage == "controlnet":
        cn.enc.load_state_dict(unet.enc.state_dict())
    else:
        cn.load_state_dict(load_ckpt("controlnet")["ema_cn"])
    ema_cn = copy.deepcopy(cn)
    opt = torch.optim.AdamW(cn.parameters(), lr=args.lr, weight_decay=0.0)
    L = Loop(stage, args.steps, {"cn": cn}, opt, {"cn": ema_cn})
    rng = np.random.default_rng(L.step + 17)
    cap = Captioner(d, rng, p_drop=0.1)
    ac = models.sd_alphas_cumprod()
    bs = args.bs
    deadline = time.time() + args.minutes * 60
    run = 0.0
    while L.step < L.total and time.time() < deadline:
        for g in opt.param_groups:
            g["lr"] = lr_at(L.step, L.total, args.lr, warm=50)
        idx = rng.integers(0, N_TRAIN, bs)
        z0 = latents_batch(lat, idx, sf)
        with torch.no_grad():
            ctx, _ = te(cap.batch(idx))
        cond = torch.from_numpy(d["skeleton"][idx]).permute(0, 3, 1, 2).float() / 255.0
        t, eps, a, zt = noised(z0, ac)
        downs, mid = cn(zt, t.float(), ctx, cond)
        pred = unet(zt, t.float(), ctx, downs, mid)
        loss = F.mse_loss(pred, eps)
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema_update(ema_cn, cn, min(0.995, (1 + L.step) / (10 + L.step)))
        run = 0.98 * run + 0.02 * loss.item() if run else loss.item()
        L.tick()
        if L.step % 50 == 0:
            log(stage, "step", L.step, "loss %.4f" % run)
    L.save()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("stage")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--minutes", type=float, default=1e9)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--p-route", type=float, default=0.5, help="route: fraction of routed captions")
    ap.add_argument("--ema", type=float, default=0.995, help="route: EMA decay")
    ap.add_argument("--min-snr", type=float, default=0.0, help="unet/unetft: min-SNR-γ loss weighting (0 = off)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    os.makedirs(WORK, exist_ok=True)
    t0 = time.time()
    fn = dict(data=data, vae=train_vae, encode=encode, unet=train_unet, judge=train_judge,
              controlnet=train_controlnet, route=train_route, vaedec=train_vaedec, unetft=lambda a: train_unet(a, "unetft"),
              cnrefit=lambda a: train_controlnet(a, "cnrefit"))[args.stage]
    fn(args)
    if args.stage in ("data", "encode"):
        record_time(args.stage, time.time() - t0)
    log("stage", args.stage, "done in %.1fs" % (time.time() - t0))
