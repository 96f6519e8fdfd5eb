#!/usr/bin/env bash
# Sets everything up, then runs the built-in study (an MLP on scikit-learn's digits) and
# prints the best result. Re-running tops the study up to its budget (here: nothing to do).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/hpo run studies/digits_mlp.py "$@"
