// sealdrop.js in headless Chromium against the in-memory API of mock-api.mjs.
//
//   cd widget-wasm/js && npm ci && npm test      (node --test test/*.test.mjs)
//
// Builds the browser package into widget-wasm/pkg first (as `cargo xtask wasm` does) unless
// SEALDROP_WIDGET_PKG names a built one. Environment as bench/run.mjs: CARGO_TARGET_DIR,
// CHROMIUM, WASM_BINDGEN.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { startMockApi } from "./mock-api.mjs";

const jsDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const crateDir = resolve(jsDir, "..");
const MiB = 1024 * 1024;

// The flags every headless Chromium of this project runs with (see ../../webdriver.json).
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.error ?? `exit ${r.status}`})`);
}

function browserPackage() {
  if (process.env.SEALDROP_WIDGET_PKG) return resolve(process.env.SEALDROP_WIDGET_PKG);
  const targetDir = process.env.CARGO_TARGET_DIR ?? resolve(crateDir, "..", "target");
  sh("cargo", ["build", "--release", "--target", "wasm32-unknown-unknown", "-p", "sealdrop-widget"], {
    cwd: crateDir,
    env: { ...process.env, CARGO_TARGET_DIR: targetDir },
  });
  const out = join(crateDir, "pkg");
  sh(process.env.WASM_BINDGEN ?? "wasm-bindgen", [
    "--target", "web", "--out-dir", out,
    join(targetDir, "wasm32-unknown-unknown", "release", "sealdrop_widget.wasm"),
  ]);
  return out;
}

let mock;
let browser;
let page;

before(async () => {
  mock = await startMockApi({ static: { "/pkg/": browserPackage(), "/js/": jsDir } });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS, headless: true });
  page = await browser.newPage();
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  await page.goto(`${mock.url}/js/test/page.html`);
  await page.waitForFunction(() => window.ready === true);
});

after(async () => {
  await browser?.close();
  await mock?.close();
});

const partPuts = (id, file, part) =>
  mock.requests.filter((r) => r.method === "PUT" && r.path === `/api/v1/packages/${id}/files/${file}/parts/${part}`).length;

test("files of every size go up encrypted and come back byte for byte", { timeout: 120_000 }, async () => {
  const sizes = [0, 1000, 65536, 20 * MiB + 13];
  const r = await page.evaluate((sizes) => window.flows.sendAndReceive({ sizes }), sizes);
  assert.deepEqual(r.files.map((f) => f.same), sizes.map(() => true), JSON.stringify(r.files));
  assert.deepEqual(r.metadata.files.map((f) => f.size), sizes);
  assert.equal(r.metadata.message, "Here you go");
  assert.equal(r.metadata.sender, "Test Sender");
  const total = sizes.reduce((a, b) => a + b, 0);
  assert.deepEqual(r.progress.at(-1), [total, total]);

  // The link is the server's URL plus the link secret, which no request ever carried.
  const [base, secret] = r.sent.link.split("#");
  assert.equal(base, `${mock.url}/p/${r.sent.id}`);
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
  const seen = JSON.stringify(mock.requests);
  assert.ok(!seen.includes(secret), "the link secret reached the server");
  // The server holds ciphertext only: the 20 MiB file went up in three parts, none plaintext.
  const pkg = mock.packages.get(r.sent.id);
  assert.equal(pkg.parts.size, 1 + 1 + 1 + 3);
  assert.equal(pkg.parts.get("3/0").length, 128 * 65552);
});

test("a failed part is retried, and a part the server lost is sent again at finalize", { timeout: 120_000 }, async () => {
  mock.faults.fail503.add("1/1");
  mock.faults.lose.add("1/2");
  const sizes = [10, 17 * MiB + 5];
  const r = await page.evaluate((sizes) => window.flows.sendAndReceive({ sizes }), sizes);
  assert.deepEqual(r.files.map((f) => f.same), [true, true], JSON.stringify(r.files));
  assert.equal(partPuts(r.sent.id, 1, 0), 1);
  assert.equal(partPuts(r.sent.id, 1, 1), 2, "the 503 part is sent twice");
  assert.equal(partPuts(r.sent.id, 1, 2), 2, "the lost part is sent again after finalize said it is missing");
});

test("an upload that cannot finish gives its package back and says why", { timeout: 120_000 }, async () => {
  mock.faults.down.add("0/0");
  const before = mock.packages.size;
  const err = await page.evaluate(() => window.flows.failure(() => window.flows.sendAndReceive({ sizes: [1000] })));
  mock.faults.down.clear();
  assert.equal(err?.name, "ApiError", JSON.stringify(err));
  assert.equal(err.status, 503);
  assert.equal(mock.packages.size, before + 1, "exactly one package was created (creation is not retried)");
  const pkg = [...mock.packages.values()].at(-1);
  assert.equal(pkg.revoked, true, "the half-uploaded package was revoked");
  assert.equal(partPuts(pkg.id, 0, 0), 4, "the part was tried once and retried three times");
});

test("a tampered chunk stops the download there, with its index", { timeout: 120_000 }, async () => {
  const size = 3 * 65536 + 7;
  const r = await page.evaluate((size) => window.flows.sendAndReceive({ sizes: [size] }), size);
  assert.equal(r.files[0].same, true);
  mock.packages.get(r.sent.id).parts.get("0/0")[65552 + 100] ^= 0x01; // inside chunk 1
  const again = await page.evaluate((link) => window.flows.receive(link), r.sent.link);
  const f = again.files[0];
  assert.equal(f.error?.name, "SealdropError", JSON.stringify(f));
  assert.equal(f.error.kind, "chunk_tampered");
  assert.equal(f.error.index, 1);
  assert.equal(f.received, 65536, "only the chunk before the tampered one was handed over");
});

test("a wrong link secret is answered like a package that does not exist", { timeout: 120_000 }, async () => {
  const r = await page.evaluate(() => window.flows.sendAndReceive({ sizes: [5] }));
  const [base] = r.sent.link.split("#");
  const wrong = `${base}#${"A".repeat(43)}`;
  const err = await page.evaluate((link) => window.flows.failure(() => window.flows.receive(link)), wrong);
  assert.equal(err?.name, "ApiError", JSON.stringify(err));
  assert.equal(err.status, 404);
  assert.equal(err.code, "not_found");
});

test("the flows work in a module Worker", { timeout: 120_000 }, async () => {
  const sizes = [5, 70000];
  const r = await page.evaluate((sizes) => window.inWorker("sendAndReceive", [{ sizes }]), sizes);
  assert.deepEqual(r.files.map((f) => f.same), [true, true], JSON.stringify(r.files));
});
