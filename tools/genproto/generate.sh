#!/usr/bin/env bash
# Regenerates core/onnx/onnxpb from the ONNX schema with the official Go protobuf
# generator. Developer tool only: the generated file is committed, so building the
# app never needs protoc.
#
# onnx-ml.proto is copied verbatim from Debian 12's python3-onnx (ONNX 1.12, IR
# version 8, /usr/lib/python3/dist-packages/onnx/onnx-ml.proto). The ML variant is
# a superset of onnx.proto; fields added by later ONNX releases survive a
# read-modify-write as protobuf unknown fields.
#
# Needs: apt-get install protobuf-compiler
#        go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
pkg=github.com/oneactor/oneactor-desktop/core/onnx/onnxpb
PATH="$(go env GOPATH)/bin:$PATH"
protoc -I "$here" \
  --go_out="$root/core/onnx/onnxpb" --go_opt=paths=source_relative \
  --go_opt=Monnx-ml.proto="$pkg" \
  onnx-ml.proto
echo "wrote core/onnx/onnxpb/onnx-ml.pb.go"
