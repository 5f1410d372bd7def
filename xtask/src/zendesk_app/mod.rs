//! `cargo xtask check-app` and `cargo xtask package-app`: the Zendesk app in `agent-app/`.
//!
//! `zcli apps:validate` and `zcli apps:package` need a Zendesk login, so this module applies
//! the same rules offline. They are Zendesk's own, read from the `zendesk_apps_support` gem
//! (`lib/zendesk_apps_support/validations/*.rb`, which the Zendesk upload runs): each check
//! below names the validator and the error key it mirrors. A few rules are sealdrop's own and
//! say so (`sealdrop:`): the sidebar's strings (`web/sidebar/`) must all be in its
//! `strings/en.json`, and a `{{setting.x}}` in a location URL must name a declared parameter.
//!
//! The package is the zip `zcli apps:package` uploads: `manifest.json`, `translations/*.json`
//! and `assets/**` at the root of the archive, written to `agent-app/tmp/app-{version}.zip`
//! (zcli writes `tmp/app-{timestamp}.zip`). It holds only what Zendesk uses: the sidebar page
//! itself is served by the sealdrop server (it answers Zendesk's signed POST), so its scripts
//! are not in the package. Symlinks are refused, as Zendesk's marketplace validation does.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// `AppVersion::TO_BE_SERVED` (app_version.rb): DEPRECATED, SUNSETTING, CURRENT.
const SERVED_VERSIONS: &[&str] = &["0.5", "1.0", "2.0"];
/// `AppVersion::VALID_FOR_CREATE`: what a new app may target.
const CREATE_VERSIONS: &[&str] = &["2.0"];
/// `Manifest::Parameter::TYPES` (manifest/parameter.rb).
const PARAMETER_TYPES: &[&str] = &[
    "text",
    "password",
    "checkbox",
    "url",
    "number",
    "multiline",
    "hidden",
];
/// `Validations::Manifest::OAUTH_REQUIRED_FIELDS`.
const OAUTH_REQUIRED_FIELDS: &[&str] = &[
    "client_id",
    "client_secret",
    "authorize_uri",
    "access_token_uri",
];
/// `Secrets::SECRET_KEYWORDS` (secrets.rb): any of these anywhere in a text file warns.
const SECRET_KEYWORDS: &[&str] = &[
    "pass",
    "password",
    "secret",
    "secretToken",
    "secret_token",
    "auth_key",
    "authKey",
    "auth_pass",
    "authPass",
    "auth_user",
    "AuthUser",
    "username",
    "api_key",
];
/// `Secrets::APPLICATION_SECRETS` (secrets.rb): a match in a text file warns.
const APPLICATION_SECRETS: &[(&str, &str)] = &[
    ("Slack Token", r"(xox[p|b|o|a]-*.[a-z0-9])"),
    ("RSA Private Key", r"-----BEGIN RSA PRIVATE KEY-----"),
    (
        "SSH Private Key (OpenSSH)",
        r"-----BEGIN OPENSSH PRIVATE KEY-----",
    ),
    ("SSH Private Key (DSA)", r"-----BEGIN DSA PRIVATE KEY-----"),
    ("SSH Private Key (EC)", r"-----BEGIN EC PRIVATE KEY-----"),
    (
        "PGP Private Key Block",
        r"-----BEGIN PGP PRIVATE KEY BLOCK-----",
    ),
    (
        "Generic Secret",
        r#"(?m)^([sS][eE][cC][rR][eE][tT]( [:"=-]|[:"=-]).*.[0-9a-zA-Z+_.-]{4,156})"#,
    ),
    (
        "App Key",
        r#"([aA][pP][pP][-_][kK][eE][yY]( [:"=-]|[:"=-]).*.[0-9a-zA-Z+_.-]{4,156})"#,
    ),
    (
        "App Secret",
        r#"([aA][pP][pP][-_][sS][eE][cC][rR][eE][tT]( [:"=-]|[:"=-]).*.[0-9a-zA-Z+_.-]{4,156})"#,
    ),
    (
        "Token Key",
        r#"([tT][oO][kK][eE][nN][-_][kK][eE][yY]( [:"=-]|[:"=-]).*.[0-9a-zA-Z+_.-]{4,156})"#,
    ),
    (
        "Token Secret",
        r#"([tT][oO][kK][eE][nN][-_][sS][eE][cC][rR][eE][tT]( [:"=-]|[:"=-]).*.[0-9a-zA-Z+_.-]{4,156})"#,
    ),
    (
        "Help Center Private Key",
        r#"([pP][rR][iI][vV][aA][tT][eE][-_][kK][eE][yY]( [:"=-]|[:"=-]).*.[0-9a-zA-Z+_.-]{4,156})"#,
    ),
    (
        "Password",
        r"([pP][aA][sS][sS][wW][oO][rR][dD].*.[0-9a-zA-Z+_.-]{4,156})",
    ),
    (
        "Token",
        r#"([tT][oO][kK][eE][nN]( [:"=-]|[:"=-]).*.[0-9a-zA-Z+_.-]{4,156})"#,
    ),
];
/// Text files the secret scan reads (`Package#text_files`).
const TEXT_EXTENSIONS: &[&str] = &[
    "html",
    "htm",
    "js",
    "jsx",
    "ts",
    "css",
    "scss",
    "json",
    "txt",
    "md",
    "svg",
    "hbs",
    "handlebars",
    "xml",
    "yml",
    "yaml",
];
/// `SecureSettings::SECURABLE_KEYWORDS` (matched case-insensitively in parameter names).
const SECURABLE_KEYWORDS: &[&str] = &["token", "key", "pwd", "password"];
/// Locations per product host (location.rb `LOCATIONS_AVAILABLE`).
const LOCATIONS: &[(&str, &[&str])] = &[
    (
        "support",
        &[
            "top_bar",
            "nav_bar",
            "ticket_sidebar",
            "new_ticket_sidebar",
            "user_sidebar",
            "organization_sidebar",
            "background",
            "modal",
            "ticket_editor",
            "system_top_bar",
            "ticket_module",
        ],
    ),
    ("chat", &["chat_sidebar", "background"]),
    ("standalone_chat", &["nav_bar", "system_top_bar"]),
    (
        "sell",
        &[
            "top_bar",
            "note_editor",
            "call_log_editor",
            "email_editor",
            "person_card",
            "deal_card",
            "lead_card",
            "modal",
            "background",
            "dashboard",
        ],
    ),
];
/// Translation keys a private app's `en.json` must have under `app` (translations.rb).
const PRIVATE_APP_KEYS: &[&str] = &["name"];
/// ... and a public (marketplace) app's.
const PUBLIC_APP_KEYS: &[&str] = &[
    "name",
    "short_description",
    "installation_instructions",
    "long_description",
];

