// The example page in a real browser (Debian's Chromium through playwright-core) against the
// real local stack (`scripts/stack.sh up test`: functions in `cargo lambda watch --disable-cors`,
// the Stytch and Sanity emulators, moto). Nothing is stubbed except in the one test that says so
// (answers no function gives, as a gateway in between might).
//
//   STACK_PROFILE=test node --test test/browser.test.mjs      (test/run.sh does this)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WEB = path.resolve(HERE, "..");
const ROOT = path.resolve(WEB, "../..");
const PROFILE = process.env.STACK_PROFILE || "test";
const STATE = path.join(ROOT, ".stack", PROFILE);
const ENV = Object.fromEntries(fs.readFileSync(path.join(STATE, "stack.env"), "utf8").split("\n")
  .filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
const SHOTS = process.env.SCREENSHOT_DIR || path.join(STATE, "screenshots");
const ALLOWED = ENV.WEB_URL, REFUSED = ENV.WEB_OTHER_URL;
const GATED = `${ENV.LAMBDA_URL}/lambda-url/gated-content`;
const TOKEN = `${ENV.LAMBDA_URL}/lambda-url/token-exchange`;
// The flags toolchain notes list as known to work here; Playwright starts every launch with a
// new, empty profile directory of its own (its --user-data-dir).
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];

let browser, ids;
const pageErrors = [];
const timings = [];

async function person(origin = ALLOWED) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(`${origin}: ${e.message}`));
  await page.goto(`${origin}/?limit=2`);
  await page.waitForSelector("body[data-ready=true]");
  return { context, page };
}

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function signIn(page, memberId, { transport = "bearer", factors = "1", life = "300" } = {}) {
  await page.waitForSelector(`[data-testid=dev-member] option[value="${memberId}"]`, { state: "attached" });
  await page.selectOption("[data-testid=dev-member]", memberId);
  await page.selectOption("[data-testid=dev-transport]", transport);
  await page.selectOption("[data-testid=dev-factors]", factors);
  await page.selectOption("[data-testid=dev-life]", life);
  await page.click("[data-testid=dev-signin]");
}

const readerState = (page) => page.getAttribute("#reader", "data-state");
async function settled(page, sel) {
  await page.waitForFunction((s) => !["loading", "idle", undefined, null].includes(document.querySelector(s)?.dataset.state), sel);
}

/** Opens `slug` and waits for a final state. */
async function open(page, slug) {
  await page.evaluate((s) => { location.hash = `#/doc/${encodeURIComponent(s)}`; }, slug);
  await page.waitForFunction((s) => document.querySelector("#reader").dataset.slug === s || false, slug).catch(() => {});
  await settled(page, "#reader");
  return readerState(page);
}

/** Reloads until the reader shows `want` (access is cached per container for ACCESS_CACHE_TTL_S). */
async function until(page, want, ms = 15000) {
  const t0 = Date.now();
  for (;;) {
    await settled(page, "#reader");
    const s = await readerState(page);
    if (s === want) return Date.now() - t0;
    if (Date.now() - t0 > ms) assert.fail(`reader stayed ${s}, wanted ${want}`);
    await page.waitForTimeout(400);
    await page.click("#reload");
  }
}

/** Every page of the list (clicking "Load more"), as [{id, slug, public}]. The state, the button and the
 * items are read in one evaluation: the page may start a reload of its own at any moment (the editor
 * panel's refresh after an access change), and separate reads could mix a settled list with a new one. */
async function allListed(page) {
  let last;
  for (let i = 0; i < 200; i++) {
    await settled(page, "#list-status");
    last = await page.evaluate(() => ({
      state: document.querySelector("#list-status").dataset.state,
      more: !document.querySelector("#more").hidden,
      docs: [...document.querySelectorAll("#docs li")].map((li) => ({ id: li.dataset.id, slug: li.dataset.slug, public: li.dataset.public === "true" })),
    }));
    if (last.state === "loading") continue; // a reload began after settled(): wait for it
    if (!last.more) break;
    await page.click("#more");
  }
  assert.equal(last.state, "ok");
  return last.docs;
}

