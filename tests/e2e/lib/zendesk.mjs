// Shared steps of the browser tests that involve Zendesk: the real `sealdrop` server set up
// for the Zendesk simulator, the simulator itself, connecting the simulated account the way
// its admin would (sidebar sign-in, API grant, Help Center origin, widget key), the agent
// ticket page with the sidebar, and checks of the files a browser downloaded.
//
//   import { startZendesk, connectAccount, openTicket, NO_PICKERS, downloadedFiles } from './lib/zendesk.mjs';
//   const zd = await startZendesk();              // { server, sim, stop() }
//   t.after(() => zd.stop());
//   const { widgetKey } = await connectAccount(zd.server, zd.sim);
//   const frame = await openTicket(page, zd.sim, zd.sim.firstTicket, 'agent');

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { binaryPath, freePort, repoRoot, startServer, waitForOk } from './server.mjs';

/**
 * Starts `zendesk-sim` on `port`. Options: `sealdropUrl` (the server the pages point at),
 * `signingKey` (PEM file of the ZAF signing key; default a fresh key), `widgetKey` (the Help
 * Center loader tag's key), `empty` (no demo users and ticket), `autoApprove` (OAuth without
 * the consent page; default true).
 * Returns `{ url, port, firstTicket, users: {admin, agent, customer}, tickets(), settings(change), stop() }`
 * (`firstTicket` and `users` only without `empty`).
 */
