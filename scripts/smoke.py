#!/usr/bin/env python3
"""Checks a deployed gatehouse stack without writing anything (`make smoke STACK=<name>`).

  STACK=<name>   a CloudFormation stack made by `sam deploy`: its outputs give the function URLs
                 and the reconcile function, its SanitySecretArn parameter the webhook secret
  STACK=local    the local test stack (.stack/test/stack.env, `scripts/stack.sh up test`), the
                 same checks against the emulators; `make test` runs it

Checks, each one line (ok / FAIL):
  - publish-sync and delete-cleanup refuse an unsigned delivery (401); signed with the secret
    from Secrets Manager they answer a draft delivery `skipped` (200): drafts are never synced,
    so nothing is written
  - gated-content answers an anonymous read 200 or 404, never 5xx, and a CORS preflight from
    the configured origin with that origin
  - token-exchange refuses a request without credentials (401)
  - reconcile's dry run returns its report, and its scan of the identity provider ran

Exit status 0 when every check passes, 1 otherwise, 2 when the stack cannot be read.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUNCTIONS = ("publish-sync", "delete-cleanup", "gated-content", "token-exchange")
OUTPUTS = {"publish-sync": "PublishSyncUrl", "delete-cleanup": "DeleteCleanupUrl",
           "gated-content": "GatedContentUrl", "token-exchange": "TokenExchangeUrl"}
# reconcile runs for up to its 300 s timeout (template.yaml) and answers a synchronous invoke only
# then: wait for it longer than botocore's default 60 s read timeout.
RECONCILE_READ_TIMEOUT_S = 320


class Unreadable(Exception):
    """The stack (outputs, parameters, secret) could not be read: exit 2."""


def read_env(path):
    env = {}
    try:
        with open(path) as f:
            for line in f:
                k, sep, v = line.strip().partition("=")
                if sep and not k.startswith("#"):
                    env[k] = v
    except OSError as e:
        raise Unreadable(f"{path}: {e.strerror} (start it: scripts/stack.sh up test)")
    return env


class Target:
    """Where the functions are and how to reach Secrets Manager and Lambda."""

    def __init__(self, urls, reconcile, secret_arn, origin, aws_endpoint=None, lambda_endpoint=None):
        self.urls, self.reconcile, self.secret_arn, self.origin = urls, reconcile, secret_arn, origin
        self.aws_endpoint, self.lambda_endpoint = aws_endpoint, lambda_endpoint

    def client(self, service, endpoint, config=None):
        import boto3
        kwargs = {"endpoint_url": endpoint} if endpoint else {}
        return boto3.client(service, config=config, **kwargs)

    def reconcile_client(self):
        """The Lambda client for reconcile's dry run: it waits out a whole run, and never retries.
        botocore retries an invoke that timed out or lost its connection (4 more attempts by
        default), and each retry would start another run."""
        from botocore.config import Config
        return self.client("lambda", self.lambda_endpoint, Config(
            read_timeout=RECONCILE_READ_TIMEOUT_S, retries={"mode": "standard", "total_max_attempts": 1}))


def local_target():
    state = os.path.join(ROOT, ".stack", "test")
    stack = read_env(os.path.join(state, "stack.env"))
    fn = read_env(os.path.join(state, "functions-b2b.env"))
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        os.environ.setdefault(k, fn[k])
    os.environ.setdefault("AWS_DEFAULT_REGION", fn["AWS_REGION"])
    base = stack["LAMBDA_URL"]
    urls = {f: f"{base}/lambda-url/{f}" for f in FUNCTIONS}
    origin = fn["CORS_ALLOWED_ORIGINS"].split(",")[0]
    return Target(urls, "reconcile", fn["SANITY_SECRET_ARN"], origin, fn["AWS_ENDPOINT_URL"], base)


def deployed_target(name):
    import boto3
    import botocore.exceptions
    try:
        stacks = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        raise Unreadable(f"stack {name}: {e}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stacks[0].get("Parameters", [])}
    missing = [k for k in (*OUTPUTS.values(), "ReconcileFunctionName") if k not in outputs]
    if missing:
        raise Unreadable(f"stack {name} has no output {', '.join(missing)} (not a gatehouse stack?)")
    if not params.get("SanitySecretArn"):
        raise Unreadable(f"stack {name} has no SanitySecretArn parameter")
    urls = {f: outputs[k].rstrip("/") for f, k in OUTPUTS.items()}
    origin = params.get("CorsAllowedOrigins", "").split(",")[0].strip()
    return Target(urls, outputs["ReconcileFunctionName"], params["SanitySecretArn"], origin)


def request(method, url, body=None, headers=None):
    """(status, headers, body text); never raises on an HTTP status."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")


