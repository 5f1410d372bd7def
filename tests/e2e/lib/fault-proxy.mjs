// A small HTTP proxy between a browser page and the real sealdrop server that injects faults
// into chosen requests: an error answer instead of the server's, a connection cut after K
// bytes of a request or a response body, a response body that ends early, a byte flipped in
// flight, data appended past the end, or a request that never gets an answer. Everything
// else goes through untouched. Every request is logged (method, path, Range, body length and
// SHA-256, status, which fault hit it) so tests can count retries and check what was sent.
//
//   import { startFaultProxy } from './lib/fault-proxy.mjs';
//   const proxy = await startFaultProxy({ target: server.url, local: { '/__e2e/blank.html': { type: 'text/html', body: '<!doctype html>' } } });
//   t.after(() => proxy.close());
//   proxy.fault({ method: 'PUT', path: /\/files\/0\/parts\/1$/, respond: { status: 503, headers: { 'Retry-After': '1' } } });
//   await page.goto(`${proxy.url}/__e2e/blank.html`);   // the page's origin is the proxy's
//
// Every answer carries `Connection: close`, so the browser never reuses a connection: a cut
// connection then reaches the page's code as a network error, rather than being resent by
// the browser's own retry of requests that failed on a reused idle connection.
//
// Faults (one per rule; `method` and `path` (exact string or RegExp on the path without the
// query) select requests; the rule applies to matches number `nth` (1-based, default 1) up to
// `nth + times - 1` (`times` default 1, `Infinity` for all)):
// - `respond: { status, headers, json | body }`: answer this instead of forwarding (the
//   request body is read first, so the browser sees the answer, not a reset);
// - `cutRequestAfter: K`: forward the first K bytes of the request body, then cut both
//   connections (the server gets an incomplete body and stores nothing);
// - `tamperRequest: { at, xor }`: flip bits of request body byte `at` on the way to the server
//   (corruption in transit: the server's SHA-256 of the part no longer matches);
// - `dropResponse: true`: forward the request, let the server answer, then cut the browser's
//   connection before any of the answer reaches it (the server did the work; the page
//   does not know);
// - `cutResponseAfter: K`: forward, then cut the connection after K bytes of the answer's body;
// - `truncateResponseAfter: K`: forward, send K bytes of the body and end it cleanly (no
//   Content-Length, so the browser sees a well-formed but short body);
// - `truncateFileAt: N`: like truncateResponseAfter, at byte N of the whole file: an answer
//   to `Range: bytes=S-` gets N - S bytes (none if S >= N), as if the stored file were short;
// - `tamperResponse: { at, xor }`: flip bits of body byte `at` (offset in this answer's body);
// - `appendResponse: Buffer`: send the whole body, then these bytes after it;
// - `stall: true`: read the request and never answer (until the browser gives up or close()).

import { createHash } from 'node:crypto';
import http from 'node:http';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];
/** Bodies up to this size are kept in the log (JSON, manifests); larger ones only hashed. */
const KEEP_BODY = 1 << 20;

function matches(rule, method, path) {
  if (rule.method && rule.method !== method) return false;
  if (rule.path instanceof RegExp) return rule.path.test(path);
  if (typeof rule.path === 'string') return rule.path === path;
  return true;
}

/**
 * Starts the proxy on 127.0.0.1:0 in front of `target` (e.g. `http://127.0.0.1:8080`).
 * `local` maps exact paths to `{ type, body }` the proxy answers itself (a test page).
 * Returns `{ url, port, requests, fault(rule), clearFaults(), waitFor(pred), close() }`.
 */
