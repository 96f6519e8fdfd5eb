#!/usr/bin/env bash
# GPU check for a machine with NVIDIA GPUs (the device tool's, see /work/.library/device): the
# same CIFAR-shaped synthetic CNN study with --gpus auto (one worker per GPU) and on the CPU
# (--gpus none), printing trials per minute and each worker's GPU memory (nvidia-smi, sampled
# every second: memory growth keeps it near what the model needs instead of the whole GPU).
#
#   bash benchmarks/gpu_check.sh [TRIALS]      # needs .venv with hpo[gpu] (tensorflow[and-cuda])
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS=${1:-6}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
nvidia-smi -L || { echo "gpu_check: no NVIDIA GPU here" >&2; exit 2; }

cat >"$WORK/cifar_shaped.py" <<'PY'
"""5,000 random 32x32x3 images in 10 classes: CIFAR-10's shape without its download."""
import numpy as np
from hpo import Data

def load(seed):
    rng = np.random.default_rng(0)
    x = rng.random((5000, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, 5000)
    return Data((x, y), validation=0.2)
PY
cat >"$WORK/study.py" <<PY
from hpo import StudySpec
STUDY = StudySpec(name="gpu_check", objective="cnn", dataset="$WORK/cifar_shaped.py", metric="val_loss",
                  n_trials=$TRIALS, max_epochs=3, patience=3, pruner="none", enqueue_defaults=True, seed=0)
PY

for gpus in auto none; do
    (while sleep 1; do nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader; done) \
        >"$WORK/memory-$gpus.log" 2>/dev/null &
    sampler=$!
    start=$(date +%s.%N)
    HPO_HOME="$WORK/home-$gpus" .venv/bin/hpo run "$WORK/study.py" --gpus "$gpus" | grep -E "one worker|share|ready on|finished trials"
    end=$(date +%s.%N)
    kill "$sampler"
    python3 - "$gpus" "$start" "$end" "$TRIALS" "$WORK/memory-$gpus.log" <<'PY'
import sys
gpus, start, end, trials, log = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
peak = {}
for line in open(log):
    pid, used = [part.strip() for part in line.split(",")]
    peak[pid] = max(peak.get(pid, 0), int(used.split()[0]))
memory = ", ".join(f"{mib} MiB" for mib in peak.values()) or "no GPU process"
print(f"--gpus {gpus}: {trials / ((end - start) / 60):.1f} trials/min ({end - start:.0f} s), "
      f"peak GPU memory per worker: {memory}")
PY
done
