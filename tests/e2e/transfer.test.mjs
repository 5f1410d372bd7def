// The browser transfer code itself (web/shared/upload.js and web/shared/download.js, as the
// recipient page, the Help Center widget and the agent app use them) in headless Chromium
// against the real `sealdrop` server, with faults injected by a proxy between the two
// (lib/fault-proxy.mjs): answers of 503, connections cut in the middle of a part upload or of
// a file download, bodies that end early, a flipped ciphertext byte, data past the end.
//
// The page is loaded from the proxy's origin, so the modules (/static/shared/*.js), the
// bindings (/static/pkg/*) and every API call go through it; lib/transfer-flows.js is the
// in-page side. Files are pseudo-random; "same bytes" means equal SHA-256 of what went in and
// of what download.js wrote (into the origin-private file system through its save-picker
// sink, or handed to the browser's downloads by its Blob sink).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchBrowser } from './lib/browser.mjs';
import { startFaultProxy } from './lib/fault-proxy.mjs';
import { startServer } from './lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const CT_CHUNK = 65536 + 16; // one ciphertext chunk
const PART = 128 * CT_CHUNK; // one upload part (every part but a file's last)
const BIG = 20 * MiB + 13; // three parts

let server;
let token;
let proxy;
let browser;
let page;

before(async () => {
  server = await startServer();
  token = await server.admin(['tenant', 'create', 'Transfer Support']);
  proxy = await startFaultProxy({
    target: server.url,
    local: {
      '/__e2e/blank.html': { type: 'text/html; charset=utf-8', body: '<!doctype html><meta charset="utf-8"><title>transfer tests</title>' },
      '/__e2e/transfer-flows.js': { type: 'text/javascript', body: await readFile(path.join(here, 'lib/transfer-flows.js')) },
    },
  });
  browser = await launchBrowser();
  page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(`${proxy.url}/__e2e/blank.html`);
  await page.evaluate(async () => {
    window.flows = await import('/__e2e/transfer-flows.js');
  });
});

after(async () => {
  await browser?.close();
  await proxy?.close();
  await server?.stop();
});

/**
 * Wraps a test: faults are cleared afterwards whatever happens; on failure the page is
 * screenshotted and the proxy's log of the test's requests is added to the error.
 */
function withFaults(fn) {
  return async (t) => {
    const from = proxy.requests.length;
    try {
      await fn(t, { since: () => proxy.requests.slice(from) });
    } catch (err) {
      const saved = await browser.screenshotAll(`transfer-${t.name}`).catch(() => []);
      if (saved.length > 0) err.message += `\n(screenshots: ${saved.join(', ')})`;
      const log = proxy.requests.slice(from).map((r) =>
        `  ${r.method} ${r.path}${r.headers.range ? ` [${r.headers.range}]` : ''} → ${r.status ?? '-'} ${r.outcome}${r.fault ? ` (fault: ${r.fault})` : ''} ${r.bodyBytes} B`);
      err.message += `\n--- requests through the fault proxy ---\n${log.slice(-60).join('\n')}`;
      throw err;
    } finally {
      proxy.clearFaults();
    }
  };
}

const flow = (name, args) => page.evaluate(({ name, args }) => window.flows[name](args), { name, args });

const partPath = (file, part) => new RegExp(`^/api/v1/packages/[^/]+/files/${file}/parts/${part}$`);
const filePath = (file) => new RegExp(`^/api/v1/packages/[^/]+/files/${file}$`);
const requestsTo = (method, p) => proxy.requests.filter((r) => r.method === method && r.path === p);
const partPuts = (id, file, part) => requestsTo('PUT', `/api/v1/packages/${id}/files/${file}/parts/${part}`);
const fileGets = (id, file, since) => since().filter((r) => r.method === 'GET' && r.path === `/api/v1/packages/${id}/files/${file}`);

/** The audit events of package `id`, oldest first, from the server itself. */
async function auditEvents(id) {
  const res = await fetch(`${server.url}/api/v1/audit?package=${id}&limit=100`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, `audit log: ${await res.clone().text()}`);
  return (await res.json()).events.map((e) => e.event).reverse();
}

