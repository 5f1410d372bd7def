//! Team keys (docs/FORMAT.md §16-§21): Help Center uploads that only the tenant's agents and
//! its recovery code can open, not the server, not Zendesk.
//!
//! - [`fingerprint`]: 128-bit fingerprints of the admin key (pinned in the Help Center
//!   snippet) and of device keys (compared at approval);
//! - [`recovery`]: the printed recovery code, its checksum, and what HKDF derives from it (the
//!   admin key's wrap key and the recovery identity);
//! - [`admin_key`]: the tenant's Ed25519 admin key and its blob wrapped by the recovery code;
//! - [`roster`]: signing and verifying the roster of device keys, and the recipients a
//!   verified roster gives.
//!
//! The roster's bytes are [`crate::format::roster`]; sealing to a team and re-wrapping are
//! [`crate::seal::seal_team_package`] and [`crate::seal::rewrap_team_package`]; opening from a
//! link with a device key is [`crate::Manifest::open_team`].

pub mod admin_key;
pub mod fingerprint;
pub mod recovery;
pub mod roster;

pub use admin_key::{AdminPublicKey, AdminSigningKey};
pub use fingerprint::Fingerprint;
pub use recovery::RecoveryCode;
pub use roster::{sign_roster, signing_input, TeamRecipients, VerifiedRoster};
