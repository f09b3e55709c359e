#!/usr/bin/env python3
"""Proof that every alarm in template.yaml watches a metric the functions really emit.

The functions print one CloudWatch embedded-metric-format (EMF) line per request or run
(shared/src/log.rs), in the namespace METRICS_NAMESPACE gives them: the template sets
!Sub "gatehouse/${AWS::StackName}", and scripts/stack.sh gives the local functions the same for
a stack named local-<profile> (LOCAL_STACK_NAME and METRICS_NAMESPACE in .stack/<profile>/stack.env).
This script reads those lines from the logs of a run of the e2e suite (.stack/test/*.log: the
stack's `cargo lambda watch` processes, and .stack/test/containers.log: the fresh function
containers the suite starts itself, which alone produce some answers such as a cold start without
JWKS or a PDP that is down), resolves ${AWS::StackName} in the template with the local stack's
name, and checks, against the template:

  - every line is valid EMF (what CloudWatch needs to turn it into metrics);
  - every EMF alarm metric (namespace, metric name, dimension names and values) was emitted by
    some line. A series no line carried fails: a misspelling, or an outcome the functions can
    produce (shared/src) that the suite never exercised, which is a hole in the suite. The only
    exception is ALLOW_UNEMITTED, an explicit list of series the e2e suite cannot produce, each
    with the reason (an entry for a series the run did emit fails: the list must stay true);
  - coverage (the alarm's Metadata.AlarmCovers): every line of the alarm's function with status
    >= 500 ("5xx"), status 401 ("401") or the `failed` metric ("failed") has an outcome the alarm
    sums, and no outcome the alarm sums was ever seen on another kind of line;
  - AWS/Lambda alarms name a function of this template (FunctionName = !Ref <function>) whose
    binary printed lines in the run;
  - the dashboard's SEARCH expressions (their namespace in double quotes, as CloudWatch requires
    for a name with "/" or "-") and Lambda rows name emitted metrics and real functions.

Usage:
    .venv/bin/python scripts/check_alarm_metrics.py [--logs 'GLOB' ...] [--stack-name NAME] [template.yaml]
    .venv/bin/python scripts/check_alarm_metrics.py --self-test   # broken copies must fail
    .venv/bin/python scripts/check_alarm_metrics.py --write-fixture [--logs 'GLOB' ...]
--stack-name: the stack name the logged functions' namespace was made from (default:
LOCAL_STACK_NAME in .stack/test/stack.env, which must agree with its METRICS_NAMESPACE).
The self-test reads fixtures/emf-lines.jsonl (lines copied from an e2e run of the test profile,
stack name local-test) instead of logs; --write-fixture refreshes it from the logs: one line per
(function, outcome, status, metrics), every one printed by a real run.
Exit status 0 when everything holds, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import copy
import glob
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_template import ROOT, _alarm_series, as_list, load_template, of_type, ref, resolve_stack_name  # noqa: E402

STATE = ROOT / ".stack/test"
# The stack's processes' logs, and the e2e suite's own function containers (appended by
# tests/tests/e2e/common/functions.rs `container_logging`; scripts/stack.sh empties it at `up`).
CONTAINERS_LOG = STATE / "containers.log"
DEFAULT_LOGS = [str(STATE / "*.log"), str(CONTAINERS_LOG)]
# Written by scripts/stack.sh: LOCAL_STACK_NAME (local-<profile>) and METRICS_NAMESPACE, the
# namespace its functions print (gatehouse/<LOCAL_STACK_NAME>, as the template makes it).
STACK_ENV = STATE / "stack.env"
FIXTURE = ROOT / "fixtures/emf-lines.jsonl"
# The stack name of the run the fixture comes from (scripts/stack.sh, profile test).
FIXTURE_STACK_NAME = "local-test"
SOURCE_DIR = ROOT / "shared/src"
# The request and run handlers (served, minted, preflight, complete, partial, dry_run, ...).
APP_DIR = SOURCE_DIR / "app"
LAMBDA_NAMESPACE = "AWS/Lambda"
# AWS/Lambda per-function metrics (FunctionName dimension) an alarm or graph may use.
LAMBDA_METRICS = {"Errors", "Throttles", "Invocations", "Duration", "ConcurrentExecutions"}
# The units CloudWatch accepts (PutMetricData MetricDatum.Unit); EMF rejects any other.
UNITS = {"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
         "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
         "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
         "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"}
COVERS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "5xx": lambda line: isinstance(line.get("status"), int) and line["status"] >= 500,
    "401": lambda line: line.get("status") == 401,
    "failed": lambda line: "failed" in line["_metrics"],
}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Alarm series (function, metric, outcome) the e2e suite cannot produce, each with the reason:
# the only ones that may be absent from a run's lines. Every other series an alarm watches must
# have been printed by the suite (by the stack's functions or by the containers it starts). Add
# an entry only for a series no test can reach (not for one nobody wrote a test for yet), and
# say why; an entry the run did emit, or no alarm watches, fails. The function must still have
# printed that metric with those dimension names (with other outcomes), so the names are proven.
#   Empty: tests/tests/e2e produces every series template.yaml's alarms watch (answers.rs reaches
#   each 5xx and 401 code, session_keys_unavailable, authz_unavailable and reconcile's failed
#   cms_unavailable in fresh containers; the suite's reconcile runs end complete, partial and
#   dry_run, each printing changed, cleared and errors).
ALLOW_UNEMITTED: dict[tuple[str, str, str], str] = {}


# ---- the EMF lines -----------------------------------------------------------------------------
def emf_objects(text: str) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) of every line that is (or ends in) a JSON object with `_aws`."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = ANSI.sub("", raw).strip()
        start = line.find("{")
        if start < 0 or '"_aws"' not in line:
            continue
        try:
            obj = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(obj, dict) and "_aws" in obj:
            out.append((n, obj))
    return out


def emf_problems(obj: dict[str, Any]) -> list[str]:
    """What would keep CloudWatch from extracting this line's metrics (EMF specification)."""
    p: list[str] = []
    aws = obj.get("_aws")
    if not isinstance(aws, dict):
        return ["_aws is not an object"]
    if not isinstance(aws.get("Timestamp"), int) or isinstance(aws.get("Timestamp"), bool):
        p.append(f"_aws.Timestamp must be epoch milliseconds (an integer), got {aws.get('Timestamp')!r}")
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return p + ["_aws.CloudWatchMetrics must be a non-empty list"]
    for d in directives:
        ns = d.get("Namespace") if isinstance(d, dict) else None
        if not isinstance(ns, str) or not ns:
            p.append(f"directive without a Namespace: {d!r}")
            continue
        for dims in as_list(d.get("Dimensions")):
            if not isinstance(dims, list) or not 1 <= len(dims) <= 30:
                p.append(f"{ns}: a dimension set must list 1 to 30 names, got {dims!r}")
                continue
            for name in dims:
                if not isinstance(obj.get(name), str) or not obj.get(name):
                    p.append(f"{ns}: dimension {name!r} must be a non-empty string member of the line, got {obj.get(name)!r}")
        metrics = d.get("Metrics")
        if not isinstance(metrics, list) or not metrics:
            p.append(f"{ns}: Metrics must be a non-empty list")
            continue
        for m in metrics:
            name = m.get("Name") if isinstance(m, dict) else None
            v = obj.get(name) if isinstance(name, str) else None
            values = v if isinstance(v, list) else [v]
            if not isinstance(name, str) or not values or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in values):
                p.append(f"{ns}: metric {name!r} must be a number (or list of numbers) on the line, got {v!r}")
            if "Unit" in m and m["Unit"] not in UNITS:
                p.append(f"{ns}: metric {name!r} has unit {m['Unit']!r}, not a CloudWatch unit")
    return p


