#!/usr/bin/env bash
# Sets everything up (Python packages with the test extra, and Chromium for the browser tests),
# checks the types (mypy) and lints (ruff; settings of both in pyproject.toml), then runs the
# whole test suite. Extra arguments go to pytest: `./scripts/test.sh -m "not slow"` is the fast
# lane (no training, no process started).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# Without Chromium the browser tests fail under CI and are skipped elsewhere.
bash scripts/install-chromium.sh || true
.venv/bin/python -m mypy
.venv/bin/ruff check
exec .venv/bin/python -m pytest "$@"
