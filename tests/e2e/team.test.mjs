// Team keys in the agent sidebar and the admin's screen, end to end (docs/FORMAT.md §16-§21):
// the real server, the Zendesk simulator (its agent ticket page hosts the sidebar through the
// real ZAF SDK) and one Chromium profile per device, kept for the whole file because a device
// key lives in its browser's IndexedDB.
//
// Alice's browser keeps its device key as a non-extractable WebCrypto X25519 key; Bob's has no
// WebCrypto X25519, so the wasm core makes his (32 bytes in IndexedDB); Eve registers and is
// never approved. The admin makes the admin key and the printed recovery code, approves Alice
// and Bob by comparing fingerprints, and turns team keys on. Help Center uploads are sealed in
// Node to the verified roster, as the widget seals them. Later the admin removes Bob and
// re-wraps, and recovers on a fresh browser profile (one without WebCrypto Ed25519) from the
// code alone.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { artifactsDir, launchBrowser } from './lib/browser.mjs';
import { storedKeys, teamUpload, withoutWebCrypto } from './lib/team.mjs';
import { NO_PICKERS, connectAccount, downloadedFiles, loadWasm, openTicket, startZendesk } from './lib/zendesk.mjs';

let zendesk;
let server;
let sim;
let widgetKey;
let adminSession;
let wasm;
const browsers = {}; // who -> launchBrowser() handle
const team = { code: null, pin: null, fingerprints: {}, deviceKeys: {}, links: {}, files: null };

const sha256 = (b) => createHash('sha256').update(b).digest('hex');

before(async () => {
  zendesk = await startZendesk();
  ({ server, sim } = zendesk);
  ({ widgetKey, adminSession } = await connectAccount(server, sim));
  wasm = await loadWasm();
  for (const [who, name] of [['bob', 'Bob Agent'], ['eve', 'Eve Agent']]) {
    const res = await fetch(`${sim.url}/sim/users`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, email: `${who}@acme.example`, role: 'agent' }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    sim.users[who] = (await res.json()).user;
  }
  for (const who of ['admin', 'alice', 'bob', 'eve']) {
    browsers[who] = await launchBrowser();
    await browsers[who].browser.addInitScript(NO_PICKERS);
  }
  // Bob's browser has no X25519 in WebCrypto: the sidebar falls back to the wasm core.
  await browsers.bob.browser.addInitScript(withoutWebCrypto, { generateKey: ['X25519'] });
});

after(async () => {
  // A failed test may leave a page waiting on a dialog: never let one browser keep the
  // others, the server or their temporary folders from going away.
  try {
    await Promise.all(Object.values(browsers).map((b) => Promise.race([b.close(), new Promise((r) => setTimeout(r, 15_000))])));
  } finally {
    await zendesk?.stop();
  }
});

// ---- helpers -------------------------------------------------------------------------------

/** The simulator's user key of each person: Alice is its demo agent. */
const USER = { admin: 'admin', alice: 'agent', bob: 'bob', eve: 'eve' };

/** Runs `fn(page)` in `who`'s browser; on failure saves screenshots and logs of its pages. */
async function as(t, who, fn) {
  const handle = browsers[who];
  const page = handle.pages()[0] ?? (await handle.newPage());
  try {
    return await fn(page);
  } catch (err) {
    const saved = await handle.screenshotAll(`${t.name}-${who}`).catch(() => []);
    if (saved.length > 0) err.message += `\n(screenshots: ${saved.join(', ')})`;
    throw err;
  }
}

async function shot(page, name) {
  const dir = artifactsDir();
  await mkdir(dir, { recursive: true });
  const handle = await page.$('iframe[id^="app_sidebar_"]');
  await (handle ?? page).screenshot({ path: path.join(dir, `team-${name}.png`) });
}

async function newTicket(description) {
  const res = await fetch(`${sim.url}/sim/tickets`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ subject: 'Documents', description, requester_id: sim.users.customer.id }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).ticket;
}

const ticketFor = async (link) => (await newTicket(`My documents, encrypted: ${link}`)).id;

