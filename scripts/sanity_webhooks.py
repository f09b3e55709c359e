"""Creates or updates gatehouse's Sanity webhooks through Sanity's Webhooks API (docs/webhooks.md).

The hooks come from fixtures/webhooks/gatehouse.json (filter, projection, trigger, API version),
the webhook secret and the project/dataset from the Secrets Manager secret named by
SANITY_SECRET_ARN, the function URLs from the flags. Every check (URLs, secret, dataset, token
grant) runs before the first write, so a refusal changes nothing. Run through scripts/sanity-webhooks.
"""
import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "fixtures" / "webhooks" / "gatehouse.json"
# The hooks endpoints' version (docs/webhooks.md cites where it comes from); the datasets
# list is a Projects API endpoint with its own version.
HOOKS_API_VERSION = "v2025-02-19"
PROJECTS_API_VERSION = "v2021-06-07"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
SECRET_FIELDS = ("project_id", "dataset", "webhook_secret")
# Settings compared (and so set) on every hook; the rest (id, createdAt, ...) is Sanity's.
FIELDS = ("dataset", "url", "httpMethod", "apiVersion", "includeDrafts", "includeAllVersions",
          "rule", "headers", "secret", "isDisabledByUser")


class Refusal(Exception):
    """A reason to stop before writing anything: printed as one line, exit 1."""


def refuse(msg):
    raise Refusal(msg)


def is_local(url):
    return urllib.parse.urlsplit(url).hostname in LOCAL_HOSTS


def check_url(what, url):
    u = urllib.parse.urlsplit(url or "")
    if u.scheme not in ("http", "https") or not u.hostname:
        refuse(f"{what} {url!r} is not an http(s) URL")
    if u.scheme != "https" and not is_local(url):
        refuse(f"{what} {url} is not https (plain http only for 127.0.0.1/localhost, the local stack)")


def read_secret(arn):
    import boto3  # moto[server] in requirements-tools.txt brings it into .venv

    try:
        raw = boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    except Exception as e:  # botocore's errors are many classes; the message says which
        refuse(f"cannot read secret {arn}: {e}")
    try:
        value = json.loads(raw)
    except ValueError:
        refuse(f"secret {arn} is not JSON")
    if not isinstance(value, dict):
        refuse(f"secret {arn} is not a JSON object")
    for field in SECRET_FIELDS:
        if not isinstance(value.get(field), str) or not value[field]:
            refuse(f"secret {arn} has no field `{field}` (needs {', '.join(SECRET_FIELDS)})")
    return value


