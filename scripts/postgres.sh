#!/usr/bin/env bash
# A throwaway PostgreSQL cluster from the installed binaries, for tests and the local cluster.
#   scripts/postgres.sh start DIR PORT   -> initdb (first time) + start; prints the connection string
#   scripts/postgres.sh stop DIR
# Works as root (the server then runs as the 'postgres' user, since PostgreSQL refuses root) or as a normal user.
set -euo pipefail

find_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
  echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2
  exit 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }
bin=$(find_bin)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"

case "$cmd" in
  start)
    port=${3:?port required}
    if [ ! -f "$dir/PG_VERSION" ]; then
      # trust on loopback only: a throwaway cluster for this machine's tests and demo.
      as_owner "$bin/initdb" -D "$dir" -U taskserver --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
      cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
shared_preload_libraries = 'pg_stat_statements'
CONF
    fi
    if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null
    fi
    echo "Host=127.0.0.1;Port=$port;Username=taskserver;Database=postgres"
    ;;
  stop)
    if [ -f "$dir/PG_VERSION" ]; then as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true; fi
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
