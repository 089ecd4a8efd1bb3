#!/usr/bin/env bash
# One-time, idempotent set-up for building, running and testing OneActor
# Desktop on Debian 12: the system packages Fyne needs, and ONNX Runtime's
# CPU library (downloaded with npm, verified by sha256, kept out of git).
# Called by `make run` and `make test`; safe to run again at any time.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.30.0
ORT_NPM=onnxruntime-node@${ORT_VERSION}
ORT_MEMBER=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
ORT_SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
ORT_DIR=.deps/onnxruntime-${ORT_VERSION}

# Packages needed to compile Fyne (cgo + OpenGL + X11) and to fetch ORT.
# Extra packages may be named on the command line (e.g. xvfb for screenshots).
packages=(gcc pkg-config libgl1-mesa-dev xorg-dev npm "$@")

missing=()
for p in "${packages[@]}"; do
  # npm may come from a Node.js install outside Debian's packages.
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them with:  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

lib="$ORT_DIR/libonnxruntime.so.1"
if [ -f "$lib" ] && echo "$ORT_SHA256  $lib" | sha256sum --check --status; then
  exit 0
fi
echo "setup: fetching ONNX Runtime ${ORT_VERSION} (CPU) from npm package ${ORT_NPM}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$ORT_NPM" >/dev/null)
tar -xzf "$tmp"/onnxruntime-node-"${ORT_VERSION}".tgz -C "$tmp" "$ORT_MEMBER"
if ! echo "$ORT_SHA256  $tmp/$ORT_MEMBER" | sha256sum --check --status; then
  echo "setup: checksum mismatch for $ORT_MEMBER from $ORT_NPM" >&2
  echo "setup: expected $ORT_SHA256, got $(sha256sum "$tmp/$ORT_MEMBER" | cut -d' ' -f1)" >&2
  exit 1
fi
mkdir -p "$ORT_DIR"
install -m 0755 "$tmp/$ORT_MEMBER" "$lib.partial"
mv "$lib.partial" "$lib"
ln -sf libonnxruntime.so.1 "$ORT_DIR/libonnxruntime.so"
echo "setup: ONNX Runtime ${ORT_VERSION} ready in $ORT_DIR"
