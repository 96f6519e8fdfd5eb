#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1, for the tests and for trying hpo on PostgreSQL.
#
#   scripts/postgres.sh install  # installs Debian's package when missing (root), nothing more
#   scripts/postgres.sh start   # installs Debian's postgresql when missing, starts a server on a
#                               # free port with its data in a temporary directory, prints its URL
#   scripts/postgres.sh url     # prints the URL of the running server
#   scripts/postgres.sh database NAME   # (re)creates an empty database NAME, prints its URL
#   scripts/postgres.sh down [immediate|fast]   # stops the server, keeping its data (immediate:
#                               # as in a crash, no clean shutdown); the fault tests use it
#   scripts/postgres.sh up      # starts it again on the same port, after `down`
#   scripts/postgres.sh stop    # stops it and deletes its data
#
# Works as root (initdb and pg_ctl refuse to run as root: they run as the postgres user).
# HPO_POSTGRES_DIR (default /tmp/hpo-postgres-$UID) holds the server's data, socket and URL; as
# root, the postgres user must be able to reach it (no private parent directory).
set -euo pipefail
STATE=${HPO_POSTGRES_DIR:-/tmp/hpo-postgres-$(id -u)}

bin_dir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

install_postgres() {
    [ -n "$(bin_dir)" ] && return 0
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
        echo "postgres.sh: PostgreSQL is not installed and installing it needs root (apt-get install postgresql)" >&2
        exit 2
    fi
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

as_owner() {  # run a server command as the postgres user when we are root
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_server() {  # on port $1, with the data in $STATE
    # Many workers each hold a few connections (Optuna's pool and the heartbeat).
    if ! as_owner "$(bin_dir)/pg_ctl" -D "$STATE/data" -w -l "$STATE/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $1 -k $STATE/socket -c max_connections=300 -c fsync=off" \
        start >/dev/null; then
        echo "postgres.sh: the server did not start: $(tail -1 "$STATE/server.log")" >&2
        exit 2
    fi
}

case "${1:-}" in
install)  # only install the server (scripts/test.sh, before the tests start servers at once)
    install_postgres
    ;;
start)
    if [ -f "$STATE/url" ] && as_owner "$(bin_dir)/pg_ctl" -D "$STATE/data" status >/dev/null 2>&1; then
        cat "$STATE/url"
        exit 0
    fi
    install_postgres
    BIN=$(bin_dir)
    rm -rf "$STATE"
    mkdir -p "$STATE/data" "$STATE/socket"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$STATE"; fi
    USER_NAME=$([ "$(id -u)" -eq 0 ] && echo postgres || id -un)
    if ! as_owner "$BIN/initdb" -D "$STATE/data" -A trust -U "$USER_NAME" >"$STATE/initdb.log" 2>&1; then
        echo "postgres.sh: initdb failed: $(tail -1 "$STATE/initdb.log")" >&2
        exit 2
    fi
    PORT=$(free_port)
    start_server "$PORT"
    echo "postgresql+psycopg2://$USER_NAME@127.0.0.1:$PORT/postgres" >"$STATE/url"
    cat "$STATE/url"
    ;;
down)
    MODE=${2:-fast}
    [[ "$MODE" =~ ^(immediate|fast)$ ]] || { echo "postgres.sh: down immediate|fast" >&2; exit 2; }
    [ -f "$STATE/url" ] || { echo "postgres.sh: no server running (scripts/postgres.sh start)" >&2; exit 2; }
    as_owner "$(bin_dir)/pg_ctl" -D "$STATE/data" -m "$MODE" -w stop >/dev/null
    ;;
up)
    [ -f "$STATE/url" ] || { echo "postgres.sh: no server to start again (scripts/postgres.sh start)" >&2; exit 2; }
    URL=$(cat "$STATE/url")
    PORT=${URL##*:}; PORT=${PORT%%/*}
    start_server "$PORT"
    ;;
url)
    [ -f "$STATE/url" ] || { echo "postgres.sh: no server running (scripts/postgres.sh start)" >&2; exit 2; }
    cat "$STATE/url"
    ;;
database)
    NAME=${2:?usage: scripts/postgres.sh database NAME}
    [[ "$NAME" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "postgres.sh: database names are [a-z_][a-z0-9_]*" >&2; exit 2; }
    [ -f "$STATE/url" ] || { echo "postgres.sh: no server running (scripts/postgres.sh start)" >&2; exit 2; }
    URL=$(cat "$STATE/url")
    PORT=${URL##*:}; PORT=${PORT%%/*}
    USER_NAME=${URL#*://}; USER_NAME=${USER_NAME%%@*}
    for sql in "DROP DATABASE IF EXISTS $NAME WITH (FORCE)" "CREATE DATABASE $NAME"; do
        PGOPTIONS="-c client_min_messages=warning" as_owner "$(bin_dir)/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" -d postgres -c "$sql" >/dev/null
    done
    echo "${URL%/*}/$NAME"
    ;;
stop)
    if [ -d "$STATE/data" ] && [ -n "$(bin_dir)" ]; then
        as_owner "$(bin_dir)/pg_ctl" -D "$STATE/data" -m fast stop >/dev/null 2>&1 || true
    fi
    rm -rf "$STATE"
    ;;
*)
    echo "usage: scripts/postgres.sh install|start|url|database NAME|down [immediate|fast]|up|stop" >&2
    exit 2
    ;;
esac
