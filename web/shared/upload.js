// Encrypt files in the browser and upload them as one sealdrop package (docs/API.md), with
// parts in parallel, retries, and resume from what the server already holds.
//
// Reusable by every sender: the Help Center widget (in its Web Worker) and the agent app's
// "send". It brings no cryptography of its own (it imports only the API client): the caller passes the
// wasm bindings (`sealdrop_widget.js`, initialised) and an `Api` with its credential.
//
//   import init, * as wasm from "/static/pkg/sealdrop_widget.js";
//   import { Api, startUpload } from "/static/shared/upload.js";
//   await init();
//   const api = new Api({ base: "https://sealdrop.example", headers: { Authorization: "Bearer sda_…" } });
//   const upload = await startUpload({ wasm, api, files, create: { require_auth: true },
//                                      onProgress: ({ file, done, total }) => {} });
//   await upload.done;                        // every part is held by the server
//   const { link } = await upload.finalize(); // https://HOST/p/{id}#{C}
//   // or, to give up: await upload.cancel();  (revokes the unfinished package)
//
// Team keys (docs/FORMAT.md §20): pass `roster`, a `TeamRoster` that the bindings'
// `verifyRoster` accepted, and the package is sealed with `PackageSealer.forTeam` instead: one
// X25519 stanza per roster device and one for the recovery key, no link stanza; the link still
// carries C (the server's access gate and the link binding), and the server secret is unused.
//
// How it goes: POST /packages (the server makes the id and its secret S), the bindings make
// the package key and the link secret C and seal the manifest, PUT the manifest, then every
// file in parts of `part_chunks` 64 KiB chunks: read the plaintext slice, encrypt its chunks
// (WebCrypto AES-GCM through the bindings), hash the part (SHA-256), PUT it. A failed part
// is retried with backoff; after a network outage the upload asks the server which parts it
// holds (GET …/parts) and sends only the others, so nothing is sent twice and nothing is
// lost. Finalize sends again whatever the server reports missing.
//
// Secrets: C leaves this module only inside the link returned by finalize(); S, the upload
// token and C travel in bodies and headers, never in URLs; nothing here logs.

import { ApiError, retriable, sleep } from "./api.js";

export { Api, ApiError, retriable } from "./api.js";