/** The admin tab, once the Team keys card has loaded. */
async function adminTeam(page, browser = 'admin') {
  const frame = await openTicket(page, sim, sim.firstTicket, USER[browser] ?? browser);
  await frame.click('#tabs button[data-tab="admin"]');
  await frame.waitForSelector('#team[data-loaded="1"]', { state: 'attached' });
  return frame;
}

/** The rows of the admin's device table: `[{ key, fingerprint, status }]`. */
const deviceRows = (frame) => frame.$$eval('#team-devices tr', (rows) => rows.map((r) => ({
  key: r.dataset.device, fingerprint: r.querySelector('.fingerprint').textContent, status: r.dataset.status,
})));

/** Approves (or removes) the row whose fingerprint is `fingerprint`, accepting the confirmation. */
async function changeDevice(page, frame, who, action) {
  const key = team.deviceKeys[who];
  // The confirmation blocks the click until it is answered: answer it from the event.
  let message = null;
  page.once('dialog', (dialog) => {
    message = dialog.message();
    dialog.accept();
  });
  await frame.click(`#team-devices tr[data-device="${key}"] button.${action}`);
  assert.ok(message?.includes(team.fingerprints[who]), `the confirmation names the fingerprint: ${message}`);
}

async function registerDevice(t, who, label) {
  return as(t, who, async (page) => {
    const frame = await openTicket(page, sim, sim.firstTicket, USER[who]);
    await frame.click('#tabs button[data-tab="device"]');
    await frame.waitForSelector('#device-none:not([hidden])');
    await frame.fill('#device-label', label);
    await frame.click('#device-register');
    await frame.waitForSelector('#device-this:not([hidden])');
    assert.equal(await frame.textContent('#device-this-status'), 'Waiting for your admin\'s approval');
    const fingerprint = await frame.textContent('#device-fingerprint');
    assert.match(fingerprint, /^[0-9a-f]{4}( [0-9a-f]{4}){7}$/, 'the display form, 8 groups');
    const keys = await storedKeys(frame);
    const record = keys[`device:${(await me(who)).subdomain}:${sim.users[USER[who]].id}`];
    assert.ok(record, `the device key is in IndexedDB: ${JSON.stringify(keys)}`);
    // The fingerprint covers the user id and the key (FORMAT.md §17), computed in the browser.
    assert.equal(fingerprint, wasm.deviceKeyFingerprint(record.deviceKey, String(sim.users[USER[who]].id)).display);
    team.fingerprints[who] = fingerprint;
    team.deviceKeys[who] = record.deviceKey;
    await shot(page, `device-${who}`);
    return record;
  });
}

const meCache = {};
async function me(who) {
  meCache[who] ??= { subdomain: (await (await fetch(`${sim.url}/sim/info`)).json()).subdomain };
  return meCache[who];
}

/** Opens `ticketId` as `who` and waits for the first link to settle; returns the frame. */
async function inbox(page, who, ticketId) {
  const frame = await openTicket(page, sim, ticketId, USER[who]);
  await frame.waitForSelector('#links li:not([data-state="loading"])', { timeout: 30_000 });
  return frame;
}

async function downloadAll(page, frame, files) {
  const downloads = [];
  const onDownload = (d) => downloads.push(d);
  page.on('download', onDownload);
  try {
    for (let i = 0; i < files.length; i++) {
      await frame.click(`#links li[data-file="${i}"] button.download`);
      await frame.waitForSelector(`#links li[data-file="${i}"][data-done="1"]`, { timeout: 30_000 });
    }
    await downloadedFiles(downloads, files);
  } finally {
    page.off('download', onDownload);
  }
}

