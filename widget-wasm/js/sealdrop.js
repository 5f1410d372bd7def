// sealdrop.js: the upload and download flows of the sealdrop HTTP API (docs/API.md) over the
// sealdrop-widget bindings. No dependencies; runs in a Window and in a Worker (it uses only
// fetch, Blob, crypto.subtle and the bindings).
//
//   import init, * as wasm from "/static/pkg/sealdrop_widget.js";
//   import { Api, sendFiles, openLink } from "./sealdrop.js";
//   await init();
//
//   // Sender (Help Center widget, agent app): encrypt and upload, get the secure link.
//   const api = new Api({ headers: { "X-Sealdrop-Widget-Key": key } });
//   const sent = await sendFiles({ wasm, api, files: input.files, message: "...",
//                                  onProgress: (done, total) => {} });
//   sent.link;   // https://HOST/p/{id}#{C}: the only place the link secret C ever goes
//
//   // Recipient (recipient page, agent inbox): open, list, download and decrypt.
//   const pkg = await openLink({ wasm, api: new Api(), link: location.href });
//   pkg.metadata.files;      // [{ name, size, type }]
//   await pkg.downloadFile(0, { write: async (plaintextChunk) => { ... } });
//
// Secrets: the link secret C stays in the page (it is only ever appended to the link); the
// server secret S and the tokens travel only in bodies and headers, never in URLs; nothing
// here logs. Errors are `ApiError` (HTTP, with the API's `code`) or the bindings'
// `SealdropError` (cryptography, with `kind`).

const CHUNK_SIZE = 65536;

/** An error answer of the API: `status`, `code` (`not_found`, `verification_required`, ...). */
export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A thin client of the JSON API. `headers` are sent with every request (the caller's
 * credential: `Authorization: Bearer sda_...`, `X-Sealdrop-Widget-Key`, ...). `429` answers
 * are retried `retries` times (honouring `Retry-After`); network failures and 5xx answers
 * too, with exponential backoff, unless the request says `idempotent: false` (creating a
 * package, starting a download: repeating those could create a second package or use up a
 * second download).
 */
export class Api {
  constructor({ base = "", headers = {}, fetch = globalThis.fetch.bind(globalThis), retries = 3, backoffMs = 200 } = {}) {
    this.base = base.replace(/\/+$/, "");
    this.headers = headers;
    this.fetch = fetch;
    this.retries = retries;
    this.backoffMs = backoffMs;
  }

  /** Sends a request and returns the Response if its status is in `ok`; else throws ApiError. */
  async request(method, path, { headers = {}, body = undefined, json = undefined, ok = [200], idempotent = true, signal } = {}) {
    const init = { method, headers: { ...this.headers, ...headers }, body, signal };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      init.headers["Content-Type"] = "application/json";
    }
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        response = await this.fetch(this.base + path, init);
      } catch (e) {
        if (signal?.aborted || !idempotent || attempt >= this.retries) throw e;
        await sleep(this.backoffMs * 2 ** attempt);
        continue;
      }
      if (ok.includes(response.status)) return response;
      const retriable = response.status === 429 || (idempotent && response.status >= 500);
      if (retriable && attempt < this.retries) {
        const after = Number(response.headers.get("Retry-After"));
        await sleep(after > 0 ? after * 1000 : this.backoffMs * 2 ** attempt);
        continue;
      }
      let answer = null;
      try {
        answer = await response.json();
      } catch {
        // Not JSON (a proxy's error page): the status says enough.
      }
      throw new ApiError(response.status, answer?.error ?? "http_error", answer?.message, answer);
    }
  }

  /** `request`, then the JSON body. */
  async json(method, path, options = {}) {
    return (await this.request(method, path, options)).json();
  }
}

/** Runs `task(item)` for every item with at most `limit` running at once. */
async function pool(items, limit, task) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(chunks, length) {
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  if (at !== length) throw new Error(`internal: assembled ${at} bytes, expected ${length}`);
  return out;
}