export async function startFaultProxy({ target, local = {} }) {
  const upstream = new URL(target);
  const rules = [];
  const requests = [];
  const sockets = new Set();

  const pickFault = (method, path) => {
    for (const rule of rules) {
      if (!matches(rule, method, path)) continue;
      rule.seen += 1;
      if (rule.seen >= rule.nth && rule.seen < rule.nth + rule.times) return rule;
    }
    return null;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://proxy.invalid');
    const entry = {
      n: requests.length + 1,
      at: Date.now(),
      method: req.method,
      path: url.pathname,
      url: req.url,
      headers: { ...req.headers },
      bodyBytes: 0,
      bodySha256: null,
      body: null,
      status: null,
      fault: null,
      outcome: 'pending', // 'answered' | 'cut' | 'stalled' | 'client-closed' | 'upstream-error'
    };
    res.shouldKeepAlive = false;

    const served = local[url.pathname];
    if (served) {
      entry.status = 200;
      entry.outcome = 'answered';
      res.writeHead(200, { 'Content-Type': served.type, 'Cache-Control': 'no-store', Connection: 'close' });
      res.end(served.body);
      return; // not logged: only API and static traffic of the product is of interest
    }
    requests.push(entry);

    const rule = pickFault(req.method, url.pathname);
    if (rule) entry.fault = rule.name;

    // Request body: hashed (and kept if small) as it passes.
    const hash = createHash('sha256');
    const kept = [];
    const record = (chunk) => {
      entry.bodyBytes += chunk.length;
      hash.update(chunk);
      if (entry.bodyBytes <= KEEP_BODY) kept.push(chunk);
    };
    const finishBody = () => {
      entry.bodySha256 = hash.digest('hex');
      if (entry.bodyBytes <= KEEP_BODY) entry.body = Buffer.concat(kept);
    };
    const cut = (why) => {
      entry.outcome = why;
      req.socket.destroy();
    };
    // The browser gave up (an aborted fetch) before its answer was complete.
    let upstreamRequest = null;
    res.on('close', () => {
      if (res.writableFinished) return;
      if (entry.outcome === 'pending' || entry.outcome === 'stalled') entry.outcome = 'client-closed';
      upstreamRequest?.destroy();
    });

    if (rule?.respond || rule?.stall) {
      req.on('data', record);
      req.on('end', () => {
        finishBody();
        if (rule.stall) {
          entry.outcome = 'stalled';
          return;
        }
        const { status, headers = {}, json, body } = rule.respond;
        const payload = json !== undefined ? JSON.stringify(json) : body ?? '';
        entry.status = status;
        entry.outcome = 'answered';
        res.writeHead(status, {
          ...(json !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...headers,
          Connection: 'close',
        });
        res.end(payload);
      });
      return;
    }

    const headers = { ...req.headers, host: upstream.host };
    for (const h of HOP_BY_HOP) delete headers[h];
    const up = http.request({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
    });
    upstreamRequest = up;
    up.on('error', (err) => {
      if (entry.outcome !== 'pending') return; // we cut it ourselves
      entry.outcome = 'upstream-error';
      entry.error = err.message;
      if (!res.headersSent) {
        res.writeHead(502, { 'Content-Type': 'text/plain', Connection: 'close' });
        res.end(`fault proxy: the server did not answer: ${err.message}`);
      } else {
        req.socket.destroy();
      }
    });

    // Request body, forwarded (or cut after K bytes).
    let sent = 0;
    req.on('data', (chunk) => {
      if (entry.outcome !== 'pending') return;
      if (rule?.cutRequestAfter !== undefined && sent + chunk.length > rule.cutRequestAfter) {
        const head = chunk.subarray(0, rule.cutRequestAfter - sent);
        record(head);
        finishBody();
        up.write(head);
        cut('cut');
        up.destroy();
        return;
      }
      const flip = rule?.tamperRequest;
      if (flip && flip.at >= sent && flip.at < sent + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[flip.at - sent] ^= flip.xor ?? 0x01;
      }
      sent += chunk.length;
      record(chunk);
      up.write(chunk);
    });
    req.on('end', () => {
      if (entry.outcome !== 'pending') return;
      finishBody();
      up.end();
    });

    up.on('response', (answer) => {
      entry.status = answer.statusCode;
      if (entry.outcome !== 'pending') {
        answer.resume();
        return;
      }
      if (rule?.dropResponse) {
        answer.resume();
        answer.on('end', () => cut('cut'));
        return;
      }
      const out = { ...answer.headers };
      for (const h of HOP_BY_HOP) delete out[h];
      const reshaped = rule?.truncateResponseAfter !== undefined || rule?.truncateFileAt !== undefined || rule?.appendResponse !== undefined;
      if (reshaped) delete out['content-length'];
      out.connection = 'close';
      res.writeHead(answer.statusCode, out);

      let at = 0; // body bytes of this answer seen so far
      let limit = rule?.cutResponseAfter ?? rule?.truncateResponseAfter;
      if (rule?.truncateFileAt !== undefined) {
        const start = Number(/bytes (\d+)-/.exec(answer.headers['content-range'] ?? '')?.[1] ?? 0);
        limit = Math.max(0, rule.truncateFileAt - start);
        if (limit === 0) {
          entry.outcome = 'answered';
          entry.responseBytes = 0;
          answer.destroy();
          res.end();
          return;
        }
      }
      answer.on('data', (chunk) => {
        if (entry.outcome !== 'pending') return;
        let data = chunk;
        if (limit !== undefined && at + data.length > limit) {
          const head = data.subarray(0, Math.max(0, limit - at));
          if (head.length > 0) res.write(head);
          at = limit;
          entry.responseBytes = at;
          if (rule.cutResponseAfter !== undefined) {
            // Close the connection once the bytes so far have left: the browser then sees
            // fewer bytes than Content-Length announced, a network error mid-body.
            entry.outcome = 'cut';
            setImmediate(() => {
              req.socket.end();
              setTimeout(() => req.socket.destroy(), 2_000).unref();
            });
          } else {
            entry.outcome = 'answered';
            res.end();
          }
          answer.destroy();
          return;
        }
        const flip = rule?.tamperResponse;
        if (flip && flip.at >= at && flip.at < at + data.length) {
          data = Buffer.from(data);
          data[flip.at - at] ^= flip.xor ?? 0x01;
        }
        at += data.length;
        res.write(data);
      });
      answer.on('end', () => {
        if (entry.outcome !== 'pending') return;
        if (rule?.appendResponse !== undefined) res.write(rule.appendResponse);
        entry.outcome = 'answered';
        entry.responseBytes = at;
        res.end();
      });
      answer.on('error', () => {
        if (entry.outcome === 'pending') cut('upstream-error');
      });
    });
  });

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    /** Adds a fault rule (see the top of this file); returns it (`rule.seen` counts matches). */
    fault(rule) {
      const actions = ['respond', 'cutRequestAfter', 'tamperRequest', 'dropResponse', 'cutResponseAfter', 'truncateResponseAfter', 'truncateFileAt', 'tamperResponse', 'appendResponse', 'stall'];
      const given = actions.filter((a) => rule[a] !== undefined);
      if (given.length !== 1) throw new Error(`a fault rule needs exactly one of ${actions.join(', ')}; got ${given.join(', ') || 'none'}`);
      const full = { nth: 1, times: 1, ...rule, seen: 0, name: rule.name ?? given[0] };
      rules.push(full);
      return full;
    },
    /** Removes every fault rule: from now on everything goes through. */
    clearFaults() {
      rules.length = 0;
    },
    /** Resolves to the first logged request `pred` accepts, polling until `timeoutMs`. */
    async waitFor(pred, { timeoutMs = 20_000, what = 'a matching request' } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = requests.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`fault proxy: no ${what} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
