//! The team roster as bytes (docs/FORMAT.md §19.1): the approved device keys and the recovery
//! key, with the admin key that signs them. No signature is made or checked here; that, the
//! fingerprint pin and the low-order check are the protocol's (`crate::team::roster`).
//!
//! ```text
//! offset  size  field
//!      0     8  magic "SDROSTER"
//!      8     1  version = 0x01
//!      9    32  admin_key A (Ed25519)
//!     41     1  tenant_len (1..=63)
//!     42     t  tenant (ASCII a-z 0-9 "-": the Zendesk subdomain)
//!   42+t     8  sequence u64 (>= 1)
//!   50+t     8  issued_at u64 (Unix seconds)
//!   58+t    32  recovery_key R_rec (X25519)
//!   90+t     1  device_count (0..=15)
//!   91+t     *  device_count x (device_key [32] || user_id u64 || label_len u8 || label),
//!               in strictly ascending order of device_key
//!    end    64  signature = Ed25519-Sign(a, "sealdrop/v1/roster" || body)
//! ```
//!
//! The encoding is canonical: a roster that parses re-encodes to the same bytes.

use super::reader::Reader;
use crate::error::Error;
use crate::format::manifest::MAX_STANZAS;

/// `"SDROSTER"`.
pub const ROSTER_MAGIC: &[u8; 8] = b"SDROSTER";
/// The roster version this library writes and reads.
pub const ROSTER_VERSION: u8 = 0x01;
/// Most devices a roster lists: one stanza each, plus the recovery key's, fill a manifest's
/// 16 stanzas (docs/FORMAT.md §20.4).
pub const MAX_ROSTER_DEVICES: usize = MAX_STANZAS - 1;
/// Longest tenant identifier (a DNS label).
pub const MAX_TENANT_LEN: usize = 63;
/// Longest device label, in bytes of UTF-8.
pub const MAX_LABEL_LEN: usize = 64;
/// Length of the Ed25519 signature at the end.
pub const ROSTER_SIGNATURE_SIZE: usize = 64;
/// Bytes of the body before the tenant: magic, version, admin key, tenant length.
const HEAD_SIZE: usize = 8 + 1 + 32 + 1;
/// Bytes of the body between the tenant and the entries: sequence, issued_at, recovery key,
/// device count.
const MIDDLE_SIZE: usize = 8 + 8 + 32 + 1;
/// Bytes of an entry besides its label: device key, user id, label length.
const ENTRY_FIXED_SIZE: usize = 32 + 8 + 1;
/// Largest possible roster: a 63-byte tenant and 15 devices with 64-byte labels (1 793 bytes).
pub const MAX_ROSTER_SIZE: usize = HEAD_SIZE
    + MAX_TENANT_LEN
    + MIDDLE_SIZE
    + MAX_ROSTER_DEVICES * (ENTRY_FIXED_SIZE + MAX_LABEL_LEN)
    + ROSTER_SIGNATURE_SIZE;

/// One approved device: its X25519 public key, the agent it belongs to and its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterDevice {
    device_key: [u8; 32],
    user_id: u64,
    label: String,
}

impl RosterDevice {
    /// A device entry; [`Error::InvalidRoster`] if `user_id` is 0 or the label breaks a rule
    /// (1 to 64 bytes of UTF-8, no control or bidirectional formatting character).
    pub fn new(device_key: [u8; 32], user_id: u64, label: &str) -> Result<Self, Error> {
        if user_id == 0 {
            return Err(Error::InvalidRoster("a user id is 0"));
        }
        check_label(label)?;
        Ok(RosterDevice {
            device_key,
            user_id,
            label: label.to_owned(),
        })
    }

    /// The device's X25519 public key `D`.
    pub fn device_key(&self) -> &[u8; 32] {
        &self.device_key
    }

    /// The agent's Zendesk user id.
    pub fn user_id(&self) -> u64 {
        self.user_id
    }

    /// The device's name as the agent gave it. Display it as plain text.
    pub fn label(&self) -> &str {
        &self.label
    }
}

