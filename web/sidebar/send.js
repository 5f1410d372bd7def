// Sending files back to the ticket's people: encrypted and uploaded by the shared uploader,
// the secure link appended to the reply through ZAF; and the agent's own sent packages.

import * as wasm from "/static/pkg/sealdrop_widget.js";
import { startUpload } from "/static/shared/upload.js";
import { formatBytes } from "/static/shared/format.js";

import { api, state } from "./context.js";
import { $, el, show, text, when } from "./dom.js";
import { revoke } from "./inbox.js";
import { t } from "./strings.js";

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

export function renderRecipients() {
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


function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

async function sendPicked() {
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
}

/** Wires the send tab's controls. */
export function setUpSend() {
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
  $("send-button").addEventListener("click", sendPicked);
}

/** Names of what this page sent (the server only knows ciphertext): id -> names. */
const sentNames = new Map();

/** The agent's own packages (`GET /api/v1/packages?mine=1`), newest first, with revoke. */
export async function loadSent() {
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
