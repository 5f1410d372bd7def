// The recipient page (/p/{id}) end to end: the real `sealdrop` binary, a real SMTP server
// process, headless Chromium. A package is sent (with `sealdrop send` when the binary has it,
// otherwise sealed in Node with the same wasm bindings the page uses), opened from its secure
// link, verified with the code read from the captured mail, and downloaded: the files the
// browser writes to disk must hash like the originals.
//
// Key states are screenshotted into the artifacts folder (SEALDROP_E2E_ARTIFACTS).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile, open as openFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { withBrowser, artifactsDir } from './lib/browser.mjs';
import { startServer, binaryPath, freePort, repoRoot } from './lib/server.mjs';
import { waitForMail } from './lib/smtp.mjs';
import { axe } from './lib/help-center.mjs';

const PART_CHUNKS = 128;
const CHUNK = 65536;

let server;
let token;
let smtp; // { url, dir, stop() }

/** Folders makeFiles wrote; removed when the file's tests end. */
const fileFolders = [];

before(async () => {
  smtp = await smtpServer();
  server = await startServer({ env: { SEALDROP_SMTP_URL: smtp.url } });
  token = await server.admin(['tenant', 'create', 'Example Support']);
});

after(async () => {
  await server?.stop();
  await smtp?.stop();
  await Promise.all(fileFolders.map((dir) => rm(dir, { recursive: true, force: true })));
});

// ---- SMTP --------------------------------------------------------------------------------

/** The SMTP capture server of `cargo xtask test`, or one started here from its venv. */
async function smtpServer() {
  if (process.env.SEALDROP_TEST_SMTP_URL && process.env.SEALDROP_TEST_SMTP_CAPTURE_DIR) {
    return { url: process.env.SEALDROP_TEST_SMTP_URL, dir: process.env.SEALDROP_TEST_SMTP_CAPTURE_DIR, stop: async () => {} };
  }
  const python = [process.env.SEALDROP_SMTP_PYTHON, path.join(os.homedir(), '.cache/sealdrop/venv/bin/python')]
    .find((p) => p && existsSync(p));
  if (!python) throw new Error('no SMTP capture server: run through `cargo xtask test --only e2e` (it installs aiosmtpd)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sealdrop-smtp-'));
  const port = await freePort();
  const child = spawn(python, [path.join(repoRoot, 'scripts/smtp_capture.py'), '--port', String(port), '--dir', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      import('node:net').then(({ default: net }) => {
        const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
        s.on('error', () => resolve(false));
      });
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `smtp://127.0.0.1:${port}`,
    dir,
    stop: async () => { child.kill('SIGTERM'); await rm(dir, { recursive: true, force: true }); },
  };
}

async function codeFor(address, since) {
  const mail = await waitForMail({ to: address, dir: smtp.dir, since });
  assert.ok(mail.code, `the mail to ${address} holds a code`);
  assert.equal(mail.code.length, 8, 'codes have 8 digits');
  assert.ok(mail.text && mail.html, 'text and HTML bodies');
  return mail.code;
}

// ---- sending -----------------------------------------------------------------------------

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Writes files into a temporary folder; returns [{ name, path, bytes, sha256 }]. */
async function makeFiles(specs) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sealdrop-send-'));
  fileFolders.push(dir);
  const out = [];
  for (const { name, size, text } of specs) {
    const bytes = text !== undefined ? Buffer.from(text) : randomBytes(size);
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    out.push({ name, path: file, bytes, sha256: sha256(bytes) });
  }
  return out;
}

/** Sends files; returns `{ id, link }`. Options: to[], requireAuth, expiresSecs, message. */
async function send(files, { to = [], requireAuth = false, expiresSecs, message, downloads } = {}) {
  const viaCli = await sendWithCli(files, { to, requireAuth, expiresSecs, message, downloads });
  if (viaCli) return viaCli;
  return sendWithWasm(files, { to, requireAuth, expiresSecs, message, downloads });
}

