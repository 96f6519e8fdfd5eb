#!/usr/bin/env bash
# Local MLflow and TensorBoard servers on 127.0.0.1, for the tests and for looking at a study's
# tracking (hpo run --mlflow URL --tensorboard DIR). Installed by `scripts/setup.sh tracking`
# (or `test`) into .venv.
#
#   scripts/tracking_servers.sh mlflow STATE_DIR       # an MLflow tracking server, its runs and
#                                                      # artifacts in STATE_DIR; prints its URL
#   scripts/tracking_servers.sh tensorboard LOGDIR STATE_DIR   # TensorBoard on LOGDIR; prints its URL
#   scripts/tracking_servers.sh stop STATE_DIR          # stops the servers started with STATE_DIR
#
# Each server listens on a free port and is ready (it answered over HTTP) when its URL is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV_BIN="$PWD/.venv/bin"

free_port() {
    "$VENV_BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {  # URL PID LOG: until the URL answers, the process dies, or 120 s pass
    for _ in $(seq 1 480); do
        if "$VENV_BIN/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" \
            2>/dev/null; then return 0; fi
        if ! kill -0 "$2" 2>/dev/null; then
            echo "tracking_servers.sh: the server exited: $(tail -3 "$3")" >&2
            exit 2
        fi
        sleep 0.25
    done
    echo "tracking_servers.sh: no answer from $1 after 120 s: $(tail -3 "$3")" >&2
    exit 2
}

start() {  # NAME STATE_DIR HEALTH_PATH COMMAND...: start COMMAND (with PORT set) in its own session
    local name=$1 state=$2 health=$3
    shift 3
    [ -x "$VENV_BIN/$name" ] || { echo "tracking_servers.sh: $name is not installed: bash scripts/setup.sh tracking" >&2; exit 2; }
    mkdir -p "$state"
    PORT=$(free_port)
    local log="$state/$name.log"
    # setsid: the server and its own workers form one process group, which `stop` ends together.
    setsid "$@" --port "$PORT" >"$log" 2>&1 < /dev/null &
    echo $! > "$state/$name.pid"
    wait_for "http://127.0.0.1:$PORT$health" "$!" "$log"
    echo "http://127.0.0.1:$PORT"
}

case "${1:-}" in
mlflow)
    state=$(realpath -m "${2:?usage: tracking_servers.sh mlflow STATE_DIR}")
    # No job runner: MLflow 3 starts two huey consumers (7 processes, 15 workers polling) for
    # its GenAI jobs, which hpo never runs; without them the server starts in 5.4 s instead of
    # 7.2 s here and takes no CPU from the tests while it waits.
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false \
    start mlflow "$state" /health "$VENV_BIN/mlflow" server --host 127.0.0.1 --workers 1 \
        --backend-store-uri "sqlite:///$state/mlflow.db" --artifacts-destination "$state/artifacts"
    ;;
tensorboard)
    logdir=$(realpath -m "${2:?usage: tracking_servers.sh tensorboard LOGDIR STATE_DIR}")
    state=$(realpath -m "${3:?usage: tracking_servers.sh tensorboard LOGDIR STATE_DIR}")
    # --load_fast=false: the Python loader, which reads new event files within --reload_interval.
    TF_CPP_MIN_LOG_LEVEL=3 start tensorboard "$state" /data/runs "$VENV_BIN/tensorboard" --logdir "$logdir" \
        --host 127.0.0.1 --load_fast=false --reload_interval 1
    ;;
stop)
    state=$(realpath -m "${2:?usage: tracking_servers.sh stop STATE_DIR}")
    for pidfile in "$state"/*.pid; do
        [ -f "$pidfile" ] || continue
        kill -- "-$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
    done
    ;;
*)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
