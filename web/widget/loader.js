// sealdrop Help Center widget loader. The theme includes it pinned by Subresource Integrity:
//
//   <script src="https://SEALDROP_HOST/widget/v1/loader.js" integrity="sha384-…"
//           crossorigin="anonymous" data-key="sdw_…" data-admin-key="28d1f1ee…" async></script>
//
// This is the template: `cargo xtask wasm` puts the SHA-384 of every file the loader loads
// in place of RELEASE's placeholder and writes the result to widget-wasm/pkg/widget/loader.js,
// which the server serves byte for byte (so the snippet's `integrity` holds). The browser
// checks the loader against the snippet; the loader checks everything else against RELEASE:
// it fetches a file, hashes it (crypto.subtle.digest), and uses those same bytes only if the
// hash is the pinned one: modules start from a blob: URL of the checked bytes, the wasm is
// compiled from them, the stylesheet is constructed from them. Anything else is refused, so a
// server that serves other code than the release it announced gets no widget at all.
//
// It does nothing on pages without a request form. On a "Submit a request" page (Copenhagen's
// React form `#new-request-form`, or the older `form#new_request` with `#request_description`
// and `#upload-dropzone`) it starts the widget bundle, which encrypts attachments in a Web
// Worker and puts one secure link into the description on submit.
(function () {
  "use strict";
  var RELEASE = "__SEALDROP_WIDGET_RELEASE__";
  var script = document.currentScript;
  if (!script || !script.src) return;
  if (typeof RELEASE !== "object") {
    console.error("sealdrop: this loader is the unbuilt template; serve the release that `cargo xtask wasm` writes");
    return;
  }
  var key = script.getAttribute("data-key") || "";
  var adminKey = script.getAttribute("data-admin-key");
  var assets = new URL("assets/", script.src).href;
  var base = new URL("../../", script.src).href;
  var FORM = "#new-request-form, form#new_request, #request_description, #upload-dropzone";
  var started = false;

  function b64(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  }

  /**
   * Resolves to the bytes of release file `name` (an ArrayBuffer) once their SHA-384 is the
   * one RELEASE pins; rejects otherwise. The URL carries part of the hash, so a new release
   * never reads an old file from a cache.
   */
  function load(name) {
    var expected = RELEASE[name];
    if (!expected) return Promise.reject(new Error("the widget asked for " + name + ", which this release does not pin"));
    var url = assets + name + "?v=" + encodeURIComponent(expected.slice(7, 23));
    return fetch(url, { mode: "cors", credentials: "omit", referrerPolicy: "no-referrer" })
      .then(function (response) {
        if (!response.ok) throw new Error(name + ": the sealdrop server answered " + response.status);
        return response.arrayBuffer();
      })
      .then(function (bytes) {
        return crypto.subtle.digest("SHA-384", bytes).then(function (digest) {
          if ("sha384-" + b64(digest) !== expected) {
            var err = new Error(name + " is not the file this release pins: the sealdrop server served other code, so the widget does not run");
            err.name = "IntegrityError";
            throw err;
          }
          return bytes;
        });
      });
  }

  /** Imports release module `name` from a blob: URL of its checked bytes. */
  function importModule(name) {
    return load(name).then(function (bytes) {
      var url = URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
      return import(url).finally(function () { URL.revokeObjectURL(url); });
    });
  }

  /**
   * Fails closed when the widget cannot start (its code refused, the server unreachable):
   * the theme's plaintext attachment field is hidden too, and a line says why. The theme may
   * render the field later (React), or again: watched for 30 s, like the form itself.
   */
  function refuse(message) {
    function apply() {
      var field = document.querySelector('[data-garden-id="forms.file_upload"], #upload-dropzone');
      if (!field) return;
      field.style.display = "none";
      if (document.querySelector('[data-sealdrop="refused"]')) return;
      var note = document.createElement("p");
      note.setAttribute("role", "alert");
      note.setAttribute("data-sealdrop", "refused");
      // Its own font: Garden's fields set `font-size: 0` (set through the CSSOM, which a
      // Content-Security-Policy without 'unsafe-inline' allows).
      note.style.font = "14px/20px system-ui, sans-serif";
      note.style.color = "#2f3941";
      note.textContent = "Attachments are not available: " + message;
      field.insertAdjacentElement("afterend", note);
    }
    apply();
    var observer = new MutationObserver(apply);
    observer.observe(document.documentElement, { childList: true, subtree: true });
    setTimeout(function () { observer.disconnect(); }, 30000);
  }

  function start() {
    if (started || !document.querySelector(FORM)) return false;
    started = true;
    importModule("widget.js")
      .then(function (widget) {
        return widget.mount({ key: key, adminKey: adminKey, base: base, load: load });
      })
      .catch(function (err) {
        var message = err && err.message ? err.message : String(err);
        console.error("sealdrop: the secure attachments widget could not start:", message);
        refuse(message);
      });
    return true;
  }

  function watch() {
    if (start()) return;
    // Themes that build the form later: wait for it, but not forever.
    var observer = new MutationObserver(function () {
      if (start()) observer.disconnect();
    });
    observer.observe(document.documentElement, { childList: true, subtree: true });
    setTimeout(function () { observer.disconnect(); }, 30000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
})();
