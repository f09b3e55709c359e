#!/usr/bin/env bash
# Static checks of template.yaml, offline and without AWS credentials:
#   1. cfn-lint (must report nothing) on the SAM template and on its SAM-transformed CloudFormation
#   2. sam validate --lint with the pinned SAM CLI (requirements-tools.txt)
#   3. scripts/check_template.py: assertions on the SAM-transformed template (alarms and dashboard
#      included), and scripts/check_alarm_metrics.py's self-test (against fixtures/emf-lines.jsonl)
#   4. scripts/check-cerbos-layer.sh: builds CerbosPoliciesLayer as sam build does (its Makefile) and
#      asks the pinned PDP, configured by the layer, for decisions over a unix socket
# Usage: scripts/check-template.sh [template.yaml]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TEMPLATE="${1:-template.yaml}"
VENV="$ROOT/.venv"

if [[ ! -x "$VENV/bin/cfn-lint" || ! -x "$VENV/bin/sam" ]] || ! "$VENV/bin/python" -c 'import samtranslator' 2>/dev/null; then
  echo "check-template: .venv incomplete, running scripts/bootstrap.sh"
  "$ROOT/scripts/bootstrap.sh"
fi

# Neither tool needs credentials, but botocore wants a region.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"

step() { printf 'check-template: %s\n' "$*"; }

t=$SECONDS
step "cfn-lint $TEMPLATE"
"$VENV/bin/cfn-lint" --include-checks I -- "$TEMPLATE"   # any finding (E, W or I) exits non-zero
# cfn-lint 1.x lints AWS::Serverless::* resources without expanding them, so what SAM generates
# (Scheduler schedule, EventInvokeConfig, URL permissions, roles) is linted on the transformed copy.
TRANSFORMED="$(mktemp "${TMPDIR:-/tmp}/gatehouse-transformed.XXXXXX")"  # JSON (cfn-lint reads it as YAML)
trap 'rm -f "$TRANSFORMED"' EXIT
"$VENV/bin/python" "$ROOT/scripts/check_template.py" --print-transformed "$TEMPLATE" >"$TRANSFORMED"
"$VENV/bin/cfn-lint" --include-checks I -- "$TRANSFORMED"
step "cfn-lint clean, SAM template and transformed ($((SECONDS - t))s)"

t=$SECONDS
step "sam validate --lint ($("$VENV/bin/sam" --version))"
SAM_CLI_TELEMETRY=0 "$VENV/bin/sam" validate --lint --template-file "$TEMPLATE"
step "sam validate ok ($((SECONDS - t))s)"

t=$SECONDS
"$VENV/bin/python" "$ROOT/scripts/check_template.py" "$TEMPLATE"
# The checker must also reject deliberately broken copies (OPTIONS, '*' resources, AWS_IAM, both IdP
# secrets granted, a missing IdP Rule, ...).
"$VENV/bin/python" "$ROOT/scripts/check_template.py" --self-test "$TEMPLATE" | tail -n 1
step "transformed-template assertions ok ($((SECONDS - t))s)"

t=$SECONDS
# The alarm-metric check (scripts/test.sh runs it on the e2e suite's logs) must reject broken copies
# of the template (a misspelled dimension value, ...) against lines copied from a real run.
"$VENV/bin/python" "$ROOT/scripts/check_alarm_metrics.py" --self-test "$TEMPLATE" | tail -n 1
step "alarm-metric check self-test ok ($((SECONDS - t))s)"

t=$SECONDS
step "Cerbos policies layer (scripts/check-cerbos-layer.sh)"
"$ROOT/scripts/check-cerbos-layer.sh"
step "Cerbos policies layer ok ($((SECONDS - t))s)"
