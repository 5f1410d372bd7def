// Read the mail a test caused: from the SMTP capture server that `cargo xtask test` starts
// (SEALDROP_TEST_SMTP_CAPTURE_DIR) or from a server's outbox folder (`server.outboxDir`).
// Both hold one .eml file per message.
//
//   import { waitForMail } from './lib/smtp.mjs';
//   const mail = await waitForMail({ to: 'carol@customer.example' });
//   mail.code   // the first run of 6+ digits (a verification code), or null
//   mail.text / mail.html / mail.subject / mail.headers

import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/** The capture folder of the SMTP server started by xtask, or an error saying how to get one. */
export function captureDir() {
  const dir = process.env.SEALDROP_TEST_SMTP_CAPTURE_DIR;
  if (!dir) {
    throw new Error('SEALDROP_TEST_SMTP_CAPTURE_DIR is not set: run through `cargo xtask test --only e2e`, or export the lines `cargo xtask services up smtp` prints');
  }
  return dir;
}

/** The SMTP URL to give the server (`SEALDROP_SMTP_URL`) so that its mail reaches the capture folder. */
export function smtpUrl() {
  const url = process.env.SEALDROP_TEST_SMTP_URL;
  if (!url) throw new Error('SEALDROP_TEST_SMTP_URL is not set: run through `cargo xtask test --only e2e`');
  return url;
}

/**
 * Waits for a message to `to` (envelope recipient or To/Cc header, case-insensitive) in `dir`.
 * Options: `dir` (default: the capture folder), `timeoutMs` (15 s), `since` (only files
 * modified at or after this time in ms; pass `Date.now()` taken before triggering the mail),
 * `ignore` (a Set of file paths already consumed; the returned one is added to it),
 * `subject` (substring or RegExp the subject must match).
 * Resolves to `{ file, headers, subject, text, html, code }`; the newest match wins.
 */
export async function waitForMail({ to, dir, timeoutMs = 15_000, since = 0, ignore, subject } = {}) {
  dir ??= captureDir();
  const want = to?.toLowerCase();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const matches = [];
    let names = [];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
    for (const name of names) {
      if (!name.endsWith('.eml') || name.startsWith('.')) continue;
      const file = path.join(dir, name);
      if (ignore?.has(file)) continue;
      const info = await stat(file);
      if (info.mtimeMs < since) continue;
      const mail = parseMail(await readFile(file, 'utf8'));
      if (want && !recipients(mail.headers).some((r) => r.includes(want))) continue;
      if (subject && !(subject instanceof RegExp ? subject.test(mail.subject) : mail.subject.includes(subject))) continue;
      matches.push({ file, mtime: info.mtimeMs, ...mail });
    }
    if (matches.length > 0) {
      matches.sort((a, b) => a.mtime - b.mtime || a.file.localeCompare(b.file));
      const { mtime: _mtime, ...mail } = matches.at(-1);
      ignore?.add(mail.file);
      return mail;
    }
    if (Date.now() > deadline) {
      throw new Error(`no mail to ${to ?? 'anyone'} arrived in ${dir} within ${timeoutMs} ms (${names.length} file(s) there)`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function recipients(headers) {
  return ['x-sealdrop-rcpt-to', 'to', 'cc']
    .flatMap((h) => headers[h] ?? [])
    .map((v) => v.toLowerCase());
}

/** The first run of 6 or more digits in the text (or the HTML's text), or null. */
export function findCode(text) {
  const m = /(?<!\d)(\d{6,})(?!\d)/.exec(text ?? '');
  return m ? m[1] : null;
}

/** Parses an RFC 5322 message with optional MIME parts into headers, text and HTML. */
export function parseMail(raw) {
  const { headers, body } = splitHeaders(raw);
  const parts = { text: null, html: null };
  collectParts(headers, body, parts);
  const subject = decodeWords(headers.subject?.[0] ?? '');
  const code = findCode(parts.text) ?? findCode(stripTags(parts.html));
  return { headers, subject, text: parts.text, html: parts.html, code };
}

function splitHeaders(raw) {
  const normalized = raw.replace(/\r\n/g, '\n');
  const end = normalized.indexOf('\n\n');
  const head = end === -1 ? normalized : normalized.slice(0, end);
  const body = end === -1 ? '' : normalized.slice(end + 2);
  const headers = {};
  // Unfold continuation lines, then split "Name: value".
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    (headers[name] ??= []).push(line.slice(i + 1).trim());
  }
  return { headers, body };
}

function collectParts(headers, body, parts) {
  const type = (headers['content-type']?.[0] ?? 'text/plain').toLowerCase();
  const boundary = /boundary="?([^";]+)"?/i.exec(headers['content-type']?.[0] ?? '')?.[1];
  if (type.startsWith('multipart/') && boundary) {
    const sections = body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break;
      const part = splitHeaders(section.replace(/^\n/, ''));
      collectParts(part.headers, part.body, parts);
    }
    return;
  }
  const decoded = decodeBody(body, headers['content-transfer-encoding']?.[0]);
  if (type.startsWith('text/html')) parts.html ??= decoded;
  else if (type.startsWith('text/')) parts.text ??= decoded;
}

function decodeBody(body, encoding = '7bit') {
  switch (encoding.toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable':
      return Buffer.from(
        body.replace(/=\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))),
        'latin1',
      ).toString('utf8');
    default:
      return body;
  }
}

/** Decodes RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`). */
function decodeWords(value) {
  return value.replace(/=\?([^?]+)\?([bqBQ])\?([^?]*)\?=/g, (_, _charset, enc, text) =>
    enc.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
  );
}

function stripTags(html) {
  // Style and script blocks hold colours (#123456) and numbers that are not codes.
  return html ? html.replace(/<(style|script)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ') : null;
}