/** Reloads until the list (every page) satisfies `pred`; access is cached like the reads. */
async function untilListed(page, pred, ms = 15000) {
  const t0 = Date.now();
  for (;;) {
    const listed = await allListed(page);
    if (pred(listed)) return listed;
    if (Date.now() - t0 > ms) assert.fail(`the list never satisfied ${pred}: ${JSON.stringify(listed)}`);
    await page.waitForTimeout(400);
    await page.click("#reload");
  }
}

/** gated-content's request lines (one JSON line per request) in the stack's function log, from byte `from`. */
const LOG = path.join(STATE, "lambda.log");
function functionLines(from = 0) {
  const fd = fs.openSync(LOG, "r");
  const size = fs.fstatSync(fd).size;
  const buf = Buffer.alloc(Math.max(0, size - from));
  fs.readSync(fd, buf, 0, buf.length, from);
  fs.closeSync(fd);
  return buf.toString("utf8").split("\n").filter((l) => l.startsWith("{"))
    .map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter((l) => l?.function === "gated-content");
}

/** Raw fetches from the page's origin: "resolved <status>" or "rejected <error name>". */
function rawFetches(page, jwt) {
  return page.evaluate(async ({ gated, token, jwt, slug }) => {
    const tries = {
      "gated-content bearer": [`${gated}/content/${slug}`, { headers: { authorization: `Bearer ${jwt}` } }],
      "gated-content cookie": [`${gated}/content/${slug}`, { credentials: "include" }],
      "gated-content no credentials": [`${gated}/content/${slug}`, { credentials: "omit" }],
      "token-exchange bearer": [`${token}/token`, { method: "POST", headers: { authorization: `Bearer ${jwt}` } }],
      "token-exchange cookie": [`${token}/token`, { method: "POST", credentials: "include" }],
    };
    const out = {};
    for (const [name, [url, init]] of Object.entries(tries)) {
      try { out[name] = `resolved ${(await fetch(url, init)).status}`; } catch (e) { out[name] = `rejected ${e.name}`; }
    }
    return out;
  }, { gated: GATED, token: TOKEN, jwt, slug: `roadmap-${ids.tag}` });
}

async function mint(memberId, orgId, factors = ["email_otp"]) {
  const r = await fetch(`${ENV.STYTCH_URL}/__gatehouse/sessions`, { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ organization_id: orgId, member_id: memberId, authentication_factors: factors }) });
  assert.equal(r.status, 200);
  return (await r.json()).session_jwt;
}

