// The sidebar served from the Zendesk app package (docs/ZENDESK.md "Sidebar from the app
// package"): the simulator frames assets/sidebar.html from its apps origin, the sidebar signs
// in through the simulator's app proxy (an HS256 JWT made from the secure setting
// shared_secret), and everything it runs is the package's. The server is started with a
// tampered sidebar in its agent-app folder, as a malicious server would serve one: the
// agent's sidebar is unchanged by it. The app JWT proves the account only: the user proves who
// they are once per browser in Zendesk's consent popup ("Who the packaged sidebar runs for"), and
// an agent who scripts the frame to name another user gets no session.
//
// Needs the assembled app (SEALDROP_E2E_APP_DIR, which `cargo xtask test` sets); skipped
// without it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { withBrowser } from './lib/browser.mjs';
import { repoRoot } from './lib/server.mjs';
import { confirmIdentity, openTicket, sidebar, startZendesk } from './lib/zendesk.mjs';

const appDir = process.env.SEALDROP_E2E_APP_DIR;
let zendesk;
let tampered;

before(async () => {
  if (!appDir) return;
  // The server's copy of the sidebar, changed the way a malicious server would: its page
  // marks itself, and its main module reports to the page's parent.
  tampered = await mkdtemp(path.join(os.tmpdir(), 'sealdrop-tampered-'));
  await cp(path.join(repoRoot, 'web/sidebar'), tampered, { recursive: true });
  const html = await readFile(path.join(tampered, 'sidebar.html'), 'utf8');
  await writeFile(path.join(tampered, 'sidebar.html'), html.replace('<body>', '<body data-tampered="page">'));
  const js = await readFile(path.join(tampered, 'sidebar.js'), 'utf8');
  await writeFile(path.join(tampered, 'sidebar.js'), `document.body.dataset.tampered = "script";\n${js}`);
  zendesk = await startZendesk({ env: { SEALDROP_AGENT_APP_DIR: tampered }, packaged: true });
});

after(async () => {
  await zendesk?.stop();
  if (tampered) await rm(tampered, { recursive: true, force: true });
});

test('the sidebar runs from the app package and signs in through the proxy', { skip: !appDir && 'SEALDROP_E2E_APP_DIR is not set' }, async (t) => {
  const { sim } = zendesk;
  await withBrowser(t, async ({ page }) => {
    const frame = await openTicket(page, sim, sim.firstTicket, 'admin');
    const url = new URL(frame.url());
    assert.match(url.pathname, /\/assets\/sidebar\.html$/, 'the sidebar is the package\'s page');
    assert.notEqual(url.origin, new URL(zendesk.server.url).origin, 'it is not served by the sealdrop server');
    assert.notEqual(url.origin, new URL(sim.url).origin, 'it has an origin of its own, as on Zendesk');
    // Signed in (a setup session: no grant yet) through client.request, not a signed POST,
    // after confirming who the admin is once (openTicket pressed Confirm; Zendesk approved).
    const status = await frame.evaluate(() => document.body.dataset.status);
    assert.equal(status, 'setup_required');
    const requests = await page.evaluate(() => window.zafHostLog.filter((e) => e.request === 'request'));
    assert.ok(requests.length >= 2, 'sign-ins through client.request');
    for (const r of requests) assert.match(r.params.url, /\/zendesk\/app\/session$/, 'every client.request is a sign-in');
    // Opened again in the same browser: the kept credential signs in at once, no popup.
    await page.reload();
    const again = await sidebar(page);
    await again.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 30_000 });
    assert.equal(await again.evaluate(() => document.body.dataset.status), 'setup_required');
  });
});

test('a first sign-in waits for the user to confirm in Zendesk', { skip: !appDir && 'SEALDROP_E2E_APP_DIR is not set' }, async (t) => {
  const { sim } = zendesk;
  await withBrowser(t, async ({ page }) => {
    await page.goto(`${sim.url}/agent/tickets/${sim.firstTicket}?as=${sim.users.agent.id}`);
    const frame = await sidebar(page);
    await frame.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 30_000 });
    assert.equal(await frame.evaluate(() => document.body.dataset.status), 'identify');
    assert.equal(await frame.textContent('#status-title'), 'Confirm who you are');
    assert.ok(await frame.isVisible('#confirm-identity'));
    assert.ok(await frame.isHidden('#tabs'), 'nothing of sealdrop before that');
    const said = await confirmIdentity(page, frame);
    assert.match(said, new RegExp(`signed in as ${sim.users.agent.name}`));
    // Then the sidebar starts signed in (a setup session: no admin has granted access yet).
    assert.equal(await frame.evaluate(() => document.body.dataset.status), 'setup_required');
  });
});

