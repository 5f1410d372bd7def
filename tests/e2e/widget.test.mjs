// The Help Center widget end to end: the real `sealdrop` server, the Zendesk simulator's Help
// Center request pages (Copenhagen React markup and the classic one), headless Chromium.
//
// A customer attaches three files (one of 200 MB) to the request form; the widget encrypts
// them in a worker while the page keeps responding, uploads them as one package, and on
// submit puts exactly one secure link into the description, which the simulator's ticket
// holds. The package requires authentication; its bytes decrypt to the originals. Forms
// outside the tenant's list are left alone, other origins and wrong keys are refused with a
// message that says why.
//
// Needs target/debug/sealdrop and target/debug/zendesk-sim, and the browser package in
// widget-wasm/pkg (`cargo xtask wasm`).

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';

import { withBrowser } from './lib/browser.mjs';
import { binaryPath, freePort, startServer, waitForOk } from './lib/server.mjs';

const DEFAULT_FORM = 360000001;
const BILLING_FORM = 360000002;
const BIG = 200 * 1000 * 1000;

/** Starts zendesk-sim pointing its loader tag at `sealdropUrl`. */
async function startSim(sealdropUrl, widgetKey) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(binaryPath('zendesk-sim'), ['--listen', `127.0.0.1:${port}`, '--sealdrop-url', `${sealdropUrl}/`, '--widget-key', widgetKey, '--empty'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, RUST_LOG: 'warn' },
  });
  let exitCode = null;
  child.on('exit', (code) => { exitCode = code; });
  await waitForOk(`${url}/sim/info`, { exited: () => exitCode, what: 'zendesk-sim' });
  return {
    url,
    port,
    stop: () => { if (exitCode === null) child.kill('SIGTERM'); },
    tickets: async () => (await (await fetch(`${url}/sim/tickets`)).json()).tickets,
    settings: (change) => fetch(`${url}/sim/settings`, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(change) }),
  };
}

function sql(server, statement) {
  return execFileSync('sqlite3', [path.join(server.dataDir, 'sealdrop.db'), statement], { encoding: 'utf8' }).trim();
}

/** A tenant with a settings row: widget key, Help Center origins, protected forms. */
async function widgetTenant(server, { origins, forms = [], key = `sdw_${randomBytes(16).toString('hex')}` }) {
  await server.admin(['tenant', 'create', `Acme ${key.slice(-6)}`]);
  const id = (await server.admin(['tenant', 'list'])).split('\n').map((l) => l.split('\t')).find((c) => c[2] === `Acme ${key.slice(-6)}`)[0];
  const q = (s) => `'${s.replaceAll("'", "''")}'`;
  sql(server, `INSERT INTO tenant_settings (tenant_id, widget_key, help_center_origins, widget_forms, updated_at) VALUES (${q(id)}, ${q(key)}, ${q(JSON.stringify(origins))}, ${q(JSON.stringify(forms))}, 0)`);
  return { id, key };
}

function setForms(server, tenant, forms) {
  sql(server, `UPDATE tenant_settings SET widget_forms = '${JSON.stringify(forms)}' WHERE tenant_id = '${tenant.id}'`);
}

/** Writes `size` pseudo-random bytes to `file`; resolves to their SHA-256 (hex). */
async function makeFile(file, size, seed) {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  const block = randomBytes(1 << 20);
  block[0] = seed;
  for (let at = 0, n = 0; at < size; n++) {
    const len = Math.min(block.length, size - at);
    block.writeUInt32LE(n, 4); // no two MiB alike
    const chunk = Buffer.from(block.subarray(0, len));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
    at += len;
  }
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
  return hash.digest('hex');
}

const panel = '[data-sealdrop="widget"]';

