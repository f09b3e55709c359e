// The official @insforge/sdk, unchanged, against a local recording listener: proves that a
// token gatehouse mints, handed to createClient, reaches InsForge as `Authorization: Bearer`
// on /api/database/records/<table> (the routes the Rust side calls directly).
// INSFORGE_TEST_TOKEN overrides the token (the Rust e2e test passes a real minted JWT).
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createClient } from "@insforge/sdk";

const TOKEN = process.env.INSFORGE_TEST_TOKEN || "gatehouse-sdk-test-dummy-token";

let server;
let base;
let seen = [];

before(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      // Shaped like InsForge: PostgREST's body passed through.
      const rows = req.method === "POST" ? [{ id: "00000000-0000-4000-8000-000000000001", ...JSON.parse(body || "{}") }] : [];
      res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify(rows));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => server?.close());

beforeEach(() => {
  seen = [];
});

async function selectAndInsert(client) {
  const sel = await client.database.from("todos").select("*");
  assert.equal(sel.error, null, JSON.stringify(sel.error));
  assert.deepEqual(sel.data, []);

  const ins = await client.database.from("todos").insert({ title: "from sdk-test" }).select();
  assert.equal(ins.error, null, JSON.stringify(ins.error));
  assert.equal(ins.data[0].title, "from sdk-test");

  assert.equal(seen.length, 2, `exactly two requests, got ${JSON.stringify(seen.map((r) => `${r.method} ${r.url}`))}`);
  const [get, post] = seen;

  assert.equal(get.method, "GET");
  assert.match(get.url, /^\/api\/database\/records\/todos\?/);
  assert.equal(new URL(get.url, base).searchParams.get("select"), "*");

  assert.equal(post.method, "POST");
  assert.match(post.url, /^\/api\/database\/records\/todos(\?|$)/);
  assert.deepEqual(JSON.parse(post.body), { title: "from sdk-test" });
  assert.match(post.headers.prefer ?? "", /return=representation/);

  for (const r of seen) {
    assert.equal(r.headers.authorization, `Bearer ${TOKEN}`, `${r.method} ${r.url}`);
  }
}

test("edgeFunctionToken (deprecated alias, as in InsForge's Stytch sample) is sent as Bearer", async () => {
  await selectAndInsert(createClient({ baseUrl: base, edgeFunctionToken: TOKEN }));
});

test("accessToken is sent as Bearer", async () => {
  await selectAndInsert(createClient({ baseUrl: base, accessToken: TOKEN }));
});
