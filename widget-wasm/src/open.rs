//! The recipient's side: open a manifest and decrypt files chunk by chunk.
//!
//! Opening checks, in this order and before any file byte is decrypted: the manifest's
//! structure, the link stanza (with `C` from the link and `S` from the server), the key
//! commitment, and the metadata (which authenticates the file table). Only then does the page
//! get file names and [`FileDecryptor`]s.
//!
//! A team-sealed package (no link stanza, docs/FORMAT.md §20) opens with an agent's device key
//! instead, and its link binding is checked against the link's secret
//! ([`open_team_package`]); a device key the page keeps as a non-extractable WebCrypto key
//! opens it through the page's key agreement ([`open_team_package_with_shares`], `shares`).

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use sealdrop_crypto::{
    LinkSecret, Manifest, OpenedPackage, RustCryptoAead, ServerSecret, X25519Identity,
    X25519Recipient,
};

use crate::backend::Backend;
use crate::error::{Result, WidgetError};
use crate::shares::OutsideAgreement;
use crate::stream::FileDecryptor;

/// An opened package: verified metadata and per-file decryptors (JavaScript: `OpenedPackage`).
#[wasm_bindgen(js_name = OpenedPackage)]
#[derive(Debug)]
pub struct OpenedPackageJs {
    manifest: Manifest,
    opened: OpenedPackage,
    backend: Backend,
}

impl OpenedPackageJs {
    /// Opens `manifest` with the link secret `C` and the server secret `S`.
    pub fn with_link(
        manifest: &[u8],
        link_secret: &LinkSecret,
        server_secret: &ServerSecret,
        backend: Backend,
    ) -> Result<Self> {
        let manifest = Manifest::parse(manifest)?;
        let opened = manifest.open_with_link(&RustCryptoAead, link_secret, server_secret)?;
        Ok(Self {
            manifest,
            opened,
            backend,
        })
    }

    /// Opens a team-sealed `manifest` from its link with a device identity, checking the link
    /// binding (docs/FORMAT.md §20.3).
    pub fn with_team(
        manifest: &[u8],
        identity: &X25519Identity,
        link_secret: &LinkSecret,
        backend: Backend,
    ) -> Result<Self> {
        let manifest = Manifest::parse(manifest)?;
        let opened = manifest.open_team(&RustCryptoAead, identity, link_secret)?;
        Ok(Self {
            manifest,
            opened,
            backend,
        })
    }

    /// Opens a team-sealed `manifest` from its link with a device key held outside wasm: its
    /// public key and the page's key agreement results (docs/FORMAT.md §20.5).
    pub fn with_team_agreement(
        manifest: &[u8],
        device_key: &X25519Recipient,
        shares: &Array,
        link_secret: &LinkSecret,
        backend: Backend,
    ) -> Result<Self> {
        let manifest = Manifest::parse(manifest)?;
        let agreement = OutsideAgreement::new(&manifest, shares)?;
        let opened = manifest.open_team_with_agreement(
            &RustCryptoAead,
            device_key,
            &mut |e| agreement.agree(e),
            link_secret,
        )?;
        Ok(Self {
            manifest,
            opened,
            backend,
        })
    }

    /// Opens `manifest` with an X25519 identity (an agent device key).
    pub fn with_identity(
        manifest: &[u8],
        identity: &X25519Identity,
        backend: Backend,
    ) -> Result<Self> {
        let manifest = Manifest::parse(manifest)?;
        let opened = manifest.open_with_x25519(&RustCryptoAead, identity)?;
        Ok(Self {
            manifest,
            opened,
            backend,
        })
    }

    /// The decryptor of file `index`.
    pub fn decryptor(&self, index: usize) -> Result<FileDecryptor> {
        FileDecryptor::new(self.opened.file_decryptor(index)?, self.backend)
    }

    /// The verified metadata.
    pub fn metadata_ref(&self) -> &sealdrop_crypto::Metadata {
        self.opened.metadata()
    }

    /// The core's opened package (Rust only: file keys never cross into JavaScript).
    pub fn core(&self) -> &OpenedPackage {
        &self.opened
    }
}

