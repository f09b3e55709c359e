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
import re
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
# ---- identity provider (IdentityProvider -> IDP): every function reads exactly one IdP secret ---
# IdentityProvider value -> (its secret parameter, the environment variable naming it, condition).
# Only the chosen provider's variable is set, and only its secret may be read: the checks below
# resolve every Fn::If under each provider and compare the result, so the form is free but the
# outcome is not.
IDP_PROVIDERS: dict[str, tuple[str, str, str]] = {
    "stytch": ("StytchSecretArn", "STYTCH_SECRET_ARN", "UseStytch"),
    "descope": ("DescopeSecretArn", "DESCOPE_SECRET_ARN", "UseDescope"),
}
IDP_DEFAULT = "stytch"
IDP_SECRET = "<IdP secret>"  # placeholder in SECRET_PARAMS for the chosen provider's secret parameter
IDP_ENV = tuple(env for _param, env, _cond in IDP_PROVIDERS.values())
SYNC_SECRETS = (IDP_SECRET, "SanitySecretArn")
# logical id -> the secret parameters its role may read: exactly these, nothing else.
SECRET_PARAMS: dict[str, tuple[str, ...]] = {
    "PublishSyncFunction": SYNC_SECRETS,
    "DeleteCleanupFunction": SYNC_SECRETS,
    "GatedContentFunction": SYNC_SECRETS,
    # token-exchange signs InsForge tokens; it has no business with Sanity's read token.
    "TokenExchangeFunction": (IDP_SECRET, "InsForgeSecretArn"),
    "ReconcileFunction": SYNC_SECRETS,
}
# Every function has these plus the chosen provider's IDP_ENV variable (and FUNCTION_ENV below).
COMMON_ENV = ("SANITY_SECRET_ARN", "IDP", "RUST_LOG", "SECRETS_MAX_AGE_S", "METRICS_NAMESPACE")
# The CloudWatch namespace of the functions' EMF lines (METRICS_NAMESPACE, shared/src/log.rs) and
# of every alarm and dashboard graph on them: one per stack, so two gatehouse stacks in one account
# and region never add up in one metric (each stack's alarms see its own traffic only).
EMF_NAMESPACE: dict[str, str] = {"Fn::Sub": "gatehouse/${AWS::StackName}"}
# Set locally only (a Descope emulator), never by the template.
LOCAL_ONLY_ENV = ("DESCOPE_BASE_URL", "STYTCH_BASE_URL", "SANITY_API_HOST", "LOCAL_CA_FILE")
# Secret ARN parameters: the IdP ones may be empty (Rules require the chosen one), the rest may not.
SECRET_ARN_REQUIRED = ("SanitySecretArn", "InsForgeSecretArn")
SECRET_ARN_OK = ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse/descope-AbCdEf",
                 "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:gh_stytch.prod-Z9y8X7")
SECRET_ARN_BAD = ("gatehouse/descope", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse/descope",
                  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:*",
                  "arn:aws:ssm:eu-west-1:123456789012:parameter/gatehouse/descope-AbCdEf",
                  " arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse/descope-AbCdEf")
# gated-content's CONTENT_TYPES comes from the ContentTypes parameter, whose default must be the
# function's own default (shared/src/config.rs).
CONTENT_TYPES_DEFAULT = "article,doc,report,gatedPage"
CONFIG_RS = ROOT / "shared/src/config.rs"
CORS_ENV = {"CORS_ALLOWED_ORIGINS": {"Fn::Join": [",", {"Ref": "CorsAllowedOrigins"}]}, "CORS_MODE": "url"}

# ---- Cerbos (Authorizer cerbos): the official extension layer plus this stack's policies layer --
# The Cerbos extension (cerbosext) always listens on these sockets; gated-content's CERBOS_URL must
# be the HTTP one, and cerbos/lambda-layer/cerbos.yaml must say the same.
CERBOS_HTTP_SOCKET = "unix:/tmp/cerbos.http.sock"
CERBOS_GRPC_SOCKET = "unix:/tmp/cerbos.grpc.sock"
CERBOS_FUNCTION = "GatedContentFunction"
CERBOS_CONDITION = "UseCerbos"
CERBOS_LAYER = "CerbosPoliciesLayer"  # source logical id (SAM appends a hash when transforming)
CERBOS_LAYER_CONTENT_URI = "cerbos/lambda-layer/"
# A layer's files appear under /opt; cerbos/lambda-layer/Makefile builds cerbos/{.cerbos.yaml,policies}.
CERBOS_CONFIG_PATH = "/opt/cerbos/.cerbos.yaml"
CERBOS_POLICY_DIR = "/opt/cerbos/policies"
CERBOS_ENV = {
    "AUTHZ": {"Ref": "Authorizer"},
    "CERBOS_URL": CERBOS_HTTP_SOCKET,
    "CERBOS_CONFIG": CERBOS_CONFIG_PATH,
    "XDG_CACHE_HOME": "/tmp",  # the extension's cache; /tmp is the only writable directory
    "CERBOS_LOG_LEVEL": "warn",
}
# CerbosExtensionLayerArn's AllowedPattern: what it must accept and reject.
LAYER_ARN_OK = ("", "arn:aws:lambda:eu-west-1:123456789012:layer:cerbos-lambda-extension-layer:7",
                "arn:aws-cn:lambda:cn-north-1:123456789012:layer:cerbosext:1")
LAYER_ARN_BAD = ("cerbos", "arn:aws:lambda:eu-west-1:123456789012:layer:cerbos-lambda-extension-layer",
                 "arn:aws:lambda:eu-west-1:123456789012:function:gated-content",
                 "arn:aws:serverlessrepo:us-east-1:123456789012:applications/cerbos-lambda-extension-arm64",
                 " arn:aws:lambda:eu-west-1:123456789012:layer:cerbosext:1")

