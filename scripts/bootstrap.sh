#!/usr/bin/env bash
# Bootstrap the project's local tools. Idempotent and fast when nothing changed.
#   - ./.venv (python3 -m venv) with requirements-tools.txt (cargo-lambda, moto[server], cfn-lint,
#     aws-sam-cli)
#   - ./.venv/bin/zig -> the venv's ziglang zig binary, so cargo-lambda finds zig when it is
#     started from a PATH without `python3 -m ziglang` (e.g. by `sam build`)
#   - `npm ci` in each Node folder that has a package-lock.json and stale/missing node_modules
# Usage: scripts/bootstrap.sh            (then: source .venv/bin/activate, or use .venv/bin/...)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
REQ="$ROOT/requirements-tools.txt"
STAMP="$VENV/.bootstrap-stamp"
NODE_DIRS=(emulators/sanity emulators/stytch/sdk-test studio insforge/sdk-test cerbos emulators/descope/sdk-test)

log() { printf 'bootstrap: %s\n' "$*"; }
t0=$SECONDS

# ---- Python venv -----------------------------------------------------------------------------
ensure_venv() {
  if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    return 0
  fi
  log "creating .venv"
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    log "python3 -m venv failed; installing python3-venv with apt-get"
    rm -rf "$VENV"
    if [[ $(id -u) -ne 0 ]]; then
      log "error: need root (or install python3-venv yourself)" >&2
      exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # Debian names the package python3.X-venv on some releases; python3-venv pulls the right one.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  fi
}

ensure_venv
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" != "$have" ]]; then
  log "installing Python tools (requirements-tools.txt)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  # One resolve for all, so pip picks an aws-sam-translator both cfn-lint and SAM accept.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
  echo "$want" > "$STAMP"
else
  log "Python tools up to date"
fi

# ---- zig on the venv's PATH ------------------------------------------------------------------
zig_bin="$("$VENV/bin/python" - <<'PY'
import os, ziglang
d = os.path.dirname(ziglang.__file__)
print(os.path.join(d, "zig"))
PY
)"
if [[ ! -x "$zig_bin" ]]; then
  log "error: ziglang installed but $zig_bin is missing" >&2
  exit 1
fi
if [[ "$(readlink "$VENV/bin/zig" 2>/dev/null || true)" != "$zig_bin" ]]; then
  ln -sfn "$zig_bin" "$VENV/bin/zig"
  log "linked .venv/bin/zig -> $zig_bin"
fi

# ---- Node folders ----------------------------------------------------------------------------
for dir in "${NODE_DIRS[@]}"; do
  lock="$ROOT/$dir/package-lock.json"
  [[ -f "$lock" ]] || continue
  # Our own marker (not npm's hidden lockfile): npm ci writes nothing into node_modules when a
  # package has no dependencies, and it removes node_modules before installing.
  # npm's own hidden lockfile (node_modules/.package-lock.json, written by npm install/ci when
  # there are dependencies) counts as well.
  marker="$ROOT/$dir/node_modules/.gatehouse-bootstrap"
  hidden="$ROOT/$dir/node_modules/.package-lock.json"
  if [[ -f "$marker" && ! "$lock" -nt "$marker" ]] || [[ -f "$hidden" && ! "$lock" -nt "$hidden" ]]; then
    log "$dir: node_modules up to date"
    continue
  fi
  log "$dir: npm ci"
  (cd "$ROOT/$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  mkdir -p "$ROOT/$dir/node_modules"
  touch "$marker"
done

log "done in $((SECONDS - t0))s (activate with: source .venv/bin/activate)"
