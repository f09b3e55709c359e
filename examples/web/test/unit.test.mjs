// No browser, no stack: how the page reads answers, the JWT decoder, the production build,
// and the local server's pass-through allow-list.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { classify, isPublic } from "../public/gatehouse.js";
import { decode } from "../public/jwt.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..");
const J = "application/json";
const anyShape = () => true;
const docShape = (j) => j && typeof j.document === "object" && j.document !== null;

test("classify: every status the functions document, and what they do not", () => {
  assert.equal(classify(200, J, '{"document":{"title":"x"}}', docShape).kind, "ok");
  assert.equal(classify(401, J, '{"error":"invalid_token"}', anyShape).kind, "signin");
  assert.equal(classify(403, J, '{"error":"mfa_required"}', anyShape).kind, "mfa");
  assert.equal(classify(403, J, '{"error":"origin_not_allowed"}', anyShape).kind, "refused");
  assert.equal(classify(404, J, '{"error":"not_found"}', anyShape).kind, "notfound");
  for (const s of [429, 502, 503, 504]) assert.equal(classify(s, J, '{"error":"cms_unavailable"}', anyShape).kind, "retry", String(s));
  assert.equal(classify(503, "text/html", "<h1>Service Unavailable</h1>", anyShape).kind, "retry");
  assert.equal(classify(400, J, '{"error":"bad_request"}', anyShape).kind, "refused");
  // What a gateway or a broken deployment might answer instead.
  assert.equal(classify(200, "text/html", "<html>", docShape).kind, "unexpected");
  assert.equal(classify(200, J, "{not json", docShape).kind, "unexpected");
  assert.equal(classify(200, J, '{"documents":"nope"}', docShape).kind, "unexpected");
  assert.equal(classify(200, J, "", docShape).kind, "unexpected");
  const teapot = classify(418, J, '{"error":"teapot"}', anyShape);
  assert.equal(teapot.kind, "unexpected");
  assert.match(teapot.reason, /418 teapot/);
  assert.equal(classify(500, "text/plain", "boom", anyShape).kind, "unexpected");
  assert.equal(classify(200, "application/problem+json", '{"document":{}}', docShape).kind, "ok");
});

test("isPublic labels documents without gating fields", () => {
  assert.equal(isPublic({ title: "w" }), true);
  assert.equal(isPublic({ requiredPlans: [] , regions: null }), true);
  assert.equal(isPublic({ requiredPlans: ["pro"] }), false);
  assert.equal(isPublic({ organizationId: "organization-test-x" }), false);
});

