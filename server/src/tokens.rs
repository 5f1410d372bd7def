//! Bearer tokens (`sdt_`, `sdu_`, `sdd_`, later `sda_`, `sdr_`, `sdw_`): 32 random bytes in
//! b64u behind a prefix naming their kind. The server keeps only SHA-256 of the whole token
//! text and compares hashes in constant time.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Which kind of token (its prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Tenant API token, `sdt_`.
    Tenant,
    /// Upload token of one package, `sdu_`.
    Upload,
    /// Download token of one package, `sdd_`.
    Download,
    /// Recipient session for one package, `sdr_` (from an email verification code).
    Recipient,
}

impl TokenKind {
    /// The prefix, with its underscore.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Tenant => "sdt_",
            Self::Upload => "sdu_",
            Self::Download => "sdd_",
            Self::Recipient => "sdr_",
        }
    }
}

/// A freshly made token. Its text is shown to its holder once; `Debug` hides it.
pub struct NewToken {
    text: String,
    hash: TokenHash,
}

impl NewToken {
    /// Makes a random token of `kind`.
    pub fn generate(kind: TokenKind) -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let text = format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes));
        let hash = TokenHash::of(&text);
        Self { text, hash }
    }

    /// The token text, for the one response that hands it out.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What the server stores.
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewToken(<hidden>)")
    }
}

/// SHA-256 of a token's text.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a token's text.
    pub fn of(text: &str) -> Self {
        Self(Sha256::digest(text.as_bytes()).into())
    }

    /// Parses a presented token of `kind` (prefix, length and alphabet) and hashes it.
    /// Returns `None` for anything malformed.
    pub fn parse(kind: TokenKind, text: &str) -> Option<Self> {
        let body = text.strip_prefix(kind.prefix())?;
        let bytes = URL_SAFE_NO_PAD.decode(body).ok()?;
        (bytes.len() == 32).then(|| Self::of(text))
    }

    /// The hash bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Constant-time comparison with a stored hash.
    pub fn matches(&self, stored: &[u8]) -> bool {
        stored.len() == 32 && bool::from(self.0.ct_eq(stored))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_parses_back_to_its_hash() {
        let token = NewToken::generate(TokenKind::Upload);
        assert!(token.text().starts_with("sdu_"));
        assert_eq!(token.text().len(), 4 + 43);
        let parsed = TokenHash::parse(TokenKind::Upload, token.text()).expect("parses");
        assert!(parsed.matches(token.hash().as_bytes()));
        assert!(
            TokenHash::parse(TokenKind::Tenant, token.text()).is_none(),
            "wrong kind"
        );
        assert!(TokenHash::parse(TokenKind::Upload, "sdu_short").is_none());
        assert!(!format!("{token:?}").contains(&token.text()[4..]));
    }
}
