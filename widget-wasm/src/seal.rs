//! The sender's side: make a package's manifest and one encryptor per file.
//!
//! The server creates the package (`POST /api/v1/packages`) and answers with its id and the
//! server secret `S`. The page then makes everything else locally:
//!
//! - a fresh package key `K` and link secret `C` (from `crypto.getRandomValues`);
//! - the manifest: a link stanza (`K` wrapped under `HKDF(C || S)`), optional X25519 stanzas,
//!   the key commitment, the file table (a random salt per file) and the encrypted metadata;
//! - the link verifier `SHA-256(A)` that goes with the manifest upload;
//! - a [`FileEncryptor`] per file, keyed with `Kf = HKDF(K, salt)`.
//!
//! The sealing itself is the core's `seal_package`, the same function the native client calls.
//!
//! With team keys on, `PackageSealer.forTeam(packageId, roster, options)` seals instead to a
//! roster verified by [`crate::team::verify_roster`] (the core's `seal_team_package`): one
//! X25519 stanza per device and one for the recovery key, no link stanza, so the server secret
//! is not needed and opens nothing; the link secret still gives the link proof and the link
//! binding (docs/FORMAT.md §20).
//!
//! `K` and the file keys never leave wasm memory except as non-extractable WebCrypto keys;
//! `C` is handed to the page because the page has to put it into the link.

use js_sys::Uint8Array;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use sealdrop_crypto::{
    seal_package, seal_team_package, FileInfo, LinkProof, LinkSecret, LinkVerifier, Metadata,
    OsRandom, PackageId, RandomSource, RustCryptoAead, SealedPackage, SecureLink, ServerSecret,
    VerifiedRoster, X25519Recipient,
};

use crate::backend::Backend;
use crate::error::{Result, WidgetError};
use crate::stream::FileEncryptor;
use crate::team::TeamRoster;

/// The third argument of `new PackageSealer(packageId, serverSecret, options)`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SealOptions {
    files: Vec<FileInfo>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    sender: Option<String>,
    /// Additional recipients who open the package with an X25519 identity (base64url keys).
    #[serde(default)]
    x25519_recipients: Vec<String>,
    /// `"webcrypto"` or `"rustcrypto"`; the page default when absent.
    #[serde(default)]
    backend: Option<String>,
}

const OPTIONS_SHAPE: &str = "options must be { files: [{ name, size, type }], message?, sender?, \
                             x25519Recipients?, backend? }";

/// A sealed package: its manifest, link secret and per-file encryptors
/// (JavaScript: `PackageSealer`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct PackageSealer {
    id: PackageId,
    link_secret: LinkSecret,
    proof: LinkProof,
    verifier: LinkVerifier,
    manifest: Vec<u8>,
    files: Vec<FileEncryptor>,
    backend: Backend,
}

impl PackageSealer {
    /// Seals a package with randomness from `rng` (tests pass a deterministic source to get
    /// reproducible bytes; pages use the OS generator through the JavaScript constructor).
    pub fn seal(
        id: PackageId,
        server_secret: &ServerSecret,
        metadata: &Metadata,
        x25519_recipients: &[X25519Recipient],
        backend: Backend,
        rng: &dyn RandomSource,
    ) -> Result<Self> {
        // Stanzas and metadata are a few hundred bytes: the synchronous backend is fine.
        let sealed = seal_package(
            &RustCryptoAead,
            rng,
            id,
            server_secret,
            metadata,
            x25519_recipients,
        )?;
        Self::from_sealed(id, sealed, metadata, backend)
    }

    /// Seals a team-sealed package to a verified roster's recipients (docs/FORMAT.md §20), with
    /// randomness from `rng`.
    pub fn seal_team(
        id: PackageId,
        metadata: &Metadata,
        roster: &VerifiedRoster,
        backend: Backend,
        rng: &dyn RandomSource,
    ) -> Result<Self> {
        let sealed = seal_team_package(&RustCryptoAead, rng, id, metadata, roster.recipients())?;
        Self::from_sealed(id, sealed, metadata, backend)
    }

    fn from_sealed(
        id: PackageId,
        sealed: SealedPackage,
        metadata: &Metadata,
        backend: Backend,
    ) -> Result<Self> {
        let files = sealed
            .file_keys
            .into_iter()
            .zip(&metadata.files)
            .map(|(key, file)| FileEncryptor::new(key, file.size, backend))
            .collect::<Result<Vec<_>>>()?;
        let (link_secret, manifest) = (sealed.link_secret, sealed.manifest);
        let proof = LinkProof::derive(&link_secret, &id);
        let verifier = proof.verifier();
        Ok(Self {
            id,
            link_secret,
            proof,
            verifier,
            manifest,
            files,
            backend,
        })
    }

    /// The encryptor of file `index`.
    pub fn encryptor(&self, index: usize) -> Result<FileEncryptor> {
        self.files
            .get(index)
            .cloned()
            .ok_or_else(|| sealdrop_crypto::Error::NoSuchFile { index }.into())
    }

    /// The manifest bytes.
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest
    }

    /// The link secret `C`.
    pub fn secret(&self) -> &LinkSecret {
        &self.link_secret
    }
}

