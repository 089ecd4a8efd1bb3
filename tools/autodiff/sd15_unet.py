#!/usr/bin/env python3
"""An SD 1.5-architecture UNet with random weights, exported to ONNX, for
sizing the gradient compiler on the real graph (no SD weights are needed or
downloaded: memory and op coverage depend on the architecture only).

The module mirrors diffusers' UNet2DConditionModel with the SD 1.5 config:
block_out_channels 320/640/1280/1280, layers_per_block 2, 8 attention heads,
cross_attention_dim 768, one transformer per attention block (conv 1x1
proj_in/proj_out, GEGLU feed-forward), GroupNorm(32), time embedding
320 -> 1280, nearest x2 upsampling. Its parameter count, 859,520,964, is the
published SD 1.5 UNet's. Inputs follow the diffusers ONNX layout: sample
[B,4,H,W] float32, timestep [B] float32, encoder_hidden_states [B,77,768].

Run from the repo root (Debian: apt-get install python3-torch python3-onnx):
    /usr/bin/python3 tools/autodiff/sd15_unet.py --out /tmp/sd15-unet
writes OUT/model.onnx with its weights in OUT/weights.pb (3.4 GB, fp32, opset
17; batch, height and width are dynamic axes). Never commit the output.

Then size the gradient of d MSE / d encoder_hidden_states at 512x512:
    oneactor-desktop gradcheck --estimate --wrt encoder_hidden_states \
        --shape sample=1x4x64x64 --shape timestep=1 \
        --shape encoder_hidden_states=1x77x768 OUT/model.onnx
(the shape probe is one CPU forward run at that size: ~45 s on two cores and
4.6 GB of RAM with the weights, as much as plain inference; add --measure to
also run the gradient model once and read the process's memory).

torch autograd's gradient at a 16x16 latent, for TestSD15GradientMatchesTorch
(ONEACTOR_SD15_DIR=OUT go test -run SD15 ./core/autodiff):
    /usr/bin/python3 tools/autodiff/sd15_unet.py --reference --out OUT
A float16 copy (1.7 GB) for the float32-backward path:
    /usr/bin/python3 tools/autodiff/sd15_unet.py --fp16-from OUT --out OUT16
"""
import argparse
import math
import os
import shutil
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F

CFG = dict(block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, heads=8, cross_attention_dim=768,
           norm_num_groups=32, in_channels=4, out_channels=4, time_embed_dim=1280,
           down_attn=(True, True, True, False), up_attn=(False, True, True, True))


