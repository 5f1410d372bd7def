// The agent sidebar app end to end: the real `sealdrop` binary, the Zendesk simulator (its
// agent ticket page POSTs the signed ZAF JWT into the sidebar iframe and hosts ZAF), a real
// SMTP capture server and headless Chromium. The sidebar runs the real ZAF SDK.
//
// Flow: the admin opens a ticket (setup: "Authorize" → OAuth with the simulator → grant),
// reads the Help Center snippet and allows the simulator's Help Center origin; a Help Center
// upload (sealed in Node with the same bindings and upload.js, with the widget key) shows in
// the inbox and downloads to equal bytes; an agent sends files with and without
// authentication (the recipient page asks for the emailed code); an expired package shows as
// expired; admin settings change what agents see; a role that is not allowed is refused.
//
// Screenshots of the sidebar states go to the artifacts folder (SEALDROP_E2E_ARTIFACTS).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open as openFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { withBrowser, artifactsDir } from './lib/browser.mjs';
import { freePort, repoRoot } from './lib/server.mjs';
import { waitForMail } from './lib/smtp.mjs';
import { axe } from './lib/help-center.mjs';
import { NO_PICKERS, downloadedFiles, loadWasm, openTicket, settingsAsAdmin, startZendesk } from './lib/zendesk.mjs';

let zendesk; // { server, sim, stop() }
let server;
let sim; // { url, firstTicket, users: {admin, agent, customer}, ... } (lib/zendesk.mjs)
let smtp;
let widgetKey;
let wasm;

const sha256 = (b) => createHash('sha256').update(b).digest('hex');

/** Folders makeFiles wrote; removed when the file's tests end. */
const fileFolders = [];

before(async () => {
  smtp = await smtpServer();
  zendesk = await startZendesk({ env: { SEALDROP_SMTP_URL: smtp.url } });
  ({ server, sim } = zendesk);
  wasm = await loadWasm();
});

after(async () => {
  await zendesk?.stop();
  await smtp?.stop();
  await Promise.all(fileFolders.map((dir) => rm(dir, { recursive: true, force: true })));
});

// ---- processes -----------------------------------------------------------------------------

async function smtpServer() {
  if (process.env.SEALDROP_TEST_SMTP_URL && process.env.SEALDROP_TEST_SMTP_CAPTURE_DIR) {
    return { url: process.env.SEALDROP_TEST_SMTP_URL, dir: process.env.SEALDROP_TEST_SMTP_CAPTURE_DIR, stop: async () => {} };
  }
  const python = [process.env.SEALDROP_SMTP_PYTHON, path.join(os.homedir(), '.cache/sealdrop/venv/bin/python')]
    .find((p) => p && existsSync(p));
  if (!python) throw new Error('no SMTP capture server: run through `cargo xtask test --only e2e` (it installs aiosmtpd)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sealdrop-smtp-'));
  const port = await freePort();
  const child = spawn(python, [path.join(repoRoot, 'scripts/smtp_capture.py'), '--port', String(port), '--dir', dir], { stdio: 'ignore' });
  const net = (await import('node:net')).default;
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `smtp://127.0.0.1:${port}`, dir, stop: async () => { child.kill('SIGTERM'); await rm(dir, { recursive: true, force: true }); } };
}

// ---- helpers -------------------------------------------------------------------------------

async function makeFiles(specs) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sealdrop-agent-files-'));
  fileFolders.push(dir);
  const out = [];
  for (const { name, size, text } of specs) {
    const bytes = text !== undefined ? Buffer.from(text) : randomBytes(size);
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    out.push({ name, path: file, bytes, size: bytes.length, sha256: sha256(bytes) });
  }
  return out;
}

async function newTicket(description, extra = {}) {
  const res = await fetch(`${sim.url}/sim/tickets`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ subject: 'Files', description, requester_id: sim.users.customer.id, ...extra }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).ticket;
}

async function shot(page, name) {
  const dir = artifactsDir();
  await mkdir(dir, { recursive: true });
  const handle = await page.$('iframe[id^="app_sidebar_"]');
  await (handle ?? page).screenshot({ path: path.join(dir, `agent-${name}.png`) });
  await page.screenshot({ path: path.join(dir, `agent-${name}-page.png`), fullPage: true });
}