class Emitted:
    """What a set of EMF lines puts into CloudWatch."""

    def __init__(self, objects: list[tuple[str, dict[str, Any]]]):
        self.problems: list[str] = []
        self.series: Counter[tuple[str, str, frozenset[tuple[str, str]]]] = Counter()
        self.lines: list[dict[str, Any]] = []
        for where, obj in objects:
            errs = emf_problems(obj)
            self.problems += [f"{where}: not valid EMF: {e}" for e in errs]
            if errs:
                continue
            names = set()
            for d in obj["_aws"]["CloudWatchMetrics"]:
                for m in d["Metrics"]:
                    names.add(m["Name"])
                    for dims in d["Dimensions"]:
                        self.series[(d["Namespace"], m["Name"], frozenset((k, obj[k]) for k in dims))] += 1
            self.lines.append(dict(obj, _metrics=names, _where=where))
        # (namespace, metric, dimension names, function) -> the dimension values seen with it
        self.shapes: dict[tuple[str, str, frozenset[str], str | None], set[frozenset[tuple[str, str]]]] = defaultdict(set)
        for (ns, metric, dims), _n in self.series.items():
            fn = dict(dims).get("function")
            self.shapes[(ns, metric, frozenset(k for k, _ in dims), fn)].add(dims)
        self.functions = {dict(d).get("function") for (_ns, _m, d) in self.series} - {None}


