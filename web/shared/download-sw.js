// sealdrop download service worker (scope /p/ on the server's pages, allowed by its
// `Service-Worker-Allowed: /p/` header; its own folder when the sidebar runs from the Zendesk
// app package).
//
// A page that has decrypted data to save registers a download with a MessagePort:
//   { type: "sealdrop-download", id, name, mediaType, size } + [port]
// and then navigates a hidden iframe to {scope}_download/{id}/{name} (/p/_download/… on the
// server). This worker answers that
// navigation with a streamed attachment whose bytes come from the page over the port, one
// chunk per "pull" (back-pressure: the page never runs ahead of the disk). "abort" from the
// page errors the stream, so the browser fails the download instead of saving a partial file.
//
// Plaintext passes through this worker's memory only chunk by chunk; nothing is cached, and
// every other request goes to the network untouched.

const pending = new Map();
const PREFIX = new URL("_download/", self.registration.scope).pathname;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  const msg = event.data;
  if (!msg || msg.type !== "sealdrop-download" || !event.ports[0]) return;
  const port = event.ports[0];
  pending.set(String(msg.id), { port, name: String(msg.name), mediaType: msg.mediaType, size: msg.size });
  // Forget registrations whose download never started.
  setTimeout(() => pending.delete(String(msg.id)), 60_000);
  port.postMessage({ type: "ready" });
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(PREFIX)) return;
  const id = decodeURIComponent(url.pathname.slice(PREFIX.length).split("/")[0] || "");
  const entry = pending.get(id);
  if (!entry) {
    event.respondWith(new Response("This download is no longer available.", { status: 404 }));
    return;
  }
  pending.delete(id);
  event.respondWith(streamResponse(entry));
});

function streamResponse({ port, name, size }) {
  let waiting = null; // resolves the current pull
  let controllerRef = null;
  port.onmessage = (event) => {
    const msg = event.data;
    const controller = controllerRef;
    if (!controller) return;
    if (msg.type === "chunk") {
      controller.enqueue(msg.data);
      if (waiting) { const w = waiting; waiting = null; w(); }
    } else if (msg.type === "end") {
      controller.close();
      if (waiting) { const w = waiting; waiting = null; w(); }
      port.close();
    } else if (msg.type === "abort") {
      controller.error(new Error(msg.reason || "aborted"));
      if (waiting) { const w = waiting; waiting = null; w(); }
      port.close();
    }
  };
  const stream = new ReadableStream(
    {
      start(controller) { controllerRef = controller; },
      pull() {
        return new Promise((resolve) => {
          waiting = resolve;
          port.postMessage({ type: "pull" });
        });
      },
      cancel() {
        port.postMessage({ type: "cancel" });
        port.close();
      },
    },
    // One chunk queued ahead (the page batches ~4 MiB per chunk).
    { highWaterMark: 1 },
  );
  const headers = new Headers({
    "Content-Type": "application/octet-stream",
    "Content-Disposition": `attachment; filename*=UTF-8''${encodeRFC5987(name)}`,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
  });
  if (Number.isFinite(size) && size >= 0) headers.set("Content-Length", String(size));
  return new Response(stream, { headers });
}

function encodeRFC5987(value) {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}