before(async () => {
  assert.ok(ALLOWED && REFUSED, `WEB_URL/WEB_OTHER_URL missing from ${STATE}/stack.env: is the stack up (scripts/stack.sh up ${PROFILE})?`);
  // The narrated demo's own seed: Acme (Alice), Globex (Bob), a public welcome and a Pro/EU roadmap.
  ids = JSON.parse(execFileSync(path.join(ROOT, ".venv/bin/python"), [path.join(ROOT, "scripts/demo.py"), "seed"],
    { env: { ...process.env, STACK_PROFILE: PROFILE }, encoding: "utf8" }));
  // Three more public articles, so an anonymous list has several pages of 2.
  const r = await fetch(`${ENV.SANITY_URL}/v2025-02-19/data/mutate/${ENV.SANITY_DATASET}`, {
    method: "POST", headers: { authorization: `Bearer ${ENV.SANITY_WRITE_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ mutations: [1, 2, 3].map((i) => ({ createOrReplace: { _id: `web-note-${ids.tag}-${i}`, _type: "article",
      title: `Release note ${i} (public)`, slug: { current: `web-note-${ids.tag}-${i}` }, body: `Public note ${i}.` } })) }),
  });
  assert.equal(r.status, 200, await r.text());
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: FLAGS });
});

after(async () => {
  await browser?.close();
  if (timings.length) console.log(`# timings: ${timings.join(", ")}`);
});

test("an anonymous visitor sees public documents only, page after page", async () => {
  const { context, page } = await person();
  const listed = await allListed(page);
  const slugs = listed.map((d) => d.slug);
  assert.ok(slugs.includes(`welcome-${ids.tag}`), "the public welcome is listed");
  assert.ok(!slugs.includes(`roadmap-${ids.tag}`), "the gated roadmap is not");
  assert.deepEqual(listed.filter((d) => !d.public), [], "nothing gated reaches an anonymous list");
  // By id: documents other suites wrote may have no slug.
  const docIds = listed.map((d) => d.id);
  assert.equal(new Set(docIds).size, docIds.length, "pages do not overlap");
  assert.ok(listed.length > 2, "more than one page of 2 (the next_cursor was followed)");
  assert.equal(await open(page, `welcome-${ids.tag}`), "document");
  await shot(page, "01-anonymous");
  assert.equal(await open(page, `roadmap-${ids.tag}`), "notfound");
  assert.ok(await page.isDisabled("#exchange"), "no token exchange without a session");
  await context.close();
});

let alice; // Alice's page (bearer), kept across the editor's changes
test("the editor publishes the rule on the page; Acme's sanity_access appears live; Alice reads the gated article", async () => {
  alice = await person();
  const { page } = alice;
  await signIn(page, ids.alice);
  await page.waitForSelector("[data-testid=whoami]");
  assert.match(await page.textContent("[data-testid=whoami]"), /Alice/);
  await page.waitForFunction((org) => document.querySelector("[data-testid=editor-org]").value === org, ids.acme);
  assert.equal(await page.getAttribute("[data-testid=editor-access]", "data-present"), "false", "no rule yet");
  await page.selectOption("[data-testid=editor-plan]", "plan-pro");
  await page.selectOption("[data-testid=editor-region]", "eu");
  const t0 = Date.now();
  await page.click("[data-testid=editor-publish]");
  await page.waitForSelector("[data-testid=editor-access][data-present=true]", { timeout: 15000 });
  timings.push(`publish -> sanity_access on the page ${Date.now() - t0} ms`);
  const access = JSON.parse(await page.textContent("[data-testid=editor-access]"));
  assert.equal(access.plan, "pro");
  assert.equal(access.region, "eu");
  assert.match(await page.textContent("[data-testid=editor-rule]"), new RegExp(`rule-acme-${ids.tag}`));
  await page.evaluate((s) => { location.hash = `#/doc/${s}`; }, `roadmap-${ids.tag}`);
  timings.push(`sanity_access -> Alice reads ${await until(page, "document")} ms`);
  assert.match(await page.textContent("#reader h2"), /2027 roadmap/);
  await page.click("#reload");
  const listed = await untilListed(page, (l) => l.some((d) => d.slug === `roadmap-${ids.tag}`));
  assert.ok(listed.some((d) => d.slug === `roadmap-${ids.tag}` && !d.public), "the gated roadmap is in Alice's list, labelled gated");
  assert.ok(listed.some((d) => d.slug === `welcome-${ids.tag}` && d.public), "beside the public welcome");
  await shot(page, "02-alice-reads-gated");
});

test("token-exchange: Alice's InsForge token, decoded in the page", async () => {
  const { page } = alice;
  await page.click("#exchange");
  await page.waitForSelector("#claims[data-state=ok]");
  const claim = async (k) => page.getAttribute(`#claims tr[data-claim=${k}]`, "data-value");
  assert.equal(await claim("sub"), ids.alice);
  assert.equal(await claim("role"), "authenticated");
  assert.equal(await claim("aud"), "insforge-api");
  const life = Number(await claim("exp")) - Number(await claim("iat"));
  assert.ok(life > 0 && life <= 900, `lifetime ${life} s`);
  await shot(page, "03-token-exchange");
});

test("Bob (another organization) gets the not-found state for the same article", async () => {
  const { context, page } = await person();
  await signIn(page, ids.bob);
  await page.waitForSelector("[data-testid=whoami]");
  assert.equal(await open(page, `roadmap-${ids.tag}`), "notfound");
  assert.ok(!(await allListed(page)).some((d) => d.slug === `roadmap-${ids.tag}`));
  await shot(page, "04-bob-not-found");
  await context.close();
});

test("the cookie path: stytch_session_jwt set on 127.0.0.1 reaches the functions on another port; a refused origin cannot read the answer", async () => {
  const { context, page } = await person();
  const sent = [];
  page.on("request", async (r) => { if (r.url().startsWith(GATED + "/content/roadmap")) sent.push(await r.allHeaders()); });
  await signIn(page, ids.alice, { transport: "cookie" });
  await page.waitForSelector("[data-testid=whoami]");
  const cookie = (await context.cookies(ENV.LAMBDA_URL)).find((c) => c.name === "stytch_session_jwt");
  assert.ok(cookie, "the cookie applies to the functions' URL");
  assert.equal(cookie.domain, "127.0.0.1");
  assert.equal(await open(page, `roadmap-${ids.tag}`), "document");
  assert.ok(sent.length > 0);
  assert.match(sent.at(-1).cookie || "", /stytch_session_jwt=ey/);
  assert.equal(sent.at(-1).authorization, undefined, "no Authorization header on the cookie path");
  const raw = await rawFetches(page, null);
  assert.equal(raw["gated-content cookie"], "resolved 200");
  assert.equal(raw["gated-content no credentials"], "resolved 404", "without the cookie the same read is anonymous");
  assert.equal(raw["token-exchange cookie"], "resolved 200");
  await page.click("#exchange");
  await page.waitForSelector("#claims[data-state=ok]");
  assert.equal(await page.getAttribute("#claims tr[data-claim=sub]", "data-value"), ids.alice);
  await shot(page, "05-cookie-path");

  // The same browser on the refused origin: the cookie is sent (same host), the answer is withheld.
  const other = await context.newPage();
  other.on("pageerror", (e) => pageErrors.push(`refused origin: ${e.message}`));
  await other.goto(`${REFUSED}/`);
  await other.waitForSelector("body[data-ready=true]");
  const refused = await rawFetches(other, null);
  assert.equal(refused["gated-content cookie"], "rejected TypeError");
  assert.equal(refused["token-exchange cookie"], "rejected TypeError");
  // A path only this probe uses (the route ignores a trailing slash; the log keeps it): the
  // function served Alice's document, so the cookie was sent; the browser withheld the answer.
  const probe = `/content/roadmap-${ids.tag}/`;
  const logFrom = fs.statSync(LOG).size;
  const outcome = await other.evaluate(async (url) => { try { await fetch(url, { credentials: "include" }); return "resolved"; } catch (e) { return `rejected ${e.name}`; } }, `${GATED}${probe}`);
  assert.equal(outcome, "rejected TypeError");
  let line;
  for (let i = 0; i < 50 && !line; i++) { line = functionLines(logFrom).find((l) => l.path === probe); if (!line) await other.waitForTimeout(100); }
  assert.equal(line?.status, 200, "the function answered the refused origin's cookie request with Alice's document");
  await context.close();
});

test("real CORS on the Bearer path: the allowed origin reads with the function's own headers; the refused origin's fetch rejects", async () => {
  const jwt = await mint(ids.alice, ids.acme);
  // The allowed origin: the headers come from the function (exact origin, credentials, Vary: Origin).
  const { page } = alice;
  const seen = [];
  const onResponse = async (r) => { if (r.url().startsWith(GATED) || r.url().startsWith(TOKEN)) seen.push({ url: r.url(), status: r.status(), h: await r.allHeaders() }); };
  page.on("response", onResponse);
  const ok = await rawFetches(page, jwt);
  page.off("response", onResponse);
  assert.equal(ok["gated-content bearer"], "resolved 200");
  assert.equal(ok["token-exchange bearer"], "resolved 200");
  const g = seen.find((s) => s.url.includes("/content/roadmap") && s.status === 200);
  assert.equal(g.h["access-control-allow-origin"], ALLOWED);
  assert.equal(g.h["access-control-allow-credentials"], "true");
  assert.match(g.h.vary, /Origin/);

  // The refused origin: the preflight is answered by the function itself (cargo lambda watch runs
  // with --disable-cors): 403 origin_not_allowed, no CORS headers, so the browser never sends the GET.
  const pre = await fetch(`${GATED}/content/roadmap-${ids.tag}`, { method: "OPTIONS", headers: { origin: REFUSED, "access-control-request-method": "GET", "access-control-request-headers": "authorization" } });
  assert.equal(pre.status, 403);
  assert.equal((await pre.json()).error, "origin_not_allowed");
  assert.equal(pre.headers.get("access-control-allow-origin"), null);
  const pre2 = await fetch(`${TOKEN}/token`, { method: "OPTIONS", headers: { origin: ALLOWED, "access-control-request-method": "POST", "access-control-request-headers": "authorization" } });
  assert.equal(pre2.status, 204);
  assert.equal(pre2.headers.get("access-control-allow-origin"), ALLOWED);
  assert.equal(pre2.headers.get("access-control-allow-methods"), "POST");

  const { context, page: other } = await person(REFUSED);
  await signIn(other, ids.alice);
  await other.waitForSelector("[data-testid=whoami]");
  const refused = await rawFetches(other, jwt);
  assert.equal(refused["gated-content bearer"], "rejected TypeError");
  assert.equal(refused["token-exchange bearer"], "rejected TypeError");
  assert.equal(refused["gated-content no credentials"], "rejected TypeError", "even an anonymous read is unreadable there");
  assert.equal(await open(other, `roadmap-${ids.tag}`), "network");
  await settled(other, "#list-status");
  assert.equal(await other.getAttribute("#list-status", "data-state"), "network");
  await other.click("#exchange");
  await other.waitForSelector("#claims[data-state=network]");
  await shot(other, "06-cors-refused-origin");
  await context.close();
});

test("MFA: the editor requires it (403 mfa_required on the page), a second factor opens the article", async () => {
  const { page } = alice;
  await page.evaluate((s) => { location.hash = `#/doc/${s}`; }, `roadmap-${ids.tag}`);
  await page.click("[data-testid=editor-mfa-on]");
  await page.waitForSelector("[data-testid=editor-access][data-requires-mfa=true]", { timeout: 15000 });
  await until(page, "mfa");
  assert.match(await page.textContent("#reader"), /second factor/i);
  await page.waitForSelector("[data-testid=second-factor]");
  await shot(page, "07-mfa-required");
  await page.click("[data-testid=second-factor]");
  await page.waitForSelector("#reader[data-state=document]");
  assert.match(await page.textContent("[data-testid=whoami]"), /email_otp \+ totp/);
  assert.match(await page.textContent("#reader h2"), /2027 roadmap/);
  await shot(page, "08-mfa-second-factor");
});

test("503: a failing Content Lake shows a retry message; Retry reads the article once it is back", async () => {
  const { page } = alice;
  // No refresh of the page's own pending (after the MFA change) may replace the Retry state.
  await page.waitForFunction(() => !document.querySelector("#refresh-note").textContent, null, { timeout: 10000 });
  const faults = `${ENV.SANITY_URL}/__gatehouse/faults`;
  const r = await fetch(faults, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ path: "/v*", status: 503, count: 1000 }) });
  assert.equal(r.status, 200, await r.text());
  try {
    await page.click("#reload");
    await page.waitForSelector("#reader[data-state=retry]", { timeout: 20000 });
    assert.match(await page.textContent("#reader"), /HTTP 503/);
    await shot(page, "09-unavailable-503");
  } finally {
    await fetch(faults, { method: "DELETE" });
  }
  await page.click("[data-testid=retry]");
  await page.waitForSelector("#reader[data-state=document]", { timeout: 15000 });
});

