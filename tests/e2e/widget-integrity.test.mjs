// Code the server cannot swap (issue 18, item 4): the Help Center snippet pins the loader by
// Subresource Integrity, and the loader pins every file it loads (widget-wasm/pkg/widget/, as
// `cargo xtask wasm` builds it). The real server serves a copy of the release in which a test
// changes one file at a time, as a compromised server would; the Copenhagen request page in
// headless Chromium must then refuse to run the widget, and say so, instead of running code
// the release does not pin. The unchanged release is the control: the same page encrypts and
// uploads with it, so the refusals below are not the widget being broken.
//
// Needs target/debug/sealdrop and target/debug/zendesk-sim, and the browser package with the
// widget's release in widget-wasm/pkg (`cargo xtask wasm`).

import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';

import { withBrowser } from './lib/browser.mjs';
import { PANEL, copenhagen } from './lib/help-center.mjs';
import { repoRoot } from './lib/server.mjs';
import { pasteSnippet } from './lib/team-setup.mjs';
import { connectAccount, startZendesk } from './lib/zendesk.mjs';

const PKG = process.env.SEALDROP_WASM_DIR ?? path.join(repoRoot, 'widget-wasm/pkg');

/** The panel's error text once it shows one. */
async function panelError(page) {
  const error = page.locator(`${PANEL} .error:not([hidden])`);
  await error.waitFor({ timeout: 30_000 });
  return error.textContent();
}

test('a worker, wasm, module or stylesheet the release does not pin makes the widget refuse to run; a changed loader is refused by the browser', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sealdrop-release-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const pkg = path.join(dir, 'pkg');
  await cp(PKG, pkg, { recursive: true });
  const release = path.join(pkg, 'widget');
  const zd = await startZendesk({ env: { SEALDROP_WASM_DIR: pkg } });
  t.after(() => zd.stop());
  const { server, sim } = zd;
  const { widgetKey, adminSession } = await connectAccount(server, sim);
  await pasteSnippet({ server, sim, widgetKey, adminSession, adminKey: null });

  /** Runs `check(page)` on the request page with `file` of the release changed by `change`. */
  async function served(file, change, check) {
    const target = path.join(release, file);
    const original = await readFile(target);
    await writeFile(target, change(original));
    try {
      // A fresh browser each time: nothing of an earlier case in its cache.
      await withBrowser(t, async ({ page }) => {
        const lines = [];
        page.on('console', (m) => lines.push(m.text()));
        await copenhagen.open(page, sim);
        await check(page, lines);
      });
    } finally {
      await writeFile(target, original);
    }
  }
  const appended = (bytes) => Buffer.concat([bytes, Buffer.from('\n// changed by the server\n')]);
  const flipped = (bytes) => {
    const out = Buffer.from(bytes);
    out[out.length - 1] ^= 1;
    return out;
  };

  // The control: the release as built runs, encrypts and uploads.
  await served('widget.js', (b) => b, async (page) => {
    await page.locator(`${PANEL} .drop`).waitFor();
    await page.locator(`${PANEL} input[type=file]`).setInputFiles({ name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await page.waitForFunction((p) => document.querySelector(p).shadowRoot.querySelector('li.file')?.dataset.progress === '100', PANEL, { timeout: 30_000 });
  });

  // The worker, the wasm and the stylesheet: the widget starts, checks them at once, and
  // refuses files with the reason.
  for (const [file, change] of [['worker.js', appended], ['sealdrop_widget_bg.wasm', flipped], ['widget.css', appended]]) {
    await served(file, change, async (page) => {
      const text = await panelError(page);
      assert.match(text, new RegExp(`Secure attachments are not available: ${file.replace(/\./g, '\\.')} is not the file this release pins`), `${file}: ${text}`);
      await page.locator(`${PANEL} input[type=file]`).setInputFiles({ name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
      await page.waitForTimeout(500);
      assert.equal(await page.locator(`${PANEL} li.file`).count(), 0, `${file}: no file is taken`);
      assert.equal(await page.locator(copenhagen.native).isVisible(), false, `${file}: the plaintext attachment field stays hidden`);
    });
  }

  // The widget's own module: it never runs; the loader hides the plaintext field and says why.
  await served('widget.js', appended, async (page) => {
    const note = page.locator('[data-sealdrop="refused"]');
    await note.waitFor({ timeout: 30_000 });
    assert.match(await note.textContent(), /Attachments are not available: widget\.js is not the file this release pins/);
    assert.equal(await page.locator(PANEL).count(), 0, 'no panel');
    assert.equal(await page.locator(copenhagen.native).isVisible(), false, 'the plaintext attachment field is hidden');
  });

  // The loader itself: the browser checks it against the snippet's integrity and does not run it.
  await served('loader.js', appended, async (page, lines) => {
    await page.waitForTimeout(2000);
    assert.equal(await page.locator('[data-sealdrop]').count(), 0, 'nothing of the widget ran');
    assert.ok(lines.some((line) => /integrity/i.test(line)), `the browser reports the integrity failure: ${lines.join(' | ')}`);
  });

  assert.deepEqual((await (await fetch(`${sim.url}/sim/help_center/log`)).json()).uploads, [], 'nothing reached Zendesk\'s upload endpoints');
});
