// The encryption runner: a module worker that encrypts and uploads (worker.js over
// ../shared/upload.js and the wasm bindings), or the same code on the page's main thread
// when the page's Content-Security-Policy allows no worker.

/** Starts the worker through a same-origin blob: shim (a page cannot start a worker from another origin). */
export async function startRunner(assets, version, onMessage) {
  const url = `${assets}widget/worker.js?v=${encodeURIComponent(version)}`;
  try {
    const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(url)};`], { type: "text/javascript" }));
    const worker = new Worker(shim, { type: "module", name: "sealdrop-widget" });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the worker did not start")), 15000);
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
    URL.revokeObjectURL(shim);
    worker.addEventListener("message", (e) => onMessage(e.data));
    return { post: (m) => worker.postMessage(m), mode: "worker" };
  } catch (err) {
    console.warn("sealdrop: encrypting in the page instead of a worker:", err?.message ?? err);
    const { createRunner } = await import(url);
    const handle = createRunner((m) => setTimeout(() => onMessage(m), 0));
    return { post: handle, mode: "page" };
  }
}