test("the editor deletes the rule: sanity_access goes, and so does the article", async () => {
  const { page } = alice;
  await page.click("[data-testid=editor-delete]");
  await page.waitForSelector("[data-testid=editor-access][data-present=false]", { timeout: 15000 });
  await until(page, "notfound");
  await untilListed(page, (l) => !l.some((d) => d.slug === `roadmap-${ids.tag}`) && l.some((d) => d.slug === `welcome-${ids.tag}`));
  await shot(page, "10-rule-deleted");
  await page.click("[data-testid=signout]");
  await page.waitForSelector("[data-testid=dev-signin]");
  await alice.context.close();
});

test("an expired session leads back to sign-in (401)", async () => {
  const { context, page } = await person();
  await signIn(page, ids.alice, { life: "-60" });
  await page.waitForSelector("#session .reason");
  assert.match(await page.textContent("#session .reason"), /expired.*401/);
  assert.equal(await page.getAttribute("#session", "data-signed-in"), "false");
  await settled(page, "#list-status");
  assert.equal(await page.getAttribute("#list-status", "data-state"), "ok", "the page goes on as an anonymous visitor");
  await shot(page, "11-session-expired");
  await context.close();
});

test("answers no function gives (stubbed in the browser, as from a gateway in between) do not break the page", async () => {
  const { context, page } = await person();
  const answers = [
    { status: 502, contentType: "text/html", body: "<html><h1>502 Bad Gateway</h1></html>", state: "retry" },
    { status: 200, contentType: "text/plain", body: "hello", state: "unexpected" },
    { status: 200, contentType: "application/json", body: "{\"document\": ", state: "unexpected" },
    { status: 200, contentType: "application/json", body: "{\"documents\": 7, \"document\": \"x\"}", state: "unexpected" },
    { status: 418, contentType: "application/json", body: "{\"error\": \"teapot\"}", state: "unexpected" },
    { status: 200, contentType: "application/json", body: "{\"document\": {\"title\": {\"x\": 1}, \"requiredPlans\": \"pro\", \"body\": [1]}, \"documents\": [{\"slug\": 5}]}", state: "document" },
  ];
  for (const a of answers) {
    await page.route(`${GATED}/**`, (route) => route.fulfill({ status: a.status, contentType: a.contentType, body: a.body, headers: { "access-control-allow-origin": ALLOWED } }));
    assert.equal(await open(page, `anything-${a.status}-${a.state}`), a.state, JSON.stringify(a));
    await settled(page, "#list-status");
    if (a.state === "unexpected") await shot(page, "12-unexpected-answer");
    await page.unroute(`${GATED}/**`);
  }
  assert.equal(await open(page, `welcome-${ids.tag}`), "document", "the page still works afterwards");
  await context.close();
});

