// The sealdrop agent sidebar (ZAF v2 app, ticket_sidebar location).
//
// Zendesk POSTs a signed JWT to /zendesk/sidebar; the server answers this page with
// <meta name="sealdrop-status|sealdrop-message|sealdrop-session">. The session (`sda_…`) goes
// as `Authorization: Bearer` on every API call, never in a URL. The page talks to Zendesk only
// through the ZAF SDK (zaf_sdk.js, the npm zendesk_app_framework_sdk bundled): it reads the
// ticket's text and people with client.get(), and appends the secure link to the reply with
// client.invoke('ticket.comment.appendText' | 'ticket.comment.appendHtml').
//
// Cryptography and transfers are the shared browser flows, not reimplemented here:
//   - the wasm bindings (/static/pkg/sealdrop_widget.js): parseLink, openPackage, PackageSealer;
//   - /static/shared/upload.js: encrypt + upload with parts, retries and resume (send);
//   - /static/shared/download.js: streamed download + decrypt into a sink (inbox).
// Secrets: the link secret C lives only in the ticket text and this page's memory; the link
// proof, server secret and tokens travel in headers and bodies; nothing here logs them.

import init, * as wasm from "/static/pkg/sealdrop_widget.js";
import { Api, ApiError, startUpload } from "/static/shared/upload.js";
import {
  BLOB_WARN_BYTES, DownloadError, bestStrategy, downloadToSink, ensureServiceWorker, formatBytes, openSink,
} from "/static/shared/download.js";

const $ = (id) => document.getElementById(id);
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";

const page = {
  status: meta("sealdrop-status") || "refused",
  message: meta("sealdrop-message"),
  session: meta("sealdrop-session"),
};
// The token is read once; keep it out of the DOM afterwards.
document.querySelector('meta[name="sealdrop-session"]')?.remove();

const api = new Api({ headers: page.session ? { Authorization: `Bearer ${page.session}` } : {}, retries: 2 });
const state = { me: null, zaf: null, ticket: null, links: new Map(), sent: [], strings: {} };

// ---- strings (translations/en.json) --------------------------------------------------------

async function loadStrings() {
  try {
    const res = await fetch("/agent-app/translations/en.json", { cache: "no-cache" });
    state.strings = await res.json();
  } catch {
    state.strings = {};
  }
}

/** The translation at dotted `key` (below `sidebar.` unless it starts with `app.`), with `{{var}}`s filled. */
function t(key, vars = {}) {
  const path = key.startsWith("app.") || key.startsWith("sidebar.") ? key : `sidebar.${key}`;
  let value = path.split(".").reduce((node, part) => (node && typeof node === "object" ? node[part] : undefined), state.strings);
  if (typeof value !== "string") value = key;
  return value.replace(/\{\{(\w+)\}\}/g, (_, name) => (name in vars ? String(vars[name]) : ""));
}

function translatePage() {
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
}

function show(id, on = true) {
  $(id).hidden = !on;
}

function text(id, value, on = true) {
  $(id).textContent = value;
  show(id, on);
}

const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node[k] = v;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};

function when(iso) {
  try {
    return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  } catch {
    return iso;
  }
}

// ---- start -----------------------------------------------------------------------------------

async function main() {
  await loadStrings();
  translatePage();
  document.body.dataset.status = page.status;
  state.zaf = window.ZAFClient ? window.ZAFClient.init() : false;
  if (state.zaf) state.zaf.invoke("resize", { width: "100%", height: "640px" }).catch(() => {});

  if (page.status !== "ready") return showStatus();
  try {
    await init();
    state.me = await api.json("GET", "/api/v1/me");
  } catch (err) {
    page.status = err instanceof ApiError && err.status === 403 ? "refused" : "error";
    page.message = err instanceof ApiError ? err.message : t("errors.network");
    return showStatus();
  }
  show("loading", false);
  show("tabs");
  $("tab-admin").hidden = !state.me.is_admin;
  $("require-auth").checked = Boolean(state.me.settings.require_auth_default);
  document.body.dataset.ready = "1";
  selectTab("inbox");
  if (!state.zaf) {
    text("inbox-empty", t("status.no_zendesk"));
    return;
  }
  state.zaf.on("ticket.updated", () => refreshInbox());
  state.zaf.on("ticket.comments.changed", () => refreshInbox());
  await loadTicket();
  await refreshInbox();
  loadSent();
  if (state.me.is_admin) loadAdmin();
}

