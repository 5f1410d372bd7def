// Opening a ticket's team-sealed Help Center upload (docs/FORMAT.md §20.3) with this
// browser's device key. The inbox hands this to `PackageLink.open`, which calls it when the
// manifest has no link stanza; the server's role checks have already applied (it released the
// manifest to this agent session and the link proof).
//
// No roster is needed to open: the package says which keys it was sealed to, and the link
// binding inside its metadata says it was made by whoever made the link.

import * as wasm from "/static/pkg/sealdrop_widget.js";

import { state } from "../context.js";
import { loadDevice, openWithDevice } from "./device.js";

/** Why a team-sealed package did not open: `kind` is `no_device`, or the wasm error's kind. */
export class TeamOpenError extends Error {
  constructor(kind, message) {
    super(message || kind);
    this.name = "TeamOpenError";
    this.kind = kind;
  }
}

/** `(manifest, linkSecret) => OpenedPackage`, for `PackageLink.open`. */
export async function openTeamPackage(manifest, linkSecret) {
  const device = state.device ?? (await loadDevice(state.me));
  if (!device) throw new TeamOpenError("no_device");
  try {
    return await openWithDevice(wasm, device, manifest, linkSecret);
  } catch (err) {
    throw new TeamOpenError(err?.kind ?? "error", err?.message);
  }
}
