"""ToyWorld model family (PyTorch 1.13): VAE, CLIP-like text encoder, SD-style UNet, ControlNet, judge.
All shapes are for 32x32 RGB images, VAE factor 4, 8x8x4 latents.
"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

# ------------------------------------------------------------------ config
VAE_CFG = dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=[32, 64, 64], sample_size=32,
               down_factor=4, norm_num_groups=8)
TE_CFG = dict(vocab_size=976, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256,
              max_position_embeddings=77, hidden_act="gelu", layer_norm_eps=1e-5, projection_dim=64)
UNET_CFG = dict(in_channels=4, out_channels=4, sample_size=8, block_out_channels=[64, 96], cross_attention_dim=64,
                attention_head_dim=4, norm_num_groups=16, layers_per_block=1, time_embed_dim=256)


def gn(c, g):
    return nn.GroupNorm(g, c, eps=1e-5)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, groups, temb=None):
        super().__init__()
        self.n1 = gn(cin, groups)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(temb, cout) if temb else None
        self.n2 = gn(cout, groups)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb=None):
        h = self.c1(F.silu(self.n1(x)))
        if self.t is not None:
            h = h + self.t(F.silu(temb))[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


# ------------------------------------------------------------------ VAE
class VAE(nn.Module):
    def __init__(self, cfg=VAE_CFG):
        super().__init__()
        c1, c2, c3 = cfg["block_out_channels"]
        g = cfg["norm_num_groups"]
        L = cfg["latent_channels"]
        self.enc = nn.ModuleList([
            nn.Conv2d(3, c1, 3, padding=1), ResBlock(c1, c1, g), nn.Conv2d(c1, c1, 3, stride=2, padding=1),
            ResBlock(c1, c2, g), nn.Conv2d(c2, c2, 3, stride=2, padding=1), ResBlock(c2, c3, g), ResBlock(c3, c3, g)])
        self.enc_out = nn.Sequential(gn(c3, g), nn.SiLU(), nn.Conv2d(c3, 2 * L, 3, padding=1))
        self.dec_in = nn.Conv2d(L, c3, 3, padding=1)
        self.dec = nn.ModuleList([ResBlock(c3, c3, g), ResBlock(c3, c3, g), ResBlock(c3, c2, g),
                                  nn.Conv2d(c2, c2, 3, padding=1), ResBlock(c2, c1, g), nn.Conv2d(c1, c1, 3, padding=1),
                                  ResBlock(c1, c1, g)])
        self.dec_out = nn.Sequential(gn(c1, g), nn.SiLU(), nn.Conv2d(c1, 3, 3, padding=1))

    def encode(self, x):
        """x in [-1,1] -> (mean, logvar), each [B,4,8,8]."""
        h = x
        for m in self.enc:
            h = m(h)
        p = self.enc_out(h)
        mean, logvar = p.chunk(2, dim=1)
        return mean, torch.clamp(logvar, -30.0, 20.0)

    def decode(self, z):
        h = self.dec_in(z)
        for i, m in enumerate(self.dec):
            if i in (3, 5):
                h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = m(h)
        return self.dec_out(h)


# ------------------------------------------------------------------ text encoder
class TextEncoder(nn.Module):
    def __init__(self, cfg=TE_CFG):
        super().__init__()
        D = cfg["hidden_size"]
        self.cfg = cfg
        self.tok = nn.Embedding(cfg["vocab_size"], D)
        self.pos = nn.Parameter(torch.zeros(cfg["max_position_embeddings"], D))
        nn.init.normal_(self.pos, std=0.01)
        self.layers = nn.ModuleList()
        for _ in range(cfg["num_hidden_layers"]):
            self.layers.append(nn.ModuleDict(dict(
                ln1=nn.LayerNorm(D), q=nn.Linear(D, D), k=nn.Linear(D, D), v=nn.Linear(D, D), o=nn.Linear(D, D),
                ln2=nn.LayerNorm(D), fc1=nn.Linear(D, cfg["intermediate_size"]), fc2=nn.Linear(cfg["intermediate_size"], D))))
        self.ln_f = nn.LayerNorm(D)
        n = cfg["max_position_embeddings"]
        self.register_buffer("mask", torch.triu(torch.full((n, n), -1e9), 1), persistent=False)

    def forward(self, ids):
        ids = ids.long()
        B, N = ids.shape
        D = self.cfg["hidden_size"]
        H = self.cfg["num_attention_heads"]
        x = self.tok(ids) + self.pos[:N]
        for l in self.layers:
            h = l["ln1"](x)
            q = l["q"](h).reshape(B, N, H, D // H).transpose(1, 2)
            k = l["k"](h).reshape(B, N, H, D // H).transpose(1, 2)
            v = l["v"](h).reshape(B, N, H, D // H).transpose(1, 2)
            a = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(D // H)) + self.mask[:N, :N]
            a = torch.softmax(a, dim=-1)
            o = torch.matmul(a, v).transpose(1, 2).reshape(B, N, D)
            x = x + l["o"](o)
            x = x + l["fc2"](F.gelu(l["fc1"](l["ln2"](x))))
        x = self.ln_f(x)
        eos = ids.argmax(dim=-1)
        pooled = x[torch.arange(B), eos]
        return x, pooled


# ------------------------------------------------------------------ UNet
def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    a = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(a), torch.sin(a)], dim=-1)


class Attn(nn.Module):
    def __init__(self, dq, dkv, heads):
        super().__init__()
        self.h = heads
        self.q = nn.Linear(dq, dq, bias=False)
        self.k = nn.Linear(dkv, dq, bias=False)
        self.v = nn.Linear(dkv, dq, bias=False)
        self.o = nn.Linear(dq, dq)

    def forward(self, x, ctx):
        B, N, C = x.shape
        M = ctx.shape[1]
        H = self.h
        q = self.q(x).reshape(B, N, H, C // H).transpose(1, 2)
        k = self.k(ctx).reshape(B, M, H, C // H).transpose(1, 2)
        v = self.v(ctx).reshape(B, M, H, C // H).transpose(1, 2)
        a = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(C // H)), dim=-1)
        return self.o(torch.matmul(a, v).transpose(1, 2).reshape(B, N, C))


class Transformer2D(nn.Module):
    """GN -> proj_in -> [self-attn, cross-attn, FF] -> proj_out, residual (SD 1.x style)."""
    def __init__(self, c, ctx_dim, heads, groups):
        super().__init__()
        self.norm = gn(c, groups)
        self.proj_in = nn.Conv2d(c, c, 1)
        self.ln1, self.attn1 = nn.LayerNorm(c), Attn(c, c, heads)
        self.ln2, self.attn2 = nn.LayerNorm(c), Attn(c, ctx_dim, heads)
        self.ln3 = nn.LayerNorm(c)
        self.ff = nn.Sequential(nn.Linear(c, 2 * c), nn.GELU(), nn.Linear(2 * c, c))
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x, ctx):
        B, C, Hh, Ww = x.shape
        h = self.proj_in(self.norm(x))
        h = h.reshape(B, C, Hh * Ww).transpose(1, 2)
        n = self.ln1(h)
        h = h + self.attn1(n, n)
        h = h + self.attn2(self.ln2(h), ctx)
        h = h + self.ff(self.ln3(h))
        h = h.transpose(1, 2).reshape(B, C, Hh, Ww)
        return x + self.proj_out(h)


class UNetEncoder(nn.Module):
    """conv_in, time embedding, down blocks, mid block (shared by UNet and ControlNet)."""
    def __init__(self, cfg=UNET_CFG):
        super().__init__()
        c0, c1 = cfg["block_out_channels"]
        g, T, D, H = cfg["norm_num_groups"], cfg["time_embed_dim"], cfg["cross_attention_dim"], cfg["attention_head_dim"]
        self.cfg = cfg
        self.time = nn.Sequential(nn.Linear(c0, T), nn.SiLU(), nn.Linear(T, T))
        self.conv_in = nn.Conv2d(cfg["in_channels"], c0, 3, padding=1)
        self.d0_res, self.d0_attn = ResBlock(c0, c0, g, T), Transformer2D(c0, D, H, g)
        self.down = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
        self.d1_res, self.d1_attn = ResBlock(c0, c1, g, T), Transformer2D(c1, D, H, g)
        self.m_res1, self.m_attn, self.m_res2 = ResBlock(c1, c1, g, T), Transformer2D(c1, D, H, g), ResBlock(c1, c1, g, T)

    def temb(self, t):
        return self.time(timestep_embedding(t, self.cfg["block_out_channels"][0]))

    def down_blocks(self, x, emb, ctx, hint=None):
        h = self.conv_in(x)
        if hint is not None:
            h = h + hint
        skips = [h]
        h = self.d0_attn(self.d0_res(h, emb), ctx)
        skips.append(h)
        h = self.down(h)
        skips.append(h)
        h = self.d1_attn(self.d1_res(h, emb), ctx)
        skips.append(h)
        return h, skips

    def mid(self, h, emb, ctx):
        return self.m_res2(self.m_attn(self.m_res1(h, emb), ctx), emb)


class UNet(nn.Module):
    def __init__(self, cfg=UNET_CFG):
        super().__init__()
        c0, c1 = cfg["block_out_channels"]
        g, T, D, H = cfg["norm_num_groups"], cfg["time_embed_dim"], cfg["cross_attention_dim"], cfg["attention_head_dim"]
        self.enc = UNetEncoder(cfg)
        self.u0 = nn.ModuleList([ResBlock(c1 + c1, c1, g, T), ResBlock(c1 + c0, c1, g, T)])
        self.u0_attn = nn.ModuleList([Transformer2D(c1, D, H, g), Transformer2D(c1, D, H, g)])
        self.up = nn.Conv2d(c1, c1, 3, padding=1)
        self.u1 = nn.ModuleList([ResBlock(c1 + c0, c0, g, T), ResBlock(c0 + c0, c0, g, T)])
        self.u1_attn = nn.ModuleList([Transformer2D(c0, D, H, g), Transformer2D(c0, D, H, g)])
        self.out = nn.Sequential(gn(c0, g), nn.SiLU(), nn.Conv2d(c0, cfg["out_channels"], 3, padding=1))

    def forward(self, x, t, ctx, down_res=None, mid_res=None, return_h=False):
        emb = self.enc.temb(t)
        h, skips = self.enc.down_blocks(x, emb, ctx)
        hmid_in = h
        if down_res is not None:
            skips = [s + r for s, r in zip(skips, down_res)]
        h = self.enc.mid(h, emb, ctx)
        if mid_res is not None:
            h = h + mid_res
        for r, a in zip(self.u0, self.u0_attn):
            h = a(r(torch.cat([h, skips.pop()], 1), emb), ctx)
        h = self.up(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        for r, a in zip(self.u1, self.u1_attn):
            h = a(r(torch.cat([h, skips.pop()], 1), emb), ctx)
        out = self.out(h)
        if return_h:
            return out, hmid_in
        return out


# ------------------------------------------------------------------ ControlNet
def zero_conv(c):
    m = nn.Conv2d(c, c, 1)
    nn.init.zeros_(m.weight)
    nn.init.zeros_(m.bias)
    return m


class ControlNet(nn.Module):
    """Trainable copy of the UNet encoder + conditioning embedding + zero convolutions.
    Condition: OpenPose skeleton image [B,3,32,32] in [0,1]. Returns 4 down residuals + mid residual."""
    def __init__(self, cfg=UNET_CFG):
        super().__init__()
        c0, c1 = cfg["block_out_channels"]
        self.enc = UNetEncoder(cfg)
        self.cond = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.SiLU(), nn.Conv2d(16, 32, 3, stride=2, padding=1),
                                  nn.SiLU(), nn.Conv2d(32, 32, 3, padding=1), nn.SiLU(),
                                  nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.SiLU(), nn.Conv2d(64, c0, 3, padding=1))
        nn.init.zeros_(self.cond[-1].weight)
        nn.init.zeros_(self.cond[-1].bias)
        self.zeros = nn.ModuleList([zero_conv(c0), zero_conv(c0), zero_conv(c0), zero_conv(c1)])
        self.mid_zero = zero_conv(c1)

    def forward(self, x, t, ctx, cond, scale=1.0):
        emb = self.enc.temb(t)
        h, skips = self.enc.down_blocks(x, emb, ctx, hint=self.cond(cond))
        h = self.enc.mid(h, emb, ctx)
        downs = [z(s) * scale for z, s in zip(self.zeros, skips)]
        return downs, self.mid_zero(h) * scale


# ------------------------------------------------------------------ judge
class Judge(nn.Module):
    """Image [B,3,32,32] in [0,1] -> logits per attribute, scene logits, 18x2 keypoints in [0,1] units of width."""
    HEADS = [("color", 6), ("shape", 3), ("eyes", 3), ("accessory", 4), ("scene", 8)]

    def __init__(self):
        super().__init__()
        def blk(a, b, s):
            return nn.Sequential(nn.Conv2d(a, b, 3, stride=s, padding=1), nn.BatchNorm2d(b), nn.ReLU())
        self.f = nn.Sequential(blk(3, 32, 1), blk(32, 32, 1), blk(32, 64, 2), blk(64, 64, 1), blk(64, 128, 2),
                               blk(128, 64, 1))
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(64 * 64, 128), nn.ReLU())
        self.heads = nn.ModuleList([nn.Linear(128, n) for _, n in self.HEADS])
        self.kp = nn.Linear(128, 36)

    def forward(self, x):
        z = self.fc(self.f(x))
        return [h(z) for h in self.heads] + [torch.sigmoid(self.kp(z)).reshape(-1, 18, 2)]


# ------------------------------------------------------------------ schedule
def sd_alphas_cumprod(n=1000, b0=0.00085, b1=0.012):
    betas = torch.linspace(b0 ** 0.5, b1 ** 0.5, n, dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, 0).float()
