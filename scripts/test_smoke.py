#!/usr/bin/env python3
"""scripts/smoke.py against the running local test stack (make test): every check passes on a
healthy stack, a function answering wrongly fails its check (exit 1), an unreadable stack is
exit 2 with one line.

DeployedTarget needs no stack: it reads a CloudFormation stack shaped like a deployed one (the
real template's output and parameter names) from moto in process, as `make smoke STACK=<name>`
does from AWS. On its own:
    .venv/bin/python scripts/test_smoke.py DeployedTarget
"""
import contextlib
import io
import json
import os
import sys
import unittest
from pathlib import Path
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import smoke  # noqa: E402


def quiet(f, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = f(*args)
    return code, out.getvalue()


class Smoke(unittest.TestCase):
    def test_the_local_stack_passes_every_check(self):
        code, out = quiet(smoke.main, ["local"])
        self.assertEqual(code, 0, out)
        self.assertEqual(out.count("smoke: ok"), 9, out)
        print(out, end="")

    def test_a_wrong_answer_fails_its_check(self):
        target = smoke.local_target()
        # publish-sync's URL answered by gated-content: 404 instead of 401 and `skipped`.
        target.urls["publish-sync"] = target.urls["gated-content"]
        failed, out = quiet(smoke.run, target)
        self.assertEqual(failed, 2, out)
        self.assertIn("FAIL publish-sync refuses an unsigned delivery (401) (404", out)

    def test_an_unreachable_reconcile_fails_its_check(self):
        target = smoke.local_target()
        target.reconcile = "no-such-function"
        failed, out = quiet(smoke.run, target)
        self.assertEqual(failed, 1, out)
        self.assertIn("FAIL reconcile's dry run", out)

    def test_a_provider_refusing_the_scan_fails_its_check(self):
        # What a wrong Stytch secret in Secrets Manager looks like to reconcile: its scan is refused.
        import urllib.request
        stytch = smoke.read_env(os.path.join(smoke.ROOT, ".stack", "test", "stack.env"))["STYTCH_URL"]
        path = "/v1/b2b/organizations/search"

        def faults(method, body):
            req = urllib.request.Request(f"{stytch}/__gatehouse/faults", json.dumps(body).encode(), method=method,
                                         headers={"content-type": "application/json"})
            urllib.request.urlopen(req, timeout=10).read()

        faults("POST", {"method": "POST", "path": path, "status": 401, "count": 20})
        try:
            failed, out = quiet(smoke.run, smoke.local_target())
        finally:
            faults("DELETE", {"method": "POST", "path": path})
        self.assertEqual(failed, 1, out)
        self.assertIn("FAIL reconcile's dry run reached the identity provider", out)
        self.assertIn("provider_unavailable", out)

    def test_an_unreadable_stack_is_exit_2(self):
        root = smoke.ROOT
        smoke.ROOT = "/nonexistent"
        try:
            code, out = quiet(smoke.main, ["local"])
        finally:
            smoke.ROOT = root
        self.assertEqual(code, 2, out)
        self.assertIn("cannot check local", out)


REGION = "eu-west-1"
SANITY_ARN = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:gatehouse/sanity-AbCdEf"
ORIGINS = "https://app.example.com,https://admin.example.com"
# What smoke.py reads from a stack: the four URL outputs, reconcile's name, two parameters.
READ_OUTPUTS = (*smoke.OUTPUTS.values(), "ReconcileFunctionName")
READ_PARAMETERS = ("SanitySecretArn", "CorsAllowedOrigins")


def real_template():
    from check_template import load_template
    return load_template(Path(smoke.ROOT) / "template.yaml")


def fake_value(output, stack):
    """What a deployed stack's output holds: function URLs end in "/"."""
    if output.endswith("Url"):
        return f"https://{output.lower()}-{stack}.lambda-url.{REGION}.on.aws/"
    if output == "ReconcileFunctionName":
        return f"{stack}-reconcile"
    return f"{stack}-{output}"


def stack_template(stack, drop_outputs=(), drop_parameters=()):
    """A stack with the real template's unconditional outputs (literal values) and the parameters
    smoke.py reads, as the real template declares them, around one placeholder resource."""
    real = real_template()
    params = {k: {f: v for f, v in real["Parameters"][k].items() if f in ("Type", "Default", "AllowedPattern")}
              for k in READ_PARAMETERS if k not in drop_parameters}
    # CloudFormation's DescribeStacks gives a CommaDelimitedList parameter back as the string it was
    # given ("a,b"); moto 5 splits it and returns the Python list's repr ("['a', 'b']"). Declared a
    # String here, moto returns what CloudFormation would.
    for p in params.values():
        if p.get("Type") == "CommaDelimitedList":
            p["Type"] = "String"
    outputs = {k: {"Value": fake_value(k, stack)} for k, o in real["Outputs"].items()
               if "Condition" not in o and k not in drop_outputs}
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Parameters": params,
                       "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}, "Outputs": outputs})


class DeployedTarget(unittest.TestCase):
    """smoke.deployed_target (describe-stacks) against moto, in process: no local stack needed."""

    def setUp(self):
        from moto import mock_aws
        env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
               "AWS_REGION": REGION, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        patch = mock.patch.dict(os.environ, env)
        patch.start()
        self.addCleanup(patch.stop)
        for k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDFORMATION", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
            os.environ.pop(k, None)  # restored by patch.stop
        aws = mock_aws()
        aws.start()
        self.addCleanup(aws.stop)

    def create(self, stack, parameters=None, **drop):
        import boto3
        values = {"SanitySecretArn": SANITY_ARN, "CorsAllowedOrigins": ORIGINS} if parameters is None else parameters
        boto3.client("cloudformation").create_stack(
            StackName=stack, TemplateBody=stack_template(stack, **drop),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()])

    def test_the_template_has_what_smoke_reads(self):
        real = real_template()
        for k in READ_OUTPUTS:
            self.assertIn(k, real["Outputs"], "smoke.py reads an output template.yaml does not have")
            self.assertNotIn("Condition", real["Outputs"][k], f"{k} must exist in every stack")
        for k in READ_PARAMETERS:
            self.assertIn(k, real["Parameters"], "smoke.py reads a parameter template.yaml does not have")

    def test_a_deployed_stack_gives_urls_secret_and_function(self):
        self.create("gatehouse-prod")
        target = smoke.deployed_target("gatehouse-prod")
        self.assertEqual(target.urls, {f: fake_value(o, "gatehouse-prod").rstrip("/") for f, o in smoke.OUTPUTS.items()})
        self.assertTrue(all(not u.endswith("/") for u in target.urls.values()), target.urls)
        self.assertEqual(target.reconcile, "gatehouse-prod-reconcile")
        self.assertEqual(target.secret_arn, SANITY_ARN)
        self.assertEqual(target.origin, "https://app.example.com")
        # Deployed: the real AWS endpoints, no local overrides.
        self.assertIsNone(target.aws_endpoint)
        self.assertIsNone(target.lambda_endpoint)

    def test_the_reconcile_client_waits_out_a_run_and_never_retries(self):
        self.create("gatehouse-prod")
        config = smoke.deployed_target("gatehouse-prod").reconcile_client().meta.config
        self.assertGreaterEqual(config.read_timeout, 320)
        self.assertEqual(config.retries, {"mode": "standard", "total_max_attempts": 1})

    def assert_refused(self, stack, *expected):
        code, out = quiet(smoke.main, [stack])
        self.assertEqual(code, 2, out)
        self.assertEqual(len(out.splitlines()), 1, f"one line expected:\n{out}")
        self.assertTrue(out.startswith(f"smoke: cannot check {stack}: "), out)
        for e in expected:
            self.assertIn(e, out)

    def test_a_stack_without_an_output_is_refused_with_one_line(self):
        self.create("half-deployed", drop_outputs=("DeleteCleanupUrl",))
        self.assert_refused("half-deployed", "has no output DeleteCleanupUrl", "not a gatehouse stack?")

    def test_a_stack_without_the_sanity_secret_is_refused_with_one_line(self):
        self.create("no-secret", parameters={"CorsAllowedOrigins": ORIGINS}, drop_parameters=("SanitySecretArn",))
        self.assert_refused("no-secret", "has no SanitySecretArn parameter")

    def test_a_missing_stack_is_refused_with_one_line(self):
        self.assert_refused("no-such-stack", "no-such-stack")


if __name__ == "__main__":
    unittest.main(verbosity=2)
