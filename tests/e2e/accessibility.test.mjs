// The Help Center panel is legible and accessible on Zendesk's real default theme: inside
// Copenhagen's Garden fields (which set `font-size: 0`), at 100 % and 200 % zoom, and with
// dark colour settings; axe-core (WCAG 2.1 A + AA, and label-in-name) finds nothing in it,
// empty, with files, and with an error. (The recipient page and the sidebar are checked with
// axe-core where their own tests reach each state: recipient.test.mjs, agent.test.mjs.)
//
// Screenshots of each state go to the artifacts folder (SEALDROP_E2E_ARTIFACTS).

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import test from 'node:test';

import { artifactsDir, withBrowser } from './lib/browser.mjs';
import { PANEL, assertPanelLegible, axe, copenhagen } from './lib/help-center.mjs';
import { startServer } from './lib/server.mjs';
import { startSim } from './lib/zendesk.mjs';

async function shot(page, name) {
  const dir = artifactsDir();
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `help-center-${name}.png`), fullPage: true });
}

/** A server, an empty simulator and a tenant whose widget key the simulator's pages carry. */
async function setup(t) {
  const server = await startServer();
  t.after(() => server.stop());
  const sim = await startSim({ sealdropUrl: server.url, empty: true });
  t.after(() => sim.stop());
  const token = await server.admin(['tenant', 'create', `Acme ${randomBytes(3).toString('hex')}`]);
  const res = await fetch(`${server.url}/api/v1/settings`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ help_center_origins: [sim.url], max_file_size: 1024 * 1024 }),
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  await sim.settings({ widget_key: JSON.parse(body).widget_key });
  return { server, sim };
}

/** The panel fits its column: nothing of it is cut off or scrolls sideways. */
async function assertFits(page, what) {
  const box = await page.evaluate((p) => {
    const host = document.querySelector(p);
    const panel = host.shadowRoot.querySelector('.panel');
    const column = host.parentElement.getBoundingClientRect();
    const r = panel.getBoundingClientRect();
    return { overflow: panel.scrollWidth - panel.clientWidth, left: r.left - column.left, right: column.right - r.right };
  }, PANEL);
  assert.ok(box.overflow <= 1, `${what}: the panel scrolls sideways by ${box.overflow}px`);
  assert.ok(box.left >= -1 && box.right >= -1, `${what}: the panel leaves its column (${JSON.stringify(box)})`);
}

const views = [
  { name: '100', viewport: { width: 1280, height: 900 }, scale: 1, query: '' },
  // 200 % zoom in a 1280 px window: half the CSS pixels, each drawn twice as large.
  { name: '200', viewport: { width: 640, height: 450 }, scale: 2, query: '' },
  { name: 'dark', viewport: { width: 1280, height: 900 }, scale: 1, query: '?colors=dark' },
];

for (const view of views) {
  test(`the panel on Copenhagen (${view.name === 'dark' ? 'dark colour settings' : `${view.name} % zoom`}): legible, fits, and axe-core finds nothing`, { timeout: 120_000 }, async (t) => {
    const { sim } = await setup(t);
    await withBrowser(t, async ({ page }) => {
      await copenhagen.open(page, sim, view.query);
      // The panel shows at once; its stylesheet follows once the loader has checked it.
      await page.locator(`${PANEL}[data-styled] .drop`).waitFor();
      await assertPanelLegible(page, `${view.name}: empty`);
      await assertFits(page, `${view.name}: empty`);
      assert.deepEqual(await axe(page, PANEL), [], `${view.name}: axe-core on the empty panel`);

      // Files, one of them too large (its reason shows in the list).
      await page.locator(`${PANEL} input[type=file]`).setInputFiles([
        { name: 'a-rather-long-file-name-for-a-screenshot-of-the-printer-settings.png', mimeType: 'image/png', buffer: randomBytes(30_000) },
        { name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: randomBytes(1024 * 1024 + 1) },
      ]);
      await page.locator(`${PANEL} li.file.failed`).waitFor();
      await assertPanelLegible(page, `${view.name}: with files`);
      await assertFits(page, `${view.name}: with files`);
      assert.deepEqual(await axe(page, PANEL), [], `${view.name}: axe-core on the panel with files`);
      await page.locator(`${PANEL} li.file`).first().scrollIntoViewIfNeeded();
      await shot(page, `panel-${view.name}`);

      // An error (submitting while a file cannot be sent).
      await copenhagen.fill(page, { email: 'carol@customer.example', subject: 'Settings', description: 'See the screenshot.' });
      await page.click(copenhagen.submit);
      await page.locator(`${PANEL} .error:not([hidden])`).waitFor();
      assert.match(await page.locator(`${PANEL} .error`).textContent(), /The request was not sent: remove the files that cannot be sent first/);
      await assertPanelLegible(page, `${view.name}: with an error`);
      assert.deepEqual(await axe(page, PANEL), [], `${view.name}: axe-core on the panel with an error`);
    }, { viewport: view.viewport, contextOptions: { deviceScaleFactor: view.scale } });
  });
}