const api = (method, p, body) => fetch(`${server.url}${p}`, {
  method,
  headers: { Authorization: `Bearer ${adminSession}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
  body: body ? JSON.stringify(body) : undefined,
});

// ---- tests (in order: each builds on the team the ones before set up) -------------------------

test('agents register their browsers: a WebCrypto key that cannot be extracted, or the wasm fallback', async (t) => {
  const alice = await registerDevice(t, 'alice', 'Alice, work laptop');
  assert.deepEqual([alice.kind, alice.cryptoKey, alice.extractable, alice.algorithm], ['webcrypto', true, false, 'X25519'],
    'Alice\'s device key is a non-extractable WebCrypto X25519 key');
  const bob = await registerDevice(t, 'bob', 'Bob, desktop');
  assert.deepEqual([bob.kind, bob.algorithm], ['wasm', '32 bytes'], 'Bob\'s browser has no WebCrypto X25519: the wasm core made his key');
  await registerDevice(t, 'eve', 'Eve, laptop');
  // The server lists them as pending, under their own user ids.
  const { devices } = await (await api('GET', '/api/v1/team/devices')).json();
  assert.deepEqual(devices.map((d) => d.status), ['pending', 'pending', 'pending']);
});

test('the admin makes the admin key and a recovery code shown once, and approves two agents by fingerprint', async (t) => {
  await as(t, 'admin', async (page) => {
    const frame = await adminTeam(page);
    assert.equal(await frame.isVisible('#team-create'), true, 'no admin key yet');
    await frame.click('#team-create-key');
    const code = await frame.textContent('#team-code-text');
    assert.match(code, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){7}$/, 'the printed form (FORMAT.md §18.1)');
    assert.equal(await frame.isDisabled('#team-code-done'), true, 'saving waits until the admin says the code is kept');
    await shot(page, 'recovery-code');
    await frame.check('#team-code-saved');
    await frame.click('#team-code-done');
    await frame.waitForSelector('#team-ready:not([hidden])');
    await frame.waitForSelector('#team-devices tr');
    assert.equal(await frame.textContent('#team-code-text'), '', 'the code is gone from the page');
    const pin = await frame.textContent('#team-admin-fingerprint');
    assert.match(pin, /^[0-9a-f]{32}$/);
    assert.ok((await frame.inputValue('#snippet')).includes(`data-admin-key="${pin}"`), 'the snippet pins the admin key');
    const stored = await (await api('GET', '/api/v1/team/admin-key')).json();
    assert.equal(stored.fingerprint, pin, 'the server holds the same admin key, wrapped');
    assert.equal(wasm.adminKeyFingerprint(stored.admin_key).compact, pin);
    // The code unwraps the server's blob; the server never saw it.
    const typed = wasm.RecoveryCode.parse(code);
    assert.equal(typed.unwrapAdminKey(Buffer.from(stored.wrapped_admin_key, 'base64url'), pin).fingerprint, pin);
    for (const form of [code, code.replaceAll('-', '')]) assert.ok(!server.log().includes(form), 'the code is in no server log');
    const keys = await storedKeys(frame);
    const adminKey = Object.entries(keys).find(([name]) => name.startsWith('admin-key:'))?.[1];
    assert.deepEqual([adminKey?.kind, adminKey?.extractable, adminKey?.algorithm], ['webcrypto', false, 'Ed25519'],
      'the admin key is a non-extractable WebCrypto Ed25519 key');
    team.code = code;
    team.pin = pin;

    // Every pending device, with the fingerprint this browser computes; the agents' screens agree.
    const rows = await deviceRows(frame);
    assert.equal(rows.length, 3);
    for (const who of ['alice', 'bob', 'eve']) {
      const row = rows.find((r) => r.key === team.deviceKeys[who]);
      assert.equal(row?.fingerprint, team.fingerprints[who], `${who}: both screens show the same fingerprint`);
      assert.equal(row.status, 'pending');
    }
    await changeDevice(page, frame, 'alice', 'approve');
    await frame.waitForSelector(`#team-devices tr[data-device="${team.deviceKeys.alice}"][data-status="approved"]`);
    await changeDevice(page, frame, 'bob', 'approve');
    await frame.waitForSelector(`#team-devices tr[data-device="${team.deviceKeys.bob}"][data-status="approved"]`);
    await frame.check('#team-keys-on');
    await frame.waitForFunction(() => /Team keys are on/.test(document.getElementById('team-status').textContent));
    await shot(page, 'admin-approved');
  });
  // The roster the server serves verifies against the pin and lists exactly Alice and Bob.
  const { subdomain } = await me('admin');
  const served = await (await api('GET', '/api/v1/team/roster')).json();
  const roster = wasm.verifyRoster(Buffer.from(served.roster, 'base64url'), team.pin, subdomain);
  assert.equal(roster.sequence, 3, 'the first roster, then one per approval');
  assert.deepEqual(roster.devices.map((d) => d.deviceKey).sort(), [team.deviceKeys.alice, team.deviceKeys.bob].sort());
  const config = await (await fetch(`${server.url}/widget/v1/config`, { headers: { 'X-Sealdrop-Widget-Key': widgetKey, Origin: sim.url } })).json();
  assert.equal(config.team_keys, true);
  await as(t, 'alice', async (page) => {
    const frame = await openTicket(page, sim, sim.firstTicket, USER.alice);
    await frame.click('#tabs button[data-tab="device"]');
    await frame.waitForSelector('#device-this-status[data-status="approved"]');
  });
});

