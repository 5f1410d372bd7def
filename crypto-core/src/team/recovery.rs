//! The recovery code (docs/FORMAT.md §18): 128 random bits printed for the tenant's admin,
//! from which HKDF derives the key that wraps the admin key and the team's recovery identity.
//!
//! ```text
//! rc      = 16 random bytes
//! check   = SHA-256("sealdrop/v1/recovery-code-check" || rc)[0..4]
//! text    = base32c(rc || check) in 8 groups of 4, e.g. XDRN-3VCM-F34W-PNE2-6SAM-0NK8-ZMH9-2P5E
//! W_admin = HKDF(ikm = rc, salt = "", info = "sealdrop/v1/recovery/admin-key")
//! r_rec   = HKDF(ikm = rc, salt = "", info = "sealdrop/v1/recovery/x25519")
//! ```
//!
//! `base32c` is Crockford's base32 (alphabet `0-9 A-Z` without `I L O U`). No slow KDF: the code
//! has 128 bits of entropy, so nothing is gained by stretching it (docs/FORMAT.md §18.2).

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::Error;
use crate::keys::{hkdf32, WrapKey};
use crate::provider::RandomSource;
use crate::wrap::x25519::{X25519Identity, X25519Recipient};

/// Hash label of the recovery code's checksum.
pub const LABEL_RECOVERY_CODE_CHECK: &[u8] = b"sealdrop/v1/recovery-code-check";
/// HKDF `info` label of `W_admin`, the key that wraps the admin key.
pub const LABEL_RECOVERY_ADMIN_KEY: &[u8] = b"sealdrop/v1/recovery/admin-key";
/// HKDF `info` label of the recovery identity `r_rec`.
pub const LABEL_RECOVERY_X25519: &[u8] = b"sealdrop/v1/recovery/x25519";

/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a code: 160 bits (16 bytes and a 4-byte check) at 5 bits each.
const SYMBOLS: usize = 32;

/// The recovery code's secret `rc`: 16 random bytes. Zeroized on drop, compared in constant
/// time, printed as `RecoveryCode(..)`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RecoveryCode([u8; 16]);

impl RecoveryCode {
    /// A fresh random code.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self, Error> {
        let mut code = RecoveryCode([0; 16]);
        rng.fill(&mut code.0)?;
        Ok(code)
    }

    /// Wraps known secret bytes (test vectors).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        RecoveryCode(bytes)
    }

    /// The raw secret `rc`. Never log it.
    pub fn expose_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The printed form: 32 symbols in 8 groups of 4 joined by `-`. Secret: show it once, to
    /// the admin, for printing.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new([0u8; 20]);
        bytes[..16].copy_from_slice(&self.0);
        bytes[16..].copy_from_slice(&checksum(&self.0));
        let mut text = Zeroizing::new(String::with_capacity(SYMBOLS + 7));
        for i in 0..SYMBOLS {
            if i > 0 && i % 4 == 0 {
                text.push('-');
            }
            text.push(char::from(ALPHABET[usize::from(symbol(&bytes, i))]));
        }
        text
    }

    /// Parses a typed code: whitespace and `-` are ignored, case too, and `O` reads as `0`, `I`
    /// and `L` as `1`. [`Error::InvalidEncoding`] if what remains is not 32 symbols of the
    /// alphabet, [`Error::RecoveryCodeChecksum`] if the checksum does not match (a typo).
    pub fn parse(text: &str) -> Result<Self, Error> {
        const BAD: Error = Error::InvalidEncoding("recovery code");
        let mut values = Zeroizing::new([0u8; SYMBOLS]);
        let mut count = 0;
        for c in text.chars() {
            if c.is_ascii_whitespace() || c == '-' {
                continue;
            }
            let value = symbol_value(c).ok_or(BAD)?;
            if count == SYMBOLS {
                return Err(BAD);
            }
            values[count] = value;
            count += 1;
        }
        if count != SYMBOLS {
            return Err(BAD);
        }
        let mut bytes = Zeroizing::new([0u8; 20]);
        for (i, &value) in values.iter().enumerate() {
            for bit in 0..5 {
                if value & (0x10 >> bit) != 0 {
                    let n = 5 * i + bit;
                    bytes[n / 8] |= 0x80 >> (n % 8);
                }
            }
        }
        let mut rc = [0u8; 16];
        rc.copy_from_slice(&bytes[..16]);
        let code = RecoveryCode(rc);
        rc.zeroize();
        if !bool::from(checksum(&code.0).ct_eq(&bytes[16..])) {
            return Err(Error::RecoveryCodeChecksum);
        }
        Ok(code)
    }

    /// The team's recovery identity `r_rec = HKDF(rc, "", "sealdrop/v1/recovery/x25519")`.
    pub fn recovery_identity(&self) -> X25519Identity {
        X25519Identity::from_bytes(hkdf32(&self.0, &[], LABEL_RECOVERY_X25519))
    }

    /// The recovery key `R_rec = X25519(r_rec, 9)` that rosters carry.
    pub fn recovery_recipient(&self) -> X25519Recipient {
        self.recovery_identity().recipient()
    }

    /// `W_admin = HKDF(rc, "", "sealdrop/v1/recovery/admin-key")`.
    pub(crate) fn admin_wrap_key(&self) -> WrapKey {
        WrapKey(hkdf32(&self.0, &[], LABEL_RECOVERY_ADMIN_KEY))
    }
}