/** Uploads through the page and checks it worked; resolves to the upload's result. */
async function uploaded(args) {
  const r = await flow('upload', { token, ...args });
  assert.equal(r.error, undefined, `the upload failed: ${JSON.stringify(r.error)}`);
  return r;
}

/** Downloads every file of `sent` into the page's file system and checks the bytes. */
async function assertSameBytes(sent, sizes) {
  const d = await flow('download', { link: sent.link });
  for (const [i, size] of sizes.entries()) {
    const f = d.results[i];
    assert.equal(f.error, null, `file ${i}: ${JSON.stringify(f.error)}`);
    assert.equal(f.bytes, size, `file ${i}: bytes written`);
    assert.equal(f.sha256, sent.sha256[i], `file ${i} came back with other bytes`);
  }
  return d;
}

let shared = null;
/** One finalized three-part package for the download tests (uploaded once, without faults). */
async function sharedPackage() {
  shared ??= uploaded({ sizes: [BIG], seed: 42 });
  return shared;
}

// ---- uploads -----------------------------------------------------------------------------

test('files of every size go up encrypted and come back byte for byte', { timeout: 90_000 }, withFaults(async (t, { since }) => {
  const sizes = [0, 1000, 65536, BIG];
  const sent = await uploaded({ sizes, message: 'Here you go', sender: 'Test Sender' });
  assert.equal(sent.inWorker, false);
  assert.deepEqual(sent.progress.map((p) => [p.done, p.total, p.wentBack]), sizes.map((s) => [s, s, false]), 'progress ends at every file\'s size, never going back');

  // The link is the server's URL plus the link secret, which no request ever carried.
  const [base, secret] = sent.link.split('#');
  assert.equal(base, `${server.url}/p/${sent.id}`);
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
  for (const r of since()) {
    const seen = `${r.url} ${JSON.stringify(r.headers)}`;
    assert.ok(!seen.includes(secret) && !r.body?.includes(secret), `the link secret reached the server in ${r.method} ${r.path}`);
  }
  // One PUT per part, each part of the big file a full 128 ciphertext chunks but the last.
  for (const file of [0, 1, 2]) assert.equal(partPuts(sent.id, file, 0).length, 1, `file ${file}`);
  const big = [0, 1, 2].map((part) => partPuts(sent.id, 3, part));
  assert.deepEqual(big.map((puts) => puts.length), [1, 1, 1]);
  assert.deepEqual(big.map(([put]) => put.bodyBytes), [PART, PART, BIG + 16 * Math.ceil(BIG / 65536) - 2 * PART]);
  assert.deepEqual(big.map(([put]) => put.status), [201, 201, 201]);

  const d = await assertSameBytes(sent, sizes);
  assert.deepEqual(d.metadata.files.map((f) => [f.name, f.size]), sizes.map((s, i) => [`file-${i}.bin`, s]));
  assert.equal(d.metadata.message, 'Here you go');
  assert.equal(d.metadata.sender, 'Test Sender');
  // Without faults every file is one plain GET from the start.
  for (const file of [0, 1, 2, 3]) {
    assert.deepEqual(fileGets(sent.id, file, since).map((r) => [r.headers.range ?? null, r.status]), [[null, 200]], `file ${file}`);
  }

  // download.js's last-resort sink: everything in memory, then one Blob the browser saves.
  const [saved, viaBlob] = await Promise.all([page.waitForEvent('download'), flow('download', { link: sent.link, index: 1, strategy: 'blob' })]);
  assert.equal(viaBlob.results[0].error, null, JSON.stringify(viaBlob.results[0].error));
  assert.equal(saved.suggestedFilename(), 'file-1.bin');
  const bytes = await readFile(await saved.path());
  assert.equal(createHash('sha256').update(bytes).digest('hex'), sent.sha256[1], 'the Blob sink saved other bytes');
}));