export async function startSim({ port, sealdropUrl, signingKey, widgetKey, empty = false, autoApprove = true, appDir, appsPort, appSettings = {} }) {
  port ??= await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ['--listen', `127.0.0.1:${port}`, '--sealdrop-url', `${sealdropUrl.replace(/\/$/, '')}/`];
  if (autoApprove) args.push('--auto-approve');
  // The app package (assembled by `cargo xtask test`): the simulator frames the sidebar from
  // its assets and relays its client.request calls, as Zendesk does.
  if (appDir) args.push('--app-dir', appDir);
  if (appsPort) args.push('--apps-listen', `127.0.0.1:${appsPort}`);
  for (const [name, value] of Object.entries(appSettings)) args.push('--app-setting', `${name}=${value}`);
  if (signingKey) args.push('--signing-key', signingKey);
  if (widgetKey) args.push('--widget-key', widgetKey);
  if (empty) args.push('--empty');
  const child = spawn(binaryPath('zendesk-sim'), args, {
    stdio: ['ignore', 'ignore', process.env.SEALDROP_E2E_VERBOSE ? 'inherit' : 'ignore'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  let code = null;
  const exited = new Promise((resolve) => child.on('exit', (c, signal) => { code = c ?? signal; resolve(); }));
  const stop = async () => {
    if (code === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  try {
    await waitForOk(`${url}/sim/info`, { exited: () => code, what: 'zendesk-sim' });
  } catch (err) {
    await stop();
    throw err;
  }
  const tickets = async () => (await (await fetch(`${url}/sim/tickets`)).json()).tickets;
  let users = {};
  let firstTicket;
  if (!empty) {
    const { users: list } = await (await fetch(`${url}/sim/users`)).json();
    const by = (email) => list.find((u) => u.email === email);
    users = { admin: by('admin@acme.example'), agent: by('agent@acme.example'), customer: by('carol@customer.example') };
    firstTicket = (await tickets())[0].id;
  }
  return {
    url,
    port,
    firstTicket,
    users,
    tickets,
    /** Changes the simulator's settings, e.g. `{ widget_key }` for the Help Center pages. */
    settings: async (change) => {
      const res = await fetch(`${url}/sim/settings`, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(change) });
      assert.ok(res.ok, `the simulator refused the settings change: HTTP ${res.status}`);
    },
    stop,
  };
}

/**
 * The real server configured for the simulator (its OAuth and REST endpoints, its ZAF signing
 * key, the agent app, no role cache) and the simulator with its demo users and ticket,
 * pointing at the server. `env` adds server environment (e.g. `SEALDROP_SMTP_URL`).
 * Returns `{ server, sim, stop() }`; `stop` ends both and removes the key folder.
 */
export async function startZendesk({ env = {}, packaged = Boolean(process.env.SEALDROP_E2E_APP_DIR) } = {}) {
  const keyDir = await mkdtemp(path.join(os.tmpdir(), 'sealdrop-zaf-'));
  let server;
  let sim;
  const stop = async () => {
    await sim?.stop();
    await server?.stop();
    await rm(keyDir, { recursive: true, force: true });
  };
  try {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signingKey = path.join(keyDir, 'zaf.key');
    await writeFile(signingKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(path.join(keyDir, 'zaf.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    // The server must know the simulator's URL before the simulator knows the server's.
    const simPort = await freePort();
    const simUrl = `http://127.0.0.1:${simPort}`;
    // The origin Zendesk (here the simulator) serves the app package's assets from: the
    // packaged sidebar calls the server from there.
    const appsPort = await freePort();
    server = await startServer({
      env: {
        SEALDROP_ZENDESK_BASE_URL: `${simUrl}/`,
        SEALDROP_ZENDESK_APP_ORIGINS: `http://127.0.0.1:${appsPort}`,
        SEALDROP_ZENDESK_APP_PUBLIC_KEY: path.join(keyDir, 'zaf.pub'),
        SEALDROP_ZENDESK_ROLE_CACHE_SECS: '0',
        SEALDROP_AGENT_APP_DIR: path.join(repoRoot, 'web/sidebar'),
        ...env,
      },
    });
    // Served from the app package (the default under `cargo xtask test`): the operator makes
    // the account's app secret and the Zendesk admin enters it in the app's settings.
    let app = {};
    if (packaged) {
      assert.ok(process.env.SEALDROP_E2E_APP_DIR, 'SEALDROP_E2E_APP_DIR names the assembled app folder');
      const secret = await server.admin(['tenant', 'app-secret', 'acme']);
      app = { appDir: process.env.SEALDROP_E2E_APP_DIR, appsPort, appSettings: { shared_secret: secret } };
    }
    sim = await startSim({ port: simPort, sealdropUrl: server.url, signingKey, ...app });
  } catch (err) {
    await stop();
    throw err;
  }
  return { server, sim, stop };
}

/** Signs `userId` into the sidebar with a ZAF token of the simulator; resolves to the `sda_…` session. */
export async function sidebarSession(server, sim, userId) {
  const minted = await fetch(`${sim.url}/sim/zaf_token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user_id: userId }) });
  assert.equal(minted.status, 200, `the simulator minted no ZAF token: HTTP ${minted.status}`);
  const { token } = await minted.json();
  const page = await fetch(`${server.url}/zendesk/sidebar`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }) });
  const html = await page.text();
  const session = html.match(/<meta name="sealdrop-session" content="([^"]+)"/)?.[1];
  assert.ok(session, `the sidebar gave no session (HTTP ${page.status})`);
  return session;
}

/**
 * Connects the simulated account the way its admin would, without a browser: the admin's
 * sidebar sign-in creates the tenant, the admin grants API access (OAuth; the simulator
 * auto-approves), allows the simulator's Help Center origin, and the simulator's Help Center
 * pages get the tenant's widget key. Resolves to `{ widgetKey, adminSession }`.
 */
export async function connectAccount(server, sim) {
  assert.ok(sim.users.admin, 'the simulator has its demo admin (started without --empty)');
  const setup = await sidebarSession(server, sim, sim.users.admin.id);
  const start = await fetch(`${server.url}/zendesk/oauth/start`, { headers: { Authorization: `Bearer ${setup}` } });
  assert.equal(start.status, 200, `oauth/start answered HTTP ${start.status}: ${await start.clone().text()}`);
  const { authorize_url: authorize } = await start.json();
  assert.ok(authorize, 'oauth/start gave an authorize_url');
  const approved = await fetch(authorize, { redirect: 'manual' });
  const callback = approved.headers.get('location');
  assert.ok(callback, `the simulator did not redirect back to sealdrop (HTTP ${approved.status}; is --auto-approve on?)`);
  const done = await fetch(new URL(callback, authorize), { redirect: 'manual' });
  assert.equal(done.status, 200, `the OAuth callback answered HTTP ${done.status}: ${await done.clone().text()}`);
  // With the grant in place, a new sign-in is a full admin session.
  const adminSession = await sidebarSession(server, sim, sim.users.admin.id);
  const put = await fetch(`${server.url}/api/v1/settings`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${adminSession}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ help_center_origins: [sim.url] }),
  });
  assert.equal(put.status, 200, `saving the Help Center origin answered HTTP ${put.status}: ${await put.clone().text()}`);
  const { widget_key: widgetKey } = await put.json();
  assert.match(widgetKey ?? '', /^sdw_/, 'the settings hold the widget key');
  await sim.settings({ widget_key: widgetKey });
  return { widgetKey, adminSession };
}

/** The sidebar iframe of the agent ticket page, once it has loaded its page (the app
 *  package's assets/sidebar.html, or the server's /zendesk/sidebar). */
export async function sidebar(page) {
  const handle = await page.waitForSelector('iframe[id^="app_sidebar_"]');
  for (let i = 0; i < 100; i++) {
    const frame = await handle.contentFrame();
    if (frame && (frame.url().includes('/zendesk/sidebar') || frame.url().includes('/assets/sidebar.html'))) {
      await frame.waitForLoadState('domcontentloaded');
      return frame;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the sidebar iframe never loaded /zendesk/sidebar');
}

/** Opens the simulator's agent ticket page as `who` and waits for the sidebar to finish loading. */
export async function openTicket(page, sim, ticketId, who = 'admin') {
  await page.goto(`${sim.url}/agent/tickets/${ticketId}?as=${sim.users[who].id}`);
  const frame = await sidebar(page);
  await frame.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 30_000 });
  if ((await frame.evaluate(() => document.body.dataset.status)) === 'identify') await confirmIdentity(page, frame);
  return frame;
}

/**
 * The packaged sidebar's first sign-in in a browser (docs/ZENDESK.md "Who the packaged sidebar
 * runs for"): presses Confirm, lets the simulated Zendesk approve in the popup as the user
 * signed in to it (the simulator's consent page; auto-approved unless `approve` is false, when
 * the caller handles the popup), and waits for the sidebar to start again, signed in.
 * Returns the popup page when `approve` is false, else what the popup said (the sidebar closes
 * it once signed in).
 */
export async function confirmIdentity(page, frame, { approve = true } = {}) {
  const popupOpened = page.context().waitForEvent('page');
  await frame.click('#confirm-identity');
  const popup = await popupOpened;
  if (!approve) return popup;
  await popup.waitForSelector('h1');
  const said = await popup.textContent('body');
  assert.equal(await popup.textContent('h1'), 'sealdrop knows who you are', `the identity popup: ${said}`);
  // The sidebar notices within its poll interval and reloads with the credential it now keeps.
  for (let i = 0; i < 300; i++) {
    try {
      const done = await frame.evaluate(() => document.body.dataset.ready === '1' && document.body.dataset.status !== 'identify');
      if (done) return said;
    } catch {
      // The frame is reloading.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the sidebar did not sign in after the identity was confirmed');
}

/** Opens the sidebar's admin tab as the admin, runs `change(frame)`, saves; returns the frame. */
export async function settingsAsAdmin(page, sim, change) {
  const frame = await openTicket(page, sim, sim.firstTicket);
  await frame.click('#tabs button[data-tab="admin"]');
  // The form holds the saved settings once loadAdmin has filled it (it sets the grant status
  // last); a change made before that would be overwritten. (The reply-style select has a
  // value from the start, so it says nothing.)
  await frame.waitForSelector('#grant-status[data-grant]', { state: 'attached' });
  await change(frame);
  await frame.click('#settings-save');
  await frame.waitForSelector('#settings-status:not([hidden])');
  return frame;
}

/** An init script that hides the file pickers, so downloads go to the browser's download list. */
export const NO_PICKERS = () => {
  Object.defineProperty(window, 'showSaveFilePicker', { value: undefined, configurable: true });
  Object.defineProperty(window, 'showDirectoryPicker', { value: undefined, configurable: true });
};

/** SHA-256 (hex) of a file, read as a stream. */
export async function sha256File(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Checks that the browser's `downloads` (playwright Download objects) are exactly `files`
 * (`[{name, size, sha256}]`): one per file, named alike, same size, same SHA-256.
 */
export async function downloadedFiles(downloads, files) {
  for (let i = 0; i < 100 && downloads.length < files.length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(downloads.length, files.length, 'one browser download per file');
  for (const d of downloads) {
    const f = files.find((x) => x.name === d.suggestedFilename());
    assert.ok(f, `unexpected download ${d.suggestedFilename()}`);
    const failure = await d.failure();
    assert.equal(failure, null, `${f.name}: the browser download failed`);
    const saved = await d.path();
    assert.equal((await stat(saved)).size, f.size, `${f.name} size`);
    assert.equal(await sha256File(saved), f.sha256, `${f.name}: bytes out == bytes in`);
  }
}

/** Loads the browser package of the wasm bindings (widget-wasm/pkg) into Node. */
export async function loadWasm() {
  const pkg = process.env.SEALDROP_WASM_DIR ?? path.join(repoRoot, 'widget-wasm/pkg');
  const wasm = await import(path.join(pkg, 'sealdrop_widget.js'));
  await wasm.default({ module_or_path: await readFile(path.join(pkg, 'sealdrop_widget_bg.wasm')) });
  return wasm;
}
