//! Team keys in the browser (docs/FORMAT.md §16-§21): what the widget, the sidebar and the
//! admin's screen need.
//!
//! ```js
//! // Widget: the snippet pins the admin key's fingerprint; the server only serves the roster.
//! const roster = verifyRoster(rosterBytes, snippet.adminKeyFingerprint, "acme", lastSeenSequence);
//! localStorage.setItem("sealdrop-roster-sequence", roster.sequence);
//! const sealer = PackageSealer.forTeam(packageId, roster, { files, message });
//!
//! // Sidebar (wasm fallback, no WebCrypto X25519): the device key as 32 bytes in IndexedDB.
//! const { identity, deviceKey } = generateDeviceIdentity();
//! deviceKeyFingerprint(deviceKey, userId).display;   // shown for the admin to compare
//! const opened = openTeamPackage(manifest, identity, link.linkSecret);
//! // Sidebar with WebCrypto X25519: the key stays a non-extractable CryptoKey; the page derives
//! // one shared secret per stanza (see `shares`) and wasm never sees the key.
//! const opened2 = openTeamPackageWithShares(manifest, deviceKey, shares, link.linkSecret);
//!
//! // Admin: a key, a printed code, the wrapped key for the server, a signed roster.
//! const admin = AdminKey.generate();
//! const code = RecoveryCode.generate();                // show code.text once, for printing
//! const blob = code.wrapAdminKey(admin);
//! const rosterBytes = admin.signRoster({ tenant: "acme", sequence: 1, issuedAt, recoveryKey:
//!   code.recoveryKey, devices: [{ deviceKey, userId: "372611045113", label: "Alice, laptop" }] });
//! const rewrapped = code.rewrapPackage(manifest, roster);   // after a removal
//! ```
//!
//! Secrets stay in wasm objects where they can: the recovery code, the admin key and the
//! recovery identity never become JavaScript strings unless a page asks for them (`text`,
//! `toBytes`), and a device identity is handed over as bytes only because the wasm fallback has
//! to keep it somewhere.

use js_sys::{Array, Object, Reflect, Uint8Array};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use zeroize::Zeroize;

use sealdrop_crypto::team::roster::signing_input;
use sealdrop_crypto::{
    rewrap_team_package, sign_roster, AdminPublicKey, AdminSigningKey, Fingerprint, Manifest,
    OpenedPackage, OsRandom, RecoveryCode, Roster, RosterContent, RosterDevice, RustCryptoAead,
    VerifiedRoster, X25519Identity, X25519Recipient,
};

use crate::backend::Backend;
use crate::error::{Result, WidgetError};
use crate::open::OpenedPackageJs;
use crate::shares::OutsideAgreement;
use crate::sizes::u64_from_js;

/// A device identity from its 32 secret bytes.
pub(crate) fn identity_from_bytes(bytes: &[u8]) -> Result<X25519Identity> {
    let mut secret: [u8; 32] = bytes
        .try_into()
        .map_err(|_| WidgetError::invalid("identity must be 32 bytes"))?;
    let identity = X25519Identity::from_bytes(secret);
    secret.zeroize();
    Ok(identity)
}

/// A roster that passed every check of docs/FORMAT.md §19.3 (JavaScript: `TeamRoster`). Only
/// [`verify_roster`] makes one, so a page cannot seal to keys it did not verify.
#[wasm_bindgen]
#[derive(Clone, Debug)]
pub struct TeamRoster {
    verified: VerifiedRoster,
}

impl TeamRoster {
    /// Verifies roster bytes against the pinned admin key fingerprint (either text form), the
    /// tenant, and the highest sequence accepted before, if remembered.
    pub fn verify(
        bytes: &[u8],
        pinned_fingerprint: &str,
        tenant: &str,
        highest_seen: Option<u64>,
    ) -> Result<Self> {
        let pin = Fingerprint::parse(pinned_fingerprint)?;
        let verified = VerifiedRoster::verify(bytes, &pin, tenant, highest_seen)?;
        Ok(TeamRoster { verified })
    }

