// The Help Center widget end to end: the real `sealdrop` server, the Zendesk simulator's Help
// Center request pages (Zendesk's real Copenhagen theme, vendored: React form, Garden fields,
// CKEditor 5 description; and the classic markup), headless Chromium.
//
// A customer attaches three files (one of 200 MB) to the request form; the widget encrypts
// them in a worker while the page keeps responding, uploads them as one package, and on
// submit puts exactly one secure link into the description (through CKEditor's model on
// Copenhagen), after which the theme's own submit path runs: the simulator records the CSRF
// token fetched and posted back and the posted description, and no file reaches Zendesk's
// upload endpoints. An image pasted, dropped or picked into the editor becomes an encrypted
// attachment instead of a plaintext upload (and, on an unprotected form, the same actions do
// reach Zendesk: the control that shows the check can fail). The description holds the link
// in its own paragraph with the customer's text intact. The package requires authentication: the link alone is refused, and an agent of the
// tenant opens the ticket in the sidebar and downloads the three files to equal bytes. Forms
// outside the tenant's list are left alone, other origins and wrong keys are refused with a
// message that says why.
//
// Needs target/debug/sealdrop and target/debug/zendesk-sim, and the browser package in
// widget-wasm/pkg (`cargo xtask wasm`).

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';

import { withBrowser } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';
import { NO_PICKERS, connectAccount, downloadedFiles, loadWasm, openTicket, startSim, startZendesk } from './lib/zendesk.mjs';
import { PANEL as panel, assertPanelLegible, classic, copenhagen, helpCenterLog, postedField } from './lib/help-center.mjs';

const DEFAULT_FORM = 360000001;
const BILLING_FORM = 360000002;
const BIG = 200 * 1000 * 1000;

/** `PUT /api/v1/settings` with `credential` (tenant token or admin session); resolves to the settings. */
async function putSettings(server, credential, change) {
  const res = await fetch(`${server.url}/api/v1/settings`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${credential}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(change),
  });
  const body = await res.text();
  assert.equal(res.status, 200, `PUT /api/v1/settings ${JSON.stringify(change)}: ${body}`);
  return JSON.parse(body);
}