function showStatus() {
  show("loading", false);
  const titles = {
    setup_required: "status.setup_title",
    reauthorization_required: "status.reauth_title",
  };
  text("status-title", t(titles[page.status] ?? "status.refused_title"));
  text("status-text", page.message);
  show("status");
  // Setup and re-authorization sessions may start the grant; the callback only accepts an admin's.
  const canAuthorize = Boolean(page.session) && page.status in titles;
  show("authorize", canAuthorize);
  show("reload", canAuthorize);
  document.body.dataset.ready = "1";
}

async function startGrant(noteId) {
  try {
    const answer = await api.json("GET", "/zendesk/oauth/start");
    window.open(answer.authorize_url, "sealdrop-authorize", "popup,width=600,height=700");
    show(noteId);
  } catch (err) {
    text(noteId, err.message);
  }
}

$("authorize").addEventListener("click", () => startGrant("authorize-note"));
$("reload").addEventListener("click", () => location.reload());

function selectTab(name) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const id of ["inbox", "send", "admin"]) show(id, id === name);
  document.body.dataset.tab = name;
}

for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => selectTab(b.dataset.tab));

// ---- the ticket (through ZAF) ----------------------------------------------------------------

async function loadTicket() {
  const keys = ["ticket.id", "ticket.description", "ticket.comments", "ticket.requester", "ticket.collaborators"];
  const data = await state.zaf.get(keys);
  state.ticket = {
    id: data["ticket.id"],
    description: data["ticket.description"] ?? "",
    comments: data["ticket.comments"] ?? [],
    requester: data["ticket.requester"] ?? null,
    collaborators: data["ticket.collaborators"] ?? [],
  };
  renderRecipients();
}

/** Every text the ticket shows: the description and each comment (HTML comments flattened). */
function ticketTexts() {
  const texts = [state.ticket.description];
  for (const c of state.ticket.comments) {
    const value = c.value ?? c.body ?? "";
    if (/<[a-z][\s\S]*>/i.test(value)) {
      const doc = new DOMParser().parseFromString(value, "text/html");
      texts.push(doc.body.textContent ?? "");
      for (const a of doc.querySelectorAll("a[href]")) texts.push(a.getAttribute("href"));
    } else {
      texts.push(value);
    }
  }
  return texts;
}