test('a part is retried after a 503 (waiting as Retry-After says) and after its connection is cut', { timeout: 60_000 }, withFaults(async (t, { since }) => {
  proxy.fault({ method: 'PUT', path: partPath(0, 1), respond: { status: 503, headers: { 'Retry-After': '1' }, json: { error: 'internal', message: 'Try again.' } } });
  proxy.fault({ method: 'PUT', path: partPath(0, 2), cutRequestAfter: 1 * MiB });
  const sent = await uploaded({ sizes: [BIG, 777] });

  const [first503, again] = partPuts(sent.id, 0, 1);
  assert.equal(partPuts(sent.id, 0, 1).length, 2, 'the part answered 503 is sent twice');
  assert.equal(first503.status, 503);
  assert.equal(again.status, 201);
  assert.ok(again.at - first503.at >= 900, `the retry waited ${again.at - first503.at} ms; Retry-After said 1 s (the backoff alone is 10 ms)`);

  const cut = partPuts(sent.id, 0, 2);
  assert.deepEqual(cut.map((r) => r.outcome), ['cut', 'answered'], 'the cut part is sent again');
  assert.equal(cut[0].bodyBytes, 1 * MiB);
  assert.equal(cut[1].status, 201);
  assert.equal(partPuts(sent.id, 0, 0).length, 1);
  assert.equal(since().filter((r) => r.path === `/api/v1/packages/${sent.id}/parts`).length, 0, 'the request retries were enough: no resume pass');

  await assertSameBytes(sent, [BIG, 777]);
}));

test('a part corrupted on the way is refused by its checksum and sent again', { timeout: 60_000 }, withFaults(async () => {
  proxy.fault({ method: 'PUT', path: partPath(0, 1), tamperRequest: { at: 4321, xor: 0x80 } });
  const sent = await uploaded({ sizes: [BIG] });
  const puts = partPuts(sent.id, 0, 1);
  assert.deepEqual(puts.map((r) => r.status), [422, 201], 'refused as checksum_mismatch, then stored');
  await assertSameBytes(sent, [BIG]);
}));

test('after a failed pass the upload asks which parts the server holds and sends only the others', { timeout: 60_000 }, withFaults(async (t, { since }) => {
  // No request-level retries: the first failure fails the pass. Part 1 reaches the server but
  // its answer is lost; part 2 is cut half-way, so the server does not hold it.
  proxy.fault({ method: 'PUT', path: partPath(0, 1), dropResponse: true });
  proxy.fault({ method: 'PUT', path: partPath(0, 2), cutRequestAfter: 2 * MiB });
  const sent = await uploaded({ sizes: [BIG], api: { retries: 0 } });

  const listings = since().filter((r) => r.method === 'GET' && r.path === `/api/v1/packages/${sent.id}/parts`);
  assert.equal(listings.length, 1, 'the upload asked the server which parts it holds');
  assert.equal(listings[0].status, 200);
  const part1 = partPuts(sent.id, 0, 1);
  assert.deepEqual(part1.map((r) => [r.status, r.outcome]), [[201, 'cut']], 'the part the server already held is not sent again');
  const part2 = partPuts(sent.id, 0, 2);
  assert.deepEqual(part2.map((r) => r.outcome), ['cut', 'answered'], 'the part the server lacked is sent again');
  assert.ok(part2[1].at > listings[0].at, 'and only after the listing');
  assert.equal(partPuts(sent.id, 0, 0).length, 1);

  await assertSameBytes(sent, [BIG]);
}));

test('a part the server reports missing at finalize is sent again', { timeout: 60_000 }, withFaults(async (t, { since }) => {
  // The proxy answers the first PUT of part 1 with a success but never forwards it: a part
  // lost between the answer and the store.
  proxy.fault({ method: 'PUT', path: partPath(0, 1), respond: { status: 201, json: { file: 0, part: 1, size: PART, sha256: '0'.repeat(64) } } });
  const sent = await uploaded({ sizes: [BIG] });

  const finalizes = since().filter((r) => r.method === 'POST' && r.path === `/api/v1/packages/${sent.id}/finalize`);
  assert.deepEqual(finalizes.map((r) => r.status), [409, 200], 'finalize said a part is missing, then succeeded');
  assert.deepEqual(partPuts(sent.id, 0, 1).map((r) => r.status), [201, 201], 'the missing part went up again');
  assert.ok(partPuts(sent.id, 0, 1)[1].at > finalizes[0].at);
  assert.equal(partPuts(sent.id, 0, 0).length, 1);
  assert.equal(partPuts(sent.id, 0, 2).length, 1);

  await assertSameBytes(sent, [BIG]);
}));

