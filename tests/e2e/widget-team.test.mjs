// Team keys in the Help Center widget end to end (issue 18, docs/FORMAT.md §16-§21): the real
// server and the Zendesk simulator's Copenhagen request page, headless Chromium, and the admin
// and agents set up through the API as their browsers would (lib/team-setup.mjs: device identities
// made with the wasm bindings, the admin key wrapped under a recovery code, a signed roster).
//
// With the snippet pinning the admin key (`data-admin-key`), a customer's upload is sealed to
// the roster: the stored manifest has no link stanza and one X25519 stanza per roster device
// plus the recovery key; each device and the recovery code open it, a stranger's key does
// not, and neither do the ticket's link secret C and the server's secret S together; the
// files decrypt to the bytes the customer attached. The browser remembers the roster's
// sequence and refuses an older one. A roster the server signed with a key of its own is
// refused before anything is uploaded, and so is every upload when the theme pins no key while
// the account requires team keys.
//
// Needs target/debug/sealdrop and target/debug/zendesk-sim, and the browser package with the
// widget's release in widget-wasm/pkg (`cargo xtask wasm`).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test from 'node:test';

import { withBrowser } from './lib/browser.mjs';
import { PANEL, copenhagen } from './lib/help-center.mjs';
import { call, enrolDevice, pasteSnippet, publishRoster, setUpTeam } from './lib/team-setup.mjs';
import { connectAccount, loadWasm, startZendesk } from './lib/zendesk.mjs';

/** STREAM's ciphertext chunk: 64 KiB of plaintext and the 16-byte tag (docs/FORMAT.md §8). */
const CHUNK = 65536 + 16;

/** What a customer attaches: a small text file and one over two chunks. */
const FILES = [
  { name: 'notes.txt', mimeType: 'text/plain', buffer: randomBytes(1234) },
  { name: 'scan.pdf', mimeType: 'application/pdf', buffer: randomBytes(100_000) },
];

async function teamAccount(t) {
  const zd = await startZendesk();
  t.after(() => zd.stop());
  const { server, sim } = zd;
  const { widgetKey, adminSession } = await connectAccount(server, sim);
  const wasm = await loadWasm();
  const team = await setUpTeam({ server, sim, wasm, adminSession });
  return { server, sim, wasm, widgetKey, adminSession, team };
}

/** The panel's error text once it shows one. */
async function panelError(page) {
  const error = page.locator(`${PANEL} .error:not([hidden])`);
  await error.waitFor({ timeout: 30_000 });
  return error.textContent();
}

/** The audit log's `created` events of the account. */
async function createdEvents(server, adminSession) {
  const audit = await call(server, 'GET', '/api/v1/audit?event=created', adminSession);
  assert.equal(audit.status, 200);
  return audit.body.events;
}