/** Secure links of this server in the ticket, in order of appearance, one per package. */
function findLinks() {
  const found = new Map();
  const pattern = /https?:\/\/[^\s"'<>()]+?\/p\/[A-Za-z0-9_-]+#[A-Za-z0-9_-]+/g;
  for (const textValue of ticketTexts()) {
    for (const m of String(textValue).matchAll(pattern)) {
      let url;
      try {
        url = new URL(m[0]);
      } catch {
        continue;
      }
      if (url.origin !== location.origin) continue;
      try {
        const parsed = wasm.parseLink(m[0]);
        if (!found.has(parsed.packageId)) found.set(parsed.packageId, { link: m[0], parsed });
      } catch {
        // Not a well-formed sealdrop link (a cut-off fragment): shown as not found below.
        const id = url.pathname.split("/").pop();
        if (!found.has(id)) found.set(id, { link: m[0], parsed: null });
      }
    }
  }
  return [...found.values()];
}

// ---- inbox -----------------------------------------------------------------------------------

let refreshing = null;

async function refreshInbox() {
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

$("inbox-refresh").addEventListener("click", async () => {
  for (const entry of state.links.values()) {
    entry.node.remove();
    entry.opened?.free?.();
  }
  state.links.clear();
  await refreshInbox();
});

const STATE_KEYS = {
  expired: "inbox.state_expired",
  revoked: "inbox.state_revoked",
  download_limit_reached: "inbox.state_limit",
  not_found: "inbox.state_not_found",
  tampered: "inbox.state_tampered",
  forbidden: "inbox.state_forbidden",
  verification_required: "inbox.state_forbidden",
};

function entryHeaders(entry) {
  return { "X-Sealdrop-Link-Proof": entry.parsed.linkProof };
}

async function openEntry(entry) {
  renderEntry(entry, { state: "loading" });
  if (!entry.parsed) return renderEntry(entry, { state: "not_found" });
  try {
    const headers = entryHeaders(entry);
    const id = entry.parsed.packageId;
    entry.info = await api.json("GET", `/api/v1/packages/${id}`, { headers });
    const opened = await api.json("POST", `/api/v1/packages/${id}/open`, { headers });
    try {
      entry.opened = wasm.openPackage(base64Decode(opened.manifest), entry.parsed.linkSecret, opened.server_secret);
    } catch (err) {
      // Key commitment, metadata or manifest authentication failed.
      return renderEntry(entry, { state: "tampered", detail: err.message });
    }
    entry.files = entry.opened.metadata.files;
    renderEntry(entry, { state: "ready" });
  } catch (err) {
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

function base64Decode(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** 16 random bytes in base64url: the Idempotency-Key of one download start. */
function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function downloadToken(entry) {
  if (entry.download && Date.parse(entry.download.expiresAt) > Date.now() + 60_000) return entry.download.token;
  // The key makes retries safe: a retry after a lost answer does not use up another download
  // of the package's limit (docs/API.md). Kept until a start succeeds; a later start gets a new one.
  entry.downloadKey ??= newIdempotencyKey();
  const answer = await api.json("POST", `/api/v1/packages/${entry.parsed.packageId}/download`, {
    headers: { ...entryHeaders(entry), "Idempotency-Key": entry.downloadKey }, ok: [200, 201],
  });
  entry.downloadKey = null;
  entry.download = { token: answer.download_token, expiresAt: answer.expires_at };
  if (typeof entry.info.downloads_left === "number") {
    entry.info.downloads_left = Math.max(0, entry.info.downloads_left - 1);
    const left = entry.node.querySelector(".downloads-left");
    if (left) left.textContent = t("inbox.downloads_left", { n: entry.info.downloads_left });
  }
  return entry.download.token;
}

/** The sink for one file: the service worker stream for big files when it works, else a Blob. */
async function sinkFor(file) {
  if (file.size > BLOB_WARN_BYTES && bestStrategy() !== "blob") {
    try {
      await Promise.race([ensureServiceWorker(), new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 3000))]);
      return await openSink("sw", { name: file.name, type: file.type, size: file.size });
    } catch {
      // A third-party frame may not get a service worker: fall back to memory.
    }
  }
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
      url: `/api/v1/packages/${entry.parsed.packageId}/files/${index}`,
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

async function revoke(packageId, after) {
  if (!window.confirm(t("inbox.confirm_revoke"))) return;
  try {
    await api.request("DELETE", `/api/v1/packages/${packageId}`, { ok: [204] });
    await after();
  } catch (err) {
    window.alert(t("inbox.state_error", { message: err.message }));
  }
}

// ---- send ------------------------------------------------------------------------------------

const picked = [];

function recipients() {
  const out = [];
  const add = (u) => {
    const email = u && (u.email || u.identities?.find?.((i) => i.type === "email")?.value);
    if (email && !out.includes(email.toLowerCase())) out.push(email.toLowerCase());
  };
  add(state.ticket?.requester);
  for (const c of state.ticket?.collaborators ?? []) add(c);
  return out;
}

function renderRecipients() {
  const list = recipients();
  $("recipients").replaceChildren(...(list.length ? list.map((r) => el("li", {}, r)) : [el("li", { class: "note" }, t("send.no_recipients"))]));
}

function renderPicked() {
  const max = state.me?.settings?.max_file_size ?? Infinity;
  const problems = [];
  $("picked").replaceChildren(...picked.map((f, i) => {
    if (f.size > max) problems.push(t("send.too_large", { name: f.name, limit: formatBytes(max) }));
    return el("li", {}, el("span", {}, `${f.name} (${formatBytes(f.size)})`),
      el("button", { type: "button", class: "secondary small", onclick: () => { picked.splice(i, 1); renderPicked(); } }, t("send.remove")));
  }));
  $("send-error").textContent = problems.join(" ");
  show("send-error", problems.length > 0);
  $("send-button").disabled = picked.length === 0 || problems.length > 0 || recipients().length === 0;
}

function addFiles(files) {
  for (const f of files) picked.push(f);
  renderPicked();
}

$("file-input").addEventListener("change", (e) => {
  addFiles(e.target.files);
  e.target.value = "";
});
const zone = $("dropzone");
zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (e) => {
  e.preventDefault();
  zone.classList.remove("over");
  addFiles(e.dataTransfer.files);
});

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

$("send-button").addEventListener("click", async () => {
  const files = picked.slice();
  const to = recipients();
  if (files.length === 0 || to.length === 0) return;
  const button = $("send-button");
  button.disabled = true;
  show("send-error", false);
  show("send-progress");
  $("send-progress").value = 0;
  text("send-status", t("send.sending", { percent: 0 }));
  const done = files.map(() => 0);
  const total = files.reduce((a, f) => a + f.size, 0) || 1;
  try {
    const upload = await startUpload({
      wasm,
      api,
      files,
      message: $("send-message").value.trim() || null,
      create: { recipients: to, require_auth: $("require-auth").checked },
      onProgress: ({ file, done: d }) => {
        done[file] = d;
        const frac = done.reduce((a, b) => a + b, 0) / total;
        $("send-progress").value = frac;
        $("send-status").textContent = t("send.sending", { percent: Math.floor(frac * 100) });
      },
    });
    const { id, link } = await upload.finalize();
    const style = state.me.settings.reply_link_style;
    if (style === "hyperlink") {
      await state.zaf.invoke("ticket.comment.appendHtml",
        `<p><a href="${escapeHtml(link)}">${escapeHtml(t("send.reply_link", { count: files.length }))}</a></p>`);
    } else {
      await state.zaf.invoke("ticket.comment.appendText", t("send.reply_text", { count: files.length, link }));
    }
    $("send-progress").value = 1;
    text("send-status", t("send.sent"));
    sentNames.set(id, files.map((f) => f.name));
    state.sent.unshift({ id, state: "ready", createdAt: new Date().toISOString(), expiresAt: upload.expiresAt });
    renderSent();
    loadSent();
    picked.length = 0;
    $("send-message").value = "";
    renderPicked();
  } catch (err) {
    show("send-status", false);
    text("send-error", t("send.failed", { message: err.message }));
    button.disabled = false;
  }
});

/** Names of what this page sent (the server only knows ciphertext): id -> names. */
const sentNames = new Map();

/** The agent's own packages (`GET /api/v1/packages?mine=1`), newest first, with revoke. */
async function loadSent() {
  try {
    const { packages } = await api.json("GET", "/api/v1/packages?mine=1");
    state.sent = packages.map((p) => ({ id: p.id, state: p.state, createdAt: p.created_at, expiresAt: p.expires_at }));
  } catch {
    // An older server without the list: keep what this page sent.
  }
  renderSent();
}

function renderSent() {
  show("sent-heading", state.sent.length > 0);
  $("sent").replaceChildren(...state.sent.map((s) => {
    const names = sentNames.get(s.id);
    const label = names
      ? t("send.sent_names", { names: names.join(", "), date: when(s.createdAt) })
      : t("send.sent_item", { date: when(s.createdAt), expires: when(s.expiresAt) });
    const li = el("li", { dataset: { package: s.id, state: s.state } }, el("span", {}, label));
    if (s.state === "revoked") li.append(el("span", { class: "note" }, t("inbox.state_revoked")));
    else if (s.state === "expired") li.append(el("span", { class: "note" }, t("inbox.state_expired")));
    else li.append(el("button", { type: "button", class: "danger small revoke", onclick: () => revoke(s.id, async () => { s.state = "revoked"; renderSent(); }) }, t("inbox.revoke")));
    return li;
  }));
}

// ---- admin -----------------------------------------------------------------------------------

const DAY = 86400;
const MB = 1024 * 1024;

async function loadAdmin() {
  let s;
  try {
    s = await api.json("GET", "/api/v1/settings");
  } catch (err) {
    text("settings-error", err.message);
    return;
  }
  state.settings = s;
  $("s-allowed-roles").value = s.allowed_roles.join(", ");
  $("s-require-auth").checked = s.require_auth_default;
  $("s-reply-style").value = s.reply_link_style;
  $("s-default-expiry").value = Math.round(s.default_expiry_secs / DAY);
  $("s-max-expiry").value = Math.round(s.max_expiry_secs / DAY);
  $("s-max-file").value = Math.round(s.max_file_size / MB);
  $("s-origins").value = (s.help_center_origins ?? []).join("\n");
  $("s-forms").value = (s.widget_forms ?? []).join(", ");
  const grant = s.grant?.status ?? "missing";
  $("grant-status").textContent = t(`admin.grant_${grant}`);
  $("grant-status").dataset.grant = grant;
  show("reauthorize", grant !== "active");
  renderSnippet(s.widget_key);
  loadAudit();
}

function renderSnippet(key) {
  $("snippet").value = `<script src="${location.origin}/widget/v1/loader.js" data-key="${key}" async></script>`;
}

$("reauthorize").addEventListener("click", () => startGrant("settings-status"));

$("settings-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  show("settings-status", false);
  show("settings-error", false);
  const list = (v) => v.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
  const change = {
    allowed_roles: list($("s-allowed-roles").value),
    require_auth_default: $("s-require-auth").checked,
    reply_link_style: $("s-reply-style").value,
    default_expiry_secs: Number($("s-default-expiry").value) * DAY,
    max_expiry_secs: Number($("s-max-expiry").value) * DAY,
    max_file_size: Number($("s-max-file").value) * MB,
    help_center_origins: list($("s-origins").value),
    widget_forms: list($("s-forms").value).map(Number),
  };
  try {
    await api.json("PUT", "/api/v1/settings", { json: change });
    text("settings-status", t("admin.saved"));
    state.me = await api.json("GET", "/api/v1/me");
    $("require-auth").checked = Boolean(state.me.settings.require_auth_default);
    loadAdmin();
  } catch (err) {
    text("settings-error", t("admin.save_failed", { message: err.message }));
  }
});

$("rotate-key").addEventListener("click", async () => {
  if (!window.confirm(t("admin.confirm_rotate"))) return;
  try {
    const { widget_key: key } = await api.json("POST", "/api/v1/settings/widget-key", { retries: 0 });
    renderSnippet(key);
    text("rotate-status", t("admin.rotated"));
  } catch (err) {
    text("rotate-status", err.message);
  }
});

let auditBefore = null;

function auditQuery(extra = {}) {
  const q = new URLSearchParams();
  if ($("audit-event").value) q.set("event", $("audit-event").value);
  if ($("audit-package").value.trim()) q.set("package", $("audit-package").value.trim());
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return q.toString();
}

async function loadAudit(more = false) {
  const body = $("audit-table").tBodies[0];
  if (!more) {
    body.replaceChildren();
    auditBefore = null;
  }
  try {
    const page = await api.json("GET", `/api/v1/audit?${auditQuery(auditBefore ? { before: auditBefore, limit: 50 } : { limit: 50 })}`);
    for (const ev of page.events) {
      body.append(el("tr", { dataset: { event: ev.event } },
        el("td", {}, when(ev.at)), el("td", {}, ev.event),
        el("td", {}, ev.package ? ev.package.slice(0, 8) : ""),
        el("td", {}, ev.detail ? JSON.stringify(ev.detail) : "")));
    }
    auditBefore = page.next_before;
    show("audit-more", Boolean(auditBefore));
    show("audit-empty", body.rows.length === 0);
  } catch (err) {
    text("audit-empty", err.message);
  }
}

$("audit-form").addEventListener("submit", (e) => {
  e.preventDefault();
  loadAudit();
});
$("audit-more").addEventListener("click", () => loadAudit(true));
$("audit-csv").addEventListener("click", async () => {
  try {
    const res = await api.request("GET", `/api/v1/audit?${auditQuery({ format: "csv" })}`);
    const blob = await res.blob();
    const a = el("a", { href: URL.createObjectURL(blob), download: `sealdrop-audit-${new Date().toISOString().slice(0, 10)}.csv`, hidden: true });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 60_000);
  } catch (err) {
    text("audit-empty", err.message);
  }
});

main().catch((err) => {
  page.status = "error";
  page.message = err && err.message ? err.message : String(err);
  showStatus();
});