def read_logs(patterns: list[str]) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    files = sorted({f for p in patterns for f in glob.glob(p)})  # containers.log once, if it exists
    objects = []
    for f in files:
        text = Path(f).read_text(encoding="utf-8", errors="replace")
        objects += [(f"{Path(f).name}:{n}", o) for n, o in emf_objects(text)]
    return objects, files


# ---- what the Rust code can emit as an outcome ---------------------------------------------------
def source_outcomes() -> set[str]:
    """String literals the Rust code returns as an outcome: the bodies of every `fn code` and
    `fn as_str` in shared/src (error codes, sync outcomes), and every literal of the handlers in
    shared/src/app/ (mod.rs, sync_app.rs, gate_app.rs, token_app.rs, reconcile_app.rs, ...:
    served, minted, preflight, complete, partial, dry_run)."""
    app = sorted(APP_DIR.rglob("*.rs"))
    if not app:
        raise SystemExit(f"check_alarm_metrics: no Rust files in {APP_DIR.relative_to(ROOT)} (the request and run "
                         "handlers moved? update APP_DIR)")
    out: set[str] = set()
    lit = re.compile(r'"([a-z][a-z0-9_]*)"')
    for path in SOURCE_DIR.rglob("*.rs"):
        text = path.read_text(encoding="utf-8")
        if path in app:
            out |= set(lit.findall(text))
        for m in re.finditer(r"fn (?:code|as_str)\s*\([^)]*\)[^{]*\{", text):
            depth, i = 1, m.end()
            while depth and i < len(text):
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                i += 1
            out |= set(lit.findall(text[m.end():i]))
    return out


# ---- the checks ----------------------------------------------------------------------------------
def _emf_namespace(src: dict[str, Any]) -> Any:
    """METRICS_NAMESPACE as the template sets it for every function (Globals)."""
    return ((src.get("Globals") or {}).get("Function", {}).get("Environment", {}).get("Variables", {})
            .get("METRICS_NAMESPACE"))


def _function_ids(src: dict[str, Any]) -> dict[str, str]:
    """Function logical id -> its binary (the EMF `function` value)."""
    return {lid: (r.get("Metadata") or {}).get("BuildProperties", {}).get("Binary", "")
            for lid, r in of_type(src.get("Resources", {}), "AWS::Serverless::Function").items()}


def _lambda_target(dims: dict[str, Any], src: dict[str, Any], fns: dict[str, str]) -> str | None:
    """The function logical id an AWS/Lambda FunctionName dimension names, if it names one."""
    if set(dims) != {"FunctionName"}:
        return None
    v = dims["FunctionName"]
    for lid in fns:
        name = src["Resources"][lid].get("Properties", {}).get("FunctionName")
        if v == ref(lid) or (name is not None and v == name):
            return lid
    return None


