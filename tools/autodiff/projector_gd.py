#!/usr/bin/env python3
"""PyTorch reference for the projector's parameter gradients.

Builds the OneActor projector exactly as core/oneactor.BuildProjector does,
initialises it, trains it by plain gradient descent on a fixed target with
torch autograd, and writes the initial weights, data and loss curve to
testdata/autodiff/projector_gd.json. The Go test trains the same network
through the ONNX gradient compiler and ONNX Runtime and compares curves.

Run from the repo root:  python3 tools/autodiff/projector_gd.py
(Debian: apt-get install python3-torch)
"""
import json
import time

import torch
import torch.nn.functional as F

torch.manual_seed(0)
C, H, W, D, B = 16, 8, 8, 32, 4
LR, STEPS = 0.1, 25
EPS = 1e-5

params = []  # (name, tensor) in Go's declaration order


def param(name, shape, init):
    t = torch.empty(*shape)
    if init == "xavier":
        torch.nn.init.xavier_uniform_(t)
    elif init == "ones":
        t.fill_(1)
    else:
        t.zero_()
    t.requires_grad_(True)
    params.append((name, t))
    return t


def conv_def(name, cin, cout, k, stride, pad):
    w = param(name + ".weight", (cout, cin, k, k), "xavier")
    return lambda x: F.conv2d(x, w, stride=stride, padding=pad)


def bn_def(name, c):
    g = param(name + ".weight", (c,), "ones")
    b = param(name + ".bias", (c,), "zeros")

    def f(x):
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        xc = x - mean
        var = (xc * xc).mean(dim=(0, 2, 3), keepdim=True)
        return xc / torch.sqrt(var + EPS) * g.view(c, 1, 1) + b.view(c, 1, 1)
    return f


def block_def(name, cin, cout, stride):
    c1 = conv_def(name + ".conv1", cin, cout, 3, stride, 1)
    b1 = bn_def(name + ".bn1", cout)
    c2 = conv_def(name + ".conv2", cout, cout, 3, 1, 1)
    b2 = bn_def(name + ".bn2", cout)
    skip = conv_def(name + ".skip", cin, cout, 1, stride, 0) if (cin != cout or stride != 1) else (lambda x: x)

    def f(x):
        y = F.relu(b1(c1(x)))
        y = b2(c2(y))
        return F.relu(y + skip(x))
    return f


def build():
    h, w = H, W
    stride = 2 if ((h + 1) // 2 >= 2 and (w + 1) // 2 >= 2) else 1
    c = C // 2
    layers = [conv_def("stem", C, c, 7, stride, 3), bn_def("stem.bn", c), F.relu]
    h, w = (h + 6 - 7) // stride + 1, (w + 6 - 7) // stride + 1
    layers += [block_def("stage1.0", c, c, 1), block_def("stage1.1", c, c, 1)]
    for i, nxt in enumerate([C // 4, C // 8]):
        nh, nw = (h - 1) // 2 + 1, (w - 1) // 2 + 1
        if nh < 2 or nw < 2:
            break
        layers += [block_def(f"stage{i+2}.0", c, nxt, 2), block_def(f"stage{i+2}.1", nxt, nxt, 1)]
        c, h, w = nxt, nh, nw
    fcw = param("fc.weight", (D, c * h * w), "xavier")
    fcb = param("fc.bias", (D,), "zeros")
    lnw = param("ln.weight", (D,), "ones")
    lnb = param("ln.bias", (D,), "zeros")

    def f(x):
        for l in layers:
            x = l(x)
        x = x.flatten(1) @ fcw.t() + fcb
        return F.layer_norm(x, (D,), lnw, lnb, EPS)
    return f


net = build()
h_in = torch.randn(B, C, H, W)
target = torch.randn(B, D)
init = [(n, t.detach().clone()) for n, t in params]
losses = []
t0 = time.time()
for step in range(STEPS):
    for _, t in params:
        t.grad = None
    loss = F.mse_loss(net(h_in), target)
    loss.backward()
    losses.append(loss.item())
    with torch.no_grad():
        for _, t in params:
            t -= LR * t.grad
elapsed = time.time() - t0

out = {
    "shape": {"C": C, "H": H, "W": W, "D": D}, "batch": B, "lr": LR, "steps": STEPS,
    "params": [{"name": n, "dims": list(t.shape), "values": t.flatten().tolist()} for n, t in init],
    "h": h_in.flatten().tolist(), "target": target.flatten().tolist(),
    "losses": losses, "torch_seconds": elapsed, "torch_version": torch.__version__,
}
with open("testdata/autodiff/projector_gd.json", "w") as f:
    json.dump(out, f)
print(f"wrote testdata/autodiff/projector_gd.json: {len(params)} params, loss {losses[0]:.4f} -> {losses[-1]:.4f} in {elapsed:.2f}s")