test('a team-sealed upload opens for each approved agent and is refused for the unapproved one, with a clear message', async (t) => {
  team.files = [
    { name: 'passport.pdf', bytes: randomBytes(70_000) },
    { name: 'notes.txt', bytes: Buffer.from('sealed to the team\n'.repeat(20)) },
  ].map((f) => ({ ...f, size: f.bytes.length, sha256: sha256(f.bytes) }));
  const { link } = await teamUpload({ server, sim, widgetKey, wasm, pin: team.pin, files: team.files });
  team.links.first = link;
  const ticket = await ticketFor(link);
  for (const who of ['alice', 'bob']) {
    await as(t, who, async (page) => {
      const frame = await inbox(page, who, ticket);
      assert.equal(await frame.getAttribute('#links li', 'data-state'), 'ready', `${who} opens it`);
      assert.deepEqual(await frame.$$eval('#links .files .name', (els) => els.map((e) => e.textContent)), team.files.map((f) => f.name));
      await downloadAll(page, frame, team.files);
      await shot(page, `inbox-${who}`);
    });
  }
  await as(t, 'eve', async (page) => {
    const frame = await inbox(page, 'eve', ticket);
    assert.equal(await frame.getAttribute('#links li', 'data-state'), 'team_not_recipient');
    assert.match(await frame.textContent('#links li .state-text'), /not on the team roster when these files were sealed.*approve it and re-wrap/);
    await shot(page, 'inbox-eve-refused');
  });
  // The admin's browser has no device key at all: it says so.
  await as(t, 'admin', async (page) => {
    const frame = await inbox(page, 'admin', ticket);
    assert.equal(await frame.getAttribute('#links li', 'data-state'), 'team_no_device');
    assert.match(await frame.textContent('#links li .state-text'), /no device key yet/);
  });
});

test('a package whose link binding is not the link\'s (a substituted package) is refused as such', async (t) => {
  const { link } = await teamUpload({ server, sim, widgetKey, wasm, pin: team.pin, files: team.files.slice(1), forgeBinding: true });
  const ticket = await ticketFor(link);
  await as(t, 'alice', async (page) => {
    const frame = await inbox(page, 'alice', ticket);
    assert.equal(await frame.getAttribute('#links li', 'data-state'), 'team_binding');
    assert.match(await frame.textContent('#links li .state-text'), /not made by whoever made this link/);
    await shot(page, 'inbox-binding');
  });
});

