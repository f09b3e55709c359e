#!/usr/bin/env bash
# The local cloud: moto (Secrets Manager), the Sanity, Stytch and Descope emulators, the Cerbos PDP,
# and `cargo lambda watch` serving the real function binaries at function-URL paths, wired together
# and seeded.
#
#   scripts/stack.sh up   [dev|test|bench]   start everything (installs what is missing), print the URLs
#   scripts/stack.sh down [dev|test|bench]   stop everything this profile started
#   scripts/stack.sh env  [dev|test|bench]   print the env file tests and the demo read
#
# Profiles use separate ports and state, so `make test` runs beside a `make dev`.
# Every port can be overridden: MOTO_PORT SANITY_PORT STYTCH_PORT DESCOPE_PORT LAMBDA_PORT
# LAMBDA_CONSUMER_PORT LAMBDA_DESCOPE_PORT (CERBOS_HTTP_PORT: scripts/cerbos.sh),
# WEB_PORT (the example page, examples/web; in CORS_ALLOWED_ORIGINS) and WEB_OTHER_PORT (the same
# page on an origin the functions do not allow, for CORS checks).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmd="${1:-up}"
PROFILE="${2:-${STACK_PROFILE:-dev}}"
STATE="$ROOT/.stack/$PROFILE"
mkdir -p "$STATE"

if [[ "$PROFILE" == test ]]; then
  : "${MOTO_PORT:=14566}" "${SANITY_PORT:=14100}" "${STYTCH_PORT:=14200}" "${LAMBDA_PORT:=19000}" "${LAMBDA_CONSUMER_PORT:=19001}"
  : "${DESCOPE_PORT:=14300}" "${LAMBDA_DESCOPE_PORT:=19002}" "${WEB_PORT:=13000}" "${WEB_OTHER_PORT:=13001}"
  # Short timeouts and TTLs so fault and cache tests finish quickly.
  FN_TUNING="HTTP_CONNECT_TIMEOUT_MS=300
HTTP_TIMEOUT_MS=1500
SYNC_BUDGET_MS=3000
ACCESS_CACHE_TTL_S=2
JWKS_REFETCH_MIN_S=2
SECRETS_MAX_AGE_S=3
SECRETS_REREAD_MIN_S=1
RECONCILE_CONCURRENCY=8
RECONCILE_PROVIDER_RATE=2000
RECONCILE_PROVIDER_BURST=200"
  WEBHOOK_RETRY_MS=300
elif [[ "$PROFILE" == bench ]]; then
  # `make bench`: emulators and moto only; the benchmark serves the release function binaries
  # itself (STACK_FUNCTIONS=0) on LAMBDA_PORT, where the webhooks point.
  : "${MOTO_PORT:=24566}" "${SANITY_PORT:=24100}" "${STYTCH_PORT:=24200}" "${LAMBDA_PORT:=29000}" "${LAMBDA_CONSUMER_PORT:=29001}"
  : "${DESCOPE_PORT:=24300}" "${LAMBDA_DESCOPE_PORT:=29002}" "${WEB_PORT:=23000}" "${WEB_OTHER_PORT:=23001}"
  FN_TUNING=""
  WEBHOOK_RETRY_MS=1000
else
  : "${MOTO_PORT:=4566}" "${SANITY_PORT:=4100}" "${STYTCH_PORT:=4200}" "${LAMBDA_PORT:=9000}" "${LAMBDA_CONSUMER_PORT:=9001}"
  : "${DESCOPE_PORT:=4300}" "${LAMBDA_DESCOPE_PORT:=9002}" "${WEB_PORT:=3000}" "${WEB_OTHER_PORT:=3001}"
  # Short access-cache TTL so the demo shows rule changes quickly (production default: 30 s).
  FN_TUNING="ACCESS_CACHE_TTL_S=2"
  WEBHOOK_RETRY_MS=5000
fi

