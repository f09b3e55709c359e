#!/usr/bin/env bash
# `make dev`: the local stack with demo data, running until Ctrl-C, which stops everything.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
trap '"$ROOT/scripts/stack.sh" down dev' EXIT INT TERM
"$ROOT/scripts/stack.sh" up dev
echo
echo "Seeding demo data (organizations, members, plans, articles):"
"$ROOT/.venv/bin/python" "$ROOT/scripts/demo.py" seed
cat <<INFO

Try it:
  in a browser:     http://127.0.0.1:${WEB_PORT:-3000}/   (sign in as a demo member, read, publish rules in the editor panel; examples/web)
  publish a rule:   curl -X POST -H 'authorization: Bearer sk-local-write' -H 'content-type: application/json' \\
                      http://127.0.0.1:${SANITY_PORT:-4100}/v2025-02-19/data/mutate/production \\
                      -d '{"mutations":[{"createOrReplace":{"_id":"rule-1","_type":"accessRule","stytchOrganizationId":"<acme id above>","plan":{"_type":"reference","_ref":"plan-pro"},"region":"eu","allowedContentTypes":["article"]}}]}'
  see it in Stytch: curl http://127.0.0.1:${STYTCH_PORT:-4200}/__gatehouse/state
  deliveries:       curl http://127.0.0.1:${SANITY_PORT:-4100}/__gatehouse/deliveries
  mint a session:   curl -X POST http://127.0.0.1:${STYTCH_PORT:-4200}/__gatehouse/sessions -d '{"organization_id":"...","member_id":"..."}'
  read content:     curl -H "authorization: Bearer <session_jwt>" http://127.0.0.1:${LAMBDA_PORT:-9000}/lambda-url/gated-content/content/<slug>

Ctrl-C stops everything.
INFO
while true; do sleep 3600; done
