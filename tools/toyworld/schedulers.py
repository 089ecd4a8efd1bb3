"""Independent numpy (float64) implementation of the diffusers scheduler formulas the engine ships:
Euler, Euler ancestral, DDIM, DPM++ 2M (with/without Karras sigmas), LCM; spacings leading/trailing/linspace.
Follows diffusers 0.27 (EulerDiscreteScheduler, EulerAncestralDiscreteScheduler, DDIMScheduler,
DPMSolverMultistepScheduler with algorithm_type dpmsolver++, solver_order 2, final_sigmas_type "zero",
lower_order_final True, LCMScheduler with original_inference_steps 50). All in float64.

Schedule(...).set(N) -> dict with timesteps (float64), sigmas and per-scheduler extras.
step(...) functions take numpy arrays; ancestral noise is passed in explicitly.
"""
import numpy as np

T = 1000


def alphas_cumprod(beta_start=0.00085, beta_end=0.012, n=T):
    betas = np.linspace(beta_start ** 0.5, beta_end ** 0.5, n, dtype=np.float64) ** 2
    return np.cumprod(1.0 - betas)


def karras(sigma_min, sigma_max, n, rho=7.0):
    ramp = np.linspace(0, 1, n)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return (hi + ramp * (lo - hi)) ** rho


def sigma_to_t(sigma, log_sigmas):
    log_sigma = np.log(np.maximum(sigma, 1e-10))
    dists = log_sigma - log_sigmas[:, None]
    low_idx = np.cumsum((dists >= 0), axis=0).argmax(axis=0).clip(max=log_sigmas.shape[0] - 2)
    high_idx = low_idx + 1
    low, high = log_sigmas[low_idx], log_sigmas[high_idx]
    w = np.clip((low - log_sigma) / (low - high), 0, 1)
    return ((1 - w) * low_idx + w * high_idx).reshape(np.shape(sigma))


def spaced(n, spacing, offset, plus_one=False):
    """Timesteps (float, descending) per spacing; plus_one: DPM-solver's N+1 variant."""
    if spacing == "linspace":
        if plus_one:
            return np.linspace(0, T - 1, n + 1).round()[::-1][:-1].copy()
        return np.linspace(0, T - 1, n)[::-1].copy()
    if spacing == "leading":
        if plus_one:
            r = T // (n + 1)
            return (np.arange(0, n + 1) * r).round()[::-1][:-1].astype(np.float64) + offset
        r = T // n
        return (np.arange(0, n) * r).round()[::-1].astype(np.float64) + offset
    if spacing == "trailing":
        r = T / n
        return np.arange(T, 0, -r).round().astype(np.float64) - 1
    raise ValueError(spacing)


def euler(n, spacing="leading", offset=1, use_karras=False, ac=None):
    ac = alphas_cumprod() if ac is None else ac
    ts = spaced(n, spacing, offset)
    all_s = np.sqrt((1 - ac) / ac)
    log_sigmas = np.log(all_s)
    s = np.interp(ts, np.arange(T), all_s)
    if use_karras:
        s = karras(s[-1], s[0], n)
        ts = np.array([sigma_to_t(x, log_sigmas) for x in s])
    sigmas = np.concatenate([s, [0.0]])
    init = sigmas.max() if spacing in ("linspace", "trailing") else np.sqrt(sigmas.max() ** 2 + 1)
    return dict(timesteps=ts, sigmas=sigmas, init_noise_sigma=float(init))


def euler_ancestral(n, spacing="leading", offset=1, ac=None):
    d = euler(n, spacing, offset, False, ac)
    s = d["sigmas"]
    up = np.sqrt(s[1:] ** 2 * (s[:-1] ** 2 - s[1:] ** 2) / s[:-1] ** 2)
    down = np.sqrt(s[1:] ** 2 - up ** 2)
    d.update(sigma_up=up, sigma_down=down)
    return d


def ddim(n, spacing="leading", offset=1, set_alpha_to_one=False, ac=None):
    ac = alphas_cumprod() if ac is None else ac
    if spacing == "linspace":
        ts = np.linspace(0, T - 1, n).round()[::-1].copy()
    else:
        ts = spaced(n, spacing, offset)
    final = 1.0 if set_alpha_to_one else ac[0]
    prev = ts - T // n
    a_t = ac[ts.astype(int)]
    a_prev = np.array([ac[int(p)] if p >= 0 else final for p in prev])
    return dict(timesteps=ts, prev_timesteps=prev, alpha_prod_t=a_t, alpha_prod_t_prev=a_prev, init_noise_sigma=1.0)


def dpmpp_2m(n, spacing="leading", offset=1, use_karras=False, ac=None):
    ac = alphas_cumprod() if ac is None else ac
    ts = spaced(n, spacing, offset, plus_one=(spacing != "trailing"))
    all_s = np.sqrt((1 - ac) / ac)
    log_sigmas = np.log(all_s)
    if use_karras:
        fl = all_s[::-1]
        s = karras(fl[-1], fl[0], n)
        ts = np.array([sigma_to_t(x, log_sigmas) for x in s]).round()
    else:
        s = np.interp(ts, np.arange(T), all_s)
    sigmas = np.concatenate([s, [0.0]])
    return dict(timesteps=ts, sigmas=sigmas, init_noise_sigma=1.0)