test('the admin\'s browser refuses a roster its admin key did not sign, as a malicious server would serve it', async (t) => {
  const { subdomain } = await me('admin');
  const other = wasm.AdminKey.generate();
  const forged = other.signRoster({
    tenant: subdomain, sequence: 99, issuedAt: Math.floor(Date.now() / 1000), recoveryKey: wasm.RecoveryCode.generate().recoveryKey,
    devices: [{ deviceKey: team.deviceKeys.eve, userId: String(sim.users.eve.id), label: 'Eve, laptop' }],
  });
  await as(t, 'admin', async (page) => {
    const serve = (route) => (route.request().method() === 'GET'
      ? route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ roster: Buffer.from(forged).toString('base64url'), sequence: 99, updated_at: new Date().toISOString() }) })
      : route.continue());
    await page.route('**/api/v1/team/roster', serve);
    try {
      const frame = await adminTeam(page);
      assert.match(await frame.textContent('#team-error'), /not signed by the admin key this browser holds/);
      assert.equal(await frame.$$eval('#team-devices button', (b) => b.length), 0, 'nothing to approve on a roster it refused');
      assert.equal(await frame.isVisible('#team-unlock'), false);
      await shot(page, 'forged-roster');
    } finally {
      await page.unroute('**/api/v1/team/roster', serve);
    }
  });
});

test('the admin removes Bob and re-wraps with the code: Bob no longer opens older uploads, Alice still does', async (t) => {
  const ticket = await ticketFor(team.links.first);
  await as(t, 'admin', async (page) => {
    const frame = await adminTeam(page);
    await changeDevice(page, frame, 'bob', 'remove');
    // Left out of a signed roster, an approved device is gone from the server's list.
    await frame.waitForFunction((key) => !document.querySelector(`#team-devices tr[data-device="${key}"]`), team.deviceKeys.bob);
  });
  // Until the re-wrap, Bob's kept key still opens what was sealed to it (FORMAT.md §21.4).
  await as(t, 'bob', async (page) => {
    const frame = await inbox(page, 'bob', ticket);
    assert.equal(await frame.getAttribute('#links li', 'data-state'), 'ready');
  });
  await as(t, 'admin', async (page) => {
    const frame = await adminTeam(page);
    // Without the code, this browser has no device key to open the packages with.
    await frame.click('#team-rewrap');
    await frame.waitForSelector('#team-error:not([hidden])');
    assert.match(await frame.textContent('#team-error'), /type the recovery code/);
    await frame.fill('#team-rewrap-code', team.code.toLowerCase().replaceAll('-', ' '));
    await frame.click('#team-rewrap');
    await frame.waitForSelector('#team-status[data-rewrapped]', { timeout: 30_000 });
    const status = await frame.$eval('#team-status', (e) => ({ ...e.dataset }));
    assert.deepEqual(status, { rewrapped: '2', notOpened: '0', failed: '0' }, 'both team uploads are re-wrapped');
    assert.equal(await frame.inputValue('#team-rewrap-code'), '', 'the typed code is cleared');
  });
  await as(t, 'bob', async (page) => {
    const frame = await inbox(page, 'bob', ticket);
    assert.equal(await frame.getAttribute('#links li', 'data-state'), 'team_not_recipient');
  });
  await as(t, 'alice', async (page) => {
    const frame = await inbox(page, 'alice', ticket);
    assert.equal(await frame.getAttribute('#links li', 'data-state'), 'ready');
    await downloadAll(page, frame, team.files);
  });
});

