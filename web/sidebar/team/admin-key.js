// The tenant's admin key on the admin's browser (docs/FORMAT.md §18, §19.2): it signs rosters.
//
// It is made here (`AdminKey.generate`) together with the printed recovery code, which wraps it
// for the server (`PUT /api/v1/team/admin-key`); on another browser the code and the server's
// wrapped blob give it back (`RecoveryCode.unwrapAdminKey`). This browser keeps it in IndexedDB
// as a non-extractable WebCrypto Ed25519 key where the browser has Ed25519 (signing then runs
// `crypto.subtle.sign` over `rosterSigningInput` and `assembleRoster` puts the roster
// together), else as its 32 secret bytes for the wasm core to sign with. The 32 bytes exist in
// page memory only while the key is imported, and are wiped right after.
//
// Every roster this browser signs is verified against this key's own fingerprint before it is
// published: the admin's browser is its own pin.

import * as store from "./store.js";

// PKCS #8 header of an Ed25519 private key (RFC 8410): the 32-byte seed follows.
const ED25519_PKCS8 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

/** `{ kind: "webcrypto" | "wasm", publicKey, fingerprint (compact), privateKey? , secret? }` or null. */
export async function loadAdminKey(me) {
  return (await store.get(store.recordName("admin-key", me))) ?? null;
}

export async function forgetAdminKey(me) {
  await store.remove(store.recordName("admin-key", me));
}

/** Keeps `adminKey` (a wasm AdminKey) in this browser, as non-extractable as the browser allows. */
export async function keepAdminKey(me, adminKey) {
  const record = { publicKey: adminKey.publicKey, fingerprint: adminKey.fingerprint };
  const seed = adminKey.toBytes();
  const pkcs8 = new Uint8Array(ED25519_PKCS8.length + seed.length);
  pkcs8.set(ED25519_PKCS8);
  pkcs8.set(seed, ED25519_PKCS8.length);
  try {
    record.privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
    record.kind = "webcrypto";
  } catch {
    record.secret = seed.slice();
    record.kind = "wasm";
  } finally {
    seed.fill(0);
    pkcs8.fill(0);
  }
  await store.put(store.recordName("admin-key", me), record);
  return record;
}

/** Signs roster `content` (`{ tenant, sequence, issuedAt, recoveryKey, devices }`): the roster's bytes. */
export async function signRoster(wasm, key, content) {
  if (key.kind === "webcrypto") {
    const input = wasm.rosterSigningInput(key.publicKey, content);
    const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, input));
    return wasm.assembleRoster(key.publicKey, content, signature);
  }
  const admin = wasm.AdminKey.fromBytes(key.secret);
  try {
    return admin.signRoster(content);
  } finally {
    admin.free();
  }
}