test("decode reads a JWT's claims and refuses what is not one", () => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const tok = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "member-test-ü", exp: 2 })}.sig`;
  const d = decode(tok);
  assert.equal(d.header.alg, "HS256");
  assert.equal(d.claims.sub, "member-test-ü");
  for (const bad of [null, 42, "", "a.b", "a.b.c", `${b64({})}.!!!.x`, `${b64("str")}.${b64("str")}.x`]) assert.equal(decode(bad), null, String(bad));
});

test("the production build ships no local-only module, config or credential", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "web-dist-"));
  const env = { ...process.env, GATED_CONTENT_URL: "https://abc.lambda-url.eu-west-1.on.aws", TOKEN_EXCHANGE_URL: "https://def.lambda-url.eu-west-1.on.aws",
    STYTCH_PUBLIC_TOKEN: "public-token-live-00000000-0000-4000-8000-000000000000", AUTH_TRANSPORT: "cookie", COOKIE_DOMAIN: "example.com" };
  execFileSync("node", [path.join(ROOT, "build.js"), "--out", out], { env, stdio: "pipe" });
  const files = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); e.isDirectory() ? walk(p) : files.push(p); } };
  walk(out);
  const names = files.map((f) => path.relative(out, f));
  assert.ok(!names.some((n) => /dev-signin|local-editor/.test(n)), names.join(" "));
  assert.ok(fs.existsSync(path.join(ROOT, "public", "dev-signin.js")), "the local module exists in the source");
  for (const f of files) {
    const text = fs.readFileSync(f, "utf8");
    for (const s of ["dev-signin", "local-editor", "/__local/", "__gatehouse", "sk-local", "secret-test-local"]) assert.ok(!text.includes(s), `${path.relative(out, f)} contains ${s}`);
  }
  const config = fs.readFileSync(path.join(out, "config.js"), "utf8");
  assert.match(config, /"authModule": "\.\/auth-stytch\.js"/);
  assert.match(config, /"transport": "cookie"/);
  assert.doesNotMatch(config, /"local"/);
  const html = fs.readFileSync(path.join(out, "index.html"), "utf8");
  assert.match(html, /<script type="importmap">.*@stytch\/vanilla-js\/b2b\/headless/);
  assert.ok(names.includes(path.join("vendor", "stytch-vanilla-js", "b2b", "index.headless.mjs")));
  // A bad setting stops the build with a clear message and writes nothing new.
  const bad = fs.mkdtempSync(path.join(os.tmpdir(), "web-dist-bad-"));
  assert.throws(() => execFileSync("node", [path.join(ROOT, "build.js"), "--out", bad], { env: { ...env, GATED_CONTENT_URL: "http://evil.example" }, stdio: "pipe" }),
    (e) => /GATED_CONTENT_URL/.test(String(e.stderr)));
  assert.deepEqual(fs.readdirSync(bad), []);
  fs.rmSync(out, { recursive: true, force: true });
  fs.rmSync(bad, { recursive: true, force: true });
});

test("the local server passes through only the emulator paths the page uses", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "web-env-"));
  // Upstreams on a closed port: an allowed path reaches the proxy (502), a refused one never leaves (404).
  fs.writeFileSync(path.join(dir, "stack.env"), ["LAMBDA_URL=http://127.0.0.1:9", "STYTCH_URL=http://127.0.0.1:9", "SANITY_URL=http://127.0.0.1:9",
    "B2B_PROJECT=project-test-x", "STYTCH_SECRET=s", "SANITY_WRITE_TOKEN=t", "SANITY_DATASET=production"].join("\n"));
  const srv = spawn("node", [path.join(ROOT, "server.js"), "--stack-env", path.join(dir, "stack.env"), "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const base = await new Promise((resolve, reject) => {
      srv.stdout.on("data", (b) => { const m = String(b).match(/http:\/\/[\d.]+:\d+/); if (m) resolve(m[0]); });
      srv.on("exit", (c) => reject(new Error(`server exited ${c}`)));
    });
    const cfg = await (await fetch(`${base}/config.js`)).text();
    assert.match(cfg, /"gatedContentUrl": "http:\/\/127\.0\.0\.1:9\/lambda-url\/gated-content"/);
    assert.doesNotMatch(cfg, /"s"|SANITY_WRITE_TOKEN|"t"/, "no credential in the page's config");
    assert.equal((await fetch(`${base}/__local/stytch/__gatehouse/state`)).status, 502);
    assert.equal((await fetch(`${base}/__local/stytch/v1/b2b/organizations/organization-test-x`)).status, 502);
    assert.equal((await fetch(`${base}/__local/stytch/v1/b2b/organizations/organization-test-x`, { method: "DELETE" })).status, 404);
    assert.equal((await fetch(`${base}/__local/sanity/v2025-02-19/data/mutate/production`, { method: "POST", body: "{}" })).status, 502);
    assert.equal((await fetch(`${base}/__local/stytch/v1/b2b/organizations/x/members`, { method: "POST" })).status, 404);
    assert.equal((await fetch(`${base}/__local/stytch/__gatehouse/reset`, { method: "POST" })).status, 404);
    assert.equal((await fetch(`${base}/__local/sanity/__gatehouse/faults`)).status, 404);
    assert.equal((await fetch(`${base}/../../etc/passwd`)).status, 404);
    assert.equal((await fetch(`${base}/%2e%2e/server.js`)).status, 404);
    assert.equal((await fetch(`${base}/index.html`)).status, 200);
  } finally {
    srv.kill("SIGTERM");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
