#!/bin/sh
# One-command rebuild of everything ToyWorld: data, training (resumable), exports, goldens, benchmark figures.
# usage: sh tools/toyworld/build_all.sh        (from anywhere; ~100 min on 2 cores)
# Each training stage resumes from tools/toyworld/work/ckpt_<stage>.pt if present; delete work/ to start over.
set -e
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
PY=/usr/bin/python3
export OMP_WAIT_POLICY=PASSIVE
sh setup.sh
mkdir -p work
$PY static_goldens.py "$ROOT"                       # tokenizer files + tokenizer/skeleton goldens
$PY goldens.py schedulers "$ROOT"                    # scheduler goldens (model independent)
$PY benchmark.py write "$ROOT"                       # benchmark data file
$PY write_targets.py "$ROOT"                          # OneActor benchmark target pictures (PNG)
[ -f work/data_train.npz ] || $PY train.py data
$PY train.py vae --steps 4000 --minutes 20 --threads 2
$PY train.py encode
# UNet + text encoder (2 threads) and judge (1 thread) in parallel
$PY train.py judge --steps 1000 --minutes 22 --threads 1 > work/judge.log 2>&1 &
JPID=$!
$PY train.py unet --steps 3200 --minutes 55 --threads 2 --lr 5e-4 --bs 64
wait $JPID
$PY train.py controlnet --steps 1000 --minutes 11 --threads 2 --lr 5e-4 --bs 32
$PY export.py "$ROOT"
$PY goldens.py models "$ROOT"
$PY benchmark.py measure
$PY oneactor.py --targets 10 --seeds 4
cat work/stage_times.json work/figures.json