/// What a roster says, before or without its signature: the body of docs/FORMAT.md §19.1.
/// Every value of this type keeps the format's rules; devices are kept in roster order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterContent {
    admin_key: [u8; 32],
    tenant: String,
    sequence: u64,
    issued_at: u64,
    recovery_key: [u8; 32],
    devices: Vec<RosterDevice>,
}

impl RosterContent {
    /// A roster body. `devices` may come in any order: they are sorted by device key.
    /// [`Error::InvalidRoster`] if a rule is broken: tenant of 1 to 63 characters `a-z 0-9 -`,
    /// `sequence >= 1`, at most 15 devices, no device key twice or equal to the recovery key.
    pub fn new(
        admin_key: [u8; 32],
        tenant: &str,
        sequence: u64,
        issued_at: u64,
        recovery_key: [u8; 32],
        mut devices: Vec<RosterDevice>,
    ) -> Result<Self, Error> {
        devices.sort_by_key(|d| d.device_key);
        Self::checked(
            admin_key,
            tenant,
            sequence,
            issued_at,
            recovery_key,
            devices,
        )
    }

    /// Checks every rule; `devices` must already be in roster order.
    fn checked(
        admin_key: [u8; 32],
        tenant: &str,
        sequence: u64,
        issued_at: u64,
        recovery_key: [u8; 32],
        devices: Vec<RosterDevice>,
    ) -> Result<Self, Error> {
        check_tenant(tenant)?;
        if sequence == 0 {
            return Err(Error::InvalidRoster("the sequence number is 0"));
        }
        if devices.len() > MAX_ROSTER_DEVICES {
            return Err(Error::InvalidRoster("more than 15 devices"));
        }
        if devices
            .windows(2)
            .any(|pair| pair[0].device_key >= pair[1].device_key)
        {
            return Err(Error::InvalidRoster(
                "device keys are repeated or not in ascending order",
            ));
        }
        if devices.iter().any(|d| d.device_key == recovery_key) {
            return Err(Error::InvalidRoster("a device key is the recovery key"));
        }
        Ok(RosterContent {
            admin_key,
            tenant: tenant.to_owned(),
            sequence,
            issued_at,
            recovery_key,
            devices,
        })
    }

    /// The admin key `A` (Ed25519 public key) that signs this roster.
    pub fn admin_key(&self) -> &[u8; 32] {
        &self.admin_key
    }

    /// The tenant: the Zendesk account's subdomain.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The roster's sequence number; a later roster has a higher one.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// When the admin signed it (Unix seconds).
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// The recovery key `R_rec` (X25519 public key).
    pub fn recovery_key(&self) -> &[u8; 32] {
        &self.recovery_key
    }

    /// The devices, in ascending order of device key.
    pub fn devices(&self) -> &[RosterDevice] {
        &self.devices
    }

    /// The body bytes: everything the signature covers (after its label).
    pub fn to_body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_ROSTER_SIZE);
        out.extend_from_slice(ROSTER_MAGIC);
        out.push(ROSTER_VERSION);
        out.extend_from_slice(&self.admin_key);
        out.push(u8::try_from(self.tenant.len()).expect("a tenant has at most 63 bytes"));
        out.extend_from_slice(self.tenant.as_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        out.extend_from_slice(&self.recovery_key);
        out.push(u8::try_from(self.devices.len()).expect("a roster has at most 15 devices"));
        for device in &self.devices {
            out.extend_from_slice(&device.device_key);
            out.extend_from_slice(&device.user_id.to_be_bytes());
            out.push(u8::try_from(device.label.len()).expect("a label has at most 64 bytes"));
            out.extend_from_slice(device.label.as_bytes());
        }
        out
    }

    /// Parses body bytes (no signature after them).
    fn parse_body(r: &mut Reader<'_>) -> Result<Self, Error> {
        if r.take(8)? != ROSTER_MAGIC.as_slice() {
            return Err(Error::InvalidRoster("not a sealdrop roster (bad magic)"));
        }
        let version = r.u8()?;
        if version != ROSTER_VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let admin_key = r.array()?;
        let tenant_len = usize::from(r.u8()?);
        if !(1..=MAX_TENANT_LEN).contains(&tenant_len) {
            return Err(Error::InvalidRoster("tenant length must be 1 to 63"));
        }
        let tenant = std::str::from_utf8(r.take(tenant_len)?)
            .map_err(|_| Error::InvalidRoster("the tenant is not a-z 0-9 -"))?
            .to_owned();
        let sequence = u64::from_be_bytes(r.array()?);
        let issued_at = u64::from_be_bytes(r.array()?);
        let recovery_key = r.array()?;
        let device_count = usize::from(r.u8()?);
        if device_count > MAX_ROSTER_DEVICES {
            return Err(Error::InvalidRoster("more than 15 devices"));
        }
        let mut devices = Vec::with_capacity(device_count);
        for _ in 0..device_count {
            let device_key = r.array()?;
            let user_id = u64::from_be_bytes(r.array()?);
            let label_len = usize::from(r.u8()?);
            let label = std::str::from_utf8(r.take(label_len)?)
                .map_err(|_| Error::InvalidRoster("a label is not UTF-8"))?;
            devices.push(RosterDevice::new(device_key, user_id, label)?);
        }
        Self::checked(
            admin_key,
            &tenant,
            sequence,
            issued_at,
            recovery_key,
            devices,
        )
    }
}

