"""scripts/sanity-webhooks against real processes: moto (Secrets Manager) and the Sanity emulator
(emulators/sanity), each on a free port, plus a local receiver standing in for the functions.

    .venv/bin/python scripts/test_sanity_webhooks.py      (scripts/test.sh runs it)
"""
import base64
import concurrent.futures
import hashlib
import hmac
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CMD = [str(ROOT / "scripts" / "sanity-webhooks")]
SPEC = json.loads((ROOT / "fixtures" / "webhooks" / "gatehouse.json").read_text())
SECRET = "whsec_test_hooks"
H = "/v2025-02-19/hooks/projects/demo"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
        Receiver.received.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    def log_message(self, *a):
        pass


def call(method, url, body=None, token="sk-manage"):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method,
                                 headers={"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class SanityWebhooks(unittest.TestCase):
    procs = []

    @classmethod
    def setUpClass(cls):
        t0 = time.monotonic()
        moto_port = free_port()
        cls.moto = f"http://127.0.0.1:{moto_port}"
        cls.procs.append(subprocess.Popen([str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        emu = subprocess.Popen(["node", str(ROOT / "emulators" / "sanity" / "server.js")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "SANITY_EMULATOR_PORT": "0", "SANITY_PROJECT_ID": "demo", "SANITY_DATASETS": "production,staging",
                                    "SANITY_TOKENS": "sk-viewer:viewer,sk-editor:editor,sk-manage:developer"})
        cls.procs.append(emu)
        line = emu.stdout.readline()
        m = re.search(r"listening on (http://\S+)", line)
        assert m, f"emulator did not start: {line!r}"
        cls.sanity = m.group(1)
        cls.rx = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=cls.rx.serve_forever, daemon=True).start()
        cls.rx_url = f"http://127.0.0.1:{cls.rx.server_address[1]}"
        for _ in range(100):
            try:
                urllib.request.urlopen(cls.moto, timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        os.environ.update(AWS_ENDPOINT_URL=cls.moto, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1",
                          AWS_DEFAULT_REGION="us-east-1")
        import boto3

        sm = boto3.client("secretsmanager")
        base = {"project_id": "demo", "dataset": "production", "read_token": "sk-viewer", "webhook_secret": SECRET}
        cls.arn = {name: sm.create_secret(Name=f"test/{name}", SecretString=json.dumps(v))["ARN"] for name, v in {
            "good": base,
            "rotated": {**base, "webhook_secret": "whsec_rotated"},
            "staging": {**base, "dataset": "staging"},
            "no-secret": {k: v for k, v in base.items() if k != "webhook_secret"},
            "no-dataset": {**base, "dataset": "nope"},
        }.items()}
        print(f"(moto + emulator up in {time.monotonic() - t0:.2f} s)", file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.rx.shutdown()
        for p in cls.procs:
            p.terminate()
        for p in cls.procs:
            p.wait(timeout=10)

    def setUp(self):
        self.assertEqual(call("POST", f"{self.sanity}/__gatehouse/reset", {"webhooks": True}, token=None)[0], 200)
        Receiver.received.clear()

    def run_cmd(self, *args, secret="good", token="sk-manage", urls=None, **env):
        urls = urls if urls is not None else ["--publish-sync-url", f"{self.rx_url}/publish-sync/", "--delete-cleanup-url", f"{self.rx_url}/delete-cleanup/"]
        e = {**os.environ, "SANITY_SECRET_ARN": self.arn.get(secret, secret), "SANITY_AUTH_TOKEN": token, "SANITY_API_HOST": self.sanity, **env}
        for k in [k for k, v in e.items() if v is None]:
            del e[k]
        t0 = time.monotonic()
        p = subprocess.run(CMD + urls + list(args), env=e, capture_output=True, text=True, timeout=60)
        self.times.append(time.monotonic() - t0)
        return p

    times = []

    def hooks(self):
        status, body = call("GET", self.sanity + H)
        self.assertEqual(status, 200)
        return {h["name"]: h for h in body}

    def hooks_list(self):
        status, body = call("GET", self.sanity + H)
        self.assertEqual(status, 200)
        return body

    def writes(self):
        calls = call("GET", f"{self.sanity}/__gatehouse/calls", token=None)[1]["calls"]
        return sum(c["count"] for c in calls if c["method"] in ("POST", "PATCH", "DELETE") and "/hooks/" in c["path"])

    def test_creates_the_exact_hooks_then_nothing_to_do_and_they_deliver(self):
        p = self.run_cmd()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("done (2 created)", p.stdout)
        hooks = self.hooks()
        self.assertEqual(sorted(hooks), ["gatehouse-delete-cleanup", "gatehouse-publish-sync"])
        for spec in SPEC["idp"]["stytch"]:
            h = hooks["gatehouse-" + spec["name"]]
            self.assertEqual(h["rule"], {"on": spec["on"], "filter": spec["filter"], "projection": spec["projection"]})
            self.assertEqual((h["dataset"], h["url"], h["httpMethod"], h["apiVersion"], h["includeDrafts"], h["includeAllVersions"], h["secret"], h["isDisabledByUser"]),
                             ("production", f"{self.rx_url}/{spec['function']}/", "POST", "v2025-02-19", False, False, SECRET, False))

        before = self.writes()
        again = self.run_cmd()
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("nothing to do (2 unchanged)", again.stdout)
        self.assertEqual(self.writes(), before, "a second run writes nothing")
        self.assertEqual(self.hooks(), hooks)

        # The API-created hooks go through the emulator's delivery path: signed, projected.
        status, _ = call("POST", f"{self.sanity}/v2025-02-19/data/mutate/production", token="sk-editor", body={"mutations": [
            {"create": {"_id": "rule-a", "_type": "accessRule", "stytchOrganizationId": "org-1"}}, {"create": {"_id": "page-a", "_type": "page"}}]})
        self.assertEqual(status, 200)
        call("POST", f"{self.sanity}/v2025-02-19/data/mutate/production", token="sk-editor", body={"mutations": [{"delete": {"id": "rule-a"}}]})
        self.assertEqual(call("GET", f"{self.sanity}/__gatehouse/idle?timeout_ms=5000", token=None)[0], 200)
        got = [(r["path"], json.loads(r["body"])["operation"], json.loads(r["body"])["before"]) for r in Receiver.received]
        self.assertEqual(got, [("/publish-sync/", "create", None), ("/delete-cleanup/", "delete", {"stytchOrganizationId": "org-1", "stytchUserId": None})])
        for r in Receiver.received:
            t, sig = re.fullmatch(r"t=(\d+),v1=(.+)", r["headers"]["sanity-webhook-signature"]).groups()
            want = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), f"{t}.{r['body']}".encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
            self.assertEqual(sig, want)

    def test_dry_run_shows_the_difference_then_a_run_repairs_drift_and_leaves_other_hooks(self):
        self.assertEqual(self.run_cmd().returncode, 0)
        hooks = self.hooks()
        pub = hooks["gatehouse-publish-sync"]
        call("PATCH", f"{self.sanity}{H}/{pub['id']}", {"rule": {"on": ["create"], "filter": '_type == "x"'}, "isDisabledByUser": True, "includeDrafts": True})
        status, other = call("POST", self.sanity + H, {"type": "document", "name": "someone-else", "url": "https://example.com/x", "dataset": "production",
                                                       "apiVersion": "v2025-02-19", "rule": {"on": ["create"]}})
        self.assertEqual(status, 201)
        drifted = self.hooks()
        writes = self.writes()

        dry = self.run_cmd("--dry-run", secret="rotated")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertIn(f"update    gatehouse-publish-sync ({pub['id']})", dry.stdout)
        self.assertIn('includeDrafts: true -> false', dry.stdout)
        self.assertIn('isDisabledByUser: true -> false', dry.stdout)
        self.assertRegex(dry.stdout, r'rule: \{"filter": "_type == \\"x\\"", "on": \["create"\]\} -> ')
        self.assertIn("secret: (changed)", dry.stdout)
        self.assertNotIn("whsec_rotated", dry.stdout, "secrets are never printed")
        self.assertIn("dry run, nothing changed (2 to update)", dry.stdout)
        self.assertEqual(self.writes(), writes)
        self.assertEqual(self.hooks(), drifted)

        fix = self.run_cmd(secret="rotated")
        self.assertEqual(fix.returncode, 0, fix.stderr)
        self.assertIn("done (2 updated)", fix.stdout)
        after = self.hooks()
        self.assertEqual(after["gatehouse-publish-sync"]["id"], pub["id"], "updated in place")
        self.assertEqual(after["gatehouse-publish-sync"]["rule"]["on"], ["create", "update"])
        self.assertEqual((after["gatehouse-publish-sync"]["includeDrafts"], after["gatehouse-publish-sync"]["isDisabledByUser"]), (False, False))
        self.assertEqual({h["secret"] for n, h in after.items() if n.startswith("gatehouse-")}, {"whsec_rotated"})
        self.assertEqual(after["someone-else"], other, "hooks with other names are left alone")
        self.assertIn("nothing to do", self.run_cmd(secret="rotated").stdout)

    def test_descope_pair_beside_the_stytch_pair(self):
        self.assertEqual(self.run_cmd().returncode, 0)
        stytch = self.hooks()
        p = self.run_cmd("--idp", "descope", urls=["--publish-sync-url", f"{self.rx_url}/d/publish-sync/", "--delete-cleanup-url", f"{self.rx_url}/d/delete-cleanup/"])
        self.assertEqual(p.returncode, 0, p.stderr)
        hooks = self.hooks()
        self.assertEqual(sorted(hooks), ["gatehouse-delete-cleanup", "gatehouse-delete-cleanup-descope", "gatehouse-publish-sync", "gatehouse-publish-sync-descope"])
        for spec in SPEC["idp"]["descope"]:
            h = hooks["gatehouse-" + spec["name"]]
            self.assertEqual((h["url"], h["rule"]["filter"], h["rule"]["projection"]), (f"{self.rx_url}/d/{spec['function']}/", spec["filter"], spec["projection"]))
        self.assertEqual({n: hooks[n] for n in stytch}, stytch)
        # IDP from the environment, as a deployed stack's parameter would give it.
        self.assertIn("nothing to do", self.run_cmd(urls=["--publish-sync-url", f"{self.rx_url}/d/publish-sync/", "--delete-cleanup-url", f"{self.rx_url}/d/delete-cleanup/"], IDP="descope").stdout)

    def test_a_new_dataset_means_a_new_hook(self):
        self.assertEqual(self.run_cmd().returncode, 0)
        old = self.hooks()
        p = self.run_cmd(secret="staging")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('dataset: "production" -> "staging"', p.stdout)
        self.assertIn("done (2 replaced)", p.stdout)
        new = self.hooks()
        self.assertEqual({h["dataset"] for h in new.values()}, {"staging"})
        self.assertFalse({h["id"] for h in old.values()} & {h["id"] for h in new.values()})

    def test_https_function_urls_for_a_deployed_stack(self):
        p = self.run_cmd(urls=["--publish-sync-url", "https://abc.lambda-url.eu-west-1.on.aws/", "--delete-cleanup-url", "https://def.lambda-url.eu-west-1.on.aws/"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.hooks()["gatehouse-publish-sync"]["url"], "https://abc.lambda-url.eu-west-1.on.aws/")

    def test_refusals_are_one_line_and_change_nothing(self):
        self.assertEqual(self.run_cmd("--name-prefix", "old-").returncode, 0)  # something to leave alone
        for _ in range(2):  # two hooks with one name: which to update is unclear
            self.assertEqual(call("POST", self.sanity + H, {"type": "document", "name": "dup-publish-sync", "url": "https://example.com/x",
                                                            "dataset": "production", "apiVersion": "v2025-02-19", "rule": {"on": ["create"]}})[0], 201)
        snapshot, writes = self.hooks_list(), self.writes()
        local = ["--publish-sync-url", f"{self.rx_url}/p/", "--delete-cleanup-url", f"{self.rx_url}/d/"]
        cases = {
            "plain http to a deployed URL": (dict(urls=["--publish-sync-url", "http://abc.lambda-url.eu-west-1.on.aws/", "--delete-cleanup-url", "https://x.on.aws/"]),
                                             "publish-sync URL http://abc.lambda-url.eu-west-1.on.aws/ is not https"),
            "no URL": (dict(urls=["--publish-sync-url", f"{self.rx_url}/p/"], DELETE_CLEANUP_URL=None), "no URL for delete-cleanup"),
            "secret without webhook_secret": (dict(secret="no-secret", urls=local), "has no field `webhook_secret`"),
            "no such secret": (dict(secret="arn:aws:secretsmanager:us-east-1:123456789012:secret:missing", urls=local), "cannot read secret"),
            "no SANITY_SECRET_ARN": (dict(urls=local, SANITY_SECRET_ARN=None), "SANITY_SECRET_ARN is not set"),
            "dataset the project lacks": (dict(secret="no-dataset", urls=local), "project demo has no dataset `nope` (it has: production, staging)"),
            "editor token": (dict(token="sk-editor", urls=local), "SANITY_AUTH_TOKEN lacks the sanity.project.webhooks grant"),
            "viewer token": (dict(token="sk-viewer", urls=local), "SANITY_AUTH_TOKEN lacks the sanity.project.webhooks grant"),
            "unknown token": (dict(token="sk-nope", urls=local), "SANITY_AUTH_TOKEN is not accepted for project demo: Session not found"),
            "no token": (dict(urls=local, SANITY_AUTH_TOKEN=None), "SANITY_AUTH_TOKEN is not set"),
            "two hooks with the name": (dict(urls=local + ["--name-prefix", "dup-"]), "2 webhooks are named dup-publish-sync"),
        }
        # Refusals write nothing, so they can run side by side (saves CI seconds).
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            runs = {name: pool.submit(self.run_cmd, **kw) for name, (kw, _) in cases.items()}
        for name, (kw, text) in cases.items():
            with self.subTest(name):
                p = runs[name].result()
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                lines = p.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, p.stderr)
                self.assertTrue(lines[0].startswith("sanity-webhooks: refused: "), lines[0])
                self.assertIn(text, lines[0])
                self.assertEqual(p.stdout, "")
                self.assertEqual(self.writes(), writes)
                self.assertEqual(self.hooks_list(), snapshot)


if __name__ == "__main__":
    t0 = time.monotonic()
    result = unittest.main(exit=False, verbosity=2).result
    n = len(SanityWebhooks.times)
    if n:
        print(f"sanity-webhooks: {n} runs, mean {sum(SanityWebhooks.times) / n:.2f} s, max {max(SanityWebhooks.times):.2f} s; "
              f"suite {time.monotonic() - t0:.1f} s", file=sys.stderr)
    sys.exit(0 if result.wasSuccessful() else 1)
