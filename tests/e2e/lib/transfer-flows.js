// Browser side of transfer.test.mjs: drives the product's web/shared/upload.js and
// web/shared/download.js (served by the sealdrop server under /static/shared/, the bindings
// under /static/pkg/) from a page, or from a module Worker as the Help Center widget does.
// The fault proxy serves this file at /__e2e/transfer-flows.js, so the page, the modules
// and the API share the proxy's origin and every request passes through the proxy.
//
// Results are plain objects (they cross page.evaluate and postMessage); errors are
// described rather than thrown, so the test can assert on their name, kind, code and status.

import init, * as wasm from "/static/pkg/sealdrop_widget.js";
import { Api, startUpload } from "/static/shared/upload.js";
import { downloadToSink, openSink, pickFileTarget } from "/static/shared/download.js";

const ready = init();
const inWorker = typeof document === "undefined";

/** Deterministic pseudo-random bytes (xorshift32), so a Worker and a page can make the same. */
export function pseudoRandom(size, seed) {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, size);
}

async function sha256(data) {
  const bytes = data instanceof Blob ? await data.arrayBuffer() : data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function describe(e) {
  if (!e) return null;
  return {
    name: e.name ?? null,
    kind: e.kind ?? null,
    code: e.code ?? null,
    status: e.status ?? null,
    index: e.index ?? null,
    truncated: e.truncated ?? null,
    trailing: e.trailing ?? null,
    message: String(e.message ?? e),
  };
}

const uploads = new Map();

/**
 * Encrypts and uploads files of `sizes` (pseudo-random contents from `seed`) with the tenant
 * `token`. `api` holds Api options (`retries`, `backoffMs`). Unless `keep`, finalizes and
 * resolves to `{ id, link, sha256[], progress[], inWorker }`, or `{ error }` if it failed
 * (startUpload revokes the package when its manifest cannot be stored). With `keep` it
 * resolves as soon as the upload runs, to `{ id }`: see cancelUpload.
 */
export async function upload({ token, sizes, seed = 1, message = null, sender = null, create = {}, api = {}, concurrency, keep = false }) {
  await ready;
  const files = sizes.map((size, i) => new File([pseudoRandom(size, seed * 100 + i)], `file-${i}.bin`, { type: "application/x-e2e" }));
  const hashes = await Promise.all(files.map((f) => sha256(f)));
  const progress = files.map(() => null);
  const client = new Api({ headers: { Authorization: `Bearer ${token}` }, backoffMs: 10, ...api });
  let up;
  try {
    up = await startUpload({
      wasm,
      api: client,
      files,
      message,
      sender,
      create,
      ...(concurrency ? { concurrency } : {}),
      onProgress: ({ file, done, total }) => {
        const last = progress[file];
        if (last && done < last.done) progress[file] = { ...last, wentBack: true };
        else progress[file] = { done, total, wentBack: last?.wentBack ?? false };
      },
    });
  } catch (e) {
    return { error: describe(e) };
  }
  if (keep) {
    uploads.set(up.id, up);
    return { id: up.id };
  }
  try {
    const { id, link } = await up.finalize();
    return { id, link, sha256: hashes, progress, inWorker };
  } catch (e) {
    return { id: up.id, error: describe(e) };
  }
}

/** Cancels an upload started with `keep`; says how its parts and a later finalize() ended. */
export async function cancelUpload(id) {
  const up = uploads.get(id);
  uploads.delete(id);
  await up.cancel();
  const done = await up.done.then(() => null, describe);
  const finalize = await up.finalize().then(() => null, describe);
  return { state: up.state, done, finalize };
}

/** A stand-in for the save picker: a fresh file in the origin-private file system. */
let outputName = null;
globalThis.showSaveFilePicker = async () => {
  const root = await navigator.storage.getDirectory();
  return root.getFileHandle(outputName, { create: true });
};

async function outputFile(name) {
  const root = await navigator.storage.getDirectory();
  try {
    const file = await (await root.getFileHandle(name)).getFile();
    return { exists: true, size: file.size, file };
  } catch (e) {
    if (e.name === "NotFoundError") return { exists: false, size: 0 };
    throw e;
  }
}

let downloads = 0;

/**
 * Opens `link` through the API, starts a download and downloads file `index` (every file
 * when null) with downloadToSink into `strategy`'s sink: "fs" (the save-picker path, into
 * the origin-private file system, read back afterwards) or "blob" (download.js's fallback,
 * which hands the file to the browser's downloads). Resolves to `{ metadata, results }`,
 * one result per file: `{ index, ok, bytes, sha256, error, output: { exists, size } }`.
 */
export async function download({ link, index = null, strategy = "fs" }) {
  await ready;
  const { packageId, linkSecret, linkProof } = wasm.parseLink(link);
  const api = new Api({ backoffMs: 10 });
  const headers = { "X-Sealdrop-Link-Proof": linkProof };
  const opened = await api.json("POST", `/api/v1/packages/${packageId}/open`, { headers });
  const manifest = Uint8Array.from(atob(opened.manifest), (c) => c.charCodeAt(0));
  const pkg = wasm.openPackage(manifest, linkSecret, opened.server_secret);
  const m = pkg.metadata;
  const metadata = { files: m.files.map((f) => ({ name: f.name, size: f.size, type: f.type })), message: m.message ?? null, sender: m.sender ?? null };
  const { download_token: token } = await api.json("POST", `/api/v1/packages/${packageId}/download`, { headers, ok: [200, 201] });

  const results = [];
  const indexes = index === null ? metadata.files.map((_, i) => i) : [index];
  for (const i of indexes) {
    const file = metadata.files[i];
    outputName = `out-${++downloads}-${i}.bin`;
    const result = { index: i, ok: false, bytes: null, sha256: null, error: null, output: null };
    try {
      const target = strategy === "fs" ? await pickFileTarget(file.name, file.type) : undefined;
      const sink = await openSink(strategy, { name: file.name, type: file.type, size: file.size, target });
      const done = await downloadToSink({
        url: `/api/v1/packages/${packageId}/files/${i}`,
        headers: { "X-Sealdrop-Download-Token": token },
        decryptor: pkg.file(i),
        sink,
      });
      result.ok = true;
      result.bytes = done.bytes;
    } catch (e) {
      result.error = describe(e);
    }
    if (strategy === "fs") {
      const out = await outputFile(outputName);
      result.output = { exists: out.exists, size: out.size };
      if (result.ok && out.exists) result.sha256 = await sha256(out.file);
    }
    results.push(result);
  }
  pkg.free();
  return { metadata, results };
}

/** Asks for `link`'s package with the link proof of another link secret; describes the answer. */
export async function wrongSecret({ link }) {
  await ready;
  const wrong = `${link.split("#")[0]}#${"A".repeat(43)}`;
  const { packageId, linkProof } = wasm.parseLink(wrong);
  try {
    await new Api({ retries: 0 }).json("GET", `/api/v1/packages/${packageId}`, { headers: { "X-Sealdrop-Link-Proof": linkProof } });
    return null;
  } catch (e) {
    return describe(e);
  }
}

/** Runs `upload(args)` in a module Worker started from this file, as the widget does. */
export function uploadInWorker(args) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(import.meta.url, { type: "module" });
    worker.onmessage = (e) => {
      worker.terminate();
      if (e.data.ok) resolve(e.data.value);
      else reject(new Error(e.data.error));
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(`the worker failed: ${e.message}`));
    };
    worker.postMessage({ name: "upload", args });
  });
}

if (inWorker) {
  // Installed before anything is awaited, so the first message finds it.
  const flows = { upload };
  self.onmessage = async (e) => {
    try {
      self.postMessage({ ok: true, value: await flows[e.data.name](e.data.args) });
    } catch (err) {
      self.postMessage({ ok: false, error: String(err?.stack ?? err) });
    }
  };
}
