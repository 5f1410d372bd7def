//! The `Range` header of ciphertext downloads (`GET /api/v1/packages/{id}/files/{file}`).
//!
//! One range only, in the three forms RFC 9110 gives: `bytes=a-b`, `bytes=a-` and
//! `bytes=-n`. Clients resume interrupted downloads with it; several ranges in one request
//! (multipart/byteranges) are refused, since no client of ours asks for them.

use std::ops::Range;

/// Why a `Range` header is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeError {
    /// Not one `bytes=` range in a form we read: answer 400 with [`RangeError::message`].
    Unsupported,
    /// A valid range that starts past the end of the file (or asks for its last 0 bytes):
    /// answer 416 with `Content-Range: bytes */{size}`.
    NotSatisfiable,
}

impl RangeError {
    /// A sentence for the caller.
    pub fn message(self) -> &'static str {
        match self {
            Self::Unsupported => {
                "Unsupported Range header: send one range, `bytes=a-b`, `bytes=a-` or `bytes=-n`."
            }
            Self::NotSatisfiable => "The range starts past the end of the file.",
        }
    }
}

/// The byte span (end exclusive) a `Range` header value asks for in a file of `size` bytes.
/// An end past the file is cut to the file, as RFC 9110 says; the span returned is never
/// empty and always inside `0..size`.
pub fn parse_range(value: &str, size: u64) -> Result<Range<u64>, RangeError> {
    let unsupported = RangeError::Unsupported;
    let spec = value
        .trim()
        .strip_prefix("bytes=")
        .ok_or(unsupported)?
        .trim();
    let (first, last) = spec.split_once('-').ok_or(unsupported)?;
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| {
        // `u64::from_str` takes a leading `+`, which RFC 9110's 1*DIGIT does not.
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unsupported);
        }
        s.parse::<u64>().map_err(|_| unsupported)
    };
    let range = match (first.is_empty(), last.is_empty()) {
        (false, false) => {
            let (a, b) = (number(first)?, number(last)?);
            if a > b {
                return Err(unsupported);
            }
            a..b.saturating_add(1).min(size)
        }
        (false, true) => number(first)?..size,
        (true, false) => {
            let n = number(last)?;
            if n == 0 {
                return Err(RangeError::NotSatisfiable);
            }
            size.saturating_sub(n)..size
        }
        (true, true) => return Err(unsupported),
    };
    if range.start >= size {
        return Err(RangeError::NotSatisfiable);
    }
    Ok(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_are_read_and_cut_to_the_file() {
        assert_eq!(parse_range("bytes=0-99", 1000), Ok(0..100));
        assert_eq!(parse_range(" bytes= 10 - 19 ", 1000), Ok(10..20));
        assert_eq!(parse_range("bytes=990-5000", 1000), Ok(990..1000));
        assert_eq!(parse_range("bytes=900-", 1000), Ok(900..1000));
        assert_eq!(parse_range("bytes=-100", 1000), Ok(900..1000));
        assert_eq!(parse_range("bytes=-5000", 1000), Ok(0..1000));
    }

    #[test]
    fn other_forms_are_refused_with_the_reason() {
        for bad in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=5",
            "bytes=9-3",
            "bytes=0-1,5-6",
            "bytes=+1-2",
            "bytes=a-b",
            "items=0-1",
            "bytes=18446744073709551616-",
        ] {
            assert_eq!(
                parse_range(bad, 1000),
                Err(RangeError::Unsupported),
                "{bad:?}"
            );
        }
        for past in ["bytes=1000-", "bytes=1000-2000", "bytes=-0"] {
            assert_eq!(
                parse_range(past, 1000),
                Err(RangeError::NotSatisfiable),
                "{past:?}"
            );
        }
        assert_eq!(parse_range("bytes=0-", 0), Err(RangeError::NotSatisfiable));
    }
}
