// Start the real `sealdrop` binary for a test: a fresh data folder (SQLite + blob folder +
// outbox) on a free port, wait for GET /healthz, stop it and remove the folder afterwards.
//
//   import { startServer } from './lib/server.mjs';
//   const server = await startServer();          // or startServer({ env: { SEALDROP_SMTP_URL: ... } })
//   t.after(() => server.stop());
//   const token = await server.admin(['tenant', 'create', 'Example Support']);
//   fetch(`${server.url}/api/v1/...`)
//
// `cargo xtask test` builds the binary and sets SEALDROP_BIN; run by hand, the helper falls
// back to <repo>/target/debug/sealdrop (build it with `cargo build -p sealdrop-server`).

import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot =
  process.env.SEALDROP_REPO_ROOT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Path of a workspace binary (`sealdrop`, `zendesk-sim`) built by cargo. */
export function binaryPath(name = 'sealdrop') {
  if (name === 'sealdrop' && process.env.SEALDROP_BIN) return process.env.SEALDROP_BIN;
  const dir =
    process.env.SEALDROP_BIN_DIR ??
    path.join(process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, 'target'), 'debug');
  const bin = path.join(dir, name);
  if (!existsSync(bin)) {
    throw new Error(`${bin} does not exist: build it with \`cargo build -p ${name === 'sealdrop' ? 'sealdrop-server' : name}\` or run \`cargo xtask test --only e2e\``);
  }
  return bin;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200, the process exits, or `timeoutMs` passes. */
export async function waitForOk(url, { timeoutMs = 30_000, exited = () => null, what = url } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const code = exited();
    if (code !== null) throw new Error(`${what} exited (${code}) before ${url} answered`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: ${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}

/**
 * Starts `sealdrop serve` on the embedded default. Options:
 * - `env`: extra environment (e.g. `SEALDROP_SMTP_URL`, `SEALDROP_DEFAULT_EXPIRY_SECS`);
 * - `args`: extra `serve` flags;
 * - `dataDir`: reuse a folder instead of a fresh temporary one (then it is not removed);
 * - `quiet` (default true): keep the server's log in memory, printed only if start-up fails
 *   or with `server.log()`; set SEALDROP_E2E_VERBOSE=1 to stream it.
 * Returns `{ url, port, dataDir, outboxDir, process, log(), admin(args), stop() }`.
 */
export async function startServer({ env = {}, args = [], dataDir, quiet = !process.env.SEALDROP_E2E_VERBOSE } = {}) {
  const bin = binaryPath('sealdrop');
  const ownDir = !dataDir;
  dataDir ??= await mkdtemp(path.join(os.tmpdir(), 'sealdrop-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const settings = ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--public-url', `${url}/`];
  const childEnv = { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info', ...env };
  // The e2e server runs on the embedded default unless a test asks otherwise.
  if (!('DATABASE_URL' in env)) delete childEnv.DATABASE_URL;

  const child = spawn(bin, ['serve', ...settings, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const collect = (stream, out) =>
    stream.on('data', (chunk) => {
      lines.push(chunk.toString());
      if (lines.length > 2000) lines.shift();
      if (!quiet) out.write(chunk);
    });
  collect(child.stdout, process.stdout);
  collect(child.stderr, process.stderr);
  let exitCode = null;
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      exitCode = code ?? signal;
      resolve(exitCode);
    }),
  );
  const log = () => lines.join('');

  const stop = async () => {
    if (exitCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
  };

  try {
    await waitForOk(`${url}/healthz`, { exited: () => exitCode, what: 'sealdrop serve' });
  } catch (err) {
    await stop();
    err.message += `\n--- sealdrop log ---\n${log().slice(-4000)}`;
    throw err;
  }

  /** Runs `sealdrop admin <args>` on this server's settings; resolves to its stdout, trimmed. */
  const admin = (adminArgs) =>
    new Promise((resolve, reject) => {
      execFile(bin, ['admin', ...settings, ...adminArgs], { env: childEnv }, (err, stdout, stderr) => {
        if (err) reject(new Error(`sealdrop admin ${adminArgs.join(' ')} failed: ${stderr || err.message}`));
        else resolve(stdout.trim());
      });
    });

  return { url, port, dataDir, outboxDir: path.join(dataDir, 'outbox'), process: child, log, admin, stop };
}
