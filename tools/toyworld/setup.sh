#!/bin/sh
# Installs the Debian packages the ToyWorld tools need (idempotent). Run as root.
# libopenblas0-openmp matters: without it Debian torch uses the reference BLAS (~10x slower).
set -e
PKGS="python3 python3-torch python3-onnx python3-numpy python3-pil python3-regex libopenblas0-openmp"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi
/usr/bin/python3 -c "import torch, onnx, numpy, PIL, regex; print('toyworld deps ok: torch', torch.__version__, 'onnx', onnx.__version__)"
