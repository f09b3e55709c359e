#!/usr/bin/env node
// LOCAL ONLY. The example page's tiny static server (Node, no dependencies), started by
// scripts/stack.sh. It serves public/ with a generated /config.js (function and emulator URLs
// from the stack's env file), the production build (dist/, from build.js) under /prod/, and a
// same-origin pass-through to the local Stytch and Sanity emulators that adds the local
// credentials (the emulators send no CORS headers, and no secret reaches the page).
//
//   node server.js --stack-env ../../.stack/dev/stack.env --port 3000 [--port 3001 ...]
//
// Every --port serves the same thing; stack.sh puts only the first one in CORS_ALLOWED_ORIGINS,
// so the second is an origin the functions refuse (examples/web/README.md, "CORS").
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");

const HERE = __dirname;
const PUBLIC = path.join(HERE, "public");
const DIST = path.join(HERE, "dist");
const MAX_BODY = 1024 * 1024;
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json", ".png": "image/png", ".svg": "image/svg+xml", ".map": "application/json" };

function args(argv) {
  const out = { ports: [], host: "127.0.0.1", stackEnv: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (a === "--port") { out.ports.push(Number(v)); i++; }
    else if (a === "--host") { out.host = v; i++; }
    else if (a === "--stack-env") { out.stackEnv = v; i++; }
    else { console.error(`unknown argument ${a}`); process.exit(2); }
  }
  if (!out.stackEnv || out.ports.length === 0 || out.ports.some((p) => !Number.isInteger(p) || p < 0 || p > 65535)) {
    console.error("usage: server.js --stack-env FILE --port N [--port M] [--host 127.0.0.1]");
    process.exit(2);
  }
  return out;
}

function readEnv(file) {
  const env = {};
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) env[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return env;
}

const opts = args(process.argv.slice(2));
const stack = readEnv(opts.stackEnv);
for (const k of ["LAMBDA_URL", "STYTCH_URL", "SANITY_URL", "B2B_PROJECT", "STYTCH_SECRET", "SANITY_WRITE_TOKEN", "SANITY_DATASET"]) {
  if (!stack[k]) { console.error(`${opts.stackEnv}: ${k} missing`); process.exit(2); }
}
// The access cache TTL the functions run with (the editor panel says how long a change takes).
let ttl = 30;
try {
  const fn = readEnv(path.join(path.dirname(opts.stackEnv), "functions-b2b.env"));
  if (fn.ACCESS_CACHE_TTL_S) ttl = Number(fn.ACCESS_CACHE_TTL_S);
} catch { /* the default */ }

// What the page is told. `authModule`/`panels` name the local-only modules: the production
// build (build.js) writes its own config.js naming auth-stytch.js instead.
const config = {
  gatedContentUrl: `${stack.LAMBDA_URL}/lambda-url/gated-content`,
  tokenExchangeUrl: `${stack.LAMBDA_URL}/lambda-url/token-exchange`,
  contentTypes: ["article", "report", "doc"],
  pageSize: 5,
  transport: "bearer",
  authModule: "./dev-signin.js",
  panels: ["./local-editor.js"],
  local: {
    stytch: "/__local/stytch",
    sanity: "/__local/sanity",
    projectId: stack.B2B_PROJECT,
    dataset: stack.SANITY_DATASET,
    accessCacheTtlS: ttl,
    profile: stack.STACK_PROFILE || "dev",
  },
};

// The pass-through: only these upstream paths, each with its local credential.
const basic = "Basic " + Buffer.from(`${stack.B2B_PROJECT}:${stack.STYTCH_SECRET}`).toString("base64");
const UPSTREAMS = {
  "/__local/stytch/": { base: stack.STYTCH_URL, auth: basic,
    allow: [["POST", /^__gatehouse\/sessions$/], ["GET", /^__gatehouse\/state$/], ["GET", /^v1\/b2b\/organizations\/[A-Za-z0-9._~-]+$/],
      ["POST", /^v1\/b2b\/sessions\/revoke$/]] },
  "/__local/sanity/": { base: stack.SANITY_URL, auth: `Bearer ${stack.SANITY_WRITE_TOKEN}`,
    allow: [["GET", /^v[0-9X][0-9-]*\/data\/query\/[A-Za-z0-9_-]+$/], ["POST", /^v[0-9X][0-9-]*\/data\/mutate\/[A-Za-z0-9_-]+$/],
      ["GET", /^v[0-9X][0-9-]*\/data\/doc\/[A-Za-z0-9_-]+\/[A-Za-z0-9._,-]+$/]] },
};

function send(res, status, type, body, extra = {}) {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store", "x-content-type-options": "nosniff", ...extra });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new Error("too large")); req.destroy(); return; }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function proxy(req, res, prefix, rest, search) {
  const up = UPSTREAMS[prefix];
  if (!up.allow.some(([m, re]) => m === req.method && re.test(rest))) return send(res, 404, "application/json", JSON.stringify({ error: "not_proxied", path: rest }));
  let body;
  try { body = req.method === "GET" || req.method === "HEAD" ? undefined : await readBody(req); }
  catch { return send(res, 413, "application/json", JSON.stringify({ error: "payload_too_large" })); }
  try {
    const r = await fetch(`${up.base}/${rest}${search}`, {
      method: req.method, body, signal: AbortSignal.timeout(15000),
      headers: { authorization: up.auth, ...(req.headers["content-type"] ? { "content-type": req.headers["content-type"] } : {}) },
    });
    const buf = Buffer.from(await r.arrayBuffer());
    send(res, r.status, r.headers.get("content-type") || "application/octet-stream", buf);
  } catch (e) {
    send(res, 502, "application/json", JSON.stringify({ error: "upstream_unreachable", reason: String(e.cause?.code || e.message) }));
  }
}

function serveFile(res, root, rel) {
  const file = path.resolve(root, "." + path.posix.normalize("/" + rel));
  if (!file.startsWith(root + path.sep) && file !== root) return send(res, 404, "text/plain", "not found");
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) return send(res, 404, "text/plain; charset=utf-8", "not found");
    send(res, 200, TYPES[path.extname(file)] || "application/octet-stream", fs.readFileSync(file));
  });
}

async function handle(req, res) {
  const url = new URL(req.url, "http://x");
  const p = decodeURIComponent(url.pathname);
  for (const prefix of Object.keys(UPSTREAMS)) {
    if (p.startsWith(prefix)) return proxy(req, res, prefix, p.slice(prefix.length), url.search);
  }
  if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "method not allowed");
  if (p === "/config.js") return send(res, 200, TYPES[".js"], `// Generated by examples/web/server.js (local stack only).\nexport default ${JSON.stringify(config, null, 2)};\n`);
  if (p === "/healthz") return send(res, 200, "application/json", JSON.stringify({ ok: true }));
  if (p === "/prod" ) return send(res, 302, "text/plain", "", { location: "/prod/" });
  if (p.startsWith("/prod/")) return serveFile(res, DIST, p.slice("/prod/".length) || "index.html");
  return serveFile(res, PUBLIC, p === "/" ? "index.html" : p.slice(1));
}

const servers = opts.ports.map((port) => {
  const s = http.createServer((req, res) => {
    handle(req, res).catch((e) => { try { send(res, 500, "text/plain", String(e)); } catch { /* already sent */ } });
  });
  s.listen(port, opts.host, () => console.log(`web example listening on http://${opts.host}:${s.address().port}`));
  return s;
});

function stop() { for (const s of servers) s.close(); process.exit(0); }
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
