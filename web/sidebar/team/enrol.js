// The "Device" tab: this browser's device key for team keys (docs/FORMAT.md §21.1). The agent
// registers this browser with a label, reads its fingerprint to the admin (who approves only if
// all 8 groups match the admin's screen), and sees and removes their devices.
//
// The status shown (pending, approved, removed) is the server's word, for information only;
// what opens a package is whether the admin's signed roster listed this key when it was sealed.

import * as wasm from "/static/pkg/sealdrop_widget.js";

import { api, state } from "../context.js";
import { $, el, show, text, when } from "../dom.js";
import { t } from "../strings.js";
import { createDevice, fingerprintOf, forgetDevice, loadDevice } from "./device.js";

/** Reads this browser's key and the agent's devices, and shows them. */
export async function loadDeviceTab() {
  show("device-error", false);
  let device;
  let devices = [];
  try {
    device = await loadDevice(state.me);
    devices = (await api.json("GET", "/api/v1/me/devices")).devices;
  } catch (err) {
    text("device-error", t("device.failed", { message: err.message }));
  }
  state.device = device ?? null;
  const registered = device ? devices.find((d) => d.device_key === device.deviceKey) : null;
  show("device-none", !registered);
  show("device-this", Boolean(registered));
  $("device-register").textContent = t(device ? "device.register_again" : "device.register");
  $("device-label").value ||= device?.label ?? "";
  if (registered) {
    text("device-this-label", registered.label);
    const status = $("device-this-status");
    status.textContent = t(`device.status_${registered.status}`);
    status.dataset.status = registered.status;
    // Computed here from the key and the user id, never taken from the server.
    text("device-fingerprint", fingerprintOf(wasm, device.deviceKey, state.me.user_id));
  }
  const list = $("device-list");
  list.replaceChildren();
  for (const d of devices) {
    const mine = device && d.device_key === device.deviceKey;
    const remove = d.status === "removed" ? null
      : el("button", { type: "button", class: "danger small remove", onclick: () => removeDevice(d, mine) }, t("device.remove"));
    list.append(el("li", { dataset: { status: d.status, mine: mine ? "1" : "" } },
      el("span", { class: "name" }, d.label),
      el("span", { class: "note" }, `${t(`device.status_${d.status}`)}${mine ? ` · ${t("device.this_browser")}` : ""}`),
      el("span", { class: "fingerprint small" }, fingerprintOf(wasm, d.device_key, d.user_id)),
      el("span", { class: "note" }, t("device.registered", { date: when(d.registered_at) })),
      remove));
  }
  show("device-list-empty", devices.length === 0);
}

async function register() {
  show("device-error", false);
  const label = $("device-label").value.trim();
  if (!label) {
    text("device-error", t("device.label_required"));
    return;
  }
  $("device-register").disabled = true;
  try {
    let device = await loadDevice(state.me);
    device ??= await createDevice(wasm, state.me, label);
    await api.json("POST", "/api/v1/me/devices", { json: { device_key: device.deviceKey, label }, ok: [201], retries: 0 });
    await loadDeviceTab();
  } catch (err) {
    text("device-error", t("device.failed", { message: err.message }));
  } finally {
    $("device-register").disabled = false;
  }
}

async function removeDevice(device, mine) {
  if (!window.confirm(t(mine ? "device.confirm_remove_this" : "device.confirm_remove", { label: device.label }))) return;
  try {
    await api.request("DELETE", `/api/v1/me/devices/${device.device_key}`, { ok: [204] });
    if (mine) await forgetDevice(state.me);
    await loadDeviceTab();
  } catch (err) {
    text("device-error", t("device.failed", { message: err.message }));
  }
}

/** Wires the tab's controls. */
export function setUpDeviceTab() {
  $("device-register").addEventListener("click", register);
}
