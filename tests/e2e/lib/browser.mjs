// Headless Chromium for the e2e tests, through playwright-core and the system's Chromium
// (`npx playwright install` does not work here; /usr/bin/chromium does).
//
//   import { withBrowser } from './lib/browser.mjs';
//   test('recipient downloads the file', (t) => withBrowser(t, async ({ page, browser }) => {
//     await page.goto(url);
//     ...
//   }));
//
// On failure every open page is saved as a screenshot, with its console and page errors,
// into SEALDROP_E2E_ARTIFACTS (cargo xtask test sets it to <target>/e2e-artifacts; by hand
// the default is tests/e2e/artifacts).

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** The flags the project runs Chromium with (see the project guide). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function artifactsDir() {
  return (
    process.env.SEALDROP_E2E_ARTIFACTS ??
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../artifacts')
  );
}

/**
 * Launches Chromium with a fresh temporary profile. Options: `headless` (default true; set
 * SEALDROP_E2E_HEADED=1 to watch), `viewport`, `acceptDownloads` (true), `contextOptions`.
 * Returns `{ browser, newPage(), pages(), logs, screenshotAll(label), close() }` where
 * `browser` is playwright's BrowserContext (one profile, many pages).
 */
export async function launchBrowser({ headless = !process.env.SEALDROP_E2E_HEADED, viewport = { width: 1280, height: 900 }, acceptDownloads = true, contextOptions = {} } = {}) {
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'sealdrop-chromium-'));
  const args = CHROMIUM_FLAGS.filter((flag) => headless || flag !== '--headless');
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless,
      args,
      viewport,
      acceptDownloads,
      ...contextOptions,
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    err.message = `cannot start ${CHROMIUM} (install it with \`apt-get install chromium\` or run through \`cargo xtask test --only e2e\`): ${err.message}`;
    throw err;
  }

  // Console output and uncaught page errors, per page, for failure reports.
  const logs = new Map();
  const watch = (page) => {
    const lines = [];
    logs.set(page, lines);
    page.on('console', (msg) => lines.push(`[console.${msg.type()}] ${msg.text()}`));
    page.on('pageerror', (err) => lines.push(`[pageerror] ${err.stack ?? err.message}`));
    page.on('requestfailed', (req) => lines.push(`[requestfailed] ${req.method()} ${req.url()}: ${req.failure()?.errorText}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);

  const screenshotAll = async (label) => {
    const dir = artifactsDir();
    await mkdir(dir, { recursive: true });
    const base = label.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);
    const saved = [];
    for (const [i, page] of context.pages().entries()) {
      if (page.isClosed()) continue;
      const file = path.join(dir, `${base}-page${i}.png`);
      try {
        await page.screenshot({ path: file, fullPage: true, timeout: 5_000 });
        saved.push(file);
      } catch {
        // A crashed or navigating page cannot be captured; its log still is.
      }
      const lines = [`url: ${page.url()}`, ...(logs.get(page) ?? [])];
      await writeFile(path.join(dir, `${base}-page${i}.log`), lines.join('\n') + '\n');
    }
    return saved;
  };

  const close = async () => {
    await context.close().catch(() => {});
    await rm(userDataDir, { recursive: true, force: true });
  };

  return {
    browser: context,
    userDataDir,
    newPage: () => context.newPage(),
    pages: () => context.pages(),
    logs,
    screenshotAll,
    close,
  };
}

/**
 * Runs `fn({ browser, page, newPage, screenshotAll, userDataDir })` with a fresh Chromium; on failure saves
 * screenshots and logs of every page (named after the test) before rethrowing; always closes.
 */
export async function withBrowser(t, fn, options) {
  const handle = await launchBrowser(options);
  // A persistent context opens with one blank page; use it rather than leave it idle.
  const page = handle.pages()[0] ?? (await handle.newPage());
  try {
    return await fn({ ...handle, page });
  } catch (err) {
    const saved = await handle.screenshotAll(t?.name ?? 'e2e-failure').catch(() => []);
    if (saved.length > 0) err.message += `\n(screenshots: ${saved.join(', ')})`;
    throw err;
  } finally {
    await handle.close();
  }
}