async function sendWithCli(files, { to, requireAuth, expiresSecs, message, downloads }) {
  const args = ['send', '--server', server.url, ...to.flatMap((a) => ['--to', a])];
  if (requireAuth) args.push('--require-auth');
  if (expiresSecs) args.push('--expires', `${expiresSecs}s`);
  if (downloads) args.push('--downloads', String(downloads));
  if (message) args.push('--message', message);
  args.push(...files.map((f) => f.path));
  const result = await new Promise((resolve) => {
    execFile(binaryPath(), args, { env: { ...process.env, SEALDROP_TOKEN: token } }, (err, stdout, stderr) =>
      resolve({ err, stdout, stderr }),
    );
  });
  if (result.err) {
    if (/unrecognized subcommand|unexpected argument|invalid value 'send'/i.test(result.stderr)) return null;
    throw new Error(`sealdrop send failed: ${result.stderr}`);
  }
  const link = /https?:\/\/\S+\/p\/[A-Za-z0-9_-]+#[A-Za-z0-9_-]+/.exec(result.stdout)?.[0];
  assert.ok(link, `sealdrop send printed a link: ${result.stdout}`);
  return { id: new URL(link).pathname.split('/').pop(), link };
}

let wasm;
async function loadWasm() {
  if (!wasm) {
    const pkg = process.env.SEALDROP_WASM_DIR ?? path.join(repoRoot, 'widget-wasm/pkg');
    wasm = await import(path.join(pkg, 'sealdrop_widget.js'));
    await wasm.default({ module_or_path: await readFile(path.join(pkg, 'sealdrop_widget_bg.wasm')) });
  }
  return wasm;
}

/** The sender's side in Node with the page's own wasm bindings (when the CLI has no `send`). */
async function sendWithWasm(files, { to, requireAuth, expiresSecs, message, downloads }) {
  const { PackageSealer } = await loadWasm();
  const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  const body = { recipients: to, require_auth: requireAuth };
  if (expiresSecs) body.expires_in_secs = expiresSecs;
  if (downloads) body.max_downloads = downloads;
  const created = await (await fetch(`${server.url}/api/v1/packages`, { method: 'POST', headers: auth, body: JSON.stringify(body) })).json();
  assert.ok(created.id, JSON.stringify(created));
  const sealer = new PackageSealer(created.id, created.server_secret, {
    files: files.map((f) => ({ name: f.name, size: f.bytes.length, type: 'application/octet-stream' })),
    message: message ?? null,
    sender: null,
  });
  const up = { 'X-Sealdrop-Upload-Token': created.upload_token };
  let res = await fetch(`${server.url}/api/v1/packages/${created.id}/manifest`, {
    method: 'PUT', headers: { ...up, 'X-Sealdrop-Link-Verifier': sealer.linkVerifier }, body: sealer.manifest,
  });
  assert.equal(res.status, 200, await res.text());
  for (const [i, f] of files.entries()) {
    const enc = sealer.file(i);
    let part = [];
    let partIndex = 0;
    const flush = async () => {
      const body = Buffer.concat(part);
      part = [];
      const r = await fetch(`${server.url}/api/v1/packages/${created.id}/files/${i}/parts/${partIndex++}`, {
        method: 'PUT', headers: { ...up, 'X-Sealdrop-Sha256': sha256(body) }, body,
      });
      assert.equal(r.status, 201, await r.text());
    };
    for (let c = 0; c < enc.chunkCount; c++) {
      const [start, end] = enc.plaintextRange(c);
      part.push(Buffer.from(await enc.encryptChunk(c, new Uint8Array(f.bytes.subarray(start, end)))));
      if (part.length === PART_CHUNKS) await flush();
    }
    if (part.length) await flush();
  }
  res = await fetch(`${server.url}/api/v1/packages/${created.id}/finalize`, { method: 'POST', headers: up });
  assert.equal(res.status, 200, await res.text());
  return { id: created.id, link: sealer.link(server.url) };
}

// ---- browser helpers ---------------------------------------------------------------------

/** Replaces the save pickers by the origin-private file system: the real File System Access
 *  writer, without a dialog a test cannot click. */
const OPFS_PICKERS = () => {
  const root = () => navigator.storage.getDirectory();
  window.showSaveFilePicker = async ({ suggestedName }) => (await root()).getFileHandle(suggestedName, { create: true });
  window.showDirectoryPicker = async () => root();
};
/** No File System Access: the page falls back to the service-worker stream. */
const NO_PICKERS = () => {
  Object.defineProperty(window, 'showSaveFilePicker', { value: undefined, configurable: true });
  Object.defineProperty(window, 'showDirectoryPicker', { value: undefined, configurable: true });
};