/** A tenant made with `sealdrop admin tenant create`, its Help Center origins and protected forms set with its API token. */
async function widgetTenant(server, { origins, forms = [] }) {
  const token = await server.admin(['tenant', 'create', `Acme ${randomBytes(3).toString('hex')}`]);
  assert.match(token, /^sdt_/, 'tenant create prints the API token');
  const settings = await putSettings(server, token, { help_center_origins: origins, widget_forms: forms });
  assert.match(settings.widget_key ?? '', /^sdw_/, 'the settings hold the widget key');
  return { key: settings.widget_key };
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


/**
 * Everything one test needs: server, simulator, tenant, files. With `zendesk`, the server is
 * set up for the simulator, which has its demo admin, agent and customer, and the tenant is
 * the simulated account, connected as its admin would (so its agents can open uploads);
 * without, the simulator is empty and the tenant is made with the admin command.
 */
async function setup(t, { forms = [], withFiles = false, zendesk = false } = {}) {
  let server;
  let sim;
  let tenant;
  if (zendesk) {
    const zd = await startZendesk();
    t.after(() => zd.stop());
    ({ server, sim } = zd);
    const { widgetKey, adminSession } = await connectAccount(server, sim);
    if (forms.length > 0) await putSettings(server, adminSession, { widget_forms: forms });
    tenant = { key: widgetKey, adminSession };
  } else {
    server = await startServer();
    t.after(() => server.stop());
    sim = await startSim({ sealdropUrl: server.url, empty: true });
    t.after(() => sim.stop());
    tenant = await widgetTenant(server, { origins: [sim.url], forms });
    await sim.settings({ widget_key: tenant.key });
  }
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

/** A 1×1 PNG: what a customer pastes or drops as a screenshot. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/** The files the panel lists, by name. */
const panelFiles = (page) => page.evaluate((p) => Array.from(document.querySelector(p)?.shadowRoot?.querySelectorAll('li.file') ?? []).map((li) => li.dataset.name), panel);

for (const hc of [copenhagen, classic]) {
  test(`${hc.name}: three files (one of 200 MB) are encrypted, the theme's own submit posts one secure link, an agent gets the bytes back`, { timeout: 600_000 }, async (t) => {
    const { server, sim, tenant, files } = await setup(t, { withFiles: true, zendesk: true });
    const wasm = await loadWasm();
    await withBrowser(t, async ({ page, browser }) => {
      await hc.open(page, sim);
      await page.locator(`${panel} .drop`).waitFor();
      assert.equal(await page.locator(hc.native).isVisible(), false, 'the plain attachment field is hidden');
      await assertPanelLegible(page, `${hc.name}, empty panel`);
      await hc.fill(page, { email: 'carol@customer.example', subject: 'Logs', description: 'Hello, the logs are attached.' });

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
      await page.locator(hc.subject).click();
      await page.keyboard.press('End');
      await page.keyboard.type(' and a capture', { delay: 5 });
      const typedWhileBusy = await page.evaluate((p) => {
        const lis = document.querySelector(p).shadowRoot.querySelectorAll('li.file');
        return Number(lis[2].dataset.progress) < 100;
      }, panel);
      assert.equal(await page.inputValue(hc.subject), 'Logs and a capture');
      await page.waitForFunction((p) => Array.from(document.querySelector(p).shadowRoot.querySelectorAll('li.file')).every((li) => li.dataset.progress === '100'), panel, { timeout: 240_000 });
      const seconds = (Date.now() - started) / 1000;
      const lag = await page.evaluate(() => { clearInterval(window.__probe); return window.__lag; });
      t.diagnostic(`${hc.name}: ${(files.reduce((s, f) => s + f.size, 0) / 1e6 / seconds).toFixed(0)} MB/s encrypt+upload; longest event-loop gap ${lag.toFixed(0)} ms; typed while encrypting: ${typedWhileBusy}`);
      assert.ok(lag < 500, `the page stalled for ${lag.toFixed(0)} ms while encrypting`);
      await assertPanelLegible(page, `${hc.name}, panel with files`);

      await Promise.all([page.waitForURL(/\/hc\/en-us\/requests\/\d+$/, { timeout: 60_000 }), page.click(hc.submit)]);
      const id = Number(page.url().split('/').pop());
      const ticket = (await sim.tickets()).find((tk) => tk.id === id);
      assert.ok(ticket, 'the simulator holds the ticket');
      assert.equal(ticket.subject, 'Logs and a capture');
      const links = ticket.description.match(/https?:\/\/\S+\/p\/[A-Za-z0-9_-]+#[A-Za-z0-9_-]+/g) ?? [];
      assert.equal(links.length, 1, `exactly one secure link in: ${ticket.description}`);
      assert.ok(ticket.description.startsWith('Hello, the logs are attached.'), ticket.description);
      assert.ok(links[0].startsWith(`${server.url}/p/`));

      // The theme's own submit path ran (a CSRF token fetched and posted back), the form was
      // posted once, its description holds the link in a paragraph of its own after the
      // customer's text, and no file went to Zendesk.
      const log = await helpCenterLog(sim);
      assert.deepEqual(log.uploads, [], 'nothing reached Zendesk\'s upload endpoints');
      assert.equal(log.posts.length, 1, 'the form was posted once');
      const [post] = log.posts;
      assert.equal(post.status, 302, `the post was accepted: ${post.error}`);
      const [token] = postedField(post, 'authenticity_token');
      assert.ok(token && log.csrf_tokens.includes(token), 'the post carries a CSRF token the Help Center issued');
      const [posted] = postedField(post, 'request[description]');
      if (hc === copenhagen) {
        assert.deepEqual(postedField(post, 'request[description_mimetype]'), ['text/html']);
        const paragraphs = posted.match(/<p>.*?<\/p>/g);
        assert.deepEqual(paragraphs, [
          '<p>Hello, the logs are attached.</p>',
          `<p>Encrypted attachments (sealdrop): <a href="${links[0]}">${links[0]}</a></p>`,
        ], `the posted description: ${posted}`);
      } else {
        assert.equal(posted.replace(/\r\n/g, '\n'), `Hello, the logs are attached.\n\nEncrypted attachments (sealdrop): ${links[0]}`);
      }

      // Only the tenant's agents may open a Help Center upload: the link alone is not enough.
      const { packageId, linkProof } = wasm.parseLink(links[0]);
      const refused = await fetch(`${server.url}/api/v1/packages/${packageId}/open`, { method: 'POST', headers: { 'X-Sealdrop-Link-Proof': linkProof } });
      assert.equal(refused.status, 401, 'the link alone does not open a Help Center upload');
      assert.equal((await refused.json()).error, 'verification_required');
      // The widget made it, for the simulated account, requiring authentication.
      const audit = await fetch(`${server.url}/api/v1/audit?package=${packageId}&event=created`, { headers: { Authorization: `Bearer ${tenant.adminSession}` } });
      assert.equal(audit.status, 200, `the tenant's audit log: HTTP ${audit.status}`);
      const created = (await audit.json()).events.map((e) => ({ by: e.detail?.by, require_auth: e.detail?.require_auth }));
      assert.deepEqual(created, [{ by: 'widget', require_auth: true }]);

      // An agent of the tenant opens the ticket: the sidebar lists the files and downloads
      // each one; the bytes equal the originals.
      await browser.addInitScript(NO_PICKERS);
      const frame = await openTicket(page, sim, id, 'agent');
      await frame.waitForSelector('#links li[data-state="ready"]', { timeout: 30_000 });
      const names = await frame.$$eval('#links .files .name', (els) => els.map((e) => e.textContent));
      assert.deepEqual(names, files.map((f) => f.name), 'the sidebar decrypts the file names');
      const downloads = [];
      page.on('download', (d) => downloads.push(d));
      const downloadStarted = Date.now();
      for (let i = 0; i < files.length; i++) {
        await frame.click(`#links li[data-file="${i}"] button.download`);
        // Done, or an error the sidebar shows (then fail at once, with its words).
        const li = await frame.waitForSelector(`#links li[data-file="${i}"]:is([data-done="1"], :has(.file-status.error))`, { timeout: 240_000 });
        assert.equal(await li.getAttribute('data-done'), '1', `${files[i].name}: the sidebar says ${await li.$eval('.file-status', (e) => e.textContent)}`);
      }
      t.diagnostic(`${hc.name}: ${(files.reduce((s, f) => s + f.size, 0) / 1e6 / ((Date.now() - downloadStarted) / 1000)).toFixed(0)} MB/s download+decrypt in the sidebar`);
      await downloadedFiles(downloads, files);
    });
  });
}

test('a ticket form outside the tenant\'s list is left alone, and switching forms switches the widget', { timeout: 120_000 }, async (t) => {
  const { sim } = await setup(t, { forms: [BILLING_FORM] });
  await withBrowser(t, async ({ page }) => {
    for (const hc of [copenhagen, classic]) {
      await hc.open(page, sim, `?ticket_form_id=${DEFAULT_FORM}`);
      await page.locator(hc.native).waitFor();
      await page.waitForFunction((p) => document.querySelector(p), panel);
      await page.waitForTimeout(300);
      assert.equal(await page.locator(hc.native).isVisible(), true, `${hc.name}: the plain attachment field stays`);
      assert.equal(await page.locator(`${panel} .drop`).isVisible(), false, `${hc.name}: no secure panel on an unprotected form`);
      await hc.chooseForm(page, 'Billing', BILLING_FORM);
      await page.locator(`${panel} .drop`).waitFor();
      assert.equal(await page.locator(hc.native).isVisible(), false, `${hc.name}: the plain field is hidden on a protected form`);
      await hc.chooseForm(page, 'Default ticket form', DEFAULT_FORM);
      await page.locator(hc.native).waitFor();
    }
    // An unprotected form submits exactly what the customer wrote, through the theme's path.
    await copenhagen.open(page, sim, `?ticket_form_id=${DEFAULT_FORM}`);
    await copenhagen.fill(page, { email: 'dan@customer.example', subject: 'No files', description: 'Just a question.' });
    await Promise.all([page.waitForURL(/requests\/\d+$/), page.click(copenhagen.submit)]);
    const ticket = (await sim.tickets()).find((tk) => tk.id === Number(page.url().split('/').pop()));
    assert.equal(ticket.description, 'Just a question.');
  });
});

test('copenhagen: an image pasted, dropped or picked in the editor becomes an encrypted attachment, never a plaintext upload', { timeout: 120_000 }, async (t) => {
  const { sim } = await setup(t, { forms: [BILLING_FORM] });
  // Signed-in customers get CKEditor's image upload (anonymous ones do not).
  const created = await fetch(`${sim.url}/sim/users`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ role: 'end-user', name: 'Carol Customer', email: 'carol@customer.example' }) });
  const { user } = await created.json();
  const b64 = PNG.toString('base64');
  const paste = (page, { file, html }) => page.evaluate(({ b64, file, html }) => {
    const el = document.querySelector('.ck-editor__editable');
    const dt = new DataTransfer();
    if (file) dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], file, { type: 'image/png' }));
    if (html) dt.setData('text/html', html);
    el.focus();
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, { b64, file, html });
  const drop = (page, file, target = '.ck-editor__editable') => page.evaluate(({ b64, file, target }) => {
    const el = document.querySelector(target);
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], file, { type: 'image/png' }));
    for (const type of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, { b64, file, target });
  const editorData = (page) => page.evaluate(() => document.querySelector('.ck-editor__editable').ckeditorInstance.getData());
  const uploads = async () => (await helpCenterLog(sim)).uploads;

  await withBrowser(t, async ({ page }) => {
    // The control: on a form the tenant did not protect, CKEditor uploads a pasted image in
    // plaintext, and the simulator sees it. (So the checks below can fail.)
    await copenhagen.open(page, sim, `?as=${user.id}&ticket_form_id=${DEFAULT_FORM}`);
    await paste(page, { file: 'control.png' });
    // Polled from here: a predicate that returns a promise would count as true at once.
    let seen = [];
    for (const end = Date.now() + 15_000; seen.length === 0 && Date.now() < end; await new Promise((r) => setTimeout(r, 100))) seen = await uploads();
    assert.ok(seen.length > 0, 'CKEditor uploaded the pasted image on the unprotected form');
    assert.match(seen[0].request, /^POST \/hc\/request_uploads/, 'CKEditor posts images to /hc/request_uploads');

    // A protected form: every way in goes to the encrypted panel.
    await copenhagen.open(page, sim, `?ticket_form_id=${BILLING_FORM}`);
    await page.locator(`${panel} .drop`).waitFor();
    await paste(page, { file: 'pasted.png' });
    await page.locator('.ck-file-dialog-button input[type=file]').setInputFiles({ name: 'picked.png', mimeType: 'image/png', buffer: PNG });
    await drop(page, 'dropped.png');
    await drop(page, 'dropped-on-subject.png', 'input[name="request[subject]"]');
    await paste(page, { html: `<p>See this: <img src="data:image/png;base64,${b64}"></p>` });
    await page.waitForFunction((p) => document.querySelector(p).shadowRoot.querySelectorAll('li.file').length >= 5, panel, { timeout: 15_000 });
    const listed = await panelFiles(page);
    for (const name of ['pasted.png', 'picked.png', 'dropped.png', 'dropped-on-subject.png']) assert.ok(listed.includes(name), `${name} is an encrypted attachment: ${listed}`);
    assert.equal(listed.length, 5, `the image in pasted HTML is one too: ${listed}`);
    await page.waitForTimeout(500);
    assert.equal((await uploads()).length, 1, `only the control's upload reached Zendesk: ${JSON.stringify(await uploads())}`);
    const data = await editorData(page);
    assert.ok(!data.includes('<img'), `no image stays in the description: ${data}`);
    assert.match(data, /See this:/, 'the pasted text stays');
    // The panel encrypts and uploads them like any other file.
    await page.waitForFunction((p) => Array.from(document.querySelector(p).shadowRoot.querySelectorAll('li.file')).every((li) => li.dataset.progress === '100'), panel, { timeout: 60_000 });
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
    await assertPanelLegible(page, 'the refusal');
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

test('a wrong widget key is refused with a clear message, and a request without files still goes through', { timeout: 60_000 }, async (t) => {
  const { sim } = await setup(t);
  await sim.settings({ widget_key: 'sdw_not_the_right_key' });
  await withBrowser(t, async ({ page }) => {
    await copenhagen.open(page, sim);
    const error = page.locator(`${panel} .error`);
    await error.waitFor();
    assert.match(await error.textContent(), /Secure attachments are not available: The widget key is not valid/);
    assert.equal(await page.locator(copenhagen.native).isVisible(), false, 'no plaintext attachments either');
    await copenhagen.fill(page, { email: 'erin@customer.example', description: 'No files today.' });
    await Promise.all([page.waitForURL(/requests\/\d+$/), page.click(copenhagen.submit)]);
    const ticket = (await sim.tickets()).find((tk) => tk.id === Number(page.url().split('/').pop()));
    assert.equal(ticket.description, 'No files today.');
  });
});

test('copenhagen: when the editor does not keep the link, the form is not sent and the panel says why', { timeout: 120_000 }, async (t) => {
  const { sim } = await setup(t);
  await withBrowser(t, async ({ page }) => {
    await copenhagen.open(page, sim);
    await page.locator(`${panel} .drop`).waitFor();
    await copenhagen.fill(page, { email: 'dan@customer.example', subject: 'Scan', description: 'My scan.' });
    // An editor that loses what is put into it (as a customised theme's editor might).
    await page.evaluate(() => {
      const editor = document.querySelector('.ck-editor__editable').ckeditorInstance;
      const getData = editor.getData.bind(editor);
      editor.getData = (...args) => getData(...args).replace(/<p>Encrypted attachments[^]*?<\/p>/g, '');
    });
    await page.locator(`${panel} input[type=file]`).setInputFiles({ name: 'scan.pdf', mimeType: 'application/pdf', buffer: PNG });
    await page.waitForFunction((p) => document.querySelector(p).shadowRoot.querySelector('li.file')?.dataset.progress === '100', panel, { timeout: 30_000 });
    await page.click(copenhagen.submit);
    const error = page.locator(`${panel} .error:not([hidden])`);
    await error.waitFor({ timeout: 30_000 });
    assert.match(await error.textContent(), /The request was not sent: the secure link could not be put into the description.*Encrypted attachments \(sealdrop\): http/);
    await page.waitForTimeout(1000);
    assert.deepEqual((await helpCenterLog(sim)).posts, [], 'nothing was posted');
    assert.match(page.url(), /requests\/new/, 'the customer is still on the form');
    // A second click does the same, without a loop or a post.
    await page.click(copenhagen.submit);
    await page.waitForTimeout(1000);
    assert.deepEqual((await helpCenterLog(sim)).posts, [], 'still nothing posted');
  });
});
