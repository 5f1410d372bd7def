// The sealdrop Help Center widget (loaded by loader.js on request-form pages).
//
// It takes over the form's attachment area: files dropped or picked there are encrypted in
// a Web Worker and uploaded to sealdrop as one package as soon as they are attached (the
// page stays responsive); the theme's own dropzone is hidden, and every other way a file
// could leave in plaintext (pasting or dropping into the description, the editor's image
// button) is closed (guard.js). On submit it waits for the uploads, finalizes the package,
// puts the secure link into the description the way the form's own state keeps it
// (description.js), checks that it is there, and only then submits the form again, so that
// the theme's own submit path runs (CSRF token, editor sync). A form that cannot take the
// link is not sent: the panel says why and the customer's text stays as it was.
//
// Forms the tenant did not choose (`widget_forms`) are left alone, and switching ticket
// forms switches the widget on and off.
//
// With `data-admin-key` in the snippet, uploads are sealed to the tenant's support team
// (team.js): the roster is verified before the first file can be attached and again before
// each package is created, and a roster that does not verify leaves the panel refusing files.
//
// It runs from the release bundle the loader checked (`cargo xtask wasm` bundles this module
// with form.js (finding the form), description.js (putting the link in), guard.js (no
// plaintext route), panel.js (what the customer sees), runner.js (the encryption worker),
// team.js (team keys) and ../shared/format.js). Everything it loads later (widget.css, the
// worker, the wasm) comes through the loader's `load(name)`, which checks each file's
// SHA-384 against the release.

import { description, LINK_LABEL, richEditor } from "./description.js";
import { nativeDropzone, requestForm, ticketFormId } from "./form.js";
import { guardEditor, installGuard } from "./guard.js";
import { Panel, styleSheet } from "./panel.js";
import { startRunner } from "./runner.js";
import { RosterMemory, teamPlan } from "./team.js";
import { formatBytes } from "../shared/format.js";

const MAX_FILES = 100;

let mounted = null;

/**
 * Entry point, called by loader.js: `key` the widget key, `adminKey` the snippet's pinned
 * admin key fingerprint (or null), `base` the sealdrop server, `load(name)` the loader's
 * checked fetch of a release file.
 */
export async function mount({ key, adminKey = null, base, load }) {
  if (mounted) return mounted;
  mounted = new Widget({ key, adminKey, load, base: base.replace(/\/+$/, "") });
  await mounted.init();
  return mounted;
}

/** The panel's refusal when the widget's own code or set-up failed. */
const unavailable = (err) => `Secure attachments are not available: ${err?.message || err}`;

/** The panel's refusal when the support team's keys did not verify. */
const notForTheTeam = (why) => `Files cannot be attached: ${why}. Attachments are only sent encrypted for this account's support team.`;

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

class Widget {
  constructor({ key, adminKey, load, base }) {
    this.key = key;
    this.adminKey = adminKey;
    this.load = load;
    this.base = base;
    this.styles = [];
    this.config = null;
    this.configError = null;
    this.fatal = null; // why no file can be attached (the release's code refused, team keys)
    this.team = null; // {pin, tenant, memory} when uploads are sealed to the team
    this.teamState = null; // "checking" | "verified" | "refused"
    this.requests = new Map();
    this.files = []; // {id, file, done, total, error}
    this.job = null; // {id, files, state: "uploading"|"uploaded"|"finalized"|"failed", link, error}
    this.counter = 0;
    this.waiters = new Map();
    this.appended = null; // the link last put into the description
    this.submitting = false;
    this.passThrough = false; // our own requestSubmit, while it dispatches
    this.form = null;
    this.panel = null;
    this.active = false;
  }

