// The sealdrop agent sidebar (ZAF v2 app, ticket_sidebar location).
//
// Served from the Zendesk app package (assets/sidebar.html), it signs in through Zendesk's
// proxy with a JWT made from the app's secure setting (signin.js); served by the sealdrop
// server (the older package), Zendesk POSTs a signed JWT to /zendesk/sidebar and the server
// answers this page with <meta name="sealdrop-status|sealdrop-message|sealdrop-session">. The session (`sda_…`) goes
// as `Authorization: Bearer` on every API call, never in a URL. The page talks to Zendesk only
// through the ZAF SDK (zaf_sdk.js, the npm zendesk_app_framework_sdk bundled): it reads the
// ticket's text and people with client.get(), and appends the secure link to the reply with
// client.invoke('ticket.comment.appendText' | 'ticket.comment.appendHtml').
//
// Cryptography and transfers are the shared browser flows, not reimplemented here:
//   - the wasm bindings (/static/pkg/sealdrop_widget.js): parseLink, openPackage, PackageSealer;
//   - /static/shared/api.js (the API client), package-link.js (open a link, download tokens),
//     upload.js (encrypt + upload with parts, retries and resume), download.js (streamed
//     download + decrypt into a sink), format.js (sizes and durations).
//
// Modules: this one starts the page (status, tabs); context.js (page, API client, state),
// strings.js (translations), dom.js, ticket.js (the ticket through ZAF, links in it),
// inbox.js, send.js, admin.js (settings, snippet, audit); team/ (team keys, docs/FORMAT.md
// §16-§21): store.js (IndexedDB), device.js (this browser's device key), enrol.js (the Device
// tab), open.js (opening team-sealed uploads), admin-key.js, roster.js, rewrap.js and
// admin-team.js (the admin's Team keys card).
// Secrets: the link secret C lives only in the ticket text and this page's memory; the link
// proof, server secret and tokens travel in headers and bodies; nothing here logs them. The
// device key and the admin key live in this browser's IndexedDB, non-extractable where
// WebCrypto allows; the recovery code only in a wasm object while it is used.

import init from "/static/pkg/sealdrop_widget.js";
import { ApiError } from "/static/shared/api.js";

import { loadAdmin, setUpAdmin, startGrant } from "./admin.js";
import { api, page, state } from "./context.js";
import { $, show, text } from "./dom.js";
import { refreshInbox, setUpInbox } from "./inbox.js";
import { loadSent, renderRecipients, setUpSend } from "./send.js";
import { confirmIdentity, signIn } from "./signin.js";
import { loadStrings, t, translatePage } from "./strings.js";
import { loadDeviceTab, setUpDeviceTab } from "./team/enrol.js";
import { loadTicket, onTicket } from "./ticket.js";

// ---- start -----------------------------------------------------------------------------------

async function main() {
  await loadStrings();
  translatePage();
  state.zaf = window.ZAFClient ? window.ZAFClient.init() : false;
  if (state.zaf) state.zaf.invoke("resize", { width: "100%", height: "640px" }).catch(() => {});
  // Served from the app package: the session comes through Zendesk's proxy (signin.js).
  await signIn(state.zaf);
  document.body.dataset.status = page.status;

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
  loadDeviceTab();
  if (!state.zaf) {
    text("inbox-empty", t("status.no_zendesk"));
    return;
  }
  state.zaf.on("ticket.updated", () => refreshInbox());
  state.zaf.on("ticket.comments.changed", () => refreshInbox());
  onTicket(renderRecipients);
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
  const identify = page.status === "identify";
  text("status-title", t(identify ? "status.identify_title" : titles[page.status] ?? "status.refused_title"));
  text("status-text", page.message);
  show("status");
  // Not a problem, a step: the card is not shown as an error.
  $("status").classList.toggle("problem", !identify);
  // The packaged sidebar proves its user once per browser (signin.js).
  show("confirm-identity", identify && Boolean(page.identifyUrl));
  // Setup and re-authorization sessions may start the grant; the callback only accepts an admin's.
  const canAuthorize = Boolean(page.session) && page.status in titles;
  show("authorize", canAuthorize);
  show("reload", canAuthorize);
  document.body.dataset.ready = "1";
}

$("authorize").addEventListener("click", () => startGrant("authorize-note"));
$("confirm-identity").addEventListener("click", async () => {
  $("confirm-identity").disabled = true;
  show("confirm-note");
  const status = await confirmIdentity(state.zaf);
  if (status === "identify") {
    $("confirm-identity").disabled = false;
    text("confirm-note", t("status.confirm_gave_up"));
    return;
  }
  // Proven (or refused): start again with the credential this browser now keeps.
  location.reload();
});
$("reload").addEventListener("click", () => location.reload());

function selectTab(name) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const id of ["inbox", "send", "device", "admin"]) show(id, id === name);
  document.body.dataset.tab = name;
  if (name === "device" && state.me) loadDeviceTab();
}

for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => selectTab(b.dataset.tab));

setUpInbox();
setUpSend();
setUpDeviceTab();
setUpAdmin();

main().catch((err) => {
  page.status = "error";
  page.message = err && err.message ? err.message : String(err);
  showStatus();
});