def check(src: dict[str, Any], em: Emitted, vocabulary: set[str], stack_name: str,
          allowed: dict[tuple[str, str, str], str] | None = None) -> tuple[list[str], list[str], int]:
    """(errors, notes, series checked). `stack_name` resolves ${AWS::StackName} in the template's
    namespaces (the name the logged functions' METRICS_NAMESPACE was made from); `allowed` is
    ALLOW_UNEMITTED unless a test passes another."""
    allowed = ALLOW_UNEMITTED if allowed is None else allowed
    errors = list(em.problems)
    notes: list[str] = []
    if not em.lines:
        return errors + ["no EMF lines found (did the e2e suite run, and are its logs where --logs says?)"], notes, 0
    fns = _function_ids(src)
    alarms = of_type(src.get("Resources", {}), "AWS::CloudWatch::Alarm")
    if not alarms:
        errors.append("template.yaml has no AWS::CloudWatch::Alarm")
    checked = 0
    watched: set[tuple[str, str, str]] = set()  # (function, metric, outcome) of every EMF alarm series
    for lid, a in sorted(alarms.items()):
        series, errs = _alarm_series(lid, a.get("Properties", {}))
        errors += errs
        emf_fn: set[str] = set()
        outcomes: set[str] = set()
        for raw_ns, metric, dims, _period, _stat in series:
            checked += 1
            ns = resolve_stack_name(raw_ns, stack_name)
            if ns is None:
                errors.append(f"{lid}: namespace {raw_ns!r} is neither a literal nor a !Sub of ${{AWS::StackName}} only")
                continue
            if ns == LAMBDA_NAMESPACE:
                target = _lambda_target(dims, src, fns)
                if metric not in LAMBDA_METRICS:
                    errors.append(f"{lid}: {LAMBDA_NAMESPACE} has no per-function metric {metric!r}")
                if target is None:
                    errors.append(f"{lid}: {LAMBDA_NAMESPACE} dimensions must be FunctionName = !Ref <a function of "
                                  f"this template>, got {dims!r}")
                elif fns[target] not in em.functions:
                    errors.append(f"{lid}: {target} (binary {fns[target]!r}) printed no line in this run")
                continue
            if not all(isinstance(v, str) for v in dims.values()):
                errors.append(f"{lid}: {ns}/{metric}: dimension values must be literals (the functions print "
                              f"literals), got {dims!r}")
                continue
            key = (ns, metric, frozenset(dims.items()))
            fn = dims.get("function")
            emf_fn.add(fn)
            if "outcome" in dims:
                outcomes.add(dims["outcome"])
            series_id = (str(fn), str(metric), str(dims.get("outcome")))
            watched.add(series_id)
            if key in em.series:
                if series_id in allowed:
                    errors.append(f"{lid}: ALLOW_UNEMITTED lists {series_id} as impossible for the e2e suite, but this "
                                  f"run emitted it: remove the entry")
                continue
            shape = (ns, metric, frozenset(dims), fn)
            if shape in em.shapes and set(dims) == {"function", "outcome"} and dims["outcome"] in vocabulary:
                # The name, the metric and the dimensions are right and the code has this outcome,
                # but no test made the function print it: the alarm is unproven.
                if series_id in allowed:
                    notes.append(f"{lid}: {fn} {metric} outcome={dims['outcome']} not emitted, allowed: {allowed[series_id]}")
                    continue
                errors.append(f"{lid}: {fn} never emitted {metric} with outcome={dims['outcome']} in this run: an outcome "
                              f"of shared/src the e2e suite did not produce, so nothing proves this alarm series (add "
                              f"a test that produces it; only if none can, an ALLOW_UNEMITTED entry with the reason)")
                continue
            near = sorted({dict(d).get("outcome", "") for d in em.shapes.get(shape, set())})
            seen = sorted({(n, m, tuple(sorted(k for k, _ in d))) for (n, m, d) in em.series if dict(d).get("function") == fn})
            errors.append(f"{lid}: no line emitted namespace {ns!r}, metric {metric!r}, dimensions {dict(sorted(dims.items()))}"
                          + (f" (outcomes seen: {near})" if near else f" (what {fn!r} emitted: {seen[:8]})"))
        covers = (a.get("Metadata") or {}).get("AlarmCovers")
        if covers is None:
            continue
        if covers not in COVERS or len(emf_fn) != 1:
            errors.append(f"{lid}: AlarmCovers {covers!r} needs one of {sorted(COVERS)} and one EMF function, "
                          f"got functions {sorted(map(str, emf_fn))}")
            continue
        (fn,), want = emf_fn, COVERS[covers]
        mine = [line for line in em.lines if line.get("function") == fn]
        for line in mine:
            if want(line) and line.get("outcome") not in outcomes:
                errors.append(f"{lid}: {line['_where']}: {fn} printed outcome {line.get('outcome')!r} "
                              f"(status {line.get('status')!r}) that this {covers} alarm does not sum")
            elif not want(line) and line.get("outcome") in outcomes:
                errors.append(f"{lid}: {line['_where']}: outcome {line.get('outcome')!r} also appears on a line "
                              f"that is not {covers} (status {line.get('status')!r}): the alarm would count it")
        if not any(want(line) for line in mine):
            notes.append(f"{lid}: the run printed no {covers} line of {fn} (coverage not exercised)")
    for series_id, reason in sorted(allowed.items()):
        if series_id not in watched:
            errors.append(f"ALLOW_UNEMITTED: {series_id} is a series no alarm watches: remove the entry")
        elif series_id[2] not in vocabulary:
            errors.append(f"ALLOW_UNEMITTED: {series_id}: outcome {series_id[2]!r} is not one shared/src can produce")
        elif not str(reason).strip():
            errors.append(f"ALLOW_UNEMITTED: {series_id} has no reason")
    errors += check_dashboard(src, em, fns, stack_name)
    return errors, notes, checked