    /// The core's verified roster.
    pub fn verified(&self) -> &VerifiedRoster {
        &self.verified
    }
}

#[wasm_bindgen]
impl TeamRoster {
    /// The sequence number: remember the highest accepted, and pass it to the next
    /// `verifyRoster`.
    #[wasm_bindgen(getter)]
    pub fn sequence(&self) -> f64 {
        self.verified.content().sequence() as f64
    }

    /// When the admin signed it (Unix seconds).
    #[wasm_bindgen(getter, js_name = issuedAt)]
    pub fn issued_at(&self) -> f64 {
        self.verified.content().issued_at() as f64
    }

    /// The tenant (the Zendesk subdomain).
    #[wasm_bindgen(getter)]
    pub fn tenant(&self) -> String {
        self.verified.content().tenant().to_owned()
    }

    /// The admin public key (base64url).
    #[wasm_bindgen(getter, js_name = adminKey)]
    pub fn admin_key(&self) -> String {
        self.verified.admin_key().to_b64u()
    }

    /// The admin key fingerprint, display form (`xxxx xxxx …`, 8 groups).
    #[wasm_bindgen(getter, js_name = adminKeyFingerprint)]
    pub fn admin_key_fingerprint(&self) -> String {
        self.verified.admin_key().fingerprint().to_display()
    }

    /// The recovery key `R_rec` (base64url).
    #[wasm_bindgen(getter, js_name = recoveryKey)]
    pub fn recovery_key(&self) -> String {
        self.verified.recipients().recovery().to_b64u()
    }

    /// The devices in roster order: `[{ deviceKey, userId, label, fingerprint }]`; `userId` is
    /// a decimal string (Zendesk ids can exceed 2^53), `fingerprint` the display form.
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "{ deviceKey: string, userId: string, label: string, fingerprint: string }[]"
    )]
    pub fn devices(&self) -> Array {
        let out = Array::new();
        let fingerprints = self.verified.device_fingerprints();
        for (device, fingerprint) in self.verified.content().devices().iter().zip(fingerprints) {
            let obj = Object::new();
            let key = X25519Recipient::from_bytes(*device.device_key());
            set(&obj, "deviceKey", &key.to_b64u().into());
            set(&obj, "userId", &device.user_id().to_string().into());
            set(&obj, "label", &device.label().into());
            set(&obj, "fingerprint", &fingerprint.to_display().into());
            out.push(&obj);
        }
        out
    }

    /// Whom a team-sealed package goes to, in stanza order (base64url): the devices, then
    /// the recovery key.
    #[wasm_bindgen(getter, unchecked_return_type = "string[]")]
    pub fn recipients(&self) -> Array {
        self.verified
            .recipients()
            .iter()
            .map(|r| JsValue::from(r.to_b64u()))
            .collect()
    }

    /// The roster's bytes, as signed.
    #[wasm_bindgen(getter)]
    pub fn bytes(&self) -> Uint8Array {
        Uint8Array::from(&self.verified.roster().to_bytes()[..])
    }
}

/// Verifies a roster (docs/FORMAT.md §19.3) against the admin key fingerprint the page pins
/// (from the Help Center snippet, or the app's settings), the tenant it works for, and the
/// highest sequence it accepted before (omit it when the page remembers none). Throws
/// `invalid_roster`, `unsupported_version`, `admin_key_mismatch`, `roster_signature_invalid`,
/// `roster_tenant_mismatch` or `roster_rolled_back`.
#[wasm_bindgen(js_name = verifyRoster)]
pub fn verify_roster(
    roster: &[u8],
    admin_key_fingerprint: &str,
    tenant: &str,
    highest_sequence_seen: Option<f64>,
) -> Result<TeamRoster, JsValue> {
    let highest_seen = highest_sequence_seen
        .map(|n| u64_from_js(n, "highestSequenceSeen"))
        .transpose()?;
    Ok(TeamRoster::verify(
        roster,
        admin_key_fingerprint,
        tenant,
        highest_seen,
    )?)
}

