// sealdrop Help Center widget loader. Include it in the Help Center theme:
//
//   <script src="https://SEALDROP_HOST/widget/v1/loader.js" data-key="sdw_…" async></script>
//
// It stays tiny and does nothing on pages without a request form. On a "Submit a request"
// page (Copenhagen's React form `#new-request-form`, or the older `form#new_request` with
// `#request_description` and `#upload-dropzone`) it loads the widget module, which encrypts
// attachments in a Web Worker and puts one secure link into the description on submit.
// The server fills in __SEALDROP_WIDGET_VERSION__ so that the widget's files are cached
// under versioned URLs.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var key = script.getAttribute("data-key") || "";
  var version = "__SEALDROP_WIDGET_VERSION__";
  var assets = new URL("assets/", script.src).href;
  var FORM = "#new-request-form, form#new_request, #request_description, #upload-dropzone";
  var started = false;

  function start() {
    if (started || !document.querySelector(FORM)) return false;
    started = true;
    import(assets + "widget/widget.js?v=" + version)
      .then(function (widget) {
        return widget.mount({ key: key, version: version, assets: assets, base: new URL("../../", script.src).href });
      })
      .catch(function (err) {
        console.error("sealdrop: the secure attachments widget could not start:", err);
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
