#!/usr/bin/env bash
# The Cerbos PDP that decides gated reads when AUTHZ=cerbos, run from the pinned npm package
# @cerbos/cerbos-linux-x64 in cerbos/ (installed by scripts/bootstrap.sh, or here on first use).
#
#   scripts/cerbos.sh compile               compile policies/ and run their tests (*_test.yaml)
#   scripts/cerbos.sh up     [dev|test]     start the PDP in the background, wait until SERVING
#   scripts/cerbos.sh down   [dev|test]     stop the PDP this profile started
#   scripts/cerbos.sh status [dev|test]     is it running? where? which version?
#   scripts/cerbos.sh env    [dev|test]     print CERBOS_URL (and CERBOS_SOCKET) for the functions
#
# The dev PDP reads policies/ and reloads it when a file changes (cerbos/.cerbos.yaml), so editing
# a policy changes the next decision without a restart (other profiles: no watcher, CERBOS_WATCH). Ports (loopback only): dev HTTP 3592 and
# gRPC 3593, test 13592 and 13593, bench 23592 and 23593; override with CERBOS_HTTP_PORT / CERBOS_GRPC_PORT.
# CERBOS_SOCKET=/path/cerbos.http.sock serves HTTP on that unix socket instead, as the Lambda
# extension does (unix:/tmp/cerbos.http.sock); gRPC then goes to the sibling *.grpc.sock.
# State: .stack/<profile>/cerbos.{pid,log,env} (scripts/stack.sh down stops it as well).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmd="${1:-}"
PROFILE="${2:-${STACK_PROFILE:-dev}}"
STATE="$ROOT/.stack/$PROFILE"
PKG_DIR="$ROOT/cerbos"
BIN="$PKG_DIR/node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64"
POLICIES="$ROOT/policies"
# Offline and deterministic: never phone home, whatever the config file says.
export CERBOS_NO_TELEMETRY=1

if [[ "$PROFILE" == test ]]; then
  : "${CERBOS_HTTP_PORT:=13592}" "${CERBOS_GRPC_PORT:=13593}"
elif [[ "$PROFILE" == bench ]]; then
  : "${CERBOS_HTTP_PORT:=23592}" "${CERBOS_GRPC_PORT:=23593}"
else
  : "${CERBOS_HTTP_PORT:=3592}" "${CERBOS_GRPC_PORT:=3593}"