B2B_PROJECT="project-test-11111111-1111-4111-8111-111111111111"
CONSUMER_PROJECT="project-test-22222222-2222-4222-8222-222222222222"
STYTCH_SECRET="secret-test-local"
# The local Descope project (emulators/descope) and its management key.
DESCOPE_PROJECT="P2localgatehouse0000000000000000"
DESCOPE_MANAGEMENT_KEY="K2local-management-key"
SANITY_PROJECT="demo"
SANITY_DATASET="production"
SANITY_TOKEN="sk-local-read"
SANITY_MANAGE_TOKEN="sk-local-manage"
WEBHOOK_SECRET="whsec_local_demo"
# Local only: the InsForge project's JWT secret (production: Secrets Manager, never in a file).
INSFORGE_JWT_SECRET="insforge-local-jwt-secret-not-for-production-0001"
INSFORGE_BASE_URL="http://127.0.0.1:7130"
# The functions' metrics namespace, made as template.yaml makes it (METRICS_NAMESPACE:
# !Sub "gatehouse/${AWS::StackName}") for a stack named local-<profile>. stack.env records both, so
# scripts/check_alarm_metrics.py resolves ${AWS::StackName} in the alarms with the same name and
# compares them with what the functions printed.
LOCAL_STACK_NAME="local-$PROFILE"
METRICS_NAMESPACE="gatehouse/$LOCAL_STACK_NAME"
VENV="$ROOT/.venv"

log() { printf '\033[1mstack(%s):\033[0m %s\n' "$PROFILE" "$*"; }

start() {  # name, then the command; own session so `down` can stop the whole group
  local name="$1"; shift
  setsid "$@" >"$STATE/$name.log" 2>&1 < /dev/null &
  echo $! >"$STATE/$name.pid"
}