/// A roster as stored and served: its content and the admin's signature over it, parsed but
/// **not verified**. Only `crate::team::VerifiedRoster` says a roster may be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roster {
    content: RosterContent,
    signature: [u8; ROSTER_SIGNATURE_SIZE],
}

impl Roster {
    /// Parses roster bytes; the error names the first rule broken (docs/FORMAT.md §19.3 step 1).
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_ROSTER_SIZE {
            return Err(Error::InvalidRoster(
                "larger than the largest possible roster",
            ));
        }
        let mut r = Reader::new(bytes, Error::InvalidRoster("truncated"));
        let content = RosterContent::parse_body(&mut r)?;
        let signature = r.array()?;
        if !r.is_done() {
            return Err(Error::InvalidRoster("bytes after the signature"));
        }
        Ok(Roster { content, signature })
    }

    /// A roster from its content and a signature over it.
    pub fn from_parts(content: RosterContent, signature: [u8; ROSTER_SIGNATURE_SIZE]) -> Self {
        Roster { content, signature }
    }

    /// What the roster says.
    pub fn content(&self) -> &RosterContent {
        &self.content
    }

    /// The signature.
    pub fn signature(&self) -> &[u8; ROSTER_SIGNATURE_SIZE] {
        &self.signature
    }

    /// The canonical encoding, `body || signature`; `Roster::parse(b)?.to_bytes() == b`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.content.to_body();
        out.extend_from_slice(&self.signature);
        out
    }
}

/// 1 to 63 bytes of `a-z`, `0-9` and `-`.
fn check_tenant(tenant: &str) -> Result<(), Error> {
    if !(1..=MAX_TENANT_LEN).contains(&tenant.len()) {
        return Err(Error::InvalidRoster("tenant length must be 1 to 63"));
    }
    if !tenant
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(Error::InvalidRoster("the tenant is not a-z 0-9 -"));
    }
    Ok(())
}

/// A device label's rules (docs/FORMAT.md §19.1): 1 to 64 bytes of UTF-8, no control
/// character (Unicode Cc) and no bidirectional formatting character. [`RosterDevice::new`]
/// checks it; a server checks it when a device is registered, so that every registered label
/// can go into a roster.
pub fn check_label(label: &str) -> Result<(), Error> {
    if !(1..=MAX_LABEL_LEN).contains(&label.len()) {
        return Err(Error::InvalidRoster("a label must be 1 to 64 bytes"));
    }
    if label
        .chars()
        .any(|c| c.is_control() || is_bidi_formatting(c))
    {
        return Err(Error::InvalidRoster(
            "a label holds a control or bidirectional formatting character",
        ));
    }
    Ok(())
}