/// The recovery code (JavaScript: `RecoveryCode`): 128 random bits printed for the admin,
/// from which the recovery identity and the admin key's wrap key are derived.
#[wasm_bindgen(js_name = RecoveryCode)]
#[derive(Debug)]
pub struct RecoveryCodeJs {
    code: RecoveryCode,
}

impl RecoveryCodeJs {
    /// The core's code.
    pub fn code(&self) -> &RecoveryCode {
        &self.code
    }
}

#[wasm_bindgen(js_class = RecoveryCode)]
impl RecoveryCodeJs {
    /// A fresh code from `crypto.getRandomValues`.
    pub fn generate() -> Result<RecoveryCodeJs, JsValue> {
        let code = RecoveryCode::generate(&OsRandom).map_err(WidgetError::from)?;
        Ok(RecoveryCodeJs { code })
    }

    /// Parses a typed code (case, spaces and dashes do not matter; `O` reads as `0`, `I` and
    /// `L` as `1`). Throws `invalid_encoding`, or `recovery_code_checksum` for a typo.
    pub fn parse(text: &str) -> Result<RecoveryCodeJs, JsValue> {
        let code = RecoveryCode::parse(text).map_err(WidgetError::from)?;
        Ok(RecoveryCodeJs { code })
    }

    /// The printed form, `XXXX-XXXX-…` (8 groups of 4). Secret: show it once, for printing.
    #[wasm_bindgen(getter)]
    pub fn text(&self) -> String {
        self.code.to_text().to_string()
    }

    /// The recovery key `R_rec` (base64url) that rosters carry.
    #[wasm_bindgen(getter, js_name = recoveryKey)]
    pub fn recovery_key(&self) -> String {
        self.code.recovery_recipient().to_b64u()
    }

    /// Wraps the admin key under this code: the 101-byte blob the server keeps.
    #[wasm_bindgen(js_name = wrapAdminKey)]
    pub fn wrap_admin_key(&self, admin_key: &AdminKeyJs) -> Result<Uint8Array, JsValue> {
        let blob = admin_key
            .key
            .wrap(&RustCryptoAead, &OsRandom, &self.code)
            .map_err(WidgetError::from)?;
        Ok(Uint8Array::from(&blob[..]))
    }

    /// Unwraps the admin key from the server's blob. Throws `wrong_recovery_code`,
    /// `invalid_admin_key_blob`, and `admin_key_mismatch` when `pinnedFingerprint` is given and
    /// the key does not have it.
    #[wasm_bindgen(js_name = unwrapAdminKey)]
    pub fn unwrap_admin_key(
        &self,
        blob: &[u8],
        pinned_fingerprint: Option<String>,
    ) -> Result<AdminKeyJs, JsValue> {
        let key = AdminSigningKey::unwrap(&RustCryptoAead, blob, &self.code)
            .map_err(WidgetError::from)?;
        if let Some(pin) = pinned_fingerprint {
            let pin = Fingerprint::parse(&pin).map_err(WidgetError::from)?;
            if key.fingerprint() != pin {
                return Err(WidgetError::from(sealdrop_crypto::Error::AdminKeyMismatch).into());
            }
        }
        Ok(AdminKeyJs { key })
    }

    /// Opens a team-sealed package with the recovery identity (no link needed: for recovery
    /// and re-wrapping, not for showing a ticket's upload).
    #[wasm_bindgen(js_name = openPackage)]
    pub fn open_package(
        &self,
        manifest: &[u8],
        backend: Option<String>,
    ) -> Result<OpenedPackageJs, JsValue> {
        let backend = Backend::choose(backend.as_deref())?;
        Ok(OpenedPackageJs::with_identity(
            manifest,
            &self.code.recovery_identity(),
            backend,
        )?)
    }