impl PartialEq for RecoveryCode {
    /// Constant time.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for RecoveryCode {}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

/// `SHA-256("sealdrop/v1/recovery-code-check" || rc)[0..4]`.
fn checksum(rc: &[u8; 16]) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(LABEL_RECOVERY_CODE_CHECK)
        .chain_update(rc)
        .finalize();
    digest[..4].try_into().expect("SHA-256 gives 32 bytes")
}

/// The `i`-th 5-bit symbol of `bytes`, most significant bit first.
fn symbol(bytes: &[u8; 20], i: usize) -> u8 {
    (0..5).fold(0u8, |acc, bit| {
        let n = 5 * i + bit;
        (acc << 1) | ((bytes[n / 8] >> (7 - n % 8)) & 1)
    })
}

/// The value of a typed symbol, with Crockford's readings of `O`, `I` and `L`.
fn symbol_value(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    let c = u8::try_from(c).ok()?;
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .map(|p| u8::try_from(p).expect("the alphabet has 32 symbols"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::DeterministicRandom;

    #[test]
    fn a_code_round_trips_through_its_text() {
        let rng = DeterministicRandom::new(b"recovery");
        for _ in 0..50 {
            let code = RecoveryCode::generate(&rng).unwrap();
            let text = code.to_text();
            assert_eq!(text.len(), 39);
            assert_eq!(text.matches('-').count(), 7);
            assert_eq!(RecoveryCode::parse(&text).unwrap(), code);
            let sloppy = text
                .to_lowercase()
                .replace('-', " ")
                .replace('0', "o")
                .replace('1', "l");
            assert_eq!(RecoveryCode::parse(&sloppy).unwrap(), code);
        }
    }

    #[test]
    fn all_zero_and_all_one_bits_encode_as_expected() {
        let zero = RecoveryCode::from_bytes([0; 16]).to_text();
        assert!(zero.starts_with("0000-0000-0000-0000-0000-0000-"));
        let ones = RecoveryCode::from_bytes([0xff; 16]).to_text();
        assert!(ones.starts_with("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-Z"));
    }

    #[test]
    fn a_typo_is_a_checksum_error_and_garbage_is_an_encoding_error() {
        let code = RecoveryCode::from_bytes([0x42; 16]);
        let text = code.to_text();
        let first = text.chars().next().unwrap();
        let typo = text.replacen(first, if first == 'A' { "B" } else { "A" }, 1);
        assert_eq!(RecoveryCode::parse(&typo), Err(Error::RecoveryCodeChecksum));
        for bad in [
            "",
            "ABCD",
            &format!("{}A", *text),
            &text.replacen(first, "U", 1),
        ] {
            assert_eq!(
                RecoveryCode::parse(bad),
                Err(Error::InvalidEncoding("recovery code")),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_derivations_are_distinct_and_fixed() {
        let code = RecoveryCode::from_bytes([7; 16]);
        let identity = code.recovery_identity();
        assert_eq!(
            *identity.to_bytes(),
            hkdf32(&[7; 16], &[], LABEL_RECOVERY_X25519)
        );
        assert_ne!(code.admin_wrap_key().0, *identity.to_bytes());
        assert_eq!(code.recovery_recipient(), identity.recipient());
        assert_eq!(format!("{code:?}"), "RecoveryCode(..)");
    }
}
