// The admin's "Team keys" card (docs/FORMAT.md §16-§21, docs/API.md "Team keys"):
//
//   1. no admin key yet: make one (`AdminKey.generate`) and a recovery code
//      (`RecoveryCode.generate`), show the code once for printing, and only once the admin says
//      it is kept, upload the admin key wrapped by the code and publish the first roster (no
//      devices, the code's recovery key);
//   2. an admin key on the server but not in this browser: unlock it with the code;
//   3. unlocked: the admin key fingerprint for the Help Center snippet (`data-admin-key`), the
//      team keys switch, every registered device with the fingerprint this browser computes
//      (approve only when all 8 groups match the agent's screen), approve and remove (each
//      signs and publishes the next roster), and re-wrapping older uploads with the code or
//      this browser's device key.
//
// The recovery code and the admin key's secret never leave this page: the code lives in a wasm
// object while it is used and in the DOM only while it is shown once; the admin key lives in
// IndexedDB (admin-key.js).

import * as wasm from "/static/pkg/sealdrop_widget.js";
import { ApiError } from "/static/shared/api.js";

import { api, state } from "../context.js";
import { $, el, show, text } from "../dom.js";
import { t } from "../strings.js";
import { forgetAdminKey, keepAdminKey, loadAdminKey } from "./admin-key.js";
import { fingerprintOf, loadDevice } from "./device.js";
import { rewrapAll } from "./rewrap.js";
import { currentRoster, publishRoster } from "./roster.js";

const team = { serverKey: null, adminKey: null, roster: null, devices: [], serverSequence: null, pending: null };

const fromB64u = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const toB64u = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** The admin key fingerprint for the snippet, once this browser holds the admin key. */
export const adminFingerprint = () => team.adminKey?.fingerprint ?? null;

let onFingerprint = () => {};

function fail(err) {
  const kind = err?.kind ?? (err instanceof ApiError ? err.code : null);
  const known = kind && t(`team.error_${kind}`) !== `team.error_${kind}` ? t(`team.error_${kind}`) : null;
  text("team-error", known ?? t("team.failed", { message: err?.message ?? String(err) }));
}

function note(message) {
  text("team-status", message);
}

/** Reads the admin key, the roster and the devices, and shows the card in its state. */
export async function loadTeam() {
  const card = $("team");
  delete card.dataset.loaded;
  try {
    await readTeam();
  } finally {
    card.dataset.loaded = "1"; // the card shows its state (tests wait for this)
  }
}

async function readTeam() {
  show("team-error", false);
  try {
    team.serverKey = await api.json("GET", "/api/v1/team/admin-key");
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) return fail(err);
    team.serverKey = null;
  }
  const local = await loadAdminKey(state.me);
  team.adminKey = local && team.serverKey && local.publicKey === team.serverKey.admin_key ? local : null;
  if (local && !team.adminKey && !team.pending) await forgetAdminKey(state.me); // another admin key now
  onFingerprint();
  show("team-create", !team.serverKey && !team.pending);
  show("team-unlock", Boolean(team.serverKey) && !team.adminKey);
  show("team-ready", Boolean(team.adminKey));
  $("team-keys-on").checked = Boolean(state.settings?.team_keys);
  if (!team.adminKey) return;
  text("team-admin-fingerprint", team.adminKey.fingerprint);
  let refused = false;
  try {
    team.roster = await currentRoster(wasm, state.me, team.adminKey.fingerprint);
    const listed = await api.json("GET", "/api/v1/team/devices");
    team.devices = listed.devices;
    team.serverSequence = listed.roster_sequence;
  } catch (err) {
    // A roster this browser must not build on (another key's, an older one): nothing to act on.
    team.roster = null;
    team.devices = [];
    refused = true;
    fail(err);
  }
  if (!team.roster && !refused) show("team-unlock"); // no roster yet: the code gives its recovery key
  renderDevices();
}

function rosterDevices() {
  return team.roster ? team.roster.devices.map((d) => ({ deviceKey: d.deviceKey, userId: d.userId, label: d.label })) : [];
}

function renderDevices() {
  const body = $("team-devices").tBodies[0];
  body.replaceChildren();
  const inRoster = new Set(rosterDevices().map((d) => d.deviceKey));
  for (const d of team.devices) {
    const listed = inRoster.has(d.device_key);
    const status = d.status === "removed" ? "removed" : listed ? "approved" : "pending";
    const action = listed
      ? el("button", { type: "button", class: "danger small remove", onclick: () => change(d, false) }, t("team.remove"))
      : d.status === "pending"
        ? el("button", { type: "button", class: "small approve", onclick: () => change(d, true) }, t("team.approve"))
        : null;
    body.append(el("tr", { dataset: { device: d.device_key, status } },
      el("td", {}, el("span", { class: "name" }, d.label), el("br"), el("span", { class: "note" }, t("team.user", { id: d.user_id }))),
      el("td", { class: "fingerprint small" }, fingerprintOf(wasm, d.device_key, d.user_id)),
      el("td", { class: "note" }, t(`team.status_${status}`)),
      el("td", {}, action)));
  }
  show("team-devices-empty", team.devices.length === 0);
}

