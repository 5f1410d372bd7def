//! Writes the team keys' vectors (`tests/vectors/team/`, docs/FORMAT.md §15.4) and holds the
//! fixture team that they and the team-sealed package vectors share. Compiled only with the
//! `gen-vectors` feature.
//!
//! The fixture's keys come from their own seeds, one [`DeterministicRandom`] each:
//! `sealdrop/v1/test-vector/admin-key` (the admin's 32-byte secret key),
//! `sealdrop/v1/test-vector/recovery-code` (16 bytes), `sealdrop/v1/test-vector/device-{i}`
//! (32 bytes, device `i`), and `other-admin-key`, `other-recovery-code` likewise.

use super::team::{
    AdminKeyCase, AdminKeyExpected, ExpectedDevice, RecoveryCodeCase, RecoveryCodeExpected,
    RosterCase, RosterExpected, TeamCase, TeamVector,
};
use super::Expect;
use crate::format::base64url::b64u_encode;
use crate::format::{Roster, RosterContent, RosterDevice};
use crate::provider::{DeterministicRandom, RustCryptoAead};
use crate::team::roster::LABEL_ROSTER_SIGNATURE;
use crate::team::{sign_roster, AdminSigningKey, Fingerprint, RecoveryCode};
use crate::wrap::x25519::{X25519Identity, X25519Recipient};

/// The tenant of every fixture roster.
pub(super) const TENANT: &str = "acme";
/// When the fixture rosters were signed.
const ISSUED_AT: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// The fixture team: an admin key, a recovery code and three devices of two agents.
pub(super) struct Fixture {
    pub(super) admin: AdminSigningKey,
    pub(super) code: RecoveryCode,
    /// `(identity, Zendesk user id, label)`, in roster order (ascending device key).
    pub(super) devices: Vec<(X25519Identity, u64, &'static str)>,
    pub(super) other_admin: AdminSigningKey,
    pub(super) other_code: RecoveryCode,
}

impl Fixture {
    pub(super) fn new() -> Self {
        let admin = AdminSigningKey::generate(&seeded("admin-key")).expect("deterministic");
        let code = RecoveryCode::generate(&seeded("recovery-code")).expect("deterministic");
        let mut devices: Vec<_> = [
            (372_611_045_113, "Alice, work laptop"),
            (372_611_045_113, "Alice, phone"),
            (388_870_212, "Zoë's laptop"),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (user, label))| {
            let identity =
                X25519Identity::generate(&seeded(&format!("device-{i}"))).expect("deterministic");
            (identity, user, label)
        })
        .collect();
        devices.sort_by_key(|(identity, _, _)| *identity.recipient().as_bytes());
        Fixture {
            admin,
            code,
            devices,
            other_admin: AdminSigningKey::generate(&seeded("other-admin-key"))
                .expect("deterministic"),
            other_code: RecoveryCode::generate(&seeded("other-recovery-code"))
                .expect("deterministic"),
        }
    }

    /// The recipients of a package sealed to the full roster: the devices, then `R_rec`.
    pub(super) fn recipients(&self) -> Vec<X25519Recipient> {
        self.devices
            .iter()
            .map(|(identity, _, _)| identity.recipient())
            .chain(std::iter::once(self.code.recovery_recipient()))
            .collect()
    }

    /// The identities that open such a package: the devices, then `r_rec`.
    pub(super) fn identities(&self) -> Vec<X25519Identity> {
        self.devices
            .iter()
            .map(|(identity, _, _)| identity.clone())
            .chain(std::iter::once(self.code.recovery_identity()))
            .collect()
    }

    fn roster_devices(&self) -> Vec<RosterDevice> {
        self.devices
            .iter()
            .map(|(identity, user, label)| {
                RosterDevice::new(*identity.recipient().as_bytes(), *user, label)
                    .expect("the fixture's labels are valid")
            })
            .collect()
    }