test('copenhagen: with data-admin-key the upload is sealed to the roster\'s devices and the recovery key, with no link stanza; each device opens it, C and S together do not', { timeout: 180_000 }, async (t) => {
  const { server, sim, wasm, widgetKey, adminSession, team } = await teamAccount(t);
  await pasteSnippet({ server, sim, widgetKey, adminSession, adminKey: team.adminKey.fingerprint });
  const memoryKey = `sealdrop.roster-sequence.${team.tenant}.${team.adminKey.fingerprint}`;

  let link;
  await withBrowser(t, async ({ page }) => {
    await copenhagen.open(page, sim);
    await page.locator(`${PANEL}[data-team="verified"]`).waitFor({ timeout: 30_000 });
    await copenhagen.fill(page, { email: 'carol@customer.example', subject: 'Contract', description: 'The signed contract.' });
    await page.locator(`${PANEL} input[type=file]`).setInputFiles(FILES);
    await page.waitForFunction((p) => {
      const lis = Array.from(document.querySelector(p).shadowRoot.querySelectorAll('li.file'));
      return lis.length === 2 && lis.every((li) => li.dataset.progress === '100');
    }, PANEL, { timeout: 60_000 });
    await Promise.all([page.waitForURL(/\/hc\/en-us\/requests\/\d+$/, { timeout: 60_000 }), page.click(copenhagen.submit)]);
    const ticket = (await sim.tickets()).find((tk) => tk.id === Number(page.url().split('/').pop()));
    [link] = ticket.description.match(/https?:\/\/\S+\/p\/[A-Za-z0-9_-]+#[A-Za-z0-9_-]+/) ?? [];
    assert.ok(link?.startsWith(`${server.url}/p/`), `the ticket holds the secure link: ${ticket.description}`);
    // The browser remembers the roster it sealed to (docs/FORMAT.md §19.3 step 6)...
    assert.equal(await page.evaluate((k) => localStorage.getItem(k), memoryKey), '1');
    // ...and refuses an older one than it has seen, before a file can be attached.
    await page.evaluate((k) => localStorage.setItem(k, '99'), memoryKey);
    await copenhagen.open(page, sim);
    assert.match(await panelError(page), /Files cannot be attached: the support team's key list is older than one this browser has already seen/);
    assert.equal(await page.locator(`${PANEL}[data-team="refused"]`).count(), 1);
  });

  // The stored manifest, as the admin's re-wrap screen fetches it: no link stanza, one X25519
  // stanza per roster device and one for the recovery key.
  const { packageId, linkSecret, linkProof } = wasm.parseLink(link);
  const stored = await fetch(`${server.url}/api/v1/team/packages/${packageId}/manifest`, { headers: { Authorization: `Bearer ${adminSession}` } });
  assert.equal(stored.status, 200, 'the server holds a team-sealed manifest');
  const manifest = new Uint8Array(await stored.arrayBuffer());
  const shape = wasm.inspectManifest(manifest);
  assert.equal(shape.teamSealed, true);
  assert.deepEqual(shape.stanzas, ['x25519', 'x25519', 'x25519'], 'two devices and the recovery key, no link stanza');

  // Each roster device opens it with the link; the recovery code opens it without.
  for (const device of team.devices) {
    const opened = wasm.openTeamPackage(manifest, device.identity, linkSecret, 'rustcrypto');
    assert.deepEqual(opened.metadata.files.map((f) => [f.name, f.size]), FILES.map((f) => [f.name, f.buffer.length]), `${device.label} reads the file table`);
    opened.free();
  }
  team.code.openPackage(manifest, 'rustcrypto').free();
  // A key that is not in the roster opens nothing.
  const stranger = wasm.generateDeviceIdentity();
  assert.throws(() => wasm.openTeamPackage(manifest, stranger.identity, linkSecret, 'rustcrypto'), (e) => e.kind === 'no_usable_stanza');

  // What an allowed agent gets from the server: S and the same manifest. The ticket's C with
  // the server's S opens nothing: there is no link stanza to open.
  const headers = { 'X-Sealdrop-Link-Proof': linkProof, Authorization: `Bearer ${team.agentSession}` };
  const open = await fetch(`${server.url}/api/v1/packages/${packageId}/open`, { method: 'POST', headers });
  assert.equal(open.status, 200);
  const opened = await open.json();
  assert.deepEqual(new Uint8Array(Buffer.from(opened.manifest, 'base64')), manifest);
  assert.throws(() => wasm.openPackage(manifest, linkSecret, opened.server_secret, 'rustcrypto'), (e) => typeof e.kind === 'string', 'C and S do not open a team-sealed package');

  // The agent's device decrypts the files to the bytes the customer attached.
  const started = await fetch(`${server.url}/api/v1/packages/${packageId}/download`, { method: 'POST', headers });
  assert.equal(started.status, 200);
  const { download_token: token } = await started.json();
  const pkg = wasm.openTeamPackage(manifest, team.devices[0].identity, linkSecret, 'rustcrypto');
  for (const [i, file] of FILES.entries()) {
    const res = await fetch(`${server.url}/api/v1/packages/${packageId}/files/${i}`, { headers: { 'X-Sealdrop-Download-Token': token } });
    assert.equal(res.status, 200);
    const ciphertext = new Uint8Array(await res.arrayBuffer());
    const decryptor = pkg.file(i);
    const parts = [];
    for (let c = 0; c < decryptor.chunkCount; c++) {
      parts.push(await decryptor.decryptChunk(c, ciphertext.subarray(c * CHUNK, Math.min((c + 1) * CHUNK, ciphertext.length))));
    }
    assert.deepEqual(Buffer.concat(parts), file.buffer, `${file.name}: bytes out == bytes in`);
  }
  pkg.free();
});

test('copenhagen: a roster signed by a key other than the snippet\'s is refused and nothing is uploaded; so is everything when the theme pins no key', { timeout: 180_000 }, async (t) => {
  const { server, sim, wasm, widgetKey, adminSession, team } = await teamAccount(t);

  // The account requires team keys, but the theme's snippet pins no admin key: no file can be
  // attached (the server would refuse a link-sealed package anyway).
  await pasteSnippet({ server, sim, widgetKey, adminSession, adminKey: null });
  await withBrowser(t, async ({ page }) => {
    await copenhagen.open(page, sim);
    assert.match(await panelError(page), /Files cannot be attached: this account seals attachments to its support team, but the Help Center's sealdrop snippet has no data-admin-key/);
  });

  // The theme pins the admin's key; the server then turns: it stores an admin key of its own
  // and serves a roster that key signed, listing a device of its own.
  await pasteSnippet({ server, sim, widgetKey, adminSession, adminKey: team.adminKey.fingerprint });
  const serversKey = wasm.AdminKey.generate();
  const serversCode = wasm.RecoveryCode.generate();
  const replaced = await call(server, 'PUT', '/api/v1/team/admin-key', adminSession, { wrapped_admin_key: Buffer.from(serversCode.wrapAdminKey(serversKey)).toString('base64url'), replace: true });
  assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
  const serversDevice = await enrolDevice({ server, wasm, session: team.agentSession, userId: sim.users.agent.id, label: 'The server, its own' });
  await publishRoster({ server, adminSession, adminKey: serversKey, tenant: team.tenant, recoveryKey: serversCode.recoveryKey, devices: [serversDevice] });
  const served = await fetch(`${server.url}/widget/v1/roster`, { headers: { 'X-Sealdrop-Widget-Key': widgetKey, Origin: sim.url } });
  assert.equal(served.status, 200, 'the server serves its roster to the widget');

  await withBrowser(t, async ({ page }) => {
    await copenhagen.open(page, sim);
    await page.locator(`${PANEL}[data-team="refused"]`).waitFor({ timeout: 30_000 });
    assert.match(await panelError(page), /Files cannot be attached: the support team's key list is not signed by the key this Help Center trusts/);
    await page.locator(`${PANEL} input[type=file]`).setInputFiles(FILES);
    await page.waitForTimeout(1000);
    assert.equal(await page.locator(`${PANEL} li.file`).count(), 0, 'no file is taken');
    // A request without attachments still goes through, unchanged.
    await copenhagen.fill(page, { email: 'dan@customer.example', subject: 'Question', description: 'No files.' });
    await Promise.all([page.waitForURL(/requests\/\d+$/), page.click(copenhagen.submit)]);
    const ticket = (await sim.tickets()).find((tk) => tk.id === Number(page.url().split('/').pop()));
    assert.equal(ticket.description, 'No files.');
  });
  assert.deepEqual(await createdEvents(server, adminSession), [], 'no package was created');
});