running() { [[ -f "$STATE/$1.pid" ]] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

wait_http() {  # name url [seconds]
  local name="$1" url="$2" secs="${3:-60}" i
  for ((i = 0; i < secs * 10; i++)); do
    if curl -s -o /dev/null --max-time 1 ${CA_FILE:+--cacert "$CA_FILE"} "$url"; then return 0; fi
    if ! running "$name"; then
      log "$name exited; last lines of $STATE/$name.log:"; tail -n 20 "$STATE/$name.log" >&2; exit 1
    fi
    sleep 0.1
  done
  log "$name did not answer at $url within ${secs}s"; tail -n 20 "$STATE/$name.log" >&2; exit 1
}

stop_all() {
  local f pid
  for f in "$STATE"/*.pid; do
    [[ -e "$f" ]] || continue
    pid="$(cat "$f")"
    # SIGINT first (cargo lambda watch and the emulators stop cleanly on it), then the group.
    kill -INT -- "-$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

up() {
  "$ROOT/scripts/bootstrap.sh"
  stop_all
  # The e2e suite's own function containers append their lines here (tests/tests/e2e/common/
  # functions.rs); start empty, so scripts/check_alarm_metrics.py reads this run's lines only.
  rm -f "$STATE/containers.log"
  # Whatever fails from here on, leave nothing running.
  trap 'status=$?; if [[ $status -ne 0 ]]; then log "failed; stopping what started"; stop_all; fi' EXIT
  # STACK_FUNCTIONS=0: no `cargo lambda watch` (the caller runs the functions) and
  # STYTCH_EMULATOR_BIN may name a release build.
  local functions="${STACK_FUNCTIONS:-1}"
  local stytch_bin="${STYTCH_EMULATOR_BIN:-$ROOT/target/debug/stytch-emulator}"
  local descope_bin="${DESCOPE_EMULATOR_BIN:-$ROOT/target/debug/descope-emulator}"
  # STACK_DESCOPE=0: no Descope emulator and no Descope-backed functions (make bench).
  local descope="${STACK_DESCOPE:-1}"
  if [[ "$functions" == 1 ]]; then
    log "building the function binaries and the Stytch emulator (debug)"
    (cd "$ROOT" && cargo build --quiet --bins)
  fi

  # STACK_TLS=1: the Sanity and Stytch emulators serve HTTPS with a certificate from a throwaway
  # local CA; the functions trust it only through LOCAL_CA_FILE (local-only setting).
  local scheme=http tls_env=()
  CA_FILE=""
  if [[ "${STACK_TLS:-0}" == 1 ]]; then
    "$VENV/bin/python" "$ROOT/scripts/local_ca.py" "$STATE/tls" >/dev/null
    scheme=https CA_FILE="$STATE/tls/ca.pem"
    tls_env=(STYTCH_EMULATOR_TLS_CERT="$STATE/tls/server.pem" STYTCH_EMULATOR_TLS_KEY="$STATE/tls/server.key"
             SANITY_EMULATOR_TLS_CERT="$STATE/tls/server.pem" SANITY_EMULATOR_TLS_KEY="$STATE/tls/server.key")
  fi

  start moto "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT"
  start stytch env "${tls_env[@]}" STYTCH_EMULATOR_PORT="$STYTCH_PORT" \
    STYTCH_PROJECTS="$B2B_PROJECT:$STYTCH_SECRET:b2b,$CONSUMER_PROJECT:$STYTCH_SECRET:consumer" \
    "$stytch_bin"
  if [[ "$descope" == 1 ]]; then
    # The custom attributes gatehouse writes must exist in the project (docs/descope.md, "Setting up the Descope project").
    start descope env DESCOPE_EMULATOR_PORT="$DESCOPE_PORT" DESCOPE_EMULATOR_PROJECT_ID="$DESCOPE_PROJECT" \
      DESCOPE_EMULATOR_MANAGEMENT_KEY="$DESCOPE_MANAGEMENT_KEY" DESCOPE_EMULATOR_SEED="$ROOT/emulators/descope/seed.gatehouse.json" \
      "$descope_bin"
  fi

  # No webhook file: the hooks are registered below through the emulator's Webhooks API by
  # scripts/sanity-webhooks, the command a deployment runs against Sanity. Token roles as in a
  # real project: the functions' read token reads, the content token writes, only the manage
  # token may change webhooks. Retries of API-created hooks wait WEBHOOK_RETRY_MS.
  start sanity env "${tls_env[@]}" SANITY_EMULATOR_PORT="$SANITY_PORT" SANITY_PROJECT_ID="$SANITY_PROJECT" \
    SANITY_TOKENS="$SANITY_TOKEN:viewer,sk-local-write:editor,$SANITY_MANAGE_TOKEN:developer" \
    SANITY_DATASETS="$SANITY_DATASET" SANITY_WEBHOOK_RETRY_DELAY_MS="$WEBHOOK_RETRY_MS" \
    node "$ROOT/emulators/sanity/server.js"

  wait_http moto "http://127.0.0.1:$MOTO_PORT/"
  wait_http stytch "$scheme://127.0.0.1:$STYTCH_PORT/__gatehouse/calls"
  wait_http sanity "$scheme://127.0.0.1:$SANITY_PORT/__gatehouse/calls"
  [[ "$descope" == 1 ]] && wait_http descope "http://127.0.0.1:$DESCOPE_PORT/__gatehouse/calls"

  # gatehouse's own staff organization: only its members with the staff role read across
  # organizations (PLATFORM_ORGANIZATION_IDS); Descope staff hold the project-level role in the
  # seeded staff tenant (PLATFORM_TENANT_IDS).
  local staff_org
  staff_org="$(curl -sf ${CA_FILE:+--cacert "$CA_FILE"} -u "$B2B_PROJECT:$STYTCH_SECRET" -H 'content-type: application/json' \
    -d '{"organization_name": "gatehouse staff", "organization_slug": "gatehouse-staff"}' \
    "$scheme://127.0.0.1:$STYTCH_PORT/v1/b2b/organizations" | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["organization"]["organization_id"])')" \
    || { log "could not create the staff organization in the Stytch emulator"; exit 1; }
  local staff_tenant="T2gatehousestaff"

  # The Cerbos PDP (policies/ with hot reload). gated-content asks it when AUTHZ=cerbos: the
  # default for `make dev`, so editing a policy changes the next gated read. The test profile's
  # functions use the built-in rules; the e2e suite starts its own Cerbos-backed containers.
  "$ROOT/scripts/cerbos.sh" up "$PROFILE"
  local cerbos_url authz
  cerbos_url="$(sed -n 's/^CERBOS_URL=//p' "$STATE/cerbos.env")"
  if [[ "$PROFILE" == dev ]]; then authz="${AUTHZ:-cerbos}"; else authz="${AUTHZ:-builtin}"; fi

  log "seeding Secrets Manager (moto)"
  AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
    B2B_PROJECT="$B2B_PROJECT" CONSUMER_PROJECT="$CONSUMER_PROJECT" STYTCH_SECRET="$STYTCH_SECRET" \
    SANITY_PROJECT="$SANITY_PROJECT" SANITY_DATASET="$SANITY_DATASET" SANITY_TOKEN="$SANITY_TOKEN" \
    WEBHOOK_SECRET="$WEBHOOK_SECRET" INSFORGE_JWT_SECRET="$INSFORGE_JWT_SECRET" INSFORGE_BASE_URL="$INSFORGE_BASE_URL" \
    DESCOPE_PROJECT="$DESCOPE_PROJECT" DESCOPE_MANAGEMENT_KEY="$DESCOPE_MANAGEMENT_KEY" \
    "$VENV/bin/python" "$ROOT/scripts/seed_secrets.py" >"$STATE/arns.env"
  # shellcheck disable=SC1091
  source "$STATE/arns.env"

  log "registering the Sanity webhooks (scripts/sanity-webhooks)"
  local hooks_env=(AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
                   AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 SANITY_SECRET_ARN="$SANITY_SECRET_ARN"
                   SANITY_AUTH_TOKEN="$SANITY_MANAGE_TOKEN" SANITY_API_HOST="$scheme://127.0.0.1:$SANITY_PORT"
                   ${CA_FILE:+SSL_CERT_FILE="$CA_FILE"})
  env "${hooks_env[@]}" "$ROOT/scripts/sanity-webhooks" --idp stytch \
    --publish-sync-url "http://127.0.0.1:$LAMBDA_PORT/lambda-url/publish-sync/" \
    --delete-cleanup-url "http://127.0.0.1:$LAMBDA_PORT/lambda-url/delete-cleanup/" >"$STATE/webhooks.log"
  if [[ "$descope" == 1 ]]; then
    env "${hooks_env[@]}" "$ROOT/scripts/sanity-webhooks" --idp descope \
      --publish-sync-url "http://127.0.0.1:$LAMBDA_DESCOPE_PORT/lambda-url/publish-sync/" \
      --delete-cleanup-url "http://127.0.0.1:$LAMBDA_DESCOPE_PORT/lambda-url/delete-cleanup/" >>"$STATE/webhooks.log"
  fi

  local common="AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
AWS_REGION=us-east-1
SANITY_SECRET_ARN=$SANITY_SECRET_ARN
INSFORGE_SECRET_ARN=$INSFORGE_SECRET_ARN
SANITY_API_HOST=$scheme://127.0.0.1:$SANITY_PORT
STYTCH_BASE_URL=$scheme://127.0.0.1:$STYTCH_PORT${CA_FILE:+
LOCAL_CA_FILE=$CA_FILE}
CORS_ALLOWED_ORIGINS=http://localhost:3000,http://127.0.0.1:$WEB_PORT
CORS_MODE=function
AUTHZ=$authz
CERBOS_URL=$cerbos_url
PLATFORM_ORGANIZATION_IDS=$staff_org
RUST_LOG=info
METRICS_NAMESPACE=$METRICS_NAMESPACE
$FN_TUNING"
  printf '%s\nSTYTCH_SECRET_ARN=%s\n' "$common" "$STYTCH_B2B_SECRET_ARN" >"$STATE/functions-b2b.env"
  printf '%s\nSTYTCH_SECRET_ARN=%s\n' "$common" "$STYTCH_CONSUMER_SECRET_ARN" >"$STATE/functions-consumer.env"
  printf '%s\nIDP=descope\nDESCOPE_SECRET_ARN=%s\nDESCOPE_BASE_URL=http://127.0.0.1:%s\nPLATFORM_TENANT_IDS=%s\n' "$common" "$DESCOPE_SECRET_ARN" "$DESCOPE_PORT" "$staff_tenant" \
    >"$STATE/functions-descope.env"

  if [[ "$functions" == 1 ]]; then
  # `--ignore-changes`: the binaries are built above; editing code while tests run must not
  # restart functions mid-test. The B2B functions may run 4 containers each, like Lambda under
  # load; the consumer project's run exactly one, so per-container caches are observable.
  # Run from an empty directory: every function instance `cargo lambda watch` starts adds an
  # inotify watch on each directory under its working directory, even with --ignore-changes
  # (about 12,600 in this repository, target/ and node_modules/ included). 15 instances took
  # 189,000 of this machine's 192,530 and left a Cerbos PDP unable to start.
  mkdir -p "$STATE/lambda-cwd"
  local watch=(env -C "$STATE/lambda-cwd" PATH="$VENV/bin:$PATH"
    "$VENV/bin/cargo-lambda" lambda watch --quiet --ignore-changes --disable-cors -A 127.0.0.1 --manifest-path "$ROOT/Cargo.toml")
  start lambda "${watch[@]}" --concurrency 4 -P "$LAMBDA_PORT" --env-file "$STATE/functions-b2b.env"
  start lambda-consumer "${watch[@]}" --concurrency 1 -P "$LAMBDA_CONSUMER_PORT" --env-file "$STATE/functions-consumer.env"
  local ports=("$LAMBDA_PORT" "$LAMBDA_CONSUMER_PORT")
  if [[ "$descope" == 1 ]]; then
    start lambda-descope "${watch[@]}" --concurrency 2 -P "$LAMBDA_DESCOPE_PORT" --env-file "$STATE/functions-descope.env"
    ports+=("$LAMBDA_DESCOPE_PORT")
  fi
  wait_http lambda "http://127.0.0.1:$LAMBDA_PORT/lambda-url/gated-content/content/healthcheck" 120
  wait_http lambda-consumer "http://127.0.0.1:$LAMBDA_CONSUMER_PORT/lambda-url/gated-content/content/healthcheck" 120
  [[ "$descope" == 1 ]] && wait_http lambda-descope "http://127.0.0.1:$LAMBDA_DESCOPE_PORT/lambda-url/gated-content/content/healthcheck" 120
  # Start the POST functions now (an unsigned POST answers 401) so the first real delivery does
  # not pay for `cargo lambda watch` spawning them.
  local port fn
  for port in "${ports[@]}"; do
    for fn in publish-sync delete-cleanup token-exchange; do
      curl -s -o /dev/null --max-time 60 -X POST "http://127.0.0.1:$port/lambda-url/$fn/" -d '{}' || true
    done
  done
  fi

  cat >"$STATE/stack.env" <<ENV
STACK_PROFILE=$PROFILE
LOCAL_STACK_NAME=$LOCAL_STACK_NAME
METRICS_NAMESPACE=$METRICS_NAMESPACE
MOTO_URL=http://127.0.0.1:$MOTO_PORT
SANITY_URL=$scheme://127.0.0.1:$SANITY_PORT
STYTCH_URL=$scheme://127.0.0.1:$STYTCH_PORT
LOCAL_CA_FILE=$CA_FILE
LAMBDA_URL=http://127.0.0.1:$LAMBDA_PORT
LAMBDA_CONSUMER_URL=http://127.0.0.1:$LAMBDA_CONSUMER_PORT
LAMBDA_DESCOPE_URL=http://127.0.0.1:$LAMBDA_DESCOPE_PORT
DESCOPE_URL=http://127.0.0.1:$DESCOPE_PORT
DESCOPE_PROJECT=$DESCOPE_PROJECT
DESCOPE_MANAGEMENT_KEY=$DESCOPE_MANAGEMENT_KEY
CERBOS_URL=$cerbos_url
AUTHZ=$authz
B2B_PROJECT=$B2B_PROJECT
STAFF_ORG=$staff_org
STAFF_TENANT=$staff_tenant
CONSUMER_PROJECT=$CONSUMER_PROJECT
STYTCH_SECRET=$STYTCH_SECRET
SANITY_PROJECT=$SANITY_PROJECT
SANITY_DATASET=$SANITY_DATASET
SANITY_WRITE_TOKEN=sk-local-write
SANITY_MANAGE_TOKEN=$SANITY_MANAGE_TOKEN
WEBHOOK_SECRET=$WEBHOOK_SECRET
INSFORGE_JWT_SECRET=$INSFORGE_JWT_SECRET
$(cat "$STATE/arns.env")
ENV
  # The example frontend (examples/web): served on 127.0.0.1, the functions' host, so the
  # stytch_session_jwt cookie the page sets reaches them (cookies are per host, not per port).
  if [[ "$functions" == 1 ]]; then
    local web_env=()
    [[ -n "$CA_FILE" ]] && web_env=(NODE_EXTRA_CA_CERTS="$CA_FILE")  # its pass-through to the HTTPS emulators
    start web env "${web_env[@]}" node "$ROOT/examples/web/server.js" \
      --stack-env "$STATE/stack.env" --port "$WEB_PORT" --port "$WEB_OTHER_PORT"
    wait_http web "http://127.0.0.1:$WEB_PORT/healthz"
    printf 'WEB_URL=http://127.0.0.1:%s\nWEB_OTHER_URL=http://127.0.0.1:%s\n' "$WEB_PORT" "$WEB_OTHER_PORT" >>"$STATE/stack.env"
  fi
  trap - EXIT
  log "up. Logs in .stack/$PROFILE/*.log"
  cat <<INFO
  Secrets Manager (moto)  http://127.0.0.1:$MOTO_PORT
  Sanity emulator         $scheme://127.0.0.1:$SANITY_PORT   (token sk-local-write; deliveries: /__gatehouse/deliveries)
  Stytch emulator         $scheme://127.0.0.1:$STYTCH_PORT   (state: /__gatehouse/state)
  Descope emulator        http://127.0.0.1:$DESCOPE_PORT   (project $DESCOPE_PROJECT; state: /__gatehouse/state)
  functions, Descope      http://127.0.0.1:$LAMBDA_DESCOPE_PORT/lambda-url/<function>/  (IDP=descope)
  Cerbos PDP              $cerbos_url   (policies/, hot reload in dev; gated-content AUTHZ=$authz)
  publish-sync            http://127.0.0.1:$LAMBDA_PORT/lambda-url/publish-sync/
  delete-cleanup          http://127.0.0.1:$LAMBDA_PORT/lambda-url/delete-cleanup/
  gated-content           http://127.0.0.1:$LAMBDA_PORT/lambda-url/gated-content/content/{slug}
  token-exchange          http://127.0.0.1:$LAMBDA_PORT/lambda-url/token-exchange/token  (POST, Bearer session JWT)
  reconcile               cargo lambda invoke reconcile --invoke-port $LAMBDA_PORT --data-ascii '{"dryRun": true}'
  (consumer project)      http://127.0.0.1:$LAMBDA_CONSUMER_PORT/lambda-url/<function>/
INFO
  if [[ "$functions" == 1 ]]; then
    echo "  example web app         http://127.0.0.1:$WEB_PORT/   (examples/web; also on :$WEB_OTHER_PORT, an origin CORS refuses)"
  fi
}

case "$cmd" in
  up) up ;;
  down) stop_all; log "stopped" ;;
  env) cat "$STATE/stack.env" ;;
  *) echo "usage: $0 up|down|env [dev|test|bench]" >&2; exit 2 ;;
esac
