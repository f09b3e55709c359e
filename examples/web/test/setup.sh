#!/usr/bin/env bash
# What the browser tests need, installed only when missing: Debian's Chromium (nothing downloads
# a browser of its own: playwright-core is driven with executablePath /usr/bin/chromium) and
# this folder's npm packages from its lockfile.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v chromium >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then echo "setup: need root to apt-get install chromium (or install it yourself)" >&2; exit 1; fi
  echo "setup: apt-get install chromium"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
lock="$HERE/package-lock.json" hidden="$HERE/node_modules/.package-lock.json"
if [[ ! -f "$hidden" || "$lock" -nt "$hidden" ]]; then
  echo "setup: npm ci (examples/web)"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