    /// Re-wraps a team-sealed package to `roster` with the recovery identity
    /// (docs/FORMAT.md §21.2): the new manifest to upload. Throws `not_team_sealed`,
    /// `no_usable_stanza`, ….
    #[wasm_bindgen(js_name = rewrapPackage)]
    pub fn rewrap_package(
        &self,
        manifest: &[u8],
        roster: &TeamRoster,
    ) -> Result<Uint8Array, JsValue> {
        Ok(rewrap_with(
            manifest,
            &self.code.recovery_identity(),
            roster,
        )?)
    }
}

/// Re-wraps a team-sealed package to `roster` with a device identity (32 secret bytes), for an
/// admin whose own device is in the old roster (docs/FORMAT.md §21.2).
#[wasm_bindgen(js_name = rewrapTeamPackage)]
pub fn rewrap_team_package_js(
    manifest: &[u8],
    identity: &[u8],
    roster: &TeamRoster,
) -> Result<Uint8Array, JsValue> {
    let identity = identity_from_bytes(identity)?;
    Ok(rewrap_with(manifest, &identity, roster)?)
}

/// `rewrapTeamPackage` for an admin whose device key is a non-extractable WebCrypto key:
/// `deviceKey` its public key (base64url), `shares` as for `openTeamPackageWithShares`.
#[wasm_bindgen(js_name = rewrapTeamPackageWithShares)]
pub fn rewrap_team_package_with_shares(
    manifest: &[u8],
    device_key: &str,
    #[wasm_bindgen(unchecked_param_type = "(Uint8Array | null)[]")] shares: Array,
    roster: &TeamRoster,
) -> Result<Uint8Array, JsValue> {
    let device_key = X25519Recipient::parse_b64u(device_key).map_err(WidgetError::from)?;
    let parsed = Manifest::parse(manifest).map_err(WidgetError::from)?;
    let agreement = OutsideAgreement::new(&parsed, &shares)?;
    let opened = parsed
        .open_with_x25519_agreement(&RustCryptoAead, &device_key, &mut |e| agreement.agree(e))
        .map_err(WidgetError::from)?;
    Ok(rewrap_opened(&parsed, &opened, roster)?)
}

fn rewrap_with(
    manifest: &[u8],
    identity: &X25519Identity,
    roster: &TeamRoster,
) -> Result<Uint8Array> {
    let manifest = Manifest::parse(manifest)?;
    let opened = manifest.open_with_x25519(&RustCryptoAead, identity)?;
    rewrap_opened(&manifest, &opened, roster)
}

fn rewrap_opened(
    manifest: &Manifest,
    opened: &OpenedPackage,
    roster: &TeamRoster,
) -> Result<Uint8Array> {
    let rewrapped = rewrap_team_package(
        &RustCryptoAead,
        &OsRandom,
        manifest,
        opened,
        roster.verified.recipients(),
    )?;
    Ok(Uint8Array::from(&rewrapped[..]))
}

/// The tenant's admin key, an Ed25519 key pair (JavaScript: `AdminKey`).
#[wasm_bindgen(js_name = AdminKey)]
#[derive(Debug)]
pub struct AdminKeyJs {
    key: AdminSigningKey,
}

impl AdminKeyJs {
    /// The core's key.
    pub fn key(&self) -> &AdminSigningKey {
        &self.key
    }
}

#[wasm_bindgen(js_class = AdminKey)]
impl AdminKeyJs {
    /// A fresh key from `crypto.getRandomValues`.
    pub fn generate() -> Result<AdminKeyJs, JsValue> {
        let key = AdminSigningKey::generate(&OsRandom).map_err(WidgetError::from)?;
        Ok(AdminKeyJs { key })
    }

