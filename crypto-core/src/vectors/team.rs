//! Team keys' test vectors that are not packages (docs/FORMAT.md §15.4): rosters, recovery
//! codes and wrapped admin keys, in `crypto-core/tests/vectors/team/`. Team-sealed *packages*
//! are ordinary package vectors ([`super::Vector`], `open_with: "team"`).
//!
//! Every file is one [`TeamVector`]; `ok_*.json` must give the stated values (and, where the
//! operation is deterministic, the same bytes again: Ed25519 signatures, the admin key wrapped
//! with the blob's nonce), `fail_*.json` must fail with the stated [`Error::kind`].

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use super::{decode, Expect};
use crate::error::Error;
use crate::format::base64url::b64u_encode;
use crate::provider::{Aead, RandomSource};
use crate::team::{sign_roster, AdminSigningKey, Fingerprint, RecoveryCode, VerifiedRoster};

/// `(name, contents)` of one file in `tests/vectors/team/`.
macro_rules! team_vector {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../tests/vectors/team/", $name)),
        )
    };
}

/// Every team vector file, `(file name, JSON text)`, compiled in so that the wasm build runs
/// them in a browser. A native test checks this list against the directory.
pub const ALL: &[(&str, &str)] = &[
    team_vector!("fail_admin_key_of_another_tenant.json"),
    team_vector!("fail_admin_key_wrong_code.json"),
    team_vector!("fail_recovery_code_too_short.json"),
    team_vector!("fail_recovery_code_typo.json"),
    team_vector!("fail_roster_duplicate_device.json"),
    team_vector!("fail_roster_low_order_device.json"),
    team_vector!("fail_roster_other_tenant.json"),
    team_vector!("fail_roster_rolled_back.json"),
    team_vector!("fail_roster_signature_by_another_key.json"),
    team_vector!("fail_roster_signed_by_another_key.json"),
    team_vector!("fail_roster_tampered_entry.json"),
    team_vector!("ok_admin_key_unwrap.json"),
    team_vector!("ok_recovery_code.json"),
    team_vector!("ok_recovery_code_typed_loosely.json"),
    team_vector!("ok_roster.json"),
    team_vector!("ok_roster_without_devices.json"),
];

/// One team vector. Binary values are base64url without padding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamVector {
    /// What the vector exercises.
    pub description: String,
    /// `"ok"` or `"fail"`.
    pub expect: Expect,
    /// For `"fail"`: the [`Error::kind`] that must occur.
    pub error: Option<String>,
    /// Seed of the vector's own random draws (the wrapped admin key's nonce), UTF-8.
    pub seed: String,
    /// The operation and its inputs and outputs.
    pub case: TeamCase,
}

/// What a team vector exercises, tagged by `kind`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TeamCase {
    /// Verifying a roster (docs/FORMAT.md §19.3).
    Roster(RosterCase),
    /// Parsing a typed recovery code and what it derives (§18.1, §18.2).
    RecoveryCode(RecoveryCodeCase),
    /// Unwrapping the admin key with a recovery code (§18.3).
    AdminKey(AdminKeyCase),
}

/// Inputs and outputs of a roster vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterCase {
    /// `b64u` of the roster bytes.
    pub roster: String,
    /// The admin key fingerprint the client pins (compact form).
    pub pinned_fingerprint: String,
    /// The tenant the client works for.
    pub tenant: String,
    /// The highest sequence the client accepted before, or `null`.
    pub highest_sequence_seen: Option<u64>,
    /// `ok` vectors: `b64u(a)`, the admin's secret key; signing the roster's content with it
    /// must give the same bytes (Ed25519 is deterministic).
    pub admin_secret_key: Option<String>,
    /// `ok` vectors: what the verified roster says.
    pub expected: Option<RosterExpected>,
}

/// What an `ok` roster vector says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterExpected {
    /// `b64u(A)`.
    pub admin_key: String,
    /// The admin key fingerprint, display form.
    pub admin_key_fingerprint: String,
    /// The sequence number.
    pub sequence: u64,
    /// Unix seconds.
    pub issued_at: u64,
    /// `b64u(R_rec)`.
    pub recovery_key: String,
    /// The devices in roster order.
    pub devices: Vec<ExpectedDevice>,
    /// `b64u` of each recipient of a team-sealed package, in stanza order.
    pub recipients: Vec<String>,
}

