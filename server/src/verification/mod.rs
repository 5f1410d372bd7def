//! Recipient verification: email codes and recipient sessions (docs/API.md "Recipient
//! verification").
//!
//! A package created with `require_auth` releases its server secret only to a caller who
//! also proves control of one of its recipient addresses. The recipient asks for a code
//! (`POST …/verification`), receives it by email, and trades it (`POST …/verification/confirm`)
//! for a recipient session (`sdr_…`) that `open` and `download` accept for that package.
//!
//! The rules, all enforced in the database so that any number of server instances agree
//! (atomic `UPDATE`s and upserts, no counters in memory):
//!
//! - Codes are asked only on packages that need one (`require_auth`); elsewhere the request
//!   is refused, so a link holder cannot spend anyone's allowance through a package that
//!   never mails codes.
//! - A code is [`CODE_DIGITS`] decimal digits drawn uniformly from the OS CSPRNG. Eight digits
//!   rather than six: with [`MAX_ATTEMPTS`] tries per code and at most
//!   [`CODES_PER_ADDRESS_PER_PACKAGE_PER_HOUR`] codes per package and address, an online
//!   guesser gets at most 25 code comparisons an hour against 10^8 values.
//! - It is bound to one package and one address, valid [`CODE_TTL`], single use, and dies after
//!   [`MAX_ATTEMPTS`] tries (each try is counted *before* the comparison, on every live code of
//!   the package and address, so concurrent guesses cannot exceed the limit). A new code does
//!   **not** retire the live ones: whoever asks again (the recipient whose mail is slow, or a
//!   stranger holding the link) cannot invalidate the code the recipient is typing. Any live
//!   code confirms, once; confirming one retires the others.
//! - It is stored only as `HMAC-SHA256(verification key, package ‖ address ‖ code)`: a copy of
//!   the database alone cannot be searched offline for the 10^8 candidates. Addresses typed in
//!   by strangers are kept only as HMACs too.
//! - Per hour (fixed windows), an address may be sent at most
//!   [`CODES_PER_ADDRESS_PER_PACKAGE_PER_HOUR`] codes for one package and
//!   [`CODES_PER_ADDRESS_PER_TENANT_PER_HOUR`] for one tenant's packages, a package at most
//!   [`CODES_PER_PACKAGE_PER_HOUR`], and an address at most [`CODES_PER_ADDRESS_PER_HOUR`]
//!   server-wide (a high ceiling against mail floods). The caps are scoped so that a link to
//!   one package, or one tenant's packages, cannot lock an address out of another's.
//! - "Send me a code" does the same work and gives the same answer whether or not the address
//!   is a recipient: the same queries, the same row written, the same `202`. Only the mail
//!   differs, and it is sent in the background after the answer.
//! - Comparisons of codes and tokens are constant time; no code or token is ever logged.

mod key;

use std::fmt;
use std::time::Duration;

use rand::Rng;
use sealdrop_crypto::LinkProof;
use serde_json::json;
use subtle::ConstantTimeEq;

pub use key::VerificationKey;

use crate::db::rate::{Counter, WINDOW_SECS};
use crate::db::{AuditKind, Database};
use crate::internal::{internal_failures, Internal};
use crate::mail::Mailer;
use crate::packages::{self, PackageError};
use crate::tokens::{NewToken, TokenHash, TokenKind};

/// Digits in a verification code.
pub const CODE_DIGITS: usize = 8;
/// How long a code is valid.
pub const CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// Tries per code; the next one finds the code dead.
pub const MAX_ATTEMPTS: i64 = 5;
/// Codes one address may be sent per hour for one package.
pub const CODES_PER_ADDRESS_PER_PACKAGE_PER_HOUR: i64 = 5;
/// Codes one address may be sent per hour for all of one tenant's packages.
pub const CODES_PER_ADDRESS_PER_TENANT_PER_HOUR: i64 = 20;
/// Codes one address may be sent per hour server-wide (every tenant together).
pub const CODES_PER_ADDRESS_PER_HOUR: i64 = 50;
/// Codes one package may send per hour (all addresses together).
pub const CODES_PER_PACKAGE_PER_HOUR: i64 = 30;
/// How long a recipient session lasts (capped by the package expiry).
pub const SESSION_TTL: Duration = Duration::from_secs(3600);