test('an upload whose manifest cannot be stored gives its package back and says why', { timeout: 60_000 }, withFaults(async (t, { since }) => {
  proxy.fault({ method: 'PUT', path: /^\/api\/v1\/packages\/[^/]+\/manifest$/, times: Infinity, respond: { status: 503, json: { error: 'internal', message: 'The store is down.' } } });
  const r = await flow('upload', { token, sizes: [1000] });

  assert.deepEqual([r.error?.name, r.error?.status, r.error?.code, r.error?.message], ['ApiError', 503, 'internal', 'The store is down.'], JSON.stringify(r));
  const creates = since().filter((x) => x.method === 'POST' && x.path === '/api/v1/packages');
  assert.deepEqual(creates.map((x) => x.status), [201], 'exactly one package was created');
  const manifests = since().filter((x) => x.method === 'PUT' && x.path.endsWith('/manifest'));
  assert.equal(manifests.length, 5, 'the manifest was tried once and retried four times');
  const id = manifests[0].path.split('/')[4];
  assert.deepEqual(since().filter((x) => x.method === 'DELETE').map((x) => [x.path, x.status]), [[`/api/v1/packages/${id}`, 204]], 'the package was revoked');
  assert.deepEqual(await auditEvents(id), ['created', 'revoked']);
}));

test('cancel() stops a running upload and revokes its package', { timeout: 60_000 }, withFaults(async () => {
  proxy.fault({ method: 'PUT', path: /\/files\/\d+\/parts\/\d+$/, times: Infinity, stall: true });
  const { id, error } = await flow('upload', { token, sizes: [BIG], keep: true });
  assert.equal(error, undefined, JSON.stringify(error));
  await proxy.waitFor((r) => r.path.startsWith(`/api/v1/packages/${id}/files/`) && r.outcome === 'stalled', { what: 'part upload to stall' });

  const c = await flow('cancelUpload', id);
  assert.equal(c.state, 'cancelled');
  assert.equal(c.done?.name, 'AbortError', `the part uploads end aborted: ${JSON.stringify(c.done)}`);
  assert.match(c.finalize?.message ?? '', /cancelled/, 'finalize after cancel refuses');
  assert.deepEqual(requestsTo('DELETE', `/api/v1/packages/${id}`).map((r) => r.status), [204]);
  await proxy.waitFor((r) => r.path.startsWith(`/api/v1/packages/${id}/files/`) && r.outcome === 'client-closed', { what: 'aborted part upload', timeoutMs: 5_000 });
  assert.ok(!proxy.requests.some((r) => r.path.startsWith(`/api/v1/packages/${id}/files/`) && r.outcome === 'stalled'), 'every stalled part upload was aborted by the page');
  assert.deepEqual(await auditEvents(id), ['created', 'revoked']);
}));

test('upload.js works in a module Worker, as the Help Center widget runs it', { timeout: 60_000 }, withFaults(async () => {
  const sizes = [5, 70_000];
  const sent = await page.evaluate((args) => window.flows.uploadInWorker(args), { token, sizes, seed: 7 });
  assert.equal(sent.error, undefined, JSON.stringify(sent.error));
  assert.equal(sent.inWorker, true);
  await assertSameBytes(sent, sizes);
}));

// ---- downloads ---------------------------------------------------------------------------

test('a download cut mid-body resumes with a Range request and yields the same bytes', { timeout: 60_000 }, withFaults(async (t, { since }) => {
  const sent = await sharedPackage();
  proxy.fault({ method: 'GET', path: filePath(0), cutResponseAfter: 10 * MiB + 5 });
  await assertSameBytes(sent, [BIG]);

  const gets = fileGets(sent.id, 0, since);
  assert.deepEqual(gets.map((r) => r.outcome), ['cut', 'answered'], 'one cut answer, one resumed');
  assert.equal(gets[0].headers.range, undefined);
  const from = Number(/^bytes=(\d+)-$/.exec(gets[1].headers.range ?? '')?.[1]);
  assert.ok(from > 0 && from <= 10 * MiB + 5 && from % CT_CHUNK === 0, `resumed at the first chunk not yet decrypted, not ${gets[1].headers.range}`);
  assert.equal(gets[1].status, 206);
}));