/// One device of an `ok` roster vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedDevice {
    /// `b64u(D)`.
    pub device_key: String,
    /// The agent's Zendesk user id.
    pub user_id: u64,
    /// The device's label.
    pub label: String,
    /// The device key fingerprint, display form.
    pub fingerprint: String,
}

/// Inputs and outputs of a recovery code vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryCodeCase {
    /// The code as typed.
    pub text: String,
    /// `ok` vectors: what it gives.
    pub expected: Option<RecoveryCodeExpected>,
}

/// What an `ok` recovery code vector gives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryCodeExpected {
    /// `b64u(rc)`.
    pub secret: String,
    /// The printed form.
    pub canonical_text: String,
    /// `b64u(W_admin)`.
    pub admin_wrap_key: String,
    /// `b64u(r_rec)`.
    pub recovery_identity: String,
    /// `b64u(R_rec)`.
    pub recovery_key: String,
}

/// Inputs and outputs of a wrapped admin key vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminKeyCase {
    /// `b64u` of the 101-byte blob.
    pub blob: String,
    /// The recovery code, typed.
    pub recovery_code: String,
    /// The admin key fingerprint the client pins (compact form).
    pub pinned_fingerprint: String,
    /// `ok` vectors: what the blob holds.
    pub expected: Option<AdminKeyExpected>,
}

/// What an `ok` wrapped admin key vector holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminKeyExpected {
    /// `b64u(A)`.
    pub admin_key: String,
    /// `b64u(a)`.
    pub admin_secret_key: String,
}

/// Parses a team vector file.
pub fn parse(json: &str) -> Result<TeamVector, String> {
    serde_json::from_str(json).map_err(|e| format!("bad team vector JSON: {e}"))
}

/// Performs `vector` with `aead` (used by the wrapped admin key). `Ok(())` when the vector's
/// expectation holds.
pub fn check(vector: &TeamVector, aead: &dyn Aead) -> Result<(), String> {
    let ok = vector.expect == Expect::Ok;
    let outcome = match &vector.case {
        TeamCase::Roster(case) => roster(case, ok)?,
        TeamCase::RecoveryCode(case) => recovery_code(case, ok)?,
        TeamCase::AdminKey(case) => admin_key(case, ok, aead)?,
    };
    match (vector.expect, outcome, &vector.error) {
        (Expect::Ok, Ok(()), _) => Ok(()),
        (Expect::Ok, Err(error), _) => {
            Err(format!("expected success, got {} ({error})", error.kind()))
        }
        (Expect::Fail, Ok(()), _) => Err("expected a failure, but it succeeded".into()),
        (Expect::Fail, Err(_), None) => Err("a fail vector must name its error".into()),
        (Expect::Fail, Err(error), Some(expected)) if error.kind() == expected => Ok(()),
        (Expect::Fail, Err(error), Some(expected)) => Err(format!(
            "expected {expected}, got {} ({error})",
            error.kind()
        )),
    }
}

/// The operation's outcome, or a harness failure (`Err(String)`) when it gave wrong values.
type Outcome = Result<Result<(), Error>, String>;

