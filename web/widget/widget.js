// The sealdrop Help Center widget (loaded by loader.js on request-form pages).
//
// It takes over the form's attachment area: files dropped or picked there are encrypted in
// a Web Worker and uploaded to sealdrop as one package as soon as they are attached (the
// page stays responsive); the theme's own dropzone is hidden, so no plaintext attachment
// reaches Zendesk. On submit it waits for the uploads, finalizes the package and appends the
// secure link to the description once, in a way the form's own state keeps:
//
// - a textarea or input (React controlled or not): the native value setter and an `input`
//   event, which React's change tracking sees (setting `.value` alone would be undone);
// - a contenteditable editor (CKEditor and the like): focus, caret at the end, and
//   `insertText` (the `beforeinput`/`input` path editors listen to).
//
// Then it submits the form again (`requestSubmit`, so the form's own handlers run) and lets
// that submission through. Forms the tenant did not choose (`widget_forms`) are left alone,
// and switching ticket forms switches the widget on and off.

const MAX_FILES = 100;
const LINK_LABEL = "Encrypted attachments (sealdrop): ";

let mounted = null;

/** Entry point, called by loader.js. */
export async function mount({ key, version, assets, base }) {
  if (mounted) return mounted;
  mounted = new Widget({ key, version, assets, base: base.replace(/\/+$/, "") });
  await mounted.init();
  return mounted;
}

// ---- the form --------------------------------------------------------------------------

function requestForm() {
  const root = document.getElementById("new-request-form");
  if (root) return root.querySelector("form");
  const description = document.getElementById("request_description");
  return description?.form ?? document.querySelector("form#new_request");
}

function descriptionField(form) {
  return (
    form.querySelector('[contenteditable="true"]') ||
    form.querySelector("#request_description") ||
    form.querySelector('textarea[data-garden-id="forms.textarea"]') ||
    form.querySelector('textarea[name="request[description]"]') ||
    form.querySelector("textarea")
  );
}

function nativeDropzone(form) {
  return form.querySelector('[data-garden-id="forms.file_upload"]') || form.querySelector("#upload-dropzone");
}

function ticketFormId(form) {
  const field = form.querySelector('[name="request[ticket_form_id]"]') || document.querySelector('[name="request[ticket_form_id]"]');
  const value = field?.value || new URLSearchParams(location.search).get("ticket_form_id");
  return value ? Number(value) : null;
}

function currentText(field) {
  return field.isContentEditable ? field.innerText : field.value;
}

/** Appends `text` to the description so that the form's own state keeps it. */
function appendText(field, text) {
  if (field.isContentEditable) {
    field.focus();
    const range = document.createRange();
    range.selectNodeContents(field);
    range.collapse(false);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    const before = field.innerText;
    // execCommand fires beforeinput/input like typing, which rich-text editors handle.
    const inserted = document.execCommand("insertText", false, text);
    if (!inserted || field.innerText === before) {
      const event = new InputEvent("beforeinput", { inputType: "insertText", data: text, bubbles: true, cancelable: true });
      if (field.dispatchEvent(event)) {
        field.append(document.createTextNode(text));
        field.dispatchEvent(new InputEvent("input", { inputType: "insertText", data: text, bubbles: true }));
      }
    }
    return;
  }
  const proto = field instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  const setter = Object.getOwnPropertyDescriptor(proto, "value").set;
  setter.call(field, field.value + text);
  field.dispatchEvent(new Event("input", { bubbles: true }));
  field.dispatchEvent(new Event("change", { bubbles: true }));
}

/** Replaces `old` by `replacement` in a textarea/input (when the files changed after an append). */
function replaceText(field, old, replacement) {
  if (field.isContentEditable) return false;
  const proto = field instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, "value").set.call(field, field.value.replace(old, replacement));
  field.dispatchEvent(new Event("input", { bubbles: true }));
  return true;
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