    fn content(&self, admin: &AdminSigningKey, sequence: u64, devices: bool) -> RosterContent {
        RosterContent::new(
            *admin.public_key().as_bytes(),
            TENANT,
            sequence,
            ISSUED_AT,
            *self.code.recovery_recipient().as_bytes(),
            if devices {
                self.roster_devices()
            } else {
                Vec::new()
            },
        )
        .expect("the fixture roster is valid")
    }

    /// The tenant's roster `sequence`, signed by the admin key.
    fn roster(&self, sequence: u64) -> Vec<u8> {
        sign_roster(&self.admin, &self.content(&self.admin, sequence, true))
            .expect("the content names the admin key")
            .to_bytes()
    }
}

fn seeded(name: &str) -> DeterministicRandom {
    DeterministicRandom::new(format!("sealdrop/v1/test-vector/{name}").as_bytes())
}

/// Generates every team vector file: `(file name, JSON text)`, names relative to
/// `tests/vectors/team/`.
pub(super) fn generate() -> Vec<(String, String)> {
    let fixture = Fixture::new();
    vectors(&fixture)
        .into_iter()
        .map(|vector| {
            let name = vector
                .seed
                .strip_prefix("sealdrop/v1/test-vector/")
                .expect("every seed is a vector name")
                .to_owned();
            let mut json = serde_json::to_string_pretty(&vector)
                .expect("vectors hold only strings, numbers and lists");
            json.push('\n');
            (format!("{name}.json"), json)
        })
        .collect()
}

fn vector(name: &str, description: &str, error: Option<&str>, case: TeamCase) -> TeamVector {
    TeamVector {
        description: description.to_owned(),
        expect: if error.is_some() {
            Expect::Fail
        } else {
            Expect::Ok
        },
        error: error.map(str::to_owned),
        seed: format!("sealdrop/v1/test-vector/{name}"),
        case,
    }
}

/// A roster case pinned to the fixture's admin key, for the fixture's tenant.
fn roster_case(fixture: &Fixture, roster: &[u8], highest_seen: Option<u64>) -> RosterCase {
    RosterCase {
        roster: b64u_encode(roster),
        pinned_fingerprint: fixture.admin.fingerprint().to_compact(),
        tenant: TENANT.to_owned(),
        highest_sequence_seen: highest_seen,
        admin_secret_key: None,
        expected: None,
    }
}

/// The `ok` form: the secret key to sign again with, and what the roster says.
fn ok_roster_case(fixture: &Fixture, roster: &[u8], highest_seen: Option<u64>) -> RosterCase {
    let parsed = Roster::parse(roster).expect("the fixture roster parses");
    let content = parsed.content();
    let admin = fixture.admin.public_key();
    RosterCase {
        admin_secret_key: Some(fixture.admin.to_b64u().to_string()),
        expected: Some(RosterExpected {
            admin_key: admin.to_b64u(),
            admin_key_fingerprint: admin.fingerprint().to_display(),
            sequence: content.sequence(),
            issued_at: content.issued_at(),
            recovery_key: b64u_encode(content.recovery_key()),
            devices: content
                .devices()
                .iter()
                .map(|d| {
                    let key = X25519Recipient::from_bytes(*d.device_key());
                    ExpectedDevice {
                        device_key: key.to_b64u(),
                        user_id: d.user_id(),
                        label: d.label().to_owned(),
                        fingerprint: Fingerprint::of_device(d.user_id(), &key).to_display(),
                    }
                })
                .collect(),
            recipients: content
                .devices()
                .iter()
                .map(|d| b64u_encode(d.device_key()))
                .chain(std::iter::once(b64u_encode(content.recovery_key())))
                .collect(),
        }),
        ..roster_case(fixture, roster, highest_seen)
    }
}

/// Signs arbitrary body bytes with `key`, as a broken or malicious signer would.
fn sign_body(key: &AdminSigningKey, body: &[u8]) -> Vec<u8> {
    let mut message = LABEL_ROSTER_SIGNATURE.to_vec();
    message.extend_from_slice(body);
    let mut out = body.to_vec();
    out.extend_from_slice(&key.sign(&message));
    out
}

