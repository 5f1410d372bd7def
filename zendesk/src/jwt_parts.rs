//! Reading a compact JWT's parts before its signature is checked: the header (to refuse an
//! algorithm other than the expected one) and the claims (to learn which tenant's key or
//! secret verifies it). Nothing read here is trusted until the signature verifies.
//! [`signature_only`] is the `jsonwebtoken` validation both verifiers run after that.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;

/// Checks the signature under `algorithm` and nothing else: the callers check time, issuer
/// and audience themselves, with errors that say which failed.
pub(crate) fn signature_only(algorithm: Algorithm) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation
}

/// Part `index` (0 header, 1 claims) of a three-part token, as a JSON object; `None` when the
/// token does not have three parts or that part is not base64url of a JSON object.
pub(crate) fn object_part(token: &str, index: usize) -> Option<Value> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(parts.get(index)?.trim_end_matches('='))
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.is_object().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_object_part_of_a_three_part_token_is_read() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#);
        let array = URL_SAFE_NO_PAD.encode(b"[1]");
        let token = format!("{header}.{array}.sig");
        assert_eq!(
            object_part(&token, 0),
            Some(serde_json::json!({"alg": "HS256"}))
        );
        assert_eq!(object_part(&token, 1), None, "an array is not claims");
        assert_eq!(object_part(&format!("{header}.x"), 0), None, "two parts");
        assert_eq!(object_part("%%%.a.b", 0), None, "not base64url");
    }
}