# SEARCH('{schema} terms', 'stat', ...); the schema may hold ${AWS::StackName} (the body is a !Sub).
SEARCH = re.compile(r"SEARCH\('\{((?:\$\{[^}]*\}|[^}])*)\}\s*([^']*)',\s*'([^']+)'")


def check_dashboard(src: dict[str, Any], em: Emitted, fns: dict[str, str], stack_name: str) -> list[str]:
    errors = []
    for lid, d in of_type(src.get("Resources", {}), "AWS::CloudWatch::Dashboard").items():
        body = d.get("Properties", {}).get("DashboardBody")
        text = body.get("Fn::Sub") if isinstance(body, dict) else body
        if not isinstance(text, str):
            errors.append(f"{lid}: DashboardBody is not a string")
            continue
        for m in SEARCH.finditer(text.replace('\\"', '"')):
            schema = [s.strip() for s in m.group(1).split(",")]
            raw_ns, dimnames = schema[0], frozenset(schema[1:])
            quoted = len(raw_ns) >= 2 and raw_ns[0] == raw_ns[-1] == '"'
            ns = resolve_stack_name({"Fn::Sub": raw_ns[1:-1] if quoted else raw_ns}, stack_name)
            if ns is None:
                errors.append(f"{lid}: SEARCH {{{m.group(1)}}}: the namespace may use only ${{AWS::StackName}}")
                continue
            if not quoted and not re.fullmatch(r"[A-Za-z0-9]+", ns):
                # CloudWatch: a namespace with a space or non-alphanumeric character must be in
                # double quotes inside the metric schema (search-expression-syntax).
                errors.append(f"{lid}: SEARCH {{{m.group(1)}}}: namespace {ns!r} must be in double quotes")
            fn = (re.search(r'function="([^"]+)"', m.group(2)) or [None, None])[1]
            for metric in re.findall(r'MetricName="([^"]+)"', m.group(2)):
                if (ns, metric, dimnames, fn) not in em.shapes:
                    errors.append(f"{lid}: SEARCH {{{m.group(1)}}} function={fn} MetricName={metric}: no line emitted it "
                                  f"(namespace {ns!r})")
        for row in re.findall(r'\["AWS/Lambda", "([A-Za-z]+)", "FunctionName", "\$\{([A-Za-z0-9]+)\}"', text):
            if row[0] not in LAMBDA_METRICS or row[1] not in fns:
                errors.append(f"{lid}: Lambda row {row[0]} of ${{{row[1]}}}: not a Lambda metric of a function here")
    return errors