/** Seals `files` in Node with the widget key, as the Help Center widget does; returns the link. */
async function helpCenterUpload(files, create = {}) {
  const { Api, sendFiles } = await import(path.join(repoRoot, 'web/shared/upload.js'));
  const api = new Api({ base: server.url, headers: { 'X-Sealdrop-Widget-Key': widgetKey, Origin: sim.url } });
  const blobs = files.map((f) => new File([f.bytes], f.name, { type: 'application/octet-stream' }));
  const { link } = await sendFiles({ wasm, api, files: blobs, create });
  return link;
}

/** Sends `files` from the sidebar; returns the text of the reply composer afterwards. */
async function sendFromSidebar(page, frame, files, { requireAuth }) {
  await frame.click('#tabs button[data-tab="send"]');
  await frame.setInputFiles('#file-input', files.map((f) => f.path));
  const box = await frame.$('#require-auth');
  if ((await box.isChecked()) !== requireAuth) await box.click();
  await frame.click('#send-button');
  await frame.waitForFunction(() => !document.getElementById('send-status').hidden
    && document.getElementById('send-progress').value === 1, null, { timeout: 60_000 });
  // The link reaches the reply through a ZAF invoke (a postMessage round trip to the ticket
  // page) that may land just after the sidebar says "sent": wait for what the agent sees.
  await page.waitForFunction(() => /\/p\/[A-Za-z0-9_-]+#/.test(document.getElementById('ticket-reply').innerHTML),
    null, { timeout: 10_000 });
  return page.$eval('#ticket-reply', (e) => ({ text: e.innerText, html: e.innerHTML }));
}

const linkIn = (text) => text.match(/https?:\/\/\S+\/p\/[A-Za-z0-9_-]+#[A-Za-z0-9_-]+/)?.[0];

// ---- tests (in order: the first one sets the tenant up) -------------------------------------

test('the admin sets sealdrop up from the sidebar: grant, Help Center origin, widget key', async (t) => {
  await withBrowser(t, async ({ page }) => {
    let frame = await openTicket(page, sim, sim.firstTicket);
    assert.equal(await frame.evaluate(() => document.body.dataset.status), 'setup_required');
    assert.match(await frame.textContent('#status-title'), /set up/);
    await shot(page, '0-setup');
    assert.deepEqual(await axe(frame), [], 'axe-core (WCAG 2.1 AA): the sidebar before setup');
    const [popup] = await Promise.all([page.waitForEvent('popup'), frame.click('#authorize')]);
    await popup.waitForURL(/\/zendesk\/oauth\/callback/, { timeout: 20_000 });
    assert.match(await popup.textContent('h1'), /can now reach Zendesk/);
    await popup.close();

    frame = await settingsAsAdmin(page, sim, async (f) => {
      await f.fill('#s-origins', sim.url);
    });
    assert.equal(await frame.textContent('#grant-status'), 'Granted and working.');
    const snippet = await frame.inputValue('#snippet');
    widgetKey = snippet.match(/data-key="(sdw_[^"]+)"/)?.[1];
    assert.ok(widgetKey, `the snippet holds the widget key: ${snippet}`);
    assert.ok(snippet.includes(`${server.url}/widget/v1/loader.js`));
    // The snippet pins the loader the server serves (Subresource Integrity, web/widget/README.md).
    const loader = Buffer.from(await (await fetch(`${server.url}/widget/v1/loader.js`)).arrayBuffer());
    const integrity = `sha384-${createHash('sha384').update(loader).digest('base64')}`;
    assert.ok(snippet.includes(` integrity="${integrity}" crossorigin="anonymous"`), `the snippet pins ${integrity}: ${snippet}`);
    // Rotating the widget key changes the snippet; the old key stops working.
    page.on('dialog', (d) => d.accept());
    await frame.click('#rotate-key');
    await frame.waitForSelector('#rotate-status:not([hidden])');
    const rotated = (await frame.inputValue('#snippet')).match(/data-key="(sdw_[^"]+)"/)?.[1];
    assert.ok(rotated && rotated !== widgetKey, 'a new widget key');
    const old = await fetch(`${server.url}/api/v1/packages`, {
      method: 'POST', headers: { 'X-Sealdrop-Widget-Key': widgetKey, Origin: sim.url, 'Content-Type': 'application/json' }, body: '{}',
    });
    assert.equal(old.status, 401, 'the old key stops working');
    widgetKey = rotated;
    // The audit log, filtered, and its CSV export.
    await frame.selectOption('#audit-event', 'settings_changed');
    await frame.click('#audit-form button[type="submit"]');
    await frame.waitForSelector('#audit-table tr[data-event="settings_changed"]');
    assert.equal(await frame.$$eval('#audit-table tr', (rows) => rows.filter((r) => r.dataset.event !== 'settings_changed').length), 0,
      'the filter keeps only that event');
    const [csv] = await Promise.all([page.waitForEvent('download'), frame.click('#audit-csv')]);
    const text = await readFile(await csv.path(), 'utf8');
    assert.match(text.split('\n')[0], /event/, 'a CSV header');
    assert.match(text, /settings_changed/);
    assert.doesNotMatch(text, /zendesk_granted/, 'the export follows the filter');
    await shot(page, '1-admin-settings');
    assert.deepEqual(await axe(frame), [], 'axe-core (WCAG 2.1 AA): the admin settings');
  });
});

