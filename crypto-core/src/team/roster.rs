//! Signing and verifying the team roster (docs/FORMAT.md §19), and the recipients a verified
//! roster gives a sender.
//!
//! ```text
//! signature = Ed25519-Sign(a, "sealdrop/v1/roster" || body)
//! ```
//!
//! A client accepts a roster only through [`VerifiedRoster::verify`], which performs every check
//! of §19.3 in order: structure, the admin key's fingerprint against the pinned one, the
//! signature, the tenant, low-order keys, and the sequence against the highest one seen.

use crate::error::Error;
use crate::format::roster::{Roster, RosterContent, MAX_ROSTER_DEVICES};
use crate::team::admin_key::{AdminPublicKey, AdminSigningKey};
use crate::team::fingerprint::Fingerprint;
use crate::wrap::x25519::X25519Recipient;

/// The label signed before the roster body.
pub const LABEL_ROSTER_SIGNATURE: &[u8] = b"sealdrop/v1/roster";

/// What the admin key signs: `"sealdrop/v1/roster" || body`. A signer outside this crate (a
/// WebCrypto Ed25519 key) signs exactly these bytes and hands the signature to
/// [`Roster::from_parts`].
pub fn signing_input(content: &RosterContent) -> Vec<u8> {
    let body = content.to_body();
    let mut message = Vec::with_capacity(LABEL_ROSTER_SIGNATURE.len() + body.len());
    message.extend_from_slice(LABEL_ROSTER_SIGNATURE);
    message.extend_from_slice(&body);
    message
}

/// Signs `content` with the admin key; [`Error::AdminKeyMismatch`] if the content names
/// another admin key.
pub fn sign_roster(key: &AdminSigningKey, content: &RosterContent) -> Result<Roster, Error> {
    if content.admin_key() != key.public_key().as_bytes() {
        return Err(Error::AdminKeyMismatch);
    }
    let signature = key.sign(&signing_input(content));
    Ok(Roster::from_parts(content.clone(), signature))
}

/// A roster that passed every check of docs/FORMAT.md §19.3 for this client: the only way to
/// get [`TeamRecipients`] from a roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRoster {
    roster: Roster,
    recipients: TeamRecipients,
}

impl VerifiedRoster {
    /// Parses and verifies roster bytes against the pinned admin key fingerprint, the tenant
    /// the client works for and, where the client remembers one, the highest sequence it
    /// accepted before. The checks run in the order of §19.3; the first failure is returned.
    pub fn verify(
        bytes: &[u8],
        pinned: &Fingerprint,
        tenant: &str,
        highest_seen: Option<u64>,
    ) -> Result<Self, Error> {
        let roster = Roster::parse(bytes)?;
        let content = roster.content();
        let admin_key = AdminPublicKey::from_bytes(*content.admin_key());
        if admin_key.fingerprint() != *pinned {
            return Err(Error::AdminKeyMismatch);
        }
        if !admin_key.verify(&signing_input(content), roster.signature()) {
            return Err(Error::RosterSignatureInvalid);
        }
        if content.tenant() != tenant {
            return Err(Error::RosterTenantMismatch);
        }
        let devices: Vec<X25519Recipient> = content
            .devices()
            .iter()
            .map(|d| X25519Recipient::from_bytes(*d.device_key()))
            .collect();
        let recovery = X25519Recipient::from_bytes(*content.recovery_key());
        if recovery.is_low_order() || devices.iter().any(X25519Recipient::is_low_order) {
            return Err(Error::InvalidRoster("a key is a low-order point"));
        }
        if let Some(highest_seen) = highest_seen {
            if content.sequence() < highest_seen {
                return Err(Error::RosterRolledBack {
                    highest_seen,
                    offered: content.sequence(),
                });
            }
        }
        let recipients = TeamRecipients::new(devices, recovery)?;
        Ok(VerifiedRoster { roster, recipients })
    }

    /// The roster.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// What it says.
    pub fn content(&self) -> &RosterContent {
        self.roster.content()
    }

    /// The admin key that signed it.
    pub fn admin_key(&self) -> AdminPublicKey {
        AdminPublicKey::from_bytes(*self.content().admin_key())
    }

    /// Whom a team-sealed package is sealed to: the devices in roster order, then the
    /// recovery key.
    pub fn recipients(&self) -> &TeamRecipients {
        &self.recipients
    }

    /// The device fingerprints (docs/FORMAT.md §17), in roster order.
    pub fn device_fingerprints(&self) -> Vec<Fingerprint> {
        self.content()
            .devices()
            .iter()
            .map(|d| {
                Fingerprint::of_device(d.user_id(), &X25519Recipient::from_bytes(*d.device_key()))
            })
            .collect()
    }
}

/// The recipients of a team-sealed package: up to 15 device keys, then the recovery key
/// (docs/FORMAT.md §20.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamRecipients {
    devices: Vec<X25519Recipient>,
    recovery: X25519Recipient,
}

