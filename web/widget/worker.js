// The widget's encryption worker: runs the uploads (web/shared/upload.js over the wasm
// bindings) off the page's main thread, so the Help Center form stays responsive while
// large files are read, encrypted and sent.
//
// The page starts it through a same-origin blob: shim that imports this module from the
// sealdrop server (a page cannot start a worker from another origin directly). If the page
// forbids blob: workers, widget.js runs the same `createRunner` in the page instead.
//
// Messages in:  {type: "start", job, files, base, key}  {type: "finalize", job}  {type: "cancel", job}
// Messages out: {type: "progress", job, file, done, total}  {type: "uploaded", job}
//               {type: "finalized", job, link}  {type: "error", job, message, code, status}

const here = new URL(import.meta.url);
const version = here.searchParams.get("v");
const q = version ? `?v=${encodeURIComponent(version)}` : "";

let loaded = null;

/** Loads the bindings (and their .wasm) and the uploader, once. */
function load() {
  loaded ??= (async () => {
    const [wasm, upload] = await Promise.all([
      import(new URL(`../pkg/sealdrop_widget.js${q}`, here).href),
      import(new URL(`../shared/upload.js${q}`, here).href),
    ]);
    await wasm.default({ module_or_path: new URL(`../pkg/sealdrop_widget_bg.wasm${q}`, here).href });
    return { wasm, upload };
  })();
  return loaded;
}

/** A job runner speaking the message protocol above through `post`. */
export function createRunner(post) {
  const jobs = new Map();

  const fail = (job, err) => {
    if (err?.name === "AbortError") return;
    post({
      type: "error",
      job,
      message: err?.message || String(err),
      code: err?.code ?? err?.kind ?? null,
      status: err?.status ?? null,
    });
  };

  async function start({ job, files, base, key }) {
    const entry = { upload: null, cancelled: false, failed: null };
    jobs.set(job, entry);
    try {
      const { wasm, upload } = await load();
      const api = new upload.Api({ base, headers: { "X-Sealdrop-Widget-Key": key } });
      let last = 0;
      const u = await upload.startUpload({
        wasm,
        api,
        files,
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
    const handler = { start, finalize, cancel }[message?.type];
    if (handler) handler(message);
  };
}

// In a worker, serve the page.
if (typeof WorkerGlobalScope !== "undefined" && globalThis instanceof WorkerGlobalScope) {
  const handle = createRunner((m) => globalThis.postMessage(m));
  globalThis.addEventListener("message", (e) => handle(e.data));
  load().catch(() => {}); // start fetching the .wasm now; errors surface with the first job
  globalThis.postMessage({ type: "ready" });
}