/** Approves (`approve`) or removes device `d`: signs and publishes the next roster. */
async function change(d, approve) {
  show("team-error", false);
  const fingerprint = fingerprintOf(wasm, d.device_key, d.user_id);
  const question = approve ? "team.confirm_approve" : "team.confirm_remove";
  if (!window.confirm(t(question, { label: d.label, id: d.user_id, fingerprint }))) return;
  const devices = rosterDevices().filter((x) => x.deviceKey !== d.device_key);
  if (approve) devices.push({ deviceKey: d.device_key, userId: d.user_id, label: d.label });
  try {
    await publishRoster(wasm, state.me, team.adminKey, { current: team.roster, devices, serverSequence: team.serverSequence });
    note(t(approve ? "team.approved" : "team.removed", { label: d.label }));
    await loadTeam();
  } catch (err) {
    fail(err);
  }
}

function startCreate() {
  show("team-error", false);
  team.pending = { admin: wasm.AdminKey.generate(), code: wasm.RecoveryCode.generate() };
  text("team-code-text", team.pending.code.text);
  $("team-code-saved").checked = false;
  $("team-code-done").disabled = true;
  show("team-create", false);
  show("team-code");
}

function endCreate() {
  team.pending?.admin.free();
  team.pending?.code.free();
  team.pending = null;
  $("team-code-text").textContent = "";
  show("team-code", false);
}

async function finishCreate() {
  const { admin, code } = team.pending;
  $("team-code-done").disabled = true;
  try {
    const blob = code.wrapAdminKey(admin);
    await api.json("PUT", "/api/v1/team/admin-key", { json: { wrapped_admin_key: toB64u(blob), replace: false }, retries: 0 });
    const kept = await keepAdminKey(state.me, admin);
    await publishRoster(wasm, state.me, kept, { current: null, devices: [], recoveryKey: code.recoveryKey });
    endCreate();
    note(t("team.created"));
    await loadTeam();
  } catch (err) {
    $("team-code-done").disabled = false;
    fail(err);
  }
}

async function unlock(e) {
  e.preventDefault();
  show("team-error", false);
  let code = null;
  let admin = null;
  try {
    code = wasm.RecoveryCode.parse($("team-unlock-code").value);
    admin = code.unwrapAdminKey(fromB64u(team.serverKey.wrapped_admin_key));
    const kept = await keepAdminKey(state.me, admin);
    const current = await currentRoster(wasm, state.me, kept.fingerprint);
    if (!current) {
      const listed = await api.json("GET", "/api/v1/team/devices");
      await publishRoster(wasm, state.me, kept, { current: null, devices: [], recoveryKey: code.recoveryKey, serverSequence: listed.roster_sequence });
    }
    $("team-unlock-code").value = "";
    note(t("team.unlocked"));
    await loadTeam();
  } catch (err) {
    fail(err);
  } finally {
    admin?.free();
    code?.free();
  }
}

async function rewrap() {
  show("team-error", false);
  const typed = $("team-rewrap-code").value.trim();
  let code = null;
  try {
    code = typed ? wasm.RecoveryCode.parse(typed) : null;
    const device = code ? null : await loadDevice(state.me);
    if (!code && !device) {
      text("team-error", t("team.rewrap_needs_key"));
      return;
    }
    if (!team.roster) throw new Error(t("team.no_roster"));
    $("team-rewrap").disabled = true;
    const progress = ({ done, total }) => note(t("team.rewrapping", { done, total }));
    const r = await rewrapAll(wasm, { roster: team.roster, code, device, onProgress: progress });
    $("team-rewrap-code").value = "";
    const status = $("team-status");
    note(t("team.rewrapped", { rewrapped: r.rewrapped, total: r.total, not_opened: r.notOpened, failed: r.failed }));
    status.dataset.rewrapped = String(r.rewrapped);
    status.dataset.notOpened = String(r.notOpened);
    status.dataset.failed = String(r.failed);
  } catch (err) {
    fail(err);
  } finally {
    code?.free();
    $("team-rewrap").disabled = false;
  }
}

async function switchTeamKeys() {
  show("team-error", false);
  const on = $("team-keys-on").checked;
  try {
    state.settings = await api.json("PUT", "/api/v1/settings", { json: { team_keys: on }, retries: 0 });
    note(t(on ? "team.keys_on" : "team.keys_off"));
  } catch (err) {
    $("team-keys-on").checked = !on;
    fail(err);
  }
}

/** Wires the card; `fingerprintChanged()` is called when the admin key this browser holds changes. */
export function setUpTeam({ fingerprintChanged }) {
  onFingerprint = fingerprintChanged;
  $("team-create-key").addEventListener("click", startCreate);
  $("team-code-saved").addEventListener("change", () => { $("team-code-done").disabled = !$("team-code-saved").checked; });
  $("team-code-done").addEventListener("click", finishCreate);
  $("team-code-cancel").addEventListener("click", () => { endCreate(); loadTeam(); });
  $("team-unlock").addEventListener("submit", unlock);
  $("team-rewrap").addEventListener("click", rewrap);
  $("team-keys-on").addEventListener("change", switchTeamKeys);
}