function base64Decode(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Encrypts `files` (File or Blob objects with `name` and `type`) in the page and uploads
 * them as one package; returns `{ id, link, expiresAt }`.
 *
 * `create` is the body of `POST /api/v1/packages` (recipients, require_auth, expires_in_secs,
 * max_downloads, notify_sender). Parts of `part_chunks` chunks go up `concurrency` at a
 * time, each with its SHA-256; a part that fails is retried, and parts the server reports
 * missing at finalize are sent again once. `onProgress(doneBytes, totalBytes)` counts
 * plaintext bytes.
 */
export async function sendFiles({
  wasm,
  api,
  files,
  message = null,
  sender = null,
  create = {},
  concurrency = 3,
  onProgress = () => {},
  signal,
  linkBase,
}) {
  files = Array.from(files);
  const created = await api.json("POST", "/api/v1/packages", { json: create, ok: [200, 201], idempotent: false, signal });
  const upload = { "X-Sealdrop-Upload-Token": created.upload_token };
  const sealer = new wasm.PackageSealer(created.id, created.server_secret, {
    files: files.map((f, i) => ({ name: f.name ?? `file-${i + 1}`, size: f.size, type: f.type || "application/octet-stream" })),
    message,
    sender,
  });
  try {
    await api.request("PUT", `/api/v1/packages/${created.id}/manifest`, {
      headers: { ...upload, "Content-Type": "application/octet-stream", "X-Sealdrop-Link-Verifier": sealer.linkVerifier },
      body: sealer.manifest,
      signal,
    });

    const total = files.reduce((sum, f) => sum + f.size, 0);
    let done = 0;
    onProgress(done, total);
    const tasks = [];
    files.forEach((file, index) => {
      const enc = sealer.file(index);
      for (let part = 0; part < enc.partCount; part++) tasks.push({ file, index, enc, part });
    });
    const sendPart = async ({ file, index, enc, part }, count = true) => {
      const { body, plaintextBytes } = await encryptPart(wasm, file, enc, part);
      const digest = hex(await crypto.subtle.digest("SHA-256", body));
      await api.request("PUT", `/api/v1/packages/${created.id}/files/${index}/parts/${part}`, {
        headers: { ...upload, "Content-Type": "application/octet-stream", "X-Sealdrop-Sha256": digest },
        body,
        ok: [200, 201],
        signal,
      });
      if (count) {
        done += plaintextBytes;
        onProgress(done, total);
      }
    };
    await pool(tasks, concurrency, sendPart);

    let finalized;
    try {
      finalized = await api.json("POST", `/api/v1/packages/${created.id}/finalize`, { headers: upload, signal });
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== "incomplete_upload" || !e.body?.missing) throw e;
      // The server lost or never got some parts: send exactly those again, then retry once.
      const missing = e.body.missing.flatMap(({ file, parts }) =>
        parts.map((part) => tasks.find((t) => t.index === file && t.part === part)).filter(Boolean));
      await pool(missing, concurrency, (t) => sendPart(t, false));
      finalized = await api.json("POST", `/api/v1/packages/${created.id}/finalize`, { headers: upload, signal });
    }
    const link = created.url ? `${created.url}#${sealer.linkSecret}` : sealer.link(linkBase ?? globalThis.location.origin);
    return { id: created.id, link, expiresAt: finalized.expires_at ?? created.expires_at };
  } catch (e) {
    // Give the half-uploaded package back rather than leave it to the purge task; best effort.
    await api.request("DELETE", `/api/v1/packages/${created.id}`, { headers: upload, ok: [204], idempotent: false }).catch(() => {});
    throw e;
  } finally {
    sealer.free();
  }
}

/** Reads, encrypts and assembles upload part `part` of `file` (all its chunks in flight at once). */
async function encryptPart(wasm, file, enc, part) {
  const [first, end] = wasm.partChunks(enc.plaintextSize, part);
  const [ptStart] = enc.plaintextRange(first);
  const [, ptEnd] = enc.plaintextRange(end - 1);
  const plaintext = new Uint8Array(await file.slice(ptStart, ptEnd).arrayBuffer());
  const sealed = [];
  for (let i = first; i < end; i++) {
    const [a, b] = enc.plaintextRange(i);
    sealed.push(enc.encryptChunk(i, plaintext.subarray(a - ptStart, b - ptStart)));
  }
  const [ctStart, ctEnd] = wasm.partRange(enc.ciphertextSize, part);
  return { body: concat(await Promise.all(sealed), ctEnd - ctStart), plaintextBytes: ptEnd - ptStart };
}