fn roster(case: &RosterCase, ok: bool) -> Outcome {
    let bytes = decode(&case.roster)?;
    let pin = Fingerprint::parse(&case.pinned_fingerprint).map_err(|e| e.to_string())?;
    let verified =
        match VerifiedRoster::verify(&bytes, &pin, &case.tenant, case.highest_sequence_seen) {
            Ok(verified) => verified,
            Err(e) => return Ok(Err(e)),
        };
    if !ok {
        return Ok(Ok(()));
    }
    let expected = case.expected.as_ref().ok_or("ok vector lacks expected")?;
    let content = verified.content();
    let fingerprints = verified.device_fingerprints();
    let got = RosterExpected {
        admin_key: verified.admin_key().to_b64u(),
        admin_key_fingerprint: verified.admin_key().fingerprint().to_display(),
        sequence: content.sequence(),
        issued_at: content.issued_at(),
        recovery_key: b64u_encode(content.recovery_key()),
        devices: content
            .devices()
            .iter()
            .zip(&fingerprints)
            .map(|(d, fp)| ExpectedDevice {
                device_key: b64u_encode(d.device_key()),
                user_id: d.user_id(),
                label: d.label().to_owned(),
                fingerprint: fp.to_display(),
            })
            .collect(),
        recipients: verified.recipients().iter().map(|r| r.to_b64u()).collect(),
    };
    if &got != expected {
        return Err(format!("the roster says {got:?}, expected {expected:?}"));
    }
    let secret = case
        .admin_secret_key
        .as_deref()
        .ok_or("ok vector lacks admin_secret_key")?;
    let key = AdminSigningKey::parse_b64u(secret).map_err(|e| e.to_string())?;
    let again = sign_roster(&key, content).map_err(|e| e.to_string())?;
    if again.to_bytes() != bytes {
        return Err("signing the roster again gives different bytes".into());
    }
    Ok(Ok(()))
}

fn recovery_code(case: &RecoveryCodeCase, ok: bool) -> Outcome {
    let code = match RecoveryCode::parse(&case.text) {
        Ok(code) => code,
        Err(e) => return Ok(Err(e)),
    };
    if !ok {
        return Ok(Ok(()));
    }
    let expected = case.expected.as_ref().ok_or("ok vector lacks expected")?;
    let identity = code.recovery_identity();
    let got = RecoveryCodeExpected {
        secret: b64u_encode(code.expose_bytes()),
        canonical_text: code.to_text().to_string(),
        admin_wrap_key: b64u_encode(&code.admin_wrap_key().0),
        recovery_identity: b64u_encode(identity.to_bytes().as_ref()),
        recovery_key: identity.recipient().to_b64u(),
    };
    if &got != expected {
        return Err("the recovery code gives other values than the vector's".into());
    }
    Ok(Ok(()))
}

fn admin_key(case: &AdminKeyCase, ok: bool, aead: &dyn Aead) -> Outcome {
    let blob = decode(&case.blob)?;
    let code = RecoveryCode::parse(&case.recovery_code).map_err(|e| e.to_string())?;
    let pin = Fingerprint::parse(&case.pinned_fingerprint).map_err(|e| e.to_string())?;
    let key = match AdminSigningKey::unwrap(aead, &blob, &code) {
        Ok(key) => key,
        Err(e) => return Ok(Err(e)),
    };
    if key.fingerprint() != pin {
        return Ok(Err(Error::AdminKeyMismatch));
    }
    if !ok {
        return Ok(Ok(()));
    }
    let expected = case.expected.as_ref().ok_or("ok vector lacks expected")?;
    if key.public_key().to_b64u() != expected.admin_key
        || *key.to_b64u() != expected.admin_secret_key
    {
        return Err("the blob holds another key than the vector's".into());
    }
    // The same key, code and nonce wrap to the same bytes.
    let nonce = blob
        .get(41..53)
        .ok_or("the blob is too short for a nonce")?;
    let again = key
        .wrap(aead, &FixedRandom::new(nonce), &code)
        .map_err(|e| e.to_string())?;
    if again != blob {
        return Err("wrapping the key again gives different bytes".into());
    }
    Ok(Ok(()))
}

/// Hands out given bytes once, in order: replays a recorded random draw.
struct FixedRandom(RefCell<Vec<u8>>);

impl FixedRandom {
    fn new(bytes: &[u8]) -> Self {
        FixedRandom(RefCell::new(bytes.to_vec()))
    }
}

impl RandomSource for FixedRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        let mut left = self.0.borrow_mut();
        if left.len() < buf.len() {
            return Err(Error::Random);
        }
        let rest = left.split_off(buf.len());
        buf.copy_from_slice(&left);
        *left = rest;
        Ok(())
    }
}
