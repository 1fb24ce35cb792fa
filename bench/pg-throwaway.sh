#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on loopback for the benchmark (Debian's binaries; no Docker here).
#   bench/pg-throwaway.sh start DIR   → starts a cluster in DIR on a free port, prints its connection string
#   bench/pg-throwaway.sh stop DIR    → stops it (immediate) and deletes DIR
# As root the cluster runs as the postgres user (initdb refuses root). The server creates its own database on it.
set -euo pipefail
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
command=${1:?start|stop}
dir=${2:?directory}
as_postgres=()
if [ "$(id -u)" = 0 ]; then as_postgres=(runuser -u postgres --); fi

case "$command" in
  start)
    port=15432
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    "${as_postgres[@]}" "$BIN/initdb" -D "$dir/data" -U postgres -A trust >"$dir/initdb.log" 2>&1
    "${as_postgres[@]}" "$BIN/pg_ctl" -w -D "$dir/data" -l "$dir/postgres.log" \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
    echo "Host=127.0.0.1;Port=$port;Username=postgres"
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      "${as_postgres[@]}" "$BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
