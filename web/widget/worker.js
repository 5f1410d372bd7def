// The widget's encryption worker: runs the uploads (web/shared/upload.js over the wasm
// bindings) off the page's main thread, so the Help Center form stays responsive while
// large files are read, encrypted and sent.
//
// It is one bundle (`cargo xtask wasm` bundles this module, ../shared/upload.js, ./team.js
// and the wasm-bindgen glue, imported here as "sealdrop-wasm"), which the page starts from a
// blob: URL of bytes the loader has checked against the release's SHA-384. The wasm binary is
// not fetched here: the page hands over the bytes it checked, in the first message. If the
// page forbids blob: workers, runner.js runs the same `createRunner` in the page instead.
//
// Messages in:  {type: "init", wasm}            the checked .wasm bytes (worker only)
//               {type: "roster", request, base, key, team}
//               {type: "start", job, files, base, key, team}  {type: "finalize", job}  {type: "cancel", job}
//               (`team`: null for link sealing, or {pin, tenant, highestSeen}, see team.js)
// Messages out: {type: "ready"}  {type: "roster", request, sequence | error, code}
//               {type: "roster-accepted", sequence}
//               {type: "progress", job, file, done, total}  {type: "uploaded", job}
//               {type: "finalized", job, link}  {type: "error", job, message, code, status, team}

import initWasm, * as wasm from "sealdrop-wasm";
import { Api, startUpload } from "../shared/upload.js";
import { verifiedRoster } from "./team.js";

/**
 * A job runner speaking the message protocol above through `post`. `wasmBytes` (the checked
 * .wasm) may come now or later, through an "init" message.
 */
export function createRunner(post, { wasmBytes } = {}) {
  const jobs = new Map();
  let giveWasm;
  const wasmReady = new Promise((resolve) => { giveWasm = resolve; }).then((bytes) => initWasm({ module_or_path: bytes }));
  if (wasmBytes) giveWasm(wasmBytes);

  const fail = (job, err) => {
    if (err?.name === "AbortError") return;
    post({
      type: "error",
      job,
      message: err?.message || String(err),
      code: err?.code ?? err?.kind ?? null,
      status: err?.status ?? null,
      team: err?.name === "TeamError",
    });
  };

  /** The roster to seal to, verified before anything is created on the server. */
  async function roster(api, team) {
    await wasmReady;
    const verified = await verifiedRoster({ wasm, api, team });
    post({ type: "roster-accepted", sequence: verified.sequence });
    return verified;
  }

  const widgetApi = (base, key) => new Api({ base, headers: { "X-Sealdrop-Widget-Key": key } });

  async function checkRoster({ request, base, key, team }) {
    try {
      const verified = await roster(widgetApi(base, key), team);
      post({ type: "roster", request, sequence: verified.sequence, devices: verified.devices.length });
      verified.free();
    } catch (err) {
      post({ type: "roster", request, error: err?.message || String(err), code: err?.code ?? null });
    }
  }

  async function start({ job, files, base, key, team }) {
    const entry = { upload: null, cancelled: false, failed: null };
    jobs.set(job, entry);
    let teamRoster = null;
    try {
      await wasmReady;
      const api = widgetApi(base, key);
      if (team) teamRoster = await roster(api, team);
      if (entry.cancelled) return;
      let last = 0;
      const u = await startUpload({
        wasm,
        api,
        files,
        roster: teamRoster,
        create: { require_auth: true },
        onProgress: ({ file, done, total }) => {
          const now = Date.now();
          if (done === total || now - last > 100) {
            last = now;
            post({ type: "progress", job, file, done, total });
          }
        },
      });
      entry.upload = u;
      if (entry.cancelled) return void u.cancel();
      await u.done;
      post({ type: "uploaded", job });
    } catch (err) {
      entry.failed = err;
      if (!entry.cancelled) fail(job, err);
    } finally {
      teamRoster?.free();
    }
  }

  async function finalize({ job }) {
    const entry = jobs.get(job);
    if (!entry) return fail(job, new Error("unknown upload"));
    try {
      while (!entry.upload) {
        if (entry.cancelled) return;
        if (entry.failed) throw entry.failed;
        await new Promise((r) => setTimeout(r, 50));
      }
      const { link } = await entry.upload.finalize();
      post({ type: "finalized", job, link });
      jobs.delete(job);
    } catch (err) {
      fail(job, err);
    }
  }

  async function cancel({ job }) {
    const entry = jobs.get(job);
    if (!entry) return;
    entry.cancelled = true;
    jobs.delete(job);
    if (entry.upload) await entry.upload.cancel();
  }

  return (message) => {
    if (message?.type === "init") return void giveWasm(message.wasm);
    const handler = { roster: checkRoster, start, finalize, cancel }[message?.type];
    if (handler) handler(message);
  };
}

// In a worker, serve the page.
if (typeof WorkerGlobalScope !== "undefined" && globalThis instanceof WorkerGlobalScope) {
  const handle = createRunner((m) => globalThis.postMessage(m));
  globalThis.addEventListener("message", (e) => handle(e.data));
  globalThis.postMessage({ type: "ready" });
}