/// Why a verification request was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    /// The address is not a plausible email address.
    #[error("That is not a valid email address.")]
    InvalidEmail,
    /// The code is not [`CODE_DIGITS`] digits.
    #[error("A code has {CODE_DIGITS} digits.")]
    InvalidCode,
    /// The package opens with its link alone; there is nothing to verify.
    #[error("This package does not ask for a verification code: open it with its link alone.")]
    NotRequired,
    /// An hourly cap on codes is reached.
    #[error("Too many codes were asked for this address or this package in the last hour. Please try again later.")]
    RateLimited,
    /// Wrong, expired, used or dead code (which one is not said).
    #[error("That code is not right, or it has expired or was already used. Check the latest email, or ask for a new code.")]
    Rejected,
    /// The link does not lead to a package that can be opened.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// A failure on the server's side.
    #[error(transparent)]
    Internal(Internal),
}

internal_failures!(VerificationError);

/// A normalised email address: trimmed, lower-case, one `@`, a dotted domain, no whitespace,
/// control or header-special characters. Cannot hold anything else.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses and normalises `raw`; `None` if it is not a plausible address.
    pub fn parse(raw: &str) -> Option<Self> {
        let address = raw.trim().to_lowercase();
        let (local, domain) = address.split_once('@')?;
        let forbidden =
            |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"@".contains(c);
        let ok = address.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && !local.chars().any(forbidden)
            && !domain.chars().any(forbidden)
            && domain.contains('.')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && label.len() <= 63)
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        ok.then_some(Self(address))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.0)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A verification code: exactly [`CODE_DIGITS`] ASCII digits. `Debug` hides it.
#[derive(Clone)]
pub struct VerificationCode(String);

impl VerificationCode {
    /// A fresh code, uniform over all [`CODE_DIGITS`]-digit values, from the OS CSPRNG.
    pub fn generate() -> Self {
        let n: u32 = rand::rngs::OsRng.gen_range(0..100_000_000);
        Self(format!("{n:08}"))
    }

    /// Parses what a person typed: spaces and dashes are ignored; then exactly
    /// [`CODE_DIGITS`] digits.
    pub fn parse(raw: &str) -> Option<Self> {
        let digits: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
            .collect();
        (digits.len() == CODE_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()))
            .then_some(Self(digits))
    }

    /// The digits, for the one mail that delivers them.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationCode(<hidden>)")
    }
}

/// What [`request_code`] decided. The HTTP answer is the same for both `Sent` variants.
#[derive(Debug)]
pub enum CodeRequest {
    /// A code was stored; `Some` holds it when the address is a recipient and it must be mailed.
    Issued(Option<VerificationCode>),
    /// An hourly cap is reached; nothing was stored.
    RateLimited,
}

/// Records a code request for `email` on package `package_id` ("send me a code").
///
/// Does the same database work whatever the address: checks membership, takes a slot from
/// every hourly counter and stores the new code's HMAC (live codes stay live). Returns the
/// code to mail only when the address is a recipient.
pub async fn request_code(
    db: &Database,
    key: &VerificationKey,
    tenant_id: &str,
    package_id: &str,
    email: &EmailAddress,
    now: i64,
) -> sqlx::Result<CodeRequest> {
    let is_recipient = db.is_recipient(package_id, email.as_str()).await?;
    let email_hash = key.email_hash(email);
    let scoped = |scope: &str| [scope.as_bytes(), b"\0", &email_hash[..]].concat();
    let per_package = scoped(package_id);
    let per_tenant = scoped(tenant_id);
    // Narrowest first: every request takes its slots in the same order.
    let counters = [
        Counter {
            scope: "code_per_address_package",
            subject: &per_package,
            cap: CODES_PER_ADDRESS_PER_PACKAGE_PER_HOUR,
        },
        Counter {
            scope: "code_per_address_tenant",
            subject: &per_tenant,
            cap: CODES_PER_ADDRESS_PER_TENANT_PER_HOUR,
        },
        Counter {
            scope: "code_per_package",
            subject: package_id.as_bytes(),
            cap: CODES_PER_PACKAGE_PER_HOUR,
        },
        Counter {
            scope: "code_per_address",
            subject: &email_hash,
            cap: CODES_PER_ADDRESS_PER_HOUR,
        },
    ];
    if db.take_rate_slots(&counters, now).await?.is_err() {
        return Ok(CodeRequest::RateLimited);
    }
    let code = VerificationCode::generate();
    let code_hash = key.code_hash(package_id, email, &code);
    db.insert_code(
        package_id,
        &email_hash,
        &code_hash,
        now + CODE_TTL.as_secs() as i64,
        now,
    )
    .await?;
    Ok(CodeRequest::Issued(is_recipient.then_some(code)))
}

