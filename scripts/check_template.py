#!/usr/bin/env python3
"""Assertions on template.yaml and on its SAM-transformed CloudFormation.

Runs offline, without AWS credentials: the template is transformed with aws-sam-translator
(pinned in requirements-tools.txt) and a stub managed-policy map.

Usage:
    .venv/bin/python scripts/check_template.py [template.yaml]
    .venv/bin/python scripts/check_template.py --self-test   # each check must catch a broken copy

Exit status 0 when every check passes; 1 with one line per failure otherwise.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent

# logical id -> (binary, timeout, is_sync)
FUNCTIONS: dict[str, tuple[str, int, bool]] = {
    "PublishSyncFunction": ("publish-sync", 25, True),
    "DeleteCleanupFunction": ("delete-cleanup", 25, True),
    "GatedContentFunction": ("gated-content", 10, False),
}
SECRET_PARAMS = ("StytchSecretArn", "SanitySecretArn")
COMMON_ENV = ("STYTCH_SECRET_ARN", "SANITY_SECRET_ARN", "IDP", "RUST_LOG", "SECRETS_MAX_AGE_S")
GATE_ENV = ("ACCESS_CACHE_TTL_S", "CORS_ALLOWED_ORIGINS", "CORS_MODE")
BASIC_EXECUTION_POLICY = "policy/service-role/AWSLambdaBasicExecutionRole"

# Parameter values used for the transform (the checks look at Refs, not at these values).
PARAMETER_VALUES = {
    "StytchSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse/stytch-AbCdEf",
    "SanitySecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse/sanity-GhIjKl",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "gatehouse",
}


# ---- YAML with CloudFormation short-form intrinsics --------------------------------------------
class CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    key = "Ref" if suffix == "Ref" else ("Condition" if suffix == "Condition" else f"Fn::{suffix}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass


# ---- SAM transform -----------------------------------------------------------------------------
class StubManagedPolicyLoader:
    """The translator asks for this map only for managed policies named in `Policies`;
    gatehouse names none (inline statements only), so an empty map keeps it offline."""

    def load(self) -> dict[str, str]:
        return {}


def sam_transform(template: dict[str, Any]) -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", PARAMETER_VALUES["AWS::Region"])
    # The translator's metrics logger warns "There are unpublished metrics" on every run.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(template)
    # What `sam package` does: local CodeUri -> S3 location (the translator accepts only S3 URIs).
    for lid, res in template.get("Resources", {}).items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str) \
                and not props["CodeUri"].startswith("s3://"):
            props["CodeUri"] = f"s3://gatehouse-check/{lid}.zip"
    return transform(
        template,
        dict(PARAMETER_VALUES),
        StubManagedPolicyLoader(),
        passthrough_metadata=True,
    )


# ---- helpers -----------------------------------------------------------------------------------
def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def contains_star(value: Any) -> bool:
    if isinstance(value, str):
        return "*" in value
    if isinstance(value, list):
        return any(contains_star(v) for v in value)
    if isinstance(value, dict):
        return any(contains_star(v) for v in value.values())
    return False


def points_at(value: Any, logical_id: str) -> bool:
    """Ref X, or GetAtt X.Arn (how SAM points a Url/Permission at its function)."""
    return value == ref(logical_id) or value == {"Fn::GetAtt": [logical_id, "Arn"]}


def of_type(resources: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources.items() if v.get("Type") == type_}


# ---- checks ------------------------------------------------------------------------------------
def check_source(src: dict[str, Any]) -> list[str]:
    """Things only the SAM template shows (sam build reads these)."""
    errors: list[str] = []
    resources = src.get("Resources", {})
    for lid, (binary, _timeout, _sync) in FUNCTIONS.items():
        res = resources.get(lid)
        if not res or res.get("Type") != "AWS::Serverless::Function":
            errors.append(f"{lid}: missing or not AWS::Serverless::Function")
            continue
        props = res.get("Properties", {})
        meta = res.get("Metadata", {})
        if meta.get("BuildMethod") != "rust-cargolambda":
            errors.append(f"{lid}: Metadata.BuildMethod must be rust-cargolambda, got {meta.get('BuildMethod')!r}")
        if meta.get("BuildProperties", {}).get("Binary") != binary:
            errors.append(
                f"{lid}: Metadata.BuildProperties.Binary must be {binary!r}, "
                f"got {meta.get('BuildProperties', {}).get('Binary')!r}"
            )
        if props.get("CodeUri") != ".":
            errors.append(f"{lid}: CodeUri must be '.', got {props.get('CodeUri')!r}")
        if props.get("Handler") != "bootstrap":
            errors.append(f"{lid}: Handler must be 'bootstrap', got {props.get('Handler')!r}")
        auth = props.get("FunctionUrlConfig", {}).get("AuthType")
        if auth != "NONE":
            # SAM adds the public-access permissions only for a literal NONE, not an intrinsic.
            errors.append(f"{lid}: FunctionUrlConfig.AuthType must be the literal NONE, got {auth!r}")
    return errors


def check_functions(out: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    resources = out.get("Resources", {})
    for lid, (binary, timeout, is_sync) in FUNCTIONS.items():
        fn = resources.get(lid)
        if not fn or fn.get("Type") != "AWS::Lambda::Function":
            errors.append(f"{lid}: no AWS::Lambda::Function in the transformed template")
            continue
        p = fn.get("Properties", {})
        if p.get("Runtime") != "provided.al2023":
            errors.append(f"{lid}: Runtime must be provided.al2023, got {p.get('Runtime')!r}")
        if p.get("Architectures") != ["arm64"]:
            errors.append(f"{lid}: Architectures must be [arm64], got {p.get('Architectures')!r}")
        if p.get("Handler") != "bootstrap":
            errors.append(f"{lid}: Handler must be bootstrap, got {p.get('Handler')!r}")
        if p.get("MemorySize") != ref("MemorySize"):
            errors.append(f"{lid}: MemorySize must be !Ref MemorySize, got {p.get('MemorySize')!r}")
        if p.get("Timeout") != timeout:
            errors.append(f"{lid}: Timeout must be {timeout}, got {p.get('Timeout')!r}")
        rce = p.get("ReservedConcurrentExecutions")
        if is_sync and rce != ref("ReservedConcurrency"):
            errors.append(f"{lid}: ReservedConcurrentExecutions must be !Ref ReservedConcurrency, got {rce!r}")
        want_name = f"${{AWS::StackName}}-{binary}"
        if p.get("FunctionName") != {"Fn::Sub": want_name}:
            errors.append(f"{lid}: FunctionName must be !Sub {want_name!r}, got {p.get('FunctionName')!r}")

        env = p.get("Environment", {}).get("Variables", {})
        for key in COMMON_ENV + (() if is_sync else GATE_ENV):
            if key not in env:
                errors.append(f"{lid}: environment variable {key} missing")
        for key, param in (("STYTCH_SECRET_ARN", "StytchSecretArn"), ("SANITY_SECRET_ARN", "SanitySecretArn"),
                           ("IDP", "IdentityProvider")):
            if key in env and env[key] != ref(param):
                errors.append(f"{lid}: {key} must be !Ref {param}, got {env[key]!r}")
        if "SECRETS_MAX_AGE_S" in env and str(env["SECRETS_MAX_AGE_S"]) != "300":
            errors.append(f"{lid}: SECRETS_MAX_AGE_S must be 300, got {env['SECRETS_MAX_AGE_S']!r}")
        if not is_sync:
            if env.get("CORS_MODE") != "url":
                errors.append(f"{lid}: CORS_MODE must be 'url' (the URL's Cors is the only CORS layer)")
            if env.get("ACCESS_CACHE_TTL_S") != ref("AccessCacheTtlSeconds"):
                errors.append(f"{lid}: ACCESS_CACHE_TTL_S must be !Ref AccessCacheTtlSeconds")
            if env.get("CORS_ALLOWED_ORIGINS") != {"Fn::Join": [",", ref("CorsAllowedOrigins")]}:
                errors.append(f"{lid}: CORS_ALLOWED_ORIGINS must be !Join [',', !Ref CorsAllowedOrigins]")

        # Logging: JSON, into the explicit log group of the same name.
        lc = p.get("LoggingConfig", {})
        if lc.get("LogFormat") != "JSON":
            errors.append(f"{lid}: LoggingConfig.LogFormat must be JSON, got {lc.get('LogFormat')!r}")
        lg_ref = lc.get("LogGroup")
        lg_id = lg_ref.get("Ref") if isinstance(lg_ref, dict) else None
        lg = resources.get(lg_id or "", {})
        if lg.get("Type") != "AWS::Logs::LogGroup":
            errors.append(f"{lid}: LoggingConfig.LogGroup must Ref an AWS::Logs::LogGroup, got {lg_ref!r}")
        else:
            lp = lg.get("Properties", {})
            want = {"Fn::Sub": f"/aws/lambda/{want_name}"}
            if lp.get("LogGroupName") != want:
                errors.append(f"{lg_id}: LogGroupName must be {want!r}, got {lp.get('LogGroupName')!r}")
            if lp.get("RetentionInDays") != ref("LogRetentionDays"):
                errors.append(f"{lg_id}: RetentionInDays must be !Ref LogRetentionDays")
    return errors


def check_urls_and_permissions(out: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    resources = out.get("Resources", {})
    urls = of_type(resources, "AWS::Lambda::Url")
    perms = of_type(resources, "AWS::Lambda::Permission")

    for lid, (_binary, _timeout, is_sync) in FUNCTIONS.items():
        mine = [u for u in urls.values() if points_at(u.get("Properties", {}).get("TargetFunctionArn"), lid)]
        if len(mine) != 1:
            errors.append(f"{lid}: expected exactly one AWS::Lambda::Url, found {len(mine)}")
            continue
        up = mine[0]["Properties"]
        if up.get("AuthType") != "NONE":
            errors.append(f"{lid}: function URL AuthType must be NONE, got {up.get('AuthType')!r}")
        cors = up.get("Cors")
        if is_sync and cors:
            errors.append(f"{lid}: webhook URL must not configure CORS, got {cors!r}")
        if not is_sync:
            if not cors:
                errors.append(f"{lid}: function URL must configure Cors")
            else:
                if cors.get("AllowOrigins") != ref("CorsAllowedOrigins"):
                    errors.append(f"{lid}: Cors.AllowOrigins must be !Ref CorsAllowedOrigins")
                if cors.get("AllowMethods") != ["GET"]:
                    errors.append(f"{lid}: Cors.AllowMethods must be [GET], got {cors.get('AllowMethods')!r}")
                if sorted(h.lower() for h in cors.get("AllowHeaders", [])) != ["authorization", "content-type"]:
                    errors.append(f"{lid}: Cors.AllowHeaders must be [authorization, content-type]")
                if cors.get("AllowCredentials") is not True:
                    errors.append(f"{lid}: Cors.AllowCredentials must be true")
                if contains_star(cors.get("AllowOrigins")):
                    errors.append(f"{lid}: Cors.AllowOrigins must not contain '*' (credentials are allowed)")

        fperms = [q.get("Properties", {}) for q in perms.values()
                  if points_at(q.get("Properties", {}).get("FunctionName"), lid)]
        url_perm = [q for q in fperms if q.get("Action") == "lambda:InvokeFunctionUrl"
                    and q.get("Principal") == "*" and q.get("FunctionUrlAuthType") == "NONE"]
        inv_perm = [q for q in fperms if q.get("Action") == "lambda:InvokeFunction"
                    and q.get("Principal") == "*" and q.get("InvokedViaFunctionUrl") in (True, "true")]
        if not url_perm:
            errors.append(f"{lid}: no AWS::Lambda::Permission with lambda:InvokeFunctionUrl "
                          "(Principal *, FunctionUrlAuthType NONE)")
        if not inv_perm:
            errors.append(f"{lid}: no AWS::Lambda::Permission with lambda:InvokeFunction and "
                          "InvokedViaFunctionUrl true (required for new function URLs since Oct 2025)")
        # A public InvokeFunction without InvokedViaFunctionUrl would open the function to anyone.
        for q in fperms:
            if q.get("Action") == "lambda:InvokeFunction" and q.get("InvokedViaFunctionUrl") not in (True, "true"):
                errors.append(f"{lid}: lambda:InvokeFunction permission without InvokedViaFunctionUrl: {q!r}")

    # CORS anywhere: OPTIONS is never an allowed method (the URL answers preflight itself).
    for uid, u in urls.items():
        methods = (u.get("Properties", {}).get("Cors") or {}).get("AllowMethods") or []
        if any(str(m).upper() == "OPTIONS" for m in as_list(methods)):
            errors.append(f"{uid}: Cors.AllowMethods must never contain OPTIONS")
    return errors


def check_iam(out: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    resources = out.get("Resources", {})
    want_resources = sorted(json.dumps(ref(p)) for p in SECRET_PARAMS)
    for lid in FUNCTIONS:
        fn = resources.get(lid, {})
        role_arn = fn.get("Properties", {}).get("Role")
        if not (isinstance(role_arn, dict) and "Fn::GetAtt" in role_arn):
            errors.append(f"{lid}: Role must be a role of this stack, got {role_arn!r}")
            continue
        role_id = role_arn["Fn::GetAtt"][0]
        role = resources.get(role_id, {})
        if role.get("Type") != "AWS::IAM::Role":
            errors.append(f"{lid}: {role_id} is not an AWS::IAM::Role")
            continue
        rp = role.get("Properties", {})
        for arn in rp.get("ManagedPolicyArns", []):
            if BASIC_EXECUTION_POLICY not in json.dumps(arn):
                errors.append(f"{role_id}: unexpected managed policy {arn!r} (only SAM's basic execution role)")
        statements = [s for pol in rp.get("Policies", [])
                      for s in as_list(pol.get("PolicyDocument", {}).get("Statement", []))]
        if not statements:
            errors.append(f"{role_id}: no inline policy (expected secretsmanager:GetSecretValue on the two secrets)")
        for s in statements:
            actions = as_list(s.get("Action"))
            res = as_list(s.get("Resource"))
            if s.get("Effect") != "Allow" or actions != ["secretsmanager:GetSecretValue"]:
                errors.append(f"{role_id}: statement allows more than secretsmanager:GetSecretValue: {s!r}")
            if contains_star(res) or contains_star(actions) or "NotResource" in s or "NotAction" in s:
                errors.append(f"{role_id}: statement uses a wildcard or Not*: {s!r}")
            if sorted(json.dumps(r) for r in res) != want_resources:
                errors.append(f"{role_id}: Resource must be exactly [!Ref StytchSecretArn, !Ref SanitySecretArn], "
                              f"got {res!r}")
    return errors


def check_outputs(out: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    resources = out.get("Resources", {})
    outputs = out.get("Outputs", {})
    for lid in FUNCTIONS:
        for attr_res, attr, type_ in ((f"{lid}Url", "FunctionUrl", "AWS::Lambda::Url"),
                                      (lid, "Arn", "AWS::Lambda::Function")):
            want = {"Fn::GetAtt": [attr_res, attr]}
            if not any(o.get("Value") == want for o in outputs.values()):
                errors.append(f"Outputs: nothing outputs !GetAtt {attr_res}.{attr}")
            if resources.get(attr_res, {}).get("Type") != type_:
                errors.append(f"Outputs: {attr_res} is not an {type_} in the transformed template")
    for name, o in outputs.items():
        v = o.get("Value")
        if isinstance(v, dict) and "Fn::GetAtt" in v and v["Fn::GetAtt"][0] not in resources:
            errors.append(f"Outputs.{name}: GetAtt of unknown resource {v['Fn::GetAtt'][0]}")
    return errors


def run_checks(src: dict[str, Any]) -> list[str]:
    errors = check_source(src)
    try:
        out = sam_transform(src)
    except Exception as e:  # noqa: BLE001 - report any translator failure as one line
        return errors + [f"SAM transform failed: {type(e).__name__}: {e}"]
    for check in (check_functions, check_urls_and_permissions, check_iam, check_outputs):
        errors += check(out)
    return errors


# ---- self-test: every check must catch a deliberately broken copy ------------------------------
def _mutations() -> list[tuple[str, Callable[[dict[str, Any]], None]]]:
    def props(t: dict[str, Any], lid: str) -> dict[str, Any]:
        return t["Resources"][lid]["Properties"]

    def stmt(t: dict[str, Any], lid: str) -> dict[str, Any]:
        return props(t, lid)["Policies"][0]["Statement"][0]

    return [
        ("OPTIONS in AllowMethods",
         lambda t: props(t, "GatedContentFunction")["FunctionUrlConfig"]["Cors"]["AllowMethods"].append("OPTIONS")),
        ("AuthType AWS_IAM", lambda t: props(t, "PublishSyncFunction")["FunctionUrlConfig"].update(AuthType="AWS_IAM")),
        ("AuthType as intrinsic",
         lambda t: props(t, "DeleteCleanupFunction")["FunctionUrlConfig"].update(AuthType={"Fn::Sub": "NONE"})),
        ("secret Resource *", lambda t: stmt(t, "PublishSyncFunction").update(Resource="*")),
        ("one secret only", lambda t: stmt(t, "GatedContentFunction").update(Resource=[ref("SanitySecretArn")])),
        ("extra action",
         lambda t: stmt(t, "DeleteCleanupFunction").update(
             Action=["secretsmanager:GetSecretValue", "secretsmanager:ListSecrets"])),
        ("wrong Binary", lambda t: t["Resources"]["GatedContentFunction"]["Metadata"]["BuildProperties"].update(
            Binary="gate")),
        ("x86_64", lambda t: t["Globals"]["Function"].update(Architectures=["x86_64"])),
        ("runtime", lambda t: t["Globals"]["Function"].update(Runtime="provided.al2")),
        ("no reserved concurrency", lambda t: props(t, "PublishSyncFunction").pop("ReservedConcurrentExecutions")),
        ("CORS on a webhook URL",
         lambda t: props(t, "PublishSyncFunction")["FunctionUrlConfig"].update(Cors={"AllowOrigins": ["*"]})),
        ("CORS_MODE function", lambda t: props(t, "GatedContentFunction")["Environment"]["Variables"].update(
            CORS_MODE="function")),
        ("no URL output", lambda t: t["Outputs"].pop("GatedContentUrl")),
        ("managed policy", lambda t: props(t, "GatedContentFunction")["Policies"].append(
            "arn:aws:iam::aws:policy/AdministratorAccess")),
    ]


def self_test(src: dict[str, Any]) -> int:
    failures = 0
    base = run_checks(src)
    if base:
        print("self-test: the template itself fails; fix that first:", *base, sep="\n  ")
        return 1
    for name, mutate in _mutations():
        t = copy.deepcopy(src)
        mutate(t)
        errs = run_checks(t)
        if errs:
            print(f"self-test: caught  {name}: {errs[0]}")
        else:
            print(f"self-test: MISSED {name}")
            failures += 1
    print(f"self-test: {len(_mutations()) - failures} passed, {failures} failed")
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    path = Path(args[0]) if args else ROOT / "template.yaml"
    src = load_template(path)
    if "--self-test" in argv:
        return self_test(src)
    errors = run_checks(src)
    if errors:
        for e in errors:
            print(f"check_template: FAIL {e}")
        print(f"check_template: {len(errors)} problem(s) in {path}")
        return 1
    import samtranslator

    print(f"check_template: OK ({len(FUNCTIONS)} functions; aws-sam-translator {samtranslator.__version__}: "
          "URL AuthType NONE, InvokeFunctionUrl + InvokeFunction permissions, secrets-only IAM, CORS, build metadata)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
