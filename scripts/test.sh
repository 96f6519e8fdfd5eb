#!/usr/bin/env bash
# Sets everything up (Python packages, and Chromium for the browser tests), checks the types
# of the package (mypy, settings in pyproject.toml), then runs the whole test suite. Extra
# arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Without Chromium the browser tests fail under CI and are skipped elsewhere.
bash scripts/install-chromium.sh || true
.venv/bin/python -m mypy
exec .venv/bin/python -m pytest "$@"