impl TeamRecipients {
    /// Recipients from device keys (in the order their stanzas are to have) and the recovery
    /// key. [`Error::InvalidRoster`] for more than 15 devices or a key given twice. Senders use
    /// the recipients of a [`VerifiedRoster`]; this constructor is for re-wrapping to a roster
    /// verified elsewhere and for tests.
    pub fn new(devices: Vec<X25519Recipient>, recovery: X25519Recipient) -> Result<Self, Error> {
        if devices.len() > MAX_ROSTER_DEVICES {
            return Err(Error::InvalidRoster("more than 15 devices"));
        }
        let mut keys: Vec<&[u8; 32]> = devices.iter().map(X25519Recipient::as_bytes).collect();
        keys.push(recovery.as_bytes());
        keys.sort();
        if keys.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(Error::InvalidRoster("a key is given twice"));
        }
        Ok(TeamRecipients { devices, recovery })
    }

    /// The device keys.
    pub fn devices(&self) -> &[X25519Recipient] {
        &self.devices
    }

    /// The recovery key.
    pub fn recovery(&self) -> &X25519Recipient {
        &self.recovery
    }

    /// Every recipient in stanza order: the devices, then the recovery key.
    pub fn iter(&self) -> impl Iterator<Item = &X25519Recipient> {
        self.devices.iter().chain(std::iter::once(&self.recovery))
    }

    /// How many stanzas a package sealed to them holds (devices + 1).
    pub fn len(&self) -> usize {
        self.devices.len() + 1
    }

    /// Always false: the recovery key is always there.
    pub fn is_empty(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::RosterDevice;
    use crate::provider::DeterministicRandom;
    use crate::wrap::x25519::X25519Identity;

    struct Team {
        admin: AdminSigningKey,
        devices: Vec<X25519Identity>,
        recovery: X25519Identity,
    }

    fn team() -> Team {
        let rng = DeterministicRandom::new(b"roster tests");
        Team {
            admin: AdminSigningKey::generate(&rng).unwrap(),
            devices: (0..3)
                .map(|_| X25519Identity::generate(&rng).unwrap())
                .collect(),
            recovery: X25519Identity::generate(&rng).unwrap(),
        }
    }

    fn content(team: &Team, sequence: u64) -> RosterContent {
        let devices = team
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| {
                RosterDevice::new(*d.recipient().as_bytes(), 100 + i as u64, "laptop").unwrap()
            })
            .collect();
        RosterContent::new(
            *team.admin.public_key().as_bytes(),
            "acme",
            sequence,
            1_700_000_000,
            *team.recovery.recipient().as_bytes(),
            devices,
        )
        .unwrap()
    }

    #[test]
    fn a_signed_roster_verifies_and_gives_its_recipients() {
        let team = team();
        let bytes = sign_roster(&team.admin, &content(&team, 4))
            .unwrap()
            .to_bytes();
        let pin = team.admin.fingerprint();
        let verified = VerifiedRoster::verify(&bytes, &pin, "acme", Some(4)).unwrap();
        let recipients = verified.recipients();
        assert_eq!(recipients.len(), 4);
        assert_eq!(recipients.recovery(), &team.recovery.recipient());
        let mut expected: Vec<_> = team.devices.iter().map(X25519Identity::recipient).collect();
        expected.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(recipients.devices(), expected.as_slice());
        assert_eq!(verified.device_fingerprints().len(), 3);
    }

    #[test]
    fn each_check_fails_with_its_own_error() {
        let team = team();
        let pin = team.admin.fingerprint();
        let bytes = sign_roster(&team.admin, &content(&team, 4))
            .unwrap()
            .to_bytes();
        let verify = |b: &[u8], tenant, seen| VerifiedRoster::verify(b, &pin, tenant, seen);

        let other = AdminSigningKey::from_bytes([9; 32]);
        assert_eq!(
            VerifiedRoster::verify(&bytes, &other.fingerprint(), "acme", None),
            Err(Error::AdminKeyMismatch)
        );
        let mut tampered = bytes.clone();
        let label_byte = bytes.len() - 64 - 1;
        tampered[label_byte] ^= 0x01;
        assert_eq!(
            verify(&tampered, "acme", None),
            Err(Error::RosterSignatureInvalid)
        );
        assert_eq!(
            verify(&bytes, "other", None),
            Err(Error::RosterTenantMismatch)
        );
        assert_eq!(
            verify(&bytes, "acme", Some(5)),
            Err(Error::RosterRolledBack {
                highest_seen: 5,
                offered: 4
            })
        );
        assert_eq!(
            sign_roster(&other, &content(&team, 4)),
            Err(Error::AdminKeyMismatch)
        );
    }

    #[test]
    fn a_low_order_key_is_refused_even_when_signed() {
        let team = team();
        let low_order = [0u8; 32]; // u = 0: the point of order 2
        let c = RosterContent::new(
            *team.admin.public_key().as_bytes(),
            "acme",
            1,
            0,
            *team.recovery.recipient().as_bytes(),
            vec![RosterDevice::new(low_order, 1, "bad").unwrap()],
        )
        .unwrap();
        let bytes = sign_roster(&team.admin, &c).unwrap().to_bytes();
        assert_eq!(
            VerifiedRoster::verify(&bytes, &team.admin.fingerprint(), "acme", None),
            Err(Error::InvalidRoster("a key is a low-order point"))
        );
    }

    #[test]
    fn team_recipients_refuse_repeats_and_too_many() {
        let key = |b| X25519Recipient::from_bytes([b; 32]);
        assert!(TeamRecipients::new(vec![key(1), key(1)], key(2)).is_err());
        assert!(TeamRecipients::new(vec![key(1)], key(1)).is_err());
        assert!(TeamRecipients::new((10..26).map(key).collect(), key(2)).is_err());
        let ok = TeamRecipients::new((10..25).map(key).collect(), key(2)).unwrap();
        assert_eq!(ok.len(), 16);
        assert_eq!(ok.iter().last(), Some(&key(2)));
    }
}
