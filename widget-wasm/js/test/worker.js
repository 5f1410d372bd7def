// Runs one of flows.js's flows in a module Worker and posts the result back. The handler is
// installed before anything is awaited: a message that arrives while a top-level await is
// pending would find no handler and be lost.
const loading = import("/js/test/flows.js");

self.onmessage = async (e) => {
  try {
    const flows = await loading;
    const value = await flows[e.data.name](...e.data.args);
    self.postMessage({ ok: true, value });
  } catch (err) {
    self.postMessage({ ok: false, error: String(err?.stack ?? err) });
  }
};