def sign(secret, body):
    """The header Sanity sends (shared/src/cms/signature.rs)."""
    t = str(int(time.time() * 1000))
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).digest()
    return f"t={t},v1={base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


class Report:
    def __init__(self):
        self.failed = 0

    def check(self, what, ok, detail=""):
        print(f"smoke: {'ok  ' if ok else 'FAIL'} {what}{'' if ok else f' ({detail})'}")
        self.failed += 0 if ok else 1


def webhook_secret(target):
    import botocore.exceptions
    try:
        raw = target.client("secretsmanager", target.aws_endpoint).get_secret_value(SecretId=target.secret_arn)
        fields = json.loads(raw["SecretString"])
        secret, dataset = fields["webhook_secret"], fields["dataset"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        raise Unreadable(f"cannot read {target.secret_arn}: {e}")
    except (KeyError, TypeError, ValueError):
        raise Unreadable(f"{target.secret_arn} has no webhook_secret or dataset field")
    return secret, dataset


def run(target):
    report = Report()
    secret, dataset = webhook_secret(target)
    draft = f"drafts.smoke-{uuid.uuid4().hex[:12]}"
    body = json.dumps({"_id": draft, "_type": "accessRule", "_rev": "smoke", "operation": "update",
                       "before": None, "dataset": dataset}).encode()
    for f in ("publish-sync", "delete-cleanup"):
        url = target.urls[f]
        status, _, text = request("POST", url, body, {"content-type": "application/json"})
        report.check(f"{f} refuses an unsigned delivery (401)", status == 401, f"{status} {text[:200]}")
        status, _, text = request("POST", url, body, {"content-type": "application/json",
                                                      "sanity-webhook-signature": sign(secret, body)})
        try:
            outcome = json.loads(text).get("outcome")
        except (ValueError, AttributeError):
            outcome = None
        report.check(f"{f} answers a signed draft delivery skipped (200)", status == 200 and outcome == "skipped",
                     f"{status} {text[:200]}")

    gated = target.urls["gated-content"]
    status, _, text = request("GET", f"{gated}/content/smoke-{uuid.uuid4().hex[:12]}")
    report.check("gated-content answers an anonymous read 200 or 404", status in (200, 404), f"{status} {text[:200]}")
    if target.origin:
        status, headers, text = request("OPTIONS", f"{gated}/content/smoke", None, {
            "origin": target.origin, "access-control-request-method": "GET",
            "access-control-request-headers": "authorization"})
        allowed = {k.lower(): v for k, v in headers.items()}.get("access-control-allow-origin")
        report.check(f"gated-content answers CORS for {target.origin}", status < 300 and allowed == target.origin,
                     f"{status}, access-control-allow-origin {allowed!r}")
    else:
        report.check("gated-content CORS: no configured origin (CorsAllowedOrigins)", False, "parameter empty")

    status, _, text = request("POST", f"{target.urls['token-exchange']}/token", b"", {"origin": target.origin or "null"})
    report.check("token-exchange refuses a request without credentials (401)", status == 401, f"{status} {text[:200]}")

    import botocore.exceptions
    try:
        out = target.reconcile_client().invoke(
            FunctionName=target.reconcile, Payload=json.dumps({"dryRun": True}).encode())
        payload = json.loads(out["Payload"].read() or b"null")
        ok = not out.get("FunctionError") and isinstance(payload, dict) and payload.get("dryRun") is True \
            and all(isinstance(payload.get(k), int) for k in ("changed", "cleared", "errors"))
        report.check("reconcile's dry run returns its report", ok, json.dumps(payload)[:300])
        if ok:
            # A scan the provider refused (a wrong management secret, the project unreachable) is
            # a detail of the report, not a failed run: name it here, or smoke would pass a stack
            # that can never repair a target.
            scan = [d for d in payload.get("details") or [] if isinstance(d, dict)
                    and d.get("documentId") == "*" and d.get("error") == "provider_unavailable"]
            report.check("reconcile's dry run reached the identity provider (its scan ran)", not scan,
                         json.dumps(scan)[:300])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, ValueError) as e:
        report.check("reconcile's dry run returns its report", False, str(e)[:300])
    return report.failed


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("stack", help="the CloudFormation stack name, or `local`")
    args = p.parse_args(argv)
    try:
        target = local_target() if args.stack == "local" else deployed_target(args.stack)
        failed = run(target)
    except Unreadable as e:
        print(f"smoke: cannot check {args.stack}: {e}", file=sys.stderr)
        return 2
    print(f"smoke: {args.stack}: {'all checks passed' if not failed else f'{failed} check(s) FAILED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
