#!/usr/bin/env bash
# `make demo`: bring the local stack up if it is not running, run the narrated scenario, and stop
# the stack again if this script started it (KEEP_STACK=1 leaves it running).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
started=0
if ! curl -s -o /dev/null --max-time 1 "http://127.0.0.1:${LAMBDA_PORT:-9000}/lambda-url/gated-content/content/healthcheck" \
   || [[ ! -f "$ROOT/.stack/dev/stack.env" ]]; then
  "$ROOT/scripts/stack.sh" up dev
  started=1
fi
cleanup() { if [[ $started == 1 && "${KEEP_STACK:-0}" != 1 ]]; then "$ROOT/scripts/stack.sh" down dev; fi; }
trap cleanup EXIT
ACCESS_CACHE_TTL_S="${ACCESS_CACHE_TTL_S:-2}" "$ROOT/.venv/bin/python" "$ROOT/scripts/demo.py" run