    /// A key from its 32 secret bytes (as `toBytes` gave them).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<AdminKeyJs, JsValue> {
        let mut secret: [u8; 32] = bytes
            .try_into()
            .map_err(|_| WidgetError::invalid("an admin key is 32 bytes"))?;
        let key = AdminSigningKey::from_bytes(secret);
        secret.zeroize();
        Ok(AdminKeyJs { key })
    }

    /// The 32 secret bytes, for a browser that keeps the key itself (prefer a non-extractable
    /// WebCrypto Ed25519 key where the browser has one). Secret.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Uint8Array {
        Uint8Array::from(&self.key.to_bytes()[..])
    }

    /// The public key `A` (base64url).
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> String {
        self.key.public_key().to_b64u()
    }

    /// The fingerprint, compact form: the value for the Help Center snippet.
    #[wasm_bindgen(getter)]
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint().to_compact()
    }

    /// Signs a roster (docs/FORMAT.md §19.2): `content` is `{ tenant, sequence, issuedAt,
    /// recoveryKey, devices: [{ deviceKey, userId, label }] }` (devices in any order; `userId`
    /// a decimal string or a number). Returns the roster's bytes.
    #[wasm_bindgen(js_name = signRoster)]
    pub fn sign_roster(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RosterContent")] content: JsValue,
    ) -> Result<Uint8Array, JsValue> {
        let content = roster_content(&self.key.public_key(), &content)?;
        let roster = sign_roster(&self.key, &content).map_err(WidgetError::from)?;
        Ok(Uint8Array::from(&roster.to_bytes()[..]))
    }
}

/// What an admin key outside wasm (a WebCrypto Ed25519 key) signs for `content`:
/// `"sealdrop/v1/roster" || body`. `adminKey` is its public key (base64url).
#[wasm_bindgen(js_name = rosterSigningInput)]
pub fn roster_signing_input(
    admin_key: &str,
    #[wasm_bindgen(unchecked_param_type = "RosterContent")] content: JsValue,
) -> Result<Uint8Array, JsValue> {
    let admin_key = AdminPublicKey::parse_b64u(admin_key).map_err(WidgetError::from)?;
    let content = roster_content(&admin_key, &content)?;
    Ok(Uint8Array::from(&signing_input(&content)[..]))
}

/// The roster's bytes from `content` and the 64-byte Ed25519 signature an outside signer made
/// over `rosterSigningInput(adminKey, content)`. Not checked here: pass the result to
/// `verifyRoster` before using it.
#[wasm_bindgen(js_name = assembleRoster)]
pub fn assemble_roster(
    admin_key: &str,
    #[wasm_bindgen(unchecked_param_type = "RosterContent")] content: JsValue,
    signature: &[u8],
) -> Result<Uint8Array, JsValue> {
    let admin_key = AdminPublicKey::parse_b64u(admin_key).map_err(WidgetError::from)?;
    let content = roster_content(&admin_key, &content)?;
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|_| WidgetError::invalid("an Ed25519 signature is 64 bytes"))?;
    Ok(Uint8Array::from(
        &Roster::from_parts(content, signature).to_bytes()[..],
    ))
}

/// The admin key fingerprint of a public key (base64url): `{ compact, display }`.
#[wasm_bindgen(
    js_name = adminKeyFingerprint,
    unchecked_return_type = "{ compact: string, display: string }"
)]
pub fn admin_key_fingerprint(public_key: &str) -> Result<Object, JsValue> {
    let key = AdminPublicKey::parse_b64u(public_key).map_err(WidgetError::from)?;
    Ok(fingerprint_object(&key.fingerprint()))
}

/// The fingerprint of device key `deviceKey` (base64url) registered for Zendesk user `userId`
/// (a decimal string): `{ compact, display }`. Both screens show `display` at approval.
#[wasm_bindgen(
    js_name = deviceKeyFingerprint,
    unchecked_return_type = "{ compact: string, display: string }"
)]
pub fn device_key_fingerprint(device_key: &str, user_id: &str) -> Result<Object, JsValue> {
    let key = X25519Recipient::parse_b64u(device_key).map_err(WidgetError::from)?;
    let user_id = parse_user_id(user_id)?;
    Ok(fingerprint_object(&Fingerprint::of_device(user_id, &key)))
}

