// Download a sealdrop file, decrypt it in the browser and write the plaintext straight to disk.
//
// Reusable by every page (the recipient page, later the agent app). The caller brings the
// ciphertext URL and headers (a download token) and a FileDecryptor from the wasm bindings
// (`OpenedPackage.file(i)`); this module streams, decrypts chunk by chunk, and writes through
// the best sink the browser offers:
//
//   1. "fs": the File System Access API (`showSaveFilePicker` / `showDirectoryPicker`). Chrome
//      writes to a temporary file and moves it into place only on close(); abort() discards it,
//      so a tampered download never leaves a file behind.
//   2. "sw": a service worker (download-sw.js, scope /p/) answers a synthetic download URL with a
//      ReadableStream the page feeds chunk by chunk (with back-pressure). On tamper the stream
//      errors, and the browser marks the download failed.
//   3. "blob": everything in memory, then one Blob. Last resort: memory grows with the file.
//
// Memory stays flat in 1 and 2: at most DEPTH chunks in flight, one batch being gathered and
// one being written.
// Network errors resume with an HTTP Range from the first chunk not yet decrypted.

/** Plaintext chunk size of format v1; ciphertext chunks are 16 bytes longer. */
export const CHUNK = 65536;
const TAG = 16;
/** Decryptions in flight (WebCrypto runs them off the main thread). */
const DEPTH = 16;
/** Plaintext bytes gathered before one write to the sink. */
const BATCH = 4 << 20;
/** Above this, the Blob fallback warns that the file is held in memory. */
export const BLOB_WARN_BYTES = 256 << 20;
/** Failed requests in a row, without a chunk of progress between them, before a file fails
 *  (each retry resumes where the last attempt stopped; progress starts the count again). */
const RETRIES = 4;

/** An error this module throws; `kind` is what pages branch on. */
export class DownloadError extends Error {
  constructor(kind, message, extra = {}) {
    super(message);
    this.name = "DownloadError";
    this.kind = kind; // "tampered" | "network" | "cancelled" | "http" | "unsupported"
    Object.assign(this, extra);
  }
}

/** Which sink this browser supports best: "fs", "sw" or "blob". */
export function bestStrategy() {
  if (typeof globalThis.showSaveFilePicker === "function" && globalThis.isSecureContext && window.top === window) {
    return "fs";
  }
  if ("serviceWorker" in navigator && globalThis.isSecureContext) return "sw";
  return "blob";
}

// ---- sinks -------------------------------------------------------------------------------

/** Asks where to save one file (must run inside a click handler). Returns a sink factory. */
export async function pickFileTarget(name, type) {
  const handle = await globalThis.showSaveFilePicker({ suggestedName: safeName(name), types: pickerTypes(name, type) });
  return () => fsSink(handle);
}

/** Asks for a folder to save several files into (must run inside a click handler). */
export async function pickFolderTarget() {
  const dir = await globalThis.showDirectoryPicker({ mode: "readwrite" });
  return async (name) => fsSink(await dir.getFileHandle(await freeName(dir, safeName(name)), { create: true }));
}

async function fsSink(handle) {
  const writable = await handle.createWritable({ keepExistingData: false });
  return {
    kind: "fs",
    write: (data) => writable.write(data),
    close: () => writable.close(),
    // Discards the temporary file; the target keeps its previous contents (none, if new).
    abort: async () => {
      try { await writable.abort(); } catch { /* already closed */ }
      try { if (handle.remove) await handle.remove(); } catch { /* not supported / in use */ }
    },
  };
}

let swRegistration = null;

/** Where the worker may act: on the server's pages `/p/` (it serves the worker with
 *  `Service-Worker-Allowed: /p/`); elsewhere (the sidebar from the Zendesk app package) only
 *  the worker's own folder, the most a service worker may control by default. */
function workerScope(url) {
  const at = new URL(url, location.href);
  return at.pathname.startsWith("/static/shared/") ? "/p/" : new URL("./", at).pathname;
}

/** Registers the download service worker (once) and waits until it is active. */
export async function ensureServiceWorker(url = new URL("./download-sw.js", import.meta.url).href, scope = workerScope(url)) {
  if (!swRegistration) {
    swRegistration = (async () => {
      const reg = await navigator.serviceWorker.register(url, { scope, type: "classic" });
      const worker = reg.active || reg.waiting || reg.installing;
      if (worker && worker.state !== "activated") {
        await new Promise((resolve) => {
          worker.addEventListener("statechange", () => { if (worker.state === "activated") resolve(); });
        });
      }
      return reg;
    })();
  }
  return swRegistration;
}

