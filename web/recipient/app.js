// The recipient page: /p/{id}#{link secret}.
//
// The link secret C is read from the fragment (never sent anywhere); the link proof A derived
// from it authenticates every API call. With the server secret S released by `open`, the
// wasm bindings open the manifest, show the sender's file names, and decrypt each file
// chunk by chunk on its way to disk (../shared/download.js).

import init, * as wasm from "/static/pkg/sealdrop_widget.js";
import { Api, ApiError } from "/static/shared/api.js";
import {
  bestStrategy, pickFileTarget, pickFolderTarget, openSink, downloadToSink, ensureServiceWorker,
  DownloadError, BLOB_WARN_BYTES,
} from "/static/shared/download.js";
import { formatBytes, formatDuration } from "/static/shared/format.js";
import { ManifestError, PackageLink } from "/static/shared/package-link.js";

const $ = (id) => document.getElementById(id);
const show = (id, on = true) => { $(id).hidden = !on; };

// The page's own calls are not retried: a second verification request would send a second mail.
const api = new Api({ retries: 0 });

const state = {
  link: null,       // { packageId, linkSecret, linkProof }
  pkg: null,        // PackageLink
  info: null,       // GET /api/v1/packages/{id}
  opened: null,     // OpenedPackage (wasm)
  files: [],        // [{ name, size, type }]
  email: "",
  busy: false,
};

// ---- messages ------------------------------------------------------------------------------

const PROBLEMS = {
  wrong_link: ["This link is not valid",
    "The secure link is incomplete or has been changed. Open it again from the message you received, making sure the whole link (including everything after the #) is copied."],
  expired: ["This package has expired", "The files are no longer available. Ask the sender to send them again."],
  revoked: ["The sender withdrew this package", "The files are no longer available. Contact the sender if you still need them."],
  download_limit_reached: ["Download limit reached", "These files have been downloaded as many times as the sender allowed. Ask the sender to send them again."],
  tampered: ["The files were altered", "The encrypted package does not match what the sender sealed, so nothing was decrypted. Contact the sender."],
  unsupported: ["This browser cannot open the files", "Please use a current version of Chrome, Edge, Firefox or Safari."],
  server: ["Something went wrong", "The server could not be reached or had a problem. Please try again in a moment."],
};

function problem(kind, detail) {
  const [title, text] = PROBLEMS[kind] || PROBLEMS.server;
  $("problem-title").textContent = title;
  $("problem-text").textContent = detail ? `${text} (${detail})` : text;
  for (const id of ["loading", "verify-email", "verify-code", "files"]) show(id, false);
  if (kind !== "wrong_link") show("summary", Boolean(state.info));
  else show("summary", false);
  show("problem");
  document.body.dataset.state = kind;
}

/** The link proof alone, for the verification calls (which need no session). */
const proofOnly = () => ({ "X-Sealdrop-Link-Proof": state.link.linkProof });

function apiProblem(err) {
  if (err instanceof ApiError) {
    if (err.code === "not_found") return problem("wrong_link");
    if (["expired", "revoked", "download_limit_reached"].includes(err.code)) return problem(err.code);
  }
  return problem("server", err && err.message);
}

// ---- recipient session (per tab) -----------------------------------------------------------

const sessionKey = () => `sealdrop-session:${state.link.packageId}`;
function loadSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(sessionKey()) || "null");
    if (saved && Date.parse(saved.expiresAt) > Date.now()) return saved.token;
  } catch { /* ignore */ }
  return null;
}
function saveSession(token, expiresAt) {
  try { sessionStorage.setItem(sessionKey(), JSON.stringify({ token, expiresAt })); } catch { /* private mode */ }
}
function dropSession() {
  try { sessionStorage.removeItem(sessionKey()); } catch { /* ignore */ }
}

// ---- start ---------------------------------------------------------------------------------

async function start() {
  try {
    await init();
  } catch {
    return problem("unsupported");
  }
  try {
    state.link = wasm.parseLink(location.href);
  } catch {
    return problem("wrong_link");
  }
  if (location.pathname.replace(/\/+$/, "") !== `/p/${state.link.packageId}`) return problem("wrong_link");
  state.pkg = new PackageLink({
    api,
    link: state.link,
    headers: () => {
      const session = loadSession();
      return session ? { "X-Sealdrop-Recipient-Session": session } : {};
    },
  });
  try {
    state.info = await state.pkg.info();
  } catch (err) {
    return apiProblem(err);
  }
  renderSummary();
  show("loading", false);
  if (state.info.require_auth && !loadSession()) return askEmail();
  await openFiles();
}

