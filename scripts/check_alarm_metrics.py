#!/usr/bin/env python3
"""Proof that every alarm in template.yaml watches a metric the functions really emit.

The functions print one CloudWatch embedded-metric-format (EMF) line per request or run
(shared/src/log.rs). This script reads those lines from the logs of a run of the e2e suite
(.stack/test/*.log: the stack's `cargo lambda watch` processes) and checks, against the template:

  - every line is valid EMF (what CloudWatch needs to turn it into metrics);
  - every gatehouse-namespace alarm metric (namespace, metric name, dimension names and values)
    was emitted by some line; a dimension value that no line carried fails, unless it is an
    outcome the Rust code can produce (an error code or sync outcome literal in shared/src) that
    the suite never exercised: those are listed, not failed;
  - coverage (the alarm's Metadata.AlarmCovers): every line of the alarm's function with status
    >= 500 ("5xx"), status 401 ("401") or the `failed` metric ("failed") has an outcome the alarm
    sums, and no outcome the alarm sums was ever seen on another kind of line;
  - AWS/Lambda alarms name a function of this template (FunctionName = !Ref <function>) whose
    binary printed lines in the run;
  - the dashboard's SEARCH expressions and Lambda rows name emitted metrics and real functions.

Usage:
    .venv/bin/python scripts/check_alarm_metrics.py [--logs 'GLOB' ...] [template.yaml]
    .venv/bin/python scripts/check_alarm_metrics.py --self-test   # broken copies must fail
    .venv/bin/python scripts/check_alarm_metrics.py --write-fixture [--logs 'GLOB' ...]
The self-test reads fixtures/emf-lines.jsonl (lines copied from a real e2e run) instead of logs;
--write-fixture refreshes it from the logs: one line per (function, outcome, status, metrics).
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
from check_template import ROOT, _alarm_series, as_list, load_template, of_type, ref  # noqa: E402

DEFAULT_LOGS = [str(ROOT / ".stack/test/*.log")]
FIXTURE = ROOT / "fixtures/emf-lines.jsonl"
SOURCE_DIR = ROOT / "shared/src"
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
    files = sorted({f for p in patterns for f in glob.glob(p)})
    objects = []
    for f in files:
        text = Path(f).read_text(encoding="utf-8", errors="replace")
        objects += [(f"{Path(f).name}:{n}", o) for n, o in emf_objects(text)]
    return objects, files


# ---- what the Rust code can emit as an outcome ---------------------------------------------------
def source_outcomes() -> set[str]:
    """String literals the Rust code returns as an outcome: the bodies of every `fn code` and
    `fn as_str` in shared/src (error codes, sync outcomes), and shared/src/app.rs's literals
    (served, minted, preflight, complete, partial, dry_run)."""
    out: set[str] = set()
    lit = re.compile(r'"([a-z][a-z0-9_]*)"')
    for path in SOURCE_DIR.rglob("*.rs"):
        text = path.read_text(encoding="utf-8")
        if path.name == "app.rs":
            out |= set(lit.findall(text))
        for m in re.finditer(r"fn (?:code|as_str)\s*\([^)]*\)[^{]*\{", text):
            depth, i = 1, m.end()
            while depth and i < len(text):
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                i += 1
            out |= set(lit.findall(text[m.end():i]))
    return out


# ---- the checks ----------------------------------------------------------------------------------
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


def check(src: dict[str, Any], em: Emitted, vocabulary: set[str]) -> tuple[list[str], list[str], int]:
    """(errors, notes, series checked)."""
    errors = list(em.problems)
    notes: list[str] = []
    if not em.lines:
        return errors + ["no EMF lines found (did the e2e suite run, and are its logs where --logs says?)"], notes, 0
    fns = _function_ids(src)
    alarms = of_type(src.get("Resources", {}), "AWS::CloudWatch::Alarm")
    if not alarms:
        errors.append("template.yaml has no AWS::CloudWatch::Alarm")
    checked = 0
    for lid, a in sorted(alarms.items()):
        series, errs = _alarm_series(lid, a.get("Properties", {}))
        errors += errs
        emf_fn: set[str] = set()
        outcomes: set[str] = set()
        for ns, metric, dims, _period, _stat in series:
            checked += 1
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
            if key in em.series:
                continue
            # Not emitted as such. Only an outcome the suite never produced may pass, and only if
            # the function emitted this metric with these dimension names and the code has it.
            shape = (ns, metric, frozenset(dims), fn)
            if shape in em.shapes and set(dims) == {"function", "outcome"} and dims["outcome"] in vocabulary:
                notes.append(f"{lid}: {fn} never emitted {metric} with outcome={dims['outcome']} in this run "
                             f"(an outcome of shared/src; not exercised by the e2e suite)")
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
    errors += check_dashboard(src, em, fns)
    return errors, notes, checked


SEARCH = re.compile(r"SEARCH\('\{([^}]*)\}\s*([^']*)',\s*'([^']+)'")


def check_dashboard(src: dict[str, Any], em: Emitted, fns: dict[str, str]) -> list[str]:
    errors = []
    for lid, d in of_type(src.get("Resources", {}), "AWS::CloudWatch::Dashboard").items():
        body = d.get("Properties", {}).get("DashboardBody")
        text = body.get("Fn::Sub") if isinstance(body, dict) else body
        if not isinstance(text, str):
            errors.append(f"{lid}: DashboardBody is not a string")
            continue
        for m in SEARCH.finditer(text.replace('\\"', '"')):
            schema = [s.strip() for s in m.group(1).split(",")]
            ns, dimnames = schema[0], frozenset(schema[1:])
            fn = (re.search(r'function="([^"]+)"', m.group(2)) or [None, None])[1]
            for metric in re.findall(r'MetricName="([^"]+)"', m.group(2)):
                if (ns, metric, dimnames, fn) not in em.shapes:
                    errors.append(f"{lid}: SEARCH {{{m.group(1)}}} function={fn} MetricName={metric}: no line emitted it")
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
    errors, _notes, _n = check(src, Emitted(lines), vocabulary)
    if errors:
        print("self-test: the template fails against the fixture itself; fix that first:", *errors, sep="\n  ")
        return 1
    failures = 0
    for name, mutate in _mutations():
        t, ls = copy.deepcopy(src), copy.deepcopy(lines)
        mutate(t, ls)
        errs, _notes, _n = check(t, Emitted(ls), vocabulary)
        if errs:
            print(f"self-test: caught  {name}: {errs[0]}")
        else:
            print(f"self-test: MISSED {name}")
            failures += 1
    print(f"self-test: {len(_mutations()) - failures} passed, {failures} failed")
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    patterns: list[str] = []
    args: list[str] = []
    it = iter(argv)
    for a in it:
        if a == "--logs":
            patterns.append(next(it, ""))
        elif not a.startswith("--"):
            args.append(a)
    src = load_template(Path(args[0]) if args else ROOT / "template.yaml")
    if "--self-test" in argv:
        return self_test(src)
    objects, files = read_logs(patterns or DEFAULT_LOGS)
    if "--write-fixture" in argv:
        return write_fixture(objects)
    em = Emitted(objects)
    errors, notes, checked = check(src, em, source_outcomes())
    for n in notes:
        print(f"check_alarm_metrics: note {n}")
    for e in errors:
        print(f"check_alarm_metrics: FAIL {e}")
    alarms = len(of_type(src.get("Resources", {}), "AWS::CloudWatch::Alarm"))
    summary = (f"{len(em.lines)} EMF lines in {len(files)} log files, {len(em.series)} distinct series, "
               f"{alarms} alarms ({checked} alarm metrics)")
    if errors:
        print(f"check_alarm_metrics: {len(errors)} problem(s); {summary}")
        return 1
    print(f"check_alarm_metrics: OK: {summary}; {len(notes)} note(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