async function swSink(name, type, size) {
  const reg = await ensureServiceWorker();
  const id = crypto.getRandomValues(new Uint32Array(4)).join("-");
  const channel = new MessageChannel();
  const port = channel.port1;
  let credits = 0;
  let waiting = null;
  let cancelled = false;
  let ready;
  const readyPromise = new Promise((resolve) => { ready = resolve; });
  port.onmessage = (event) => {
    const msg = event.data;
    if (msg.type === "ready") ready();
    else if (msg.type === "pull") {
      credits += 1;
      if (waiting) { const w = waiting; waiting = null; w(); }
    } else if (msg.type === "cancel") {
      cancelled = true;
      if (waiting) { const w = waiting; waiting = null; w(); }
    }
  };
  reg.active.postMessage({ type: "sealdrop-download", id, name: safeName(name), mediaType: type, size }, [channel.port2]);
  await readyPromise;
  const frame = document.createElement("iframe");
  frame.hidden = true;
  frame.src = `${new URL(reg.scope).pathname}_download/${id}/${encodeURIComponent(safeName(name))}`;
  document.body.appendChild(frame);
  const cleanup = () => setTimeout(() => { frame.remove(); port.close(); }, 1000);
  return {
    kind: "sw",
    async write(data) {
      while (credits === 0 && !cancelled) await new Promise((resolve) => { waiting = resolve; });
      if (cancelled) throw new DownloadError("cancelled", "The download was cancelled in the browser.");
      credits -= 1;
      // Copied, not transferred: a transferred buffer was not counted by the worker's garbage
      // collector, and renderer memory grew by about 9 % of the file (866 MiB after 3.5 GiB,
      // against 668 MiB copied; tests/e2e/bench/download.mjs). The copy costs far less than
      // the disk.
      port.postMessage({ type: "chunk", data });
    },
    async close() { port.postMessage({ type: "end" }); cleanup(); },
    async abort(reason) { port.postMessage({ type: "abort", reason: String(reason || "aborted") }); cleanup(); },
  };
}

function blobSink(name, type) {
  const parts = [];
  return {
    kind: "blob",
    async write(data) { parts.push(data); },
    async close() {
      const url = URL.createObjectURL(new Blob(parts, { type: type || "application/octet-stream" }));
      parts.length = 0;
      const a = document.createElement("a");
      a.href = url;
      a.download = safeName(name);
      a.hidden = true;
      document.body.appendChild(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(url); a.remove(); }, 60_000);
    },
    async abort() { parts.length = 0; },
  };
}

/** A sink of `strategy` for one file; `target` is what pickFileTarget/pickFolderTarget gave. */
export async function openSink(strategy, { name, type, size, target }) {
  if (strategy === "fs") return target(name);
  if (strategy === "sw") return swSink(name, type, size);
  return blobSink(name, type);
}

// ---- download + decrypt ------------------------------------------------------------------

/**
 * Streams `url` (ciphertext of one file), decrypts with `decryptor` and writes to `sink`.
 * `onProgress({ bytes, total, bytesPerSecond, secondsLeft })` is called as plaintext is
 * written. On tamper or failure the sink is aborted and a DownloadError is thrown.
 */
