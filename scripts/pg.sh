#!/usr/bin/env bash
# Throwaway PostgreSQL 15 for tests: scripts/pg.sh up | down | env | status
#
#   up      install postgresql-15 if missing (as root: apt-get), initdb once, start on
#           127.0.0.1:$PG_PORT, wait for pg_isready, create database `gatehouse`, apply
#           insforge/migrations/*.sql in order (they are idempotent), print the URL.
#           Already running -> just re-applies the migrations and prints the URL.
#   down    stop the server and DELETE its data ($ROOT/.stack/pg).
#   env     print PG_URL=postgres://postgres@127.0.0.1:$PG_PORT/gatehouse
#   status  exit 0 if running and accepting connections.
#
# THROWAWAY TEST CLUSTER ONLY: trust authentication (no password) for the unix socket
# and loopback, listens on 127.0.0.1 only, fsync=off. Never point anything real at it.
#
# Env: PG_PORT (default 15432), PG_OS_USER (see below), PG_BIN (default
# /usr/lib/postgresql/15/bin).
#
# Which OS user runs the server: initdb/postgres refuse to run as root. As root we run
# them as a dedicated system user `gatehouse-pg` (created with useradd --system
# --no-create-home if missing), not the Debian `postgres` user: that one only exists
# once the postgresql package is installed, belongs to the system cluster, and its
# home/permissions are the package's business. The dedicated user owns nothing but
# $ROOT/.stack/pg, so `down` can rm -rf it safely. Override with PG_OS_USER=... .
# Not root: everything runs as the current user and no user is created.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_PORT="${PG_PORT:-15432}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_OS_USER="${PG_OS_USER:-gatehouse-pg}"
HOME_DIR="$ROOT/.stack/pg"
DATA="$HOME_DIR/data"
SOCK="$HOME_DIR/run"
LOG="$HOME_DIR/postgres.log"
DB=gatehouse
SUPERUSER=postgres
URL="postgres://$SUPERUSER@127.0.0.1:$PG_PORT/$DB"

log() { echo "pg.sh: $*" >&2; }
die() { echo "pg.sh: error: $*" >&2; exit 1; }

[[ "$PG_PORT" =~ ^[0-9]+$ ]] && (( PG_PORT > 0 && PG_PORT < 65536 )) \
  || die "PG_PORT must be a TCP port number, got '$PG_PORT'"

IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1

# Run a command as the server's OS user, from a directory it can read.
as_pg() {
  if (( IS_ROOT )); then
    (cd "$HOME_DIR" && runuser -u "$PG_OS_USER" -- "$@")
  else
    (cd "$HOME_DIR" && "$@")
  fi
}

