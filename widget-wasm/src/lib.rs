//! sealdrop in the browser: the format v1 core (`sealdrop-crypto`) bound to JavaScript.
//!
//! The pages that use this crate (the recipient page, the Help Center widget running in a Web
//! Worker, the agent app) do their own I/O (`fetch`, files, streams); this crate gives them the
//! cryptography, one 64 KiB STREAM chunk at a time:
//!
//! ```js
//! import init, { PackageSealer, openPackage, parseLink } from "./sealdrop_widget.js";
//! await init();
//!
//! // Sender: the server made the package id and the server secret S.
//! const sealer = new PackageSealer(id, serverSecret, {
//!   files: [{ name: "scan.pdf", size: file.size, type: "application/pdf" }],
//!   message: "Here you go", sender: null,
//! });
//! // PUT sealer.manifest with header X-Sealdrop-Link-Verifier: sealer.linkVerifier
//! const enc = sealer.file(0);
//! for (let i = 0; i < enc.chunkCount; i++) {
//!   const [start, end] = enc.plaintextRange(i);
//!   const ct = await enc.encryptChunk(i, new Uint8Array(await file.slice(start, end).arrayBuffer()));
//! }
//! const url = sealer.link("https://sealdrop.example");
//!
//! // Recipient: the link secret stays in the fragment, the server releases S and the manifest.
//! const link = parseLink(location.href);      // link.linkProof goes in X-Sealdrop-Link-Proof
//! const pkg = openPackage(manifest, link.linkSecret, serverSecret);
//! pkg.metadata.files[0].name;
//! const dec = pkg.file(0);
//! const pt = await dec.decryptChunk(0, ciphertextChunk0);
//! ```
//!
//! Chunk encryption and decryption go through WebCrypto's AES-GCM by default (about 25 times
//! faster than AES compiled to wasm), with the core's RustCrypto AEAD as the fallback
//! ([`set_backend`]). Whatever the backend, the framing, the nonces, the key schedule and every
//! length check stay in Rust: WebCrypto only ever sees a non-extractable per-file key, a nonce the
//! core planned, and a chunk whose length the core accepted.
//!
//! Everything here works in a Window and in a (dedicated or shared) Worker: the only browser
//! object used is `crypto`, taken from the global scope.
//!
//! Team keys (docs/FORMAT.md §16-§21) are in [`team`]: `verifyRoster` checks a roster against
//! the admin key fingerprint the page pins, `PackageSealer.forTeam` seals to it (no link
//! stanza), `openTeamPackage` opens with a device key (`openTeamPackageWithShares` with one
//! wasm never holds: a non-extractable WebCrypto X25519 key, [`shares`]), and `RecoveryCode` / `AdminKey` serve the
//! admin's screen (the printed code, the wrapped admin key, signing rosters, re-wrapping).
//!
//! Errors thrown to JavaScript are `Error` objects named `SealdropError` with a `kind` (the core's
//! stable error kind, for example `"chunk_tampered"` or `"wrong_link_or_server_secret"`) and,
//! for chunk errors, the chunk `index`; see [`error`].

#![forbid(unsafe_code)]

pub mod backend;
pub mod error;
pub mod link;
pub mod open;
pub mod seal;
pub mod shares;
pub mod sizes;
pub mod stream;
pub mod team;
pub mod webcrypto;

pub use backend::{backend, set_backend, Backend};
pub use error::WidgetError;
pub use link::{link_proof, link_verifier, parse_link, ParsedLink};
pub use open::{
    inspect_manifest, open_package, open_package_with_identity, open_team_package,
    open_team_package_with_shares, team_stanza_ephemerals, OpenedPackageJs,
};
pub use seal::PackageSealer;
pub use stream::{FileDecryptor, FileEncryptor};
pub use team::{assemble_roster, verify_roster, AdminKeyJs, RecoveryCodeJs, TeamRoster};
pub use webcrypto::WebCryptoFileKey;