/// A new device identity for a browser without WebCrypto X25519:
/// `{ identity: Uint8Array (32 secret bytes, keep them in IndexedDB), deviceKey: string }`.
#[wasm_bindgen(
    js_name = generateDeviceIdentity,
    unchecked_return_type = "{ identity: Uint8Array, deviceKey: string }"
)]
pub fn generate_device_identity() -> Result<Object, JsValue> {
    let identity = X25519Identity::generate(&OsRandom).map_err(WidgetError::from)?;
    let out = Object::new();
    set(
        &out,
        "identity",
        &Uint8Array::from(&identity.to_bytes()[..]).into(),
    );
    set(&out, "deviceKey", &identity.recipient().to_b64u().into());
    Ok(out)
}

/// The device key (base64url) of a device identity's 32 secret bytes.
#[wasm_bindgen(js_name = deviceKeyOf)]
pub fn device_key_of(identity: &[u8]) -> Result<String, JsValue> {
    Ok(identity_from_bytes(identity)?.recipient().to_b64u())
}

/// A roster's content as a page passes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ContentIn {
    tenant: String,
    sequence: u64,
    issued_at: u64,
    recovery_key: String,
    devices: Vec<DeviceIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeviceIn {
    device_key: String,
    user_id: UserId,
    label: String,
}

/// A Zendesk user id as a decimal string or a JSON number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum UserId {
    Number(u64),
    Text(String),
}

const CONTENT_SHAPE: &str = "content must be { tenant, sequence, issuedAt, recoveryKey, \
                             devices: [{ deviceKey, userId, label }] }";

fn roster_content(admin_key: &AdminPublicKey, content: &JsValue) -> Result<RosterContent> {
    let json = js_sys::JSON::stringify(content)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| WidgetError::invalid(CONTENT_SHAPE))?;
    let content: ContentIn =
        serde_json::from_str(&json).map_err(|_| WidgetError::invalid(CONTENT_SHAPE))?;
    let recovery_key = X25519Recipient::parse_b64u(&content.recovery_key)?;
    let devices = content
        .devices
        .iter()
        .map(|d| {
            let key = X25519Recipient::parse_b64u(&d.device_key)?;
            let user_id = match &d.user_id {
                UserId::Number(n) => *n,
                UserId::Text(text) => parse_user_id(text)?,
            };
            Ok(RosterDevice::new(*key.as_bytes(), user_id, &d.label)?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RosterContent::new(
        *admin_key.as_bytes(),
        &content.tenant,
        content.sequence,
        content.issued_at,
        *recovery_key.as_bytes(),
        devices,
    )?)
}

fn parse_user_id(text: &str) -> Result<u64> {
    text.parse::<u64>()
        .ok()
        .filter(|&n| n > 0 && text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| WidgetError::invalid("userId must be a positive decimal integer"))
}

fn fingerprint_object(fingerprint: &Fingerprint) -> Object {
    let out = Object::new();
    set(&out, "compact", &fingerprint.to_compact().into());
    set(&out, "display", &fingerprint.to_display().into());
    out
}

fn set(obj: &Object, key: &str, value: &JsValue) {
    // Reflect::set on a fresh plain object cannot fail.
    let _ = Reflect::set(obj, &key.into(), value);
}

/// The TypeScript shape of a roster's content.
#[wasm_bindgen(typescript_custom_section)]
const ROSTER_CONTENT_TS: &str = r#"
export type RosterContent = {
  tenant: string;
  sequence: number;
  issuedAt: number;
  recoveryKey: string;
  devices: { deviceKey: string; userId: string | number; label: string }[];
};
"#;
