// The encryption runner: the worker bundle (worker.js) in a module Web Worker, or the same code
// on the page's main thread when the page's Content-Security-Policy allows no blob: worker.
//
// Both the worker's code and the wasm come through the loader's `load(name)`, which resolves
// only to bytes whose SHA-384 the release pins: the worker starts from a blob: URL of those
// bytes (a page cannot start a worker from another origin anyway), and gets the checked .wasm
// bytes in its first message instead of fetching anything itself.

const READY_TIMEOUT_MS = 15000;

/** Starts the runner; resolves to `{ post(message), mode: "worker" | "page" }`. */
export async function startRunner(load, onMessage) {
  const [code, wasmBytes] = await Promise.all([load("worker.js"), load("sealdrop_widget_bg.wasm")]);
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  try {
    const worker = new Worker(url, { type: "module", name: "sealdrop-widget" });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the worker did not start")), READY_TIMEOUT_MS);
      worker.addEventListener("message", function first(e) {
        if (e.data?.type !== "ready") return;
        clearTimeout(timer);
        worker.removeEventListener("message", first);
        resolve();
      });
      worker.addEventListener("error", (e) => {
        clearTimeout(timer);
        reject(new Error(e.message || "the worker failed to load"));
      }, { once: true });
    });
    worker.addEventListener("message", (e) => onMessage(e.data));
    worker.postMessage({ type: "init", wasm: wasmBytes }, [wasmBytes]);
    return { post: (m) => worker.postMessage(m), mode: "worker" };
  } catch (err) {
    console.warn("sealdrop: encrypting in the page instead of a worker:", err?.message ?? err);
    const { createRunner } = await import(url);
    const handle = createRunner((m) => setTimeout(() => onMessage(m), 0), { wasmBytes });
    return { post: handle, mode: "page" };
  } finally {
    URL.revokeObjectURL(url);
  }
}
