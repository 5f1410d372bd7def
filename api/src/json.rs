//! JSON request bodies: one decoder whose errors are sentences for the caller, naming the
//! field by its path and what was expected there.

use std::fmt;

use serde::de::{DeserializeOwned, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

/// Decodes a JSON body; the error is a sentence for the caller. A body that is not JSON at all
/// says where it breaks (line and column); a body of the wrong shape names the field by its
/// path (`recipients[2]`, `downloads`) and says what was expected there, e.g.
/// `downloads: invalid type: string "five", expected u32`.
///
/// Every body of the API is a JSON object: anything else is refused before decoding, since
/// serde reads a struct from an array too (`[]` would otherwise be an empty change).
///
/// A number written with a zero fraction (`5.0`, `5e0`) is the integer it spells, as in JSON
/// Schema, whose `integer` admits it (and JavaScript, which writes no difference): serde
/// alone would refuse `5.0` where a `u32` is expected. Only integers a double holds exactly
/// (up to 2^53) are read so; a key given twice is refused, as it is for a struct.
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
    let JsonBody(body) = JsonBody::deserialize(&mut de)
        .and_then(|body| de.end().map(|()| body))
        .map_err(|e| {
            if e.is_syntax() || e.is_eof() || e.is_io() {
                not_json(&e)
            } else {
                format!(
                    "The request body does not fit this endpoint: {}.",
                    without_position(&e)
                )
            }
        })?;
    serde_path_to_error::deserialize(body).map_err(|e| {
        let what = without_position(e.inner());
        match e.path().to_string().as_str() {
            "." => format!("The request body does not fit this endpoint: {what}."),
            path => format!("The request body does not fit this endpoint: {path}: {what}."),
        }
    })
}

/// Largest integer every smaller one of which a double holds exactly (2^53).
const EXACT_IN_DOUBLE: f64 = 9_007_199_254_740_992.0;

/// A JSON document as [`Value`], read with the two differences [`decode_json`] describes:
/// whole numbers with a fraction part become integers, and duplicate keys are an error.
struct JsonBody(Value);

impl<'de> Deserialize<'de> for JsonBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonBodyVisitor).map(JsonBody)
    }
}

struct JsonBodyVisitor;

impl<'de> Visitor<'de> for JsonBodyVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        if v.fract() == 0.0 && v.abs() <= EXACT_IN_DOUBLE {
            // Exact: |v| <= 2^53 is a whole number that fits an i64 without rounding.
            return Ok(Value::Number((v as i64).into()));
        }
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number must be finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(JsonBody(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let JsonBody(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(A::Error::custom(format_args!("duplicate field `{key}`")));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
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
    fn whole_numbers_with_a_fraction_part_are_integers() {
        // JSON Schema's `integer` admits `5.0`; schemathesis sends it where the schema says
        // integer, and serde alone refused it for a u32.
        for body in [
            r#"{"downloads": 5.0}"#,
            r#"{"downloads": 5e0}"#,
            r#"{"downloads": 50e-1}"#,
        ] {
            let decoded: Body = decode_json(body.as_bytes()).expect(body);
            assert_eq!(decoded.downloads, Some(5), "{body}");
        }
        assert_eq!(
            error(r#"{"downloads": 5.5}"#),
            "The request body does not fit this endpoint: downloads: invalid type: floating point `5.5`, expected u32."
        );
        assert_eq!(
            error(r#"{"downloads": -1.0}"#),
            "The request body does not fit this endpoint: downloads: invalid value: integer `-1`, expected u32."
        );
        // Beyond 2^53 a double no longer spells one integer: still refused.
        let big: Result<BigBody, String> = decode_json(br#"{"n": 18446744073709551615.0}"#);
        assert!(big.is_err(), "{big:?}");
        let exact: BigBody = decode_json(br#"{"n": 9007199254740992.0}"#).expect("2^53");
        assert_eq!(exact.n, 9_007_199_254_740_992);
        // Found by schemathesis: serde_json's default float parsing read this one 0.2 off.
        let near: BigBody = decode_json(br#"{"n": 2098209613560911.0}"#).expect("exact");
        assert_eq!(near.n, 2_098_209_613_560_911);
    }

    #[derive(Debug, serde::Deserialize)]
    struct BigBody {
        n: u64,
    }

    #[test]
    fn a_key_given_twice_is_refused() {
        assert_eq!(
            error(r#"{"downloads": 1, "downloads": 2}"#),
            "The request body does not fit this endpoint: duplicate field `downloads`."
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
