// Checks the e2e harness itself (tests/e2e/lib): Chromium starts with the project's flags
// and leaves screenshots on failure, mail is parsed and its code found, and the real
// `sealdrop` binary starts on the embedded default and answers /healthz. If these fail, the
// product tests next to them cannot be trusted either.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';

import { withBrowser } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';
import { findCode, waitForMail } from './lib/smtp.mjs';

test('chromium renders a page', (t) =>
  withBrowser(t, async ({ page }) => {
    await page.setContent('<p id="greeting">hello</p>');
    assert.equal(await page.textContent('#greeting'), 'hello');
  }));

test('a failing browser test leaves a screenshot of its page', async (t) => {
  const err = await withBrowser(t, async ({ page }) => {
    await page.setContent('<p>about to fail</p>');
    throw new Error('planned failure');
  }).catch((e) => e);
  assert.match(err.message, /planned failure/);
  const shot = /screenshots: ([^,)]+)/.exec(err.message)?.[1];
  assert.ok(shot && existsSync(shot), `no screenshot named in: ${err.message}`);
  await rm(shot, { force: true });
  await rm(shot.replace(/\.png$/, '.log'), { force: true });
});

test('mail to an address is found and its code read from multipart text', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sealdrop-mail-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const html = Buffer.from('<style>p{color:#123456}</style><p>Code <b>481516</b></p>').toString('base64');
  const raw = [
    'X-Sealdrop-Rcpt-To: carol@customer.example',
    'To: Carol <carol@customer.example>',
    'Subject: =?utf-8?q?Your_verification_code?=',
    'Content-Type: multipart/alternative; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Your code is 48=',
    '1516.',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    html,
    '--b1--',
    '',
  ].join('\r\n');
  await writeFile(path.join(dir, '1.eml'), raw);

  const mail = await waitForMail({ to: 'CAROL@customer.example', dir, timeoutMs: 1_000 });
  assert.equal(mail.subject, 'Your verification code');
  assert.equal(mail.code, '481516');
  assert.match(mail.html, /<b>481516<\/b>/);
  await assert.rejects(waitForMail({ to: 'dave@customer.example', dir, timeoutMs: 300 }), /no mail to dave@customer\.example/);
  assert.equal(findCode('sent 2026-11-21, code 1234567'), '1234567');
  assert.equal(findCode('no code here: 12345'), null);
});

test('the sealdrop server starts on the embedded default and answers /healthz', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
  const token = await server.admin(['tenant', 'create', 'E2E Support']);
  assert.match(token, /^sdt_/, 'tenant create prints an API token');
});
