// The inbox: every secure link in the ticket, opened (names, sizes, sender, expiry), each file
// downloaded and decrypted into a sink, and revoking. Team-sealed Help Center uploads open with
// this browser's device key (team/open.js); when they cannot, the entry says why.

import * as wasm from "/static/pkg/sealdrop_widget.js";
import { ApiError } from "/static/shared/api.js";
import {
  BLOB_WARN_BYTES, DownloadError, bestStrategy, downloadToSink, ensureServiceWorker, openSink,
} from "/static/shared/download.js";
import { formatBytes } from "/static/shared/format.js";
import { ManifestError, PackageLink } from "/static/shared/package-link.js";

import { api, state } from "./context.js";
import { $, el, show, when } from "./dom.js";
import { t } from "./strings.js";
import { TeamOpenError, openTeamPackage } from "./team/open.js";
import { findLinks, loadTicket } from "./ticket.js";

let refreshing = null;

/** Reads the ticket again and opens the links not yet shown (once each; several calls share one run). */
export async function refreshInbox() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      await loadTicket();
      const links = findLinks();
      show("inbox-empty", links.length === 0);
      $("inbox-empty").textContent = t("inbox.empty");
      const list = $("links");
      const seen = new Set();
      for (const [n, found] of links.entries()) {
        const id = found.parsed?.packageId ?? found.link;
        seen.add(id);
        if (!state.links.has(id)) {
          const entry = { id, n: n + 1, ...found, node: el("li", { dataset: { package: id } }) };
          state.links.set(id, entry);
          list.append(entry.node);
          openEntry(entry);
        }
      }
      for (const [id, entry] of state.links) {
        if (!seen.has(id)) {
          entry.node.remove();
          state.links.delete(id);
        }
      }
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Wires the inbox's controls. */
export function setUpInbox() {
  $("inbox-refresh").addEventListener("click", async () => {
    for (const entry of state.links.values()) {
      entry.node.remove();
      entry.opened?.free?.();
    }
    state.links.clear();
    await refreshInbox();
  });
}

const STATE_KEYS = {
  expired: "inbox.state_expired",
  revoked: "inbox.state_revoked",
  download_limit_reached: "inbox.state_limit",
  not_found: "inbox.state_not_found",
  tampered: "inbox.state_tampered",
  forbidden: "inbox.state_forbidden",
  verification_required: "inbox.state_forbidden",
  team_no_device: "inbox.state_team_no_device",
  team_not_recipient: "inbox.state_team_not_recipient",
  team_binding: "inbox.state_team_binding",
};

/** A team-sealed package that did not open with this device, as an inbox state. */
const TEAM_STATES = {
  no_device: "team_no_device",
  no_usable_stanza: "team_not_recipient",
  link_binding_mismatch: "team_binding",
};

async function openEntry(entry) {
  renderEntry(entry, { state: "loading" });
  if (!entry.parsed) return renderEntry(entry, { state: "not_found" });
  entry.pkg ??= new PackageLink({ api, link: entry.parsed });
  try {
    entry.info = await entry.pkg.info();
    entry.opened = await entry.pkg.open(wasm, { openTeam: openTeamPackage });
    entry.files = entry.opened.metadata.files;
    renderEntry(entry, { state: "ready" });
  } catch (err) {
    if (err instanceof TeamOpenError) {
      // Anything else (a commitment or metadata that fails) is tampering, as for any package.
      return renderEntry(entry, { state: TEAM_STATES[err.kind] ?? "tampered", detail: err.message });
    }
    // Key commitment, metadata or manifest authentication failed.
    if (err instanceof ManifestError) return renderEntry(entry, { state: "tampered", detail: err.message });
    const code = err instanceof ApiError ? err.code : "error";
    renderEntry(entry, { state: STATE_KEYS[code] ? code : "error", detail: err.message });
  }
}