test('on a fresh browser profile the code alone gives the admin key back; approving Eve and re-wrapping lets her open older uploads', async (t) => {
  const fresh = await launchBrowser();
  browsers.fresh = fresh;
  // No WebCrypto Ed25519 here: the admin key is kept for the wasm core to sign with.
  await fresh.browser.addInitScript(withoutWebCrypto, { importKey: ['Ed25519'] });
  await as(t, 'fresh', async (page) => {
    const frame = await adminTeam(page, 'admin');
    assert.equal(await frame.isVisible('#team-unlock'), true, 'the admin key is on the server, not in this browser');
    assert.equal(await frame.inputValue('#snippet').then((s) => s.includes('data-admin-key')), false, 'no pin before the key is unlocked');
    // A typo, then another tenant's code, are refused with what went wrong.
    const typo = `${team.code.slice(0, 5)}${team.code[5] === 'A' ? 'B' : 'A'}${team.code.slice(6)}`;
    await frame.fill('#team-unlock-code', typo);
    await frame.click('#team-unlock-button');
    await frame.waitForFunction(() => /typo/.test(document.getElementById('team-error').textContent));
    const other = wasm.RecoveryCode.generate();
    await frame.fill('#team-unlock-code', other.text);
    await frame.click('#team-unlock-button');
    await frame.waitForFunction(() => /not the recovery code/.test(document.getElementById('team-error').textContent));
    await frame.fill('#team-unlock-code', team.code.toLowerCase());
    await frame.click('#team-unlock-button');
    await frame.waitForSelector('#team-ready:not([hidden])');
    await frame.waitForSelector(`#team-devices tr[data-device="${team.deviceKeys.eve}"]`);
    assert.equal(await frame.textContent('#team-admin-fingerprint'), team.pin, 'the same admin key');
    assert.ok((await frame.inputValue('#snippet')).includes(`data-admin-key="${team.pin}"`));
    const keys = await storedKeys(frame);
    const adminKey = Object.entries(keys).find(([name]) => name.startsWith('admin-key:'))?.[1];
    assert.deepEqual([adminKey?.kind, adminKey?.algorithm], ['wasm', '32 bytes'], 'kept for the wasm core: no WebCrypto Ed25519 here');

    await changeDevice(page, frame, 'eve', 'approve');
    await frame.waitForSelector(`#team-devices tr[data-device="${team.deviceKeys.eve}"][data-status="approved"]`);
    await frame.fill('#team-rewrap-code', team.code);
    await frame.click('#team-rewrap');
    await frame.waitForSelector('#team-status[data-rewrapped]', { timeout: 30_000 });
    assert.equal(await frame.$eval('#team-status', (e) => e.dataset.rewrapped), '2');
    await shot(page, 'recovered');
  });
  const ticket = await ticketFor(team.links.first);
  await as(t, 'eve', async (page) => {
    const frame = await inbox(page, 'eve', ticket);
    assert.equal(await frame.getAttribute('#links li', 'data-state'), 'ready', 'Eve opens the older upload now');
    await downloadAll(page, frame, team.files);
  });
  // The roster signed by the wasm-kept key verifies against the same pin, with a higher sequence.
  const served = await (await api('GET', '/api/v1/team/roster')).json();
  const roster = wasm.verifyRoster(Buffer.from(served.roster, 'base64url'), team.pin, (await me('admin')).subdomain, 4);
  assert.deepEqual(roster.devices.map((d) => d.deviceKey).sort(), [team.deviceKeys.alice, team.deviceKeys.eve].sort());
});

test('the admin re-wraps with their own WebCrypto device key, without the code', async (t) => {
  await registerDevice(t, 'admin', 'Admin, office');
  await as(t, 'admin', async (page) => {
    let frame = await adminTeam(page);
    // This browser was unlocked first but the roster moved on elsewhere: it verifies the new one.
    await changeDevice(page, frame, 'admin', 'approve');
    await frame.waitForSelector(`#team-devices tr[data-device="${team.deviceKeys.admin}"][data-status="approved"]`);
    // First with the code, so that the admin's own device is in every package; then without.
    await frame.fill('#team-rewrap-code', team.code);
    await frame.click('#team-rewrap');
    await frame.waitForSelector('#team-status[data-rewrapped]', { timeout: 30_000 });
    frame = await adminTeam(page);
    await frame.click('#team-rewrap');
    await frame.waitForSelector('#team-status[data-rewrapped]', { timeout: 30_000 });
    const status = await frame.$eval('#team-status', (e) => ({ ...e.dataset }));
    assert.deepEqual(status, { rewrapped: '2', notOpened: '0', failed: '0' });
  });
  const ticket = await ticketFor(team.links.first);
  await as(t, 'alice', async (page) => {
    const frame = await inbox(page, 'alice', ticket);
    assert.equal(await frame.getAttribute('#links li', 'data-state'), 'ready');
  });
});
