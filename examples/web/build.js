#!/usr/bin/env node
// The production "build": a copy of the shipped files (an explicit list, so a new local-only
// file never ships by accident), a config.js from the environment, and the Stytch SDK's ESM
// files vendored with an import map (no bundler, no CDN). The local-only modules (sign-in
// through the emulator, the editor panel) are not copied, and the build fails if any trace
// of them or of a local credential is in the output.
//
//   GATED_CONTENT_URL=https://….lambda-url.eu-west-1.on.aws TOKEN_EXCHANGE_URL=https://… \
//   STYTCH_PUBLIC_TOKEN=public-token-live-… STYTCH_SIGNIN_URL=/login \
//   [AUTH_TRANSPORT=bearer|cookie] [COOKIE_DOMAIN=example.com] [CONTENT_TYPES=article,report] \
//   node build.js [--out dist]
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const HERE = __dirname;
const SHIPPED = ["index.html", "style.css", "app.js", "gatehouse.js", "jwt.js", "auth-stytch.js"];
// Strings that only local-only code or local credentials contain.
const FORBIDDEN = ["dev-signin", "local-editor", "/__local/", "__gatehouse", "sk-local", "secret-test-local"];
const SDK_ENTRY = "b2b/index.headless.mjs";
const SDK_SPECIFIER = "@stytch/vanilla-js/b2b/headless";

function fail(msg) {
  console.error(`build: ${msg}`);
  process.exit(1);
}

function need(name, check, hint) {
  const v = process.env[name];
  if (!v) fail(`${name} is required (${hint})`);
  if (check && !check(v)) fail(`${name}=${v} is not valid (${hint})`);
  return v;
}

const fnUrl = (v) => /^https:\/\/[^/]+/.test(v) || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(v);

/** The SDK entry and every file it imports (relative imports only; checked). */
function sdkFiles(esmRoot) {
  const seen = new Set();
  const walk = (file) => {
    if (seen.has(file)) return;
    if (!fs.existsSync(file)) fail(`vendoring the Stytch SDK: ${file} is missing (run npm ci in examples/web)`);
    seen.add(file);
    const src = fs.readFileSync(file, "utf8");
    for (const m of src.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)) {
      if (!m[1].startsWith(".")) fail(`vendoring the Stytch SDK: ${path.relative(esmRoot, file)} imports ${m[1]} (not self-contained)`);
      walk(path.resolve(path.dirname(file), m[1]));
    }
  };
  walk(path.join(esmRoot, SDK_ENTRY));
  return [...seen];
}

function main() {
  const i = process.argv.indexOf("--out");
  const out = path.resolve(i > 0 ? process.argv[i + 1] : path.join(HERE, "dist"));
  const config = {
    gatedContentUrl: need("GATED_CONTENT_URL", fnUrl, "the gated-content function URL, https"),
    tokenExchangeUrl: need("TOKEN_EXCHANGE_URL", fnUrl, "the token-exchange function URL, https"),
    contentTypes: (process.env.CONTENT_TYPES || "article,report").split(",").map((s) => s.trim()).filter(Boolean),
    pageSize: Number(process.env.PAGE_SIZE || 20),
    transport: process.env.AUTH_TRANSPORT || "bearer",
    authModule: "./auth-stytch.js",
    panels: [],
    stytch: {
      publicToken: need("STYTCH_PUBLIC_TOKEN", (v) => /^public-token-(test|live)-/.test(v), "public-token-test-… or public-token-live-…"),
      signInUrl: process.env.STYTCH_SIGNIN_URL || "/login",
      cookieDomain: process.env.COOKIE_DOMAIN || null,
    },
  };
  if (!["bearer", "cookie"].includes(config.transport)) fail("AUTH_TRANSPORT must be bearer or cookie");
  if (!Number.isInteger(config.pageSize) || config.pageSize < 1 || config.pageSize > 100) fail("PAGE_SIZE must be 1..100");

  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  for (const f of SHIPPED) fs.copyFileSync(path.join(HERE, "public", f), path.join(out, f));
  fs.writeFileSync(path.join(out, "config.js"), `// Written by examples/web/build.js.\nexport default ${JSON.stringify(config, null, 2)};\n`);

  const esmRoot = path.join(HERE, "node_modules", "@stytch", "vanilla-js", "dist", "esm");
  const vendor = path.join(out, "vendor", "stytch-vanilla-js");
  const files = sdkFiles(esmRoot);
  for (const f of files) {
    const to = path.join(vendor, path.relative(esmRoot, f));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(f, to);
  }
  const importmap = `<script type="importmap">${JSON.stringify({ imports: { [SDK_SPECIFIER]: `./vendor/stytch-vanilla-js/${SDK_ENTRY}` } })}</script>`;
  const html = fs.readFileSync(path.join(out, "index.html"), "utf8");
  const marker = /<!-- importmap:[^>]*-->/;
  if (!marker.test(html)) fail("index.html lost its <!-- importmap: … --> marker");
  fs.writeFileSync(path.join(out, "index.html"), html.replace(marker, importmap));

  // Nothing local in the output.
  const all = [];
  const list = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) list(p); else all.push(p); } };
  list(out);
  for (const f of all) {
    const text = fs.readFileSync(f, "utf8");
    const hit = FORBIDDEN.find((s) => text.includes(s) || path.basename(f).includes(s));
    if (hit) fail(`${path.relative(out, f)} contains "${hit}": local-only code must not ship`);
  }
  const kib = all.reduce((n, f) => n + fs.statSync(f).size, 0) / 1024;
  console.log(`build: ${all.length} files (${files.length} from @stytch/vanilla-js), ${kib.toFixed(0)} KiB -> ${out}`);
}

main();