test('a body that ends early is resumed, however often it moves on; one that keeps ending at the same place is refused as tampered and leaves no file', { timeout: 60_000 }, withFaults(async (t, { since }) => {
  const sent = await sharedPackage();
  proxy.fault({ method: 'GET', path: filePath(0), truncateResponseAfter: 5 * MiB + 3 });
  await assertSameBytes(sent, [BIG]);
  const resumed = fileGets(sent.id, 0, since);
  assert.equal(resumed.length, 2);
  assert.match(resumed[1].headers.range ?? '', /^bytes=[1-9]\d*-$/);

  // Every answer ends after 1 MiB: far more drops than the retry budget, but each one moves
  // the download on, so it completes.
  proxy.clearFaults();
  let earlier = fileGets(sent.id, 0, since).length;
  proxy.fault({ method: 'GET', path: filePath(0), times: Infinity, truncateResponseAfter: 1 * MiB });
  await assertSameBytes(sent, [BIG]);
  assert.ok(fileGets(sent.id, 0, since).length - earlier > 20, 'one request per MiB');

  // The stored file looks 3 MiB long: one answer gets somewhere, then five get nowhere.
  proxy.clearFaults();
  earlier = fileGets(sent.id, 0, since).length;
  proxy.fault({ method: 'GET', path: filePath(0), times: Infinity, truncateFileAt: 3 * MiB + 5 });
  const d = await flow('download', { link: sent.link });
  const f = d.results[0];
  assert.deepEqual([f.error?.name, f.error?.kind, f.error?.truncated], ['DownloadError', 'tampered', true], JSON.stringify(f));
  assert.deepEqual(f.output, { exists: false, size: 0 }, 'the partial file was discarded');
  assert.equal(fileGets(sent.id, 0, since).length - earlier, 6, 'one try that moved on, then five at the same place');
}));

test('tampered ciphertext stops the download with DownloadError "tampered" and leaves no file', { timeout: 60_000 }, withFaults(async (t, { since }) => {
  const sent = await sharedPackage();
  // Chunk 200 is 12.5 MiB in: several 4 MiB batches were written before it fails.
  proxy.fault({ method: 'GET', path: filePath(0), tamperResponse: { at: 200 * CT_CHUNK + 100, xor: 0x01 } });
  const d = await flow('download', { link: sent.link });
  const f = d.results[0];
  assert.deepEqual([f.ok, f.error?.name, f.error?.kind, f.error?.index], [false, 'DownloadError', 'tampered', 200], JSON.stringify(f));
  assert.deepEqual(f.output, { exists: false, size: 0 }, 'nothing of the download is left');
  assert.equal(fileGets(sent.id, 0, since).length, 1, 'tampering is not retried');
}));

test('data past the end of the file is refused as tampered and leaves no file', { timeout: 60_000 }, withFaults(async () => {
  const sent = await sharedPackage();
  proxy.fault({ method: 'GET', path: filePath(0), appendResponse: Buffer.alloc(100, 0x5a) });
  const d = await flow('download', { link: sent.link });
  const f = d.results[0];
  assert.deepEqual([f.error?.name, f.error?.kind, f.error?.trailing], ['DownloadError', 'tampered', true], JSON.stringify(f));
  assert.deepEqual(f.output, { exists: false, size: 0 });
}));

test('a wrong link secret is answered like a package that does not exist', { timeout: 30_000 }, withFaults(async () => {
  const sent = await sharedPackage();
  const err = await flow('wrongSecret', { link: sent.link });
  assert.deepEqual([err?.name, err?.status, err?.code], ['ApiError', 404, 'not_found'], JSON.stringify(err));
}));