/// What a check found: errors fail it; warnings are Zendesk's warnings, printed.
#[derive(Debug, Default)]
pub struct Report {
    /// `key: sentence` per problem.
    pub errors: Vec<String>,
    /// Zendesk's warnings (secure settings).
    pub warnings: Vec<String>,
}

impl Report {
    fn error(&mut self, key: &str, text: impl Into<String>) {
        self.errors.push(format!("{key}: {}", text.into()));
    }

    fn warn(&mut self, key: &str, text: impl Into<String>) {
        self.warnings.push(format!("{key}: {}", text.into()));
    }

    /// Whether an error with this key was found.
    #[cfg(test)]
    fn has(&self, key: &str) -> bool {
        self.errors
            .iter()
            .any(|e| e.starts_with(&format!("{key}:")))
    }
}

/// `cargo xtask check-app [DIR]` and `cargo xtask package-app [DIR]`.
pub fn main(command: &str, args: &[String]) -> Result<()> {
    let dir = match args.first() {
        Some(d) if d == "--help" || d == "-h" => {
            println!("cargo xtask {command} [DIR]   (default: agent-app/)");
            return Ok(());
        }
        Some(d) => PathBuf::from(d),
        None => crate::proc::repo_root().join("agent-app"),
    };
    let report = check(&dir)?;
    for w in &report.warnings {
        println!("warning: {w}");
    }
    for e in &report.errors {
        println!("error: {e}");
    }
    if !report.errors.is_empty() {
        bail!(
            "{}: {} problem(s) Zendesk would refuse the app for",
            dir.display(),
            report.errors.len()
        );
    }
    println!(
        "xtask: {} passes the Zendesk app checks ({} warning(s))",
        dir.display(),
        report.warnings.len()
    );
    if command == "package-app" {
        let (zip, files) = package(&dir)?;
        println!("xtask: wrote {} ({files} files)", zip.display());
    }
    Ok(())
}

// ---- files -----------------------------------------------------------------------------------

/// The app's files, relative with `/`, as zcli packages them: no dotfiles, no `tmp/`.
fn app_files(dir: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<String>) -> Result<()> {
        let here = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        };
        let mut entries: Vec<_> = std::fs::read_dir(&here)
            .with_context(|| format!("reading {}", here.display()))?
            .collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.')
                || (rel.is_empty() && (name == "tmp" || name == "node_modules"))
            {
                continue;
            }
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            // `metadata` follows symlinks: a linked file is packaged as its content.
            let meta = std::fs::metadata(entry.path())
                .with_context(|| format!("reading {}", entry.path().display()))?;
            if meta.is_dir() {
                walk(root, &path, out)?;
            } else {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    Ok(out)
}

// ---- the check -------------------------------------------------------------------------------

