#!/usr/bin/env bash
# The example web app's tests: unit (no browser) and real-browser (Debian Chromium through
# playwright-core) against a running local stack. Start the stack first:
#   scripts/stack.sh up test && examples/web/test/run.sh        (STACK_PROFILE=dev for make dev's)
# Screenshots of every state land in .stack/<profile>/screenshots/.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export STACK_PROFILE="${STACK_PROFILE:-test}"
t0=$EPOCHREALTIME
"$HERE/test/setup.sh"
if ! grep -q '^WEB_URL=' "$ROOT/.stack/$STACK_PROFILE/stack.env" 2>/dev/null; then
  echo "examples/web: no web server in the $STACK_PROFILE stack; run scripts/stack.sh up $STACK_PROFILE first" >&2
  exit 1
fi
# STACK_TLS=1: the emulators serve HTTPS from the stack's throwaway CA; trust it here too.
ca="$(sed -n 's/^LOCAL_CA_FILE=//p' "$ROOT/.stack/$STACK_PROFILE/stack.env")"
if [[ -n "$ca" ]]; then export NODE_EXTRA_CA_CERTS="$ca" REQUESTS_CA_BUNDLE="$ca"; fi
cd "$HERE"
rc=0
node --test --test-concurrency=1 test/unit.test.mjs test/browser.test.mjs || rc=$?
awk -v a="$t0" -v b="$EPOCHREALTIME" -v p="$STACK_PROFILE" 'BEGIN { printf "examples/web: tests took %.1f s (screenshots: .stack/%s/screenshots/)\n", b - a, p }'
exit $rc
