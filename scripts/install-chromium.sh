#!/usr/bin/env bash
# Installs Debian's Chromium when it is missing: the browser tests open reports in it, and
# `hpo report --png` exports figures through it (kaleido). Needs root or password-less sudo;
# otherwise says what to run and leaves the rest to the caller.
set -euo pipefail

for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then
    exit 0
  fi
done

if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "setup: Chromium is missing and installing it needs root: sudo apt-get install chromium" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: Chromium is missing and this system has no apt-get; install Chromium yourself" >&2
  exit 1
fi
echo "setup: installing Chromium from the distribution's packages (browser tests, PNG export)"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium >/dev/null