/// Runs every check on the app in `dir`.
pub fn check(dir: &Path) -> Result<Report> {
    let files = app_files(dir)?;
    let has = |p: &str| files.iter().any(|f| f == p);
    let mut r = Report::default();

    // validations/manifest.rb `call`: the manifest at the root, not nested, and JSON.
    if !has("manifest.json") {
        match files
            .iter()
            .find(|f| f.matches('/').count() == 1 && f.ends_with("/manifest.json"))
        {
            Some(nested) => r.error(
                "nested_manifest",
                format!("manifest.json is in {nested}; it must be at the root"),
            ),
            None => r.error("missing_manifest", "there is no manifest.json"),
        }
        return Ok(r);
    }
    let text = std::fs::read_to_string(dir.join("manifest.json"))?;
    let manifest: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            r.error(
                "manifest_not_json",
                format!("manifest.json is not JSON: {e}"),
            );
            return Ok(r);
        }
    };
    let Some(m) = manifest.as_object() else {
        r.error("manifest_not_json", "manifest.json is not a JSON object");
        return Ok(r);
    };

    let requirements_only = m.get("requirementsOnly") == Some(&Value::Bool(true));
    let marketing_only = m.get("marketingOnly") == Some(&Value::Bool(true));
    check_required_and_types(m, &mut r);
    check_oauth(m, &mut r);
    check_default_locale(m, &files, &mut r);
    check_urls(m, &mut r);
    let params = check_parameters(m, marketing_only, &mut r);
    if requirements_only || marketing_only {
        if m.get("location")
            .is_some_and(|l| l.as_object().is_some_and(|o| !o.is_empty()))
        {
            r.error(
                "no_location_required",
                "requirements-only and marketing-only apps have no location",
            );
        }
        if m.contains_key("frameworkVersion") {
            r.error(
                "no_framework_version_required",
                "requirements-only and marketing-only apps have no frameworkVersion",
            );
        }
    } else {
        check_locations(m, &files, &params, &mut r);
        check_framework_version(m, &mut r);
    }
    // ban_no_template: iframe-only (v2) apps cannot use noTemplate.
    if m.contains_key("noTemplate") {
        r.error(
            "no_template_deprecated_in_v2",
            "noTemplate is not allowed in a v2 app",
        );
    }
    // validations/source.rb: an iframe-only app has no app.js, templates or lib.
    for f in &files {
        if f == "app.js" || f.starts_with("templates/") || f.starts_with("lib/") {
            r.error(
                "no_app_js_required",
                format!("{f} is not allowed in an iframe-only (v2) app"),
            );
        }
    }
    check_secure_settings(m, &mut r);
    check_translations(dir, &files, m, &params, &mut r)?;
    // sealdrop: the logos the Zendesk admin centre shows.
    for logo in ["assets/logo.png", "assets/logo-small.png"] {
        if !has(logo) {
            r.error("missing_logo", format!("{logo} is missing"));
        }
    }
    check_secrets(dir, &files, &mut r)?;
    for link in symlinks(dir)? {
        r.error(
            "symlink_in_app",
            format!(
                "{link} is a symlink; Zendesk's marketplace validation refuses symlinks in an app"
            ),
        );
    }
    check_sidebar_strings(&crate::proc::repo_root().join("web/sidebar"), &mut r)?;
    Ok(r)
}

/// secrets.rb: text files that look like they hold a secret are warned about.
fn check_secrets(dir: &Path, files: &[String], r: &mut Report) -> Result<()> {
    let patterns: Vec<(&str, regex::Regex)> = APPLICATION_SECRETS
        .iter()
        .map(|(name, re)| Ok((*name, regex::Regex::new(re)?)))
        .collect::<Result<_>>()?;
    let mut generic = Vec::new();
    for f in files {
        let text_file = Path::new(f)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| TEXT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if !text_file {
            continue;
        }
        let contents = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        for (name, re) in &patterns {
            if re.is_match(&contents) {
                r.warn(
                    "application_secret",
                    format!("{f} may hold a secret ({name})"),
                );
            }
        }
        if SECRET_KEYWORDS.iter().any(|k| contents.contains(k)) {
            generic.push(f.as_str());
        }
    }
    if !generic.is_empty() {
        r.warn(
            "generic_secrets",
            format!(
                "{} may hold secrets (a word like \"secret\" or \"pass\")",
                generic.join(", ")
            ),
        );
    }
    Ok(())
}

/// Symlinks anywhere in the app folder (dotfiles and `tmp/` aside), relative with `/`.
fn symlinks(dir: &Path) -> Result<Vec<String>> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<()> {
        for entry in std::fs::read_dir(dir.join(rel))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.')
                || (rel.is_empty() && (name == "tmp" || name == "node_modules"))
            {
                continue;
            }
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let kind = entry.file_type()?;
            if kind.is_symlink() {
                out.push(path);
            } else if kind.is_dir() {
                walk(dir, &path, out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

/// manifest.rb `missing_keys_error`, `type_checks`, `string_error`, `boolean_error`.
fn check_required_and_types(m: &Map<String, Value>, r: &mut Report) {
    let missing: Vec<&str> = ["author", "defaultLocale"]
        .into_iter()
        .filter(|k| m.get(*k).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        r.error(
            "manifest_keys.missing",
            format!("missing required field(s): {}", missing.join(", ")),
        );
    }
    for field in [
        "defaultLocale",
        "version",
        "frameworkVersion",
        "remoteInstallationURL",
        "termsConditionsURL",
        "googleAnalyticsCode",
    ] {
        if let Some(v) = m.get(field) {
            if !v.is_string() && !v.is_null() {
                r.error(
                    "unacceptable_string",
                    format!("{field} must be a string, not {v}"),
                );
            }
        }
    }
    if let Some(author) = m.get("author") {
        match author.as_object() {
            Some(a) => {
                for field in ["name", "email", "url"] {
                    if a.get(field).is_some_and(|v| !v.is_string() && !v.is_null()) {
                        r.error(
                            "unacceptable_string",
                            format!("author {field} must be a string"),
                        );
                    }
                }
            }
            None => r.error(
                "unacceptable_hash",
                "author must be an object with name, email and url",
            ),
        }
    }
    for field in [
        "requirementsOnly",
        "marketingOnly",
        "singleInstall",
        "signedUrls",
        "private",
    ] {
        if let Some(v) = m.get(field) {
            if !v.is_boolean() {
                r.error(
                    "unacceptable_boolean",
                    format!("{field} must be true or false, not {v}"),
                );
            }
        }
    }
    if m.get("experiments").is_some_and(|v| !v.is_object()) {
        r.error("unacceptable_hash", "experiments must be an object");
    }
    if let Some(list) = m.get("domainWhitelist") {
        if !list
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string))
        {
            r.error(
                "unacceptable_array_of_strings",
                "domainWhitelist must be an array of strings",
            );
        }
    }
}

/// manifest.rb `oauth_error`.
fn check_oauth(m: &Map<String, Value>, r: &mut Report) {
    let Some(oauth) = m.get("oauth") else { return };
    let missing: Vec<&str> = OAUTH_REQUIRED_FIELDS
        .iter()
        .copied()
        .filter(|k| {
            oauth
                .get(*k)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        })
        .collect();
    if !missing.is_empty() {
        r.error(
            "oauth_keys.missing",
            format!("oauth lacks {}", missing.join(", ")),
        );
    }
    let has_oauth_param = m
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| {
            ps.iter()
                .any(|p| p.get("type").and_then(Value::as_str) == Some("oauth"))
        });
    if !has_oauth_param {
        r.error(
            "oauth_parameter_required",
            "an oauth section needs a parameter of type oauth",
        );
    }
}

