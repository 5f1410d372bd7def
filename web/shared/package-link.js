// A received package, opened from its secure link: what the recipient page and the agent
// sidebar do before they download (docs/API.md, "Downloading").
//
//   import { PackageLink } from "/static/shared/package-link.js";
//   const pkg = new PackageLink({ api, link: wasm.parseLink(url), headers: () => ({ … }) });
//   const info = await pkg.info();                 // sender, expiry, downloads left
//   const opened = await pkg.open(wasm);           // manifest + S → names, sizes, decryptors
//   // the sidebar: await pkg.open(wasm, { openTeam }) opens team-sealed packages with its device key
//   const { token, started } = await pkg.downloadToken();
//
// Every request carries the link proof A (never the link secret C, which stays here and in
// the wasm bindings) and whatever `headers()` adds (a recipient session). `open` throws
// `ManifestError` when the manifest does not open with C and S (a wrong link, or tampering),
// and `ApiError` for the server's refusals (`verification_required`, `expired`, ...).

import { newIdempotencyKey } from "./api.js";

/** The manifest did not open: `kind` is the wasm error's kind (`wrong_link_or_server_secret`, `tampered`, ...). */
export class ManifestError extends Error {
  constructor(kind, message) {
    super(message || kind);
    this.name = "ManifestError";
    this.kind = kind;
  }
}

/** Whether `manifest` is team-sealed; a manifest that does not parse is a `ManifestError`. */
function teamSealed(wasm, manifest) {
  try {
    return wasm.inspectManifest(manifest).teamSealed;
  } catch (err) {
    throw new ManifestError(err?.kind ?? "tampered", err?.message);
  }
}

export class PackageLink {
  /** `link` is `wasm.parseLink(url)`: `{ packageId, linkSecret, linkProof }`. */
  constructor({ api, link, headers = () => ({}) }) {
    this.api = api;
    this.link = link;
    this.extraHeaders = headers;
    this.details = null; // the last GET answer
    this.download = null; // { token, expiresAt }
    this.downloadKey = null;
  }

  get id() {
    return this.link.packageId;
  }

  headers(extra = {}) {
    return { "X-Sealdrop-Link-Proof": this.link.linkProof, ...this.extraHeaders(), ...extra };
  }

  /** `GET /api/v1/packages/{id}`: sender, expiry, `require_auth`, `downloads_left`. */
  async info() {
    this.details = await this.api.json("GET", `/api/v1/packages/${this.id}`, { headers: this.headers() });
    return this.details;
  }

  /**
   * `POST …/open`, then the manifest opened with C and S by the wasm bindings. A caller that
   * holds a team device key (the agent sidebar) passes `openTeam(manifest, linkSecret)`: a
   * team-sealed manifest (no link stanza, docs/FORMAT.md §20) is handed to it instead.
   */
  async open(wasm, { openTeam } = {}) {
    const answer = await this.api.json("POST", `/api/v1/packages/${this.id}/open`, { headers: this.headers() });
    const manifest = Uint8Array.from(atob(answer.manifest), (c) => c.charCodeAt(0));
    if (openTeam && teamSealed(wasm, manifest)) return openTeam(manifest, this.link.linkSecret);
    try {
      return wasm.openPackage(manifest, this.link.linkSecret, answer.server_secret);
    } catch (err) {
      throw new ManifestError(err?.kind ?? "tampered", err?.message);
    }
  }

  /**
   * A download token, reused while it has a minute left. Starting one counts against the
   * package's download limit; its `Idempotency-Key` is kept until a start succeeds, so a retry
   * after a lost answer does not use up another download, and a later start gets a new key.
   * Resolves to `{ token, started }` (`started`: a new download was counted).
   */
  async downloadToken() {
    if (this.download && Date.parse(this.download.expiresAt) > Date.now() + 60_000) {
      return { token: this.download.token, started: false };
    }
    this.downloadKey ??= newIdempotencyKey();
    const answer = await this.api.json("POST", `/api/v1/packages/${this.id}/download`, {
      headers: this.headers({ "Idempotency-Key": this.downloadKey }),
      ok: [200, 201],
    });
    this.downloadKey = null;
    this.download = { token: answer.download_token, expiresAt: answer.expires_at };
    if (typeof this.details?.downloads_left === "number") {
      this.details.downloads_left = Math.max(0, this.details.downloads_left - 1);
    }
    return { token: this.download.token, started: true };
  }
}