  async init() {
    const styles = this.load("widget.css").then((bytes) => [styleSheet(new TextDecoder().decode(bytes))]);
    this.configPromise = this.loadConfig();
    document.addEventListener("submit", (e) => this.onSubmit(e), true);
    document.addEventListener("change", (e) => {
      if (e.target?.name === "request[ticket_form_id]") this.sync();
    }, true);
    installGuard({
      isActive: () => this.active && Boolean(this.panel?.connected),
      form: () => this.form,
      own: (event) => Boolean(this.panel?.owns(event)),
      onFiles: (files) => this.addFiles(files),
    });
    new MutationObserver(() => this.sync()).observe(document.documentElement, { childList: true, subtree: true });
    try {
      this.styles = await styles;
      // The page may have rendered the panel while the stylesheet was being fetched and checked.
      this.panel?.useStyles(this.styles);
    } catch (err) {
      this.refuse(unavailable(err));
    }
    await this.configPromise;
    if (this.config) {
      const plan = teamPlan({ adminKey: this.adminKey, config: this.config });
      if (plan?.error) this.refuse(notForTheTeam(plan.error));
      else if (plan) this.team = { ...plan, memory: new RosterMemory(plan) };
    }
    this.sync();
    if (!this.configError && !this.fatal) this.prepare();
  }

  /** No file can be attached from now on; the panel says `why` (a sentence). */
  refuse(why) {
    this.fatal ??= why;
    if (this.team) this.teamState = "refused";
    this.clearFiles();
    this.sync();
  }

  /**
   * Starts the runner now (so a worker or wasm the release does not pin is refused before a
   * customer attaches anything) and, with team keys, checks the roster once.
   */
  async prepare() {
    try {
      const runner = await this.runner();
      if (!this.team) return;
      this.teamState = "checking";
      this.sync();
      const answer = await this.ask(runner, { type: "roster", base: this.base, key: this.key, team: this.teamJob() });
      if (answer.error) return this.refuse(notForTheTeam(answer.error));
      this.teamState = "verified";
      this.sync();
    } catch (err) {
      this.refuse(unavailable(err));
    }
    return undefined;
  }

  /** Sends `message` to the runner with a request id; resolves to the runner's answer. */
  ask(runner, message) {
    const request = ++this.counter;
    return new Promise((resolve) => {
      this.requests.set(request, resolve);
      runner.post({ ...message, request });
    });
  }