ensure_binaries() {
  [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" && -x "$PG_BIN/psql" ]] && return 0
  (( IS_ROOT )) || die "PostgreSQL 15 not found in $PG_BIN; install postgresql-15 (as root: apt-get install -y postgresql-15) or set PG_BIN"
  command -v apt-get >/dev/null || die "PostgreSQL 15 not found in $PG_BIN and apt-get is unavailable"
  log "installing postgresql-15 (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  [[ -x "$PG_BIN/initdb" ]] || die "postgresql-15 installed but $PG_BIN/initdb is still missing"
}

ensure_user() {
  (( IS_ROOT )) || return 0
  command -v runuser >/dev/null || die "runuser (util-linux) is needed to drop root privileges"
  if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
    log "creating system user $PG_OS_USER"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_OS_USER" \
      || die "could not create system user $PG_OS_USER"
  fi
}

# Every directory above the data area must be traversable by the server user.
check_path_access() {
  (( IS_ROOT )) || return 0
  if ! runuser -u "$PG_OS_USER" -- test -x "$ROOT/.stack"; then
    die "user $PG_OS_USER cannot reach $ROOT/.stack (a parent directory is not world-executable); chmod o+x the parents or move the checkout"
  fi
}

# 0 running, 1 not running (stale pid file removed if any).
running() {
  local pidfile="$DATA/postmaster.pid" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(head -n1 "$pidfile" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
     && [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == postgres* ]]; then
    return 0
  fi
  log "removing stale pid file (pid '${pid}' is not a running postgres)"
  rm -f "$pidfile"
  return 1
}

running_port() { sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || true; }

wait_ready() {
  local i
  for i in $(seq 1 60); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres -U "$SUPERUSER" && return 0
    sleep 0.5
  done
  tail -n 20 "$LOG" >&2 2>/dev/null || true
  die "server did not accept connections on 127.0.0.1:$PG_PORT within 30 s (log: $LOG)"
}

init_cluster() {
  [[ -f "$DATA/PG_VERSION" ]] && return 0
  # A unix socket path is limited to 107 bytes.
  (( ${#SOCK} + 20 < 108 )) || die "socket dir path too long for a unix socket: $SOCK"
  log "initdb $DATA"
  rm -rf "$DATA"
  as_pg "$PG_BIN/initdb" -D "$DATA" -U "$SUPERUSER" --auth=trust --encoding=UTF8 --locale=C \
    >"$HOME_DIR/initdb.log" 2>&1 \
    || { cat "$HOME_DIR/initdb.log" >&2; die "initdb failed"; }
  # Throwaway test cluster: trust, socket and loopback only.
  as_pg tee "$DATA/pg_hba.conf" >/dev/null <<'EOF'
# gatehouse throwaway test cluster (scripts/pg.sh): trust, local socket + loopback only
local all all              trust
host  all all 127.0.0.1/32 trust
host  all all ::1/128      trust
EOF
  echo "include_if_exists = 'gatehouse.conf'" | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
}

write_conf() {
  as_pg tee "$DATA/gatehouse.conf" >/dev/null <<EOF
# written by scripts/pg.sh on every start
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$SOCK'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

psql_() { PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$SUPERUSER" "$@"; }

migrate() {
  if [[ "$(psql_ -d postgres -tAc "select 1 from pg_database where datname = '$DB'")" != 1 ]]; then
    psql_ -d postgres -c "create database $DB" >/dev/null
  fi
  local f
  shopt -s nullglob
  for f in "$ROOT"/insforge/migrations/*.sql; do
    psql_ -d "$DB" --single-transaction -f "$f" >/dev/null 2>"$HOME_DIR/migrate.err" \
      || { cat "$HOME_DIR/migrate.err" >&2; die "migration failed: ${f#"$ROOT"/}"; }
    log "applied ${f#"$ROOT"/}"
  done
}

cmd_up() {
  ensure_binaries
  ensure_user
  mkdir -p "$HOME_DIR"
  if (( IS_ROOT )); then chown "$PG_OS_USER:" "$HOME_DIR"; fi
  chmod 700 "$HOME_DIR"
  check_path_access
  if running; then
    local port; port="$(running_port)"
    [[ "$port" == "$PG_PORT" ]] || die "already running on port $port, not PG_PORT=$PG_PORT; run 'PG_PORT=$port $0 down' first"
    log "already running on 127.0.0.1:$PG_PORT"
  else
    init_cluster
    mkdir -p "$SOCK"
    if (( IS_ROOT )); then chown "$PG_OS_USER:" "$SOCK"; fi
    write_conf
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 30 start >/dev/null \
      || { tail -n 20 "$LOG" >&2 2>/dev/null || true; die "pg_ctl start failed (port $PG_PORT in use?) — log: $LOG"; }
    log "started on 127.0.0.1:$PG_PORT"
  fi
  wait_ready
  migrate
  echo "$URL"
}

cmd_down() {
  if [[ -d "$DATA" ]] && running; then
    if [[ -x "$PG_BIN/pg_ctl" ]]; then
      as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >/dev/null \
        || die "pg_ctl stop failed; data left in $HOME_DIR"
    else
      kill -INT "$(head -n1 "$DATA/postmaster.pid")"
    fi
    log "stopped"
  fi
  if [[ -d "$HOME_DIR" ]]; then
    rm -rf "$HOME_DIR"
    log "removed $HOME_DIR"
  fi
}

cmd_status() {
  [[ -d "$DATA" ]] && running && "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$(running_port)" -d postgres -U "$SUPERUSER"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) echo "PG_URL=$URL" ;;
  status) if cmd_status; then echo "running"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 up|down|env|status" >&2; exit 2 ;;
esac