export async function downloadToSink({ url, headers = {}, decryptor, sink, onProgress = () => {}, signal }) {
  const total = decryptor.plaintextSize;
  const chunkCount = decryptor.chunkCount;
  const ciphertextSize = decryptor.ciphertextSize;
  const started = performance.now();
  let written = 0;
  let next = 0; // next chunk index to decrypt
  let batch = [];
  let batchBytes = 0;
  const inflight = [];
  let writing = Promise.resolve();
  let lastReport = 0;

  const report = (force) => {
    const now = performance.now();
    if (!force && now - lastReport < 100) return;
    lastReport = now;
    const secs = Math.max((now - started) / 1000, 1e-3);
    const rate = written / secs;
    onProgress({ bytes: written, total, bytesPerSecond: rate, secondsLeft: rate > 0 ? (total - written) / rate : Infinity });
  };
  const flush = async () => {
    if (batchBytes === 0) return;
    let out;
    if (batch.length === 1) out = batch[0];
    else {
      out = new Uint8Array(batchBytes);
      let off = 0;
      for (const part of batch) { out.set(part, off); off += part.length; }
    }
    batch = [];
    batchBytes = 0;
    // One write in flight while the next batch is fetched and decrypted: awaiting each
    // write would stall the network stream for the time the disk takes.
    await writing;
    writing = sink.write(out);
    writing.catch(() => {}); // observed by the next await; keeps it from being "unhandled"
  };
  const settle = async () => {
    const { index, promise } = inflight.shift();
    let plain;
    try {
      plain = await promise;
    } catch (err) {
      throw tamperError(err, index);
    }
    batch.push(plain);
    batchBytes += plain.length;
    written += plain.length;
    if (batchBytes >= BATCH) await flush();
    report(false);
  };

  try {
    let attempt = 0;
    let progressMark = next; // where the current run of failed attempts started
    while (next < chunkCount) {
      if (next > progressMark) {
        // The last request moved the download on: a long download may survive any number of
        // separate drops, only repeated failures at one place end it.
        attempt = 0;
        progressMark = next;
      }
      const offset = next * (CHUNK + TAG);
      let response;
      try {
        const h = { ...headers };
        if (offset > 0) h.Range = `bytes=${offset}-`;
        response = await fetch(url, { headers: h, signal, cache: "no-store", referrerPolicy: "no-referrer" });
      } catch (err) {
        if (signal && signal.aborted) throw new DownloadError("cancelled", "The download was cancelled.");
        if (++attempt > RETRIES) throw new DownloadError("network", "The connection to the server failed repeatedly.");
        await sleep(500 * attempt);
        continue;
      }
      if (!(response.ok || response.status === 206)) throw await httpError(response);
      const reader = response.body.getReader();
      let buf = new Uint8Array(chunkLen(next, chunkCount, ciphertextSize));
      let fill = 0;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          let pos = 0;
          while (pos < value.length && next < chunkCount) {
            const take = Math.min(buf.length - fill, value.length - pos);
            buf.set(value.subarray(pos, pos + take), fill);
            fill += take;
            pos += take;
            if (fill === buf.length) {
              inflight.push({ index: next, promise: decryptor.decryptChunk(next, buf) });
              next += 1;
              if (inflight.length >= DEPTH) await settle();
              if (next < chunkCount) buf = new Uint8Array(chunkLen(next, chunkCount, ciphertextSize));
              fill = 0;
            }
          }
          if (pos < value.length) {
            throw new DownloadError("tampered", "The server sent more data than the file holds.", { trailing: true });
          }
        }
      } catch (err) {
        if (err instanceof DownloadError) throw err;
        if (signal && signal.aborted) throw new DownloadError("cancelled", "The download was cancelled.");
        // A dropped connection: resume from the first chunk not handed to the decryptor.
        if (++attempt > RETRIES) throw new DownloadError("network", "The connection to the server failed repeatedly.");
        await sleep(500 * attempt);
        continue;
      }
      if (next < chunkCount) {
        // The body ended early: the file on the server is shorter than the manifest says,
        // or the connection was cut. Retry with a Range; short answers that keep ending at
        // the same place mean the stored file is short: tampered.
        if (++attempt > RETRIES) {
          throw new DownloadError("tampered", "The file on the server is shorter than the sender's manifest says.", { truncated: true });
        }
        continue;
      }
    }
    while (inflight.length) await settle();
    await flush();
    await writing;
    await sink.close();
    report(true);
    return { bytes: written, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    // Let in-flight decryptions finish quietly, then discard whatever was written.
    for (const { promise } of inflight) promise.catch(() => {});
    inflight.length = 0;
    batch = [];
    await writing.catch(() => {});
    try { await sink.abort(err && err.kind); } catch { /* best effort */ }
    if (err instanceof DownloadError) throw err;
    if (err && err.name === "AbortError") throw new DownloadError("cancelled", "The download was cancelled.");
    throw new DownloadError("network", `The download failed: ${err && err.message ? err.message : err}`);
  }
}

function chunkLen(index, count, ciphertextSize) {
  if (index < count - 1) return CHUNK + TAG;
  return ciphertextSize - (count - 1) * (CHUNK + TAG);
}

function tamperError(err, index) {
  const kind = err && err.kind;
  if (kind === "chunk_tampered" || kind === "truncated_file" || kind === "trailing_data" || kind === "wrong_chunk_length") {
    return new DownloadError("tampered", `The encrypted data was modified (chunk ${index} does not authenticate).`, { index });
  }
  return new DownloadError("tampered", `Chunk ${index} could not be decrypted: ${err && err.message ? err.message : err}`, { index });
}

async function httpError(response) {
  let code = "http";
  let message = `The server answered ${response.status}.`;
  try {
    const body = await response.json();
    code = body.error || code;
    message = body.message || message;
  } catch { /* not JSON */ }
  return new DownloadError("http", message, { status: response.status, code });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A file name safe to suggest: no path separators or control characters, not empty. */
export function safeName(name) {
  const cleaned = String(name || "")
    .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, "_")
    .replace(/^[.\s]+/, "")
    .trim()
    .slice(0, 200);
  return cleaned || "download.bin";
}

function pickerTypes(name, type) {
  const ext = /\.[A-Za-z0-9]{1,10}$/.exec(name);
  if (!ext || !type || !/^[a-z]+\/[a-z0-9.+-]+$/i.test(type)) return undefined;
  return [{ description: "File", accept: { [type]: [ext[0]] } }];
}

async function freeName(dir, name) {
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  for (let n = 0; n < 1000; n++) {
    const candidate = n === 0 ? name : `${stem} (${n})${ext}`;
    try {
      await dir.getFileHandle(candidate);
    } catch {
      return candidate;
    }
  }
  return `${stem}-${Date.now()}${ext}`;
}
