// The admin part: the API grant, the tenant's settings, the Help Center snippet and widget
// key, team keys (team/admin-team.js), and the audit log with its CSV export.

import { api, page, state } from "./context.js";
import { $, el, show, text, when } from "./dom.js";
import { t } from "./strings.js";
import { adminFingerprint, loadTeam, setUpTeam } from "./team/admin-team.js";

export async function startGrant(noteId) {
  try {
    const answer = await api.json("GET", "/zendesk/oauth/start");
    window.open(answer.authorize_url, "sealdrop-authorize", "popup,width=600,height=700");
    show(noteId);
  } catch (err) {
    text(noteId, err.message);
  }
}

const DAY = 86400;
const MB = 1024 * 1024;

export async function loadAdmin() {
  let s;
  try {
    s = await api.json("GET", "/api/v1/settings");
  } catch (err) {
    text("settings-error", err.message);
    return;
  }
  state.settings = s;
  $("delete-label").textContent = t("admin.delete_confirm_label", { name: s.tenant_name ?? "" });
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
  loadTeam();
  loadAudit();
}

/**
 * The Help Center tag: the loader pinned by Subresource Integrity (the release's hash, from the
 * settings; web/widget/README.md) and, with team keys, the admin key this browser holds
 * (docs/FORMAT.md §17), never one the server names.
 */
function renderSnippet(key) {
  const fingerprint = adminFingerprint();
  const pin = fingerprint ? ` data-admin-key="${fingerprint}"` : "";
  const integrity = state.settings?.widget_loader_integrity;
  const sri = integrity ? ` integrity="${integrity}" crossorigin="anonymous"` : "";
  $("snippet").value = `<script src="${page.serverOrigin}/widget/v1/loader.js"${sri} data-key="${key}"${pin} async></script>`;
}

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

/** Wires the admin tab's controls. */
/** Offers `text` as a file download named `name`, as a link in `parent`. */
function downloadLink(parent, text, name, type, label) {
  const a = el("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name, class: "button secondary small" });
  a.textContent = label;
  parent.append(a);
}

async function deleteAll(e) {
  e.preventDefault();
  const name = state.settings?.tenant_name ?? "";
  const typed = $("delete-confirm").value.trim();
  show("delete-error", false);
  if (!name || typed !== name) {
    text("delete-error", t("admin.delete_mismatch", { name }));
    return;
  }
  $("delete-all").disabled = true;
  text("delete-status", t("admin.deleting"));
  try {
    const answer = await api.json("POST", "/api/v1/tenant/deletion", { json: { confirm: typed }, retries: 0 });
    const certificate = JSON.parse(answer.certificate).certificate;
    text("delete-status", t("admin.deleted", { packages: certificate.deleted.packages, parts: certificate.deleted.parts }));
    const links = $("delete-certificate");
    links.replaceChildren();
    const stem = `sealdrop-deletion-${certificate.tenant_id}`;
    downloadLink(links, `${answer.certificate}\n`, `${stem}.json`, "application/json", t("admin.certificate_json"));
    downloadLink(links, answer.html, `${stem}.html`, "text/html", t("admin.certificate_html"));
    show("delete-certificate");
  } catch (err) {
    show("delete-status", false);
    text("delete-error", t("admin.delete_failed", { message: err.message }));
    $("delete-all").disabled = false;
  }
}

export function setUpAdmin() {
  setUpTeam({ fingerprintChanged: () => state.settings && renderSnippet(state.settings.widget_key) });
  $("delete-form").addEventListener("submit", deleteAll);
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
      if (state.settings) state.settings.widget_key = key;
      renderSnippet(key);
      text("rotate-status", t("admin.rotated"));
    } catch (err) {
      text("rotate-status", err.message);
    }
  });
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
}