# ---- self-test -----------------------------------------------------------------------------------
def _mutations() -> list[tuple[str, Callable[[dict[str, Any], list[tuple[str, dict[str, Any]]]], None]]]:
    def props(t: dict[str, Any], lid: str) -> dict[str, Any]:
        return t["Resources"][lid]["Properties"]

    def dims(t: dict[str, Any], lid: str, i: int) -> list[dict[str, Any]]:
        return props(t, lid)["Metrics"][i]["MetricStat"]["Metric"]["Dimensions"]

    def first(lines: list[tuple[str, dict[str, Any]]], **match: Any) -> dict[str, Any]:
        return next(o for _w, o in lines if all(o.get(k) == v for k, v in match.items()))

    return [
        ("misspelled outcome", lambda t, _l: dims(t, "PublishSync5xxAlarm", 2)[1].update(Value="provider_unavailabe")),
        ("misspelled single-metric outcome", lambda t, _l: props(t, "GatedContent401Alarm")["Dimensions"][1].update(
            Value="invalid_tokens")),
        ("misspelled function", lambda t, _l: props(t, "DeleteCleanup401Alarm")["Dimensions"][0].update(Value="delete_cleanup")),
        ("function dimension named after the Lambda", lambda t, _l: props(t, "PublishSync401Alarm")["Dimensions"][0].update(
            Value="gatehouse-publish-sync")),
        ("dimension name misspelled", lambda t, _l: dims(t, "ReconcileDriftAlarm", 1)[1].update(Name="Outcome")),
        ("metric misspelled", lambda t, _l: props(t, "TokenExchange401Alarm").update(MetricName="request")),
        ("reconcile metric that does not exist",
         lambda t, _l: props(t, "ReconcileDriftAlarm")["Metrics"][1]["MetricStat"]["Metric"].update(MetricName="repaired")),
        ("namespace misspelled", lambda t, _l: props(t, "GatedContent401Alarm").update(Namespace="Gatehouse")),
        ("dimension value from a parameter", lambda t, _l: props(t, "GatedContent401Alarm")["Dimensions"][1].update(
            Value=ref("Authorizer"))),
        ("5xx alarm misses an outcome seen with 503",
         lambda t, _l: props(t, "PublishSync5xxAlarm")["Metrics"].pop(2)),  # provider_unavailable
        ("gated-content 5xx alarm misses cms_unavailable",
         lambda t, _l: props(t, "GatedContent5xxAlarm")["Metrics"].pop(1)),
        ("5xx alarm sums a 200 outcome", lambda t, _l: dims(t, "PublishSync5xxAlarm", 2)[1].update(Value="synced")),
        ("401 alarm on the wrong code", lambda t, _l: props(t, "PublishSync401Alarm")["Dimensions"][1].update(
            Value="bad_request")),
        ("failed alarm misses bad_request", lambda t, _l: props(t, "ReconcileFailedAlarm")["Metrics"].pop(1)),
        ("unknown cover", lambda t, _l: t["Resources"]["TokenExchange5xxAlarm"]["Metadata"].update(AlarmCovers="5XX")),
        ("Lambda alarm on an unknown function",
         lambda t, _l: props(t, "ReconcileLambdaErrorsAlarm")["Dimensions"][0].update(Value=ref("ReconcilerFunction"))),
        ("Lambda alarm on a literal name",
         lambda t, _l: props(t, "GatedContentLambdaThrottlesAlarm")["Dimensions"][0].update(Value="gated-content")),
        ("Lambda metric that is not per function", lambda t, _l: props(t, "PublishSyncLambdaErrorsAlarm").update(
            MetricName="UnreservedConcurrentExecutions")),
        ("dashboard SEARCH of a misspelled metric", lambda t, _l: props(t, "Dashboard").update(DashboardBody={
            "Fn::Sub": props(t, "Dashboard")["DashboardBody"]["Fn::Sub"].replace('MetricName=\\"latency_ms\\"', 'MetricName=\\"latency\\"', 1)})),
        ("dashboard Lambda row of an unknown function", lambda t, _l: props(t, "Dashboard").update(DashboardBody={
            "Fn::Sub": props(t, "Dashboard")["DashboardBody"]["Fn::Sub"].replace("${TokenExchangeFunction}", "${TokenFunction}", 1)})),
        # the lines themselves
        ("no lines", lambda _t, lines: lines.clear()),
        ("a function never ran", lambda _t, lines: lines.__setitem__(
            slice(None), [x for x in lines if x[1].get("function") != "token-exchange"])),
        ("metric value missing", lambda _t, lines: first(lines, function="publish-sync").pop("latency_ms")),
        ("dimension not on the line", lambda _t, lines: first(lines, function="gated-content").pop("outcome")),
        ("timestamp in seconds", lambda _t, lines: first(lines, function="reconcile")["_aws"].update(Timestamp=1.7e9)),
        ("unit not a CloudWatch unit", lambda _t, lines: first(lines, function="reconcile")["_aws"]["CloudWatchMetrics"][0][
            "Metrics"][0].update(Unit="ms")),
        ("a 503 with an outcome no alarm sums", lambda _t, lines: first(lines, function="delete-cleanup").update(
            status=503, outcome="upstream_busy")),
        # an alarm series the functions can emit but the suite did not (ALLOW_UNEMITTED is empty)
        ("gated-content never answered authz_unavailable", lambda _t, lines: lines.__setitem__(slice(None), [
            x for x in lines if (x[1].get("function"), x[1].get("outcome")) != ("gated-content", "authz_unavailable")])),
        ("no reconcile run failed cms_unavailable (containers.log missing)", lambda _t, lines: lines.__setitem__(
            slice(None), [x for x in lines if (x[1].get("function"), x[1].get("outcome")) != ("reconcile", "cms_unavailable")])),
        ("token-exchange never answered session_keys_unavailable", lambda _t, lines: lines.__setitem__(slice(None), [
            x for x in lines if (x[1].get("function"), x[1].get("outcome")) != ("token-exchange", "session_keys_unavailable")])),
        # the per-stack namespace
        ("alarm on the shared gatehouse namespace", lambda t, _l: props(t, "GatedContent401Alarm").update(Namespace="gatehouse")),
        ("math alarm on another stack's namespace", lambda t, _l: props(t, "ReconcileErrorsAlarm")["Metrics"][2]["MetricStat"][
            "Metric"].update(Namespace="gatehouse/local-dev")),
        ("alarm namespace from another variable", lambda t, _l: props(t, "PublishSync401Alarm").update(
            Namespace={"Fn::Sub": "gatehouse/${AWS::Region}"})),
        ("functions printed the default namespace", lambda _t, lines: [
            d.update(Namespace="gatehouse") for _w, o in lines for d in o["_aws"]["CloudWatchMetrics"]]),
        ("dashboard SEARCH on the shared gatehouse namespace", lambda t, _l: props(t, "Dashboard").update(DashboardBody={
            "Fn::Sub": props(t, "Dashboard")["DashboardBody"]["Fn::Sub"].replace('{\\"gatehouse/${AWS::StackName}\\",', "{gatehouse,", 1)})),
        ("dashboard SEARCH namespace unquoted", lambda t, _l: props(t, "Dashboard").update(DashboardBody={
            "Fn::Sub": props(t, "Dashboard")["DashboardBody"]["Fn::Sub"].replace(
                '{\\"gatehouse/${AWS::StackName}\\",', "{gatehouse/${AWS::StackName},", 1)})),
    ]


