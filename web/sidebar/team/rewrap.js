// Re-wrapping older Help Center uploads to the current roster (docs/FORMAT.md §21.2), in the
// admin's browser: the server lists the tenant's team-sealed packages and hands out their
// manifests (without links), this browser opens each package key `K` with the recovery code or
// with its own device key, seals `K` again to every device of the roster (and the recovery
// key), and uploads the new manifest. The server checks that only the stanzas changed; it never
// sees `K`.

import { api } from "../context.js";
import { rewrapWithDevice } from "./device.js";

/**
 * Re-wraps every listed package to `roster` (a verified TeamRoster) with `code` (a wasm
 * RecoveryCode) if given, else with `device` (this browser's device key). `onProgress({ done,
 * total })` after each. Resolves to `{ total, rewrapped, notOpened, failed }`: `notOpened` counts
 * packages the key used does not open (this device was not a recipient: use the code).
 */
export async function rewrapAll(wasm, { roster, code, device, onProgress = () => {} }) {
  const { packages } = await api.json("GET", "/api/v1/team/packages");
  const result = { total: packages.length, rewrapped: 0, notOpened: 0, failed: 0 };
  for (const [i, p] of packages.entries()) {
    try {
      const res = await api.request("GET", `/api/v1/team/packages/${p.id}/manifest`);
      const manifest = new Uint8Array(await res.arrayBuffer());
      const rewrapped = code ? code.rewrapPackage(manifest, roster) : await rewrapWithDevice(wasm, device, manifest, roster);
      await api.json("PUT", `/api/v1/team/packages/${p.id}/manifest`, {
        body: rewrapped,
        headers: { "Content-Type": "application/octet-stream" },
        retries: 0,
      });
      result.rewrapped += 1;
    } catch (err) {
      if (err?.kind === "no_usable_stanza") result.notOpened += 1;
      else result.failed += 1;
    }
    onProgress({ done: i + 1, total: packages.length });
  }
  return result;
}
