"""The narrated demo against the local stack (`make demo`), and the seed data for `make dev`.

    python scripts/demo.py seed   # plans, two organizations with members, gated articles, rules
    python scripts/demo.py run    # the scenario; exits non-zero when a step misbehaves

Everything goes through the same APIs a real deployment uses: the Sanity mutate API (which fires
the signed webhooks to the functions), the Stytch API, and the gated-content function URL.
"""
import json
import os
import sys
import time
import uuid

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(
    line.strip().split("=", 1)
    for line in open(os.path.join(ROOT, ".stack", os.environ.get("STACK_PROFILE", "dev"), "stack.env"))
    if "=" in line
)
STYTCH, SANITY, LAMBDA = ENV["STYTCH_URL"], ENV["SANITY_URL"], ENV["LAMBDA_URL"]
AUTH = (ENV["B2B_PROJECT"], ENV["STYTCH_SECRET"])
GATED = f"{LAMBDA}/lambda-url/gated-content"
failures = []

BOLD, GREEN, RED, DIM, END = "\033[1m", "\033[32m", "\033[31m", "\033[2m", "\033[0m"


def step(text):
    print(f"\n{BOLD}▶ {text}{END}")


def check(ok, text):
    print(f"  {GREEN + '✔' if ok else RED + '✘'} {text}{END}")
    if not ok:
        failures.append(text)


def stytch(method, path, body=None):
    r = requests.request(method, f"{STYTCH}{path}", auth=AUTH, json=body, timeout=10)
    r.raise_for_status()
    return r.json()


def mutate(*mutations):
    r = requests.post(
        f"{SANITY}/v2025-02-19/data/mutate/{ENV['SANITY_DATASET']}?returnIds=true",
        headers={"authorization": f"Bearer {ENV['SANITY_WRITE_TOKEN']}"},
        json={"mutations": list(mutations)},
        timeout=10,
    )
    r.raise_for_status()
    return r.json()


def org_access(org_id):
    return stytch("GET", f"/v1/b2b/organizations/{org_id}")["organization"]["trusted_metadata"].get("sanity_access")


def wait_for(predicate, timeout=10.0):
    """Polls every 10 ms; returns (value, seconds) once predicate(value) is truthy."""
    start = time.monotonic()
    while True:
        ok, value = predicate()
        if ok or time.monotonic() - start > timeout:
            return value, time.monotonic() - start
        time.sleep(0.01)


def mint(org_id, member_id, factors):
    r = requests.post(
        f"{STYTCH}/__gatehouse/sessions",
        json={"organization_id": org_id, "member_id": member_id, "authentication_factors": factors},
        timeout=10,
    )
    r.raise_for_status()
    return r.json()["session_jwt"]


def read(slug, token=None):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    r = requests.get(f"{GATED}/content/{slug}", headers=headers, timeout=10)
    return r.status_code, (r.json() if r.content else None)


def seed():
    """Organizations, members, plans and articles; returns the ids."""
    tag = uuid.uuid4().hex[:6]
    acme = stytch("POST", "/v1/b2b/organizations", {"organization_name": "Acme", "organization_slug": f"acme-{tag}",
                                                    "trusted_metadata": {"billing_tier": "gold"}})["organization"]
    globex = stytch("POST", "/v1/b2b/organizations", {"organization_name": "Globex", "organization_slug": f"globex-{tag}"})["organization"]
    alice = stytch("POST", f"/v1/b2b/organizations/{acme['organization_id']}/members",
                   {"email_address": f"alice-{tag}@acme.example", "name": "Alice"})["member"]
    bob = stytch("POST", f"/v1/b2b/organizations/{globex['organization_id']}/members",
                 {"email_address": f"bob-{tag}@globex.example", "name": "Bob"})["member"]
    mutate(
        {"createOrReplace": {"_id": "plan-pro", "_type": "plan", "title": "Pro", "slug": {"current": "pro"}}},
        {"createOrReplace": {"_id": "plan-free", "_type": "plan", "title": "Free", "slug": {"current": "free"}}},
        {"createOrReplace": {"_id": f"welcome-{tag}", "_type": "article", "title": "Welcome (public)",
                             "slug": {"current": f"welcome-{tag}"}, "body": "Anyone can read this."}},
        {"createOrReplace": {"_id": f"roadmap-{tag}", "_type": "article", "title": "2027 roadmap (Pro, EU)",
                             "slug": {"current": f"roadmap-{tag}"}, "body": "Only Pro customers in the EU read this.",
                             "requiredPlans": [{"_key": "p", "_type": "reference", "_ref": "plan-pro"}], "regions": ["eu"]}},
    )
    return {"tag": tag, "acme": acme["organization_id"], "globex": globex["organization_id"],
            "alice": alice["member_id"], "bob": bob["member_id"]}