/// translations.rb `VALID_LOCALE`: `^[a-z]{2}(-\w{2,3})?$`.
fn valid_locale(locale: &str) -> bool {
    let (lang, region) = match locale.split_once('-') {
        Some((l, r)) => (l, Some(r)),
        None => (locale, None),
    };
    lang.len() == 2
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| {
            (2..=3).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

/// manifest.rb `default_locale_error`.
fn check_default_locale(m: &Map<String, Value>, files: &[String], r: &mut Report) {
    let Some(locale) = m.get("defaultLocale").and_then(Value::as_str) else {
        return;
    };
    if !valid_locale(locale) {
        r.error(
            "invalid_default_locale",
            format!("defaultLocale {locale:?} is not a locale like en or pt-br"),
        );
    } else if !files
        .iter()
        .any(|f| *f == format!("translations/{locale}.json"))
    {
        r.error(
            "missing_translation_file",
            format!("defaultLocale is {locale} but translations/{locale}.json is missing"),
        );
    }
}

/// manifest.rb `validate_urls`: author url and terms-and-conditions url.
fn check_urls(m: &Map<String, Value>, r: &mut Report) {
    let mut check = |label: &str, v: Option<&Value>| {
        if let Some(url) = v.and_then(Value::as_str) {
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && url.len() > "https://".len();
            if !ok {
                r.error(
                    "invalid_url",
                    format!("{label} {url:?} is not an http(s) URL"),
                );
            }
        }
    };
    check("termsConditionsURL", m.get("termsConditionsURL"));
    check("author url", m.get("author").and_then(|a| a.get("url")));
}

/// A parameter as `Manifest::Parameter` reads it.
#[derive(Debug)]
struct Parameter {
    name: String,
    kind: String,
    secure: bool,
    has_default: bool,
    has_scopes: bool,
}

/// manifest.rb `validate_parameters`.
fn check_parameters(
    m: &Map<String, Value>,
    marketing_only: bool,
    r: &mut Report,
) -> Vec<Parameter> {
    let raw = match m.get("parameters") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(a)) => a,
        Some(other) => {
            r.error(
                "parameters_not_an_array",
                format!("parameters must be an array, not {other}"),
            );
            return Vec::new();
        }
    };
    if marketing_only && !raw.is_empty() {
        r.error(
            "no_parameters_required",
            "marketing-only apps have no parameters",
        );
    }
    let mut params = Vec::new();
    for p in raw {
        let Some(o) = p.as_object() else {
            r.error(
                "unacceptable_hash",
                format!("parameter {p} is not an object"),
            );
            continue;
        };
        let name = o
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        for flag in ["required", "secure"] {
            if o.get(flag).is_some_and(|v| !v.is_boolean()) {
                r.error(
                    "unacceptable_boolean",
                    format!("parameters.{name}.{flag} must be true or false"),
                );
            }
        }
        params.push(Parameter {
            kind: o
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("text")
                .to_owned(),
            secure: o.get("secure") == Some(&Value::Bool(true)),
            has_default: o.contains_key("default"),
            has_scopes: o
                .get("scopes")
                .and_then(Value::as_array)
                .is_some_and(|s| !s.is_empty()),
            name,
        });
        let last = params.last().expect("a parameter was just pushed");
        if o.get("required") == Some(&Value::Bool(true)) && last.kind == "hidden" {
            r.error(
                "invalid_hidden_parameter",
                format!("hidden parameter {} cannot be required", last.name),
            );
        }
    }
    let mut seen = BTreeSet::new();
    let dups: BTreeSet<&str> = params
        .iter()
        .filter(|p| !seen.insert(&p.name))
        .map(|p| p.name.as_str())
        .collect();
    if !dups.is_empty() {
        r.error(
            "duplicate_parameters",
            format!(
                "parameters declared twice: {}",
                dups.into_iter().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    let bad: Vec<&str> = params
        .iter()
        .filter(|p| !PARAMETER_TYPES.contains(&p.kind.as_str()) && p.kind != "oauth")
        .map(|p| p.kind.as_str())
        .collect();
    if !bad.is_empty() {
        r.error(
            "invalid_type_parameter",
            format!("unknown parameter type(s): {}", bad.join(", ")),
        );
    }
    if params.iter().filter(|p| p.kind == "oauth").count() > 1 {
        r.error("too_many_oauth_parameters", "at most one oauth parameter");
    }
    if params.iter().any(|p| p.kind == "oauth" && p.secure) {
        r.error(
            "oauth_parameter_cannot_be_secure",
            "an oauth parameter cannot be secure",
        );
    }
    if params.iter().any(|p| p.name == "name") {
        r.error(
            "name_as_parameter_name",
            "a parameter cannot be called name",
        );
    }
    params
}

/// manifest.rb `validate_location` (`missing_location_error`, `invalid_location_error`,
/// `invalid_location_uri_error`, `invalid_v1_location`).
fn check_locations(m: &Map<String, Value>, files: &[String], params: &[Parameter], r: &mut Report) {
    let Some(hosts) = m
        .get("location")
        .and_then(Value::as_object)
        .filter(|o| !o.is_empty())
    else {
        r.error(
            "manifest_keys.missing",
            "missing required field(s): location",
        );
        return;
    };
    let v1 = m
        .get("frameworkVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("0.") || v.starts_with("1."));
    for (host, locations) in hosts {
        let Some(known) = LOCATIONS.iter().find(|(h, _)| h == host).map(|(_, l)| *l) else {
            r.error("invalid_host", format!("{host} is not a Zendesk product"));
            continue;
        };
        let Some(locations) = locations.as_object() else {
            r.error(
                "invalid_location",
                format!("location.{host} must map location names to options"),
            );
            continue;
        };
        for (name, options) in locations {
            if !known.contains(&name.as_str()) {
                r.error(
                    "invalid_location",
                    format!("{name} is not a {host} location"),
                );
                continue;
            }
            if v1
                && host == "support"
                && ["modal", "ticket_editor", "ticket_module"].contains(&name.as_str())
            {
                r.error(
                    "invalid_v1_location",
                    format!("{name} needs frameworkVersion 2.0"),
                );
            }
            let url = match options {
                Value::String(s) => Some(s.as_str()),
                Value::Object(o) => {
                    if o.get("flexible")
                        .is_some_and(|v| !v.is_boolean() && !v.is_null())
                    {
                        r.error(
                            "invalid_location_flexible_type",
                            format!("{host}.{name}.flexible must be true or false"),
                        );
                    }
                    o.get("url").and_then(Value::as_str)
                }
                _ => None,
            };
            match url {
                None | Some("") => {
                    let auto_load = options.get("autoLoad") != Some(&Value::Bool(false));
                    if auto_load {
                        r.error("blank_location_uri", format!("{host}.{name} has no url"));
                    }
                }
                Some(u) if u.contains("{{setting.") => check_setting_url(host, name, u, params, r),
                Some(u) => {
                    let ok = if u.contains("://") {
                        u.starts_with("https://") || u.starts_with("http://localhost")
                    } else {
                        u.starts_with("assets/")
                            && files
                                .iter()
                                .any(|f| f == u.split(['?', '#']).next().unwrap_or(u))
                    };
                    if !ok {
                        r.error(
                            "invalid_location_uri",
                            format!("{host}.{name} url {u:?} must be https, localhost, or a file under assets/"),
                        );
                    }
                }
            }
        }
    }
}

/// sealdrop: a `{{setting.x}}` placeholder must name a declared parameter (Zendesk accepts any
/// such URL unchecked, and the app would then load from an empty address).
fn check_setting_url(host: &str, name: &str, url: &str, params: &[Parameter], r: &mut Report) {
    let mut rest = url;
    while let Some(at) = rest.find("{{setting.") {
        let after = &rest[at + "{{setting.".len()..];
        let Some(end) = after.find("}}") else {
            r.error(
                "sealdrop.setting_placeholder",
                format!("{host}.{name} url has an unclosed {{{{setting."),
            );
            return;
        };
        let setting = &after[..end];
        if !params.iter().any(|p| p.name == setting) {
            r.error(
                "sealdrop.setting_placeholder",
                format!("{host}.{name} url uses setting {setting:?}, which is no parameter"),
            );
        }
        rest = &after[end..];
    }
}

/// manifest.rb `missing_framework_version`, `invalid_version_error`, plus `VALID_FOR_CREATE`.
fn check_framework_version(m: &Map<String, Value>, r: &mut Report) {
    match m.get("frameworkVersion").and_then(Value::as_str) {
        None => r.error(
            "manifest_keys.missing",
            "missing required field(s): frameworkVersion",
        ),
        Some(v) if !SERVED_VERSIONS.contains(&v) => r.error(
            "invalid_version",
            format!(
                "frameworkVersion {v:?} is not served; available: {}",
                SERVED_VERSIONS.join(", ")
            ),
        ),
        Some(v) if !CREATE_VERSIONS.contains(&v) => r.error(
            "invalid_version",
            format!("frameworkVersion {v:?} cannot be used by a new app; use 2.0"),
        ),
        Some(_) => {}
    }
}

/// validations/secure_settings.rb (Zendesk warns; so does this).
fn check_secure_settings(m: &Map<String, Value>, r: &mut Report) {
    let params = m
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let parsed: Vec<Parameter> = params
        .iter()
        .filter_map(Value::as_object)
        .map(|o| Parameter {
            name: o
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            kind: o
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("text")
                .to_owned(),
            secure: o.get("secure") == Some(&Value::Bool(true)),
            has_default: o.contains_key("default"),
            has_scopes: o
                .get("scopes")
                .and_then(Value::as_array)
                .is_some_and(|s| !s.is_empty()),
        })
        .collect();
    for p in &parsed {
        let lower = p.name.to_lowercase();
        if SECURABLE_KEYWORDS.iter().any(|k| lower.contains(k))
            && (p.kind == "text" || p.kind == "password")
            && !p.secure
        {
            r.warn(
                "insecure_token_parameter_in_manifest",
                format!("parameter {} looks like a secret but is not secure", p.name),
            );
        }
        if p.has_default && (p.secure || p.kind == "hidden") {
            r.warn(
                "default_secure_or_hidden_parameter_in_manifest",
                format!("secure or hidden parameter {} has a default", p.name),
            );
        }
        if p.secure && !p.has_scopes {
            r.warn(
                "secure_parameters_with_no_scopes_in_manifest",
                format!("secure parameter {} has no scopes", p.name),
            );
        }
    }
}

/// validations/translations.rb, and labels for every parameter.
fn check_translations(
    dir: &Path,
    files: &[String],
    m: &Map<String, Value>,
    params: &[Parameter],
    r: &mut Report,
) -> Result<()> {
    for f in files
        .iter()
        .filter(|f| f.starts_with("translations/") && f.ends_with(".json"))
    {
        let locale = &f["translations/".len()..f.len() - ".json".len()];
        if !valid_locale(locale) {
            r.error(
                "translation.invalid_locale",
                format!("{f} is not named after a locale"),
            );
            continue;
        }
        let text = std::fs::read_to_string(dir.join(f))?;
        let json: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                r.error("translation.not_json", format!("{f} is not JSON: {e}"));
                continue;
            }
        };
        let Some(obj) = json.as_object() else {
            r.error(
                "translation.not_json_object",
                format!("{f} is not a JSON object"),
            );
            continue;
        };
        if let Err(field) = translation_format(obj) {
            r.error(
                "translation.invalid_format",
                format!("{f}: {field} must be a string or an object"),
            );
            continue;
        }
        if f != "translations/en.json" {
            continue;
        }
        let Some(app) = obj.get("app").and_then(Value::as_object) else {
            r.error(
                "translation.missing_required_key",
                format!("{f} has no app object"),
            );
            continue;
        };
        let private = m.get("private") != Some(&Value::Bool(false));
        let required = if private {
            PRIVATE_APP_KEYS
        } else {
            PUBLIC_APP_KEYS
        };
        let keys: BTreeSet<&str> = app
            .keys()
            .map(|k| {
                if k == "description" {
                    "short_description"
                } else {
                    k.as_str()
                }
            })
            .collect();
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|k| !keys.contains(k))
            .collect();
        if !missing.is_empty() {
            r.error(
                "translation.missing_required_key",
                format!("{f}: app lacks {}", missing.join(", ")),
            );
        }
        for p in params {
            let label = app
                .get("parameters")
                .and_then(|ps| ps.get(&p.name))
                .and_then(|p| p.get("label"))
                .and_then(Value::as_str);
            if label.is_none_or(str::is_empty) {
                r.error(
                    "translation.missing_parameter_label",
                    format!("{f}: app.parameters.{}.label is missing", p.name),
                );
            }
        }
    }
    Ok(())
}

/// translations.rb `validate_translation_format`: every value is a string, an object of the
/// same shape, or a `{title, value}` pair of strings.
fn translation_format(obj: &Map<String, Value>) -> Result<(), String> {
    for (k, v) in obj {
        match v {
            Value::String(_) => {}
            Value::Object(inner) => translation_format(inner).map_err(|f| format!("{k}.{f}"))?,
            _ => return Err(k.clone()),
        }
    }
    Ok(())
}

/// sealdrop: every string the sidebar shows comes from its `strings/en.json`: each
/// `data-i18n` key in `sidebar.html` and each translation key literal in its scripts must be
/// there. `sidebar` is `web/sidebar/` (the page the sealdrop server serves in the app's iframe).
fn check_sidebar_strings(sidebar: &Path, r: &mut Report) -> Result<()> {
    let strings = sidebar.join("strings/en.json");
    let Ok(text) = std::fs::read_to_string(&strings) else {
        r.error(
            "sealdrop.missing_strings",
            format!("{} is missing", strings.display()),
        );
        return Ok(());
    };
    let en: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            r.error(
                "sealdrop.strings_not_json",
                format!("web/sidebar/strings/en.json: {e}"),
            );
            return Ok(());
        }
    };
    let resolves = |key: &str| {
        let path = if key.starts_with("sidebar.") {
            key.to_owned()
        } else {
            format!("sidebar.{key}")
        };
        path.split('.')
            .try_fold(&en, |node, part| node.get(part))
            .is_some_and(Value::is_string)
    };
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    let mut sources: Vec<_> = std::fs::read_dir(sidebar)
        .with_context(|| format!("reading {}", sidebar.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "html" || e == "js"))
        .collect();
    sources.sort();
    for path in sources {
        let name = format!(
            "web/sidebar/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        let source = std::fs::read_to_string(&path)?;
        if name.ends_with(".html") {
            for attr in ["data-i18n=\"", "data-i18n-placeholder=\""] {
                for key in quoted_after(&source, attr) {
                    keys.insert(key, name.clone());
                }
            }
            continue;
        }
        for key in quoted_after(&source, "t(\"") {
            keys.insert(key, name.clone());
        }
        // Keys kept in tables (`STATE_KEYS`) and passed to t() later.
        for prefix in [
            "\"inbox.",
            "\"send.",
            "\"admin.",
            "\"status.",
            "\"errors.",
            "\"tabs.",
        ] {
            for rest in quoted_after(&source, prefix) {
                let key = format!("{}{rest}", &prefix[1..]);
                if key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.')
                {
                    keys.insert(key, name.clone());
                }
            }
        }
    }
    if keys.len() < 20 {
        r.error(
            "sealdrop.sidebar_unread",
            format!(
                "only {} string keys found in {}",
                keys.len(),
                sidebar.display()
            ),
        );
    }
    for (key, file) in keys {
        if !resolves(&key) {
            r.error(
                "sealdrop.missing_string",
                format!("{file} uses {key:?}, which web/sidebar/strings/en.json lacks"),
            );
        }
    }
    Ok(())
}

