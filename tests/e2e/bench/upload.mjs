// Bench: encrypt and upload through the Help Center widget, headless Chromium on loopback.
//
//   node tests/e2e/bench/upload.mjs [--size-mib 1024] [--runs 1]
//
// Starts the real server (SEALDROP_BIN, else target/debug/sealdrop: build the release binary
// and point SEALDROP_BIN at it for figures that mean something) and the Zendesk simulator,
// attaches one file of the given size to the React request form, and times from "files
// attached" to "every part stored" (the widget's progress reaching 100 %). Meanwhile it
// samples the resident memory of every Chromium process and of the server from /proc, and
// the page's event-loop lag. Prints one table row per run. Goal: >= 300 MB/s.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { launchBrowser } from '../lib/browser.mjs';
import { binaryPath, freePort, startServer, waitForOk } from '../lib/server.mjs';

const { values: args } = parseArgs({ options: { 'size-mib': { type: 'string', default: '1024' }, runs: { type: 'string', default: '1' } } });
const SIZE = Number(args['size-mib']) * 1024 * 1024;
const RUNS = Number(args.runs);
const panel = '[data-sealdrop="widget"]';

function rssKiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Chromium's process type of `pid`: renderer, utility (network, storage), gpu-process, browser. */
function processType(pid) {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /--type=([a-z-]+)/.exec(cmd)?.[1] ?? 'browser';
  } catch {
    return 'gone';
  }
}

/** Resident KiB of this bench's Chromium processes, by process type. */
function rssByType() {
  const out = {};
  for (const pid of chromiumPids()) {
    const type = processType(pid);
    out[type] = (out[type] ?? 0) + rssKiB(pid);
  }
  return out;
}

/** Pids of the Chromium processes this bench started (descendants of this process). */
function chromiumPids() {
  const parent = new Map();
  const name = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      name.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
      parent.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const mine = (pid) => {
    for (let p = parent.get(pid); p; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  return [...name].filter(([pid, n]) => /chrom/i.test(n) && mine(pid)).map(([pid]) => pid);
}

async function makeFile(file, size) {
  const out = createWriteStream(file);
  const block = randomBytes(1 << 20);
  for (let at = 0, n = 0; at < size; n++) {
    const len = Math.min(block.length, size - at);
    block.writeUInt32LE(n, 0);
    if (!out.write(Buffer.from(block.subarray(0, len)))) await new Promise((r) => out.once('drain', r));
    at += len;
  }
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
}

const server = await startServer();
const simPort = await freePort();
const sim = spawn(binaryPath('zendesk-sim'), ['--listen', `127.0.0.1:${simPort}`, '--sealdrop-url', `${server.url}/`, '--widget-key', 'sdw_bench', '--empty'], { stdio: 'ignore' });
const dir = await mkdtemp(path.join(os.tmpdir(), 'sealdrop-bench-'));
let browser;
try {
  const simUrl = `http://127.0.0.1:${simPort}`;
  await waitForOk(`${simUrl}/sim/info`, { what: 'zendesk-sim' });
  // The tenant allows the simulator's Help Center origin; its pages get the tenant's widget key.
  const token = await server.admin(['tenant', 'create', 'Bench']);
  const put = await fetch(`${server.url}/api/v1/settings`, { method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ help_center_origins: [simUrl] }) });
  if (put.status !== 200) throw new Error(`PUT /api/v1/settings answered ${put.status}: ${await put.text()}`);
  const patched = await fetch(`${simUrl}/sim/settings`, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ widget_key: (await put.json()).widget_key }) });
  if (!patched.ok) throw new Error(`the simulator refused the widget key: ${patched.status}`);
  const file = path.join(dir, 'bench.bin');
  await makeFile(file, SIZE);

  browser = await launchBrowser();
  const rows = [];
  const growthByType = [];
  for (let run = 0; run < RUNS; run++) {
    const page = await browser.newPage();
    await page.goto(`${simUrl}/hc/en-us/requests/new`);
    await page.locator(`${panel} .drop`).waitFor();
    await page.evaluate(() => {
      window.__lag = 0;
      let last = performance.now();
      window.__probe = setInterval(() => {
        const now = performance.now();
        window.__lag = Math.max(window.__lag, now - last - 50);
        last = now;
      }, 50);
    });
    const baseByType = rssByType();
    const base = Object.values(baseByType).reduce((a, b) => a + b, 0);
    let peakBrowser = base;
    const peakByType = { ...baseByType };
    let peakServer = rssKiB(server.process.pid);
    const sampler = setInterval(() => {
      const now = rssByType();
      peakBrowser = Math.max(peakBrowser, Object.values(now).reduce((a, b) => a + b, 0));
      for (const [type, kib] of Object.entries(now)) peakByType[type] = Math.max(peakByType[type] ?? 0, kib);
      peakServer = Math.max(peakServer, rssKiB(server.process.pid));
    }, 100);
    const started = performance.now();
    await page.locator(`${panel} input[type=file]`).setInputFiles(file);
    await page.waitForFunction((p) => {
      const li = document.querySelector(p)?.shadowRoot?.querySelector('li.file');
      return li?.dataset.progress === '100';
    }, panel, { timeout: 0, polling: 50 });
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const lag = await page.evaluate(() => window.__lag);
    growthByType.push(Object.fromEntries(Object.entries(peakByType).map(([type, kib]) => [type, ((kib - (baseByType[type] ?? 0)) / 1024).toFixed(0)])));
    rows.push({ run: run + 1, MiB: SIZE / 1048576, seconds: seconds.toFixed(2), 'MB/s': (SIZE / 1e6 / seconds).toFixed(0), 'browser peak RSS MiB': ((peakBrowser) / 1024).toFixed(0), 'browser RSS growth MiB': ((peakBrowser - base) / 1024).toFixed(0), 'server peak RSS MiB': (peakServer / 1024).toFixed(0), 'max event-loop lag ms': lag.toFixed(0) });
    await page.close();
  }
  console.log(`Help Center widget upload, ${os.cpus().length} CPUs, server ${process.env.SEALDROP_BIN ?? 'target/debug/sealdrop'}`);
  console.table(rows);
  console.log('browser RSS growth by Chromium process type, MiB (peak - before):');
  console.table(growthByType);
} finally {
  await browser?.close();
  sim.kill('SIGTERM');
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
