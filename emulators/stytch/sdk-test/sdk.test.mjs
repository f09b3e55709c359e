// The official `stytch` Node SDK against the emulator binary, unchanged.
// STYTCH_EMULATOR_BIN overrides the binary (default: the workspace debug build).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import * as stytch from "stytch";

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.STYTCH_EMULATOR_BIN
  ? path.resolve(process.env.STYTCH_EMULATOR_BIN)
  : path.resolve(here, "../../../target/debug/stytch-emulator");
const B2B = { project_id: "project-test-aaaaaaaa-1111-4111-8111-111111111111", secret: "secret-b2b" };
const CONSUMER = { project_id: "project-test-bbbbbbbb-2222-4222-8222-222222222222", secret: "secret-consumer" };

let proc;
let base;

before(async () => {
  proc = spawn(BIN, [], {
    env: {
      ...process.env,
      STYTCH_EMULATOR_HOST: "127.0.0.1",
      STYTCH_EMULATOR_PORT: "0",
      STYTCH_PROJECTS: `${B2B.project_id}:${B2B.secret}:b2b,${CONSUMER.project_id}:${CONSUMER.secret}:consumer`,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("emulator did not start within 10 s")), 10_000);
    let out = "";
    proc.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", (code) => reject(new Error(`emulator exited early (${code}); is ${BIN} built?`)));
  });
});

after(() => {
  proc?.kill("SIGTERM");
});

const b2b = () => new stytch.B2BClient({ ...B2B, env: `${base}/` });
const consumer = () => new stytch.Client({ ...CONSUMER, env: `${base}/` });