def rule(tag, org_id, **extra):
    doc = {"_id": f"rule-acme-{tag}", "_type": "accessRule", "title": "Acme gets Pro in the EU",
           "stytchOrganizationId": org_id, "plan": {"_type": "reference", "_ref": "plan-pro"}, "region": "eu",
           "allowedContentTypes": ["article", "report"], "gatedRoutes": [{"_key": "a", "path": "/reports/q3"}],
           "requiresMfa": False}
    doc.update(extra)
    return doc


def descope(path, body=None, method="POST"):
    r = requests.request(method, f"{ENV['DESCOPE_URL']}{path}", json=body, timeout=10,
                         headers={"authorization": f"Bearer {ENV['DESCOPE_PROJECT']}:{ENV['DESCOPE_MANAGEMENT_KEY']}"})
    r.raise_for_status()
    return r.json() if r.content else None


def descope_run(tag, ttl):
    """The same flow on the Descope-backed functions: a member profile becomes the user's
    attributes and roles, a gated page needs the role, a deletion takes back only what gatehouse gave."""
    d_gated = f"{ENV['LAMBDA_DESCOPE_URL']}/lambda-url/gated-content"
    step("Descope: Dana (hand-granted role billing-admin) and Eve exist in the Descope project")
    dana, eve = f"dana-{tag}@acme.example", f"eve-{tag}@acme.example"
    for login, roles in ((dana, ["billing-admin"]), (eve, [])):
        descope("/v1/mgmt/user/create", {"loginId": login, "email": login, "roleNames": roles})
    mutate(
        {"createOrReplace": {"_id": "aplan-pro", "_type": "accessPlan", "title": "Pro", "planSlug": {"current": "pro"}}},
        {"createOrReplace": {"_id": "role-reader", "_type": "accessRole", "title": "Reader", "descopeRoleKey": "reader"}},
        {"createOrReplace": {"_id": f"page-{tag}", "_type": "gatedPage", "title": "Readers' handbook",
                             "slug": {"current": f"handbook-{tag}"}, "body": "For readers on Pro.",
                             "requiredPlans": [{"_key": "p", "_type": "reference", "_ref": "aplan-pro"}],
                             "requiredRoles": [{"_key": "r", "_type": "reference", "_ref": "role-reader"}]}},
    )
    step("An editor publishes Dana's member profile (role reader, plan Pro)")
    mutate({"create": {"_id": f"member-dana-{tag}", "_type": "memberProfile", "title": "Dana", "descopeLoginId": dana,
                       "plan": {"_type": "reference", "_ref": "aplan-pro"}, "region": "eu",
                       "roles": [{"_key": "r", "_type": "reference", "_ref": "role-reader"}]}})

    def user(login):
        return descope(f"/v1/mgmt/user?loginId={login}", method="GET")["user"]

    u, secs = wait_for(lambda: ((x := user(dana))["customAttributes"].get("plan") == "pro", x))
    check(u["customAttributes"].get("plan") == "pro" and "reader" in u["roleNames"],
          f"Dana in Descope after {secs * 1000:.0f} ms: plan={u['customAttributes'].get('plan')}, roles={sorted(u['roleNames'])}")

    def session(login):
        r = requests.post(f"{ENV['DESCOPE_URL']}/__gatehouse/sessions", json={"login_id": login}, timeout=10)
        r.raise_for_status()
        return r.json()["session_jwt"]

    def dread(token):
        r = requests.get(f"{d_gated}/content/handbook-{tag}", headers={"authorization": f"Bearer {token}"}, timeout=10)
        return r.status_code
    check(dread(session(dana)) == 200, "Dana reads the readers' handbook: HTTP 200")
    check(dread(session(eve)) == 404, "Eve (no profile, no role) gets HTTP 404")
    step("The editor deletes Dana's profile")
    mutate({"delete": {"id": f"member-dana-{tag}"}})
    u, secs = wait_for(lambda: ("reader" not in (x := user(dana))["roleNames"], x))
    check("reader" not in u["roleNames"] and "billing-admin" in u["roleNames"] and not u["customAttributes"].get("plan"),
          f"after {secs * 1000:.0f} ms: reader and plan removed, the hand-granted billing-admin kept ({sorted(u['roleNames'])})")
    time.sleep(ttl + 0.2)
    check(dread(session(dana)) == 404, "Dana can no longer read the handbook: HTTP 404")


