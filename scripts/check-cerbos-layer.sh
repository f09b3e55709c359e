#!/usr/bin/env bash
# Builds CerbosPoliciesLayer offline exactly as `sam build` does and asks a real PDP, configured by
# the layer's own .cerbos.yaml, for decisions over a unix socket (as the Cerbos Lambda extension
# serves gated-content):
#   1. `make --makefile cerbos/lambda-layer/Makefile build-CerbosPoliciesLayer ARTIFACTS_DIR=<tmp>`
#      from an unrelated cwd (SAM runs it from a scratch copy of the layer directory);
#   2. the layout the function sees under /opt: cerbos/.cerbos.yaml and cerbos/policies with the
#      policies and _schemas/, and no tests/ or README.md;
#   3. the pinned PDP (cerbos/node_modules/@cerbos/cerbos-linux-x64) started with that config;
#      --set overrides ONLY the paths that cannot be the Lambda ones here (/opt/cerbos/policies,
#      /tmp/cerbos.{http,grpc}.sock); everything else (schema enforcement, no file watcher, policy
#      version, telemetry) is the layer's;
#   4. over the socket: /_cerbos/health SERVING, then CheckResources: anonymous reads public
#      content -> ALLOW, content needing plan "pro" -> DENY, a request missing an attribute of
#      the schema -> DENY (proves _schemas/ is in the layer and enforcement is on).
# Usage: scripts/check-cerbos-layer.sh        (scripts/check-template.sh runs it last)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/cerbos/node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64"
MAKEFILE="$ROOT/cerbos/lambda-layer/Makefile"
export CERBOS_NO_TELEMETRY=1