/** Everything one test needs: server, simulator, tenant, files. */
async function setup(t, { forms = [], withFiles = false } = {}) {
  const server = await startServer();
  t.after(() => server.stop());
  const sim = await startSim(server.url, 'sdw_placeholder');
  t.after(() => sim.stop());
  const tenant = await widgetTenant(server, { origins: [sim.url], forms });
  await sim.settings({ widget_key: tenant.key });
  let files = [];
  if (withFiles) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sealdrop-widget-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const specs = [['notes.txt', 1234, 1], ['scan.pdf', 3 * 1024 * 1024 + 17, 2], ['capture.bin', BIG, 3]];
    files = await Promise.all(specs.map(async ([name, size, seed]) => {
      const file = path.join(dir, name);
      return { name, size, file, sha256: await makeFile(file, size, seed) };
    }));
  }
  return { server, sim, tenant, files };
}

const markups = {
  react: { query: '', email: '#nrf-email', subject: '#nrf-subject', description: '#nrf-description', select: '#nrf-ticket-form', native: '[data-garden-id="forms.file_upload"]' },
  classic: { query: '?markup=classic', email: '#request_anonymous_requester_email', subject: '#request_subject', description: '#request_description', select: '#request_issue_type_select', native: '#upload-dropzone' },
};

/** Downloads and decrypts every file of the package behind `link` in the page; returns [{name, size, sha256}]. */
async function decryptInBrowser(page, serverUrl, link) {
  await page.goto(`${serverUrl}/healthz`);
  return page.evaluate(async ({ link }) => {
    const wasm = await import('/static/pkg/sealdrop_widget.js');
    await wasm.default();
    const parsed = wasm.parseLink(link);
    const headers = { 'X-Sealdrop-Link-Proof': parsed.linkProof };
    const api = async (method, p, h = {}) => {
      const r = await fetch(p, { method, headers: { ...headers, ...h } });
      if (!r.ok && r.status !== 206) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
      return r;
    };
    const opened = await (await api('POST', `/api/v1/packages/${parsed.packageId}/open`)).json();
    const manifest = Uint8Array.from(atob(opened.manifest), (c) => c.charCodeAt(0));
    const pkg = wasm.openPackage(manifest, parsed.linkSecret, opened.server_secret);
    const { download_token: token } = await (await api('POST', `/api/v1/packages/${parsed.packageId}/download`)).json();
    const out = [];
    for (let i = 0; i < pkg.metadata.files.length; i++) {
      const dec = pkg.file(i);
      const size = dec.ciphertextSize;
      const plaintext = new Uint8Array(dec.plaintextSize);
      let at = 0;
      for (let part = 0; part < wasm.partCount(size); part++) {
        const [s, e] = wasm.partRange(size, part);
        const body = new Uint8Array(await (await api('GET', `/api/v1/packages/${parsed.packageId}/files/${i}`, { 'X-Sealdrop-Download-Token': token, Range: `bytes=${s}-${e - 1}` })).arrayBuffer());
        const [first, last] = wasm.partChunks(dec.plaintextSize, part);
        const chunks = [];
        for (let c = first; c < last; c++) {
          const [a, b] = dec.ciphertextRange(c);
          chunks.push(dec.decryptChunk(c, body.subarray(a - s, b - s)));
        }
        for (const c of chunks) {
          const p = await c;
          plaintext.set(p, at);
          at += p.length;
        }
      }
      const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', plaintext)), (b) => b.toString(16).padStart(2, '0')).join('');
      out.push({ name: pkg.metadata.files[i].name, size: at, sha256: digest });
    }
    return out;
  }, { link });
}