  /** The worker's `team` for a job: the pin, the account, the highest roster sequence seen. */
  teamJob() {
    if (!this.team) return null;
    return { pin: this.team.pin, tenant: this.team.tenant, highestSeen: this.team.memory.highest() };
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
    if (form !== this.form || !this.panel?.connected) {
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
    this.panel.show(active);
    if (dropzone) {
      dropzone.style.display = active ? "none" : "";
      dropzone.toggleAttribute("data-sealdrop-hidden", active);
    }
    const editor = richEditor(form);
    if (editor) {
      guardEditor(editor, {
        isActive: () => this.active,
        onFiles: (files) => this.addFiles(files),
      });
    }
    if (this.configError) this.panel.showError(`Secure attachments are not available: ${this.configError}`, { fatal: true });
    else if (this.fatal) this.panel.showError(this.fatal, { fatal: true });
    if (this.teamState) this.panel.host.dataset.team = this.teamState;
  }

  render(dropzone) {
    this.panel?.remove();
    this.panel = new Panel(dropzone, {
      styles: this.styles,
      actions: { pick: (files) => this.addFiles(files), remove: (id) => this.removeFile(id) },
    });
    this.renderFiles();
  }

  // ---- files and jobs ----

  addFiles(files) {
    if (this.configError || this.fatal || !this.panel) return;
    this.panel.clearError();
    const max = this.config?.max_file_size ?? Infinity;
    for (const file of files) {
      if (this.files.length >= MAX_FILES) {
        this.panel.showError(`At most ${MAX_FILES} files can be attached.`);
        break;
      }
      const error = file.size > max ? `Too large: files can be at most ${formatBytes(max)}.` : null;
      this.files.push({ id: ++this.counter, file, done: 0, total: file.size, error });
    }
    this.filesChanged();
  }

  removeFile(id) {
    this.files = this.files.filter((f) => f.id !== id);
    this.panel?.clearError();
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
    this.runnerPromise ??= startRunner(this.load, (m) => this.onWorker(m));
    return this.runnerPromise;
  }

  async startJob() {
    const good = this.files.filter((f) => !f.error);
    if (good.length === 0 || good.length !== this.files.length) return this.renderFiles();
    const job = { id: ++this.counter, files: good, state: "uploading", link: null, error: null };
    this.job = job;
    this.renderFiles();
    try {
      const runner = await this.runner();
      if (this.job !== job) return undefined;
      runner.post({ type: "start", job: job.id, files: good.map((f) => f.file), base: this.base, key: this.key, team: this.teamJob() });
    } catch (err) {
      this.jobFailed(job, err.message || String(err));
    }
    return undefined;
  }

  cancelJob() {
    const job = this.job;
    this.job = null;
    if (!job || job.state === "finalized") return;
    this.runnerPromise?.then((r) => r.post({ type: "cancel", job: job.id })).catch(() => {});
    this.settle(job, new Error("the attachments changed"));
  }

  onWorker(message) {
    if (message.type === "roster-accepted") {
      this.team?.memory.remember(message.sequence);
      return;
    }
    if (message.type === "roster") {
      const answer = this.requests.get(message.request);
      this.requests.delete(message.request);
      answer?.(message);
      return;
    }
    const job = this.job;
    if (!job || message.job !== job.id) return;
    switch (message.type) {
      case "progress": {
        const entry = job.files[message.file];
        if (entry) {
          entry.done = message.done;
          entry.total = message.total;
          this.panel?.renderProgress(entry, job.state);
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
        if (message.team) this.refuse(notForTheTeam(message.message));
        break;
      default:
    }
  }

  jobFailed(job, message, code) {
    job.state = "failed";
    job.error = message;
    const hint = code === "rate_limited" || code === "payload_too_large" ? "" : " Remove a file or add it again to retry.";
    this.panel?.showError(`The encrypted upload failed: ${message}${hint}`);
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
    if (this.files.length === 0) return;
    const link = this.job?.state === "finalized" ? this.job.link : null;
    if (this.passThrough) {
      // Our own re-submit, checked once more: the link must be in what the form posts.
      if (link && description(form)?.has(link)) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      this.panel.showError("The request was not sent: the secure link did not stay in the description.");
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    if (this.submitting) return;
    this.submitting = true;
    this.submitAfterUpload(form, event.submitter);
  }

  async submitAfterUpload(form, submitter) {
    this.panel.clearError();
    this.panel.setStatus("Encrypting and uploading your attachments; the form is sent when they are done…");
    try {
      const link = await this.finalizeJob();
      const field = description(form);
      if (!field) throw new Error("this form has no description field to put the secure link in");
      if (!field.has(link)) {
        const previous = this.appended && this.appended !== link && field.has(this.appended) ? this.appended : null;
        field.put(link, previous);
      }
      await nextFrame(); // let the form's framework render the new state
      if (!description(form)?.has(link)) {
        throw new Error("the secure link could not be put into the description, so the form was not sent. Copy this line into the description and submit again: " + `${LINK_LABEL}${link}`);
      }
      this.appended = link;
      this.panel.setStatus("Attachments encrypted and uploaded.");
      this.submitting = false;
      this.passThrough = true;
      try {
        if (submitter && submitter.form === form) form.requestSubmit(submitter);
        else form.requestSubmit();
      } finally {
        // requestSubmit dispatches `submit` synchronously, or not at all when the browser's
        // validation stops it: either way the next submit is the customer's again.
        this.passThrough = false;
      }
    } catch (err) {
      this.submitting = false;
      this.panel.setStatus("");
      this.panel.showError(`The request was not sent: ${err.message || err}`);
    }
  }

  // ---- rendering ----

  renderFiles() {
    this.panel?.renderFiles(this.files, this.job?.state);
  }
}
