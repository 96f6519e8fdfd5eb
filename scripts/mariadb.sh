#!/usr/bin/env bash
# A throwaway MariaDB server on 127.0.0.1, for the tests of hpo's MySQL branch (GET_LOCK).
#
#   scripts/mariadb.sh install  # installs Debian's package when missing (root), nothing more
#   scripts/mariadb.sh start    # installs Debian's mariadb-server when missing, starts a server on
#                               # a free port with its data in a temporary directory, prints its URL
#   scripts/mariadb.sh url      # prints the URL of the running server
#   scripts/mariadb.sh database NAME   # (re)creates an empty database NAME, prints its URL
#   scripts/mariadb.sh stop     # stops it and deletes its data
#
# The server trusts every local connection (--skip-grant-tables): it is for tests only.
# Works as root (the server then runs as the mysql user). HPO_MARIADB_DIR (default
# /tmp/hpo-mariadb-$UID) holds its data, socket and URL; the mysql user must reach it.
set -euo pipefail
STATE=${HPO_MARIADB_DIR:-/tmp/hpo-mariadb-$(id -u)}

install_mariadb() {
    command -v mariadbd >/dev/null 2>&1 && return 0
    [ -x /usr/sbin/mariadbd ] && return 0
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
        echo "mariadb.sh: MariaDB is not installed and installing it needs root (apt-get install mariadb-server)" >&2
        exit 2
    fi
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >/dev/null
    # Debian's package starts a system server; ours runs on its own port and data.
    $SUDO service mariadb stop >/dev/null 2>&1 || true
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

client() {  # mariadb client on the running server: client SQL
    URL=$(cat "$STATE/url")
    PORT=${URL##*:}; PORT=${PORT%%/*}
    mariadb --protocol=tcp -h 127.0.0.1 -P "$PORT" -u root -e "$1"
}

case "${1:-}" in
install)  # only install the server (scripts/test.sh, before the tests start servers at once)
    install_mariadb
    ;;
start)
    if [ -f "$STATE/url" ] && [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
        cat "$STATE/url"
        exit 0
    fi
    install_mariadb
    rm -rf "$STATE"
    mkdir -p "$STATE/data"
    RUN_AS=()
    if [ "$(id -u)" -eq 0 ]; then chown -R mysql: "$STATE"; RUN_AS=(--user=mysql); fi
    if ! mariadb-install-db --no-defaults --datadir="$STATE/data" "${RUN_AS[@]}" --skip-test-db \
        --auth-root-authentication-method=normal >"$STATE/install.log" 2>&1; then
        echo "mariadb.sh: mariadb-install-db failed: $(tail -1 "$STATE/install.log")" >&2
        exit 2
    fi
    PORT=$(free_port)
    # Many workers each hold a few connections (Optuna's pool, the heartbeat, the slot lock).
    nohup /usr/sbin/mariadbd --no-defaults --datadir="$STATE/data" "${RUN_AS[@]}" --bind-address=127.0.0.1 \
        --port="$PORT" --socket="$STATE/mysqld.sock" --pid-file="$STATE/mariadbd.pid" --skip-grant-tables \
        --max-connections=300 --innodb-flush-log-at-trx-commit=2 --log-error="$STATE/server.log" \
        >/dev/null 2>&1 &
    echo $! >"$STATE/pid"
    echo "mysql+pymysql://root@127.0.0.1:$PORT/mysql" >"$STATE/url"
    for _ in $(seq 1 600); do
        if client "SELECT 1" >/dev/null 2>&1; then
            cat "$STATE/url"
            exit 0
        fi
        if ! kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "mariadb.sh: the server did not start: $(tail -1 "$STATE/server.log" 2>/dev/null)" >&2
    exit 2
    ;;
url)
    [ -f "$STATE/url" ] || { echo "mariadb.sh: no server running (scripts/mariadb.sh start)" >&2; exit 2; }
    cat "$STATE/url"
    ;;
database)
    NAME=${2:?usage: scripts/mariadb.sh database NAME}
    [[ "$NAME" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "mariadb.sh: database names are [a-z_][a-z0-9_]*" >&2; exit 2; }
    [ -f "$STATE/url" ] || { echo "mariadb.sh: no server running (scripts/mariadb.sh start)" >&2; exit 2; }
    client "DROP DATABASE IF EXISTS $NAME; CREATE DATABASE $NAME"
    URL=$(cat "$STATE/url")
    echo "${URL%/*}/$NAME"
    ;;
stop)
    if [ -f "$STATE/pid" ]; then
        PID=$(cat "$STATE/pid")
        kill "$PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$PID" 2>/dev/null || true
    fi
    rm -rf "$STATE"
    ;;
*)
    echo "usage: scripts/mariadb.sh install|start|url|database NAME|stop" >&2
    exit 2
    ;;
esac