def run():
    ttl = float(os.environ.get("ACCESS_CACHE_TTL_S", "2"))
    step("Seeding: Stytch organizations Acme and Globex with one member each; plans and articles in Sanity")
    ids = seed()
    tag = ids["tag"]
    print(f"  {DIM}Acme   {ids['acme']}\n  Globex {ids['globex']}{END}")

    step("An editor publishes an access rule for Acme in Sanity")
    t0 = time.monotonic()
    mutate({"create": rule(tag, ids["acme"])})
    access, secs = wait_for(lambda: ((a := org_access(ids["acme"])) is not None, a))
    check(access is not None and access["plan"] == "pro" and access["region"] == "eu",
          f"Acme's trusted_metadata.sanity_access in Stytch after {secs * 1000:.0f} ms: "
          f"plan={access and access['plan']}, region={access and access['region']}")
    check(stytch("GET", f"/v1/b2b/organizations/{ids['acme']}")["organization"]["trusted_metadata"].get("billing_tier") == "gold",
          "Acme's other metadata (billing_tier) is untouched")

    alice = mint(ids["acme"], ids["alice"], ["email_otp"])
    bob = mint(ids["globex"], ids["bob"], ["email_otp"])
    authz = ENV.get("AUTHZ", "builtin")
    step(f"Alice (Acme) reads the gated roadmap (decided by {'the Cerbos policies in policies/' if authz == 'cerbos' else 'the built-in rules'})")
    status, body = read(f"roadmap-{tag}", alice)
    check(status == 200 and body["document"]["title"].startswith("2027"), f"HTTP {status}: {body and body.get('document', body).get('title', body)}")
    step("Bob (Globex, no rule) asks for the same article")
    status, body = read(f"roadmap-{tag}", bob)
    check(status == 404, f"HTTP {status} {body.get('error') if body else ''} — indistinguishable from a missing article")
    step("Globex's own admin gives themselves the staff role gatehouse_platform_admin: still refused")
    admin = stytch("POST", f"/v1/b2b/organizations/{ids['globex']}/members",
                   {"email_address": f"admin-{tag}@globex.example", "roles": ["stytch_admin", "gatehouse_platform_admin"]})["member"]
    status, _ = read(f"roadmap-{tag}", mint(ids["globex"], admin["member_id"], ["email_otp"]))
    check(status == 404, f"HTTP {status}: a role a customer can assign never makes staff")
    step("A gatehouse staff member (staff organization in PLATFORM_ORGANIZATION_IDS, with the role) reads across organizations")
    staff = stytch("POST", f"/v1/b2b/organizations/{ENV['STAFF_ORG']}/members",
                   {"email_address": f"staff-{tag}@gatehouse.example", "roles": ["gatehouse_platform_admin"]})["member"]
    status, _ = read(f"roadmap-{tag}", mint(ENV["STAFF_ORG"], staff["member_id"], ["sso"]))
    check(status == 200, f"HTTP {status}: configured staff read Acme's roadmap")

    step("An anonymous caller reads the public welcome article, not the roadmap")
    check(read(f"welcome-{tag}")[0] == 200, "welcome: HTTP 200")
    check(read(f"roadmap-{tag}")[0] == 404, "roadmap: HTTP 404")

    step("The editor turns on 'requires MFA' for Acme")
    mutate({"patch": {"id": f"rule-acme-{tag}", "set": {"requiresMfa": True}}})
    access, secs = wait_for(lambda: ((a := org_access(ids["acme"])) is not None and a["requiresMfa"], a))
    check(access["requiresMfa"], f"synced to Stytch in {secs * 1000:.0f} ms")
    time.sleep(ttl + 0.2)  # the gate caches access per container for ACCESS_CACHE_TTL_S
    status, body = read(f"roadmap-{tag}", alice)
    check(status == 403 and body["error"] == "mfa_required", f"Alice with one factor: HTTP {status} {body.get('error')}")
    status, _ = read(f"roadmap-{tag}", mint(ids["acme"], ids["alice"], ["email_otp", "totp"]))
    check(status == 200, f"Alice after a second factor (TOTP): HTTP {status}")

    step("The editor deletes the rule")
    mutate({"delete": {"id": f"rule-acme-{tag}"}})
    access, secs = wait_for(lambda: ((a := org_access(ids["acme"])) is None, a))
    check(access is None, f"sanity_access removed from Acme in Stytch after {secs * 1000:.0f} ms")
    time.sleep(ttl + 0.2)
    status, _ = read(f"roadmap-{tag}", mint(ids["acme"], ids["alice"], ["email_otp", "totp"]))
    check(status == 404, f"Alice can no longer read the roadmap: HTTP {status}")

    if "LAMBDA_DESCOPE_URL" in ENV:
        descope_run(tag, ttl)

    deliveries = requests.get(f"{SANITY}/__gatehouse/deliveries", timeout=10).json()["deliveries"]
    mine = [d for d in deliveries if d["documentId"] == f"rule-acme-{tag}"]
    step("Webhook deliveries Sanity made for this rule")
    for d in mine:
        print(f"  {d['webhookName']:<24} {d['operation']:<7} → HTTP {d['response'] and d['response']['status']} "
              f"{json.loads(d['response']['body']).get('outcome') if d['response'] else d['error']} ({d['durationMs']} ms)")
    print()
    if failures:
        print(f"{RED}{BOLD}{len(failures)} step(s) did not behave:{END}")
        for f in failures:
            print(f"  - {f}")
        sys.exit(1)
    print(f"{GREEN}{BOLD}Demo passed: publish → Stytch (and Descope), gated read, refusal, staff, MFA, delete → cleanup.{END}")
    if "WEB_URL" in ENV:
        print(f"\nThe same loop in a browser: {ENV['WEB_URL']}/ (make dev; examples/web/README.md)")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "run"
    if mode == "seed":
        print(json.dumps(seed(), indent=2))
    else:
        run()