async function control(p, body) {
  const r = await fetch(`${base}${p}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  const json = await r.json();
  assert.equal(r.status, 200, JSON.stringify(json));
  return json;
}

test("B2B organizations: create, get, update (metadata merge), search", async () => {
  const client = b2b();
  const created = await client.organizations.create({
    organization_name: "Acme",
    organization_slug: "acme-sdk",
    trusted_metadata: { keep: "me", drop: 1, nested: { a: 1 } },
  });
  assert.equal(created.status_code, 200);
  assert.match(created.request_id, /^request-id-test-/);
  const id = created.organization.organization_id;
  assert.match(id, /^organization-test-[0-9a-f-]{36}$/);

  const got = await client.organizations.get({ organization_id: id });
  assert.equal(got.organization.organization_slug, "acme-sdk");
  const bySlug = await client.organizations.get({ organization_id: "acme-sdk" });
  assert.equal(bySlug.organization.organization_id, id);

  const updated = await client.organizations.update({
    organization_id: id,
    trusted_metadata: { drop: null, nested: { b: 2 }, added: [1, 2] },
  });
  assert.deepEqual(updated.organization.trusted_metadata, { keep: "me", nested: { b: 2 }, added: [1, 2] });
  assert.equal(updated.organization.organization_name, "Acme", "fields the SDK leaves undefined are untouched");

  for (let i = 0; i < 3; i++) {
    await client.organizations.create({ organization_name: `Org ${i}`, organization_slug: `sdk-org-${i}` });
  }
  const seen = [];
  let cursor;
  do {
    const page = await client.organizations.search({ limit: 3, cursor });
    assert.equal(page.results_metadata.total, 4);
    seen.push(...page.organizations.map((o) => o.organization_id));
    cursor = page.results_metadata.next_cursor ?? undefined;
  } while (cursor);
  assert.equal(seen.length, 4);
  assert.equal(seen[0], id);
  const filtered = await client.organizations.search({
    query: { operator: "AND", operands: [{ filter_name: "organization_ids", filter_value: [id] }] },
  });
  assert.deepEqual(filtered.organizations.map((o) => o.organization_id), [id]);
});

test("B2B members and sessions: authenticate, authenticateJwt, authenticateJwtLocal", async () => {
  const client = b2b();
  const { organization } = await client.organizations.create({
    organization_name: "Sessions",
    organization_slug: "sdk-sessions",
  });
  const { member } = await client.organizations.members.create({
    organization_id: organization.organization_id,
    email_address: "ada@example.com",
    name: "Ada",
    roles: ["editor"],
  });
  assert.match(member.member_id, /^member-test-/);
  assert.deepEqual(member.roles.map((r) => r.role_id), ["stytch_member", "editor"]);
  const fetched = await client.organizations.members.get({
    organization_id: organization.organization_id,
    member_id: member.member_id,
  });
  assert.equal(fetched.member.email_address, "ada@example.com");

  const minted = await control("/__gatehouse/sessions", {
    organization_id: organization.organization_id,
    member_id: member.member_id,
    authentication_factors: ["email_otp", "totp"],
  });

  const remote = await client.sessions.authenticate({ session_token: minted.session_token });
  assert.equal(remote.member.member_id, member.member_id);
  assert.equal(remote.organization.organization_id, organization.organization_id);
  assert.equal(remote.member_session.authentication_factors.length, 2);

  // local verification: the SDK fetches the JWKS and checks iss, aud, typ and the claim layout itself
  const local = await client.sessions.authenticateJwtLocal({ session_jwt: minted.session_jwt });
  assert.equal(local.member_id, member.member_id);
  assert.equal(local.organization_id, organization.organization_id);
  assert.equal(local.organization_slug, "sdk-sessions");
  assert.deepEqual(local.roles, ["stytch_member", "editor"]);
  assert.deepEqual(
    local.authentication_factors.map((f) => [f.type, f.delivery_method]),
    [["otp", "email"], ["totp", "authenticator_app"]],
  );
  const viaJwt = await client.sessions.authenticateJwt({ session_jwt: minted.session_jwt });
  assert.equal(viaJwt.member_session.member_session_id, local.member_session_id);

  // an expired JWT falls back to the remote check, which fails once the session is gone too
  const expired = await control("/__gatehouse/sessions", {
    organization_id: organization.organization_id,
    member_id: member.member_id,
    ttl_s: -30,
  });
  await assert.rejects(client.sessions.authenticateJwtLocal({ session_jwt: expired.session_jwt }), (e) => {
    assert.equal(e.code, "jwt_invalid");
    return true;
  });
  await assert.rejects(client.sessions.authenticateJwt({ session_jwt: expired.session_jwt }), (e) => {
    assert.ok(e instanceof stytch.StytchError);
    assert.equal(e.error_type, "session_not_found");
    return true;
  });
});

test("B2B errors surface as StytchError with the real error_type", async () => {
  const client = b2b();
  await assert.rejects(
    client.organizations.get({ organization_id: "organization-test-00000000-0000-4000-8000-000000000000" }),
    (e) => {
      assert.ok(e instanceof stytch.StytchError);
      assert.equal(e.status_code, 404);
      assert.equal(e.error_type, "organization_not_found");
      assert.match(e.error_url, /^https:\/\/stytch\.com\/docs\/api\/errors\/404#organization_not_found$/);
      return true;
    },
  );
  await client.organizations.create({ organization_name: "Dup", organization_slug: "sdk-dup" });
  await assert.rejects(
    client.organizations.create({ organization_name: "Dup 2", organization_slug: "sdk-dup" }),
    (e) => e.error_type === "organization_slug_already_used" && e.status_code === 400,
  );
  const wrong = new stytch.B2BClient({ project_id: B2B.project_id, secret: "nope", env: `${base}/` });
  await assert.rejects(wrong.organizations.search({}), (e) => e.error_type === "unauthorized_credentials" && e.status_code === 401);
});

test("consumer users and sessions", async () => {
  const client = consumer();
  const created = await client.users.create({
    email: "bo@example.com",
    name: { first_name: "Bo" },
    trusted_metadata: { a: 1, b: { c: 1 } },
  });
  assert.match(created.user_id, /^user-test-/);
  assert.equal(created.user.user_id, created.user_id);
  const got = await client.users.get({ user_id: created.user_id });
  assert.equal(got.user_id, created.user_id);
  assert.equal(got.emails[0].email, "bo@example.com");
  const updated = await client.users.update({ user_id: created.user_id, trusted_metadata: { a: null, b: { d: 2 } } });
  assert.deepEqual(updated.user.trusted_metadata, { b: { d: 2 } });

  const minted = await control("/__gatehouse/sessions", { user_id: created.user_id, authentication_factors: ["magic_link"] });
  const local = await client.sessions.authenticateJwtLocal({ session_jwt: minted.session_jwt });
  assert.equal(local.user_id, created.user_id);
  assert.deepEqual(local.roles, ["stytch_user"]);
  const viaJwt = await client.sessions.authenticateJwt({ session_jwt: minted.session_jwt });
  assert.equal(viaJwt.session.user_id, created.user_id);
  const remote = await client.sessions.authenticate({ session_token: minted.session_token });
  assert.equal(remote.user.user_id, created.user_id);

  // users.search pages with a cursor (the reconciler scans consumer projects this way)
  for (const e of ["c1@example.com", "c2@example.com", "c3@example.com"]) await client.users.create({ email: e });
  const seen = [];
  let cursor;
  do {
    const page = await client.users.search({ limit: 2, cursor });
    assert.ok(page.results.length <= 2);
    assert.equal(page.results_metadata.total, 4);
    seen.push(...page.results.map((u) => u.user_id));
    cursor = page.results_metadata.next_cursor ?? undefined;
  } while (cursor);
  assert.equal(new Set(seen).size, 4);
  assert.ok(seen.includes(created.user_id));
  const one = await client.users.search({ query: { operator: "AND", operands: [{ filter_name: "user_ids", filter_value: [created.user_id] }] } });
  assert.deepEqual(one.results.map((u) => u.user_id), [created.user_id]);
  assert.deepEqual(one.results[0].trusted_metadata, { b: { d: 2 } });

  await assert.rejects(client.users.get({ user_id: "user-test-00000000-0000-4000-8000-000000000000" }), (e) => e.error_type === "user_not_found");
  // a consumer client cannot use B2B routes
  const wrongKind = new stytch.B2BClient({ ...CONSUMER, env: `${base}/` });
  await assert.rejects(wrongKind.organizations.search({}), (e) => e.error_type === "invalid_b2b_endpoint");
});

test("key rotation: old and new JWTs both verify through the SDK's JWKS cache", async () => {
  const client = b2b();
  const { organization } = await client.organizations.create({ organization_name: "Rot", organization_slug: "sdk-rot" });
  const { member } = await client.organizations.members.create({
    organization_id: organization.organization_id,
    email_address: "rot@example.com",
  });
  const body = { organization_id: organization.organization_id, member_id: member.member_id };
  const before = await control("/__gatehouse/sessions", body);
  await client.sessions.authenticateJwtLocal({ session_jwt: before.session_jwt });
  const { kid } = await control("/__gatehouse/keys/rotate", { project_id: B2B.project_id });
  const afterRot = await control("/__gatehouse/sessions", body);
  assert.equal(afterRot.kid, kid);
  // jose refetches the JWKS on an unknown kid (after its cooldown) — authenticateJwt falls back to remote otherwise
  const res = await client.sessions.authenticateJwt({ session_jwt: afterRot.session_jwt });
  assert.equal(res.member_session.member_id, member.member_id);
  const old = await client.sessions.authenticateJwtLocal({ session_jwt: before.session_jwt });
  assert.equal(old.member_id, member.member_id);
});