def _allow_list_mutations() -> list[tuple[str, Callable[[dict[str, Any], list[tuple[str, dict[str, Any]]],
                                                        dict[tuple[str, str, str], str]], None]]]:
    """Broken ALLOW_UNEMITTED lists (with the lines and template they are checked against)."""
    def drop(lines: list[tuple[str, dict[str, Any]]], fn: str, outcome: str) -> None:
        lines[:] = [x for x in lines if (x[1].get("function"), x[1].get("outcome")) != (fn, outcome)]

    return [
        ("allow-list entry for a series the run emitted",
         lambda _t, _l, allowed: allowed.update({("publish-sync", "requests", "invalid_signature"): "cannot be produced"})),
        ("allow-list entry no alarm watches",
         lambda _t, _l, allowed: allowed.update({("publish-sync", "requests", "synced"): "not an alarm series"})),
        ("allow-list entry without a reason", lambda _t, lines, allowed: (
            drop(lines, "gated-content", "authz_unavailable"),
            allowed.update({("gated-content", "requests", "authz_unavailable"): " "}))),
        ("allow-list entry does not excuse a misspelled metric", lambda t, lines, allowed: (
            t["Resources"]["GatedContent401Alarm"]["Properties"].update(MetricName="request"),
            allowed.update({("gated-content", "request", "invalid_token"): "a misspelling is no reason"}))),
    ]


def load_fixture() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{FIXTURE.name}:{n}", o) for n, o in emf_objects(FIXTURE.read_text(encoding="utf-8"))]


def write_fixture(objects: list[tuple[str, dict[str, Any]]]) -> int:
    picked: dict[tuple[Any, ...], dict[str, Any]] = {}
    for _where, o in objects:
        metrics = tuple(sorted(m["Name"] for d in o.get("_aws", {}).get("CloudWatchMetrics", []) for m in d.get("Metrics", [])))
        picked.setdefault((o.get("function"), o.get("outcome"), o.get("status"), metrics), o)
    lines = []
    for _k, o in sorted(picked.items(), key=lambda kv: json.dumps(kv[0], default=str)):
        o = dict(o)
        if isinstance(o.get("details"), list):
            o["details"] = o["details"][:2]  # a reconcile report's first entries are enough
        lines.append(json.dumps(o, separators=(",", ":")))
    if not lines:
        print("check_alarm_metrics: no EMF lines in the logs; fixture not written")
        return 1
    FIXTURE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"check_alarm_metrics: wrote {len(lines)} lines to {FIXTURE.relative_to(ROOT)}")
    return 0


