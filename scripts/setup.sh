#!/usr/bin/env bash
# Creates .venv (Python >= 3.11) and installs hpo into it, with the extras named as arguments
# (scripts/test.sh: `setup.sh test`; scripts/demo.sh: none). Safe to re-run: pip is skipped
# while pyproject.toml is unchanged and those extras are already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: hpo needs Python >= 3.11; $PYTHON is $("$PYTHON" --version 2>&1 || echo missing)" >&2
  exit 2
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi

extras="$(IFS=,; echo "$*")"
target="."
[ -n "$extras" ] && target=".[$extras]"
# One line per extras set installed for this pyproject.toml; an older pyproject's lines go.
stamp=.venv/.hpo-installed
digest="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if ! grep -qxF "$digest ${extras:-core}" "$stamp" 2>/dev/null; then
  echo "setup: installing hpo${extras:+ with [$extras]} into .venv (TensorFlow is large: a few minutes the first time)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$target"
  { grep -F "$digest " "$stamp" 2>/dev/null || true; echo "$digest ${extras:-core}"; echo "$digest core"; } \
    | sort -u > "$stamp.new"
  mv "$stamp.new" "$stamp"
fi