fi
SOCKET="${CERBOS_SOCKET:-}"
if [[ -n "$SOCKET" ]]; then
  [[ "$SOCKET" == /* ]] || SOCKET="$ROOT/$SOCKET"
  if [[ "$SOCKET" == *.http.sock ]]; then GRPC_SOCKET="${SOCKET%.http.sock}.grpc.sock"; else GRPC_SOCKET="$SOCKET.grpc"; fi
fi

log() { printf '\033[1mcerbos(%s):\033[0m %s\n' "$PROFILE" "$*"; }

ensure_binary() {
  if [[ -x "$BIN" ]]; then return 0; fi
  log "installing the PDP (npm ci in cerbos/)"
  (cd "$PKG_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  mkdir -p "$PKG_DIR/node_modules" && touch "$PKG_DIR/node_modules/.gatehouse-bootstrap"
  [[ -x "$BIN" ]] || { log "error: $BIN missing after npm ci" >&2; exit 1; }
}

running() { [[ -f "$STATE/cerbos.pid" ]] && kill -0 "$(cat "$STATE/cerbos.pid")" 2>/dev/null; }

# GET on the PDP, over TCP or the unix socket.
pdp_get() {  # path
  if [[ -n "$SOCKET" ]]; then
    curl -s --max-time 1 --unix-socket "$SOCKET" "http://localhost$1"
  else
    curl -s --max-time 1 "http://127.0.0.1:$CERBOS_HTTP_PORT$1"
  fi
}

# status/env describe the PDP `up` started, whatever this shell's environment says.
load_env() {
  [[ -f "$STATE/cerbos.env" ]] || return 0
  local line
  while IFS= read -r line; do
    case "$line" in
      CERBOS_SOCKET=*) SOCKET="${line#CERBOS_SOCKET=}" ;;
      CERBOS_HTTP_PORT=*) CERBOS_HTTP_PORT="${line#CERBOS_HTTP_PORT=}" ;;
    esac
  done <"$STATE/cerbos.env"
}

stop() {
  rm -f "$STATE/cerbos.env"
  running || { rm -f "$STATE/cerbos.pid"; return 0; }
  local pid; pid="$(cat "$STATE/cerbos.pid")"
  # SIGINT: the PDP shuts down cleanly (and removes its sockets); then the whole group.
  kill -INT -- "-$pid" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$STATE/cerbos.pid"
}

compile() {
  ensure_binary
  # Exit codes: 0 ok, 3 a policy does not compile, 4 a policy test failed.
  "$BIN" compile "$POLICIES"
}

up() {
  ensure_binary
  mkdir -p "$STATE"
  stop
  local http grpc url
  if [[ -n "$SOCKET" ]]; then
    mkdir -p "$(dirname "$SOCKET")"
    # A socket file left by a killed PDP makes the next one fail with "address already in use".
    for s in "$SOCKET" "$GRPC_SOCKET"; do [[ -S "$s" ]] && rm -f "$s"; done
    http="unix:$SOCKET" grpc="unix:$GRPC_SOCKET" url="http://localhost"
  else
    http="127.0.0.1:$CERBOS_HTTP_PORT" grpc="127.0.0.1:$CERBOS_GRPC_PORT" url="http://$http"
  fi
  # Hot reload only where someone edits policies (dev): the watcher needs inotify watches, a
  # per-user limit shared with everything else on the machine; where it is used up the PDP
  # fails to start with "no space left on device". CERBOS_WATCH=true|false overrides.
  local watch="${CERBOS_WATCH:-}"
  [[ -n "$watch" ]] || { if [[ "$PROFILE" == dev ]]; then watch=true; else watch=false; fi; }
  local t0; t0=$(date +%s%N)
  # Own session (setsid) so `down` can stop the whole group. From cerbos/ so the config's
  # relative policy directory resolves; the --set flags pin what matters anyway.
  cd "$PKG_DIR"
  setsid "$BIN" server --config="$PKG_DIR/.cerbos.yaml" \
    --set=server.httpListenAddr="$http" --set=server.grpcListenAddr="$grpc" \
    --set=storage.disk.directory="$POLICIES" --set=storage.disk.watchForChanges="$watch" \
    >"$STATE/cerbos.log" 2>&1 </dev/null &
  echo $! >"$STATE/cerbos.pid"
  local i
  for ((i = 0; i < 300; i++)); do
    if [[ "$(pdp_get /_cerbos/health || true)" == *SERVING* ]]; then
      {
        echo "CERBOS_URL=$url"
        if [[ -n "$SOCKET" ]]; then echo "CERBOS_SOCKET=$SOCKET"; else echo "CERBOS_HTTP_PORT=$CERBOS_HTTP_PORT"; fi
      } >"$STATE/cerbos.env"
      log "up in $(( ($(date +%s%N) - t0) / 1000000 )) ms: $url${SOCKET:+ (unix socket $SOCKET)}, policies $POLICIES (hot reload: $watch), log .stack/$PROFILE/cerbos.log"
      return 0
    fi
    if ! running; then
      log "the PDP exited; last lines of $STATE/cerbos.log:" >&2; tail -n 20 "$STATE/cerbos.log" >&2; exit 1
    fi
    sleep 0.05
  done
  log "the PDP did not report SERVING within 15 s" >&2; tail -n 20 "$STATE/cerbos.log" >&2; stop; exit 1
}

status() {
  load_env
  if running; then
    local info; info="$(pdp_get /api/server_info || true)"
    log "running (pid $(cat "$STATE/cerbos.pid")): $(pdp_get /_cerbos/health || echo 'no answer') $info"
    [[ -f "$STATE/cerbos.env" ]] && cat "$STATE/cerbos.env"
    return 0
  fi
  log "not running"
  return 1
}

case "$cmd" in
  compile) compile ;;
  up) up ;;
  down) stop; log "stopped" ;;
  status) status ;;
  env) cat "$STATE/cerbos.env" ;;
  *) echo "usage: $0 compile | up|down|status|env [dev|test|bench]   (CERBOS_SOCKET=/path for a unix socket)" >&2; exit 2 ;;
esac