say() { printf 'check-cerbos-layer: %s\n' "$*"; }
fail() { say "FAIL $*" >&2; exit 1; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

command -v make >/dev/null || fail "make not found (sam build needs it too)"
command -v curl >/dev/null || fail "curl not found"
if [[ ! -x "$BIN" ]]; then
  say "installing the pinned PDP (npm ci in cerbos/)"
  (cd "$ROOT/cerbos" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  [[ -x "$BIN" ]] || fail "$BIN missing after npm ci (scripts/bootstrap.sh installs it)"
fi

# Short path: a unix socket path must stay under ~107 bytes.
TMP="$(mktemp -d "${TMPDIR:-/tmp}/gh-layer.XXXXXX")"
PDP_PID=""
cleanup() {
  if [[ -n "$PDP_PID" ]] && kill -0 "$PDP_PID" 2>/dev/null; then
    kill -INT "$PDP_PID" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$PDP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PDP_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ART="$TMP/layer"          # = /opt in the function
SOCK="$TMP/cerbos.http.sock"
GRPC_SOCK="$TMP/cerbos.grpc.sock"
t_all=$(date +%s%N)

# ---- 1. build, as sam build does (cwd is not the repository) -------------------------------------
t=$(date +%s%N)
mkdir -p "$TMP/scratch"
(cd "$TMP/scratch" && make --no-print-directory --makefile "$MAKEFILE" build-CerbosPoliciesLayer ARTIFACTS_DIR="$ART") \
  >"$TMP/make.log" 2>&1 || { cat "$TMP/make.log" >&2; fail "make build-CerbosPoliciesLayer failed"; }
say "built the layer in $(ms "$t") ms (make --makefile cerbos/lambda-layer/Makefile, cwd $TMP/scratch)"

# ---- 2. layout -----------------------------------------------------------------------------------
for f in cerbos/.cerbos.yaml cerbos/policies/content.yaml cerbos/policies/derived_roles.yaml \
         cerbos/policies/_schemas/content.json cerbos/policies/_schemas/principal.json; do
  [[ -f "$ART/$f" ]] || fail "layer has no $f"
done
[[ ! -e "$ART/cerbos/policies/tests" ]] || fail "layer contains policies/tests (policy tests must not be deployed)"
[[ ! -e "$ART/cerbos/policies/README.md" ]] || fail "layer contains policies/README.md"
if found="$(find "$ART" -name '*_test.yaml' -o -name testdata | head -n 1)" && [[ -n "$found" ]]; then
  fail "layer contains test material: ${found#"$ART"/}"
fi
extra="$(cd "$ART" && find . -mindepth 1 -maxdepth 2 | sort | tr '\n' ' ')"
[[ "$extra" == "./cerbos ./cerbos/.cerbos.yaml ./cerbos/policies " ]] \
  || fail "unexpected layer top level: $extra (want only cerbos/.cerbos.yaml and cerbos/policies)"
# Every policy file in the repository (except tests/ and README.md) made it, byte for byte.
(cd "$ROOT/policies" && find . -type f ! -path './tests/*' ! -name README.md | sort) >"$TMP/want"
(cd "$ART/cerbos/policies" && find . -type f | sort) >"$TMP/got"
diff -u "$TMP/want" "$TMP/got" >&2 || fail "layer policies differ from policies/ (minus tests/, README.md)"
while IFS= read -r f; do cmp -s "$ROOT/policies/$f" "$ART/cerbos/policies/$f" || fail "layer $f differs"; done <"$TMP/want"
cmp -s "$ROOT/cerbos/lambda-layer/cerbos.yaml" "$ART/cerbos/.cerbos.yaml" || fail "layer .cerbos.yaml differs"
# The --set flags below replace exactly these Lambda values, nothing else.
for want in 'httpListenAddr: "unix:/tmp/cerbos.http.sock"' 'grpcListenAddr: "unix:/tmp/cerbos.grpc.sock"' \
            'directory: /opt/cerbos/policies'; do
  grep -qF -- "$want" "$ART/cerbos/.cerbos.yaml" || fail "layer .cerbos.yaml lacks: $want"
done
say "layout ok: $(wc -l <"$TMP/got") policy files, .cerbos.yaml, no tests/ or README.md"

# ---- 3. the PDP, configured by the layer ---------------------------------------------------------
t=$(date +%s%N)
"$BIN" server --config="$ART/cerbos/.cerbos.yaml" \
  --set=storage.disk.directory="$ART/cerbos/policies" \
  --set=server.httpListenAddr="unix:$SOCK" \
  --set=server.grpcListenAddr="unix:$GRPC_SOCK" \
  >"$TMP/cerbos.log" 2>&1 </dev/null &
PDP_PID=$!
status=""
for ((i = 0; i < 300; i++)); do
  status="$(curl -s --max-time 1 --unix-socket "$SOCK" http://localhost/_cerbos/health || true)"
  [[ "$status" == *SERVING* && "$status" != *NOT_SERVING* ]] && break
  kill -0 "$PDP_PID" 2>/dev/null || { tail -n 20 "$TMP/cerbos.log" >&2; fail "the PDP exited"; }
  sleep 0.05
done
[[ "$status" == *SERVING* && "$status" != *NOT_SERVING* ]] \
  || { tail -n 20 "$TMP/cerbos.log" >&2; fail "the PDP did not report SERVING within 15 s (last: $status)"; }
version="$(curl -s --max-time 1 --unix-socket "$SOCK" http://localhost/api/server_info \
  | sed -n 's/.*"version":"\([^"]*\)".*/\1/p')"
say "PDP ${version:-?} SERVING on unix:$SOCK in $(ms "$t") ms (config: the layer's .cerbos.yaml)"

# ---- 4. decisions over the socket ----------------------------------------------------------------
# Every attribute of policies/_schemas/principal.json and content.json, typed (as gatehouse sends).
ANON='"organization_id":"","organization_slug":"","has_access":false,"plan":"","region":"",
  "allowed_types":[],"routes":[],"requires_mfa":false,"mfa":false'
PUBLIC='"type":"article","required_plans":[],"required_roles":[],"regions":[],"route":"",
  "route_gated":false,"organization_id":""'
PRO="${PUBLIC/'"required_plans":[]'/'"required_plans":["pro"]'}"
OUT=""
check() {  # name, principal attrs, resource attrs, want effect; the PDP's answer is left in OUT
  local body effect t
  body='{"requestId":"check-cerbos-layer",
    "principal":{"id":"anonymous","roles":["anonymous"],"attr":{'"$2"'}},
    "resources":[{"actions":["read"],"resource":{"kind":"content","id":"doc-1","attr":{'"$3"'}}}]}'
  t=$(date +%s%N)
  OUT="$(curl -s --max-time 5 --unix-socket "$SOCK" -H 'content-type: application/json' \
    -X POST --data-binary "$body" http://localhost/api/check/resources)" || fail "$1: no answer"
  effect="$(sed -n 's/.*"read":"\(EFFECT_[A-Z]*\)".*/\1/p' <<<"$OUT")"
  [[ "$effect" == "$4" ]] || fail "$1: want $4, got ${effect:-nothing}: $OUT"
  say "  $1 -> $effect ($(ms "$t") ms)"
}
check "anonymous reads public content" "$ANON"',"auth_methods":[],"platform_staff":false' "$PUBLIC" EFFECT_ALLOW
[[ "$OUT" != *validationErrors* ]] || fail "public: the request itself was invalid: $OUT"
check "anonymous reads content needing plan pro" "$ANON"',"auth_methods":[],"platform_staff":false' "$PRO" EFFECT_DENY
# Denied by the policy, not by the schema (the request carries every attribute).
[[ "$OUT" != *validationErrors* ]] || fail "plan pro: the request itself was invalid: $OUT"
# auth_methods is informational (no condition reads it): only schema enforcement "reject" denies a
# principal without it, so this proves the layer's _schemas/ and its enforcement setting.
check "anonymous without auth_methods reads public content (schema)" "$ANON" "$PUBLIC" EFFECT_DENY
[[ "$OUT" == *validationErrors* ]] || fail "missing attribute: denied without a schema validation error: $OUT"

say "ok in $(ms "$t_all") ms"