def gn(c, eps=1e-5):
    return nn.GroupNorm(CFG["norm_num_groups"], c, eps=eps)


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout, temb):
        super().__init__()
        self.norm1, self.conv1 = gn(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2, self.conv2 = gn(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Attention(nn.Module):
    def __init__(self, dq, dkv, heads):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dq, dq, bias=False)
        self.to_k = nn.Linear(dkv, dq, bias=False)
        self.to_v = nn.Linear(dkv, dq, bias=False)
        self.to_out = nn.Linear(dq, dq)

    def forward(self, x, ctx):
        B, N, C = x.shape
        M, H = ctx.shape[1], self.heads
        q = self.to_q(x).reshape(B, N, H, C // H).transpose(1, 2)
        k = self.to_k(ctx).reshape(B, M, H, C // H).transpose(1, 2)
        v = self.to_v(ctx).reshape(B, M, H, C // H).transpose(1, 2)
        a = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(C // H)), dim=-1)
        return self.to_out(torch.matmul(a, v).transpose(1, 2).reshape(B, N, C))


class GEGLU(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.proj = nn.Linear(c, 8 * c)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class Transformer2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = gn(c, eps=1e-6)
        self.proj_in = nn.Conv2d(c, c, 1)
        self.norm1, self.attn1 = nn.LayerNorm(c), Attention(c, c, CFG["heads"])
        self.norm2, self.attn2 = nn.LayerNorm(c), Attention(c, CFG["cross_attention_dim"], CFG["heads"])
        self.norm3, self.ff = nn.LayerNorm(c), nn.Sequential(GEGLU(c), nn.Linear(4 * c, c))
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x, ctx):
        B, C, Hh, Ww = x.shape
        h = self.proj_in(self.norm(x))
        h = h.reshape(B, C, Hh * Ww).transpose(1, 2)
        n = self.norm1(h)
        h = h + self.attn1(n, n)
        h = h + self.attn2(self.norm2(h), ctx)
        h = h + self.ff(self.norm3(h))
        h = h.transpose(1, 2).reshape(B, C, Hh, Ww)
        return x + self.proj_out(h)


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        ch, L, T = CFG["block_out_channels"], CFG["layers_per_block"], CFG["time_embed_dim"]
        self.conv_in = nn.Conv2d(CFG["in_channels"], ch[0], 3, padding=1)
        self.time_embedding = nn.Sequential(nn.Linear(ch[0], T), nn.SiLU(), nn.Linear(T, T))
        self.down_res, self.down_attn, self.downsample = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        skip_ch = [ch[0]]
        cin = ch[0]
        for i, c in enumerate(ch):
            res, attn = nn.ModuleList(), nn.ModuleList()
            for j in range(L):
                res.append(ResnetBlock(cin if j == 0 else c, c, T))
                attn.append(Transformer2D(c) if CFG["down_attn"][i] else nn.Identity())
                skip_ch.append(c)
            self.down_res.append(res)
            self.down_attn.append(attn)
            last = i == len(ch) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(c, c, 3, stride=2, padding=1))
            if not last:
                skip_ch.append(c)
            cin = c
        self.mid_res1, self.mid_attn, self.mid_res2 = ResnetBlock(ch[-1], ch[-1], T), Transformer2D(ch[-1]), ResnetBlock(ch[-1], ch[-1], T)
        self.up_res, self.up_attn, self.upsample = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        rev = list(reversed(ch))
        prev = rev[0]
        for i, c in enumerate(rev):
            res, attn = nn.ModuleList(), nn.ModuleList()
            for j in range(L + 1):
                res.append(ResnetBlock((prev if j == 0 else c) + skip_ch.pop(), c, T))
                attn.append(Transformer2D(c) if CFG["up_attn"][i] else nn.Identity())
            self.up_res.append(res)
            self.up_attn.append(attn)
            last = i == len(rev) - 1
            self.upsample.append(nn.Identity() if last else nn.Conv2d(c, c, 3, padding=1))
            prev = c
        self.conv_norm_out = gn(ch[0])
        self.conv_out = nn.Conv2d(ch[0], CFG["out_channels"], 3, padding=1)

    def time_proj(self, t):
        # diffusers Timesteps(320, flip_sin_to_cos=True, downscale_freq_shift=0)
        half = CFG["block_out_channels"][0] // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        a = t.float()[:, None] * freqs[None]
        return torch.cat([torch.cos(a), torch.sin(a)], dim=-1)

    def forward(self, sample, timestep, encoder_hidden_states):
        ctx = encoder_hidden_states
        emb = self.time_embedding(self.time_proj(timestep))
        h = self.conv_in(sample)
        skips = [h]
        for i in range(len(self.down_res)):
            for r, a in zip(self.down_res[i], self.down_attn[i]):
                h = r(h, emb)
                h = h if isinstance(a, nn.Identity) else a(h, ctx)
                skips.append(h)
            if not isinstance(self.downsample[i], nn.Identity):
                h = self.downsample[i](h)
                skips.append(h)
        h = self.mid_res2(self.mid_attn(self.mid_res1(h, emb), ctx), emb)
        for i in range(len(self.up_res)):
            for r, a in zip(self.up_res[i], self.up_attn[i]):
                h = r(torch.cat([h, skips.pop()], 1), emb)
                h = h if isinstance(a, nn.Identity) else a(h, ctx)
            if not isinstance(self.upsample[i], nn.Identity):
                h = self.upsample[i](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.conv_norm_out(h)))


def to_fp16(src, out):
    """Writes OUT/model.onnx: the float32 export at SRC with every float
    tensor, input, output and Cast in float16 (a float16 export's layout;
    CPU torch 1.13 cannot trace the half-precision model itself)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, numpy_helper
    m = onnx.load(os.path.join(src, "model.onnx"))
    g = m.graph
    for i, t in enumerate(g.initializer):
        if t.data_type == TensorProto.FLOAT:
            g.initializer[i].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    for n in g.node:
        for at in n.attribute:
            if n.op_type == "Cast" and at.name == "to" and at.i == TensorProto.FLOAT:
                at.i = TensorProto.FLOAT16
            if at.type == onnx.AttributeProto.TENSOR and at.t.data_type == TensorProto.FLOAT:
                at.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(at.t).astype(np.float16), at.t.name))
    for v in list(g.input) + list(g.output) + list(g.value_info):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT:
            v.type.tensor_type.elem_type = TensorProto.FLOAT16
    os.makedirs(out, exist_ok=True)
    onnx.save_model(m, os.path.join(out, "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.pb", size_threshold=1024)
    print("wrote", os.path.join(out, "model.onnx"))


def reference(out, size=16):
    """Writes OUT/reference/*.bin (float32, little-endian): inputs, an MSE
    target and torch autograd's d mean((unet - target)^2) / d
    encoder_hidden_states, at a size CPUs manage (latent SIZExSIZE), for
    the model exported with the same seed. The Go test
    TestSD15GradientMatchesTorch (ONEACTOR_SD15_DIR=OUT) compares."""
    torch.manual_seed(0)
    unet = UNet().eval()
    g = torch.Generator().manual_seed(123)
    x = torch.randn(1, 4, size, size, generator=g)
    ts = torch.tensor([500.0])
    e = torch.randn(1, 77, CFG["cross_attention_dim"], generator=g).requires_grad_(True)
    tgt = torch.randn(1, 4, size, size, generator=g)
    loss = torch.mean((unet(x, ts, e) - tgt) ** 2)
    gr, = torch.autograd.grad(loss, e)
    d = os.path.join(out, "reference")
    os.makedirs(d, exist_ok=True)
    for name, t in [("sample", x), ("timestep", ts), ("encoder_hidden_states", e.detach()), ("target", tgt), ("grad", gr)]:
        t.detach().numpy().astype("<f4").tofile(os.path.join(d, name + ".bin"))
    print(f"wrote {d}: loss {loss.item():.6f}, |grad| {gr.norm().item():.4e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="output folder (outside the repository)")
    ap.add_argument("--trace-size", type=int, default=16, help="latent size traced (any multiple of 8; axes stay dynamic)")
    ap.add_argument("--fp16-from", help="instead of exporting, convert the float32 export in this folder to float16")
    ap.add_argument("--reference", action="store_true", help="instead of exporting, write torch autograd's gradient for OUT's export")
    a = ap.parse_args()
    if a.reference:
        reference(a.out)
        return
    if a.fp16_from:
        to_fp16(a.fp16_from, a.out)
        return
    torch.manual_seed(0)
    torch.set_grad_enabled(False)
    unet = UNet().eval()
    n = sum(p.numel() for p in unet.parameters())
    print(f"parameters: {n:,}")
    s = a.trace_size
    args = (torch.randn(1, 4, s, s), torch.tensor([500.0]), torch.randn(1, 77, CFG["cross_attention_dim"]))
    os.makedirs(a.out, exist_ok=True)
    # torch writes one file per tensor for models over 2 GB; export to a
    # scratch folder, then gather the weights into one file with onnx.
    tmp = tempfile.mkdtemp(dir=a.out)
    try:
        torch.onnx.export(unet, args, os.path.join(tmp, "model.onnx"), opset_version=17,
                          input_names=["sample", "timestep", "encoder_hidden_states"], output_names=["out_sample"],
                          dynamic_axes={"sample": {0: "batch", 2: "height", 3: "width"}, "timestep": {0: "batch"},
                                        "encoder_hidden_states": {0: "batch"}, "out_sample": {0: "batch", 2: "height", 3: "width"}},
                          do_constant_folding=True)
        import onnx
        m = onnx.load(os.path.join(tmp, "model.onnx"))
        onnx.save_model(m, os.path.join(a.out, "model.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="weights.pb", size_threshold=1024)
    finally:
        shutil.rmtree(tmp)
    print("wrote", os.path.join(a.out, "model.onnx"))


if __name__ == "__main__":
    main()