/// The outcome of [`confirm_code`].
#[derive(Debug)]
pub enum Confirmation {
    /// The code was right: a new recipient session and its expiry (Unix seconds).
    Session {
        /// The `sdr_…` token, shown once.
        token: NewToken,
        /// Unix seconds.
        expires_at: i64,
    },
    /// Wrong, expired, used, dead, or never issued: indistinguishable to the caller.
    Rejected,
}

/// Checks `code` for `email` on a package expiring at `package_expires_at`. Counts the try
/// first (atomically, at most [`MAX_ATTEMPTS`] per code), then compares in constant time,
/// then marks the code used (so two concurrent right answers yield one session).
pub async fn confirm_code(
    db: &Database,
    key: &VerificationKey,
    package_id: &str,
    package_expires_at: i64,
    email: &EmailAddress,
    code: &VerificationCode,
    now: i64,
) -> sqlx::Result<Confirmation> {
    let email_hash = key.email_hash(email);
    let presented = key.code_hash(package_id, email, code);
    let live = db
        .count_code_attempts(package_id, &email_hash, MAX_ATTEMPTS, now)
        .await?;
    // Compare against every live code, and against a dummy when there is none, so that all
    // paths do the same work; no early exit on a match.
    let dummy = [(0i64, vec![0u8; 32])];
    let candidates = if live.is_empty() {
        &dummy[..]
    } else {
        &live[..]
    };
    let mut matched = None;
    for (id, stored) in candidates {
        let equal = stored.len() == presented.len() && bool::from(stored.ct_eq(&presented));
        if equal && !live.is_empty() {
            matched = Some(*id);
        }
    }
    let is_recipient = db.is_recipient(package_id, email.as_str()).await?;
    let Some(id) = matched.filter(|_| is_recipient) else {
        return Ok(Confirmation::Rejected);
    };
    if !db.use_code(id, package_id, &email_hash, now).await? {
        return Ok(Confirmation::Rejected); // a concurrent confirm won
    }
    let token = NewToken::generate(TokenKind::Recipient);
    let expires_at = package_expires_at.min(now + SESSION_TTL.as_secs() as i64);
    db.insert_recipient_session(
        token.hash().as_bytes(),
        package_id,
        email.as_str(),
        expires_at,
        now,
    )
    .await?;
    Ok(Confirmation::Session { token, expires_at })
}

/// Whether a presented recipient session (`sdr_…` text) is valid for `package_id` now.
/// Returns the verified address when it is.
pub async fn session_for(
    db: &Database,
    token_text: &str,
    package_id: &str,
    now: i64,
) -> sqlx::Result<Option<EmailAddress>> {
    let Some(hash) = TokenHash::parse(TokenKind::Recipient, token_text.trim()) else {
        return Ok(None);
    };
    let Some((session_package, email, expires_at)) = db.recipient_session(hash.as_bytes()).await?
    else {
        return Ok(None);
    };
    let same_package = bool::from(session_package.as_bytes().ct_eq(package_id.as_bytes()));
    Ok((same_package && expires_at > now)
        .then(|| EmailAddress::parse(&email))
        .flatten())
}

/// Stores a new package's recipients (normalised, duplicates folded). Addresses that do not
/// parse are returned as an error naming none of them.
pub async fn store_recipients(
    db: &Database,
    package_id: &str,
    recipients: &[String],
) -> anyhow::Result<usize> {
    let mut parsed: Vec<EmailAddress> = Vec::with_capacity(recipients.len());
    for raw in recipients {
        let email = EmailAddress::parse(raw)
            .ok_or_else(|| anyhow::anyhow!("a recipient address is not valid"))?;
        if !parsed.contains(&email) {
            parsed.push(email);
        }
    }
    let emails: Vec<&str> = parsed.iter().map(EmailAddress::as_str).collect();
    db.insert_recipients(package_id, &emails).await?;
    Ok(parsed.len())
}

/// Deletes codes expired for a day, sessions that have expired and counters of past windows.
/// Returns how many rows went. Run by the purge task.
pub async fn purge_expired(db: &Database, now: i64) -> sqlx::Result<u64> {
    let verification = db.delete_expired_verification(now - 24 * 3600, now).await?;
    let counters = db.delete_rate_counters(now - 2 * WINDOW_SECS).await?;
    Ok(verification + counters)
}

