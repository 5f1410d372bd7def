//! The settings file of an installed server, `/etc/sealdrop/sealdrop.env`, which the Debian
//! package's systemd unit reads with `EnvironmentFile=`. `sealdrop admin` reads it too
//! (`--env-file`), so that it reaches the same database and store as the running service.
//!
//! The file is read the way systemd reads it, for the forms the packaged file documents:
//! `KEY=value` lines, blank lines and lines starting with `#` or `;` ignored, whitespace
//! around the key and the value dropped, a value in single quotes taken as is, a value in
//! double quotes with `\"`, `\\`, `` \` `` and `\$` unescaped, and a backslash outside quotes
//! taking the next character literally. Anything else (a line continuation, text after a
//! closing quote, a key that is not a variable name) is refused with its line number rather
//! than read differently from systemd.

use std::path::Path;

use anyhow::{bail, Context};

/// Where the Debian package installs the settings file.
pub const DEFAULT_PATH: &str = "/etc/sealdrop/sealdrop.env";

/// Reads the settings file for `sealdrop admin`: `explicit` when given (it must exist), else
/// [`DEFAULT_PATH`] when it exists. Each variable the process environment does not already
/// hold is set, so the environment and then flags still win, as for `serve`. Returns whether
/// a file was read.
///
/// Call it before any thread starts: it changes the process environment.
pub fn load_for_admin(explicit: Option<&Path>) -> anyhow::Result<bool> {
    let path = match explicit {
        Some(path) => path,
        None if Path::new(DEFAULT_PATH).exists() => Path::new(DEFAULT_PATH),
        None => return Ok(false),
    };
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading the settings file {} (--env-file, SEALDROP_ENV_FILE; the installed file \
             is readable by root and the sealdrop group: run `sudo -u sealdrop sealdrop admin ...`, \
             or pass --env-file /dev/null to read none)",
            path.display()
        )
    })?;
    let pairs = parse(&text).with_context(|| format!("in {}", path.display()))?;
    for (key, value) in pairs {
        if std::env::var_os(&key).is_none() {
            // Single-threaded here (see above), so nothing reads the environment meanwhile.
            std::env::set_var(key, value);
        }
    }
    Ok(true)
}

/// The `KEY=value` pairs of an environment file, in file order.
pub fn parse(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            bail!("line {number}: expected KEY=value");
        };
        let key = key.trim();
        let mut chars = key.chars();
        let valid_key = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_key {
            bail!("line {number}: {key:?} is not a variable name");
        }
        let value = parse_value(value.trim())
            .map_err(|why| anyhow::anyhow!("line {number} ({key}): {why}"))?;
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

fn parse_value(raw: &str) -> Result<String, &'static str> {
    if raw.ends_with('\\') && !raw.ends_with("\\\\") {
        return Err("a line continuation (a trailing backslash) is not supported here; put the value on one line");
    }
    let quoted = |quote: char| raw.len() >= 2 && raw.starts_with(quote) && raw.ends_with(quote);
    if raw.starts_with('\'') {
        if !quoted('\'') {
            return Err("a value that starts with ' must end with it");
        }
        let inner = &raw[1..raw.len() - 1];
        if inner.contains('\'') {
            return Err("a single-quoted value cannot hold a single quote");
        }
        return Ok(inner.to_owned());
    }
    if raw.starts_with('"') {
        if !quoted('"') {
            return Err("a value that starts with \" must end with it");
        }
        let mut out = String::new();
        let mut chars = raw[1..raw.len() - 1].chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(next @ ('"' | '\\' | '`' | '$')) => out.push(next),
                    Some(next) => {
                        out.push('\\');
                        out.push(next);
                    }
                    None => return Err("a double-quoted value cannot end with a backslash"),
                },
                '"' => {
                    return Err("a double quote inside a double-quoted value must be written \\\"")
                }
                c => out.push(c),
            }
        }
        return Ok(out);
    }
    if raw.contains(['"', '\'']) {
        return Err("quotes are only understood around the whole value; put it in single quotes");
    }
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).expect("a valid file")
    }

    fn one(text: &str) -> String {
        let mut all = pairs(text);
        assert_eq!(all.len(), 1, "{text:?}");
        all.remove(0).1
    }

    #[test]
    fn comments_blank_lines_and_spaces_are_skipped() {
        let text = "# a comment\n\n; another\n  SEALDROP_LISTEN = 127.0.0.1:9000  \n#DATABASE_URL=x\nSEALDROP_S3_PREFIX=\n";
        assert_eq!(
            pairs(text),
            [
                ("SEALDROP_LISTEN".to_owned(), "127.0.0.1:9000".to_owned()),
                ("SEALDROP_S3_PREFIX".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn values_keep_what_systemd_keeps() {
        assert_eq!(one("A=postgres://u:p@h/db?x=1"), "postgres://u:p@h/db?x=1");
        assert_eq!(one("A=value # not a comment"), "value # not a comment");
        assert_eq!(one("A=' spaced \\ value '"), " spaced \\ value ");
        assert_eq!(
            one(r#"A="say \"hi\" \\ \$HOME \n""#),
            r#"say "hi" \ $HOME \n"#
        );
        assert_eq!(one(r"A=back\slash"), "backslash");
    }

    #[test]
    fn forms_systemd_would_read_differently_are_refused_with_the_line() {
        for (text, line) in [
            ("A=1\nB=one \\\n", 2),
            ("A=1\nnot a setting\n", 2),
            ("A=1\n1B=2\n", 2),
            ("A='open\n", 1),
            ("A='x'y\n", 1),
            ("A=mid\"quote\n", 1),
            ("export A=1\n", 1),
        ] {
            let error = format!("{:#}", parse(text).expect_err(text));
            assert!(error.contains(&format!("line {line}")), "{text:?}: {error}");
        }
    }

    #[test]
    fn the_packaged_file_parses_and_names_the_installed_folders() {
        let text = include_str!("../../packaging/deb/sealdrop.env");
        let settings = pairs(text);
        for (key, value) in [
            ("SEALDROP_DATA_DIR", "/var/lib/sealdrop"),
            ("SEALDROP_WEB_DIR", "/usr/share/sealdrop/web"),
            ("SEALDROP_WASM_DIR", "/usr/share/sealdrop/pkg"),
            ("SEALDROP_AGENT_APP_DIR", "/usr/share/sealdrop/web/sidebar"),
        ] {
            assert!(
                settings.contains(&(key.to_owned(), value.to_owned())),
                "{key}={value} not in {settings:?}"
            );
        }
    }
}
