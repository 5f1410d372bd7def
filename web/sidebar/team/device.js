// This browser's device key for team keys (docs/FORMAT.md §16, §20.5, §21.1): an X25519 key
// pair per agent and browser, made here and never sent anywhere but its public half.
//
//   - Where the browser has WebCrypto X25519, the secret half is a non-extractable CryptoKey
//     (`generateKey({name: "X25519"}, false, ["deriveBits"])`) kept in IndexedDB: no script,
//     ours included, can read its bytes. Opening a team-sealed package then goes through the
//     key agreement: `deriveBits` with each stanza's ephemeral share, handed to the wasm core
//     (`openTeamPackageWithShares`), which does the rest.
//   - Otherwise the wasm core makes the key (`generateDeviceIdentity`) and its 32 secret bytes
//     are kept in IndexedDB; the core opens with them (`openTeamPackage`).
//
// The public key is registered with `POST /api/v1/me/devices`; an admin approves it by comparing
// its fingerprint (`deviceKeyFingerprint`, over the agent's user id and the key) with the one
// this browser shows.

import * as store from "./store.js";

/** `{ kind: "webcrypto" | "wasm", deviceKey, label, createdAt, privateKey? , identity? }` or null. */
export async function loadDevice(me) {
  return (await store.get(store.recordName("device", me))) ?? null;
}

/** Whether this browser makes non-extractable X25519 keys (tests may take it away). */
async function webCryptoKeyPair() {
  try {
    const pair = await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    return { privateKey: pair.privateKey, publicKey: raw };
  } catch {
    return null; // NotSupportedError: no X25519 in this browser's WebCrypto
  }
}

const b64u = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** Makes and stores this browser's device key for `me` (replacing none: call only without one). */
export async function createDevice(wasm, me, label) {
  const pair = await webCryptoKeyPair();
  let record;
  if (pair) {
    record = { kind: "webcrypto", privateKey: pair.privateKey, deviceKey: b64u(pair.publicKey) };
  } else {
    const made = wasm.generateDeviceIdentity();
    record = { kind: "wasm", identity: made.identity, deviceKey: made.deviceKey };
  }
  record.label = label;
  record.createdAt = new Date().toISOString();
  await store.put(store.recordName("device", me), record);
  return record;
}

/** Forgets this browser's device key (after the agent removed it). */
export async function forgetDevice(me) {
  await store.remove(store.recordName("device", me));
}

/** The device fingerprint both screens show: display form over the user id and the key. */
export function fingerprintOf(wasm, deviceKey, userId) {
  return wasm.deviceKeyFingerprint(deviceKey, String(userId)).display;
}

/**
 * `X25519(d, E)` for every X25519 stanza of `manifest` with a WebCrypto device key: 32 bytes
 * each, or null where WebCrypto refuses (an all-zero result: a low-order share). Wipe them
 * with `wipe()` once used.
 */
export async function sharesFor(wasm, privateKey, manifest) {
  const shares = [];
  for (const e of wasm.teamStanzaEphemerals(manifest)) {
    try {
      const share = await crypto.subtle.importKey("raw", e, { name: "X25519" }, true, []);
      shares.push(new Uint8Array(await crypto.subtle.deriveBits({ name: "X25519", public: share }, privateKey, 256)));
    } catch {
      shares.push(null);
    }
  }
  return shares;
}

export function wipe(shares) {
  for (const s of shares) s?.fill(0);
}

/**
 * Runs `withKey` with this device's secret the way its kind allows:
 * `withKey({ shares, identity })` where `shares` (WebCrypto) or `identity` (wasm, 32 bytes) is set.
 */
export async function withDeviceKey(wasm, device, manifest, withKey) {
  if (device.kind === "webcrypto") {
    const shares = await sharesFor(wasm, device.privateKey, manifest);
    try {
      return withKey({ shares });
    } finally {
      wipe(shares);
    }
  }
  return withKey({ identity: device.identity });
}

/** Opens a team-sealed package from its link with this device (docs/FORMAT.md §20.3). */
export function openWithDevice(wasm, device, manifest, linkSecret) {
  return withDeviceKey(wasm, device, manifest, ({ shares, identity }) =>
    shares
      ? wasm.openTeamPackageWithShares(manifest, device.deviceKey, shares, linkSecret)
      : wasm.openTeamPackage(manifest, identity, linkSecret));
}

/** Re-wraps a team-sealed package to `roster` (a verified TeamRoster) with this device. */
export function rewrapWithDevice(wasm, device, manifest, roster) {
  return withDeviceKey(wasm, device, manifest, ({ shares, identity }) =>
    shares
      ? wasm.rewrapTeamPackageWithShares(manifest, device.deviceKey, shares, roster)
      : wasm.rewrapTeamPackage(manifest, identity, roster));
}