/// U+200E, U+200F, U+202A..=U+202E, U+2066..=U+2069: characters that reorder what is shown.
fn is_bidi_formatting(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(key: u8, user: u64, label: &str) -> RosterDevice {
        RosterDevice::new([key; 32], user, label).unwrap()
    }

    fn content(devices: Vec<RosterDevice>) -> RosterContent {
        RosterContent::new([1; 32], "acme", 3, 1_700_000_000, [2; 32], devices).unwrap()
    }

    #[test]
    fn a_roster_round_trips_with_devices_sorted() {
        let c = content(vec![device(9, 7, "Bob"), device(5, 7, "Alice ✓")]);
        assert_eq!(c.devices()[0].device_key(), &[5; 32]);
        let roster = Roster::from_parts(c.clone(), [0xaa; 64]);
        let bytes = roster.to_bytes();
        assert_eq!(Roster::parse(&bytes).unwrap(), roster);
        assert_eq!(bytes.len(), 42 + 4 + 49 + 2 * 41 + 3 + 9 + 64);
    }

    #[test]
    fn the_largest_roster_has_max_roster_size() {
        let devices = (0..15)
            .map(|i| device(10 + i, 1, &"x".repeat(64)))
            .collect();
        let c = RosterContent::new([1; 32], &"a".repeat(63), 1, 0, [2; 32], devices).unwrap();
        let bytes = Roster::from_parts(c, [0; 64]).to_bytes();
        assert_eq!(bytes.len(), MAX_ROSTER_SIZE);
        assert_eq!(MAX_ROSTER_SIZE, 1793);
        Roster::parse(&bytes).unwrap();
    }

    #[test]
    fn broken_rules_are_refused() {
        let kind = |r: Result<RosterContent, Error>| r.unwrap_err().kind();
        let new = |tenant: &str, seq, devices| {
            RosterContent::new([1; 32], tenant, seq, 0, [2; 32], devices)
        };
        assert_eq!(kind(new("", 1, vec![])), "invalid_roster");
        assert_eq!(kind(new("Acme", 1, vec![])), "invalid_roster");
        assert_eq!(kind(new(&"a".repeat(64), 1, vec![])), "invalid_roster");
        assert_eq!(kind(new("acme", 0, vec![])), "invalid_roster");
        assert_eq!(
            kind(new("acme", 1, vec![device(5, 1, "a"), device(5, 2, "b")])),
            "invalid_roster"
        );
        assert_eq!(
            kind(new("acme", 1, vec![device(2, 1, "a")])),
            "invalid_roster"
        );
        let sixteen = (0..16).map(|i| device(10 + i, 1, "d")).collect();
        assert_eq!(kind(new("acme", 1, sixteen)), "invalid_roster");
        assert!(RosterDevice::new([3; 32], 0, "a").is_err());
        assert!(RosterDevice::new([3; 32], 1, "").is_err());
        assert!(RosterDevice::new([3; 32], 1, &"é".repeat(33)).is_err());
        assert!(RosterDevice::new([3; 32], 1, "tab\there").is_err());
        assert!(RosterDevice::new([3; 32], 1, "evil\u{202e}txt.exe").is_err());
        assert!(RosterDevice::new([3; 32], 1, "Zoë's laptop").is_ok());
    }

    #[test]
    fn parsing_refuses_non_canonical_bytes() {
        let c = content(vec![device(5, 1, "a"), device(9, 2, "b")]);
        let good = Roster::from_parts(c, [0; 64]).to_bytes();
        // Swap the two entries (each 32 + 8 + 1 + 1 bytes): out of order.
        let start = 42 + 4 + 49;
        let mut swapped = good.clone();
        swapped[start..start + 42].copy_from_slice(&good[start + 42..start + 84]);
        swapped[start + 42..start + 84].copy_from_slice(&good[start..start + 42]);
        assert_eq!(
            Roster::parse(&swapped),
            Err(Error::InvalidRoster(
                "device keys are repeated or not in ascending order"
            ))
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            Roster::parse(&trailing),
            Err(Error::InvalidRoster("bytes after the signature"))
        );
        assert_eq!(
            Roster::parse(&good[..good.len() - 1]),
            Err(Error::InvalidRoster("truncated"))
        );
        let mut version = good.clone();
        version[8] = 2;
        assert_eq!(Roster::parse(&version), Err(Error::UnsupportedVersion(2)));
        let mut magic = good;
        magic[0] = b'X';
        assert_eq!(
            Roster::parse(&magic),
            Err(Error::InvalidRoster("not a sealdrop roster (bad magic)"))
        );
        assert!(Roster::parse(&[0; MAX_ROSTER_SIZE + 1]).is_err());
    }
}