/// Offset of entry `i` in a fixture roster body (tenant "acme").
fn entry_offset(i: usize, labels: &[&str]) -> usize {
    let head = 8 + 1 + 32 + 1 + TENANT.len() + 8 + 8 + 32 + 1;
    head + labels[..i]
        .iter()
        .map(|l| 32 + 8 + 1 + l.len())
        .sum::<usize>()
}

fn recovery_case(code: &RecoveryCode, text: &str, ok: bool) -> RecoveryCodeCase {
    let identity = code.recovery_identity();
    RecoveryCodeCase {
        text: text.to_owned(),
        expected: ok.then(|| RecoveryCodeExpected {
            secret: b64u_encode(code.expose_bytes()),
            canonical_text: code.to_text().to_string(),
            admin_wrap_key: b64u_encode(&code.admin_wrap_key().0),
            recovery_identity: b64u_encode(identity.to_bytes().as_ref()),
            recovery_key: identity.recipient().to_b64u(),
        }),
    }
}

/// A wrapped admin key case: `key` wrapped under `wrap_code` with a nonce from the vector's
/// seed, opened with `open_code`, the fixture admin key pinned.
fn admin_key_case(
    fixture: &Fixture,
    name: &str,
    key: &AdminSigningKey,
    wrap_code: &RecoveryCode,
    open_code: &RecoveryCode,
    ok: bool,
) -> AdminKeyCase {
    let blob = key
        .wrap(&RustCryptoAead, &seeded(name), wrap_code)
        .expect("deterministic");
    AdminKeyCase {
        blob: b64u_encode(&blob),
        recovery_code: open_code.to_text().to_string(),
        pinned_fingerprint: fixture.admin.fingerprint().to_compact(),
        expected: ok.then(|| AdminKeyExpected {
            admin_key: key.public_key().to_b64u(),
            admin_secret_key: key.to_b64u().to_string(),
        }),
    }
}