/**
 * Opens a secure link: derives the link proof from the fragment, asks the server for the
 * package (`GET`) and for what decryption needs (`POST .../open`), and opens the manifest.
 * `recipientSession` is the `sdr_...` token from email verification, when the package requires
 * it (without it the server answers `ApiError` with code `verification_required`).
 */
export async function openLink({ wasm, api, link, recipientSession = null, signal }) {
  const parsed = wasm.parseLink(link);
  const headers = { "X-Sealdrop-Link-Proof": parsed.linkProof };
  if (recipientSession) headers["X-Sealdrop-Recipient-Session"] = recipientSession;
  const info = await api.json("GET", `/api/v1/packages/${parsed.packageId}`, { headers, signal });
  const opened = await api.json("POST", `/api/v1/packages/${parsed.packageId}/open`, { headers, signal });
  const pkg = wasm.openPackage(base64Decode(opened.manifest), parsed.linkSecret, opened.server_secret);
  return new ReceivedPackage({ wasm, api, id: parsed.packageId, headers, info, pkg });
}

/** A package opened from its link: verified metadata, and downloads that decrypt as they go. */
export class ReceivedPackage {
  constructor({ wasm, api, id, headers, info, pkg }) {
    this.wasm = wasm;
    this.api = api;
    this.id = id;
    this.info = info;
    this.pkg = pkg;
    this.headers = headers;
    this.metadata = pkg.metadata;
    this.token = null;
  }

  /**
   * Starts the download (`POST .../download`: counts one download against the package's
   * limit) and keeps the download token for every file of this package.
   */
  async startDownload({ signal } = {}) {
    if (!this.token) {
      const answer = await this.api.json("POST", `/api/v1/packages/${this.id}/download`, {
        headers: this.headers,
        ok: [200, 201],
        idempotent: false,
        signal,
      });
      this.token = answer.download_token;
    }
    return this.token;
  }

  /**
   * Downloads file `index` part by part with HTTP Range requests, decrypts every chunk and
   * calls `write(plaintextChunk)` in order (awaiting it: back-pressure for a stream). Nothing
   * unauthenticated is ever written: each chunk is checked before it is handed over.
   * `onProgress(doneBytes, totalBytes)` counts plaintext bytes.
   */
  async downloadFile(index, { write, onProgress = () => {}, signal } = {}) {
    const token = await this.startDownload({ signal });
    const dec = this.pkg.file(index);
    try {
      const size = dec.ciphertextSize;
      const parts = this.wasm.partCount(size);
      let done = 0;
      onProgress(done, dec.plaintextSize);
      for (let part = 0; part < parts; part++) {
        const [start, end] = this.wasm.partRange(size, part);
        const response = await this.api.request("GET", `/api/v1/packages/${this.id}/files/${index}`, {
          headers: { "X-Sealdrop-Download-Token": token, Range: `bytes=${start}-${end - 1}` },
          ok: [206, 200],
          signal,
        });
        let body = new Uint8Array(await response.arrayBuffer());
        // A server (or proxy) that ignores Range sends the whole file: take the part from it.
        if (response.status === 200 && body.length === size) body = body.subarray(start, end);
        if (body.length !== end - start) {
          throw new ApiError(response.status, "short_read", `part ${part} of file ${index}: got ${body.length} bytes, expected ${end - start}`);
        }
        const [first, last] = this.wasm.partChunks(dec.plaintextSize, part);
        const opened = [];
        for (let i = first; i < last; i++) {
          const [a, b] = dec.ciphertextRange(i);
          const pending = dec.decryptChunk(i, body.subarray(a - start, b - start));
          // Awaited in order below; this only keeps a failure after the first from being
          // reported as unhandled.
          pending.catch(() => {});
          opened.push(pending);
        }
        for (const chunk of opened) {
          const plaintext = await chunk;
          await write(plaintext);
          done += plaintext.length;
          onProgress(done, dec.plaintextSize);
        }
      }
    } finally {
      dec.free();
    }
  }

  /** Downloads and decrypts file `index` into a Blob of its media type (small files). */
  async fileBlob(index, options = {}) {
    const chunks = [];
    await this.downloadFile(index, { ...options, write: (c) => { chunks.push(c); } });
    return new Blob(chunks, { type: this.metadata.files[index]?.type || "application/octet-stream" });
  }

  /** Frees the wasm-side package (keys are zeroized). */
  free() {
    this.pkg.free();
  }
}

export { CHUNK_SIZE };