test('a Help Center upload shows in the sidebar with its names and downloads to equal bytes', async (t) => {
  assert.ok(widgetKey, 'set up by the first test');
  const files = await makeFiles([{ name: 'printer-log.txt', text: 'paper jam at 10:42\n'.repeat(500) }, { name: 'photo.bin', size: 200 * 1024 + 5 }]);
  const link = await helpCenterUpload(files);
  const ticket = await newTicket(`The printer is broken.\n\nEncrypted attachments: ${link}`);
  await withBrowser(t, async ({ page, browser }) => {
    await browser.addInitScript(NO_PICKERS);
    const frame = await openTicket(page, sim, ticket.id, 'agent');
    await frame.waitForSelector('#links li[data-state="ready"]', { timeout: 30_000 });
    const names = await frame.$$eval('#links .files .name', (els) => els.map((e) => e.textContent));
    assert.deepEqual(names, files.map((f) => f.name), 'decrypted names');
    assert.match(await frame.textContent('#links .expires'), /Available until/);
    await shot(page, '2-inbox');
    assert.deepEqual(await axe(frame), [], 'axe-core (WCAG 2.1 AA): the inbox');
    const downloads = [];
    page.on('download', (d) => downloads.push(d));
    for (let i = 0; i < files.length; i++) {
      await frame.click(`#links li[data-file="${i}"] button.download`);
      await frame.waitForSelector(`#links li[data-file="${i}"][data-done="1"]`, { timeout: 30_000 });
    }
    await shot(page, '3-inbox-downloaded');
    await downloadedFiles(downloads, files);
  });
});

test('an agent sends two files with authentication; the recipient confirms the emailed code', async (t) => {
  const files = await makeFiles([{ name: 'invoice.pdf', size: 300 * 1024 + 1 }, { name: 'readme.txt', text: 'from the agent\n' }]);
  const ticket = await newTicket('Please send me the invoice.');
  let link;
  await withBrowser(t, async ({ page }) => {
    const frame = await openTicket(page, sim, ticket.id, 'agent');
    await frame.click('#tabs button[data-tab="send"]');
    assert.deepEqual(await frame.$$eval('#recipients li', (els) => els.map((e) => e.textContent)), ['carol@customer.example']);
    assert.equal(await frame.isChecked('#require-auth'), true, 'the tenant default: require authentication');
    const reply = await sendFromSidebar(page, frame, files, { requireAuth: true });
    link = linkIn(reply.text);
    assert.ok(link, `the reply holds the link: ${reply.text}`);
    assert.match(reply.text, /Secure files for you \(2\)/);
    await shot(page, '4-sent');
    // The sent package is in the sidebar's inbox once the reply is submitted.
    await page.click('#ticket-submit');
    await frame.click('#tabs button[data-tab="inbox"]');
    await frame.waitForSelector('#links li[data-state="ready"] >> nth=0', { timeout: 30_000 });
  });
  await withBrowser(t, async ({ page, browser }) => {
    await browser.addInitScript(NO_PICKERS);
    await page.goto(link);
    await page.waitForFunction(() => document.body.dataset.state === 'ask-email', null, { timeout: 20_000 });
    const since = Date.now();
    await page.fill('#email', 'carol@customer.example');
    await page.click('#email-submit');
    await page.waitForFunction(() => document.body.dataset.state === 'ask-code');
    const mail = await waitForMail({ to: 'carol@customer.example', dir: smtp.dir, since });
    assert.ok(mail.code, 'the mail holds a code');
    await page.fill('#code', mail.code);
    await page.click('#code-submit');
    await page.waitForFunction(() => document.body.dataset.state === 'files');
    const downloads = [];
    page.on('download', (d) => downloads.push(d));
    await page.click('#download-all');
    await page.waitForFunction(() => document.body.dataset.state === 'downloaded', null, { timeout: 60_000 });
    await downloadedFiles(downloads, files);
  });
});

