// The official @descope/node-sdk against the emulator binary, unchanged.
// DESCOPE_EMULATOR_BIN overrides the binary (default: the workspace debug build).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import DescopeClient from "@descope/node-sdk";

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.DESCOPE_EMULATOR_BIN
  ? path.resolve(process.env.DESCOPE_EMULATOR_BIN)
  : path.resolve(here, "../../../target/debug/descope-emulator");
// 32 chars: the SDK would derive a regional host from it, so baseUrl is always passed.
const PROJECT_ID = "P2sdktest00000000000000000000000";
const MANAGEMENT_KEY = "K2sdk-test-key";

const SEED = {
  customAttributes: [
    { name: "plan", type: 1 },
    { name: "region", type: 1 },
    { name: "gatehouseSync", type: 1 },
    { name: "seats", type: 2 },
  ],
  tenantCustomAttributes: [{ name: "tier", type: 1 }],
  roles: [{ name: "reader", permissionNames: ["read"] }],
};

let proc;
let base;

before(async () => {
  proc = spawn(BIN, [], {
    env: {
      ...process.env,
      DESCOPE_EMULATOR_HOST: "127.0.0.1",
      DESCOPE_EMULATOR_PORT: "0",
      DESCOPE_EMULATOR_PROJECT_ID: PROJECT_ID,
      DESCOPE_EMULATOR_MANAGEMENT_KEY: MANAGEMENT_KEY,
      DESCOPE_EMULATOR_SEED_JSON: JSON.stringify(SEED),
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

const client = (managementKey = MANAGEMENT_KEY) => DescopeClient({ projectId: PROJECT_ID, managementKey, baseUrl: base });

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

function ok(resp) {
  assert.equal(resp.ok, true, JSON.stringify(resp.error));
  return resp.data;
}

function fails(resp, code, status) {
  assert.equal(resp.ok, false, "expected an error");
  assert.equal(resp.error.errorCode, code, JSON.stringify(resp.error));
  assert.equal(typeof resp.error.errorDescription, "string");
  if (status) assert.equal(resp.code, status);
  return resp.error;
}

test("roles and tenants: create, load, loadAll, update overwrites every field", async () => {
  const m = client().management;
  ok(await m.role.create("editor", "Can edit", ["read", "write"]));
  const roles = ok(await m.role.loadAll());
  const editor = roles.find((r) => r.name === "editor");
  assert.deepEqual(editor.permissionNames, ["read", "write"]);
  assert.equal(editor.description, "Can edit");
  fails(await m.role.create("editor"), "E011003", 400);

  const { id } = ok(await m.tenant.create("Acme", ["acme.com"], { tier: "gold" }));
  assert.match(id, /^T2[A-Za-z0-9]{27}$/);
  ok(await m.tenant.createWithId("T-fixed", "Fixed Inc"));
  let t = ok(await m.tenant.load(id));
  assert.equal(t.id, id);
  assert.equal(t.name, "Acme");
  assert.deepEqual(t.selfProvisioningDomains, ["acme.com"]);
  assert.deepEqual(t.customAttributes, { tier: "gold" });

  // The trap: update(id, name) alone clears domains and custom attributes.
  ok(await m.tenant.update(id, "Acme Corp"));
  t = ok(await m.tenant.load(id));
  assert.equal(t.name, "Acme Corp");
  assert.deepEqual(t.selfProvisioningDomains, []);
  assert.deepEqual(t.customAttributes, {});
  ok(await m.tenant.update(id, "Acme Corp", ["acme.com"], { tier: "silver" }));
  t = ok(await m.tenant.load(id));
  assert.deepEqual(t.customAttributes, { tier: "silver" });

  const err = fails(await m.tenant.update(id, "Acme Corp", [], { notDefined: "x" }), "E011003", 400);
  assert.match(err.errorMessage, /notDefined/);
  fails(await m.tenant.load("T-missing"), "E011003");

  const all = ok(await m.tenant.loadAll());
  assert.deepEqual(all.map((x) => x.id).sort(), [id, "T-fixed"].sort());
  const found = ok(await m.tenant.searchAll(undefined, undefined, undefined, { tier: "silver" }));
  assert.deepEqual(found.map((x) => x.id), [id]);
});

test("users: create, load, custom attributes, roles, tenants, search", async () => {
  const m = client().management;
  ok(await m.tenant.createWithId("T-users", "Users Inc"));
  ok(await m.role.create("tenant-admin", "", ["admin"], "T-users"));

  const created = ok(
    await m.user.create("ada@example.com", {
      email: "ada@example.com",
      displayName: "Ada",
      roles: ["reader"],
      customAttributes: { plan: "pro" },
    }),
  );
  assert.match(created.userId, /^U2[A-Za-z0-9]{27}$/);
  assert.equal(created.name, "Ada");
  assert.deepEqual(created.loginIds, ["ada@example.com"]);
  assert.deepEqual(created.roleNames, ["reader"]);
  fails(await m.user.create("ada@example.com", { email: "ada@example.com" }), "E062107");

  const loaded = ok(await m.user.load("ada@example.com"));
  assert.equal(loaded.userId, created.userId);
  assert.equal(ok(await m.user.loadByUserId(created.userId)).email, "ada@example.com");
  assert.equal(ok(await m.user.load(created.userId)).email, "ada@example.com");
  const nf = fails(await m.user.load("nobody@example.com"), "E112102", 400);
  assert.equal(typeof nf.errorMessage, "string");

  // custom attributes
  const sync = JSON.stringify({ documentId: "doc-1", rev: "r1", roles: ["reader"], tenantId: "T-users" });
  let u = ok(await m.user.updateCustomAttribute("ada@example.com", "gatehouseSync", sync));
  assert.deepEqual(u.customAttributes, { plan: "pro", gatehouseSync: sync });
  u = ok(await m.user.updateCustomAttribute(created.userId, "seats", 3));
  assert.equal(u.customAttributes.seats, 3);
  u = ok(await m.user.updateCustomAttribute("ada@example.com", "plan", null));
  assert.equal(u.customAttributes.plan, undefined);
  let err = fails(await m.user.updateCustomAttribute("ada@example.com", "notDefined", "x"), "E011003", 400);
  assert.match(err.errorMessage, /notDefined/);
  err = fails(await m.user.updateCustomAttribute("ada@example.com", "seats", "three"), "E011003");
  assert.match(err.errorMessage, /seats/);
  const defs = ok(await m.user.getCustomAttributes());
  assert.ok(defs.some((d) => d.name === "gatehouseSync"));
  const afterCreate = ok(await m.user.createCustomAttributes([{ name: "notDefined", type: 1 }]));
  assert.ok(afterCreate.some((d) => d.name === "notDefined"));
  ok(await m.user.updateCustomAttribute("ada@example.com", "notDefined", "x"));

  // project roles
  u = ok(await m.user.setRoles("ada@example.com", ["editor"]));
  assert.deepEqual(u.roleNames, ["editor"]);
  u = ok(await m.user.addRoles("ada@example.com", ["reader"]));
  assert.deepEqual(u.roleNames, ["editor", "reader"]);
  u = ok(await m.user.removeRoles("ada@example.com", ["editor"]));
  assert.deepEqual(u.roleNames, ["reader"]);
  fails(await m.user.addRoles("ada@example.com", ["ghost"]), "E011003");

  // tenants and tenant roles
  u = ok(await m.user.addTenant("ada@example.com", "T-users"));
  assert.deepEqual(u.userTenants, [{ tenantId: "T-users", tenantName: "Users Inc", roleNames: [], permissions: [] }]);
  u = ok(await m.user.addTenantRoles("ada@example.com", "T-users", ["tenant-admin"]));
  assert.deepEqual(u.userTenants[0].roleNames, ["tenant-admin"]);
  assert.deepEqual(u.userTenants[0].permissions, ["admin"]);
  u = ok(await m.user.setTenantRoles("ada@example.com", "T-users", ["tenant-admin", "reader"]));
  assert.deepEqual(u.userTenants[0].roleNames, ["tenant-admin", "reader"]);
  u = ok(await m.user.removeTenantRoles("ada@example.com", "T-users", ["reader"]));
  assert.deepEqual(u.userTenants[0].roleNames, ["tenant-admin"]);

  // search
  for (let i = 0; i < 4; i++) {
    ok(await m.user.create(`s${i}@example.com`, { email: `s${i}@example.com`, userTenants: [{ tenantId: "T-users", roleNames: [] }] }));
  }
  const page0 = ok(await m.user.search({ tenantIds: ["T-users"], limit: 3, page: 0 }));
  const page1 = ok(await m.user.search({ tenantIds: ["T-users"], limit: 3, page: 1 }));
  assert.equal(page0.total, 5);
  assert.equal(page0.users.length, 3);
  assert.equal(page1.users.length, 2);
  const bySync = ok(await m.user.search({ customAttributes: { gatehouseSync: sync } }));
  assert.deepEqual(bySync.users.map((x) => x.userId), [created.userId]);
  const byRole = ok(await m.user.search({ roles: ["tenant-admin"] }));
  assert.equal(byRole.total, 1);

  u = ok(await m.user.removeTenant("ada@example.com", "T-users"));
  assert.deepEqual(u.userTenants, []);
});

test("sessions: validateSession accepts a minted session through the JWKS", async () => {
  const m = client().management;
  ok(await m.tenant.createWithId("T-sess", "Sessions Inc"));
  const user = ok(
    await m.user.create("sess@example.com", {
      email: "sess@example.com",
      roles: ["reader"],
      userTenants: [{ tenantId: "T-sess", roles: [], roleNames: ["reader"] }],
    }),
  );
  const minted = await control("/__gatehouse/sessions", {
    login_id: "sess@example.com",
    authentication_factors: ["email", "totp"],
    refresh: true,
  });
  const sdk = client();
  const info = await sdk.validateSession(minted.session_jwt);
  assert.equal(info.token.sub, user.userId);
  assert.equal(info.token.drn, "DS");
  assert.deepEqual(info.token.amr, ["email", "totp"]);
  assert.equal(info.token.iss, PROJECT_ID); // the SDK normalises a matching issuer URL to the id
  assert.deepEqual(info.token.roles, ["reader"]);
  assert.deepEqual(info.token.permissions, ["read"]);
  assert.equal(sdk.validateRoles(info, ["reader"]), true);
  assert.equal(sdk.validateTenantRoles(info, "T-sess", ["reader"]), true);
  assert.equal(sdk.validatePermissions(info, ["read"]), true);
  assert.deepEqual(sdk.getMatchedTenantRoles(info, "T-sess", ["reader", "x"]), ["reader"]);

  // dct (selected tenant)
  const dct = await control("/__gatehouse/sessions", { login_id: "sess@example.com", tenant: "T-sess" });
  const dinfo = await sdk.validateSession(dct.session_jwt);
  assert.equal(dinfo.token.dct, "T-sess");

  // The SDK does NOT look at drn: a refresh JWT passes validateSession. Verifiers must check
  // drn == "DS" themselves (gatehouse does).
  const rinfo = await sdk.validateSession(minted.refresh_jwt);
  assert.equal(rinfo.token.drn, "DSR");

  // refreshSession: validates the refresh JWT, POSTs /v1/auth/refresh, validates the new session
  const refreshed = await sdk.refreshSession(minted.refresh_jwt);
  assert.equal(refreshed.token.drn, "DS");
  assert.equal(refreshed.token.sub, user.userId);

  // expired and tampered sessions are rejected
  const expired = await control("/__gatehouse/sessions", { login_id: "sess@example.com", ttl_s: -60 });
  await assert.rejects(sdk.validateSession(expired.session_jwt), /exp/);
  const [h, p, s] = minted.session_jwt.split(".");
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...info.token, roles: ["admin"] })).toString("base64url")}.${s}`;
  await assert.rejects(sdk.validateSession(tampered), /signature/);
  // a token from another project's issuer is rejected
  const foreign = await control("/__gatehouse/sessions", {
    login_id: "sess@example.com",
    override_claims: { iss: "https://api.descope.com/P2someoneelse" },
  });
  await assert.rejects(sdk.validateSession(foreign.session_jwt), /iss/);
  void p;
});

test("errors: bad management key, injected 429 with retryAfter", async () => {
  const bad = client("K2wrong").management;
  fails(await bad.user.load("anyone@example.com"), "E011003", 401);

  const m = client().management;
  ok(await m.user.create("limited@example.com", { email: "limited@example.com" }));
  await control("/__gatehouse/faults", {
    method: "POST",
    path: "/v1/mgmt/user/update/customAttribute",
    status: 429,
    count: 1,
    retry_after: 12,
  });
  const err = fails(await m.user.updateCustomAttribute("limited@example.com", "plan", "pro"), "E130429", 429);
  assert.equal(err.retryAfter, 12); // the SDK copies Retry-After into the error
  ok(await m.user.updateCustomAttribute("limited@example.com", "plan", "pro"));

  const calls = await (await fetch(`${base}/__gatehouse/calls`)).json();
  const c = calls.calls.find((x) => x.method === "POST" && x.path === "/v1/mgmt/user/update/customAttribute");
  assert.ok(c.count >= 2);
});