for (const [markup, sel] of Object.entries(markups)) {
  test(`${markup} form: three files (one of 200 MB) are encrypted, the ticket gets one secure link, the bytes come back`, { timeout: 300_000 }, async (t) => {
    const { server, sim, files } = await setup(t, { withFiles: true });
    await withBrowser(t, async ({ page }) => {
      await page.goto(`${sim.url}/hc/en-us/requests/new${sel.query}`);
      await page.locator(`${panel} .drop`).waitFor();
      assert.equal(await page.locator(sel.native).isVisible(), false, 'the plain attachment field is hidden');
      await page.fill(sel.email, 'carol@customer.example');
      await page.fill(sel.subject, 'Logs');
      await page.fill(sel.description, 'Hello, the logs are attached.');

      // Event-loop probe: the longest gap between 10 ms ticks while the files encrypt.
      await page.evaluate(() => {
        window.__lag = 0;
        let last = performance.now();
        window.__probe = setInterval(() => {
          const now = performance.now();
          window.__lag = Math.max(window.__lag, now - last - 10);
          last = now;
        }, 10);
      });
      const started = Date.now();
      await page.locator(`${panel} input[type=file]`).setInputFiles(files.map((f) => f.file));
      await page.locator(`${panel} li.file`).nth(2).waitFor();
      // Typing works while the 200 MB file is being encrypted.
      await page.waitForFunction((p) => {
        const li = document.querySelector(p).shadowRoot.querySelectorAll('li.file')[2];
        return li && Number(li.dataset.progress) > 0;
      }, panel);
      await page.locator(sel.subject).click();
      await page.keyboard.press('End');
      await page.keyboard.type(' and a capture', { delay: 5 });
      const typedWhileBusy = await page.evaluate((p) => {
        const lis = document.querySelector(p).shadowRoot.querySelectorAll('li.file');
        return Number(lis[2].dataset.progress) < 100;
      }, panel);
      assert.equal(await page.inputValue(sel.subject), 'Logs and a capture');
      await page.waitForFunction((p) => Array.from(document.querySelector(p).shadowRoot.querySelectorAll('li.file')).every((li) => li.dataset.progress === '100'), panel, { timeout: 240_000 });
      const seconds = (Date.now() - started) / 1000;
      const lag = await page.evaluate(() => { clearInterval(window.__probe); return window.__lag; });
      t.diagnostic(`${markup}: ${(files.reduce((s, f) => s + f.size, 0) / 1e6 / seconds).toFixed(0)} MB/s encrypt+upload; longest event-loop gap ${lag.toFixed(0)} ms; typed while encrypting: ${typedWhileBusy}`);
      assert.ok(lag < 500, `the page stalled for ${lag.toFixed(0)} ms while encrypting`);

      await Promise.all([page.waitForURL(/\/hc\/en-us\/requests\/\d+$/, { timeout: 60_000 }), page.click(markup === 'react' ? 'button[type=submit]' : 'input[type=submit]')]);
      const id = Number(page.url().split('/').pop());
      const ticket = (await sim.tickets()).find((tk) => tk.id === id);
      assert.ok(ticket, 'the simulator holds the ticket');
      assert.equal(ticket.subject, 'Logs and a capture');
      const links = ticket.description.match(/https?:\/\/\S+\/p\/[A-Za-z0-9_-]+#[A-Za-z0-9_-]+/g) ?? [];
      assert.equal(links.length, 1, `exactly one secure link in: ${ticket.description}`);
      assert.ok(ticket.description.startsWith('Hello, the logs are attached.'), ticket.description);
      assert.ok(links[0].startsWith(`${server.url}/p/`));

      // Only the tenant's agents may open a Help Center upload: the link alone is not enough.
      const packageId = links[0].split('/p/')[1].split('#')[0];
      await page.goto(`${server.url}/healthz`);
      const refused = await page.evaluate(async ({ link, id }) => {
        const wasm = await import('/static/pkg/sealdrop_widget.js');
        await wasm.default();
        const r = await fetch(`/api/v1/packages/${id}/open`, { method: 'POST', headers: { 'X-Sealdrop-Link-Proof': wasm.parseLink(link).linkProof } });
        return { status: r.status, body: await r.json() };
      }, { link: links[0], id: packageId });
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error, 'verification_required');
      assert.equal(sql(server, `SELECT created_by || ' ' || require_auth FROM packages WHERE id = '${packageId}'`), 'widget 1');

      // The bytes: agent sessions need the Zendesk sign-in, which this test does not drive;
      // lift the requirement on this one package and open it with the link.
      sql(server, `UPDATE packages SET require_auth = 0 WHERE id = '${packageId}'`);
      const got = await decryptInBrowser(page, server.url, links[0]);
      assert.deepEqual(got, files.map(({ name, size, sha256 }) => ({ name, size, sha256 })));
    }, { contextOptions: { bypassCSP: true } }); // to run the check script on the server's origin
  });
}

