// The panel the customer sees in place of the theme's attachment field, in its own shadow
// root (the theme's styles do not reach in; `widget.css` sets its own font and colours, so
// it stays legible inside Garden fields, which set `font-size: 0`). Its styles are
// constructed stylesheets (`adoptedStyleSheets`): the first rule below, and widget.css from
// the bytes the loader checked against the release, so no <style> or <link> is needed and a
// Help Center's CSP need not allow inline styles.

import { formatBytes } from "../shared/format.js";

/** Legible from the first frame: the host would otherwise inherit Garden's `font-size: 0`. */
const HOST_RULE = ":host { all: initial; display: block; font: 14px/20px system-ui, sans-serif; color: #2f3941; }";

/** A constructed stylesheet of `text`. */
export function styleSheet(text) {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(text);
  return sheet;
}

/**
 * Renders the panel after `anchor`; `styles` are the widget's stylesheets (widget.css as a
 * `CSSStyleSheet`), `actions` are `{ pick(files), remove(id) }`.
 */
export class Panel {
  constructor(anchor, { styles = [], actions }) {
    const host = document.createElement("div");
    host.className = "sealdrop-widget";
    host.setAttribute("data-sealdrop", "widget");
    anchor.insertAdjacentElement("afterend", host);
    const shadow = host.attachShadow({ mode: "open" });
    this.shadow = shadow;
    this.host = host;
    this.useStyles(styles);
    shadow.innerHTML = `
      <div class="panel" part="panel">
        <p class="head" id="sealdrop-head"><span class="padlock" aria-hidden="true"></span>
          <span>Attachments are end-to-end encrypted before they leave your browser.</span></p>
        <button type="button" class="drop" aria-describedby="sealdrop-head">Choose files or drag and drop them here</button>
        <input type="file" multiple hidden class="input" tabindex="-1" aria-label="Encrypted attachments">
        <ul class="files" aria-label="Encrypted attachments" aria-live="polite"></ul>
        <p class="status" role="status"></p>
        <p class="error" role="alert" hidden></p>
      </div>`;
    this.host = host;
    this.actions = actions;
    this.drop = shadow.querySelector(".drop");
    this.input = shadow.querySelector(".input");
    this.list = shadow.querySelector(".files");
    this.status = shadow.querySelector(".status");
    this.error = shadow.querySelector(".error");
    this.disabled = false;
    this.entries = new Map();

    this.drop.addEventListener("click", () => {
      if (!this.disabled) this.input.click();
    });
    this.input.addEventListener("change", () => {
      actions.pick(Array.from(this.input.files));
      this.input.value = "";
    });
    this.drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      this.drop.classList.add("over");
    });
    this.drop.addEventListener("dragleave", () => this.drop.classList.remove("over"));
    this.drop.addEventListener("drop", (e) => {
      e.preventDefault();
      this.drop.classList.remove("over");
      if (!this.disabled) actions.pick(Array.from(e.dataTransfer?.files ?? []));
    });
  }

  /**
   * Applies the widget's stylesheets: they may arrive after the panel is rendered (the loader
   * fetches and checks widget.css); `data-styled` says they are in.
   */
  useStyles(styles) {
    this.shadow.adoptedStyleSheets = [styleSheet(HOST_RULE), ...styles];
    if (styles.length > 0) this.host.dataset.styled = "";
  }

  get connected() {
    return this.host.isConnected;
  }

  /** Whether `event` happened inside the panel. */
  owns(event) {
    return event.composedPath().includes(this.host);
  }

  show(visible) {
    this.host.hidden = !visible;
    this.host.style.display = visible ? "" : "none";
  }

  remove() {
    this.host.remove();
  }

  /** Lists `files` (`{id, file, done, total, error}`); `state` is the upload's state. */
  renderFiles(files, state) {
    this.list.replaceChildren();
    this.entries.clear();
    for (const entry of files) {
      const li = document.createElement("li");
      li.className = entry.error ? "file failed" : "file";
      li.dataset.name = entry.file.name;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = entry.file.name;
      name.title = entry.file.name;
      const size = document.createElement("span");
      size.className = "size";
      size.textContent = formatBytes(entry.file.size);
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.setAttribute("aria-label", `Encrypting and uploading ${entry.file.name}`);
      const stateText = document.createElement("span");
      stateText.className = "state";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "remove";
      remove.innerHTML = '<span aria-hidden="true">×</span>';
      remove.title = `Remove ${entry.file.name}`;
      remove.setAttribute("aria-label", `Remove ${entry.file.name}`);
      remove.addEventListener("click", () => this.actions.remove(entry.id));
      li.append(name, size, bar, stateText, remove);
      if (entry.error) {
        const why = document.createElement("span");
        why.className = "why";
        why.textContent = entry.error;
        li.append(why);
      }
      this.entries.set(entry.id, { li, bar, state: stateText });
      this.list.append(li);
      this.renderProgress(entry, state);
    }
  }

  renderProgress(entry, state) {
    const el = this.entries.get(entry.id);
    if (!el) return;
    const pct = entry.total > 0 ? Math.floor((100 * entry.done) / entry.total) : state === "uploaded" ? 100 : 0;
    el.bar.value = pct;
    el.state.textContent = entry.error ? "" : state === "failed" ? "failed" : pct >= 100 ? "encrypted" : `${pct}%`;
    el.li.dataset.progress = String(pct);
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  showError(text, { fatal = false } = {}) {
    this.error.textContent = text;
    this.error.hidden = false;
    if (fatal) {
      this.disabled = true;
      this.drop.setAttribute("aria-disabled", "true");
    }
  }

  clearError() {
    if (this.disabled) return;
    this.error.textContent = "";
    this.error.hidden = true;
  }
}