def self_test(src: dict[str, Any]) -> int:
    vocabulary = source_outcomes()
    lines = load_fixture()
    stack = FIXTURE_STACK_NAME
    errors, _notes, _n = check(src, Emitted(lines), vocabulary, stack)
    if errors:
        print("self-test: the template fails against the fixture itself; fix that first:", *errors, sep="\n  ")
        return 1
    failures = 0
    # What must pass: a series the suite cannot produce, listed with its reason, may be absent.
    ls = [x for x in copy.deepcopy(lines) if (x[1].get("function"), x[1].get("outcome")) != ("gated-content", "authz_unavailable")]
    errs, _notes, _n = check(src, Emitted(ls), vocabulary, stack,
                             {("gated-content", "requests", "authz_unavailable"): "self-test: no PDP to stop"})
    if errs:
        print(f"self-test: REFUSED an allow-listed series that was not emitted: {errs[0]}")
        failures += 1
    else:
        print("self-test: accepted an allow-listed series that was not emitted")
    cases = [(n, (lambda f: lambda t, ls, _a: f(t, ls))(f)) for n, f in _mutations()] + _allow_list_mutations()
    for name, mutate in cases:
        t, ls, allowed = copy.deepcopy(src), copy.deepcopy(lines), dict(ALLOW_UNEMITTED)
        mutate(t, ls, allowed)
        errs, _notes, _n = check(t, Emitted(ls), vocabulary, stack, allowed)
        if errs:
            print(f"self-test: caught  {name}: {errs[0]}")
        else:
            print(f"self-test: MISSED {name}")
            failures += 1
    print(f"self-test: {len(cases) + 1 - failures} passed, {failures} failed")
    return 1 if failures else 0


def local_stack_name(path: Path) -> tuple[str | None, str | None, str]:
    """(LOCAL_STACK_NAME, METRICS_NAMESPACE, problem) from scripts/stack.sh's stack.env."""
    try:
        env = dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)
    except OSError as e:
        return None, None, f"cannot read {path}: {e.strerror} (pass --stack-name, or run the e2e suite's stack)"
    name, ns = env.get("LOCAL_STACK_NAME") or None, env.get("METRICS_NAMESPACE") or None
    if not name:
        return None, ns, f"{path} has no LOCAL_STACK_NAME (a stack.sh from before per-stack namespaces? pass --stack-name)"
    return name, ns, ""


def main(argv: list[str]) -> int:
    patterns: list[str] = []
    args: list[str] = []
    stack_name: str | None = None
    it = iter(argv)
    for a in it:
        if a == "--logs":
            patterns.append(next(it, ""))
        elif a == "--stack-name":
            stack_name = next(it, "")
        elif not a.startswith("--"):
            args.append(a)
    src = load_template(Path(args[0]) if args else ROOT / "template.yaml")
    if "--self-test" in argv:
        return self_test(src)
    objects, files = read_logs(patterns or DEFAULT_LOGS)
    if "--write-fixture" in argv:
        return write_fixture(objects)
    given_ns: str | None = None
    if not stack_name:
        stack_name, given_ns, problem = local_stack_name(STACK_ENV)
        if not stack_name:
            print(f"check_alarm_metrics: FAIL cannot resolve ${{AWS::StackName}}: {problem}")
            return 1
    em = Emitted(objects)
    errors, notes, checked = check(src, em, source_outcomes(), stack_name)
    # The namespace stack.sh gave the functions must be the one the template gives a stack of that
    # name (else the comparison above proves nothing about a deployed stack).
    want_ns = resolve_stack_name(_emf_namespace(src), stack_name)
    if given_ns is None:
        # The alarm-by-alarm comparison above still fails on a namespace no line carries.
        notes.append("stack.sh's METRICS_NAMESPACE was not compared with the template's "
                     + ("(--stack-name given)" if "--stack-name" in argv else f"({STACK_ENV} names none)"))
    elif given_ns != want_ns:
        errors.append(f"{STACK_ENV}: METRICS_NAMESPACE={given_ns} but the template gives a stack named "
                      f"{stack_name} {want_ns!r} (scripts/stack.sh and template.yaml disagree)")
    if patterns == [] and not CONTAINERS_LOG.exists():
        notes.append(f"no {CONTAINERS_LOG.relative_to(ROOT)}: the answers only the e2e suite's own containers give "
                     "(session_keys_unavailable, authz_unavailable, reconcile failures) were not read")
    for n in notes:
        print(f"check_alarm_metrics: note {n}")
    for e in errors:
        print(f"check_alarm_metrics: FAIL {e}")
    alarms = len(of_type(src.get("Resources", {}), "AWS::CloudWatch::Alarm"))
    from_containers = sum(1 for line in em.lines if line["_where"].startswith(CONTAINERS_LOG.name + ":"))
    summary = (f"{len(em.lines)} EMF lines in {len(files)} log files ({from_containers} from {CONTAINERS_LOG.name}), "
               f"{len(em.series)} distinct series, {alarms} alarms ({checked} alarm metrics), stack name {stack_name}")
    if errors:
        print(f"check_alarm_metrics: {len(errors)} problem(s); {summary}")
        return 1
    print(f"check_alarm_metrics: OK: {summary}; {len(notes)} note(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