#[wasm_bindgen(js_class = OpenedPackage)]
impl OpenedPackageJs {
    /// The package id (base64url).
    #[wasm_bindgen(getter, js_name = packageId)]
    pub fn package_id(&self) -> String {
        self.manifest.package_id().to_b64u()
    }

    /// The metadata the sender sealed, verified:
    /// `{ files: [{ name, size, type }], message, sender }`. File names are the sender's
    /// input: display them, do not trust them as paths.
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "{ files: { name: string, size: number, type: string }[], message: string | null, sender: string | null }"
    )]
    pub fn metadata(&self) -> Result<JsValue, JsValue> {
        let json = self.metadata_json()?;
        js_sys::JSON::parse(&json)
    }

    /// The metadata as a JSON string.
    #[wasm_bindgen(getter, js_name = metadataJson)]
    pub fn metadata_json(&self) -> Result<String, JsValue> {
        serde_json::to_string(self.opened.metadata())
            .map_err(|_| WidgetError::Backend("metadata does not serialize".into()).into())
    }

    /// Number of files.
    #[wasm_bindgen(getter, js_name = fileCount)]
    pub fn file_count(&self) -> usize {
        self.manifest.files().len()
    }

    /// The decryptor of file `index` (0-based, the API's `{file}`).
    pub fn file(&self, index: usize) -> Result<FileDecryptor, JsValue> {
        Ok(self.decryptor(index)?)
    }

    /// The backend the file decryptors use: `"webcrypto"` or `"rustcrypto"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.name().to_owned()
    }
}

/// Opens a package with the link secret `C` (base64url, from the link's fragment) and the
/// server secret `S` (base64url, from `POST /api/v1/packages/{id}/open`). `backend` is
/// `"webcrypto"` or `"rustcrypto"` (default: the page's, see `setBackend`).
///
/// Throws `wrong_link_or_server_secret`, `commitment_mismatch`, `metadata_tampered`,
/// `invalid_manifest`, ... before any file is decrypted.
#[wasm_bindgen(js_name = openPackage)]
pub fn open_package(
    manifest: &[u8],
    link_secret: &str,
    server_secret: &str,
    backend: Option<String>,
) -> Result<OpenedPackageJs, JsValue> {
    let link_secret = LinkSecret::parse_b64u(link_secret).map_err(WidgetError::from)?;
    let server_secret = ServerSecret::parse_b64u(server_secret).map_err(WidgetError::from)?;
    let backend = Backend::choose(backend.as_deref())?;
    Ok(OpenedPackageJs::with_link(
        manifest,
        &link_secret,
        &server_secret,
        backend,
    )?)
}

/// Opens a package with an X25519 identity (base64url secret key), for packages that carry a
/// stanza for its recipient key.
#[wasm_bindgen(js_name = openPackageWithIdentity)]
pub fn open_package_with_identity(
    manifest: &[u8],
    identity: &str,
    backend: Option<String>,
) -> Result<OpenedPackageJs, JsValue> {
    let identity = X25519Identity::parse_b64u(identity).map_err(WidgetError::from)?;
    let backend = Backend::choose(backend.as_deref())?;
    Ok(OpenedPackageJs::with_identity(
        manifest, &identity, backend,
    )?)
}

/// Opens a **team-sealed** package from its link with the agent's device identity: `identity`
/// is the 32 secret bytes of the device's X25519 key (as the wasm fallback keeps them),
/// `linkSecret` the link's fragment (base64url). Throws `not_team_sealed` for a package with a
/// link stanza (open it with `openPackage`), `no_usable_stanza` if this device is not a
/// recipient, `link_binding_mismatch` if the package was not made by the holder of this link,
/// then as `openPackage`.
#[wasm_bindgen(js_name = openTeamPackage)]
pub fn open_team_package(
    manifest: &[u8],
    identity: &[u8],
    link_secret: &str,
    backend: Option<String>,
) -> Result<OpenedPackageJs, JsValue> {
    let identity = crate::team::identity_from_bytes(identity)?;
    let link_secret = LinkSecret::parse_b64u(link_secret).map_err(WidgetError::from)?;
    let backend = Backend::choose(backend.as_deref())?;
    Ok(OpenedPackageJs::with_team(
        manifest,
        &identity,
        &link_secret,
        backend,
    )?)
}