fn vectors(fixture: &Fixture) -> Vec<TeamVector> {
    let labels: Vec<&str> = fixture.devices.iter().map(|(_, _, l)| *l).collect();
    let roster = fixture.roster(7);

    // Entry 1's user id changed after signing.
    let mut tampered = roster.clone();
    tampered[entry_offset(1, &labels) + 32 + 7] ^= 0x01;

    // Entry 1's key replaced by entry 0's, and the result signed by the admin key.
    let body = &roster[..roster.len() - 64];
    let mut duplicate = body.to_vec();
    let (first, second) = (entry_offset(0, &labels), entry_offset(1, &labels));
    duplicate.copy_within(first..first + 32, second);
    let duplicate = sign_body(&fixture.admin, &duplicate);

    // Entry 0's key replaced by a low-order point (u = 0), signed by the admin key.
    let mut low_order = body.to_vec();
    low_order[first..first + 32].copy_from_slice(&[0; 32]);
    let low_order = sign_body(&fixture.admin, &low_order);

    // The tenant's content signed by another key, and another key's own roster.
    let other_signature = sign_body(
        &fixture.other_admin,
        &fixture.content(&fixture.admin, 7, true).to_body(),
    );
    let other_roster = sign_roster(
        &fixture.other_admin,
        &fixture.content(&fixture.other_admin, 8, true),
    )
    .expect("the content names the other key")
    .to_bytes();

    let code_text = fixture.code.to_text().to_string();
    let loose = code_text
        .to_lowercase()
        .replace('-', " ")
        .replace('0', "o")
        .replace('1', "l");
    // One symbol changed to another of the alphabet.
    let typo = {
        let mut chars: Vec<char> = code_text.chars().collect();
        chars[5] = if chars[5] == 'X' { 'Y' } else { 'X' };
        chars.into_iter().collect::<String>()
    };

    vec![
        vector(
            "ok_roster",
            "A roster of three devices of two agents, sequence 7, for a client that accepted sequence 7 before.",
            None,
            TeamCase::Roster(ok_roster_case(fixture, &roster, Some(7))),
        ),
        vector(
            "ok_roster_without_devices",
            "A roster with the recovery key only, for a client that remembers no sequence.",
            None,
            TeamCase::Roster(ok_roster_case(
                fixture,
                &sign_roster(&fixture.admin, &fixture.content(&fixture.admin, 1, false))
                    .expect("the content names the admin key")
                    .to_bytes(),
                None,
            )),
        ),
        vector(
            "fail_roster_signed_by_another_key",
            "A roster naming and signed by another admin key than the pinned one.",
            Some("admin_key_mismatch"),
            TeamCase::Roster(roster_case(fixture, &other_roster, None)),
        ),
        vector(
            "fail_roster_signature_by_another_key",
            "The tenant's roster content, naming the pinned admin key, signed by another key.",
            Some("roster_signature_invalid"),
            TeamCase::Roster(roster_case(fixture, &other_signature, None)),
        ),
        vector(
            "fail_roster_tampered_entry",
            "One bit of the second device's user id flipped after signing.",
            Some("roster_signature_invalid"),
            TeamCase::Roster(roster_case(fixture, &tampered, None)),
        ),
        vector(
            "fail_roster_rolled_back",
            "A valid roster of sequence 7 for a client that accepted sequence 8 before.",
            Some("roster_rolled_back"),
            TeamCase::Roster(roster_case(fixture, &roster, Some(8))),
        ),
        vector(
            "fail_roster_other_tenant",
            "A valid roster of tenant acme for a client that works for tenant globex.",
            Some("roster_tenant_mismatch"),
            TeamCase::Roster(RosterCase {
                tenant: "globex".into(),
                ..roster_case(fixture, &roster, None)
            }),
        ),
        vector(
            "fail_roster_duplicate_device",
            "A roster listing one device key twice, signed by the admin key.",
            Some("invalid_roster"),
            TeamCase::Roster(roster_case(fixture, &duplicate, None)),
        ),
        vector(
            "fail_roster_low_order_device",
            "A roster whose first device key is a low-order point (u = 0), signed by the admin key.",
            Some("invalid_roster"),
            TeamCase::Roster(roster_case(fixture, &low_order, None)),
        ),
        vector(
            "ok_recovery_code",
            "The fixture's recovery code as printed.",
            None,
            TeamCase::RecoveryCode(recovery_case(&fixture.code, &code_text, true)),
        ),
        vector(
            "ok_recovery_code_typed_loosely",
            "The same code typed in lower case, with spaces for dashes, o for 0 and l for 1.",
            None,
            TeamCase::RecoveryCode(recovery_case(&fixture.code, &loose, true)),
        ),
        vector(
            "fail_recovery_code_typo",
            "The code with its sixth symbol changed: the checksum catches it.",
            Some("recovery_code_checksum"),
            TeamCase::RecoveryCode(recovery_case(&fixture.code, &typo, false)),
        ),
        vector(
            "fail_recovery_code_too_short",
            "The code without its last group.",
            Some("invalid_encoding"),
            TeamCase::RecoveryCode(recovery_case(
                &fixture.code,
                &code_text[..code_text.len() - 5],
                false,
            )),
        ),
        vector(
            "ok_admin_key_unwrap",
            "The admin key wrapped under the recovery code, unwrapped with it.",
            None,
            TeamCase::AdminKey(admin_key_case(
                fixture,
                "ok_admin_key_unwrap",
                &fixture.admin,
                &fixture.code,
                &fixture.code,
                true,
            )),
        ),
        vector(
            "fail_admin_key_wrong_code",
            "The admin key wrapped under the recovery code, opened with another valid code.",
            Some("wrong_recovery_code"),
            TeamCase::AdminKey(admin_key_case(
                fixture,
                "fail_admin_key_wrong_code",
                &fixture.admin,
                &fixture.code,
                &fixture.other_code,
                false,
            )),
        ),
        vector(
            "fail_admin_key_of_another_tenant",
            "Another admin key wrapped under the right code: it opens, but its fingerprint is not the pinned one.",
            Some("admin_key_mismatch"),
            TeamCase::AdminKey(admin_key_case(
                fixture,
                "fail_admin_key_of_another_tenant",
                &fixture.other_admin,
                &fixture.code,
                &fixture.code,
                false,
            )),
        ),
    ]
}
