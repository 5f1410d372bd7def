// The signed roster from the admin's browser (docs/FORMAT.md §19): read the current one and
// verify it (against the admin key's own fingerprint, the Zendesk account, and the highest
// sequence this browser accepted), and publish the next one.

import { ApiError } from "/static/shared/api.js";

import { api } from "../context.js";
import { signRoster } from "./admin-key.js";
import * as store from "./store.js";

const fromB64u = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const toB64u = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

const sequenceName = (me) => `roster-sequence:${me.subdomain}`;

async function remember(me, sequence) {
  const seen = (await store.get(sequenceName(me))) ?? 0;
  if (sequence > seen) await store.put(sequenceName(me), sequence);
}

/**
 * The current roster, verified (§19.3) against `pin` (an admin key fingerprint), or null before
 * the first. Throws the wasm error (`admin_key_mismatch`, `roster_signature_invalid`,
 * `roster_rolled_back`, …) for a roster this browser must not build on.
 */
export async function currentRoster(wasm, me, pin) {
  let answer;
  try {
    answer = await api.json("GET", "/api/v1/team/roster");
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
  const seen = (await store.get(sequenceName(me))) ?? undefined;
  const roster = wasm.verifyRoster(fromB64u(answer.roster), pin, me.subdomain, seen);
  await remember(me, roster.sequence);
  return roster;
}

/**
 * Signs and publishes the roster after `current` (a verified TeamRoster, or null for the first,
 * which then needs `recoveryKey`): `devices` `[{ deviceKey, userId, label }]`. The new roster is
 * verified against the admin key before it leaves the browser. Resolves to the new TeamRoster.
 */
export async function publishRoster(wasm, me, adminKey, { current, devices, recoveryKey, serverSequence = 0 }) {
  const seen = (await store.get(sequenceName(me))) ?? 0;
  const content = {
    tenant: me.subdomain,
    sequence: Math.max(current?.sequence ?? 0, serverSequence ?? 0, seen) + 1,
    issuedAt: Math.floor(Date.now() / 1000),
    recoveryKey: current?.recoveryKey ?? recoveryKey,
    devices: devices.map(({ deviceKey, userId, label }) => ({ deviceKey, userId: String(userId), label })),
  };
  const bytes = await signRoster(wasm, adminKey, content);
  const roster = wasm.verifyRoster(bytes, adminKey.fingerprint, me.subdomain, seen || undefined);
  await api.json("PUT", "/api/v1/team/roster", { json: { roster: toB64u(bytes) }, retries: 0 });
  await remember(me, roster.sequence);
  return roster;
}