/// The ephemeral share `E` of every X25519 stanza of `manifest`, in stanza order (32 bytes
/// each, public): a device key kept as a non-extractable WebCrypto `CryptoKey` derives
/// `X25519(d, E)` from each (`crypto.subtle.deriveBits`) for `openTeamPackageWithShares`.
#[wasm_bindgen(js_name = teamStanzaEphemerals, unchecked_return_type = "Uint8Array[]")]
pub fn team_stanza_ephemerals(manifest: &[u8]) -> Result<js_sys::Array, JsValue> {
    let manifest = Manifest::parse(manifest).map_err(WidgetError::from)?;
    Ok(manifest
        .x25519_shares()
        .iter()
        .map(|e| JsValue::from(js_sys::Uint8Array::from(&e[..])))
        .collect())
}

/// `openTeamPackage` for a device key the page keeps outside wasm (a non-extractable WebCrypto
/// X25519 key, docs/FORMAT.md §20.5): `deviceKey` is its public key (base64url), `shares` holds
/// for each of `teamStanzaEphemerals(manifest)`, in order, the 32 bytes of `deriveBits` with it,
/// or `null` where `deriveBits` refused (a low-order share). Throws as `openTeamPackage`
/// (`no_usable_stanza` if this device is not a recipient, `link_binding_mismatch`,
/// `low_order_point`, …), and `invalid_argument` if `shares` does not match the manifest.
#[wasm_bindgen(js_name = openTeamPackageWithShares)]
pub fn open_team_package_with_shares(
    manifest: &[u8],
    device_key: &str,
    #[wasm_bindgen(unchecked_param_type = "(Uint8Array | null)[]")] shares: js_sys::Array,
    link_secret: &str,
    backend: Option<String>,
) -> Result<OpenedPackageJs, JsValue> {
    let device_key = X25519Recipient::parse_b64u(device_key).map_err(WidgetError::from)?;
    let link_secret = LinkSecret::parse_b64u(link_secret).map_err(WidgetError::from)?;
    let backend = Backend::choose(backend.as_deref())?;
    Ok(OpenedPackageJs::with_team_agreement(
        manifest,
        &device_key,
        &shares,
        &link_secret,
        backend,
    )?)
}

/// Reads the public part of a manifest without any key:
/// `{ packageId, stanzas: ["link" | "x25519"], teamSealed, files: [{ ciphertextSize,
/// plaintextSize }] }`; `teamSealed` is true when there is no link stanza (open it with
/// `openTeamPackage`).
#[wasm_bindgen(
    js_name = inspectManifest,
    unchecked_return_type = "{ packageId: string, stanzas: (\"link\" | \"x25519\")[], teamSealed: boolean, files: { ciphertextSize: number, plaintextSize: number }[] }"
)]
pub fn inspect_manifest(manifest: &[u8]) -> Result<Object, JsValue> {
    let manifest = Manifest::parse(manifest).map_err(WidgetError::from)?;
    let stanzas = js_sys::Array::new();
    for kind in manifest.stanza_kinds() {
        stanzas.push(&kind.name().into());
    }
    let files = js_sys::Array::new();
    for entry in manifest.files() {
        let file = Object::new();
        let plaintext = sealdrop_crypto::stream::plaintext_size(entry.ciphertext_size)
            .map_err(WidgetError::from)?;
        set(
            &file,
            "ciphertextSize",
            &(entry.ciphertext_size as f64).into(),
        );
        set(&file, "plaintextSize", &(plaintext as f64).into());
        files.push(&file);
    }
    let out = Object::new();
    set(&out, "packageId", &manifest.package_id().to_b64u().into());
    set(&out, "stanzas", &stanzas);
    set(&out, "teamSealed", &manifest.is_team_sealed().into());
    set(&out, "files", &files);
    Ok(out)
}

fn set(obj: &Object, key: &str, value: &JsValue) {
    // Reflect::set on a fresh plain object cannot fail.
    let _ = Reflect::set(obj, &key.into(), value);
}