#[wasm_bindgen]
impl PackageSealer {
    /// Seals a new package for the server-made `packageId` and `serverSecret` (both base64url,
    /// from `POST /api/v1/packages`). `options`:
    /// `{ files: [{ name, size, type }], message?, sender?, x25519Recipients?, backend? }`,
    /// files in upload order (`file(i)` and the API's `{file}` index follow it).
    #[wasm_bindgen(constructor)]
    pub fn new(
        package_id: &str,
        server_secret: &str,
        #[wasm_bindgen(
            unchecked_param_type = "{ files: { name: string, size: number, type: string }[], message?: string | null, sender?: string | null, x25519Recipients?: string[], backend?: \"webcrypto\" | \"rustcrypto\" }"
        )]
        options: JsValue,
    ) -> Result<PackageSealer, JsValue> {
        let id = PackageId::parse_b64u(package_id).map_err(WidgetError::from)?;
        let server_secret = ServerSecret::parse_b64u(server_secret).map_err(WidgetError::from)?;
        let options = parse_options(&options)?;
        let recipients = options
            .x25519_recipients
            .iter()
            .map(|r| X25519Recipient::parse_b64u(r))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(WidgetError::from)?;
        let backend = Backend::choose(options.backend.as_deref())?;
        let metadata = Metadata {
            files: options.files,
            message: options.message,
            sender: options.sender,
        };
        Ok(Self::seal(
            id,
            &server_secret,
            &metadata,
            &recipients,
            backend,
            &OsRandom,
        )?)
    }

    /// Seals a new **team-sealed** package for the server-made `packageId` to a roster that
    /// `verifyRoster` accepted: no link stanza, one X25519 stanza per device and one for the
    /// recovery key. `options` as for the constructor, without `x25519Recipients`. The link
    /// (`link(base)`) still goes into the ticket: its secret gives the link proof and the link
    /// binding, and opens nothing.
    #[wasm_bindgen(js_name = forTeam)]
    pub fn for_team(
        package_id: &str,
        roster: &TeamRoster,
        #[wasm_bindgen(
            unchecked_param_type = "{ files: { name: string, size: number, type: string }[], message?: string | null, sender?: string | null, backend?: \"webcrypto\" | \"rustcrypto\" }"
        )]
        options: JsValue,
    ) -> Result<PackageSealer, JsValue> {
        let id = PackageId::parse_b64u(package_id).map_err(WidgetError::from)?;
        let options = parse_options(&options)?;
        if !options.x25519_recipients.is_empty() {
            return Err(WidgetError::invalid(
                "options.x25519Recipients: a team-sealed package goes to its roster only",
            )
            .into());
        }
        let backend = Backend::choose(options.backend.as_deref())?;
        let metadata = Metadata {
            files: options.files,
            message: options.message,
            sender: options.sender,
        };
        Ok(Self::seal_team(
            id,
            &metadata,
            roster.verified(),
            backend,
            &OsRandom,
        )?)
    }

    /// The manifest bytes, for `PUT /api/v1/packages/{id}/manifest`.
    #[wasm_bindgen(getter)]
    pub fn manifest(&self) -> Uint8Array {
        Uint8Array::from(&self.manifest[..])
    }

    /// The package id (base64url).
    #[wasm_bindgen(getter, js_name = packageId)]
    pub fn package_id(&self) -> String {
        self.id.to_b64u()
    }

    /// The link secret `C` (base64url): goes only into the link's fragment.
    #[wasm_bindgen(getter, js_name = linkSecret)]
    pub fn link_secret(&self) -> String {
        self.link_secret.to_b64u()
    }

    /// The link proof `A` (base64url), should the sender want to read the package back.
    #[wasm_bindgen(getter, js_name = linkProof)]
    pub fn link_proof(&self) -> String {
        self.proof.to_b64u()
    }

    /// `SHA-256(A)` (base64url): the `X-Sealdrop-Link-Verifier` header of the manifest upload.
    #[wasm_bindgen(getter, js_name = linkVerifier)]
    pub fn link_verifier(&self) -> String {
        self.verifier.to_b64u()
    }

    /// The secure link under `base` (for example `https://files.example.com`):
    /// `{base}/p/{packageId}#{linkSecret}`.
    pub fn link(&self, base: &str) -> String {
        SecureLink::new(base, self.id, self.link_secret.clone()).to_string()
    }

    /// Number of files.
    #[wasm_bindgen(getter, js_name = fileCount)]
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The encryptor of file `index` (0-based, in the order of `options.files`). Several calls
    /// return handles to the same encryptor.
    pub fn file(&self, index: usize) -> Result<FileEncryptor, JsValue> {
        Ok(self.encryptor(index)?)
    }

    /// The backend the file encryptors use: `"webcrypto"` or `"rustcrypto"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.name().to_owned()
    }
}

fn parse_options(options: &JsValue) -> Result<SealOptions> {
    let json = js_sys::JSON::stringify(options)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| WidgetError::invalid(OPTIONS_SHAPE))?;
    // serde's messages may quote values (file names, the message): confidential metadata that
    // must not end up in a log, so the error only restates the expected shape.
    serde_json::from_str(&json).map_err(|_| WidgetError::invalid(OPTIONS_SHAPE))
}
