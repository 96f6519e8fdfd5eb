#!/usr/bin/env bash
# Builds the documentation site (docs/, Sphinx with MyST and furo) into build/docs, with every
# warning an error, as the test command does. `scripts/docs.sh open` also prints where it is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh docs
out="${DOCS_OUT:-build/docs}"
# -E: a fresh environment, so a page whose generated reference changed is rebuilt too.
TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python -m sphinx -E -W --keep-going -q -b html docs "$out"
echo "docs: $out/index.html"