async function opfsFiles(page) {
  return page.evaluate(async () => {
    const out = {};
    const root = await navigator.storage.getDirectory();
    for await (const [name, handle] of root.entries()) {
      const file = await handle.getFile();
      const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
      out[name] = { size: file.size, sha256: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('') };
    }
    return out;
  });
}

async function shot(page, name) {
  const dir = artifactsDir();
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `recipient-${name}.png`), fullPage: true });
}

async function pageState(page, state, timeout = 20_000) {
  await page.waitForFunction((s) => document.body.dataset.state === s, state, { timeout });
}

// ---- tests -------------------------------------------------------------------------------

test('a protected package: address, emailed code, files decrypted to disk equal the originals', async (t) => {
  const address = `carol.${Date.now()}@customer.example`;
  const files = await makeFiles([{ name: 'scan.pdf', size: 3 * 1024 * 1024 + 123 }, { name: 'notes.txt', text: 'hello from the sender\n' }]);
  const { link } = await send(files, { to: [address], requireAuth: true, message: 'Here are the documents.' });
  await withBrowser(t, async ({ page, browser }) => {
    await browser.addInitScript(OPFS_PICKERS);
    await page.goto(link);
    await pageState(page, 'ask-email');
    assert.equal(await page.textContent('#sender'), 'Example Support');
    await shot(page, '1-ask-email');
    assert.deepEqual(await axe(page), [], 'axe-core (WCAG 2.1 AA): asking for the address');

    const since = Date.now();
    await page.fill('#email', address.toUpperCase());
    await page.click('#email-submit');
    await pageState(page, 'ask-code');
    await shot(page, '2-ask-code');
    assert.deepEqual(await axe(page), [], 'axe-core (WCAG 2.1 AA): asking for the code');
    await page.fill('#code', await codeFor(address, since));
    await page.click('#code-submit');
    await pageState(page, 'files');
    const names = await page.$$eval('.file-name', (els) => els.map((e) => e.textContent));
    assert.deepEqual(names, ['scan.pdf', 'notes.txt'], 'decrypted names');
    assert.equal(await page.textContent('#message'), 'Here are the documents.');
    await shot(page, '3-files');
    assert.deepEqual(await axe(page), [], 'axe-core (WCAG 2.1 AA): the file list');

    await page.click('#download-all');
    await pageState(page, 'downloaded', 60_000);
    await shot(page, '4-downloaded');
    assert.deepEqual(await axe(page), [], 'axe-core (WCAG 2.1 AA): downloaded');
    const saved = await opfsFiles(page);
    for (const f of files) {
      assert.equal(saved[f.name]?.size, f.bytes.length, `${f.name} size`);
      assert.equal(saved[f.name]?.sha256, f.sha256, `${f.name} bytes out == bytes in`);
    }
  });
});