test('a ticket form outside the tenant\'s list is left alone, and switching forms switches the widget', { timeout: 60_000 }, async (t) => {
  const { sim, server, tenant } = await setup(t, { forms: [BILLING_FORM] });
  await withBrowser(t, async ({ page }) => {
    for (const sel of Object.values(markups)) {
      await page.goto(`${sim.url}/hc/en-us/requests/new${sel.query}${sel.query ? '&' : '?'}ticket_form_id=${DEFAULT_FORM}`);
      await page.locator(sel.native).waitFor();
      await page.waitForFunction((p) => document.querySelector(p), panel);
      await page.waitForTimeout(300);
      assert.equal(await page.locator(sel.native).isVisible(), true, 'the plain attachment field stays');
      assert.equal(await page.locator(`${panel} .drop`).isVisible(), false, 'no secure panel on an unprotected form');
      await page.selectOption(sel.select, String(BILLING_FORM));
      await page.locator(`${panel} .drop`).waitFor();
      assert.equal(await page.locator(sel.native).isVisible(), false);
      await page.selectOption(sel.select, String(DEFAULT_FORM));
      await page.locator(sel.native).waitFor();
    }
    // An unprotected form submits exactly what the customer wrote.
    setForms(server, tenant, [BILLING_FORM]);
    await page.goto(`${sim.url}/hc/en-us/requests/new?markup=classic&ticket_form_id=${DEFAULT_FORM}`);
    await page.locator(markups.classic.native).waitFor();
    await page.fill('#request_anonymous_requester_email', 'dan@customer.example');
    await page.fill('#request_subject', 'No files');
    await page.fill('#request_description', 'Just a question.');
    await Promise.all([page.waitForURL(/requests\/\d+$/), page.click('input[type=submit]')]);
    const ticket = (await sim.tickets()).find((tk) => tk.id === Number(page.url().split('/').pop()));
    assert.equal(ticket.description, 'Just a question.');
  });
});

test('a page on another origin is refused, with a message that says why', { timeout: 60_000 }, async (t) => {
  const { sim, server, tenant } = await setup(t);
  await withBrowser(t, async ({ page }) => {
    const other = `http://localhost:${sim.port}`; // same simulator, but not a listed origin
    await page.goto(`${other}/hc/en-us/requests/new`);
    const error = page.locator(`${panel} .error`);
    await error.waitFor();
    assert.match(await error.textContent(), /This site \(http:\/\/localhost:\d+\) is not one of this account's Help Center origins/);
    // The browser may not create packages from there (CORS), and the server refuses the Origin.
    const fromPage = await page.evaluate(async ({ base, key }) => {
      try {
        await fetch(`${base}/api/v1/packages`, { method: 'POST', headers: { 'X-Sealdrop-Widget-Key': key, 'Content-Type': 'application/json' }, body: '{}' });
        return 'created';
      } catch (e) {
        return e.name;
      }
    }, { base: server.url, key: tenant.key });
    assert.equal(fromPage, 'TypeError');
    const forged = await fetch(`${server.url}/api/v1/packages`, { method: 'POST', headers: { 'X-Sealdrop-Widget-Key': tenant.key, Origin: other, 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(forged.status, 403);
  });
});

test('a wrong widget key is refused with a clear message', { timeout: 60_000 }, async (t) => {
  const { sim } = await setup(t);
  await sim.settings({ widget_key: 'sdw_not_the_right_key' });
  await withBrowser(t, async ({ page }) => {
    await page.goto(`${sim.url}/hc/en-us/requests/new`);
    const error = page.locator(`${panel} .error`);
    await error.waitFor();
    assert.match(await error.textContent(), /Secure attachments are not available: The widget key is not valid/);
    assert.equal(await page.locator(markups.react.native).isVisible(), false, 'no plaintext attachments either');
    // A request without attachments still goes through.
    await page.fill(markups.react.email, 'erin@customer.example');
    await page.fill(markups.react.description, 'No files today.');
    await Promise.all([page.waitForURL(/requests\/\d+$/), page.click('button[type=submit]')]);
    const ticket = (await sim.tickets()).find((tk) => tk.id === Number(page.url().split('/').pop()));
    assert.equal(ticket.description, 'No files today.');
  });
});