/** Runs `task(item)` for every item, at most `limit` at once; the first failure stops new starts. */
async function pool(items, limit, task) {
  let next = 0;
  let failed = null;
  const worker = async () => {
    while (next < items.length && !failed) {
      const item = items[next++];
      try {
        await task(item);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed) throw failed;
}

function hex(buffer) {
  const bytes = new Uint8Array(buffer);
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += bytes[i].toString(16).padStart(2, "0");
  return out;
}

/**
 * Reads and encrypts upload part `part` of `file`; all its chunks are in flight at once.
 * (Exported for the upload bench's "seal only" row, which times it without the network.)
 */
export async function encryptPart(wasm, file, enc, part) {
  const [first, end] = wasm.partChunks(enc.plaintextSize, part);
  const [ptStart] = enc.plaintextRange(first);
  const [, ptEnd] = enc.plaintextRange(end - 1);
  const plaintext = new Uint8Array(await file.slice(ptStart, ptEnd).arrayBuffer());
  const [ctStart, ctEnd] = wasm.partRange(enc.ciphertextSize, part);
  const body = new Uint8Array(ctEnd - ctStart);
  const sealed = [];
  for (let i = first; i < end; i++) {
    const [a, b] = enc.plaintextRange(i);
    sealed.push(enc.encryptChunk(i, plaintext.subarray(a - ptStart, b - ptStart)));
  }
  let at = 0;
  for (const pending of sealed) {
    const chunk = await pending;
    body.set(chunk, at);
    at += chunk.length;
  }
  if (at !== body.length) throw new Error(`internal: part ${part} assembled ${at} bytes, expected ${body.length}`);
  return { body, plaintextBytes: ptEnd - ptStart };
}

/**
 * Creates the package, seals and sends the manifest, and starts uploading every part in the
 * background. Resolves to an `Upload` once the manifest is stored (so size and quota errors
 * surface here). Options:
 * - `files`: File or Blob objects (`name`, `type`, `size`);
 * - `create`: the body of `POST /api/v1/packages`; `message`, `sender`: encrypted metadata;
 * - `roster`: a verified `TeamRoster` to seal to (team keys) instead of the link;
 * - `concurrency`: parts in flight (each holds about 3 × 8 MiB while it is encrypted);
 * - `onProgress({ file, done, total })`: plaintext bytes of one file, as parts are stored;
 * - `signal`: aborts everything (then call `cancel()` to revoke the package).
 */
export async function startUpload({ wasm, api, files, message = null, sender = null, create = {}, roster = null, concurrency = 4, onProgress = () => {}, signal }) {
  files = Array.from(files);
  if (files.length === 0) throw new Error("nothing to upload: no files");
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  if (signal) {
    if (signal.aborted) throw signal.reason;
    signal.addEventListener("abort", onAbort, { once: true });
  }
  const created = await api.json("POST", "/api/v1/packages", { json: create, ok: [200, 201], signal: controller.signal, retries: 1 });
  const upload = new Upload({ wasm, api, files, created, concurrency, onProgress, controller });
  try {
    await upload.sendManifest({ message, sender, roster });
  } catch (e) {
    await upload.cancel();
    throw e;
  }
  upload.done = upload.sendParts();
  upload.done.catch(() => {}); // observed by finalize() or the caller
  return upload;
}

/** Encrypts, uploads and finalizes in one go; resolves to `{ id, link, expiresAt }`. */
export async function sendFiles(options) {
  const upload = await startUpload(options);
  return upload.finalize();
}

/** One package being uploaded (made by `startUpload`). */
export class Upload {
  constructor({ wasm, api, files, created, concurrency, onProgress, controller }) {
    this.wasm = wasm;
    this.api = api;
    this.files = files;
    this.id = created.id;
    this.url = created.url ?? null;
    this.expiresAt = created.expires_at;
    this.concurrency = concurrency;
    this.onProgress = onProgress;
    this.controller = controller;
    this.auth = { "X-Sealdrop-Upload-Token": created.upload_token };
    this.serverSecret = created.server_secret;
    this.linkSecret = null;
    this.encryptors = [];
    this.tasks = [];
    this.state = "uploading"; // "uploading" | "finalized" | "cancelled"
    this.done = Promise.resolve();
  }

  get signal() {
    return this.controller.signal;
  }

  async sendManifest({ message, sender, roster = null }) {
    const wasm = this.wasm;
    const options = {
      files: this.files.map((f, i) => ({ name: f.name || `file-${i + 1}`, size: f.size, type: f.type || "application/octet-stream" })),
      message,
      sender,
    };
    const sealer = roster ? wasm.PackageSealer.forTeam(this.id, roster, options) : new wasm.PackageSealer(this.id, this.serverSecret, options);
    this.serverSecret = null;
    try {
      this.linkSecret = sealer.linkSecret;
      this.encryptors = this.files.map((_, i) => sealer.file(i));
      await this.api.request("PUT", `/api/v1/packages/${this.id}/manifest`, {
        headers: { ...this.auth, "Content-Type": "application/octet-stream", "X-Sealdrop-Link-Verifier": sealer.linkVerifier },
        body: sealer.manifest,
        signal: this.signal,
      });
    } finally {
      sealer.free(); // the package key is zeroized; the file encryptors keep their own keys
    }
    this.files.forEach((file, index) => {
      const enc = this.encryptors[index];
      this.progress = this.progress ?? [];
      this.progress[index] = { done: 0, total: file.size };
      for (let part = 0; part < enc.partCount; part++) this.tasks.push({ file, index, enc, part, sent: false });
    });
    this.files.forEach((_, index) => this.report(index));
  }

  report(index) {
    const p = this.progress[index];
    try {
      this.onProgress({ file: index, done: p.done, total: p.total });
    } catch {
      // A progress callback's failure is not the upload's.
    }
  }

  async sendPart(task) {
    const { body, plaintextBytes } = await encryptPart(this.wasm, task.file, task.enc, task.part);
    const digest = hex(await crypto.subtle.digest("SHA-256", body));
    const response = await this.api.request("PUT", `/api/v1/packages/${this.id}/files/${task.index}/parts/${task.part}`, {
      headers: { ...this.auth, "Content-Type": "application/octet-stream", "X-Sealdrop-Sha256": digest },
      // A Blob goes to the network process by reference; a typed array is copied through
      // the renderer's upload pipe, which is many times slower for 8 MiB bodies.
      body: new Blob([body]),
      ok: [200, 201],
      signal: this.signal,
    });
    // Read the (small) answer: until then Chromium keeps the request, and with it the 8 MiB
    // body Blob, alive in the browser process; unread, every part of a file stayed there.
    await response.arrayBuffer();
    this.markSent(task, plaintextBytes);
  }

  markSent(task, plaintextBytes) {
    if (task.sent) return;
    task.sent = true;
    this.progress[task.index].done += plaintextBytes;
    this.report(task.index);
  }

  /** Which parts the server holds, as a Set of "file:part". */
  async heldParts() {
    const listing = await this.api.json("GET", `/api/v1/packages/${this.id}/parts`, { headers: this.auth, signal: this.signal });
    return new Set(listing.files.flatMap(({ file, parts }) => parts.map((p) => `${file}:${p}`)));
  }

  /**
   * Sends every part not yet stored. A pass that fails on a retriable error (the network,
   * the server's 5xx) waits and starts again from what the server reports it holds; anything
   * else (a 4xx that says why) fails the upload.
   */
  async sendParts({ passes = 8 } = {}) {
    let pending = this.tasks.filter((t) => !t.sent);
    for (let pass = 0; pending.length > 0; pass++) {
      try {
        await pool(pending, this.concurrency, (t) => (t.sent ? null : this.sendPart(t)));
        return;
      } catch (e) {
        if (this.signal.aborted || !retriable(e) || pass + 1 >= passes) throw e;
        await sleep(Math.min(1000 * 2 ** pass, 30_000), this.signal);
        const held = await this.heldParts();
        for (const t of this.tasks) {
          if (!t.sent && held.has(`${t.index}:${t.part}`)) {
            const [a] = t.enc.plaintextRange(this.wasm.partChunks(t.enc.plaintextSize, t.part)[0]);
            const [, b] = t.enc.plaintextRange(this.wasm.partChunks(t.enc.plaintextSize, t.part)[1] - 1);
            this.markSent(t, b - a);
          }
        }
        pending = this.tasks.filter((t) => !t.sent);
      }
    }
  }

  /**
   * Waits for every part, finalizes (sending again whatever the server reports missing) and
   * resolves to `{ id, link, expiresAt }`. Safe to call again after a failure.
   */
  async finalize() {
    if (this.state === "finalized") return this.result;
    if (this.state === "cancelled") throw new Error("this upload was cancelled");
    await this.done;
    let finalized;
    try {
      finalized = await this.api.json("POST", `/api/v1/packages/${this.id}/finalize`, { headers: this.auth, signal: this.signal });
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== "incomplete_upload" || !e.body?.missing) throw e;
      for (const { file, parts } of e.body.missing) {
        for (const part of parts) {
          const t = this.tasks.find((x) => x.index === file && x.part === part);
          if (t) t.sent = false;
        }
      }
      this.done = this.sendParts();
      await this.done;
      finalized = await this.api.json("POST", `/api/v1/packages/${this.id}/finalize`, { headers: this.auth, signal: this.signal });
    }
    this.freeEncryptors();
    const base = this.url ?? `${this.api.base || globalThis.location.origin}/p/${this.id}`;
    this.result = { id: this.id, link: `${base}#${this.linkSecret}`, expiresAt: finalized.expires_at ?? this.expiresAt };
    this.linkSecret = null;
    this.state = "finalized";
    return this.result;
  }

  /** Stops the upload and revokes the unfinished package (best effort; the purge task removes it otherwise). */
  async cancel() {
    if (this.state !== "uploading") return;
    this.state = "cancelled";
    this.controller.abort(new DOMException("upload cancelled", "AbortError"));
    await this.done.catch(() => {});
    this.freeEncryptors();
    this.linkSecret = null;
    try {
      await this.api.request("DELETE", `/api/v1/packages/${this.id}`, { headers: this.auth, ok: [204, 404, 410], retries: 1 });
    } catch {
      // The purge task removes unfinished packages anyway.
    }
  }

  freeEncryptors() {
    for (const enc of this.encryptors) {
      try {
        enc.free();
      } catch {
        // Already freed.
      }
    }
    this.encryptors = [];
  }
}
