#!/usr/bin/env bash
# Sets everything up (Python packages with the test extra, and Chromium for the browser tests),
# checks the types (mypy) and lints (ruff; settings of both in pyproject.toml), builds the docs
# (Sphinx, warnings as errors), then runs the whole test suite in two pytest-xdist workers. Extra arguments go to pytest:
# `./scripts/test.sh -m "not slow"` is the fast lane (no training, no process started).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# Without Chromium the browser tests fail under CI and are skipped elsewhere.
bash scripts/install-chromium.sh || true
# The database servers of the storage and fault tests, installed before two test workers could
# both start one (and both run apt-get); without them those tests fail under CI, skip elsewhere.
bash scripts/postgres.sh install || true
bash scripts/mariadb.sh install || true
.venv/bin/python -m mypy
.venv/bin/ruff check
# The documentation site, every warning an error (scripts/docs.sh does the same on its own).
TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python -m sphinx -E -W --keep-going -q -b html docs build/docs
# Two pytest-xdist workers: most slow tests wait on processes they started (hpo, its workers,
# PostgreSQL, Chromium), so a second test runs meanwhile; each worker is pinned to its own core
# (tests/conftest.py). The whole suite on 2 cores: 729 s serial, 475-614 s with -n 2 unpinned
# (2026-12-02), 443 s pinned (2026-12-03); 767 tests: 664 s with -n 2, 694 s with -n 4 (2026-12-08: the
# processes the tests start keep both cores busy, so more workers do not help). `-n 0` runs it serially.
# worksteal: xdist's default hands each worker a quarter of its share of the tests up front, in
# order, so one worker could hold most of the minute-long ones while the other ran out of work
# (1005 s with 624 tests, against 642 s stealing; 2026-12-04). conftest.py runs the slow tests first.
exec .venv/bin/python -m pytest -n 2 --dist worksteal "$@"