function renderEntry(entry, { state: s, detail = "" }) {
  entry.state = s;
  const node = entry.node;
  node.replaceChildren();
  node.dataset.state = s;
  node.className = s === "ready" || s === "loading" ? "" : "bad";
  const head = el("div", { class: "link-head" }, el("span", {}, t("inbox.link", { n: entry.n })));
  const stateLine = el("span", { class: "state" });
  head.append(stateLine);
  node.append(head);
  if (s === "loading") {
    stateLine.textContent = t("loading");
    return;
  }
  if (s !== "ready") {
    const msg = STATE_KEYS[s] ? t(STATE_KEYS[s]) : t("inbox.state_error", { message: detail });
    node.append(el("p", { class: "error state-text" }, msg));
    return;
  }
  const info = entry.info;
  const sender = entry.opened.metadata.sender || info.sender;
  if (sender) node.append(el("p", { class: "note" }, t("inbox.from", { sender })));
  if (entry.opened.metadata.message) node.append(el("p", { class: "message" }, entry.opened.metadata.message));
  node.append(el("p", { class: "note expires" }, t("inbox.expires", { date: when(info.expires_at) })));
  const left = info.downloads_left;
  node.append(el("p", { class: "note downloads-left" }, left === null || left === undefined ? t("inbox.unlimited") : t("inbox.downloads_left", { n: left })));
  const files = el("ul", { class: "files" });
  entry.files.forEach((f, i) => {
    const status = el("span", { class: "file-status note", hidden: true });
    const bar = el("progress", { max: 1, value: 0, hidden: true });
    const button = el("button", { type: "button", class: "small download", onclick: () => download(entry, i, button, bar, status) }, t("inbox.download"));
    files.append(el("li", { dataset: { file: String(i) } },
      el("span", { class: "name" }, f.name), button,
      el("span", { class: "size" }, `${formatBytes(f.size)}${f.type ? ` · ${f.type}` : ""}`), el("span"),
      bar, status));
  });
  node.append(files);
  node.append(el("p", {}, el("button", { type: "button", class: "danger small revoke", onclick: () => revoke(entry.parsed.packageId, () => openEntry(entry)) }, t("inbox.revoke"))));
}

async function downloadToken(entry) {
  const { token, started } = await entry.pkg.downloadToken();
  const left = entry.node.querySelector(".downloads-left");
  if (started && left && typeof entry.info.downloads_left === "number") {
    left.textContent = t("inbox.downloads_left", { n: entry.info.downloads_left });
  }
  return token;
}

/** The sink for one file: the service worker stream (straight to the browser's downloads,
 *  memory flat whatever the size) whenever the worker registers, for every size, so that the
 *  path every download takes is the one tested at 1 GiB (sidebar-download.test.mjs); else a
 *  Blob, which holds the file in memory (a browser that refuses the frame a service worker). */
async function sinkFor(file) {
  if (bestStrategy() !== "blob") {
    try {
      await Promise.race([ensureServiceWorker(), new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 3000))]);
      return await openSink("sw", { name: file.name, type: file.type, size: file.size });
    } catch {
      // No service worker for this frame: memory it is.
    }
  }
  if (file.size > BLOB_WARN_BYTES) console.warn("sealdrop: this file is held in memory until it is saved (no service worker in this frame)");
  return openSink("blob", { name: file.name, type: file.type, size: file.size });
}

async function download(entry, index, button, bar, status) {
  const file = entry.files[index];
  button.disabled = true;
  bar.hidden = false;
  bar.value = 0;
  status.hidden = false;
  status.className = "file-status note";
  status.textContent = t("inbox.downloading", { percent: 0 });
  let decryptor = null;
  try {
    const token = await downloadToken(entry);
    decryptor = entry.opened.file(index);
    const sink = await sinkFor(file);
    await downloadToSink({
      url: `${api.base}/api/v1/packages/${entry.parsed.packageId}/files/${index}`,
      headers: { "X-Sealdrop-Download-Token": token },
      decryptor,
      sink,
      onProgress: ({ bytes, total }) => {
        const frac = total > 0 ? bytes / total : 1;
        bar.value = frac;
        status.textContent = t("inbox.downloading", { percent: Math.floor(frac * 100) });
      },
    });
    bar.value = 1;
    status.className = "file-status note ok";
    status.textContent = t("inbox.downloaded");
    entry.node.querySelector(`li[data-file="${index}"]`).dataset.done = "1";
  } catch (err) {
    status.className = "file-status error";
    if (err instanceof DownloadError && err.kind === "tampered") {
      status.textContent = t("inbox.state_tampered");
      entry.node.dataset.state = "tampered";
      entry.node.className = "bad";
    } else if (err instanceof ApiError && STATE_KEYS[err.code]) {
      status.textContent = t(STATE_KEYS[err.code]);
    } else {
      status.textContent = t("inbox.state_error", { message: err.message });
    }
  } finally {
    decryptor?.free?.();
    button.disabled = false;
  }
}

export async function revoke(packageId, after) {
  if (!window.confirm(t("inbox.confirm_revoke"))) return;
  try {
    await api.request("DELETE", `/api/v1/packages/${packageId}`, { ok: [204] });
    await after();
  } catch (err) {
    window.alert(t("inbox.state_error", { message: err.message }));
  }
}