/// "Send me a code" for `raw_email` on the package behind `raw_id` and `proof`: the same work
/// and the same answer whether or not the address is a recipient; the mail (recipients only)
/// goes out in the background.
pub async fn send_code(
    db: &Database,
    key: &VerificationKey,
    mailer: &Mailer,
    raw_id: &str,
    proof: &LinkProof,
    raw_email: &str,
    now: i64,
) -> Result<(), VerificationError> {
    let email = EmailAddress::parse(raw_email).ok_or(VerificationError::InvalidEmail)?;
    let package = packages::linked_package(db, raw_id, proof, now).await?;
    if !package.require_auth {
        return Err(VerificationError::NotRequired);
    }
    // Looked up for everyone, used only for recipients: the same queries either way.
    let sender = db
        .tenant(&package.tenant_id)
        .await?
        .map(|t| t.name)
        .unwrap_or_else(|| "the sender".into());
    match request_code(db, key, &package.tenant_id, &package.id, &email, now).await? {
        CodeRequest::RateLimited => Err(VerificationError::RateLimited),
        CodeRequest::Issued(code) => {
            if let Some(code) = code {
                mailer.send_verification_code(&email, &code, &sender);
            }
            Ok(())
        }
    }
}

/// A recipient session, as `POST …/verification/confirm` answers it.
#[derive(Debug)]
pub struct RecipientSession {
    /// The `sdr_…` token, shown once.
    pub token: NewToken,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Trades a code for a recipient session (records `verified`).
pub async fn confirm(
    db: &Database,
    key: &VerificationKey,
    raw_id: &str,
    proof: &LinkProof,
    raw_email: &str,
    raw_code: &str,
    now: i64,
) -> Result<RecipientSession, VerificationError> {
    let email = EmailAddress::parse(raw_email).ok_or(VerificationError::InvalidEmail)?;
    let code = VerificationCode::parse(raw_code).ok_or(VerificationError::InvalidCode)?;
    let package = packages::linked_package(db, raw_id, proof, now).await?;
    let outcome =
        confirm_code(db, key, &package.id, package.expires_at, &email, &code, now).await?;
    match outcome {
        Confirmation::Session { token, expires_at } => {
            let detail = json!({ "recipient": email.as_str() });
            db.audit(
                &package.tenant_id,
                Some(&package.id),
                AuditKind::Verified,
                Some(&detail),
                now,
            )
            .await?;
            tracing::info!(package = %package.id, "recipient verified");
            Ok(RecipientSession { token, expires_at })
        }
        Confirmation::Rejected => Err(VerificationError::Rejected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised_and_checked() {
        let a = EmailAddress::parse("  Alice.Smith@Example.COM ").expect("valid");
        assert_eq!(a.as_str(), "alice.smith@example.com");
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@example",
            "alice@@example.com",
            "alice @example.com",
            "alice@example..com",
            "alice@example.com>",
            "alice\r\nBcc: x@example.com",
            "\"alice\"@example.com",
            ".alice@example.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_none(),
                "{bad:?} must be refused"
            );
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(65))).is_none());
    }

    #[test]
    fn codes_have_eight_digits_and_parse_leniently() {
        for _ in 0..1000 {
            let code = VerificationCode::generate();
            assert_eq!(code.expose().len(), CODE_DIGITS);
            assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(
            VerificationCode::parse(" 1234 5678 ").map(|c| c.0),
            Some("12345678".into())
        );
        assert_eq!(
            VerificationCode::parse("1234-5678").map(|c| c.0),
            Some("12345678".into())
        );
        assert!(VerificationCode::parse("123456").is_none());
        assert!(VerificationCode::parse("123456789").is_none());
        assert!(VerificationCode::parse("1234567a").is_none());
        assert!(
            VerificationCode::parse("１２３４５６７８").is_none(),
            "only ASCII digits"
        );
        assert!(!format!("{:?}", VerificationCode::generate())
            .chars()
            .any(|c| c.is_ascii_digit()));
    }

    #[test]
    fn generated_codes_spread_over_the_whole_range() {
        // Leading digits of 2000 codes: every digit appears (a biased generator, e.g. one that
        // never yields leading zeros, fails this with overwhelming probability).
        let mut seen = [0u32; 10];
        for _ in 0..2000 {
            let code = VerificationCode::generate();
            seen[(code.expose().as_bytes()[0] - b'0') as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 100), "{seen:?}");
    }
}