function formatSize(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let i = -1;
  do {
    n /= 1024;
    i++;
  } while (n >= 1024 && i < units.length - 1);
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

// ---- the encryption worker ---------------------------------------------------------------

/** Starts the worker through a same-origin blob: shim; falls back to running in the page. */
async function startRunner(assets, version, onMessage) {
  const url = `${assets}worker.js?v=${encodeURIComponent(version)}`;
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

// ---- the widget --------------------------------------------------------------------------

class Widget {
  constructor({ key, version, assets, base }) {
    this.key = key;
    this.version = version;
    this.assets = assets;
    this.base = base;
    this.config = null;
    this.configError = null;
    this.files = []; // {id, file, done, total, error}
    this.job = null; // {id, files, state: "uploading"|"uploaded"|"finalized"|"failed", link, error}
    this.jobCounter = 0;
    this.waiters = new Map();
    this.appended = null; // the link text last put into the description
    this.submitting = false;
    this.form = null;
    this.active = false;
  }

  async init() {
    this.configPromise = this.loadConfig();
    document.addEventListener("submit", (e) => this.onSubmit(e), true);
    document.addEventListener("change", (e) => {
      if (e.target?.name === "request[ticket_form_id]") this.sync();
    }, true);
    new MutationObserver(() => this.sync()).observe(document.documentElement, { childList: true, subtree: true });
    await this.configPromise;
    this.sync();
  }

  async loadConfig() {
    try {
      const response = await fetch(`${this.base}/widget/v1/config`, {
        headers: { "X-Sealdrop-Widget-Key": this.key },
        mode: "cors",
        credentials: "omit",
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) throw new Error(body?.message || `the sealdrop server answered ${response.status}`);
      this.config = body;
    } catch (err) {
      this.configError = err.message || String(err);
      console.error(`sealdrop: secure attachments are not available: ${this.configError}`);
    }
  }

  /** Finds the form, decides whether it is protected, and shows or hides the panel. */
  sync() {
    const form = requestForm();
    if (!form) return;
    const dropzone = nativeDropzone(form);
    if (form !== this.form || !this.host?.isConnected) {
      this.form = form;
      if (!dropzone) return;
      this.render(dropzone);
    }
    const formId = ticketFormId(form);
    const forms = this.config?.forms ?? [];
    // Without a config (wrong key, refused origin) the panel shows why and the plain
    // attachment field stays hidden: fail closed rather than let files go unencrypted.
    const active = !this.config || forms.length === 0 || (formId !== null && forms.includes(formId));
    if (active !== this.active) {
      this.active = active;
      if (!active) this.clearFiles();
    }
    this.host.hidden = !active;
    this.host.style.display = active ? "" : "none";
    if (dropzone) {
      dropzone.style.display = active ? "none" : "";
      dropzone.toggleAttribute("data-sealdrop-hidden", active);
    }
    if (this.configError) this.showError(`Secure attachments are not available: ${this.configError}`, { fatal: true });
  }

  render(dropzone) {
    this.host?.remove();
    const host = document.createElement("div");
    host.className = "sealdrop-widget";
    host.setAttribute("data-sealdrop", "widget");
    dropzone.insertAdjacentElement("afterend", host);
    const shadow = host.attachShadow({ mode: "open" });
    shadow.innerHTML = `
      <link rel="stylesheet" href="${this.assets}widget.css?v=${encodeURIComponent(this.version)}">
      <div class="panel" part="panel">
        <div class="head"><span class="padlock" aria-hidden="true"></span>
          <span>Attachments are end-to-end encrypted before they leave your browser.</span></div>
        <div class="drop" role="button" tabindex="0" aria-label="Add encrypted attachments">
          <span>Choose files or drag and drop them here</span>
          <input type="file" multiple hidden class="input" aria-label="Encrypted attachments">
        </div>
        <ul class="files" aria-live="polite"></ul>
        <p class="status" role="status"></p>
        <p class="error" role="alert" hidden></p>
      </div>`;
    this.host = host;
    this.ui = {
      drop: shadow.querySelector(".drop"),
      input: shadow.querySelector(".input"),
      list: shadow.querySelector(".files"),
      status: shadow.querySelector(".status"),
      error: shadow.querySelector(".error"),
    };
    const { drop, input } = this.ui;
    drop.addEventListener("click", () => input.click());
    drop.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        input.click();
      }
    });
    input.addEventListener("change", () => {
      this.addFiles(Array.from(input.files));
      input.value = "";
    });
    drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      this.addFiles(Array.from(e.dataTransfer?.files ?? []));
    });
    this.renderFiles();
  }

  // ---- files and jobs ----

  addFiles(files) {
    if (this.configError) return;
    this.clearError();
    const max = this.config?.max_file_size ?? Infinity;
    for (const file of files) {
      if (this.files.length >= MAX_FILES) {
        this.showError(`At most ${MAX_FILES} files can be attached.`);
        break;
      }
      const error = file.size > max ? `Too large: files can be at most ${formatSize(max)}.` : null;
      this.files.push({ id: ++this.jobCounter, file, done: 0, total: file.size, error });
    }
    this.filesChanged();
  }

  removeFile(id) {
    this.files = this.files.filter((f) => f.id !== id);
    this.clearError();
    this.filesChanged();
  }

  clearFiles() {
    if (this.files.length === 0 && !this.job) return;
    this.files = [];
    this.filesChanged();
  }

  /** Any change of the attached files starts one new package with all of them. */
  filesChanged() {
    this.cancelJob();
    for (const f of this.files) f.done = 0;
    this.renderFiles();
    clearTimeout(this.debounce);
    // Several files picked one after another go into one package.
    this.debounce = setTimeout(() => this.startJob(), 250);
  }

  async runner() {
    this.runnerPromise ??= startRunner(this.assets, this.version, (m) => this.onWorker(m));
    return this.runnerPromise;
  }

  async startJob() {
    const good = this.files.filter((f) => !f.error);
    if (good.length === 0 || good.length !== this.files.length) return this.renderFiles();
    const job = { id: ++this.jobCounter, files: good, state: "uploading", link: null, error: null };
    this.job = job;
    this.renderFiles();
    try {
      const runner = await this.runner();
      if (this.job !== job) return;
      runner.post({ type: "start", job: job.id, files: good.map((f) => f.file), base: this.base, key: this.key });
    } catch (err) {
      this.jobFailed(job, err.message || String(err));
    }
  }

  cancelJob() {
    const job = this.job;
    this.job = null;
    if (!job || job.state === "finalized") return;
    this.runnerPromise?.then((r) => r.post({ type: "cancel", job: job.id })).catch(() => {});
    this.settle(job, new Error("the attachments changed"));
  }

  onWorker(message) {
    const job = this.job;
    if (!job || message.job !== job.id) return;
    switch (message.type) {
      case "progress": {
        const entry = job.files[message.file];
        if (entry) {
          entry.done = message.done;
          entry.total = message.total;
          this.renderProgress(entry);
        }
        break;
      }
      case "uploaded":
        job.state = "uploaded";
        for (const f of job.files) f.done = f.total;
        this.renderFiles();
        break;
      case "finalized":
        job.state = "finalized";
        job.link = message.link;
        this.settle(job, null, message.link);
        break;
      case "error":
        this.jobFailed(job, message.message, message.code);
        break;
      default:
    }
  }

  jobFailed(job, message, code) {
    job.state = "failed";
    job.error = message;
    const hint = code === "rate_limited" || code === "payload_too_large" ? "" : " Remove a file or add it again to retry.";
    this.showError(`The encrypted upload failed: ${message}${hint}`);
    this.settle(job, new Error(message));
    this.renderFiles();
  }

  settle(job, error, link) {
    const waiter = this.waiters.get(job.id);
    if (!waiter) return;
    this.waiters.delete(job.id);
    if (error) waiter.reject(error);
    else waiter.resolve(link);
  }

  /** Finalizes the current package (after its uploads) and resolves to its secure link. */
  async finalizeJob() {
    clearTimeout(this.debounce);
    if (!this.job) await this.startJob();
    const job = this.job;
    if (!job) throw new Error(this.files.some((f) => f.error) ? "remove the files that cannot be sent first" : "nothing to send");
    if (job.state === "finalized") return job.link;
    if (job.state === "failed") throw new Error(job.error);
    const link = new Promise((resolve, reject) => this.waiters.set(job.id, { resolve, reject }));
    const runner = await this.runner();
    runner.post({ type: "finalize", job: job.id });
    return link;
  }

  // ---- submit ----

  onSubmit(event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form !== this.form || !this.active) return;
    // Without a config no file can be attached (the panel says why), so a request without
    // attachments still goes through.
    if (this.files.length === 0) return; // nothing secure to add
    const field = descriptionField(form);
    const link = this.job?.state === "finalized" ? this.job.link : null;
    if (link && field && currentText(field).includes(link)) return; // our own re-submit, or a retry
    event.preventDefault();
    event.stopImmediatePropagation();
    if (this.submitting) return;
    this.submitting = true;
    this.submitAfterUpload(form, field, event.submitter);
  }

  async submitAfterUpload(form, field, submitter) {
    this.clearError();
    this.setStatus("Encrypting and uploading your attachments; the form is sent when they are done…");
    try {
      if (!field) throw new Error("the description field was not found");
      const link = await this.finalizeJob();
      const text = `${LINK_LABEL}${link}`;
      const present = currentText(field);
      if (this.appended && present.includes(this.appended) && this.appended !== text) {
        replaceText(field, this.appended, text);
      } else if (!present.includes(link)) {
        appendText(field, `${present.trim() ? "\n\n" : ""}${text}`);
      }
      this.appended = text;
      await nextFrame(); // let the form's framework render the new state
      this.keepInHiddenInput(form, link);
      this.setStatus("Attachments encrypted and uploaded.");
      this.submitting = false;
      if (submitter && submitter.form === form) form.requestSubmit(submitter);
      else form.requestSubmit();
    } catch (err) {
      this.submitting = false;
      this.setStatus("");
      this.showError(`The request was not sent: ${err.message || err}`);
    }
  }

  /** React forms submit a hidden input rendered from state; make sure it holds the link. */
  keepInHiddenInput(form, link) {
    const hidden = form.querySelector('input[type="hidden"][name="request[description]"]');
    if (hidden && !hidden.value.includes(link)) {
      console.warn("sealdrop: the form's description state did not take the link; setting the submitted field directly");
      const field = descriptionField(form);
      hidden.value = field ? currentText(field) : `${hidden.value}\n\n${LINK_LABEL}${link}`;
    }
  }

  // ---- rendering ----

  renderFiles() {
    if (!this.ui) return;
    const { list } = this.ui;
    list.replaceChildren();
    for (const entry of this.files) {
      const li = document.createElement("li");
      li.className = entry.error ? "file failed" : "file";
      li.dataset.name = entry.file.name;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = entry.file.name;
      const size = document.createElement("span");
      size.className = "size";
      size.textContent = formatSize(entry.file.size);
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.setAttribute("aria-label", `Encrypting and uploading ${entry.file.name}`);
      const state = document.createElement("span");
      state.className = "state";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "remove";
      remove.textContent = "×";
      remove.title = `Remove ${entry.file.name}`;
      remove.setAttribute("aria-label", `Remove ${entry.file.name}`);
      remove.addEventListener("click", () => this.removeFile(entry.id));
      li.append(name, size, bar, state, remove);
      if (entry.error) {
        const why = document.createElement("span");
        why.className = "why";
        why.textContent = entry.error;
        li.append(why);
      }
      entry.el = { li, bar, state };
      list.append(li);
      this.renderProgress(entry);
    }
  }

  renderProgress(entry) {
    if (!entry.el) return;
    const pct = entry.total > 0 ? Math.floor((100 * entry.done) / entry.total) : this.job?.state === "uploaded" ? 100 : 0;
    entry.el.bar.value = pct;
    const failed = this.job?.state === "failed";
    entry.el.state.textContent = entry.error ? "" : failed ? "failed" : pct >= 100 ? "encrypted" : `${pct}%`;
    entry.el.li.dataset.progress = String(pct);
  }

  setStatus(text) {
    if (this.ui) this.ui.status.textContent = text;
  }

  showError(text, { fatal = false } = {}) {
    if (!this.ui) return;
    this.ui.error.textContent = text;
    this.ui.error.hidden = false;
    if (fatal) this.ui.drop.setAttribute("aria-disabled", "true");
  }

  clearError() {
    if (!this.ui || this.configError) return;
    this.ui.error.textContent = "";
    this.ui.error.hidden = true;
  }
}
