#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests.
#
#   tests/support/postgres.sh start DIR PORT   # data in DIR, listening on 127.0.0.1:PORT
#   tests/support/postgres.sh stop DIR [PORT]  # stops it and removes DIR; fine if it never started
#
# Once started, `postgresql://postgres@127.0.0.1:PORT/postgres` connects without a password (trust
# auth for the `postgres` role on loopback). Every other role authenticates with a password
# (scram-sha-256), so tests can exercise a wrong password. Durability is off (fsync, synchronous
# commit, full-page writes): the data is thrown away. DIR should not exist yet and must sit where
# the `postgres` OS user can reach it (e.g. /tmp/slipway-pg-XXXX). Run as root, the server runs as
# the `postgres` OS user (PostgreSQL refuses to run as root); run as anyone else, as that user.
# PG_BIN overrides where initdb and pg_ctl are looked for (default: newest /usr/lib/postgresql/*/bin,
# which is PostgreSQL 15 on Debian 12).
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }
usage() { die "usage: postgres.sh start DIR PORT | stop DIR"; }

find_bin() {
  local d=${PG_BIN:-}
  if [ -z "$d" ]; then
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$d" ] && command -v pg_ctl >/dev/null; then d=$(dirname "$(command -v pg_ctl)"); fi
  fi
  [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] ||
    die "PostgreSQL server binaries (initdb, pg_ctl) not found${d:+ in $d}; install the Debian package 'postgresql' or set PG_BIN"
  echo "$d"
}

# Runs a command as the server's OS user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The marker says DIR was made by this script, so `stop` never deletes a folder it did not make.
MARKER=.slipway-postgres

start() {
  local dir=$1 port=$2 bin
  [[ "$port" =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"
  bin=$(find_bin)
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "OS user 'postgres' does not exist (it comes with the postgresql package)"
  fi
  if [ -f "$dir/$MARKER" ] && as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    return 0  # already running
  fi
  if [ -e "$dir" ] && [ ! -f "$dir/$MARKER" ]; then
    die "$dir exists and was not made by postgres.sh; give a folder that does not exist yet"
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  touch "$dir/$MARKER"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$dir"; fi
  chmod 700 "$dir"
  as_pg test -w "$dir" || die "the postgres OS user cannot write $dir (is a parent folder private?)"

  as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  cat >"$dir/data/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       all                      trust
host    all       postgres  127.0.0.1/32   trust
host    all       all       127.0.0.1/32   scram-sha-256
EOF
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 64MB
EOF
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/data/pg_hba.conf"; fi
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1 ||
    { cat "$dir/server.log" >&2 2>/dev/null || true; die "server did not start on 127.0.0.1:$port"; }
  # The connection a test will use must work before we say the server is up.
  as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null ||
    die "server exited right after starting; see $dir/server.log"
  if command -v psql >/dev/null; then
    psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'SELECT 1' >/dev/null ||
      die "server started but postgresql://postgres@127.0.0.1:$port/postgres does not accept connections"
  fi
}

stop() {
  local dir=$1 bin
  [ -e "$dir" ] || return 0
  [ -f "$dir/$MARKER" ] || die "$dir was not made by postgres.sh; not touching it"
  bin=$(find_bin)
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) [ $# -eq 3 ] || usage; start "$2" "$3" ;;
  stop) [ $# -ge 2 ] || usage; stop "$2" ;;
  *) usage ;;
esac
