//! Web origins (`scheme://host[:port]`) as the browser sends them in `Origin`, and as an
//! admin types them into `help_center_origins`.

use std::fmt;

use url::Url;

/// A serialized web origin: lower-case scheme and host, the port only when it is not the
/// scheme's default, no path and no trailing slash (`https://help.acme.com`). Two values are
/// the same origin exactly when their texts are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebOrigin(String);

impl WebOrigin {
    /// Parses an `Origin` header value or a configured origin. Accepts a trailing slash in
    /// configured values (`https://help.acme.com/`) but nothing past it; refuses `null`,
    /// opaque origins and anything that is not `http`/`https`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("null") || text.len() > 2048 {
            return None;
        }
        let url = Url::parse(text).ok()?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || !url.username().is_empty()
            || url.password().is_some()
            || !(url.path().is_empty() || url.path() == "/")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return None;
        }
        // `Url` already lower-cases scheme and host and drops default ports.
        let serialized = url.origin().ascii_serialization();
        (serialized != "null").then_some(Self(serialized))
    }

    /// The origin as text (what goes into `Access-Control-Allow-Origin`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The stored `help_center_origins` as origins, skipping (and logging) entries that are not
/// origins, so one typo does not lock out the others.
pub fn parse_origin_list(values: &[String]) -> Vec<WebOrigin> {
    values
        .iter()
        .filter_map(|v| {
            let origin = WebOrigin::parse(v);
            if origin.is_none() {
                tracing::warn!(value = %v, "ignoring a Help Center origin that is not scheme://host[:port]");
            }
            origin
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> Option<String> {
        WebOrigin::parse(text).map(|o| o.0)
    }

    #[test]
    fn origins_are_normalized() {
        assert_eq!(
            origin("https://Help.Acme.com").as_deref(),
            Some("https://help.acme.com")
        );
        assert_eq!(
            origin("https://help.acme.com/").as_deref(),
            Some("https://help.acme.com")
        );
        assert_eq!(
            origin("https://help.acme.com:443").as_deref(),
            Some("https://help.acme.com")
        );
        assert_eq!(
            origin("http://127.0.0.1:8090").as_deref(),
            Some("http://127.0.0.1:8090")
        );
    }

    #[test]
    fn non_origins_are_refused() {
        for bad in [
            "",
            "null",
            "help.acme.com",
            "ftp://help.acme.com",
            "https://help.acme.com/hc",
            "https://u:p@help.acme.com",
            "https://help.acme.com?x",
            "javascript:alert(1)",
        ] {
            assert_eq!(origin(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_bad_entry_does_not_hide_the_good_ones() {
        let stored = [
            "https://help.acme.com",
            "not an origin",
            "http://localhost:8090/",
        ]
        .map(String::from);
        let list = parse_origin_list(&stored);
        assert_eq!(
            list.iter().map(WebOrigin::as_str).collect::<Vec<_>>(),
            ["https://help.acme.com", "http://localhost:8090"]
        );
    }
}