function renderSummary() {
  const info = state.info;
  $("sender").textContent = info.sender || "Unknown sender";
  $("expires").textContent = new Date(info.expires_at).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  const limited = info.downloads_left !== null && info.downloads_left !== undefined;
  show("downloads-left-label", limited);
  show("downloads-left", limited);
  if (limited) $("downloads-left").textContent = String(info.downloads_left);
  show("summary");
}

// ---- verification --------------------------------------------------------------------------

function askEmail(message) {
  show("verify-code", false);
  show("verify-email");
  show("email-error", Boolean(message));
  if (message) $("email-error").textContent = message;
  document.body.dataset.state = "ask-email";
  $("email").focus();
}

$("email-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = $("email").value.trim();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    $("email-error").textContent = "Please enter a valid email address.";
    return show("email-error");
  }
  $("email-submit").disabled = true;
  try {
    await api.request("POST", `/api/v1/packages/${state.pkg.id}/verification`, { headers: proofOnly(), json: { email }, ok: [202] });
    state.email = email;
    $("code-sent-text").textContent =
      `If ${email} is one of the addresses this package was sent to, a code is on its way. It is valid for 10 minutes.`;
    $("code").value = "";
    show("email-error", false);
    show("verify-email", false);
    show("verify-code");
    show("code-error", false);
    document.body.dataset.state = "ask-code";
    $("code").focus();
  } catch (err) {
    if (err instanceof ApiError && (err.code === "rate_limited" || err.code === "bad_request")) {
      $("email-error").textContent = err.message;
      show("email-error");
    } else {
      apiProblem(err);
    }
  } finally {
    $("email-submit").disabled = false;
  }
});

$("code-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = $("code").value.replace(/[\s-]/g, "");
  if (!/^\d{8}$/.test(code)) {
    $("code-error").textContent = "The code has 8 digits.";
    return show("code-error");
  }
  $("code-submit").disabled = true;
  try {
    const answer = await api.json("POST", `/api/v1/packages/${state.pkg.id}/verification/confirm`,
      { headers: proofOnly(), json: { email: state.email, code } });
    saveSession(answer.recipient_session, answer.expires_at);
    show("verify-code", false);
    await openFiles();
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.code === "bad_request")) {
      $("code-error").textContent = err.message;
      show("code-error");
      document.body.dataset.state = "code-wrong";
    } else {
      apiProblem(err);
    }
  } finally {
    $("code-submit").disabled = false;
  }
});

$("code-restart").addEventListener("click", () => askEmail());

// ---- open and list -------------------------------------------------------------------------

async function openFiles() {
  try {
    state.opened = await state.pkg.open(wasm);
  } catch (err) {
    if (err instanceof ManifestError) {
      return err.kind === "wrong_link_or_server_secret" ? problem("wrong_link") : problem("tampered", err.kind);
    }
    if (err instanceof ApiError && err.code === "verification_required") {
      dropSession();
      return askEmail("Please confirm your email address again.");
    }
    return apiProblem(err);
  }
  const metadata = state.opened.metadata;
  state.files = metadata.files;
  if (metadata.sender) $("sender").textContent = `${metadata.sender} (${state.info.sender || "unknown"})`;
  if (metadata.message) {
    $("message").textContent = metadata.message;
    show("message");
  }
  renderFiles();
  show("files");
  document.body.dataset.state = "files";
  const strategy = bestStrategy();
  if (strategy === "sw") ensureServiceWorker().catch(() => {});
  const total = state.files.reduce((sum, f) => sum + f.size, 0);
  if (strategy === "blob" && total > BLOB_WARN_BYTES) {
    $("strategy-warning").textContent =
      `This browser cannot save straight to disk, so the files (${formatBytes(total)}) are held in memory while they download. Large files may fail; a current Chrome or Edge saves them directly.`;
    show("strategy-warning");
  }
}