# logical id -> environment variables (beyond COMMON_ENV) and the exact value each must have. A
# function has exactly COMMON_ENV plus these: anything else (a CERBOS_* on a sync function) fails.
FUNCTION_ENV: dict[str, dict[str, Any]] = {
    "GatedContentFunction": {"ACCESS_CACHE_TTL_S": {"Ref": "AccessCacheTtlSeconds"},
                             "CONTENT_TYPES": {"Fn::Join": [",", {"Ref": "ContentTypes"}]}, **CORS_ENV, **CERBOS_ENV,
                             "PLATFORM_ORGANIZATION_IDS": {"Ref": "PlatformOrganizationIds"},
                             "PLATFORM_TENANT_IDS": {"Ref": "PlatformTenantIds"}},
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
    "DescopeSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse/descope-StUvWx",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    # No AWS::StackName: the translator substitutes given values into a LayerVersion's LayerName
    # (to hash the logical id), which would leave `!Sub "gatehouse-cerbos-policies"` behind, a
    # Fn::Sub without variables that cfn-lint reports (W1020) on the transformed copy.
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
        if res.get("Type") == "AWS::Serverless::LayerVersion" and isinstance(props.get("ContentUri"), str) \
                and not props["ContentUri"].startswith("s3://"):
            props["ContentUri"] = f"s3://gatehouse-check/{lid}.zip"
    # The alarms and the dashboard are plain CloudFormation, which the translator copies through
    # unchanged (they Ref functions by their unchanged logical ids): set aside, they spare every
    # self-test run the translator's schema validation of 22 more resources.
    # A self-test mutation of an alarm leaves the rest as it was: its transform is reused.
    plain = {lid: template["Resources"].pop(lid) for lid in list(template.get("Resources", {}))
             if str(template["Resources"][lid].get("Type", "")).startswith("AWS::CloudWatch::")}
    key = json.dumps(template, sort_keys=True, default=str)
    if key not in _TRANSFORMED:
        _TRANSFORMED[key] = transform(
            template,
            dict(PARAMETER_VALUES),
            StubManagedPolicyLoader(),
            passthrough_metadata=True,
        )
    # Shared between calls: the checks only read the transformed template.
    cached = _TRANSFORMED[key]
    return {**cached, "Resources": {**cached.get("Resources", {}), **plain}}


_TRANSFORMED: dict[str, dict[str, Any]] = {}


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
        # The function's own package directory: there `cargo lambda build --bin <binary>` (what
        # sam build runs) resolves features for that package alone. From the workspace root it
        # would unify them with the emulators and tests and link aws-lc in (docs/deploy.md).
        if props.get("CodeUri") != f"functions/{binary}":
            errors.append(f"{lid}: CodeUri must be 'functions/{binary}', got {props.get('CodeUri')!r}")
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
        want_memory: Any = ref("MemorySize")
        if lid == CERBOS_FUNCTION:
            # The PDP shares the sandbox and is CPU-bound; Lambda's CPU scales with memory.
            want_memory = {"Fn::If": [CERBOS_CONDITION, ref("CerbosMemorySize"), ref("MemorySize")]}
        if p.get("MemorySize") != want_memory:
            errors.append(f"{lid}: MemorySize must be {want_memory!r}, got {p.get('MemorySize')!r}")
        if lid != CERBOS_FUNCTION and "Layers" in p:
            errors.append(f"{lid}: must not have Layers (only {CERBOS_FUNCTION} runs the PDP), got {p['Layers']!r}")
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
        # (Which IdP variable is set, and to what, is check_idp's job.)
        for key, want_value in FUNCTION_ENV.get(lid, {}).items():
            if key not in env:
                errors.append(f"{lid}: environment variable {key} missing")
            elif env[key] != want_value:
                errors.append(f"{lid}: {key} must be {want_value!r}, got {env[key]!r}")
        for key in LOCAL_ONLY_ENV:
            if key in env:
                errors.append(f"{lid}: {key} is a local-only override and must not be set by the template")
        extra = sorted(set(env) - set(COMMON_ENV) - set(IDP_ENV) - set(FUNCTION_ENV.get(lid, {})))
        if extra:
            errors.append(f"{lid}: unexpected environment variables {extra} (add them to FUNCTION_ENV if intended)")
        for key, param in (("SANITY_SECRET_ARN", "SanitySecretArn"), ("IDP", "IdentityProvider")):
            if key in env and env[key] != ref(param):
                errors.append(f"{lid}: {key} must be !Ref {param}, got {env[key]!r}")
        if "METRICS_NAMESPACE" in env and env["METRICS_NAMESPACE"] != EMF_NAMESPACE:
            errors.append(f"{lid}: METRICS_NAMESPACE must be !Sub {EMF_NAMESPACE['Fn::Sub']!r} (the namespace the "
                          f"alarms and the dashboard read), got {env['METRICS_NAMESPACE']!r}")
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
    try:
        scenarios = [(label, idp, condition_truth(out, values))
                     for label, idp, values, deployable in idp_scenarios(out) if deployable]
    except Unresolvable as e:
        return [f"IAM: cannot evaluate the conditions: {e}"]
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
            errors.append(f"{role_id}: no inline policy (expected secretsmanager:GetSecretValue on its secrets)")
        for s in statements:
            actions = as_list(s.get("Action"))
            res = as_list(s.get("Resource"))
            if s.get("Effect") != "Allow" or actions != ["secretsmanager:GetSecretValue"]:
                errors.append(f"{role_id}: statement allows more than secretsmanager:GetSecretValue: {s!r}")
            if contains_star(res) or contains_star(actions) or "NotResource" in s or "NotAction" in s:
                errors.append(f"{role_id}: statement uses a wildcard or Not*: {s!r}")
            # The chosen provider's secret only, under each provider (Fn::If resolved).
            for label, idp, truth in scenarios:
                params = [IDP_PROVIDERS[idp][0] if p == IDP_SECRET else p for p in SECRET_PARAMS[lid]]
                try:
                    got = as_list(resolve_ifs(s.get("Resource"), truth))
                except Unresolvable as e:
                    errors.append(f"{role_id}: Resource cannot be resolved ({label}): {e}")
                    continue
                if sorted(json.dumps(r) for r in got) != sorted(json.dumps(ref(p)) for p in params):
                    want = ", ".join(f"!Ref {p}" for p in params)
                    errors.append(f"{role_id}: with {label}, Resource must be exactly [{want}], got {got!r} "
                                  f"(from {res!r})")
    return errors


# ---- conditions, Fn::If and Rules under given parameter values ---------------------------------
class Unresolvable(Exception):
    pass


_NO_VALUE = object()


def _scalar(value: Any, values: dict[str, str]) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in values:
        return values[value["Ref"]]
    raise Unresolvable(f"not a literal or a parameter Ref: {value!r}")


def eval_condition(expr: Any, values: dict[str, str], conditions: dict[str, Any],
                   seen: tuple[str, ...] = ()) -> bool:
    """A condition (or a rule's RuleCondition/Assert) with Fn::Equals/Not/And/Or/Condition."""
    if isinstance(expr, dict) and len(expr) == 1:
        (fn, arg), = expr.items()
        if fn == "Condition" and isinstance(arg, str):
            if arg in seen or arg not in conditions:
                raise Unresolvable(f"condition {arg!r} unknown or circular")
            return eval_condition(conditions[arg], values, conditions, seen + (arg,))
        if fn == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
            return _scalar(arg[0], values) == _scalar(arg[1], values)
        if fn == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
            return not eval_condition(arg[0], values, conditions, seen)
        if fn in ("Fn::And", "Fn::Or") and isinstance(arg, list) and arg:
            results = [eval_condition(a, values, conditions, seen) for a in arg]
            return all(results) if fn == "Fn::And" else any(results)
    raise Unresolvable(f"cannot evaluate {expr!r}")


def condition_truth(t: dict[str, Any], values: dict[str, str]) -> dict[str, bool]:
    conditions = t.get("Conditions") or {}
    return {name: eval_condition({"Condition": name}, values, conditions) for name in conditions}


def resolve_ifs(value: Any, truth: dict[str, bool]) -> Any:
    """value with every Fn::If replaced by its branch and AWS::NoValue removed (as CloudFormation
    does; a top-level NoValue comes back as None). Refs stay symbolic."""
    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            if v == ref("AWS::NoValue"):
                return _NO_VALUE
            if set(v) == {"Fn::If"}:
                arg = v["Fn::If"]
                if not (isinstance(arg, list) and len(arg) == 3 and arg[0] in truth):
                    raise Unresolvable(f"Fn::If with an unknown condition: {v!r}")
                return walk(arg[1] if truth[arg[0]] else arg[2])
            return {k: r for k, r in ((k, walk(x)) for k, x in v.items()) if r is not _NO_VALUE}
        if isinstance(v, list):
            return [r for r in (walk(x) for x in v) if r is not _NO_VALUE]
        return v

    r = walk(value)
    return None if r is _NO_VALUE else r


def idp_scenarios(t: dict[str, Any]) -> list[tuple[str, str, dict[str, str], bool]]:
    """(label, provider, parameter values, deployable): each provider with only its own secret, with
    both secrets given, and with only the OTHER provider's secret (which the Rules must refuse)."""
    params = t.get("Parameters") or {}
    base = {name: (PARAMETER_VALUES.get(name, "") if "Default" not in p else
                   (",".join(map(str, p["Default"])) if isinstance(p["Default"], list) else str(p["Default"])))
            for name, p in params.items()}
    out = []
    for idp, (param, _env, _cond) in IDP_PROVIDERS.items():
        others = [p for other, (p, _e, _c) in IDP_PROVIDERS.items() if other != idp]
        for given, label, deployable in (
            ((param,), f"IdentityProvider={idp} and only {param}", True),
            ((param, *others), f"IdentityProvider={idp} and every IdP secret given", True),
            (tuple(others), f"IdentityProvider={idp} without {param}", False),
        ):
            values = dict(base, IdentityProvider=idp)
            for _idp, (p, _e, _c) in IDP_PROVIDERS.items():
                values[p] = PARAMETER_VALUES[p] if p in given else ""
            out.append((label, idp, values, deployable))
    return out


def failed_rules(t: dict[str, Any], values: dict[str, str]) -> list[str]:
    failed = []
    for name, rule in (t.get("Rules") or {}).items():
        if "RuleCondition" in rule and not eval_condition(rule["RuleCondition"], values, {}):
            continue
        for a in rule.get("Assertions") or []:
            if not eval_condition(a.get("Assert"), values, {}):
                failed.append(name)
    return failed


def check_idp_source(src: dict[str, Any]) -> list[str]:
    """IdentityProvider and the secret ARN parameters; every rule explains itself; ContentTypes."""
    errors: list[str] = []
    params = src.get("Parameters", {})
    idp = params.get("IdentityProvider") or {}
    if idp.get("Type") != "String" or sorted(idp.get("AllowedValues") or []) != sorted(IDP_PROVIDERS) \
            or idp.get("Default") != IDP_DEFAULT:
        errors.append(f"Parameters.IdentityProvider: must be a String, AllowedValues {sorted(IDP_PROVIDERS)}, "
                      f"Default {IDP_DEFAULT}, got {({k: v for k, v in idp.items() if k != 'Description'})!r}")
    optional = [p for p, _e, _c in IDP_PROVIDERS.values()]
    for name in optional + list(SECRET_ARN_REQUIRED):
        p = params.get(name) or {}
        if p.get("Type") != "String":
            errors.append(f"Parameters.{name}: missing or not a String")
            continue
        if name in optional and p.get("Default") != "":
            errors.append(f"Parameters.{name}: must default to \"\" (only the chosen provider's secret is "
                          f"required, by a Rule), got {p.get('Default')!r}")
        try:
            rx = re.compile(p.get("AllowedPattern") or "")
        except re.error as e:
            errors.append(f"Parameters.{name}: AllowedPattern does not compile: {e}")
            continue
        if not p.get("AllowedPattern"):
            errors.append(f"Parameters.{name}: needs an AllowedPattern (a full Secrets Manager ARN)")
            continue
        for v in SECRET_ARN_OK:
            if not rx.fullmatch(v):
                errors.append(f"Parameters.{name}: AllowedPattern rejects {v!r}")
        for v in SECRET_ARN_BAD:
            if rx.fullmatch(v):
                errors.append(f"Parameters.{name}: AllowedPattern accepts {v!r}")
        if (name in optional) != bool(rx.fullmatch("")):
            errors.append(f"Parameters.{name}: AllowedPattern must {'accept' if name in optional else 'reject'} \"\"")
    for name, rule in (src.get("Rules") or {}).items():
        for a in rule.get("Assertions") or []:
            if not str(a.get("AssertDescription", "")).strip():
                errors.append(f"Rules.{name}: every assertion needs an AssertDescription (what to set)")

    ct = params.get("ContentTypes") or {}
    if ct.get("Type") != "CommaDelimitedList" or ct.get("Default") != CONTENT_TYPES_DEFAULT:
        errors.append(f"Parameters.ContentTypes: must be a CommaDelimitedList with Default {CONTENT_TYPES_DEFAULT!r}, "
                      f"got {({k: v for k, v in ct.items() if k != 'Description'})!r}")
    try:
        m = re.search(r'list\(\s*"CONTENT_TYPES"\s*,\s*&\[([^\]]*)\]', CONFIG_RS.read_text(encoding="utf-8"))
    except OSError:
        m = None
    if not m:
        errors.append(f"{CONFIG_RS.relative_to(ROOT)}: no list(\"CONTENT_TYPES\", &[...]) default found "
                      "(update CONTENT_TYPES_DEFAULT in this checker)")
    elif ",".join(re.findall(r'"([^"]*)"', m.group(1))) != CONTENT_TYPES_DEFAULT:
        errors.append(f"{CONFIG_RS.relative_to(ROOT)}: CONTENT_TYPES default {m.group(1)!r} differs from "
                      f"ContentTypes' {CONTENT_TYPES_DEFAULT!r}")
    return errors


def check_idp(out: dict[str, Any]) -> list[str]:
    """Transformed: under each provider the conditions pick it alone, every function gets its
    variable only (never the other's), and the Rules refuse a provider without its secret."""
    errors: list[str] = []
    resources = out.get("Resources", {})
    conditions = out.get("Conditions") or {}
    for idp, (_param, _env, cond) in IDP_PROVIDERS.items():
        if cond not in conditions:
            errors.append(f"Conditions.{cond}: missing (true exactly when IdentityProvider is {idp})")
    for label, idp, values, deployable in idp_scenarios(out):
        try:
            refused = failed_rules(out, values)
        except Unresolvable as e:
            errors.append(f"Rules: cannot evaluate ({label}): {e}")
            continue
        if not deployable:
            if not refused:
                errors.append(f"Rules: must refuse {label} (the functions would start without their secret)")
            continue
        if refused:
            errors.append(f"Rules: refuse {label}, which is a valid configuration: {refused}")
        try:
            truth = condition_truth(out, values)
        except Unresolvable as e:
            errors.append(f"Conditions: cannot evaluate ({label}): {e}")
            continue
        for other, (_p, _e, other_cond) in IDP_PROVIDERS.items():
            if other_cond in truth and truth[other_cond] != (other == idp):
                errors.append(f"Conditions.{other_cond}: must be {other == idp} with {label}")
        param, env_key, _cond = IDP_PROVIDERS[idp]
        for lid in FUNCTIONS:
            env = resources.get(lid, {}).get("Properties", {}).get("Environment", {}).get("Variables", {})
            try:
                got = resolve_ifs(env, truth) or {}
            except Unresolvable as e:
                errors.append(f"{lid}: environment cannot be resolved ({label}): {e}")
                continue
            if got.get(env_key) != ref(param):
                errors.append(f"{lid}: with {label}, {env_key} must be !Ref {param}, got {got.get(env_key)!r}")
            for key in IDP_ENV:
                if key != env_key and key in got:
                    errors.append(f"{lid}: with {label}, {key} must not be set (only the chosen provider's "
                                  f"secret), got {got[key]!r}")
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


def _is_use_cerbos_equality(value: Any) -> bool:
    eq = value.get("Fn::Equals") if isinstance(value, dict) else None
    return eq in ([ref("Authorizer"), "cerbos"], ["cerbos", ref("Authorizer")])


def check_cerbos_source(src: dict[str, Any]) -> list[str]:
    """Parameters, condition, rule and the policies layer as sam build sees them, and the layer's
    files (Makefile, PDP config) agreeing with the function's environment."""
    errors: list[str] = []
    params = src.get("Parameters", {})

    authz = params.get("Authorizer") or {}
    if authz.get("Type") != "String" or sorted(authz.get("AllowedValues") or []) != ["builtin", "cerbos"] \
            or authz.get("Default") != "builtin":
        errors.append(f"Parameters.Authorizer: must be a String, AllowedValues [builtin, cerbos], "
                      f"Default builtin, got {({k: v for k, v in authz.items() if k != 'Description'})!r}")
    arn = params.get("CerbosExtensionLayerArn") or {}
    pattern = arn.get("AllowedPattern")
    if arn.get("Type") != "String" or arn.get("Default") != "":
        errors.append(f"Parameters.CerbosExtensionLayerArn: must be a String with Default \"\", "
                      f"got {({k: v for k, v in arn.items() if k != 'Description'})!r}")
    if not isinstance(pattern, str):
        errors.append("Parameters.CerbosExtensionLayerArn: needs an AllowedPattern (\"\" or a layer version ARN)")
    else:
        try:
            rx = re.compile(pattern)
        except re.error as e:
            errors.append(f"Parameters.CerbosExtensionLayerArn: AllowedPattern does not compile: {e}")
        else:
            # CloudFormation matches AllowedPattern against the whole value.
            for v in LAYER_ARN_OK:
                if not rx.fullmatch(v):
                    errors.append(f"Parameters.CerbosExtensionLayerArn: AllowedPattern rejects {v!r}")
            for v in LAYER_ARN_BAD:
                if rx.fullmatch(v):
                    errors.append(f"Parameters.CerbosExtensionLayerArn: AllowedPattern accepts {v!r}")
    mem = params.get("CerbosMemorySize") or {}
    if mem.get("Type") != "Number" or mem.get("Default") != 512 or mem.get("MinValue") != 128:
        errors.append(f"Parameters.CerbosMemorySize: must be a Number, Default 512, MinValue 128, "
                      f"got {({k: v for k, v in mem.items() if k != 'Description'})!r}")

    layer = src.get("Resources", {}).get(CERBOS_LAYER) or {}
    lprops = layer.get("Properties", {})
    if layer.get("Type") != "AWS::Serverless::LayerVersion":
        errors.append(f"{CERBOS_LAYER}: missing or not AWS::Serverless::LayerVersion")
    if (layer.get("Metadata") or {}).get("BuildMethod") != "makefile":
        errors.append(f"{CERBOS_LAYER}: Metadata.BuildMethod must be makefile (cerbos/lambda-layer/Makefile)")
    # (The translator substitutes AWS::StackName itself, so this is checked on the source.)
    want_name = {"Fn::Sub": "${AWS::StackName}-cerbos-policies"}
    if lprops.get("LayerName") != want_name:
        errors.append(f"{CERBOS_LAYER}: LayerName must be {want_name!r} (SAM would name it after the logical "
                      f"id, shared by every stack in the account), got {lprops.get('LayerName')!r}")
    if lprops.get("ContentUri") != CERBOS_LAYER_CONTENT_URI:
        errors.append(f"{CERBOS_LAYER}: ContentUri must be {CERBOS_LAYER_CONTENT_URI!r}, got {lprops.get('ContentUri')!r}")

    # The files sam build uses, and the PDP config the extension reads.
    layer_dir = ROOT / CERBOS_LAYER_CONTENT_URI
    makefile = layer_dir / "Makefile"
    if not makefile.is_file() or f"build-{CERBOS_LAYER}:" not in makefile.read_text(encoding="utf-8"):
        errors.append(f"{makefile.relative_to(ROOT)}: missing, or has no build-{CERBOS_LAYER} target")
    try:
        pdp = yaml.safe_load((layer_dir / "cerbos.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        errors.append(f"{CERBOS_LAYER_CONTENT_URI}cerbos.yaml: unreadable: {e}")
        pdp = {}
    server = pdp.get("server") or {}
    disk = (pdp.get("storage") or {}).get("disk") or {}
    fn_env = ((src.get("Resources", {}).get(CERBOS_FUNCTION) or {}).get("Properties", {})
              .get("Environment", {}).get("Variables", {}))
    for what, got, want in (
        ("server.httpListenAddr", server.get("httpListenAddr"), CERBOS_HTTP_SOCKET),
        ("server.grpcListenAddr", server.get("grpcListenAddr"), CERBOS_GRPC_SOCKET),
        ("storage.disk.directory", disk.get("directory"), CERBOS_POLICY_DIR),
        ("storage.disk.watchForChanges", disk.get("watchForChanges"), False),
        ("schema.enforcement", (pdp.get("schema") or {}).get("enforcement"), "reject"),
        ("telemetry.disabled", (pdp.get("telemetry") or {}).get("disabled"), True),
    ):
        if pdp and got != want:
            errors.append(f"{CERBOS_LAYER_CONTENT_URI}cerbos.yaml: {what} must be {want!r}, got {got!r}")
    if pdp and fn_env.get("CERBOS_URL") != server.get("httpListenAddr"):
        errors.append(f"{CERBOS_FUNCTION}: CERBOS_URL {fn_env.get('CERBOS_URL')!r} is not where the layer's "
                      f"PDP listens ({server.get('httpListenAddr')!r})")
    return errors


def check_cerbos(out: dict[str, Any]) -> list[str]:
    """Transformed: the condition, the rule, the layers only under UseCerbos, the policies layer."""
    errors: list[str] = []
    resources = out.get("Resources", {})
    # Authorizer == cerbos, optionally "and the layer ARN is not empty" (what the rule guarantees
    # anyway; it keeps cfn-lint from resolving the ARN to its empty default inside the Layers If).
    cond = out.get("Conditions", {}).get(CERBOS_CONDITION)
    terms = cond.get("Fn::And") if isinstance(cond, dict) and "Fn::And" in cond else [cond]
    arn_given = {"Fn::Not": [{"Fn::Equals": [ref("CerbosExtensionLayerArn"), ""]}]}
    if not (isinstance(terms, list) and terms and _is_use_cerbos_equality(terms[0])
            and all(t == arn_given for t in terms[1:])):
        errors.append(f"Conditions.{CERBOS_CONDITION}: must be !Equals [!Ref Authorizer, cerbos] (and optionally "
                      f"!Not [!Equals [!Ref CerbosExtensionLayerArn, \"\"]]), got {cond!r}")

    # Deploying cerbos without the extension would start a function whose PDP never answers.
    want_assert = {"Fn::Not": [{"Fn::Equals": [ref("CerbosExtensionLayerArn"), ""]}]}
    rule_ok = any(
        _is_use_cerbos_equality(rule.get("RuleCondition"))
        and any(a.get("Assert") in (want_assert, {"Fn::Not": [{"Fn::Equals": ["", ref("CerbosExtensionLayerArn")]}]})
                and str(a.get("AssertDescription", "")).strip()
                for a in rule.get("Assertions", []))
        for rule in (out.get("Rules") or {}).values()
    )
    if not rule_ok:
        errors.append("Rules: need a rule with RuleCondition !Equals [!Ref Authorizer, cerbos] asserting "
                      "!Not [!Equals [!Ref CerbosExtensionLayerArn, \"\"]] with an AssertDescription")

    layers = of_type(resources, "AWS::Lambda::LayerVersion")
    mine = {k: v for k, v in layers.items() if k.startswith(CERBOS_LAYER)}
    if len(layers) != 1 or len(mine) != 1:
        errors.append(f"expected exactly one AWS::Lambda::LayerVersion ({CERBOS_LAYER}), got {sorted(layers)}")
        return errors
    (layer_id, layer), = mine.items()
    lp = layer.get("Properties", {})
    if layer.get("Condition") != CERBOS_CONDITION:
        errors.append(f"{layer_id}: Condition must be {CERBOS_CONDITION}, got {layer.get('Condition')!r}")
    if layer.get("DeletionPolicy") != "Delete":
        errors.append(f"{layer_id}: DeletionPolicy must be Delete (RetentionPolicy: Delete), "
                      f"got {layer.get('DeletionPolicy')!r}")
    if lp.get("CompatibleArchitectures") != ["arm64"]:
        errors.append(f"{layer_id}: CompatibleArchitectures must be [arm64], got {lp.get('CompatibleArchitectures')!r}")
    if lp.get("CompatibleRuntimes") != ["provided.al2023"]:
        errors.append(f"{layer_id}: CompatibleRuntimes must be [provided.al2023], got {lp.get('CompatibleRuntimes')!r}")
    if (layer.get("Metadata") or {}).get("BuildMethod") != "makefile":
        errors.append(f"{layer_id}: Metadata.BuildMethod must be makefile, got {layer.get('Metadata')!r}")

    fp = resources.get(CERBOS_FUNCTION, {}).get("Properties", {})
    want_layers = {"Fn::If": [CERBOS_CONDITION, [ref("CerbosExtensionLayerArn"), ref(layer_id)],
                              ref("AWS::NoValue")]}
    if fp.get("Layers") != want_layers:
        errors.append(f"{CERBOS_FUNCTION}: Layers must be {want_layers!r} (the extension and the policies, "
                      f"only when {CERBOS_CONDITION}), got {fp.get('Layers')!r}")

    if not any(o.get("Value") == ref("Authorizer") for o in out.get("Outputs", {}).values()):
        errors.append("Outputs: nothing outputs !Ref Authorizer")
    if not any(o.get("Value") == ref("IdentityProvider") for o in out.get("Outputs", {}).values()):
        errors.append("Outputs: nothing outputs !Ref IdentityProvider")
    for name, o in out.get("Outputs", {}).items():
        if o.get("Value") == ref(layer_id) and o.get("Condition") != CERBOS_CONDITION:
            errors.append(f"Outputs.{name}: refers to {layer_id}, so needs Condition {CERBOS_CONDITION}")
    return errors


# ---- alarms and dashboard (docs/runbook.md) ----------------------------------------------------
# The functions' EMF lines (shared/src/log.rs): namespace EMF_NAMESPACE (gatehouse/<stack name>,
# from METRICS_NAMESPACE), dimensions [function, outcome]. scripts/check_alarm_metrics.py proves
# against the e2e suite's logs that these metrics and dimension values are really emitted (the
# local stack's functions get METRICS_NAMESPACE=gatehouse/local-<profile>); this table pins what
# each alarm watches and how.
LAMBDA_NAMESPACE = "AWS/Lambda"
GE, GT = "GreaterThanOrEqualToThreshold", "GreaterThanThreshold"
# Error codes (shared/src/error.rs Error::code) whose status is >= 500, per kind of function.
SYNC_5XX = ("cms_unavailable", "provider_unavailable")
GATE_5XX = ("cms_unavailable", "provider_unavailable", "authz_unavailable", "session_keys_unavailable")
TOKEN_5XX = ("session_keys_unavailable",)
SESSION_THRESHOLD = ref("SessionRejectionsAlarmThreshold")


def _series(metrics: tuple[str, ...], outcomes: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((m, o) for m in metrics for o in outcomes)


# logical id -> (namespace, function, [(metric, outcome)], period, threshold, comparison, covers,
# runbook anchor). function: the EMF `function` dimension value, or (AWS/Lambda) the function's
# logical id that the FunctionName dimension must Ref. covers: the AlarmCovers metadata (which
# lines of that function scripts/check_alarm_metrics.py requires the alarm's outcomes to cover).
ALARMS: dict[str, tuple[Any, str, tuple[tuple[str, Any], ...], int, Any, str, str | None, str]] = {
    "PublishSync5xxAlarm": (EMF_NAMESPACE, "publish-sync", _series(("requests",), SYNC_5XX), 300, 3, GE, "5xx", "sync-5xx"),
    "DeleteCleanup5xxAlarm": (EMF_NAMESPACE, "delete-cleanup", _series(("requests",), SYNC_5XX), 300, 3, GE, "5xx", "sync-5xx"),
    "PublishSync401Alarm": (EMF_NAMESPACE, "publish-sync", (("requests", "invalid_signature"),), 300, 3, GE, "401", "sync-401"),
    "DeleteCleanup401Alarm": (EMF_NAMESPACE, "delete-cleanup", (("requests", "invalid_signature"),), 300, 3, GE, "401", "sync-401"),
    "GatedContent5xxAlarm": (EMF_NAMESPACE, "gated-content", _series(("requests",), GATE_5XX), 300, 5, GE, "5xx", "gated-content-5xx"),
    "GatedContent401Alarm": (EMF_NAMESPACE, "gated-content", (("requests", "invalid_token"),), 300, SESSION_THRESHOLD, GE, "401",
                             "session-401"),
    "TokenExchange5xxAlarm": (EMF_NAMESPACE, "token-exchange", _series(("requests",), TOKEN_5XX), 300, 5, GE, "5xx",
                              "token-exchange-5xx"),
    "TokenExchange401Alarm": (EMF_NAMESPACE, "token-exchange", (("requests", "invalid_token"),), 300, SESSION_THRESHOLD, GE, "401",
                              "session-401"),
    # Webhooks are being lost: a real run (not a dry run) had to change or clear something.
    "ReconcileDriftAlarm": (EMF_NAMESPACE, "reconcile", _series(("changed", "cleared"), ("complete", "partial")), 900, 0, GT, None,
                            "reconcile-drift"),
    "ReconcileErrorsAlarm": (EMF_NAMESPACE, "reconcile", _series(("errors",), ("complete", "partial", "dry_run")), 900, 0, GT, None,
                             "reconcile-errors"),
    # The whole run failed (shared/src/app/reconcile_app.rs ReconcileApp::handle: metric `failed`,
    # outcome = the error's code). Only two errors end a run: a refused input (bad_request) and the
    # rules unreadable (shared/src/reconcile.rs Reconciler::desired: cms_unavailable, rules out of
    # order included); a rule's own problems are report details, never a failed run.
    "ReconcileFailedAlarm": (EMF_NAMESPACE, "reconcile", _series(("failed",), ("bad_request", "cms_unavailable")), 900, 1,
                             GE, "failed", "reconcile-failed"),
}
for _lid in FUNCTIONS:
    _fn = _lid.removesuffix("Function")
    ALARMS[f"{_fn}LambdaErrorsAlarm"] = (LAMBDA_NAMESPACE, _lid, (("Errors", None),), 300, 1, GE, None, "lambda-errors")
    ALARMS[f"{_fn}LambdaThrottlesAlarm"] = (LAMBDA_NAMESPACE, _lid, (("Throttles", None),), 300, 1, GE, None, "lambda-throttles")
ALARM_TOPIC_PARAM, ALARM_TOPIC_CONDITION = "AlarmTopicArn", "HasAlarmTopic"
ALARM_TOPIC = "arn:aws:sns:eu-west-1:123456789012:gatehouse-alarms"
TOPIC_ARN_OK = ("", ALARM_TOPIC, "arn:aws-cn:sns:cn-north-1:123456789012:ops_pager-1")
TOPIC_ARN_BAD = ("gatehouse-alarms", "arn:aws:sns:eu-west-1:123456789012:gatehouse-alarms.fifo",
                 "arn:aws:sns:eu-west-1:123456789012:*", "arn:aws:sqs:eu-west-1:123456789012:gatehouse-alarms",
                 "arn:aws:sns:eu-west-1:1234:gatehouse-alarms", " arn:aws:sns:eu-west-1:123456789012:gatehouse-alarms")
DASHBOARD = "Dashboard"
RUNBOOK = ROOT / "docs/runbook.md"
ALARM_DESCRIPTION_MAX = 1024  # CloudWatch's limit


def alarm_scenarios(t: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """Every combination of the template's conditions a deployable stack can have: each provider
    setup x Authorizer x ReconcileEnabled x AlarmTopicArn empty or set."""
    out = []
    for label, _idp, values, deployable in idp_scenarios(t):
        if not deployable:
            continue
        for authz, layer in (("builtin", ""), ("cerbos", LAYER_ARN_OK[1])):
            for enabled in ("true", "false"):
                for topic in ("", ALARM_TOPIC):
                    v = dict(values, Authorizer=authz, CerbosExtensionLayerArn=layer, ReconcileEnabled=enabled,
                             **{ALARM_TOPIC_PARAM: topic})
                    out.append((f"{label}, Authorizer={authz}, ReconcileEnabled={enabled}, "
                                f"{ALARM_TOPIC_PARAM}={'set' if topic else 'empty'}", v))
    return out


def _alarm_series(lid: str, p: dict[str, Any]) -> tuple[list[tuple[str, str, dict[str, Any], int, str]], list[str]]:
    """(namespace, metric, dimensions, period, stat) of every metric the alarm reads."""
    errors: list[str] = []
    dims = lambda d: {x.get("Name"): x.get("Value") for x in as_list(d or [])}  # noqa: E731
    if "Metrics" not in p:
        for k in ("Namespace", "MetricName", "Statistic", "Period"):
            if k not in p:
                errors.append(f"{lid}: a single-metric alarm needs {k}")
        return [(p.get("Namespace"), p.get("MetricName"), dims(p.get("Dimensions")), p.get("Period"), p.get("Statistic"))], errors
    for k in ("Namespace", "MetricName", "Statistic", "ExtendedStatistic", "Period", "Dimensions"):
        if k in p:
            errors.append(f"{lid}: a metric-math alarm must not set {k} (it reads Metrics only)")
    series, returned = [], []
    for m in as_list(p["Metrics"]):
        if "MetricStat" in m:
            if m.get("ReturnData") is not False:
                errors.append(f"{lid}: metric {m.get('Id')} must have ReturnData false (only the sum is alarmed on)")
            ms = m["MetricStat"]
            metric = ms.get("Metric", {})
            series.append((metric.get("Namespace"), metric.get("MetricName"), dims(metric.get("Dimensions")),
                           ms.get("Period"), ms.get("Stat")))
        elif m.get("ReturnData") is True:
            returned.append(m)
        else:
            errors.append(f"{lid}: unexpected entry in Metrics: {m!r}")
    # SUM(METRICS()) adds every series above per period (a code with no data adds nothing).
    if len(returned) != 1 or returned[0].get("Expression") != "SUM(METRICS())":
        errors.append(f"{lid}: Metrics must return exactly one expression, SUM(METRICS()), got {returned!r}")
    return series, errors


def _runbook_anchors() -> set[str]:
    try:
        text = RUNBOOK.read_text(encoding="utf-8")
    except OSError:
        return set()
    return set(re.findall(r'<a id="([a-z0-9-]+)"></a>', text))


def check_alarms_source(src: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    params = src.get("Parameters", {})
    p = params.get(ALARM_TOPIC_PARAM) or {}
    if p.get("Type") != "String" or p.get("Default") != "":
        errors.append(f"Parameters.{ALARM_TOPIC_PARAM}: must be an optional String (Default \"\"), "
                      f"got {({k: v for k, v in p.items() if k != 'Description'})!r}")
    try:
        rx = re.compile(p.get("AllowedPattern") or "")
    except re.error as e:
        errors.append(f"Parameters.{ALARM_TOPIC_PARAM}: AllowedPattern does not compile: {e}")
        rx = None
    if not p.get("AllowedPattern"):
        errors.append(f"Parameters.{ALARM_TOPIC_PARAM}: needs an AllowedPattern (\"\" or a standard SNS topic ARN)")
    elif rx:
        for v in TOPIC_ARN_OK:
            if not rx.fullmatch(v):
                errors.append(f"Parameters.{ALARM_TOPIC_PARAM}: AllowedPattern rejects {v!r}")
        for v in TOPIC_ARN_BAD:
            if rx.fullmatch(v):
                errors.append(f"Parameters.{ALARM_TOPIC_PARAM}: AllowedPattern accepts {v!r}")
    th = params.get(SESSION_THRESHOLD["Ref"]) or {}
    if th.get("Type") != "Number" or not isinstance(th.get("Default"), int) or th.get("Default") < 1 \
            or (th.get("MinValue") or 0) < 1:
        errors.append(f"Parameters.{SESSION_THRESHOLD['Ref']}: must be a Number with a Default and MinValue of at least 1, "
                      f"got {({k: v for k, v in th.items() if k != 'Description'})!r}")
    return errors


def check_alarms(out: dict[str, Any]) -> list[str]:
    """Every alarm in ALARMS and no other, each reading exactly its series with its threshold,
    present and wired to AlarmTopicArn (only when set) under every condition combination."""
    errors: list[str] = []
    resources = out.get("Resources", {})
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    for lid in sorted(set(ALARMS) - set(alarms)):
        errors.append(f"{lid}: missing (expected an AWS::CloudWatch::Alarm)")
    for lid in sorted(set(alarms) - set(ALARMS)):
        errors.append(f"{lid}: an alarm this checker does not know (add it to ALARMS, with its runbook entry)")
    anchors = _runbook_anchors()
    names: dict[str, str] = {}
    for lid, (namespace, function, want_series, period, threshold, comparison, covers, anchor) in ALARMS.items():
        a = alarms.get(lid)
        if not a:
            continue
        p = a.get("Properties", {})
        name = p.get("AlarmName")
        if not (isinstance(name, dict) and isinstance(name.get("Fn::Sub"), str)
                and name["Fn::Sub"].startswith("${AWS::StackName}-")):
            errors.append(f"{lid}: AlarmName must be !Sub \"${{AWS::StackName}}-...\" (names the stack in every "
                          f"notification, unique per stack), got {name!r}")
        elif name["Fn::Sub"] in names:
            errors.append(f"{lid}: AlarmName {name['Fn::Sub']!r} also used by {names[name['Fn::Sub']]}")
        else:
            names[name["Fn::Sub"]] = lid
        desc = p.get("AlarmDescription")
        if not isinstance(desc, str) or re.findall(r"docs/runbook\.md#([a-z0-9-]+)", desc) != [anchor]:
            errors.append(f"{lid}: AlarmDescription must point at docs/runbook.md#{anchor}, got {desc!r}")
        elif len(desc) > ALARM_DESCRIPTION_MAX:
            errors.append(f"{lid}: AlarmDescription longer than {ALARM_DESCRIPTION_MAX} characters")
        if anchor not in anchors:
            errors.append(f"{lid}: docs/runbook.md has no <a id=\"{anchor}\"></a> entry")
        if (a.get("Metadata") or {}).get("AlarmCovers") != covers:
            errors.append(f"{lid}: Metadata.AlarmCovers must be {covers!r} (what scripts/check_alarm_metrics.py "
                          f"checks it covers), got {(a.get('Metadata') or {}).get('AlarmCovers')!r}")
        series, errs = _alarm_series(lid, p)
        errors += errs
        got = []
        for ns, metric, dims, per, stat in series:
            if ns != namespace:
                errors.append(f"{lid}: Namespace must be {namespace!r}, got {ns!r}")
            if per != period:
                errors.append(f"{lid}: Period must be {period}, got {per!r}")
            if stat != "Sum":
                errors.append(f"{lid}: statistic must be Sum (counts), got {stat!r}")
            if namespace == EMF_NAMESPACE:
                if set(dims) != {"function", "outcome"} or dims.get("function") != function:
                    errors.append(f"{lid}: Dimensions must be exactly function={function} and outcome "
                                  f"(shared/src/log.rs), got {dims!r}")
                got.append((metric, dims.get("outcome")))
            else:
                if dims != {"FunctionName": ref(function)}:
                    errors.append(f"{lid}: Dimensions must be exactly FunctionName = !Ref {function}, got {dims!r}")
                got.append((metric, None))
        if sorted(got, key=str) != sorted(want_series, key=str):
            errors.append(f"{lid}: must watch exactly {sorted(want_series, key=str)} (metric, outcome), "
                          f"got {sorted(got, key=str)}")
        if p.get("Threshold") != threshold:
            errors.append(f"{lid}: Threshold must be {threshold!r}, got {p.get('Threshold')!r}")
        if p.get("ComparisonOperator") != comparison:
            errors.append(f"{lid}: ComparisonOperator must be {comparison}, got {p.get('ComparisonOperator')!r}")
        if p.get("EvaluationPeriods") != 1 or p.get("DatapointsToAlarm", 1) != 1:
            errors.append(f"{lid}: must alarm on one period (EvaluationPeriods 1), got {p.get('EvaluationPeriods')!r}")
        if p.get("TreatMissingData") != "notBreaching":
            errors.append(f"{lid}: TreatMissingData must be notBreaching (no traffic is no failure), "
                          f"got {p.get('TreatMissingData')!r}")
        if p.get("ActionsEnabled") is False or "InsufficientDataActions" in p:
            errors.append(f"{lid}: ActionsEnabled false or InsufficientDataActions set (nothing should silence it)")

    # Under every combination: the alarm exists, and notifies exactly AlarmTopicArn iff it is set.
    conditions = out.get("Conditions") or {}
    if ALARM_TOPIC_CONDITION not in conditions:
        errors.append(f"Conditions.{ALARM_TOPIC_CONDITION}: missing (true exactly when {ALARM_TOPIC_PARAM} is set)")
    seen: set[tuple[tuple[str, bool], ...]] = set()
    for label, values in alarm_scenarios(out):
        try:
            truth = condition_truth(out, values)
            refused = failed_rules(out, values)
        except Unresolvable as e:
            errors.append(f"alarms: cannot evaluate the conditions ({label}): {e}")
            break
        if refused:
            errors.append(f"Rules: refuse {label}, a valid configuration: {refused}")
            continue
        key = tuple(sorted(truth.items())) + (("<topic set>", bool(values[ALARM_TOPIC_PARAM])),)
        if key in seen:  # the same conditions as a scenario already checked
            continue
        seen.add(key)
        if truth.get(ALARM_TOPIC_CONDITION) != bool(values[ALARM_TOPIC_PARAM]):
            errors.append(f"Conditions.{ALARM_TOPIC_CONDITION}: must be {bool(values[ALARM_TOPIC_PARAM])} with {label}")
        want_actions = [ref(ALARM_TOPIC_PARAM)] if values[ALARM_TOPIC_PARAM] else None
        for lid in list(alarms) + [DASHBOARD]:
            res = resources.get(lid) or {}
            cond = res.get("Condition")
            if cond is not None and not truth.get(cond, False):
                errors.append(f"{lid}: does not exist with {label} (Condition {cond}); it must exist in every stack")
                continue
            if lid == DASHBOARD:
                continue
            try:
                props = res.get("Properties", {})
                p = resolve_ifs({k: props[k] for k in ("AlarmActions", "OKActions") if k in props}, truth) or {}
            except Unresolvable as e:
                errors.append(f"{lid}: cannot be resolved ({label}): {e}")
                continue
            for key in ("AlarmActions", "OKActions"):
                got = p.get(key) or None
                if got != want_actions:
                    errors.append(f"{lid}: with {label}, {key} must be {want_actions!r}, got {got!r}")
    return errors


_SUB_VAR = re.compile(r"\$\{([A-Za-z0-9:]+)(?:\.([A-Za-z]+))?\}")
# The stack name the dashboard check substitutes: with a hyphen, like most real ones.
CHECK_STACK_NAME = "gatehouse-staging"
# A SEARCH expression's metric schema, `{namespace,dim,...}` (namespace possibly in double quotes).
_SEARCH_SCHEMA = re.compile(r"SEARCH\('\{([^}]*)\}")


def resolve_stack_name(value: Any, stack_name: str) -> str | None:
    """A namespace as CloudFormation gives it to a stack named `stack_name`: a literal, or a
    !Sub whose only variable is ${AWS::StackName}; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        text = value["Fn::Sub"]
        if all(m.group(0) == "${AWS::StackName}" for m in _SUB_VAR.finditer(text)):
            return text.replace("${AWS::StackName}", stack_name)
    return None


def search_schema(namespace: str, *dimensions: str) -> str:
    """The SEARCH metric schema for `namespace`: CloudWatch requires double quotes around a name
    with characters other than letters and digits (search-expression-syntax in the CloudWatch
    User Guide), and a stack's namespace has "/" (and usually "-")."""
    quote = (lambda n: n) if re.fullmatch(r"[A-Za-z0-9]+", namespace) else (lambda n: f'"{n}"')
    return "{" + ",".join([quote(namespace), *dimensions]) + "}"


def check_dashboard(out: dict[str, Any]) -> list[str]:
    """The dashboard body is valid JSON once Fn::Sub has run, names only resources of this stack,
    and shows every alarm, each HTTP function's requests and p50/p99 latency, and reconcile drift."""
    errors: list[str] = []
    resources = out.get("Resources", {})
    d = resources.get(DASHBOARD) or {}
    if d.get("Type") != "AWS::CloudWatch::Dashboard":
        return [f"{DASHBOARD}: missing or not an AWS::CloudWatch::Dashboard"]
    p = d.get("Properties", {})
    if p.get("DashboardName") != ref("AWS::StackName"):
        errors.append(f"{DASHBOARD}: DashboardName must be !Ref AWS::StackName (one per stack), got {p.get('DashboardName')!r}")
    body = p.get("DashboardBody")
    if not (isinstance(body, dict) and isinstance(body.get("Fn::Sub"), str)):
        return errors + [f"{DASHBOARD}: DashboardBody must be a !Sub string, got {type(body).__name__}"]

    def sub(m: re.Match[str]) -> str:
        name, attr = m.group(1), m.group(2)
        if name.startswith("AWS::"):
            return {"AWS::Region": "eu-west-1", "AWS::StackName": CHECK_STACK_NAME}.get(name, name)
        if name not in resources:
            errors.append(f"{DASHBOARD}: DashboardBody refers to ${{{m.group(0)[2:-1]}}}, not a resource of this stack")
        return f"<{name}{'.' + attr if attr else ''}>"

    text = _SUB_VAR.sub(sub, body["Fn::Sub"])
    try:
        doc = json.loads(text)
    except ValueError as e:
        return errors + [f"{DASHBOARD}: DashboardBody is not JSON after Fn::Sub: {e}"]
    widgets = doc.get("widgets") if isinstance(doc, dict) else None
    if not isinstance(widgets, list) or not widgets:
        return errors + [f"{DASHBOARD}: DashboardBody has no widgets"]
    shown = {a for w in widgets if w.get("type") == "alarm" for a in w.get("properties", {}).get("alarms", [])}
    want = {f"<{lid}.Arn>" for lid in ALARMS}
    if shown != want:
        errors.append(f"{DASHBOARD}: the alarm widget must show every alarm: missing {sorted(want - shown)}, "
                      f"unknown {sorted(shown - want)}")
    exprs = [e.get("expression", "") for w in widgets if w.get("type") == "metric"
             for row in w.get("properties", {}).get("metrics", []) for e in row if isinstance(e, dict)]

    # Every SEARCH reads this stack's namespace (what METRICS_NAMESPACE gives the functions), quoted.
    schema = search_schema(str(resolve_stack_name(EMF_NAMESPACE, CHECK_STACK_NAME)), "function", "outcome")
    for x in exprs:
        for m in _SEARCH_SCHEMA.finditer(x):
            if "{" + m.group(1) + "}" != schema:
                errors.append(f"{DASHBOARD}: SEARCH schema {{{m.group(1)}}} must be {schema} for a stack named "
                              f"{CHECK_STACK_NAME} (this stack's namespace, in double quotes: it has / and -)")

    def has(fn: str, metric: str, stat: str) -> bool:
        return any(f'function="{fn}"' in x and f'MetricName="{metric}"' in x and f"'{stat}'" in x
                   and schema in x for x in exprs)

    for lid, (binary, _t, kind) in FUNCTIONS.items():
        if kind == SCHEDULED:
            for metric in ("changed", "cleared", "errors"):
                if not has(binary, metric, "Sum"):
                    errors.append(f"{DASHBOARD}: no SEARCH of {binary}'s {metric} (Sum): reconcile drift over time")
            continue
        for metric, stat in (("requests", "Sum"), ("latency_ms", "p50"), ("latency_ms", "p99")):
            if not has(binary, metric, stat):
                errors.append(f"{DASHBOARD}: no SEARCH of {binary}'s {metric} by outcome ({stat})")
    return errors


def run_checks(src: dict[str, Any]) -> list[str]:
    errors = check_source(src) + check_cerbos_source(src) + check_idp_source(src) + check_alarms_source(src)
    try:
        out = sam_transform(src)
    except Exception as e:  # noqa: BLE001 - report any translator failure as one line
        return errors + [f"SAM transform failed: {type(e).__name__}: {e}"]
    for check in (check_functions, check_urls_and_permissions, check_iam, check_idp, check_schedules,
                  check_outputs, check_cerbos, check_alarms, check_dashboard):
        errors += check(out)
    return errors


# ---- self-test: every check must catch a deliberately broken copy ------------------------------
def _mutations() -> list[tuple[str, Callable[[dict[str, Any]], None]]]:
    def props(t: dict[str, Any], lid: str) -> dict[str, Any]:
        return t["Resources"][lid]["Properties"]

    def stmt(t: dict[str, Any], lid: str) -> dict[str, Any]:
        return props(t, lid)["Policies"][0]["Statement"][0]

    def env(t: dict[str, Any], lid: str) -> dict[str, Any]:
        return props(t, lid)["Environment"]["Variables"]

    def stat_dims(t: dict[str, Any], lid: str, i: int) -> list[dict[str, Any]]:
        """Dimensions of the i-th metric of a metric-math alarm (0 is the expression)."""
        return props(t, lid)["Metrics"][i]["MetricStat"]["Metric"]["Dimensions"]

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
        # Cerbos
        ("Cerbos layers unconditional", lambda t: props(t, "GatedContentFunction").update(
            Layers=[ref("CerbosExtensionLayerArn"), ref("CerbosPoliciesLayer")])),
        ("no extension layer", lambda t: props(t, "GatedContentFunction").update(
            Layers={"Fn::If": ["UseCerbos", [ref("CerbosPoliciesLayer")], ref("AWS::NoValue")]})),
        ("layers on reconcile", lambda t: props(t, "ReconcileFunction").update(Layers=[ref("CerbosExtensionLayerArn")])),
        ("CERBOS_URL over TCP", lambda t: env(t, "GatedContentFunction").update(CERBOS_URL="http://127.0.0.1:3592")),
        ("CERBOS_URL another socket",
         lambda t: env(t, "GatedContentFunction").update(CERBOS_URL="unix:/tmp/cerbos.sock")),
        ("CERBOS_CONFIG in /var/task",
         lambda t: env(t, "GatedContentFunction").update(CERBOS_CONFIG="/var/task/.cerbos.yaml")),
        ("no XDG_CACHE_HOME", lambda t: env(t, "GatedContentFunction").pop("XDG_CACHE_HOME")),
        ("no AUTHZ", lambda t: env(t, "GatedContentFunction").pop("AUTHZ")),
        ("AUTHZ literal", lambda t: env(t, "GatedContentFunction").update(AUTHZ="cerbos")),
        ("CERBOS_URL on every function",
         lambda t: t["Globals"]["Function"]["Environment"]["Variables"].update(CERBOS_URL="unix:/tmp/cerbos.http.sock")),
        ("gated-content memory unconditional", lambda t: props(t, "GatedContentFunction").pop("MemorySize")),
        ("policies layer without Condition", lambda t: t["Resources"]["CerbosPoliciesLayer"].pop("Condition")),
        ("policies layer under another condition",
         lambda t: t["Resources"]["CerbosPoliciesLayer"].update(Condition="ReconcileScheduleEnabled")),
        ("policies layer from policies/", lambda t: props(t, "CerbosPoliciesLayer").update(ContentUri="policies/")),
        ("policies layer x86_64",
         lambda t: props(t, "CerbosPoliciesLayer").update(CompatibleArchitectures=["x86_64"])),
        ("policies layer provided.al2",
         lambda t: props(t, "CerbosPoliciesLayer").update(CompatibleRuntimes=["provided.al2"])),
        ("policies layer retained", lambda t: props(t, "CerbosPoliciesLayer").update(RetentionPolicy="Retain")),
        ("policies layer named after its logical id", lambda t: props(t, "CerbosPoliciesLayer").pop("LayerName")),
        ("policies layer without makefile", lambda t: t["Resources"]["CerbosPoliciesLayer"].pop("Metadata")),
        ("no rule", lambda t: t.pop("Rules")),
        ("rule without condition", lambda t: t["Rules"]["CerbosNeedsExtensionLayer"].pop("RuleCondition")),
        ("rule asserts something else",
         lambda t: t["Rules"]["CerbosNeedsExtensionLayer"]["Assertions"][0].update(
             Assert={"Fn::Not": [{"Fn::Equals": [ref("Authorizer"), ""]}]})),
        ("rule without description",
         lambda t: t["Rules"]["CerbosNeedsExtensionLayer"]["Assertions"][0].pop("AssertDescription")),
        ("UseCerbos on builtin", lambda t: t["Conditions"].update(UseCerbos={"Fn::Equals": [ref("Authorizer"), "builtin"]})),
        ("UseCerbos on the layer ARN only", lambda t: t["Conditions"].update(
            UseCerbos={"Fn::Not": [{"Fn::Equals": [ref("CerbosExtensionLayerArn"), ""]}]})),
        ("UseCerbos always", lambda t: t["Conditions"]["UseCerbos"]["Fn::And"].__setitem__(
            0, {"Fn::Equals": ["cerbos", "cerbos"]})),
        ("Authorizer default cerbos", lambda t: t["Parameters"]["Authorizer"].update(Default="cerbos")),
        ("Authorizer free text", lambda t: t["Parameters"]["Authorizer"].pop("AllowedValues")),
        ("layer ARN without pattern", lambda t: t["Parameters"]["CerbosExtensionLayerArn"].pop("AllowedPattern")),
        ("layer ARN pattern without version",
         lambda t: t["Parameters"]["CerbosExtensionLayerArn"].update(
             AllowedPattern="^$|^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+(:[0-9]+)?$")),
        ("layer ARN pattern rejects empty",
         lambda t: t["Parameters"]["CerbosExtensionLayerArn"].update(
             AllowedPattern="^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$")),
        ("CerbosMemorySize 128 by default", lambda t: t["Parameters"]["CerbosMemorySize"].update(Default=128)),
        ("no Authorizer output", lambda t: t["Outputs"].pop("Authorizer")),
        ("layer output without condition", lambda t: t["Outputs"]["CerbosPoliciesLayerArn"].pop("Condition")),
        # identity provider (Stytch or Descope): one secret, by condition
        ("both IdP secrets granted", lambda t: stmt(t, "PublishSyncFunction").update(
            Resource=[ref("StytchSecretArn"), ref("DescopeSecretArn"), ref("SanitySecretArn")])),
        ("Stytch secret granted unconditionally",
         lambda t: stmt(t, "ReconcileFunction")["Resource"].__setitem__(0, ref("StytchSecretArn"))),
        ("Descope secret granted unconditionally",
         lambda t: stmt(t, "GatedContentFunction")["Resource"].__setitem__(1, ref("DescopeSecretArn"))),
        ("IdP secrets granted under swapped conditions", lambda t: stmt(t, "DeleteCleanupFunction").update(
            Resource=[{"Fn::If": ["UseDescope", ref("StytchSecretArn"), ref("AWS::NoValue")]},
                      {"Fn::If": ["UseStytch", ref("DescopeSecretArn"), ref("AWS::NoValue")]},
                      ref("SanitySecretArn")])),
        ("token-exchange without the Descope secret",
         lambda t: stmt(t, "TokenExchangeFunction")["Resource"].pop(1)),
        ("token-exchange reads both IdP secrets",
         lambda t: stmt(t, "TokenExchangeFunction")["Resource"].append(ref("DescopeSecretArn"))),
        ("DESCOPE_SECRET_ARN unconditional",
         lambda t: t["Globals"]["Function"]["Environment"]["Variables"].update(DESCOPE_SECRET_ARN=ref("DescopeSecretArn"))),
        ("STYTCH_SECRET_ARN unconditional",
         lambda t: t["Globals"]["Function"]["Environment"]["Variables"].update(STYTCH_SECRET_ARN=ref("StytchSecretArn"))),
        ("no DESCOPE_SECRET_ARN", lambda t: t["Globals"]["Function"]["Environment"]["Variables"].pop("DESCOPE_SECRET_ARN")),
        ("DESCOPE_SECRET_ARN under UseStytch", lambda t: t["Globals"]["Function"]["Environment"]["Variables"].update(
            DESCOPE_SECRET_ARN={"Fn::If": ["UseStytch", ref("DescopeSecretArn"), ref("AWS::NoValue")]})),
        ("one function sets STYTCH_SECRET_ARN itself",
         lambda t: env(t, "TokenExchangeFunction").update(STYTCH_SECRET_ARN=ref("StytchSecretArn"))),
        ("DESCOPE_BASE_URL in the template", lambda t: env(t, "ReconcileFunction").update(
            DESCOPE_BASE_URL="https://api.descope.com")),
        ("IDP literal", lambda t: t["Globals"]["Function"]["Environment"]["Variables"].update(IDP="stytch")),
        ("IdentityProvider without descope",
         lambda t: t["Parameters"]["IdentityProvider"].update(AllowedValues=["stytch"])),
        ("IdentityProvider default descope", lambda t: t["Parameters"]["IdentityProvider"].update(Default="descope")),
        ("no DescopeSecretArn parameter", lambda t: t["Parameters"].pop("DescopeSecretArn")),
        ("DescopeSecretArn pattern rejects empty", lambda t: t["Parameters"]["DescopeSecretArn"].update(
            AllowedPattern=t["Parameters"]["SanitySecretArn"]["AllowedPattern"])),
        ("DescopeSecretArn without pattern", lambda t: t["Parameters"]["DescopeSecretArn"].pop("AllowedPattern")),
        ("DescopeSecretArn pattern accepts a wildcard", lambda t: t["Parameters"]["DescopeSecretArn"].update(
            AllowedPattern="^$|^arn:aws[a-z-]*:secretsmanager:.+$")),
        ("SanitySecretArn may be empty", lambda t: t["Parameters"]["SanitySecretArn"].update(
            AllowedPattern=t["Parameters"]["DescopeSecretArn"]["AllowedPattern"])),
        ("no Stytch rule", lambda t: t["Rules"].pop("StytchNeedsSecret")),
        ("no Descope rule", lambda t: t["Rules"].pop("DescopeNeedsSecret")),
        ("Descope rule checks the Stytch secret",
         lambda t: t["Rules"]["DescopeNeedsSecret"]["Assertions"][0].update(
             Assert={"Fn::Not": [{"Fn::Equals": [ref("StytchSecretArn"), ""]}]})),
        ("Stytch rule always on", lambda t: t["Rules"]["StytchNeedsSecret"].pop("RuleCondition")),
        ("Descope rule without description",
         lambda t: t["Rules"]["DescopeNeedsSecret"]["Assertions"][0].pop("AssertDescription")),
        ("no UseDescope", lambda t: t["Conditions"].pop("UseDescope")),
        ("UseDescope on stytch", lambda t: t["Conditions"]["UseDescope"]["Fn::And"].__setitem__(
            0, {"Fn::Equals": [ref("IdentityProvider"), "stytch"]})),
        ("UseStytch always", lambda t: t["Conditions"].update(UseStytch={"Fn::Equals": ["stytch", "stytch"]})),
        ("no IdentityProvider output", lambda t: t["Outputs"].pop("IdentityProvider")),
        # ContentTypes -> gated-content CONTENT_TYPES
        ("CONTENT_TYPES literal", lambda t: env(t, "GatedContentFunction").update(CONTENT_TYPES="article")),
        ("ContentTypes default without gatedPage",
         lambda t: t["Parameters"]["ContentTypes"].update(Default="article,doc,report")),
        ("CONTENT_TYPES on every function", lambda t: t["Globals"]["Function"]["Environment"]["Variables"].update(
            CONTENT_TYPES={"Fn::Join": [",", ref("ContentTypes")]})),
        # alarms and dashboard
        ("alarm removed", lambda t: t["Resources"].pop("ReconcileFailedAlarm")),
        ("an alarm the checker does not know", lambda t: t["Resources"].update(
            ExtraAlarm=copy.deepcopy(t["Resources"]["PublishSync401Alarm"]))),
        ("alarm only with Cerbos", lambda t: t["Resources"]["GatedContent5xxAlarm"].update(Condition="UseCerbos")),
        ("alarm only with a topic", lambda t: t["Resources"]["ReconcileDriftAlarm"].update(Condition="HasAlarmTopic")),
        ("alarm without AlarmActions", lambda t: props(t, "GatedContent5xxAlarm").pop("AlarmActions")),
        ("alarm without OKActions", lambda t: props(t, "PublishSyncLambdaErrorsAlarm").pop("OKActions")),
        ("alarm actions unconditional", lambda t: props(t, "DeleteCleanup5xxAlarm").update(AlarmActions=[ref("AlarmTopicArn")])),
        ("alarm actions under the wrong condition", lambda t: props(t, "ReconcileDriftAlarm").update(
            AlarmActions={"Fn::If": ["UseCerbos", [ref("AlarmTopicArn")], ref("AWS::NoValue")]})),
        ("alarm notifies another topic", lambda t: props(t, "TokenExchange401Alarm").update(
            OKActions={"Fn::If": ["HasAlarmTopic", ["arn:aws:sns:eu-west-1:123456789012:other"], ref("AWS::NoValue")]})),
        ("HasAlarmTopic inverted", lambda t: t["Conditions"].update(HasAlarmTopic={"Fn::Equals": [ref("AlarmTopicArn"), ""]})),
        ("misspelled outcome", lambda t: stat_dims(t, "PublishSync5xxAlarm", 1)[1].update(Value="provider_unavailabe")),
        ("5xx alarm misses a code", lambda t: props(t, "GatedContent5xxAlarm")["Metrics"].pop(4)),
        ("5xx alarm on a 4xx code", lambda t: stat_dims(t, "TokenExchange5xxAlarm", 1)[1].update(Value="invalid_token")),
        ("alarm on another function", lambda t: stat_dims(t, "DeleteCleanup5xxAlarm", 2)[0].update(Value="publish-sync")),
        ("alarm on the Lambda name", lambda t: props(t, "PublishSync401Alarm")["Dimensions"][0].update(
            Value={"Fn::Sub": "${AWS::StackName}-publish-sync"})),
        ("alarm with a third dimension", lambda t: props(t, "GatedContent401Alarm")["Dimensions"].append(
            {"Name": "status", "Value": "401"})),
        ("wrong namespace", lambda t: props(t, "ReconcileDriftAlarm")["Metrics"][1]["MetricStat"]["Metric"].update(
            Namespace="Gatehouse")),
        ("wrong metric", lambda t: props(t, "DeleteCleanup401Alarm").update(MetricName="request")),
        # the per-stack namespace (METRICS_NAMESPACE = gatehouse/<stack>, alarms and dashboard alike)
        ("alarm on the shared gatehouse namespace", lambda t: props(t, "PublishSync401Alarm").update(Namespace="gatehouse")),
        ("math alarm on the shared gatehouse namespace",
         lambda t: props(t, "GatedContent5xxAlarm")["Metrics"][3]["MetricStat"]["Metric"].update(Namespace="gatehouse")),
        ("alarm namespace per region, not per stack", lambda t: props(t, "TokenExchange401Alarm").update(
            Namespace={"Fn::Sub": "gatehouse/${AWS::Region}"})),
        ("alarm namespace with a dash", lambda t: props(t, "ReconcileErrorsAlarm")["Metrics"][1]["MetricStat"]["Metric"].update(
            Namespace={"Fn::Sub": "gatehouse-${AWS::StackName}"})),
        ("no METRICS_NAMESPACE", lambda t: t["Globals"]["Function"]["Environment"]["Variables"].pop("METRICS_NAMESPACE")),
        ("METRICS_NAMESPACE the shared default", lambda t: t["Globals"]["Function"]["Environment"]["Variables"].update(
            METRICS_NAMESPACE="gatehouse")),
        ("one function with its own METRICS_NAMESPACE", lambda t: env(t, "ReconcileFunction").update(
            METRICS_NAMESPACE={"Fn::Sub": "gatehouse/${AWS::StackName}-reconcile"})),
        ("dashboard SEARCH on the shared gatehouse namespace", lambda t: props(t, "Dashboard").update(
            DashboardBody={"Fn::Sub": props(t, "Dashboard")["DashboardBody"]["Fn::Sub"].replace(
                '{\\"gatehouse/${AWS::StackName}\\",', "{gatehouse,", 1)})),
        ("dashboard namespace unquoted", lambda t: props(t, "Dashboard").update(
            DashboardBody={"Fn::Sub": props(t, "Dashboard")["DashboardBody"]["Fn::Sub"].replace(
                '{\\"gatehouse/${AWS::StackName}\\",', "{gatehouse/${AWS::StackName},")})),
        ("drift alarm counts dry runs", lambda t: stat_dims(t, "ReconcileDriftAlarm", 2)[1].update(Value="dry_run")),
        ("drift alarm without cleared", lambda t: props(t, "ReconcileDriftAlarm")["Metrics"].__delitem__(slice(3, 5))),
        ("expression not a sum", lambda t: props(t, "ReconcileErrorsAlarm")["Metrics"][0].update(Expression="m1")),
        ("metric returned too", lambda t: props(t, "ReconcileFailedAlarm")["Metrics"][1].update(ReturnData=True)),
        ("Average, not Sum", lambda t: props(t, "GatedContent401Alarm").update(Statistic="Average")),
        ("p99 in a math alarm", lambda t: props(t, "PublishSync5xxAlarm")["Metrics"][2]["MetricStat"].update(Stat="p99")),
        ("hour period", lambda t: props(t, "TokenExchange5xxAlarm")["Metrics"][1]["MetricStat"].update(Period=3600)),
        ("threshold literal", lambda t: props(t, "GatedContent401Alarm").update(Threshold=50)),
        ("threshold raised", lambda t: props(t, "PublishSync401Alarm").update(Threshold=300)),
        ("drift alarm at >= 0", lambda t: props(t, "ReconcileDriftAlarm").update(ComparisonOperator="GreaterThanOrEqualToThreshold")),
        ("missing data breaching", lambda t: props(t, "ReconcileLambdaThrottlesAlarm").update(TreatMissingData="breaching")),
        ("three periods", lambda t: props(t, "GatedContentLambdaErrorsAlarm").update(EvaluationPeriods=3)),
        ("actions disabled", lambda t: props(t, "TokenExchangeLambdaErrorsAlarm").update(ActionsEnabled=False)),
        ("Lambda alarm on a literal name",
         lambda t: props(t, "ReconcileLambdaErrorsAlarm")["Dimensions"][0].update(Value="gatehouse-reconcile")),
        ("Lambda alarm on another function",
         lambda t: props(t, "GatedContentLambdaThrottlesAlarm")["Dimensions"][0].update(Value=ref("TokenExchangeFunction"))),
        ("Lambda alarm dimension misnamed", lambda t: props(t, "DeleteCleanupLambdaErrorsAlarm")["Dimensions"][0].update(
            Name="Function")),
        ("Lambda Invocations instead of Errors", lambda t: props(t, "PublishSyncLambdaErrorsAlarm").update(MetricName="Invocations")),
        ("alarm name without the stack", lambda t: props(t, "GatedContent5xxAlarm").update(AlarmName="gated-content-5xx")),
        ("two alarms one name", lambda t: props(t, "DeleteCleanup401Alarm").update(
            AlarmName={"Fn::Sub": "${AWS::StackName}-publish-sync-401"})),
        ("description without runbook", lambda t: props(t, "ReconcileErrorsAlarm").update(AlarmDescription="reconcile errors")),
        ("runbook entry that does not exist", lambda t: props(t, "ReconcileFailedAlarm").update(
            AlarmDescription="failed. Runbook: docs/runbook.md#reconcile-failed-runs")),
        ("AlarmCovers removed", lambda t: t["Resources"]["GatedContent5xxAlarm"].pop("Metadata")),
        ("topic pattern accepts FIFO", lambda t: t["Parameters"]["AlarmTopicArn"].update(
            AllowedPattern="^$|^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]{1,256}$")),
        ("topic pattern rejects empty", lambda t: t["Parameters"]["AlarmTopicArn"].update(
            AllowedPattern="^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$")),
        ("topic without pattern", lambda t: t["Parameters"]["AlarmTopicArn"].pop("AllowedPattern")),
        ("topic required", lambda t: t["Parameters"]["AlarmTopicArn"].pop("Default")),
        ("session threshold 0", lambda t: t["Parameters"]["SessionRejectionsAlarmThreshold"].update(MinValue=0)),
        ("no dashboard", lambda t: t["Resources"].pop("Dashboard")),
        ("dashboard only with Cerbos", lambda t: t["Resources"]["Dashboard"].update(Condition="UseCerbos")),
        ("dashboard body not JSON", lambda t: props(t, "Dashboard").update(
            DashboardBody={"Fn::Sub": props(t, "Dashboard")["DashboardBody"]["Fn::Sub"].replace("]}", "]", 1)})),
        ("dashboard misses an alarm", lambda t: props(t, "Dashboard").update(
            DashboardBody={"Fn::Sub": props(t, "Dashboard")["DashboardBody"]["Fn::Sub"].replace(
                '"${ReconcileFailedAlarm.Arn}", ', "")})),
        ("dashboard without p99", lambda t: props(t, "Dashboard").update(
            DashboardBody={"Fn::Sub": props(t, "Dashboard")["DashboardBody"]["Fn::Sub"].replace(
                "function=\\\"token-exchange\\\" MetricName=\\\"latency_ms\\\"', 'p99'", "function=\\\"token-exchange\\\" MetricName=\\\"latency_ms\\\"', 'p90'")})),
        ("dashboard without reconcile drift", lambda t: props(t, "Dashboard").update(
            DashboardBody={"Fn::Sub": props(t, "Dashboard")["DashboardBody"]["Fn::Sub"].replace(
                'MetricName=\\"cleared\\"', 'MetricName=\\"checked\\"')})),
        ("dashboard names a resource that does not exist", lambda t: props(t, "Dashboard").update(
            DashboardBody={"Fn::Sub": props(t, "Dashboard")["DashboardBody"]["Fn::Sub"].replace(
                "${ReconcileFunction}", "${ReconcilerFunction}")})),
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
          "reconcile schedule, Cerbos layers under UseCerbos, one IdP secret per provider: env, IAM and Rules; "
          f"{len(ALARMS)} alarms wired to {ALARM_TOPIC_PARAM} under every condition combination, dashboard; "
          f"METRICS_NAMESPACE, EMF alarms and dashboard on !Sub {EMF_NAMESPACE['Fn::Sub']!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
