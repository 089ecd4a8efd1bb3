#!/usr/bin/env python3
"""Prototype for issue 4 (not used by the app): hoist the UNet's context-only work out of the sampling loop.

The cross-attention key/value projections (MatMul of encoder_hidden_states by a constant weight, after the
exporter's Cast) depend only on the prompt embeddings, which stay the same for every step of a generation; this
script writes a copy of the ToyWorld UNet at 8 rows (static shapes) whose inputs are those 14 projections (and the
Cast output the shape computations read) instead of computing them: /tmp/hoist/model.onnx. Time it against the
committed UNet with the Go harness (random values for the new inputs; timing only):

    python3 tools/bench/hoist_context.py
    UNET_AB=/tmp/hoist/model.onnx [UNET_AB_FUSE=1] go test -tags ci -ldflags "-X …/core/ort.BundledDir=…" \
        -run TestABUNet -v ./core/diffusion/

Measured 2026-11-26 (1 thread, 300 alternating runs): hoisted 0.963×, fused attention alone 0.985×, hoisted +
fused 0.928× of the committed UNet's run time. The engine does this itself (onnx.HoistProjections,
core/diffusion/hoist.go): the 14 MatMuls run as a small second session once per prompt, again only when the
context rows change; this script stays as the independent check of the measured gain.
"""
import os
import onnx
from onnx import helper, shape_inference, TensorProto
src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "toyworld", "unet", "model.onnx")
os.makedirs("/tmp/hoist", exist_ok=True)
m = onnx.load(src, load_external_data=True)
g = m.graph
B = 8
for i in g.input:
    dims = i.type.tensor_type.shape.dim
    for k, d in enumerate(dims):
        if d.dim_param or d.dim_value <= 0:
            d.ClearField("dim_param")
            d.dim_value = {"sample": [B, 4, 8, 8], "encoder_hidden_states": [B, 77, 64]}[i.name][k] if i.name != "timestep" else B
m = shape_inference.infer_shapes(m, data_prop=True)
g = m.graph
vi = {v.name: v for v in list(g.value_info) + list(g.input) + list(g.output)}
inits = {t.name for t in g.initializer}
consts = set()
inv = {"encoder_hidden_states"}
hoisted = []
for n in g.node:
    if n.op_type == "Constant":
        consts.update(n.output); continue
    ins = [x for x in n.input if x]
    if n.op_type in ("MatMul", "Cast") and ins and all(x in inv or x in inits or x in consts for x in ins) and any(x in inv for x in ins):
        hoisted.append(n); inv.update(n.output)
hs = set(id(n) for n in hoisted)
used_by_main = set()
for n in g.node:
    if id(n) not in hs:
        used_by_main.update(n.input)
boundary = [o for n in hoisted for o in n.output if o in used_by_main or o in {x.name for x in g.output}]
print("hoisted", len(hoisted), "nodes; boundary", len(boundary))
from collections import Counter
print(Counter(n.op_type for n in hoisted))
missing = [b for b in boundary if b not in vi or not all(d.dim_value > 0 for d in vi[b].type.tensor_type.shape.dim)]
print("boundary without static shape:", missing[:10])
keep = [n for n in g.node if id(n) not in hs]
del g.node[:]
g.node.extend(keep)
newin = [i for i in g.input if i.name != "encoder_hidden_states" or i.name in used_by_main]
for b in boundary:
    v = vi[b]
    newin.append(helper.make_tensor_value_info(b, v.type.tensor_type.elem_type, [d.dim_value for d in v.type.tensor_type.shape.dim]))
del g.input[:]
g.input.extend(newin)
used = set(x for n in g.node for x in n.input)
keep_init = [t for t in g.initializer if t.name in used]
del g.initializer[:]
g.initializer.extend(keep_init)
del g.value_info[:]
onnx.save(m, "/tmp/hoist/model.onnx", save_as_external_data=True, location="model.onnx_data")
onnx.checker.check_model("/tmp/hoist/model.onnx")
for i in g.input: print(i.name, [d.dim_value for d in i.type.tensor_type.shape.dim], i.type.tensor_type.elem_type)
