#!/usr/bin/env bash
# Sets everything up, then runs the built-in study (an MLP on scikit-learn's digits), prints
# the best result and writes its report (hpo-runs/reports/digits_mlp/report.html). Re-running
# tops the study up to its budget (here: nothing to do). Extra arguments go to `hpo run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/hpo run studies/digits_mlp.py "$@"
if [ $# -eq 0 ]; then
  .venv/bin/hpo report digits_mlp
fi