function renderFiles() {
  const list = $("file-list");
  list.replaceChildren();
  state.files.forEach((file, index) => {
    const li = document.createElement("li");
    li.dataset.file = String(index);
    const name = document.createElement("span");
    name.className = "file-name";
    name.textContent = file.name;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary file-download";
    button.textContent = "Download";
    button.addEventListener("click", () => downloadFiles([index]));
    const size = document.createElement("span");
    size.className = "file-size";
    size.textContent = formatBytes(file.size);
    const progressRow = document.createElement("div");
    progressRow.className = "file-progress";
    progressRow.hidden = true;
    const bar = document.createElement("progress");
    bar.max = Math.max(file.size, 1);
    bar.value = 0;
    const status = document.createElement("span");
    status.className = "file-status";
    progressRow.append(bar, status);
    li.append(name, button, size, progressRow);
    list.append(li);
  });
}

$("download-all").addEventListener("click", () => downloadFiles(state.files.map((_, i) => i)));

// ---- download ------------------------------------------------------------------------------

async function downloadToken() {
  const { token, started } = await state.pkg.downloadToken();
  if (started && typeof state.info.downloads_left === "number") {
    $("downloads-left").textContent = String(state.info.downloads_left);
  }
  return token;
}

async function downloadFiles(indexes) {
  if (state.busy) return;
  state.busy = true;
  setButtons(false);
  show("download-error", false);
  show("download-done", false);
  const strategy = bestStrategy();
  let target = null;
  try {
    // The pickers need the click's user activation: ask before anything else is awaited.
    if (strategy === "fs") {
      target = indexes.length === 1
        ? await pickFileTarget(state.files[indexes[0]].name, state.files[indexes[0]].type)
        : await pickFolderTarget();
    }
  } catch (err) {
    state.busy = false;
    setButtons(true);
    if (err && err.name === "AbortError") return; // the person closed the picker
    $("download-error").textContent = `Could not choose where to save: ${err && err.message}`;
    return show("download-error");
  }
  let token;
  try {
    token = await downloadToken();
  } catch (err) {
    state.busy = false;
    setButtons(true);
    return apiProblem(err);
  }
  let ok = 0;
  for (const index of indexes) {
    const file = state.files[index];
    const row = document.querySelector(`#file-list li[data-file="${index}"]`);
    const bar = row.querySelector("progress");
    const status = row.querySelector(".file-status");
    row.querySelector(".file-progress").hidden = false;
    status.className = "file-status";
    status.textContent = "Starting…";
    bar.value = 0;
    try {
      const sink = await openSink(strategy, {
        name: file.name, type: file.type, size: file.size,
        target,
      });
      const result = await downloadToSink({
        url: `/api/v1/packages/${state.link.packageId}/files/${index}`,
        headers: { "X-Sealdrop-Download-Token": token },
        decryptor: state.opened.file(index),
        sink,
        onProgress: ({ bytes, total, bytesPerSecond, secondsLeft }) => {
          bar.value = bytes;
          status.textContent = `${formatBytes(bytes)} of ${formatBytes(total)} · ${formatBytes(bytesPerSecond)}/s · ${formatDuration(secondsLeft)} left`;
        },
      });
      bar.value = bar.max;
      status.className = "file-status good";
      status.textContent = `Saved · ${formatBytes(result.bytes)} in ${result.seconds.toFixed(1)} s`;
      row.dataset.done = "true";
      ok += 1;
    } catch (err) {
      status.className = "file-status bad";
      row.dataset.failed = err.kind || "error";
      if (err instanceof DownloadError && err.kind === "tampered") {
        status.textContent = "Altered data: download discarded";
        $("download-error").textContent =
          `"${file.name}" was altered after the sender encrypted it, so the download was stopped and the partial file discarded. Contact the sender.`;
        document.body.dataset.state = "tampered";
      } else if (err instanceof DownloadError && err.kind === "http" && ["expired", "revoked", "download_limit_reached"].includes(err.code)) {
        state.busy = false;
        return problem(err.code);
      } else if (err instanceof DownloadError && err.kind === "cancelled") {
        status.textContent = "Cancelled";
        continue;
      } else {
        status.textContent = "Failed";
        $("download-error").textContent = `"${file.name}" could not be downloaded: ${err.message}`;
      }
      show("download-error");
    }
  }
  if (ok === indexes.length) {
    $("download-done").textContent = ok === 1 ? "Download complete." : `All ${ok} files downloaded.`;
    show("download-done");
    document.body.dataset.state = "downloaded";
  }
  state.busy = false;
  setButtons(true);
}

function setButtons(enabled) {
  for (const b of document.querySelectorAll("#files button")) b.disabled = !enabled;
}

start().catch((err) => problem("server", err && err.message));