test("the production build loads the vendored Stytch SDK, has no local sign-in, and reads public content", async () => {
  execFileSync("node", [path.join(WEB, "build.js"), "--out", path.join(WEB, "dist")], { stdio: "pipe", env: { ...process.env,
    GATED_CONTENT_URL: GATED, TOKEN_EXCHANGE_URL: TOKEN, STYTCH_PUBLIC_TOKEN: "public-token-test-00000000-0000-4000-8000-000000000000" } });
  const context = await browser.newContext({ viewport: { width: 1280, height: 700 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const requested = [];
  page.on("request", (r) => requested.push(r.url()));
  // The SDK would talk to Stytch's hosts, which this machine cannot reach: refuse them at once.
  await page.route((u) => !u.href.startsWith("http://127.0.0.1"), (route) => route.abort("internetdisconnected"));
  await page.goto(`${ALLOWED}/prod/?limit=2`);
  await page.waitForSelector("body[data-ready]");
  assert.equal(await page.getAttribute("body", "data-ready"), "true", await page.textContent("#fatal"));
  await page.waitForSelector("[data-testid=stytch-signin]");
  assert.equal(await page.$("[data-testid=dev-signin]"), null);
  assert.ok(await page.isHidden("#editor"));
  assert.ok(requested.some((u) => u.includes("/prod/vendor/stytch-vanilla-js/b2b/index.headless.mjs")), "the SDK module loaded");
  assert.ok(!requested.some((u) => /dev-signin|local-editor|__local/.test(u)), requested.filter((u) => /dev|local/.test(u)).join(" "));
  const listed = await allListed(page);
  assert.ok(listed.some((d) => d.slug === `welcome-${ids.tag}`));
  assert.deepEqual(errors, []);
  await shot(page, "13-production-build");
  await context.close();
});

test("no uncaught error in any page", () => {
  assert.deepEqual(pageErrors, []);
});