test('admin settings change what agents see: no authentication by default, hyperlinks; the link alone opens', async (t) => {
  const files = await makeFiles([{ name: 'open.txt', text: 'no code needed\n' }]);
  const ticket = await newTicket('Send it plainly.');
  let link;
  await withBrowser(t, async ({ page }) => {
    await settingsAsAdmin(page, sim, async (f) => {
      await f.uncheck('#s-require-auth');
      await f.selectOption('#s-reply-style', 'hyperlink');
    });
    const frame = await openTicket(page, sim, ticket.id, 'agent');
    await frame.click('#tabs button[data-tab="send"]');
    assert.equal(await frame.isChecked('#require-auth'), false, 'the new default reaches the agent');
    const reply = await sendFromSidebar(page, frame, files, { requireAuth: false });
    const href = reply.html.match(/<a href="([^"]+)"/)?.[1]?.replaceAll('&amp;', '&');
    assert.ok(href && linkIn(href), `the reply holds a hyperlink: ${reply.html}`);
    link = href;
    // The agent's sent list comes from the server: this send and the one of the test before.
    await frame.waitForFunction(() => document.querySelectorAll('#sent li[data-state="ready"] button.revoke').length >= 2);
    assert.match(await frame.textContent('#sent li:first-child'), /open\.txt/);
    await shot(page, '5-sent-hyperlink');
  });
  await withBrowser(t, async ({ page, browser }) => {
    await browser.addInitScript(NO_PICKERS);
    await page.goto(link);
    await page.waitForFunction(() => document.body.dataset.state === 'files', null, { timeout: 20_000 });
    const downloads = [];
    page.on('download', (d) => downloads.push(d));
    await page.click('#download-all');
    await page.waitForFunction(() => document.body.dataset.state === 'downloaded', null, { timeout: 60_000 });
    await downloadedFiles(downloads, files);
  });
  await withBrowser(t, async ({ page }) => {
    await settingsAsAdmin(page, sim, async (f) => {
      await f.check('#s-require-auth');
      await f.selectOption('#s-reply-style', 'text');
    });
  });
});

test('an expired and a revoked package show as such in the inbox', async (t) => {
  const files = await makeFiles([{ name: 'old.txt', text: 'old\n' }]);
  // Long enough for the upload to finish on a loaded machine; then wait until it has passed.
  const created = Date.now();
  const expired = await helpCenterUpload(files, { expires_in_secs: 6 });
  const revoked = await helpCenterUpload(files);
  const ticket = await newTicket(`First: ${expired}\nSecond: ${revoked}`);
  await new Promise((r) => setTimeout(r, Math.max(0, created + 7_000 - Date.now())));
  await withBrowser(t, async ({ page }) => {
    page.on('dialog', (d) => d.accept());
    const frame = await openTicket(page, sim, ticket.id, 'agent');
    await frame.waitForSelector('#links li[data-state="expired"]', { timeout: 30_000 });
    assert.match(await frame.textContent('#links li[data-state="expired"] .state-text'), /Expired/);
    await frame.waitForSelector('#links li:nth-child(2)[data-state="ready"]');
    await frame.click('#links li:nth-child(2) button.revoke');
    await frame.waitForSelector('#links li[data-state="revoked"]', { timeout: 30_000 });
    assert.match(await frame.textContent('#links li[data-state="revoked"] .state-text'), /Revoked/);
    await shot(page, '6-expired-revoked');
  });
});

