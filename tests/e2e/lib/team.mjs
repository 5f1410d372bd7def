// Team keys in the browser tests (docs/FORMAT.md §16-§21): a Help Center upload sealed to the
// team the way the widget seals it, the keys a sidebar keeps in IndexedDB, and taking WebCrypto
// algorithms away from a browser so that the sidebar's wasm fallbacks run.
//
//   import { teamUpload, storedKeys, withoutWebCrypto } from './lib/team.mjs';
//   const { link } = await teamUpload({ server, sim, widgetKey, wasm, pin, files });
//   await browser.addInitScript(withoutWebCrypto, { generateKey: ['X25519'] });

import path from 'node:path';

import { repoRoot } from './server.mjs';

const fromB64u = (text) => Uint8Array.from(Buffer.from(text, 'base64url'));

/**
 * Seals `files` (`[{ name, bytes }]`) in Node to the tenant's team with the widget key, as the
 * Help Center widget does: the roster from `GET /widget/v1/roster`, verified against `pin` (the
 * admin key fingerprint of the snippet) before anything is sealed, then web/shared/upload.js with
 * `PackageSealer.forTeam`. `forgeBinding`: the package is made with a link secret other than
 * the one in the returned link, as a server substituting its own package would (its link
 * binding cannot match). Resolves to `{ link, roster }`.
 */
export async function teamUpload({ server, sim, widgetKey, wasm, pin, files, forgeBinding = false }) {
  const { Api, sendFiles } = await import(path.join(repoRoot, 'web/shared/upload.js'));
  const api = new Api({ base: server.url, headers: { 'X-Sealdrop-Widget-Key': widgetKey, Origin: sim.url } });
  const { subdomain } = await (await fetch(`${sim.url}/sim/info`)).json();
  const answer = await api.json('GET', '/widget/v1/roster');
  const roster = wasm.verifyRoster(fromB64u(answer.roster), pin, subdomain);
  // upload.js seals with `new wasm.PackageSealer(id, S, options)`; the widget seals to the team.
  const teamWasm = {
    ...wasm,
    PackageSealer: function TeamSealer(id, _serverSecret, options) {
      const sealer = wasm.PackageSealer.forTeam(id, roster, options);
      if (!forgeBinding) return sealer;
      const other = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
      return {
        linkSecret: other,
        linkVerifier: wasm.linkVerifier(wasm.linkProof(other, id)),
        manifest: sealer.manifest,
        file: (i) => sealer.file(i),
        free: () => sealer.free(),
      };
    },
  };
  const blobs = files.map((f) => new File([f.bytes], f.name, { type: 'application/octet-stream' }));
  const { link } = await sendFiles({ wasm: teamWasm, api, files: blobs });
  return { link, roster };
}

/**
 * An init script (`browser.addInitScript(withoutWebCrypto, { generateKey: ['X25519'],
 * importKey: ['Ed25519'] })`) that makes WebCrypto refuse those algorithms, as a browser without
 * them does (NotSupportedError).
 */
export function withoutWebCrypto(refused) {
  const nameOf = (algorithm) => (typeof algorithm === 'string' ? algorithm : algorithm?.name);
  for (const method of ['generateKey', 'importKey']) {
    const names = refused[method] ?? [];
    if (names.length === 0) continue;
    const original = SubtleCrypto.prototype[method];
    const algorithmAt = method === 'generateKey' ? 0 : 2;
    SubtleCrypto.prototype[method] = function patched(...args) {
      if (names.includes(nameOf(args[algorithmAt]))) {
        return Promise.reject(new DOMException(`${nameOf(args[algorithmAt])} is not supported`, 'NotSupportedError'));
      }
      return original.apply(this, args);
    };
  }
}

/**
 * What the sidebar keeps in IndexedDB, read inside its frame: `{ name: { kind, extractable,
 * deviceKey?, publicKey? } }` (never the secret itself: a CryptoKey says whether it is
 * extractable; the wasm fallback's bytes only say their length).
 */
export function storedKeys(frame) {
  return frame.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('sealdrop-sidebar');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('keys')) return resolve({});
      const tx = db.transaction('keys', 'readonly');
      const out = {};
      const cursor = tx.objectStore('keys').openCursor();
      cursor.onsuccess = () => {
        const c = cursor.result;
        if (!c) return;
        const v = c.value;
        if (v && typeof v === 'object') {
          const secret = v.privateKey ?? v.identity ?? v.secret;
          out[c.key] = {
            kind: v.kind,
            deviceKey: v.deviceKey,
            publicKey: v.publicKey,
            cryptoKey: secret instanceof CryptoKey,
            extractable: secret instanceof CryptoKey ? secret.extractable : true,
            algorithm: secret instanceof CryptoKey ? secret.algorithm.name : `${secret?.length} bytes`,
          };
        } else {
          out[c.key] = v;
        }
        c.continue();
      };
      tx.oncomplete = () => resolve(out);
    };
  }));
}
