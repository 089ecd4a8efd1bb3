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
$PY train.py vae --steps 5200 --minutes 24 --threads 2
$PY train.py encode
# UNet + text encoder (2 threads) and judge (1 thread) in parallel
$PY train.py judge --steps 1000 --minutes 22 --threads 1 > work/judge.log 2>&1 &
JPID=$!
$PY train.py unet --steps 3200 --minutes 55 --threads 2 --lr 5e-4 --bs 64
$PY train.py unet --steps 4200 --minutes 15 --threads 2 --lr 3e-4 --bs 64   # cosine tail, resumes at 3200
wait $JPID
$PY train.py controlnet --steps 1000 --minutes 11 --threads 2 --lr 5e-4 --bs 32
$PY train.py controlnet --steps 1300 --minutes 5 --threads 2 --lr 2e-4 --bs 32
# min-SNR-γ continuation of UNet + text encoder (with a decoder-only VAE fine-tune alongside), then the
# ControlNet re-fitted to it
($PY train.py vaedec --steps 4000 --minutes 35 --threads 1 --lr 3e-4 &&
 $PY train.py vaedec --steps 9000 --minutes 38 --threads 1 --lr 3e-4 &&
 $PY train.py vaedec --steps 12000 --minutes 15 --threads 1 --lr 3e-4) > work/vaedec.log 2>&1 &   # warm restarts
DPID=$!
$PY train.py unetft --steps 4000 --minutes 57 --threads 2 --lr 6e-4 --bs 64 --min-snr 5
wait $DPID
$PY train.py unetft --steps 6400 --minutes 17 --threads 2 --lr 4e-4 --bs 64 --min-snr 5   # warm restart (stopped at 5953 by the time cap)
$PY train.py cnrefit --steps 800 --minutes 6 --threads 2 --lr 2e-4 --bs 32
$PY export.py "$ROOT"
$PY goldens.py models "$ROOT"
$PY benchmark.py measure
$PY oneactor.py --targets 10 --seeds 4
cp work/figures.json "$ROOT/testdata/toyworld/reference/torch_figures.json"
cp work/oneactor_figures.json "$ROOT/testdata/toyworld/reference/torch_oneactor_figures.json"
cat work/stage_times.json work/figures.json
