// No plaintext route on a protected form. The widget hides the theme's attachment field, but
// files can leave by other ways; each is closed here while the form is protected:
//
// - files pasted, dropped or picked anywhere in the form (the description included, and
//   CKEditor's image button, whose file input sits in the editor's toolbar) are taken before
//   the theme or the editor sees them and handed to the panel, which encrypts them;
// - CKEditor's upload adapter (images that reach it another way, e.g. pasted HTML with
//   `data:` images) adds the file to the panel and fails the plaintext upload with a message
//   the theme shows;
// - last, requests to Zendesk's upload endpoints from this page are refused before they
//   are sent, so a route not foreseen here fails closed instead of leaking.

const UPLOAD_PATHS = ["/api/v2/uploads.json", "/hc/request_uploads", "/api/v2/guide/user_images/uploads", "/api/v2/guide/user_images"];
const REFUSED = "Files are not uploaded unencrypted on this form: it was added to the encrypted attachments instead.";

/**
 * Installs the guard. `isActive()` says whether the current form is protected, `form()`
 * returns it, `own(event)` whether an event comes from the widget's own panel, and
 * `onFiles(files)` takes the files the guard intercepted.
 */
export function installGuard({ isActive, form, own, onFiles }) {
  const inForm = (event) => {
    const f = form();
    return Boolean(f && isActive() && event.target instanceof Node && f.contains(event.target) && !own(event));
  };
  const hasFiles = (transfer) => Boolean(transfer && Array.from(transfer.types ?? []).includes("Files"));
  const take = (event, files) => {
    event.preventDefault();
    event.stopImmediatePropagation();
    if (files.length > 0) onFiles(files);
  };

  document.addEventListener("paste", (event) => {
    if (!inForm(event)) return;
    const files = Array.from(event.clipboardData?.files ?? []);
    if (files.length > 0) take(event, files);
  }, true);
  for (const type of ["dragenter", "dragover"]) {
    document.addEventListener(type, (event) => {
      if (!inForm(event) || !hasFiles(event.dataTransfer)) return;
      event.preventDefault(); // allow the drop here instead of the browser opening the file
      event.stopImmediatePropagation();
      event.dataTransfer.dropEffect = "copy";
    }, true);
  }
  document.addEventListener("drop", (event) => {
    if (!inForm(event) || !hasFiles(event.dataTransfer)) return;
    take(event, Array.from(event.dataTransfer.files ?? []));
  }, true);
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file" || !inForm(event)) return;
    const files = Array.from(input.files ?? []);
    input.value = "";
    take(event, files);
  }, true);

  guardNetwork(isActive);
}

/** Makes the editor's image uploads go to the panel (once per editor). */
export function guardEditor(editor, { isActive, onFiles }) {
  if (!editor?.plugins?.has?.("FileRepository")) return;
  const repository = editor.plugins.get("FileRepository");
  if (repository.sealdropGuarded) return;
  repository.sealdropGuarded = true;
  const original = repository.createUploadAdapter;
  repository.createUploadAdapter = (loader) => {
    if (!isActive()) return original?.(loader);
    return {
      upload: () => loader.file.then((file) => {
        if (file) onFiles([file]);
        throw REFUSED;
      }),
      abort() {},
    };
  };
}

function isUploadUrl(url) {
  try {
    const parsed = new URL(url, location.href);
    return parsed.origin === location.origin && UPLOAD_PATHS.includes(parsed.pathname);
  } catch {
    return false;
  }
}

let networkGuarded = false;

function guardNetwork(isActive) {
  if (networkGuarded) return;
  networkGuarded = true;
  const { open, send } = XMLHttpRequest.prototype;
  const urls = new WeakMap();
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    urls.set(this, String(url));
    return open.call(this, method, url, ...rest);
  };
  XMLHttpRequest.prototype.send = function (body) {
    if (isActive() && isUploadUrl(urls.get(this))) {
      console.warn(`sealdrop: refused an unencrypted upload to ${urls.get(this)}`);
      setTimeout(() => {
        this.dispatchEvent(new ProgressEvent("error"));
        this.dispatchEvent(new ProgressEvent("loadend"));
      }, 0);
      return undefined;
    }
    return send.call(this, body);
  };
  const originalFetch = window.fetch;
  window.fetch = function (input, init) {
    const url = input instanceof Request ? input.url : String(input);
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    if (isActive() && method !== "GET" && isUploadUrl(url)) {
      console.warn(`sealdrop: refused an unencrypted upload to ${url}`);
      return Promise.reject(new TypeError(REFUSED));
    }
    return originalFetch.call(this, input, init);
  };
}