test('an agent who scripts the app frame to name the admin gets no session', { skip: !appDir && 'SEALDROP_E2E_APP_DIR is not set' }, async (t) => {
  const { server, sim } = zendesk;
  await withBrowser(t, async ({ page }) => {
    // The agent has proven who they are in this browser and holds a credential.
    const frame = await openTicket(page, sim, sim.firstTicket, 'agent');
    // From the frame's console: the sidebar's own sign-in request, naming the admin.
    const answers = await frame.evaluate(async (adminId) => {
      const zaf = window.ZAFClient.init();
      const metadata = await zaf.metadata();
      const { currentAccount } = await zaf.get('currentAccount');
      const base = String(metadata.settings.sealdrop_url).replace(/\/+$/, '');
      const ask = async (body) => {
        try {
          return await zaf.request({
            url: `${base}/zendesk/app/session`,
            type: 'POST',
            cors: false,
            secure: true,
            dataType: 'json',
            contentType: 'application/json',
            data: JSON.stringify(body),
            headers: { Authorization: 'Bearer {{jwt.token}}' },
            jwt: {
              algorithm: 'HS256',
              secret_key: '{{setting.shared_secret}}',
              expiry: 60,
              claims: {
                iss: `${currentAccount.subdomain}.zendesk.com`,
                aud: 'sealdrop',
                sub: String(adminId),
                installation_id: metadata.installationId,
                jti: crypto.randomUUID(),
              },
            },
          });
        } catch (xhr) {
          return { failed: xhr.status };
        }
      };
      const credential = localStorage.getItem('sealdrop.app_credential');
      return {
        withCredential: await ask({ credential }),
        withClaim: await ask({ claim: `devtools-claim-${crypto.randomUUID()}` }),
      };
    }, sim.users.admin.id);
    assert.equal(answers.withCredential.status, 'identify', 'the agent\'s credential does not prove the admin');
    assert.equal(answers.withCredential.session ?? null, null);
    assert.equal(answers.withClaim.status, 'identify');
    assert.equal(answers.withClaim.session ?? null, null);
    // Zendesk, asked in the popup, names the user signed in to it: the agent, not the admin.
    const popup = await page.context().newPage();
    await popup.goto(`${server.url}${answers.withClaim.identify_path}`);
    await popup.waitForSelector('h1');
    assert.equal(await popup.textContent('h1'), 'sealdrop could not confirm who you are');
    assert.match(await popup.textContent('body'), /another user than the one the sealdrop app asked for/);
  });
});

test('a server that serves a modified sidebar changes nothing the agent runs', { skip: !appDir && 'SEALDROP_E2E_APP_DIR is not set' }, async (t) => {
  const { server, sim } = zendesk;
  // The server does serve its tampered copy...
  const served = await (await fetch(`${server.url}/agent-app/sidebar.js`)).text();
  assert.match(served, /dataset\.tampered/);
  await withBrowser(t, async ({ page }) => {
    const frame = await openTicket(page, sim, sim.firstTicket, 'admin');
    // ...but the agent's sidebar is the package's, byte for byte.
    assert.equal(await frame.evaluate(() => document.body.dataset.tampered ?? null), null);
    for (const file of ['sidebar.html', 'sidebar.js', 'signin.js', 'team/device.js', 'shared/api.js']) {
      const inFrame = await frame.evaluate(async (f) => (await fetch(new URL(f, location.href))).text(), file);
      const inPackage = await readFile(path.join(appDir, 'assets', file), 'utf8');
      assert.equal(inFrame, inPackage, `${file} is the package's`);
    }
    // No script of the sidebar came from the sealdrop server.
    const scripts = await frame.evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => ['script', 'other', 'link'].includes(e.initiatorType) && /\.(js|wasm|css)(\?|$)/.test(e.name))
      .map((e) => new URL(e.name).origin));
    const frameOrigin = new URL(frame.url()).origin;
    assert.ok(scripts.length > 0 && scripts.every((o) => o === frameOrigin), `every script from the package: ${scripts}`);
  });
});
