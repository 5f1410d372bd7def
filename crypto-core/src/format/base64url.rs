//! `b64u`: base64url without padding (RFC 4648, section 5), the text form of every identifier,
//! secret and key. Decoding rejects padding, characters outside the URL-safe alphabet, non-zero
//! trailing bits and wrong lengths.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use zeroize::Zeroize;

use crate::error::Error;

/// Decodes base64url without padding into exactly `N` bytes.
pub(crate) fn b64u_decode<const N: usize>(
    text: &str,
    what: &'static str,
) -> Result<[u8; N], Error> {
    // ceil(N * 4 / 3) characters; checked first so oversized input is never decoded.
    if text.len() != (N * 4).div_ceil(3) {
        return Err(Error::InvalidEncoding(what));
    }
    let mut decoded = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| Error::InvalidEncoding(what))?;
    let out = <[u8; N]>::try_from(decoded.as_slice()).map_err(|_| Error::InvalidEncoding(what));
    decoded.zeroize();
    out
}

/// Encodes bytes as base64url without padding.
pub(crate) fn b64u_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