def lcm(n, original_steps=50, ac=None):
    ac = alphas_cumprod() if ac is None else ac
    k = T // original_steps
    origin = np.arange(1, original_steps + 1) * k - 1
    idx = np.floor(np.linspace(0, len(origin), num=n, endpoint=False)).astype(np.int64)
    ts = origin[::-1][idx].astype(np.float64)
    sd, scale = 0.5, 10.0
    c_skip = sd ** 2 / ((ts * scale) ** 2 + sd ** 2)
    c_out = (ts * scale) / np.sqrt((ts * scale) ** 2 + sd ** 2)
    prev = np.concatenate([ts[1:], [-1.0]])
    a_prev = np.array([ac[int(p)] if p >= 0 else 1.0 for p in prev])
    return dict(timesteps=ts, c_skip=c_skip, c_out=c_out, alpha_prod_t=ac[ts.astype(int)], alpha_prod_t_prev=a_prev,
                init_noise_sigma=1.0)


# ---------------------------------------------------------------- samplers (numpy, for goldens)
def sample(name, n, eps_fn, x_T, spacing="leading", use_karras=False, noises=None, ac=None):
    """Runs a sampler with a given eps_fn(x_in, t) -> eps. x_T: unit-variance initial noise.
    Returns final x0-space latents. noises: list of arrays for ancestral/LCM steps."""
    ac = alphas_cumprod() if ac is None else ac
    if name in ("euler", "euler_a"):
        d = euler(n, spacing, 1, use_karras, ac) if name == "euler" else euler_ancestral(n, spacing, 1, ac)
        s, x = d["sigmas"], x_T * d["init_noise_sigma"]
        for i, t in enumerate(d["timesteps"]):
            e = eps_fn(x / np.sqrt(s[i] ** 2 + 1), t)
            x0 = x - s[i] * e
            if name == "euler":
                x = x + (x - x0) / s[i] * (s[i + 1] - s[i])
            else:
                dd = (x - x0) / s[i]
                x = x + dd * (d["sigma_down"][i] - s[i]) + noises[i] * d["sigma_up"][i]
        return x
    if name == "ddim":
        d = ddim(n, spacing, 1, False, ac)
        x = x_T
        for i, t in enumerate(d["timesteps"]):
            e = eps_fn(x, t)
            a, ap = d["alpha_prod_t"][i], d["alpha_prod_t_prev"][i]
            x0 = (x - np.sqrt(1 - a) * e) / np.sqrt(a)
            x = np.sqrt(ap) * x0 + np.sqrt(1 - ap) * e
        return x
    if name == "dpmpp_2m":
        d = dpmpp_2m(n, spacing, 1, use_karras, ac)
        s = d["sigmas"]
        x = x_T
        prev_x0 = None
        lam = lambda sg: np.log(1.0 / np.sqrt(sg ** 2 + 1)) - np.log(sg * 1.0 / np.sqrt(sg ** 2 + 1)) if sg > 0 else np.inf
        N = len(d["timesteps"])
        for i, t in enumerate(d["timesteps"]):
            e = eps_fn(x, t)
            a_s = 1.0 / np.sqrt(s[i] ** 2 + 1)
            sg_s = s[i] * a_s
            x0 = (x - sg_s * e) / a_s
            a_t = 1.0 / np.sqrt(s[i + 1] ** 2 + 1)
            sg_t = s[i + 1] * a_t
            lower = (i == N - 1 and N < 15) or prev_x0 is None
            if s[i + 1] == 0:
                x = x0          # final sigma 0: diffusers forces first order -> x0
            else:
                h = lam(s[i + 1]) - lam(s[i])
                if lower:
                    x = (sg_t / sg_s) * x - a_t * np.expm1(-h) * x0
                else:
                    h0 = lam(s[i]) - lam(s[i - 1])
                    r0 = h0 / h
                    D0, D1 = x0, (1.0 / r0) * (x0 - prev_x0)
                    x = (sg_t / sg_s) * x - a_t * np.expm1(-h) * D0 - 0.5 * a_t * np.expm1(-h) * D1
            prev_x0 = x0
        return x
    if name == "lcm":
        d = lcm(n, 50, ac)
        x = x_T
        for i, t in enumerate(d["timesteps"]):
            e = eps_fn(x, t)
            a = d["alpha_prod_t"][i]
            x0 = (x - np.sqrt(1 - a) * e) / np.sqrt(a)
            den = d["c_skip"][i] * x + d["c_out"][i] * x0
            if i < n - 1:
                ap = d["alpha_prod_t_prev"][i]
                x = np.sqrt(ap) * den + np.sqrt(1 - ap) * noises[i]
            else:
                x = den
        return x
    raise ValueError(name)
