// Builds the widget for the web, serves bench/ on 127.0.0.1, runs bench.js in headless
// Chromium and prints the table.
//
//   cd widget-wasm/bench && npm ci && node run.mjs [--no-build] [--total-mib N]
//                                                  [--fallback-mib N] [--inflight N] [--rounds N]
//
// Environment: CARGO_TARGET_DIR (default ../../target), CHROMIUM (default /usr/bin/chromium),
// WASM_BINDGEN (default wasm-bindgen on PATH, version 0.2.106 like the crate's wasm-bindgen).

import { spawnSync } from "node:child_process";
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const crateDir = resolve(here, "..");
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};

// The flags every headless Chromium of this project runs with (see ../webdriver.json).
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

function sh(cmd, cmdArgs, opts = {}) {
  console.error(`$ ${cmd} ${cmdArgs.join(" ")}`);
  const r = spawnSync(cmd, cmdArgs, { stdio: "inherit", ...opts });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.error ?? `exit ${r.status}`})`);
}

function build() {
  const targetDir = process.env.CARGO_TARGET_DIR ?? resolve(crateDir, "..", "target");
  sh("cargo", ["build", "--release", "--target", "wasm32-unknown-unknown", "-p", "sealdrop-widget"], {
    cwd: crateDir,
    env: { ...process.env, CARGO_TARGET_DIR: targetDir },
  });
  const wasm = join(targetDir, "wasm32-unknown-unknown", "release", "sealdrop_widget.wasm");
  sh(process.env.WASM_BINDGEN ?? "wasm-bindgen", ["--target", "web", "--out-dir", join(here, "pkg"), wasm]);
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".ts": "text/plain; charset=utf-8",
};

// Serves bench/ (and bench/pkg/) read-only; nothing outside it.
function serve() {
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    const path = normalize(join(here, decodeURIComponent(url.pathname === "/" ? "/index.html" : url.pathname)));
    if (!path.startsWith(here + sep) || path.includes(`${sep}node_modules${sep}`) ||
        !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": TYPES[extname(path)] ?? "application/octet-stream", "Cache-Control": "no-store" });
    createReadStream(path).pipe(res);
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

async function main() {
  if (!flag("--no-build")) build();
  if (!existsSync(join(here, "pkg", "sealdrop_widget.js"))) throw new Error("bench/pkg is missing: run without --no-build");
  const server = await serve();
  const { port } = server.address();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    headless: true,
  });
  try {
    const page = await browser.newPage();
    page.on("console", (m) => console.error(`[page] ${m.text()}`));
    page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
    await page.goto(`http://127.0.0.1:${port}/index.html`);
    await page.waitForFunction(() => window.sealdropBenchReady === true);
    const MiB = 1024 * 1024;
    const opts = {
      totalBytes: option("--total-mib", 1024) * MiB,
      fallbackBytes: option("--fallback-mib", 256) * MiB,
      inflight: option("--inflight", 8),
      rounds: option("--rounds", 3),
    };
    page.setDefaultTimeout(0);
    const results = await page.evaluate(async (o) => {
      const r = await window.sealdropBench.run({ ...o, log: (l) => console.log(l) });
      return { results: r, table: window.sealdropBench.formatTable(r) };
    }, opts);
    console.log(results.table);
    console.log(`(${results.results.userAgent})`);
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