/// The text between each `marker` and the next `"`. A marker that starts like an identifier
/// (`t("`) counts only where no identifier character precedes it (not `split("`).
fn quoted_after(haystack: &str, marker: &str) -> Vec<String> {
    let word = marker
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic());
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(at) = haystack[pos..].find(marker) {
        let start = pos + at;
        pos = start + marker.len();
        let before = haystack[..start].bytes().last();
        if word
            && before
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'$')
        {
            continue;
        }
        if let Some(end) = haystack[pos..].find('"') {
            out.push(haystack[pos..pos + end].to_owned());
            pos += end;
        }
    }
    out
}

// ---- the package -----------------------------------------------------------------------------

/// Writes `DIR/tmp/app-{version}.zip` with what `zcli apps:package` uploads.
pub fn package(dir: &Path) -> Result<(PathBuf, usize)> {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json"))?)?;
    let version = manifest
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or("0.0.0");
    let files: Vec<String> = app_files(dir)?
        .into_iter()
        .filter(|f| {
            f == "manifest.json"
                || f == "requirements.json"
                || f.starts_with("translations/")
                || f.starts_with("assets/")
        })
        .collect();
    // Stored entries, a fixed date (1980-01-01, the DOS epoch) and fixed permissions: the same
    // app gives the same bytes. Logos are PNGs and the JSON is small, so deflate gains little.
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for f in &files {
        let bytes = std::fs::read(dir.join(f)).with_context(|| format!("reading {f}"))?;
        zip.start_file(f.as_str(), options)
            .with_context(|| format!("adding {f} to the zip"))?;
        zip.write_all(&bytes)?;
    }
    let zip = zip.finish().context("writing the zip")?.into_inner();
    let out = dir.join("tmp").join(format!("app-{version}.zip"));
    std::fs::create_dir_all(out.parent().expect("the zip path has a parent"))?;
    std::fs::write(&out, zip)?;
    Ok((out, files.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../agent-app")
    }

    /// A copy of the real app in a temporary folder, with `change` applied to its manifest.
    fn broken(name: &str, change: impl FnOnce(&mut Map<String, Value>)) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sealdrop-app-check-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in app_files(&app_dir()).expect("the app's files") {
            let to = dir.join(&f);
            std::fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
            std::fs::copy(app_dir().join(&f), &to).expect("copy");
        }
        let path = dir.join("manifest.json");
        let mut m: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("manifest")).expect("json");
        change(m.as_object_mut().expect("an object"));
        std::fs::write(&path, serde_json::to_string_pretty(&m).expect("json")).expect("write");
        dir
    }

    fn errors_of(name: &str, change: impl FnOnce(&mut Map<String, Value>)) -> Report {
        let dir = broken(name, change);
        let report = check(&dir).expect("the check runs");
        let _ = std::fs::remove_dir_all(&dir);
        report
    }

    #[test]
    fn the_agent_app_passes_every_check() {
        let report = check(&app_dir()).expect("the check runs");
        assert!(report.errors.is_empty(), "errors: {:#?}", report.errors);
        assert!(
            report.warnings.is_empty(),
            "warnings: {:#?}",
            report.warnings
        );
    }

    #[test]
    fn a_manifest_without_author_or_locale_is_refused() {
        let r = errors_of("author", |m| {
            m.remove("author");
            m.remove("defaultLocale");
        });
        assert!(r.has("manifest_keys.missing"), "{:?}", r.errors);
        assert!(
            r.errors[0].contains("author") && r.errors[0].contains("defaultLocale"),
            "{:?}",
            r.errors
        );
    }

    #[test]
    fn an_old_or_missing_framework_version_is_refused() {
        assert!(errors_of("fw1", |m| {
            m.insert("frameworkVersion".into(), "1.0".into());
        })
        .has("invalid_version"));
        assert!(errors_of("fw3", |m| {
            m.insert("frameworkVersion".into(), "3.0".into());
        })
        .has("invalid_version"));
        assert!(errors_of("fw-", |m| {
            m.remove("frameworkVersion");
        })
        .has("manifest_keys.missing"));
    }

    #[test]
    fn unknown_locations_and_plain_http_urls_are_refused() {
        let r = errors_of("loc", |m| {
            m.insert("location".into(), serde_json::json!({ "support": { "ticket_sidebarz": { "url": "https://x.example" } } }));
        });
        assert!(r.has("invalid_location"), "{:?}", r.errors);
        let r = errors_of("http", |m| {
            m.insert("location".into(), serde_json::json!({ "support": { "ticket_sidebar": { "url": "http://files.example/zendesk/sidebar" } } }));
        });
        assert!(r.has("invalid_location_uri"), "{:?}", r.errors);
        let r = errors_of("noloc", |m| {
            m.remove("location");
        });
        assert!(r.has("manifest_keys.missing"), "{:?}", r.errors);
    }

    #[test]
    fn a_setting_placeholder_must_name_a_parameter() {
        let r = errors_of("setting", |m| {
            m.insert("parameters".into(), serde_json::json!([]));
        });
        assert!(r.has("sealdrop.setting_placeholder"), "{:?}", r.errors);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let r = errors_of("params", |m| {
            m.insert(
                "parameters".into(),
                serde_json::json!([
                    { "name": "sealdrop_url", "type": "url", "required": true },
                    { "name": "sealdrop_url", "type": "colour" },
                    { "name": "name", "type": "hidden", "required": true },
                    { "name": "flag", "type": "checkbox", "secure": "yes" }
                ]),
            );
        });
        for key in [
            "duplicate_parameters",
            "invalid_type_parameter",
            "invalid_hidden_parameter",
            "name_as_parameter_name",
            "unacceptable_boolean",
        ] {
            assert!(r.has(key), "{key} missing from {:?}", r.errors);
        }
    }

    #[test]
    fn a_secret_looking_parameter_that_is_not_secure_is_warned_about() {
        let r = errors_of("secure", |m| {
            let params = m
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
                .expect("parameters");
            params.push(serde_json::json!({ "name": "api_token", "type": "text" }));
        });
        assert!(
            r.warnings
                .iter()
                .any(|w| w.starts_with("insecure_token_parameter_in_manifest")),
            "{:?}",
            r.warnings
        );
        // ... and its label is missing from en.json.
        assert!(
            r.has("translation.missing_parameter_label"),
            "{:?}",
            r.errors
        );
    }

    #[test]
    fn signed_urls_must_be_a_boolean() {
        assert!(errors_of("signed", |m| {
            m.insert("signedUrls".into(), "true".into());
        })
        .has("unacceptable_boolean"));
    }

    #[test]
    fn a_default_locale_without_its_translation_file_is_refused() {
        assert!(errors_of("fr", |m| {
            m.insert("defaultLocale".into(), "fr".into());
        })
        .has("missing_translation_file"));
        assert!(errors_of("FR", |m| {
            m.insert("defaultLocale".into(), "French".into());
        })
        .has("invalid_default_locale"));
    }

    #[test]
    fn a_missing_manifest_or_a_nested_one_is_refused() {
        let dir = broken("nested", |_| {});
        std::fs::create_dir_all(dir.join("app")).expect("mkdir");
        std::fs::rename(dir.join("manifest.json"), dir.join("app/manifest.json")).expect("move");
        assert!(check(&dir).expect("runs").has("nested_manifest"));
        std::fs::remove_file(dir.join("app/manifest.json")).expect("rm");
        assert!(check(&dir).expect("runs").has("missing_manifest"));
        std::fs::write(dir.join("manifest.json"), "{ not json").expect("write");
        assert!(check(&dir).expect("runs").has("manifest_not_json"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_sidebar_string_missing_from_its_strings_is_refused() {
        let real = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/sidebar");
        let dir = std::env::temp_dir().join(format!("sealdrop-sidebar-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("strings")).expect("mkdir");
        for entry in std::fs::read_dir(&real).expect("web/sidebar") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, dir.join(path.file_name().expect("a name"))).expect("copy");
            }
        }
        std::fs::copy(real.join("strings/en.json"), dir.join("strings/en.json")).expect("copy");
        let mut clean = Report::default();
        check_sidebar_strings(&dir, &mut clean).expect("runs");
        assert!(clean.errors.is_empty(), "{:?}", clean.errors);
        let inbox = std::fs::read_to_string(dir.join("inbox.js")).expect("inbox.js");
        std::fs::write(
            dir.join("inbox.js"),
            format!("{inbox}\nt(\"inbox.nowhere\");\n"),
        )
        .expect("write");
        let mut r = Report::default();
        check_sidebar_strings(&dir, &mut r).expect("runs");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            r.errors
                .iter()
                .any(|e| e.contains("web/sidebar/inbox.js uses \"inbox.nowhere\"")),
            "a key used in any of the sidebar's modules is checked: {:?}",
            r.errors
        );
    }

    #[test]
    fn text_that_looks_like_a_secret_is_warned_about_as_zendesk_does() {
        let dir = broken("secrets", |_| {});
        std::fs::write(
            dir.join("assets/app.js"),
            "const config = { token: \"abcd1234efgh\" };\n",
        )
        .expect("write");
        std::fs::write(dir.join("assets/notes.txt"), "keep the server secret\n").expect("write");
        let r = check(&dir).expect("runs");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            r.warnings
                .iter()
                .any(|w| w
                    .starts_with("application_secret: assets/app.js may hold a secret (Token)")),
            "{:?}",
            r.warnings
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.starts_with("generic_secrets: assets/notes.txt")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn a_symlink_in_the_app_is_refused() {
        let dir = broken("symlink", |_| {});
        std::os::unix::fs::symlink(dir.join("translations/en.json"), dir.join("assets/en.json"))
            .expect("symlink");
        let r = check(&dir).expect("runs");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            r.errors
                .iter()
                .any(|e| e.starts_with("symlink_in_app: assets/en.json")),
            "{:?}",
            r.errors
        );
    }

    #[test]
    fn the_package_holds_the_app_files_at_the_root() {
        let dir = broken("zip", |_| {});
        let (zip, count) = package(&dir).expect("packaged");
        let bytes = std::fs::read(&zip).expect("zip");
        let again = std::fs::read(package(&dir).expect("packaged again").0).expect("zip");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(bytes, again, "the same app gives the same zip");
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a readable zip");
        let mut names: Vec<&str> = archive.file_names().collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "assets/logo-small.png",
                "assets/logo.png",
                "manifest.json",
                "translations/en.json",
            ],
            "only what Zendesk uses, at the root: the sidebar page is the server's, and the \
             package does not hold itself"
        );
        assert_eq!(count, names.len());
        let mut manifest = String::new();
        std::io::Read::read_to_string(
            &mut archive.by_name("manifest.json").expect("manifest.json"),
            &mut manifest,
        )
        .expect("readable");
        serde_json::from_str::<Value>(&manifest).expect("the manifest is intact");
    }
}
