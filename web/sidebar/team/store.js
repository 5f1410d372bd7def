// The sidebar's keys in this browser: one IndexedDB database of the sidebar's origin, one
// object store of records by name. It holds the agent's device key (a non-extractable
// WebCrypto CryptoKey, or the wasm fallback's 32 bytes), the admin key on the admin's browser
// (likewise), and the highest roster sequence this browser accepted (docs/FORMAT.md §19.3).
//
// Records are named per Zendesk account and user (`device:acme:372611045113`), so agents who
// share a browser profile never see each other's keys. Nothing here is ever sent anywhere.

const DB = "sealdrop-sidebar";
const STORE = "keys";

let opening = null;

function database() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

async function run(mode, body) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = body(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request?.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** The record named `name`, or undefined. */
export const get = (name) => run("readonly", (store) => store.get(name));

/** Stores `value` (structured-cloned: CryptoKeys stay non-extractable) under `name`. */
export const put = (name, value) => run("readwrite", (store) => store.put(value, name));

/** Removes the record named `name`. */
export const remove = (name) => run("readwrite", (store) => store.delete(name));

/** Record names for the signed-in agent: `kind:subdomain:userId`. */
export const recordName = (kind, me) => `${kind}:${me.subdomain}:${me.user_id}`;
