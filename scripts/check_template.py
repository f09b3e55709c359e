#!/usr/bin/env python3
"""Assertions on template.yaml and on its SAM-transformed CloudFormation.

Runs offline, without AWS credentials: the template is transformed with aws-sam-translator
(pinned in requirements-tools.txt) and a stub managed-policy map.

Usage:
    .venv/bin/python scripts/check_template.py [template.yaml]
    .venv/bin/python scripts/check_template.py --self-test   # each check must catch a broken copy
    .venv/bin/python scripts/check_template.py --print-transformed   # the transformed JSON (for cfn-lint)

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

# How a function is reached:
#   webhook   - Sanity-signed function URL: no CORS, ReservedConcurrentExecutions
#   browser   - function URL the frontend calls: CORS in the URL only (CORS_MODE=url)
#   scheduled - no URL at all; EventBridge Scheduler invokes it with a fixed Input
WEBHOOK, BROWSER, SCHEDULED = "webhook", "browser", "scheduled"

# logical id -> (binary, timeout, kind)
FUNCTIONS: dict[str, tuple[str, int, str]] = {
    "PublishSyncFunction": ("publish-sync", 25, WEBHOOK),
    "DeleteCleanupFunction": ("delete-cleanup", 25, WEBHOOK),
    "GatedContentFunction": ("gated-content", 10, BROWSER),
    "TokenExchangeFunction": ("token-exchange", 10, BROWSER),
    "ReconcileFunction": ("reconcile", 300, SCHEDULED),
}
SYNC_SECRETS = ("StytchSecretArn", "SanitySecretArn")
# logical id -> the secret parameters its role may read: exactly these, nothing else.
SECRET_PARAMS: dict[str, tuple[str, ...]] = {
    "PublishSyncFunction": SYNC_SECRETS,
    "DeleteCleanupFunction": SYNC_SECRETS,
    "GatedContentFunction": SYNC_SECRETS,
    # token-exchange signs InsForge tokens; it has no business with Sanity's read token.
    "TokenExchangeFunction": ("StytchSecretArn", "InsForgeSecretArn"),
    "ReconcileFunction": SYNC_SECRETS,
}
COMMON_ENV = ("STYTCH_SECRET_ARN", "SANITY_SECRET_ARN", "IDP", "RUST_LOG", "SECRETS_MAX_AGE_S")
CORS_ENV = {"CORS_ALLOWED_ORIGINS": {"Fn::Join": [",", {"Ref": "CorsAllowedOrigins"}]}, "CORS_MODE": "url"}
# logical id -> environment variables (beyond COMMON_ENV) and the exact value each must have.
FUNCTION_ENV: dict[str, dict[str, Any]] = {
    "GatedContentFunction": {"ACCESS_CACHE_TTL_S": {"Ref": "AccessCacheTtlSeconds"}, **CORS_ENV},
    "TokenExchangeFunction": {"INSFORGE_SECRET_ARN": {"Ref": "InsForgeSecretArn"}, **CORS_ENV},
    "ReconcileFunction": {
        "RECONCILE_CONCURRENCY": "4",
        "RECONCILE_PROVIDER_RATE": {"Ref": "ReconcileProviderRate"},
        "RECONCILE_PROVIDER_BURST": "20",
    },
}
# browser URLs: the only methods their CORS allows (never OPTIONS: the URL answers preflight).
CORS_METHODS = {"GatedContentFunction": ["GET"], "TokenExchangeFunction": ["POST"]}
# scheduled functions -> (ScheduleExpression parameter, on/off parameter, the exact payload). The
# function refuses unknown fields, so the schedule must send this Input, never an event envelope.
SCHEDULES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "ReconcileFunction": ("ReconcileSchedule", "ReconcileEnabled", {"dryRun": False}),
}
BASIC_EXECUTION_POLICY = "policy/service-role/AWSLambdaBasicExecutionRole"

# Parameter values used for the transform (the checks look at Refs, not at these values).
PARAMETER_VALUES = {
    "StytchSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse/stytch-AbCdEf",
    "SanitySecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse/sanity-GhIjKl",
    "InsForgeSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse/insforge-MnOpQr",
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
    for lid, (binary, _timeout, kind) in FUNCTIONS.items():
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
        if kind == SCHEDULED:
            if "FunctionUrlConfig" in props:
                errors.append(f"{lid}: a scheduled function must not have a FunctionUrlConfig")
            continue
        auth = props.get("FunctionUrlConfig", {}).get("AuthType")
        if auth != "NONE":
            # SAM adds the public-access permissions only for a literal NONE, not an intrinsic.
            errors.append(f"{lid}: FunctionUrlConfig.AuthType must be the literal NONE, got {auth!r}")
    return errors


def check_functions(out: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    resources = out.get("Resources", {})
    for lid, (binary, timeout, kind) in FUNCTIONS.items():
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
        if kind == WEBHOOK and rce != ref("ReservedConcurrency"):
            errors.append(f"{lid}: ReservedConcurrentExecutions must be !Ref ReservedConcurrency, got {rce!r}")
        want_name = f"${{AWS::StackName}}-{binary}"
        if p.get("FunctionName") != {"Fn::Sub": want_name}:
            errors.append(f"{lid}: FunctionName must be !Sub {want_name!r}, got {p.get('FunctionName')!r}")

        env = p.get("Environment", {}).get("Variables", {})
        for key in COMMON_ENV:
            if key not in env:
                errors.append(f"{lid}: environment variable {key} missing")
        for key, want_value in FUNCTION_ENV.get(lid, {}).items():
            if key not in env:
                errors.append(f"{lid}: environment variable {key} missing")
            elif env[key] != want_value:
                errors.append(f"{lid}: {key} must be {want_value!r}, got {env[key]!r}")
        for key, param in (("STYTCH_SECRET_ARN", "StytchSecretArn"), ("SANITY_SECRET_ARN", "SanitySecretArn"),
                           ("IDP", "IdentityProvider")):
            if key in env and env[key] != ref(param):
                errors.append(f"{lid}: {key} must be !Ref {param}, got {env[key]!r}")
        if "SECRETS_MAX_AGE_S" in env and str(env["SECRETS_MAX_AGE_S"]) != "300":
            errors.append(f"{lid}: SECRETS_MAX_AGE_S must be 300, got {env['SECRETS_MAX_AGE_S']!r}")
        if kind == BROWSER and env.get("CORS_MODE") != "url":
            errors.append(f"{lid}: CORS_MODE must be 'url' (the URL's Cors is the only CORS layer)")

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

    for lid, (_binary, _timeout, kind) in FUNCTIONS.items():
        mine = [u for u in urls.values() if points_at(u.get("Properties", {}).get("TargetFunctionArn"), lid)]
        fperms = [q.get("Properties", {}) for q in perms.values()
                  if points_at(q.get("Properties", {}).get("FunctionName"), lid)]
        if kind == SCHEDULED:
            # No URL, and nothing public: Scheduler invokes through its own role, not a resource policy.
            if mine:
                errors.append(f"{lid}: a scheduled function must not have an AWS::Lambda::Url, found {len(mine)}")
            for q in fperms:
                if q.get("Principal") == "*" or "FunctionUrlAuthType" in q or "InvokedViaFunctionUrl" in q:
                    errors.append(f"{lid}: a scheduled function must not be publicly invocable: {q!r}")
            continue
        if len(mine) != 1:
            errors.append(f"{lid}: expected exactly one AWS::Lambda::Url, found {len(mine)}")
            continue
        up = mine[0]["Properties"]
        if up.get("AuthType") != "NONE":
            errors.append(f"{lid}: function URL AuthType must be NONE, got {up.get('AuthType')!r}")
        cors = up.get("Cors")
        if kind == WEBHOOK and cors:
            errors.append(f"{lid}: webhook URL must not configure CORS, got {cors!r}")
        if kind == BROWSER:
            if not cors:
                errors.append(f"{lid}: function URL must configure Cors")
            else:
                if cors.get("AllowOrigins") != ref("CorsAllowedOrigins"):
                    errors.append(f"{lid}: Cors.AllowOrigins must be !Ref CorsAllowedOrigins")
                if cors.get("AllowMethods") != CORS_METHODS[lid]:
                    errors.append(f"{lid}: Cors.AllowMethods must be {CORS_METHODS[lid]}, "
                                  f"got {cors.get('AllowMethods')!r}")
                if sorted(h.lower() for h in cors.get("AllowHeaders", [])) != ["authorization", "content-type"]:
                    errors.append(f"{lid}: Cors.AllowHeaders must be [authorization, content-type]")
                if cors.get("AllowCredentials") is not True:
                    errors.append(f"{lid}: Cors.AllowCredentials must be true")
                if contains_star(cors.get("AllowOrigins")):
                    errors.append(f"{lid}: Cors.AllowOrigins must not contain '*' (credentials are allowed)")

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
    for lid in FUNCTIONS:
        want_resources = sorted(json.dumps(ref(p)) for p in SECRET_PARAMS[lid])
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
            errors.append(f"{role_id}: no inline policy (expected secretsmanager:GetSecretValue on its secrets)")
        for s in statements:
            actions = as_list(s.get("Action"))
            res = as_list(s.get("Resource"))
            if s.get("Effect") != "Allow" or actions != ["secretsmanager:GetSecretValue"]:
                errors.append(f"{role_id}: statement allows more than secretsmanager:GetSecretValue: {s!r}")
            if contains_star(res) or contains_star(actions) or "NotResource" in s or "NotAction" in s:
                errors.append(f"{role_id}: statement uses a wildcard or Not*: {s!r}")
            if sorted(json.dumps(r) for r in res) != want_resources:
                want = ", ".join(f"!Ref {p}" for p in SECRET_PARAMS[lid])
                errors.append(f"{role_id}: Resource must be exactly [{want}], got {res!r}")
    return errors


def check_schedules(out: dict[str, Any]) -> list[str]:
    """Scheduled functions: one EventBridge Scheduler schedule each, with the fixed Input, the
    parameterised expression and on/off switch, no retries, and an execution role that may only
    invoke that function."""
    errors: list[str] = []
    resources = out.get("Resources", {})
    conditions = out.get("Conditions", {})
    schedules = of_type(resources, "AWS::Scheduler::Schedule")
    rules = of_type(resources, "AWS::Events::Rule")
    for lid, (expr_param, enabled_param, payload) in SCHEDULES.items():
        for rid, r in rules.items():
            if any(points_at(t.get("Arn"), lid) for t in r.get("Properties", {}).get("Targets", [])):
                errors.append(f"{lid}: EventBridge rule {rid} targets it (use the Scheduler schedule only)")
        mine = {sid: sc["Properties"] for sid, sc in schedules.items()
                if points_at(sc.get("Properties", {}).get("Target", {}).get("Arn"), lid)}
        if len(mine) != 1:
            errors.append(f"{lid}: expected exactly one AWS::Scheduler::Schedule targeting it, found {len(mine)}")
            continue
        (sid, sp), = mine.items()
        target = sp.get("Target", {})
        if sp.get("ScheduleExpression") != ref(expr_param):
            errors.append(f"{sid}: ScheduleExpression must be !Ref {expr_param}, got {sp.get('ScheduleExpression')!r}")
        raw = target.get("Input")
        try:
            parsed = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            parsed = None
        if parsed != payload:
            errors.append(f"{sid}: Target.Input must be the JSON string {json.dumps(payload)!r} "
                          f"(the function refuses any other shape), got {raw!r}")
        state = sp.get("State")
        cond = state.get("Fn::If", [None])[0] if isinstance(state, dict) else None
        want_cond = [ref(enabled_param), "true"]
        cond_eq = (conditions.get(cond) or {}).get("Fn::Equals") if isinstance(cond, str) else None
        if not (isinstance(state, dict) and state.get("Fn::If", [None])[1:] == ["ENABLED", "DISABLED"]
                and cond_eq in (want_cond, want_cond[::-1])):
            errors.append(f"{sid}: State must be !If [<{enabled_param} == \"true\">, ENABLED, DISABLED], got {state!r}")
        if "Name" in sp:
            # A fixed name collides when a second stack is deployed to the same account and region.
            errors.append(f"{sid}: must not set Name (OmitName: true), got {sp['Name']!r}")
        if (target.get("RetryPolicy") or {}).get("MaximumRetryAttempts") != 0:
            errors.append(f"{sid}: Target.RetryPolicy.MaximumRetryAttempts must be 0 "
                          f"(the next scheduled run repairs anyway), got {target.get('RetryPolicy')!r}")
        # Scheduler invokes Lambda asynchronously: Lambda's own retries (2 by default) apply too.
        eics = [e["Properties"] for e in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
                if points_at(e.get("Properties", {}).get("FunctionName"), lid)]
        if len(eics) != 1 or eics[0].get("MaximumRetryAttempts") != 0:
            errors.append(f"{lid}: needs EventInvokeConfig with MaximumRetryAttempts 0 "
                          f"(Lambda retries async invocations twice by default), got {eics!r}")
        # The schedule's execution role: assumed by Scheduler only, may invoke this function only.
        role_arn = target.get("RoleArn")
        role_id = role_arn["Fn::GetAtt"][0] if isinstance(role_arn, dict) and "Fn::GetAtt" in role_arn else None
        role = resources.get(role_id or "", {})
        if role.get("Type") != "AWS::IAM::Role":
            errors.append(f"{sid}: Target.RoleArn must be a role of this stack, got {role_arn!r}")
            continue
        rp = role.get("Properties", {})
        principals = [p for st in as_list(rp.get("AssumeRolePolicyDocument", {}).get("Statement", []))
                      for p in as_list(st.get("Principal", {}).get("Service", []))]
        if principals != ["scheduler.amazonaws.com"]:
            errors.append(f"{role_id}: must be assumable by scheduler.amazonaws.com only, got {principals!r}")
        if rp.get("ManagedPolicyArns"):
            errors.append(f"{role_id}: unexpected managed policies {rp['ManagedPolicyArns']!r}")
        statements = [st for pol in rp.get("Policies", [])
                      for st in as_list(pol.get("PolicyDocument", {}).get("Statement", []))]
        if not statements:
            errors.append(f"{role_id}: no inline policy (expected lambda:InvokeFunction on {lid})")
        for st in statements:
            if st.get("Effect") != "Allow" or as_list(st.get("Action")) != ["lambda:InvokeFunction"] \
                    or not all(points_at(r, lid) for r in as_list(st.get("Resource"))) or contains_star(st):
                errors.append(f"{role_id}: statement must allow only lambda:InvokeFunction on {lid}: {st!r}")
    return errors


def check_outputs(out: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    resources = out.get("Resources", {})
    outputs = out.get("Outputs", {})
    for lid, (_binary, _timeout, kind) in FUNCTIONS.items():
        wanted = [(lid, "Arn", "AWS::Lambda::Function")]
        if kind != SCHEDULED:
            wanted.append((f"{lid}Url", "FunctionUrl", "AWS::Lambda::Url"))
        for attr_res, attr, type_ in wanted:
            want = {"Fn::GetAtt": [attr_res, attr]}
            if not any(o.get("Value") == want for o in outputs.values()):
                errors.append(f"Outputs: nothing outputs !GetAtt {attr_res}.{attr}")
            if resources.get(attr_res, {}).get("Type") != type_:
                errors.append(f"Outputs: {attr_res} is not an {type_} in the transformed template")
        if kind == SCHEDULED and not any(o.get("Value") == ref(lid) for o in outputs.values()):
            # Operators invoke it by hand (sam remote invoke / aws lambda invoke --function-name).
            errors.append(f"Outputs: nothing outputs the function name of {lid} (!Ref {lid})")
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
    for check in (check_functions, check_urls_and_permissions, check_iam, check_schedules, check_outputs):
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
        # token-exchange
        ("OPTIONS on token-exchange",
         lambda t: props(t, "TokenExchangeFunction")["FunctionUrlConfig"]["Cors"]["AllowMethods"].append("OPTIONS")),
        ("token-exchange reads Sanity",
         lambda t: stmt(t, "TokenExchangeFunction")["Resource"].append(ref("SanitySecretArn"))),
        ("token-exchange without InsForge",
         lambda t: stmt(t, "TokenExchangeFunction").update(Resource=[ref("StytchSecretArn")])),
        ("token-exchange URL as intrinsic",
         lambda t: props(t, "TokenExchangeFunction")["FunctionUrlConfig"].update(AuthType={"Fn::Sub": "NONE"})),
        ("token-exchange without URL", lambda t: props(t, "TokenExchangeFunction").pop("FunctionUrlConfig")),
        ("no INSFORGE_SECRET_ARN",
         lambda t: props(t, "TokenExchangeFunction")["Environment"]["Variables"].pop("INSFORGE_SECRET_ARN")),
        # reconcile
        ("URL on reconcile", lambda t: props(t, "ReconcileFunction").update(FunctionUrlConfig={"AuthType": "NONE"})),
        ("reconcile reads InsForge",
         lambda t: stmt(t, "ReconcileFunction")["Resource"].append(ref("InsForgeSecretArn"))),
        ("reconcile without Input",
         lambda t: props(t, "ReconcileFunction")["Events"]["ReconcileSchedule"]["Properties"].pop("Input")),
        ("reconcile Input with an unknown field",
         lambda t: props(t, "ReconcileFunction")["Events"]["ReconcileSchedule"]["Properties"].update(
             Input='{"dryRun": false, "source": "schedule"}')),
        ("reconcile dry run on schedule",
         lambda t: props(t, "ReconcileFunction")["Events"]["ReconcileSchedule"]["Properties"].update(
             Input='{"dryRun": true}')),
        ("literal schedule expression",
         lambda t: props(t, "ReconcileFunction")["Events"]["ReconcileSchedule"]["Properties"].update(
             ScheduleExpression="rate(15 minutes)")),
        ("schedule always ENABLED",
         lambda t: props(t, "ReconcileFunction")["Events"]["ReconcileSchedule"]["Properties"].update(State="ENABLED")),
        ("named schedule",
         lambda t: props(t, "ReconcileFunction")["Events"]["ReconcileSchedule"]["Properties"].pop("OmitName")),
        ("schedule retries",
         lambda t: props(t, "ReconcileFunction")["Events"]["ReconcileSchedule"]["Properties"]["RetryPolicy"].update(
             MaximumRetryAttempts=2)),
        ("Lambda async retries", lambda t: props(t, "ReconcileFunction").pop("EventInvokeConfig")),
        ("EventBridge rule without Input",
         lambda t: props(t, "ReconcileFunction")["Events"].update(
             Legacy={"Type": "Schedule", "Properties": {"Schedule": {"Ref": "ReconcileSchedule"}}})),
        ("reconcile timeout", lambda t: props(t, "ReconcileFunction").update(Timeout=900)),
        ("no reconcile name output", lambda t: t["Outputs"].pop("ReconcileFunctionName")),
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
    if "--print-transformed" in argv:
        # cfn-lint 1.x lints AWS::Serverless::* resources unexpanded, so values that only exist after
        # the transform (schedule RetryPolicy, EventInvokeConfig, URL permissions) are never checked
        # against the CloudFormation schemas unless the transformed template is linted too.
        try:
            out = sam_transform(src)
        except Exception as e:  # noqa: BLE001 - one line, like run_checks
            print(f"check_template: SAM transform failed: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        print(json.dumps(out, indent=1))
        return 0
    errors = run_checks(src)
    if errors:
        for e in errors:
            print(f"check_template: FAIL {e}")
        print(f"check_template: {len(errors)} problem(s) in {path}")
        return 1
    import samtranslator

    print(f"check_template: OK ({len(FUNCTIONS)} functions; aws-sam-translator {samtranslator.__version__}: "
          "URL AuthType NONE, InvokeFunctionUrl + InvokeFunction permissions, secrets-only IAM, CORS, build metadata, "
          "reconcile schedule)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