test('a tampered file shows as tampered and nothing is saved', async (t) => {
  const files = await makeFiles([{ name: 'forged.bin', size: 300 * 1024 }]);
  const link = await helpCenterUpload(files);
  const { packageId } = wasm.parseLink(link);
  const blob = (await listFiles(path.join(server.dataDir, 'blobs'))).find((p) => p.includes(packageId));
  assert.ok(blob, 'the package has a blob in the data folder');
  const handle = await openFile(blob, 'r+');
  const at = Math.floor((await handle.stat()).size / 2);
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, at);
  byte[0] ^= 0x01;
  await handle.write(byte, 0, 1, at);
  await handle.close();
  const ticket = await newTicket(`Here: ${link}`);
  await withBrowser(t, async ({ page }) => {
    const downloads = [];
    page.on('download', (d) => downloads.push(d));
    const frame = await openTicket(page, sim, ticket.id, 'agent');
    await frame.waitForSelector('#links li[data-state="ready"]', { timeout: 30_000 });
    await frame.click('#links li[data-file="0"] button.download');
    await frame.waitForSelector('#links li[data-state="tampered"]', { timeout: 30_000 });
    assert.match(await frame.textContent('#links li[data-file="0"] .file-status'), /Tampered/);
    await shot(page, '8-tampered');
    await new Promise((r) => setTimeout(r, 500));
    // The service-worker stream starts the browser's download before the first byte; on
    // tamper the stream errors, and the browser marks that download failed: no file lands.
    for (const d of downloads) assert.notEqual(await d.failure(), null, 'a started download ends failed, never complete');
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

test('an agent whose role is not allowed sees a clear refusal', async (t) => {
  await withBrowser(t, async ({ page }) => {
    await settingsAsAdmin(page, sim, async (f) => { await f.fill('#s-allowed-roles', 'admin'); });
    const frame = await openTicket(page, sim, sim.firstTicket, 'agent');
    assert.equal(await frame.evaluate(() => document.body.dataset.status), 'refused');
    assert.match(await frame.textContent('#status-text'), /role is not allowed/);
    assert.equal(await frame.isHidden('#tabs'), true, 'nothing else is offered');
    await shot(page, '7-refused');
    await settingsAsAdmin(page, sim, async (f) => { await f.fill('#s-allowed-roles', 'admin, agent'); });
  });
});

// Last: it deletes the tenant the tests above set up.
test('the admin deletes all data after typing the account name and keeps a certificate that verifies', async (t) => {
  const link = await helpCenterUpload([{ name: 'gone.txt', bytes: randomBytes(5000) }]);
  await withBrowser(t, async ({ page }) => {
    const frame = await openTicket(page, sim, sim.firstTicket);
    await frame.click('#tabs button[data-tab="admin"]');
    await frame.waitForSelector('#grant-status[data-grant]', { state: 'attached' });
    const label = await frame.textContent('#delete-label');
    const name = label.match(/^Type (.+) to confirm$/)?.[1];
    assert.ok(name, `the label names what to type: ${label}`);
    // A wrong name deletes nothing.
    await frame.fill('#delete-confirm', 'acme');
    await frame.click('#delete-all');
    await frame.waitForSelector('#delete-error:not([hidden])');
    assert.match(await frame.textContent('#delete-error'), /exactly/);
    const { packageId, linkProof } = wasm.parseLink(link);
    const info = () => fetch(`${server.url}/api/v1/packages/${packageId}`, { headers: { 'X-Sealdrop-Link-Proof': linkProof } });
    assert.equal((await info()).status, 200, 'still there');

    await frame.fill('#delete-confirm', name);
    await frame.click('#delete-all');
    await frame.waitForSelector('#delete-certificate:not([hidden])', { timeout: 30_000 });
    assert.match(await frame.textContent('#delete-status'), /Deleted \d+ link/);
    const downloads = [];
    page.on('download', (d) => downloads.push(d));
    await frame.click('#delete-certificate a[download$=".json"]');
    await frame.click('#delete-certificate a[download$=".html"]');
    for (let i = 0; i < 50 && downloads.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(downloads.length, 2, 'both renderings download');
    const text = (await readFile(await downloads.find((d) => d.suggestedFilename().endsWith('.json')).path(), 'utf8')).trim();
    const html = await readFile(await downloads.find((d) => d.suggestedFilename().endsWith('.html')).path(), 'utf8');
    assert.match(html, /Certificate of deletion/);

    // The certificate verifies with the key the server publishes, and not once a byte changed.
    const { verify, createPublicKey } = await import('node:crypto');
    const served = await (await fetch(`${server.url}/.well-known/sealdrop-deletion-key`)).json();
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: served.public_key }, format: 'jwk' });
    const file = JSON.parse(text);
    assert.equal(file.public_key, served.public_key);
    const signed = Buffer.from(JSON.stringify(file.certificate));
    const signature = Buffer.from(file.signature, 'base64url');
    assert.ok(verify(null, signed, key, signature), 'the signature verifies');
    assert.ok(file.certificate.deleted.packages >= 1, JSON.stringify(file.certificate));
    const tampered = Buffer.from(JSON.stringify({ ...file.certificate, tenant_name: `${file.certificate.tenant_name}x` }));
    assert.equal(verify(null, tampered, key, signature), false);

    // The customer's link is gone with the data.
    assert.equal((await info()).status, 404);
    await shot(page, '8-deleted');
  });
});