class Sanity:
    def __init__(self, project, token, host):
        self.project, self.token = project, token
        self.hooks_base = f"{host or f'https://{project}.api.sanity.io'}/{HOOKS_API_VERSION}/hooks/projects/{project}"
        self.datasets_url = f"{host or 'https://api.sanity.io'}/{PROJECTS_API_VERSION}/projects/{project}/datasets"

    def call(self, method, url, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={
            "authorization": f"Bearer {self.token}", "content-type": "application/json", "accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace")
            try:
                detail = json.loads(text)
            except ValueError:
                detail = text
            return e.code, detail
        except (urllib.error.URLError, OSError) as e:
            refuse(f"cannot reach the Sanity API at {url}: {getattr(e, 'reason', e)}")


def message(body):
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return err.get("description") or json.dumps(err)
        return body.get("message") or err or json.dumps(body)
    return str(body)[:200]


def desired_hooks(spec, idp, prefix, urls, dataset, secret):
    out = []
    for h in spec["idp"][idp]:
        out.append({
            "name": prefix + h["name"],
            "dataset": dataset,
            "url": urls[h["function"]],
            "httpMethod": spec["httpMethod"],
            "apiVersion": spec["apiVersion"],
            "includeDrafts": spec["includeDrafts"],
            "includeAllVersions": spec["includeAllVersions"],
            "rule": {"on": h["on"], "filter": h["filter"], "projection": h["projection"]},
            "headers": {},
            "secret": secret,
            "isDisabledByUser": False,
        })
    return out


def normal(field, value):
    """A field as compared: rule without empty parts and with `on` as a sorted list."""
    if field == "rule":
        value = dict(value or {})
        value["on"] = sorted(value.get("on") or [])
        return {k: v for k, v in value.items() if v not in (None, "")}
    if field == "headers":
        return value or {}
    return value


def diff(have, want, force_secret):
    changes = {}
    for f in FIELDS:
        if f not in have and not (f == "secret" and force_secret):
            continue  # a field this API version does not show cannot be compared; left as is
        if f == "secret" and force_secret:
            changes[f] = (have.get(f), want[f])
            continue
        if normal(f, have.get(f)) != normal(f, want[f]):
            changes[f] = (have.get(f), want[f])
    return changes


def show(field, old, new):
    if field == "secret":
        return "secret: (set)" if not old else "secret: (changed)"
    fmt = lambda v: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else json.dumps(v)
    return f"{field}: {fmt(old)} -> {fmt(new)}"


def main(argv=None):
    p = argparse.ArgumentParser(prog="scripts/sanity-webhooks", description=__doc__.split("\n\n")[0])
    p.add_argument("--publish-sync-url", default=os.environ.get("PUBLISH_SYNC_URL"),
                   help="publish-sync's function URL (the PublishSyncUrl stack output; env PUBLISH_SYNC_URL)")
    p.add_argument("--delete-cleanup-url", default=os.environ.get("DELETE_CLEANUP_URL"),
                   help="delete-cleanup's function URL (the DeleteCleanupUrl stack output; env DELETE_CLEANUP_URL)")
    p.add_argument("--idp", default=os.environ.get("IDP", "stytch"), choices=["stytch", "descope"],
                   help="which content model's pair to register (env IDP; default stytch)")
    p.add_argument("--name-prefix", default="gatehouse-",
                   help="prefix of the hook names, so two deployments can share a project (default gatehouse-)")
    p.add_argument("--dry-run", action="store_true", help="print what would change and change nothing")
    p.add_argument("--force-secret", action="store_true",
                   help="set the secret even where the API does not show the current one")
    args = p.parse_args(argv)

    try:
        spec = json.loads(SPEC.read_text())
        urls = {"publish-sync": args.publish_sync_url, "delete-cleanup": args.delete_cleanup_url}
        for fn, url in urls.items():
            if not url:
                refuse(f"no URL for {fn}: pass --{fn}-url (or set {fn.upper().replace('-', '_')}_URL)")
            check_url(f"{fn} URL", url)
        arn = os.environ.get("SANITY_SECRET_ARN")
        if not arn:
            refuse("SANITY_SECRET_ARN is not set (the secret with project_id, dataset, webhook_secret)")
        token = os.environ.get("SANITY_AUTH_TOKEN")
        if not token:
            refuse("SANITY_AUTH_TOKEN is not set (a Sanity token with the Developer or Administrator role)")
        host = os.environ.get("SANITY_API_HOST", "").rstrip("/") or None
        if host:
            check_url("SANITY_API_HOST", host)
        secret = read_secret(arn)
        project, dataset = secret["project_id"], secret["dataset"]
        api = Sanity(project, token, host)

        status, body = api.call("GET", api.datasets_url)
        if status == 401:
            refuse(f"SANITY_AUTH_TOKEN is not accepted for project {project}: {message(body)}")
        if status != 200 or not isinstance(body, list):
            refuse(f"listing the datasets of project {project} failed: HTTP {status} {message(body)}")
        names = [d.get("name") for d in body]
        if dataset not in names:
            refuse(f"project {project} has no dataset `{dataset}` (it has: {', '.join(names) or 'none'})")

        status, existing = api.call("GET", api.hooks_base)
        if status in (401, 403):
            refuse(f"SANITY_AUTH_TOKEN lacks the sanity.project.webhooks grant (role Developer or Administrator): {message(existing)}")
        if status != 200 or not isinstance(existing, list):
            refuse(f"listing the webhooks of project {project} failed: HTTP {status} {message(existing)}")

        plan = []  # (action, want, have, changes)
        for want in desired_hooks(spec, args.idp, args.name_prefix, urls, dataset, secret["webhook_secret"]):
            same = [h for h in existing if h.get("name") == want["name"]]
            if len(same) > 1:
                refuse(f"{len(same)} webhooks are named {want['name']} ({', '.join(h['id'] for h in same)}); delete all but one")
            if not same:
                plan.append(("create", want, None, {}))
                continue
            have = same[0]
            changes = diff(have, want, args.force_secret)
            # The update body has no dataset (docs/webhooks.md): moving one means a new hook.
            action = "replace" if "dataset" in changes else "update" if changes else "unchanged"
            plan.append((action, want, have, changes))
    except Refusal as e:
        print(f"sanity-webhooks: refused: {' '.join(str(e).split())}", file=sys.stderr)  # one line, always
        return 1

    print(f"sanity-webhooks: project {project}, dataset {dataset}, IDP {args.idp}{' (dry run)' if args.dry_run else ''}")
    for action, want, have, changes in plan:
        where = f" ({have['id']})" if have else ""
        print(f"  {action:<9} {want['name']}{where} -> {want['url']}")
        for f, (old, new) in changes.items():
            print(f"              {show(f, old, new)}")
    counts = {a: sum(1 for x in plan if x[0] == a) for a in ("create", "update", "replace", "unchanged")}
    if not any(counts[a] for a in ("create", "update", "replace")):
        print(f"sanity-webhooks: nothing to do ({counts['unchanged']} unchanged)")
        return 0
    if args.dry_run:
        todo = ", ".join(f"{n} to {a}" if a != "unchanged" else f"{n} unchanged" for a, n in counts.items() if n)
        print(f"sanity-webhooks: dry run, nothing changed ({todo})")
        return 0

    for action, want, have, changes in plan:
        if action in ("create", "replace"):
            status, body = api.call("POST", api.hooks_base, {"type": "document", **want})
            if status not in (200, 201):
                print(f"sanity-webhooks: creating {want['name']} failed: HTTP {status} {message(body)}", file=sys.stderr)
                return 1
            if action == "replace":
                status, body = api.call("DELETE", f"{api.hooks_base}/{urllib.parse.quote(have['id'])}")
                if status != 200:
                    print(f"sanity-webhooks: {want['name']} created anew, but deleting the old one ({have['id']}) "
                          f"failed: HTTP {status} {message(body)}", file=sys.stderr)
                    return 1
        elif action == "update":
            patch = {f: want[f] for f in changes}
            status, body = api.call("PATCH", f"{api.hooks_base}/{urllib.parse.quote(have['id'])}", patch)
            if status != 200:
                print(f"sanity-webhooks: updating {want['name']} failed: HTTP {status} {message(body)}", file=sys.stderr)
                return 1
    past = {"create": "created", "update": "updated", "replace": "replaced", "unchanged": "unchanged"}
    print(f"sanity-webhooks: done ({', '.join(f'{n} {past[a]}' for a, n in counts.items() if n)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
