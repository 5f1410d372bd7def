//! JSON request bodies: one decoder whose errors are sentences for the caller, naming the
//! field by its path and what was expected there.

use serde::de::DeserializeOwned;

/// Decodes a JSON body; the error is a sentence for the caller. A body that is not JSON at all
/// says where it breaks (line and column); a body of the wrong shape names the field by its
/// path (`recipients[2]`, `downloads`) and says what was expected there, e.g.
/// `downloads: invalid type: string "five", expected u32`.
///
/// Every body of the API is a JSON object: anything else is refused before decoding, since
/// serde reads a struct from an array too (`[]` would otherwise be an empty change).
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let not_json = |e: &serde_json::Error| format!("The request body is not valid JSON: {e}.");
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        // Still say "not JSON" when it is not, so the message points at the real mistake.
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Err(e) => not_json(&e),
                Ok(_) => {
                    "The request body does not fit this endpoint: it must be a JSON object `{…}`."
                        .to_owned()
                }
            },
        );
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            return not_json(inner);
        }
        let what = without_position(inner);
        match e.path().to_string().as_str() {
            "." => format!("The request body does not fit this endpoint: {what}."),
            path => format!("The request body does not fit this endpoint: {path}: {what}."),
        }
    })?;
    de.end().map_err(|e| not_json(&e))?;
    Ok(value)
}

/// serde_json's message without its " at line L column C" suffix: for a wrong field the path
/// says where, and the position in a one-line body adds nothing.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(message) if e.line() > 0 => message.to_owned(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::decode_json;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        downloads: Option<u32>,
        #[serde(default)]
        recipients: Vec<String>,
    }

    fn error(json: &str) -> String {
        decode_json::<Body>(json.as_bytes()).expect_err("the body is refused")
    }

    #[test]
    fn only_objects_are_bodies() {
        // Found by fuzz/json_bodies: serde reads a struct from an array, so `[]` was an empty
        // change and `[null, 5]` set the second field.
        for body in ["[]", "[null, 5]", "5", "\"x\"", "null"] {
            assert_eq!(
                error(body),
                "The request body does not fit this endpoint: it must be a JSON object `{…}`.",
                "{body}"
            );
        }
        assert!(error("[1,").starts_with("The request body is not valid JSON"));
    }

    #[test]
    fn errors_name_the_field_and_what_was_expected() {
        assert_eq!(
            error(r#"{"downloads": "five"}"#),
            "The request body does not fit this endpoint: downloads: invalid type: string \"five\", expected u32."
        );
        assert_eq!(
            error(r#"{"recipients": ["a@example.com", 7]}"#),
            "The request body does not fit this endpoint: recipients[1]: invalid type: integer `7`, expected a string."
        );
        assert_eq!(
            error(r#"{"surprise": 1}"#),
            "The request body does not fit this endpoint: surprise: unknown field `surprise`, expected `downloads` or `recipients`."
        );
    }

    #[test]
    fn broken_json_says_where() {
        assert_eq!(
            error(r#"{"downloads": 1"#),
            "The request body is not valid JSON: EOF while parsing an object at line 1 column 15."
        );
        assert_eq!(
            error(r#"{"downloads": 1} x"#),
            "The request body is not valid JSON: trailing characters at line 1 column 18."
        );
    }
}