test('an unprotected package downloads without a code, through the service-worker stream', async (t) => {
  const files = await makeFiles([{ name: 'report.bin', size: 5 * 1024 * 1024 + 7 }, { name: 'empty.txt', text: '' }]);
  const { link } = await send(files);
  await withBrowser(t, async ({ page, browser }) => {
    await browser.addInitScript(NO_PICKERS);
    await page.goto(link);
    await pageState(page, 'files');
    const downloads = [];
    page.on('download', (d) => downloads.push(d));
    await page.click('#download-all');
    await pageState(page, 'downloaded', 60_000);
    await shot(page, 'sw-downloaded');
    for (let i = 0; i < 50 && downloads.length < files.length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(downloads.length, files.length, 'one browser download per file');
    for (const d of downloads) {
      const f = files.find((x) => x.name === d.suggestedFilename());
      assert.ok(f, `unexpected download ${d.suggestedFilename()}`);
      const bytes = await readFile(await d.path());
      assert.equal(bytes.length, f.bytes.length, `${f.name} size`);
      assert.equal(sha256(bytes), f.sha256, `${f.name} bytes out == bytes in`);
    }
  });
});

test('five wrong codes lock that code', async (t) => {
  const address = `dave.${Date.now()}@customer.example`;
  const files = await makeFiles([{ name: 'a.txt', text: 'secret' }]);
  const { link } = await send(files, { to: [address], requireAuth: true });
  await withBrowser(t, async ({ page }) => {
    await page.goto(link);
    await pageState(page, 'ask-email');
    const since = Date.now();
    await page.fill('#email', address);
    await page.click('#email-submit');
    await pageState(page, 'ask-code');
    const code = await codeFor(address, since);
    const wrong = code.slice(0, 7) + String((Number(code[7]) + 1) % 10);
    for (let i = 0; i < 5; i++) {
      await page.evaluate(() => { document.body.dataset.state = 'ask-code'; });
      await page.fill('#code', wrong);
      await page.click('#code-submit');
      await pageState(page, 'code-wrong');
    }
    await page.evaluate(() => { document.body.dataset.state = 'ask-code'; });
    await page.fill('#code', code);
    await page.click('#code-submit');
    await pageState(page, 'code-wrong');
    assert.match(await page.textContent('#code-error'), /not right|expired|used/);
    await shot(page, 'code-locked');
  });
});

test('a tampered blob stops the download with the tampered message and discards the file', async (t) => {
  const files = await makeFiles([{ name: 'big.bin', size: 2 * 1024 * 1024 }]);
  const { id, link } = await send(files);
  // Flip one byte in the middle of the stored ciphertext.
  const blob = (await listFiles(path.join(server.dataDir, 'blobs'))).find((p) => p.includes(id));
  assert.ok(blob, 'the package has a blob in the data folder');
  const handle = await openFile(blob, 'r+');
  const at = Math.floor((await handle.stat()).size / 2);
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, at);
  byte[0] ^= 0x01;
  await handle.write(byte, 0, 1, at);
  await handle.close();

  await withBrowser(t, async ({ page, browser }) => {
    await browser.addInitScript(OPFS_PICKERS);
    await page.goto(link);
    await pageState(page, 'files');
    await page.click('#download-all');
    await pageState(page, 'tampered', 60_000);
    assert.match(await page.textContent('#download-error'), /altered/);
    await shot(page, 'tampered');
    const saved = await opfsFiles(page);
    assert.ok(!saved['big.bin'] || saved['big.bin'].size === 0, `no partial file is left: ${JSON.stringify(saved)}`);
  });
});

test('an expired package shows the expired message', async (t) => {
  const files = await makeFiles([{ name: 'late.txt', text: 'too late' }]);
  const { link } = await send(files, { expiresSecs: 2 });
  await new Promise((r) => setTimeout(r, 3_000));
  await withBrowser(t, async ({ page }) => {
    await page.goto(link);
    await pageState(page, 'expired');
    assert.match(await page.textContent('#problem-title'), /expired/);
    await shot(page, 'expired');
  });
});

test('a revoked package shows the revoked message', async (t) => {
  const files = await makeFiles([{ name: 'withdrawn.txt', text: 'not any more' }]);
  const { id, link } = await send(files);
  const res = await fetch(`${server.url}/api/v1/packages/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 204, await res.text());
  await withBrowser(t, async ({ page }) => {
    await page.goto(link);
    await pageState(page, 'revoked');
    assert.match(await page.textContent('#problem-title'), /withdrew/);
    await shot(page, 'revoked');
  });
});

test('after its one allowed download, a package shows the download-limit message', async (t) => {
  const files = await makeFiles([{ name: 'once.txt', text: 'only once' }]);
  const { link } = await send(files, { downloads: 1 });
  await withBrowser(t, async ({ page, browser }) => {
    await browser.addInitScript(OPFS_PICKERS);
    await page.goto(link);
    await pageState(page, 'files');
    await page.click('#download-all');
    await pageState(page, 'downloaded', 60_000);
    const saved = await opfsFiles(page);
    assert.equal(saved['once.txt']?.sha256, files[0].sha256, 'the one download equals the original');
    await page.goto('about:blank');
    await page.goto(link);
    await pageState(page, 'download_limit_reached');
    assert.match(await page.textContent('#problem-title'), /Download limit reached/);
    await shot(page, 'download-limit');
  });
});

test('a link with a wrong secret shows the wrong-link message', async (t) => {
  const files = await makeFiles([{ name: 'x.txt', text: 'x' }]);
  const { link } = await send(files);
  const [base, secret] = link.split('#');
  const wrong = (secret[0] === 'A' ? 'B' : 'A') + secret.slice(1);
  await withBrowser(t, async ({ page }) => {
    await page.goto(`${base}#${wrong}`);
    await pageState(page, 'wrong_link');
    await shot(page, 'wrong-link');
  });
});

async function listFiles(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}
