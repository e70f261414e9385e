#!/usr/bin/env bash
# Train the embedded demo model (vald_desktop/models/demo-phantom) from nothing: phantom sets, base (vocabulary + VAE), stages 1-3.
# Run from the repository root after `make setup`:  bash training/demo-phantom.sh
# PROCESSES=2 (default) trains each stage on two gloo CPU processes with 16 films each (global batch 32);
# PROCESSES=1 runs one process with --batch-size 32 (same data and noise; about 1.7x slower on 2 cores).
# The result goes to out/demo-phantom-stage3; copy it to vald_desktop/models/demo-phantom after checking it
# (vald evaluate phantoms, see the README). Step times are appended to out/demo-phantom-times.txt.
set -euo pipefail
PROCESSES="${PROCESSES:-2}"
BIN="${VENV:-.venv}/bin"
export OMP_NUM_THREADS=1  # one thread per process: on 2 cores OpenMP spin-waiting costs more than it gains
TIMES=out/demo-phantom-times.txt
mkdir -p out
stamp() { echo "$(date -u +%FT%TZ) $(date +%s) $1" >>"$TIMES"; }

train() {
    if [ "$PROCESSES" -gt 1 ]; then
        ACCELERATE_USE_CPU=1 "$BIN/accelerate" launch --multi_gpu --num_processes "$PROCESSES" --num_machines 1 \
            --mixed_precision no --dynamo_backend no -m vald_desktop.cli train --no-progress "$@"
    else
        "$BIN/vald" train --no-progress --batch-size 32 "$@"
    fi
}

stamp start
"$BIN/vald" phantoms --n 3000 --seed 1 --out out/demo-phantoms --size 128 --workers 2 \
    --findings normal,lung_opacity,nodule,cardiomegaly,normal,viral_pneumonia,covid19,effusion
"$BIN/vald" phantoms --n 2400 --seed 2 --out out/demo-phantoms-sided --size 128 --workers 2 \
    --findings normal,lung_opacity,lung_opacity,nodule,cardiomegaly,lung_opacity,viral_pneumonia,covid19,effusion,lung_opacity,normal,effusion
"$BIN/vald" phantoms --n 1000 --seed 4 --out out/demo-phantoms-paired --size 128 --workers 2 --both-sides \
    --findings lung_opacity,normal,lung_opacity,effusion,nodule,lung_opacity,cardiomegaly,viral_pneumonia,covid19,effusion
stamp phantoms
# The VAE stage is a single-process loop; both cores go to its convolutions.
OMP_NUM_THREADS=2 "$BIN/vald" train --config training/configs/demo-phantom.yaml --base-only --no-progress
stamp base
train --config training/configs/demo-phantom.yaml
stamp stage1
train --config training/configs/demo-phantom-stage2.yaml
stamp stage2
train --config training/configs/demo-phantom-stage3.yaml --out out/demo-phantom-stage3
stamp stage3
