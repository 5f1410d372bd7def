//! A port of Zendesk's app validator: `ZendeskAppsSupport::Package#validate` (package.rb) of the
//! `zendesk_apps_support` gem and the `lib/zendesk_apps_support/validations/*.rb` it calls, at
//! the version below. Each function names the file and method it ports and reports the gem's
//! own keys (`txt.apps.admin.error.app_build.KEY` for errors; for warnings the key of the
//! sentence the gem adds to `package.warnings`), as many times as the gem does, so the stage
//! `cargo xtask test --only app` can hold this port and the real gem to the same verdicts
//! (fixtures.rs, `xtask/zendesk_validator/expected.txt`).
//!
//! Where the gem crashes on a malformed manifest (a Ruby `NoMethodError` on an unexpected
//! type) the port reports nothing of its own there; the manifest type checks catch those
//! shapes first. Where the port does not follow a validation (SVG sanitising, the body of
//! requirements.json) it refuses with a `sealdrop.` key instead of passing silently.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, Result};
use regex::Regex;
use serde_json::{Map, Value};

use super::Report;

/// The gem's `ZendeskAppsSupport::VERSION` this port follows ...
pub const GEM_VERSION: &str = "4.52.0";
/// ... and the commit of github.com/zendesk/zendesk_apps_support it was read at.
pub const GEM_COMMIT: &str = "f3de3c7dbf3e49cc96846b925b8588f7811de94e";

// ---- the package ------------------------------------------------------------------------------

/// package.rb `validate`: the manifest first; the validations that read it only when it has no
/// error (`has_valid_manifest?`); then banner, SVG, MIME types and secrets on every app.
/// `marketplace` is the option of the same name (default true in the gem): it adds
/// validations/marketplace.rb. Returns the manifest when it could be read.
pub fn validate(dir: &Path, marketplace: bool, r: &mut Report) -> Result<Option<Manifest>> {
    let files = files(dir)?;
    let errors_before = r.errors.len();
    let manifest = manifest_call(dir, &files, r)?;
    if let Some(m) = manifest
        .as_ref()
        .filter(|_| r.errors.len() == errors_before)
    {
        if marketplace {
            marketplace_call(dir, m, r)?;
        }
        source_call(dir, &files, m, r)?;
        translations_call(dir, &files, m, r)?;
        requirements_call(dir, m, r)?;
        secure_settings_call(m, r);
        requests_call(dir, &files, r)?;
    }
    if files.iter().any(|f| f == "assets/banner.png") {
        banner_call(dir, r)?;
    }
    svg_call(&files, r);
    mime_call(dir, &files, r)?;
    secrets_call(dir, &files, r)?;
    Ok(manifest)
}

/// package.rb `files`: the app's files, relative with `/`, as Ruby's `Dir[root/**/**]` lists
/// them: no dotfile and nothing under a dot folder, nothing inside a symlinked folder (`**`
/// does not follow them), a symlink to a file counted as a file, and nothing under `tmp/`.
pub fn files(dir: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<String>) -> Result<()> {
        let here = root.join(rel);
        let mut entries: Vec<_> = std::fs::read_dir(&here)
            .with_context(|| format!("reading {}", here.display()))?
            .collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else if (kind.is_file()
                || (kind.is_symlink()
                    && std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file())))
                && !path.starts_with("tmp/")
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    Ok(out)
}

/// `File.read`, as a string (invalid UTF-8 replaced; Ruby would raise on it instead).
fn read(dir: &Path, file: &str) -> Result<String> {
    let bytes = std::fs::read(dir.join(file)).with_context(|| format!("reading {file}"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Ruby's truthiness: everything but `nil` (absent or JSON null) and `false`.
fn truthy(v: Option<&Value>) -> bool {
    !matches!(v, None | Some(Value::Null) | Some(Value::Bool(false)))
}

/// `validate_boolean`: `[true, false].include?(value)`.
fn is_bool(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(_)))
}

/// A value as Ruby would interpolate it in a message.
fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

// ---- products and locations (product.rb, location.rb) -----------------------------------------

/// `Product::PRODUCTS_AVAILABLE`: name and legacy name.
const PRODUCTS: &[(&str, &str)] = &[
    ("support", "zendesk"),
    ("chat", "zopim"),
    ("standalone_chat", "lotus_box"),
    ("sell", "sell"),
];

/// `Location::LOCATIONS_AVAILABLE`: product, name, `v2_only` (default: not a Support location).
const LOCATIONS: &[(&str, &str, bool)] = &[
    ("support", "top_bar", false),
    ("support", "nav_bar", false),
    ("support", "ticket_sidebar", false),
    ("support", "new_ticket_sidebar", false),
    ("support", "user_sidebar", false),
    ("support", "organization_sidebar", false),
    ("support", "background", false),
    ("chat", "chat_sidebar", true),
    ("support", "modal", true),
    ("support", "ticket_editor", true),
    ("standalone_chat", "nav_bar", false),
    ("support", "system_top_bar", false),
    ("standalone_chat", "system_top_bar", false),
    ("chat", "background", true),
    ("sell", "deal_card", true),
    ("sell", "person_card", true),
    ("sell", "company_card", true),
    ("sell", "lead_card", true),
    ("sell", "background", true),
    ("sell", "modal", true),
    ("sell", "dashboard", true),
    ("sell", "note_editor", true),
    ("sell", "call_log_editor", true),
    ("sell", "email_editor", true),
    ("sell", "top_bar", true),
    ("sell", "visit_editor", true),
    ("support", CUSTOM_OBJECT_RECORD_SIDEBAR, false),
];

/// `Location::CUSTOM_OBJECT_RECORD_SIDEBAR_LOCATION`: refused unless the caller passes
/// `validate_custom_object_record_sidebar_location` (Zendesk's upload does not, by default).
const CUSTOM_OBJECT_RECORD_SIDEBAR: &str = "custom_object_record_sidebar";

/// `AppVersion::TO_BE_SERVED`.
const TO_BE_SERVED: &[&str] = &["2.0"];
/// `Manifest::LEGACY_URI_STUB`.
const LEGACY_URI_STUB: &str = "_legacy";

// ---- the manifest (manifest.rb, manifest/*.rb) -------------------------------------------------

/// A product's locations: name and options, in the manifest's order.
type ProductLocations = Vec<(String, Map<String, Value>)>;

/// One `Manifest::LocationOptions`.
#[derive(Debug)]
pub struct LocationOptions {
    /// The product key it is listed under (after legacy names are replaced).
    pub product: &'static str,
    pub name: String,
    /// `v2_only` of the known `Location`, `None` when no such location exists.
    known: Option<bool>,
    pub url: Option<Value>,
    legacy: bool,
    auto_load: bool,
    flexible: Option<Value>,
}

/// One `Manifest::Parameter`.
#[derive(Debug)]
pub struct Parameter {
    pub name: Value,
    pub kind: Value,
    required: Value,
    secure: Value,
    has_default: bool,
    scopes: Option<Value>,
}

impl Parameter {
    /// The name as text (a missing or non-string name shows as Ruby would interpolate it).
    pub fn name(&self) -> String {
        show(Some(&self.name))
    }
}

/// `ZendeskAppsSupport::Manifest`, read from manifest.json.
#[derive(Debug)]
pub struct Manifest {
    pub m: Map<String, Value>,
    /// `locations`, after `set_locations_and_hosts`: product name and its locations.
    locations: Vec<(&'static str, ProductLocations)>,
    used_hosts: Vec<String>,
    pub location_options: Vec<LocationOptions>,
    pub parameters: Vec<Parameter>,
}

impl Manifest {
    fn get(&self, key: &str) -> Option<&Value> {
        self.m.get(key).filter(|v| !v.is_null())
    }

    fn requirements_only(&self) -> bool {
        truthy(self.get("requirementsOnly"))
    }

    fn marketing_only(&self) -> bool {
        truthy(self.get("marketingOnly"))
    }

    /// `@private = m.fetch('private', true)`.
    pub fn private(&self) -> bool {
        self.m.get("private").is_none_or(|v| truthy(Some(v)))
    }

    fn framework_version(&self) -> Option<&Value> {
        self.get("frameworkVersion")
    }

    /// `Gem::Version.new(framework_version)` compared with 2 (`None`: no version, or one
    /// `Gem::Version` cannot parse, where the gem raises).
    fn framework_at_least_2(&self) -> Option<bool> {
        let version = match self.framework_version()? {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let first = version.split('.').next()?;
        if version.is_empty()
            || !version
                .split('.')
                .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return None;
        }
        let major: u64 = first.parse().ok()?;
        Some(major >= 2)
    }

    /// `iframe_only?`.
    fn iframe_only(&self) -> bool {
        self.framework_at_least_2() == Some(true)
    }

    /// `experiments` (`||= {}`).
    fn experiments(&self) -> Value {
        match self.m.get("experiments") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => Value::Object(Map::new()),
            Some(v) => v.clone(),
        }
    }

    /// `no_template` (`||= false`).
    fn no_template(&self) -> Value {
        match self.m.get("noTemplate") {
            None | Some(Value::Null) => Value::Bool(false),
            Some(v) => v.clone(),
        }
    }

    /// `products`.
    fn products(&self) -> Vec<&'static str> {
        if self.requirements_only() {
            vec!["support"]
        } else if self.marketing_only() {
            self.locations.iter().map(|(p, _)| *p).collect()
        } else {
            let mut out = Vec::new();
            for lo in &self.location_options {
                if lo.known.is_some() && !out.contains(&lo.product) {
                    out.push(lo.product);
                }
            }
            out
        }
    }

    /// `unknown_hosts`.
    fn unknown_hosts(&self) -> Vec<&str> {
        self.used_hosts
            .iter()
            .map(String::as_str)
            .filter(|h| !PRODUCTS.iter().any(|(n, l)| h == n || h == l))
            .collect()
    }

    /// Reads the manifest as `Manifest.new` does; `Err` carries the key of a location given
    /// twice in a v1 location array (`NoOverrideHash`, `duplicate_manifest_keys`).
    fn new(m: Map<String, Value>) -> std::result::Result<Manifest, String> {
        let (used_hosts, locations) = match m.get("location") {
            Some(Value::Object(original)) => {
                let mut locations = Vec::new();
                for (product, legacy) in PRODUCTS {
                    let value = if original.contains_key(*product) {
                        original.get(*product)
                    } else {
                        original.get(*legacy)
                    };
                    if !truthy(value) {
                        continue;
                    }
                    // replace_string_uris: a string value is the location's url.
                    let list = match value {
                        Some(Value::Object(o)) => o
                            .iter()
                            .map(|(k, v)| (k.clone(), options_object(v)))
                            .collect(),
                        Some(Value::Array(a)) => a
                            .iter()
                            .map(|k| (show(Some(k)), options_object(&Value::Null)))
                            .collect(),
                        _ => Vec::new(),
                    };
                    locations.push((*product, list));
                }
                (original.keys().cloned().collect(), locations)
            }
            Some(Value::Array(names)) => {
                let mut list: Vec<(String, Map<String, Value>)> = Vec::new();
                for name in names {
                    let name = show(Some(name));
                    if list.iter().any(|(n, _)| *n == name) {
                        return Err(name);
                    }
                    list.push((name, legacy_object()));
                }
                (vec!["support".to_owned()], vec![("support", list)])
            }
            Some(Value::String(name)) => (
                vec!["support".to_owned()],
                vec![("support", vec![(name.clone(), legacy_object())])],
            ),
            _ => (vec!["support".to_owned()], vec![("support", Vec::new())]),
        };
        let mut location_options = Vec::new();
        for (product, list) in &locations {
            for (name, options) in list {
                let known = LOCATIONS
                    .iter()
                    .find(|(p, n, _)| p == product && n == name)
                    .map(|(_, _, v2)| *v2);
                let url = options.get("url").filter(|v| !v.is_null()).cloned();
                let legacy = truthy(options.get("legacy"))
                    || url.as_ref().and_then(Value::as_str) == Some(LEGACY_URI_STUB);
                location_options.push(LocationOptions {
                    product,
                    name: name.clone(),
                    known,
                    url,
                    legacy,
                    auto_load: options.get("autoLoad").is_none_or(|v| truthy(Some(v))),
                    flexible: options.get("flexible").filter(|v| !v.is_null()).cloned(),
                });
            }
        }
        let parameters = match m.get("parameters") {
            Some(Value::Array(list)) => list
                .iter()
                .map(|p| {
                    let empty = Map::new();
                    let o = p.as_object().unwrap_or(&empty);
                    let or = |key: &str, default: Value| match o.get(key) {
                        None | Some(Value::Null) | Some(Value::Bool(false)) => default,
                        Some(v) => v.clone(),
                    };
                    Parameter {
                        name: o.get("name").cloned().unwrap_or(Value::Null),
                        kind: or("type", Value::String("text".into())),
                        required: or("required", Value::Bool(false)),
                        secure: or("secure", Value::Bool(false)),
                        has_default: o.contains_key("default"),
                        scopes: o.get("scopes").filter(|v| !v.is_null()).cloned(),
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(Manifest {
            m,
            locations,
            used_hosts,
            location_options,
            parameters,
        })
    }
}

/// A location's options as a hash (`replace_string_uris`: a non-hash is the url).
fn options_object(v: &Value) -> Map<String, Value> {
    match v {
        Value::Object(o) => o.clone(),
        other => {
            let mut o = Map::new();
            o.insert("url".into(), other.clone());
            o
        }
    }
}

fn legacy_object() -> Map<String, Value> {
    options_object(&Value::String(LEGACY_URI_STUB.into()))
}

/// JSON text parsed as the gem parses it (`object_class: NoOverrideHash`): `Ok(Err(key))` when
/// an object repeats a key, which the gem refuses instead of keeping the last value.
pub fn parse_json(text: &str) -> serde_json::Result<std::result::Result<Value, String>> {
    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

    /// Walks the document only to find a repeated key.
    struct NoOverride(Option<String>);

    impl<'de> Deserialize<'de> for NoOverride {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = NoOverride;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("JSON")
                }
                fn visit_bool<E>(self, _: bool) -> std::result::Result<NoOverride, E> {
                    Ok(NoOverride(None))
                }
                fn visit_i64<E>(self, _: i64) -> std::result::Result<NoOverride, E> {
                    Ok(NoOverride(None))
                }
                fn visit_u64<E>(self, _: u64) -> std::result::Result<NoOverride, E> {
                    Ok(NoOverride(None))
                }
                fn visit_f64<E>(self, _: f64) -> std::result::Result<NoOverride, E> {
                    Ok(NoOverride(None))
                }
                fn visit_str<E>(self, _: &str) -> std::result::Result<NoOverride, E> {
                    Ok(NoOverride(None))
                }
                fn visit_unit<E>(self) -> std::result::Result<NoOverride, E> {
                    Ok(NoOverride(None))
                }
                fn visit_seq<A: SeqAccess<'de>>(
                    self,
                    mut seq: A,
                ) -> std::result::Result<NoOverride, A::Error> {
                    let mut found = None;
                    while let Some(NoOverride(dup)) = seq.next_element()? {
                        found = found.or(dup);
                    }
                    Ok(NoOverride(found))
                }
                fn visit_map<A: MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> std::result::Result<NoOverride, A::Error> {
                    let mut keys = BTreeSet::new();
                    let mut found = None;
                    while let Some(key) = map.next_key::<String>()? {
                        let NoOverride(dup) = map.next_value()?;
                        if !keys.insert(key.clone()) {
                            found = found.or(Some(key));
                        }
                        found = found.or(dup);
                    }
                    Ok(NoOverride(found))
                }
            }
            d.deserialize_any(V)
        }
    }

    let value: Value = serde_json::from_str(text)?;
    let NoOverride(dup) = serde_json::from_str(text).map_err(de::Error::custom)?;
    Ok(match dup {
        Some(key) => Err(key),
        None => Ok(value),
    })
}

/// translations.rb `VALID_LOCALE`: `/^[a-z]{2,3}(-\w{2,3})?$/` (Ruby's `^`/`$` are line
/// anchors).
fn valid_locale(locale: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?m)^[a-z]{2,3}(-[A-Za-z0-9_]{2,3})?$").expect("a valid regex"))
        .is_match(locale)
}

// ---- validations/manifest.rb -------------------------------------------------------------------

/// validations/manifest.rb `call`; returns the manifest when it could be read.
fn manifest_call(dir: &Path, files: &[String], r: &mut Report) -> Result<Option<Manifest>> {
    if !dir.join("manifest.json").is_file() {
        // `\A[^/]+?/manifest\.json\Z`: one folder down.
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
        return Ok(None);
    }
    let text = read(dir, "manifest.json")?;
    let m = match parse_json(&text) {
        Err(e) => {
            r.error(
                "manifest_not_json",
                format!("manifest.json is not JSON: {e}"),
            );
            return Ok(None);
        }
        Ok(Err(key)) => {
            r.error(
                "duplicate_manifest_keys",
                format!("manifest.json gives {key:?} twice"),
            );
            return Ok(None);
        }
        Ok(Ok(Value::Object(m))) => m,
        Ok(Ok(_)) => {
            // The gem raises a TypeError here (it indexes the value by key).
            r.error("manifest_not_json", "manifest.json is not a JSON object");
            return Ok(None);
        }
    };
    let manifest = match Manifest::new(m) {
        Ok(manifest) => manifest,
        Err(key) => {
            r.error(
                "duplicate_manifest_keys",
                format!("the location list gives {key:?} twice"),
            );
            return Ok(None);
        }
    };
    let m = &manifest;
    missing_keys_error(m, r);
    type_checks(m, r);
    oauth_error(m, r);
    default_locale_error(m, files, r);
    validate_urls(m, r);
    validate_parameters(m, r);
    if m.requirements_only() || m.marketing_only() {
        if !m.location_options.is_empty() {
            r.error(
                "no_location_required",
                "requirements-only and marketing-only apps have no location",
            );
        }
        if m.framework_version().is_some() {
            r.error(
                "no_framework_version_required",
                "requirements-only and marketing-only apps have no frameworkVersion",
            );
        }
    } else {
        validate_location(dir, m, r);
        if m.framework_version().is_none() {
            missing_keys(r, &["frameworkVersion"]);
        }
        // invalid_version_error
        let version = m.framework_version();
        if !version
            .and_then(Value::as_str)
            .is_some_and(|v| TO_BE_SERVED.contains(&v))
        {
            r.error(
                "invalid_version",
                format!(
                    "frameworkVersion {:?} is not served; available: {}",
                    show(version),
                    TO_BE_SERVED.join(", ")
                ),
            );
        }
    }
    // ban_no_template
    if m.iframe_only() {
        let no_template = m.no_template();
        let locations = match &no_template {
            Value::Array(a) => !a.is_empty(),
            _ => false,
        };
        if (!no_template.is_array() && truthy(Some(&no_template))) || locations {
            r.error(
                "no_template_deprecated_in_v2",
                "noTemplate is not allowed in a v2 app",
            );
        }
    }
    Ok(Some(manifest))
}

/// `missing_keys_validation_error`.
fn missing_keys(r: &mut Report, keys: &[&str]) {
    r.error(
        "manifest_keys.missing",
        format!("missing required field(s): {}", keys.join(", ")),
    );
}

/// `missing_keys_error`: author and defaultLocale.
fn missing_keys_error(m: &Manifest, r: &mut Report) {
    let missing: Vec<&str> = ["author", "defaultLocale"]
        .into_iter()
        .filter(|k| m.get(k).is_none())
        .collect();
    if !missing.is_empty() {
        missing_keys(r, &missing);
    }
}

/// `type_checks`: `boolean_error`, `string_error`, `no_template_format_error`, experiments,
/// domainWhitelist, parameters.
fn type_checks(m: &Manifest, r: &mut Report) {
    for field in [
        "requirementsOnly",
        "marketingOnly",
        "singleInstall",
        "signedUrls",
    ] {
        // `@x ||= false`: nil and false read as false.
        let v = m.get(field);
        if v.is_some() && !is_bool(v) {
            r.error(
                "unacceptable_boolean",
                format!("{field} must be true or false, not {}", show(v)),
            );
        }
    }
    if let Some(v) = m.m.get("private") {
        if !v.is_boolean() {
            r.error(
                "unacceptable_boolean",
                format!("private must be true or false, not {v}"),
            );
        }
    }
    for field in [
        "defaultLocale",
        "version",
        "frameworkVersion",
        "remoteInstallationURL",
        "termsConditionsURL",
        "gaID",
    ] {
        if let Some(v) = m.get(field).filter(|v| !v.is_string()) {
            r.error(
                "unacceptable_string",
                format!("{field} must be a string, not {v}"),
            );
        }
    }
    if let Some(Value::Object(author)) = m.get("author") {
        for field in ["name", "email", "url"] {
            if let Some(v) = author.get(field).filter(|v| !v.is_null() && !v.is_string()) {
                r.error(
                    "unacceptable_string",
                    format!("author {field} must be a string, not {v}"),
                );
            }
        }
    }
    // no_template_format_error
    match m.no_template() {
        Value::Bool(_) => {}
        Value::Array(locations) => {
            let known = |l: &Value| {
                l.as_str()
                    .is_some_and(|l| LOCATIONS.iter().any(|(_, n, _)| *n == l))
            };
            if !locations.iter().all(known) {
                r.error(
                    "invalid_no_template",
                    "noTemplate names an unknown location",
                );
            }
        }
        _ => r.error(
            "invalid_no_template",
            "noTemplate must be true, false or a list of locations",
        ),
    }
    if !m.experiments().is_object() {
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
    if let Some(p) = m.get("parameters").filter(|p| !p.is_array()) {
        r.error(
            "unacceptable_array",
            format!("parameters must be an array, not {p}"),
        );
    }
}

/// `oauth_error`.
fn oauth_error(m: &Manifest, r: &mut Report) {
    let oauth = m.get("oauth");
    if !truthy(oauth) {
        return;
    }
    let empty = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    };
    let missing: Vec<&str> = [
        "client_id",
        "client_secret",
        "authorize_uri",
        "access_token_uri",
    ]
    .into_iter()
    .filter(|k| empty(oauth.and_then(|o| o.get(*k))))
    .collect();
    if !missing.is_empty() {
        r.error(
            "oauth_keys.missing",
            format!("oauth lacks {}", missing.join(", ")),
        );
    }
    if !m.parameters.iter().any(|p| p.kind == "oauth") {
        r.error(
            "oauth_parameter_required",
            "an oauth section needs a parameter of type oauth",
        );
    }
}

/// `default_locale_error`.
fn default_locale_error(m: &Manifest, files: &[String], r: &mut Report) {
    let Some(locale) = m.get("defaultLocale") else {
        return;
    };
    match locale.as_str() {
        Some(l) if valid_locale(l) => {
            if !files.iter().any(|f| *f == format!("translations/{l}.json")) {
                r.error(
                    "missing_translation_file",
                    format!("defaultLocale is {l} but translations/{l}.json is missing"),
                );
            }
        }
        _ => r.error(
            "invalid_default_locale",
            format!(
                "defaultLocale {:?} is not a locale like en or pt-br",
                show(Some(locale))
            ),
        ),
    }
}

/// What `URI.parse` makes of a string (RFC 3986): `None` where it raises `InvalidURIError`.
#[derive(Debug, PartialEq, Eq)]
pub struct Uri {
    /// Lower-cased, as Ruby's URI gives it; `None` for a relative reference.
    pub scheme: Option<String>,
    pub host: Option<String>,
    pub path: String,
}

/// `URI.parse` (RFC 3986 parser): the characters a URI may hold, a scheme, and an authority
/// with a numeric port.
pub fn parse_uri(text: &str) -> Option<Uri> {
    for (i, b) in text.bytes().enumerate() {
        let allowed = b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&b);
        if b == b'%' {
            let hex = |j: usize| text.as_bytes().get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return None;
            }
        } else if !allowed {
            return None;
        }
    }
    let (scheme, rest) = match text.split_once(':') {
        Some((s, rest))
            if s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                && !s.contains('/') =>
        {
            (Some(s.to_ascii_lowercase()), rest)
        }
        _ => (None, text),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (host, path) = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find('/').unwrap_or(after.len());
            let authority = &after[..end];
            let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let (host, port) = if hostport.starts_with('[') {
                let close = hostport.find(']')?;
                (&hostport[..=close], &hostport[close + 1..])
            } else {
                match hostport.find(':') {
                    Some(at) => (&hostport[..at], &hostport[at..]),
                    None => (hostport, ""),
                }
            };
            if !port.is_empty() && !port[1..].bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            if host.contains(['[', ']']) && !host.starts_with('[') {
                return None;
            }
            ((!host.is_empty()).then(|| host.to_owned()), &after[end..])
        }
        None => {
            if rest.contains(['[', ']']) {
                return None;
            }
            (None, rest)
        }
    };
    Some(Uri {
        scheme,
        host,
        path: path.to_owned(),
    })
}

/// `valid_url?`: an http(s) URI with a host.
fn valid_url(v: &Value) -> bool {
    v.as_str()
        .and_then(parse_uri)
        .is_some_and(|u| matches!(u.scheme.as_deref(), Some("http" | "https")) && u.host.is_some())
}

/// `validate_urls`: terms-and-conditions url and author url.
fn validate_urls(m: &Manifest, r: &mut Report) {
    if let Some(url) = m.get("termsConditionsURL").filter(|v| truthy(Some(v))) {
        if !valid_url(url) {
            r.error(
                "invalid_url",
                format!(
                    "terms_conditions_url {} is not an http(s) URL",
                    show(Some(url))
                ),
            );
        }
    }
    if let Some(Value::Object(author)) = m.get("author") {
        if let Some(url) = author.get("url").filter(|v| truthy(Some(v))) {
            if !valid_url(url) {
                r.error(
                    "invalid_url",
                    format!("author url {} is not an http(s) URL", show(Some(url))),
                );
            }
        }
    }
}

/// `Parameter::TYPES` less `mtls` (allowed only with `validate_mtls_param`, off by default).
const PARAMETER_TYPES: &[&str] = &[
    "text",
    "checkbox",
    "url",
    "number",
    "multiline",
    "hidden",
    "oauth",
];
/// `SECURE_PARAM_SCOPES`.
const SECURE_PARAM_SCOPES: &[&str] = &[
    "header",
    "body",
    "url",
    "jwt_secret_key",
    "jwt_claim",
    "basic_auth_username",
    "basic_auth_password",
];

/// `validate_parameters`.
fn validate_parameters(m: &Manifest, r: &mut Report) {
    let params = &m.parameters;
    if m.marketing_only() {
        if !params.is_empty() {
            r.error(
                "no_parameters_required",
                "marketing-only apps have no parameters",
            );
        }
        if m.private() {
            r.error(
                "marketing_only_app_cant_be_private",
                "a marketing-only app cannot be private",
            );
        }
        return;
    }
    parameters_error(m, r);
    let hidden: Vec<String> = params
        .iter()
        .filter(|p| p.kind == "hidden" && truthy(Some(&p.required)))
        .map(Parameter::name)
        .collect();
    if !hidden.is_empty() {
        r.error(
            "invalid_hidden_parameter",
            format!(
                "hidden parameters cannot be required: {}",
                hidden.join(", ")
            ),
        );
    }
    let bad: Vec<String> = params
        .iter()
        .filter(|p| {
            !p.kind
                .as_str()
                .is_some_and(|k| PARAMETER_TYPES.contains(&k))
        })
        .map(|p| show(Some(&p.kind)))
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
    if params
        .iter()
        .any(|p| p.kind == "oauth" && truthy(Some(&p.secure)))
    {
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
    // invalid_secure_param_scopes_errors
    for p in params {
        let Some(scopes) = &p.scopes else { continue };
        let field = format!("parameters[name=\"{}\"].scopes", p.name());
        if !truthy(Some(&p.secure)) {
            r.error(
                "field_requires_secure_parameter",
                format!("{field} needs a secure parameter"),
            );
        }
        let Some(list) = scopes.as_array() else {
            r.error("unacceptable_array", format!("{field} must be an array"));
            continue;
        };
        if list.is_empty() {
            r.error("field_cannot_be_empty", format!("{field} is empty"));
        }
        let invalid: Vec<String> = list
            .iter()
            .filter(|s| !s.as_str().is_some_and(|s| SECURE_PARAM_SCOPES.contains(&s)))
            .map(|s| show(Some(s)))
            .collect();
        if !invalid.is_empty() {
            r.error(
                "field_contains_invalid_values",
                format!("{field} holds {}", invalid.join(", ")),
            );
        }
    }
}

/// `parameters_error`: the first of not an array, duplicates, bad `required`, bad `secure`.
fn parameters_error(m: &Manifest, r: &mut Report) {
    if m.get("parameters").is_some_and(|p| !p.is_array()) {
        r.error("parameters_not_an_array", "parameters must be an array");
        return;
    }
    let params = &m.parameters;
    let mut dups: Vec<String> = Vec::new();
    for p in params {
        if params.iter().filter(|q| q.name == p.name).count() > 1 && !dups.contains(&p.name()) {
            dups.push(p.name());
        }
    }
    if !dups.is_empty() {
        r.error(
            "duplicate_parameters",
            format!("parameters declared twice: {}", dups.join(", ")),
        );
        return;
    }
    for flag in ["required", "secure"] {
        let bad: Vec<&Parameter> = params
            .iter()
            .filter(|p| {
                let v = if flag == "required" {
                    &p.required
                } else {
                    &p.secure
                };
                !v.is_boolean()
            })
            .collect();
        for p in &bad {
            r.error(
                "unacceptable_boolean",
                format!(
                    "parameters[name=\"{}\"].{flag} must be true or false",
                    p.name()
                ),
            );
        }
        if !bad.is_empty() {
            return;
        }
    }
}

/// `validate_location`: `missing_location_error`, `invalid_location_error`,
/// `invalid_v1_location`, `location_framework_mismatch`.
fn validate_location(dir: &Path, m: &Manifest, r: &mut Report) {
    if m.location_options.is_empty() {
        missing_keys(r, &["location"]);
    }
    for lo in &m.location_options {
        match &lo.url {
            Some(Value::String(url)) if !url.is_empty() => {
                invalid_location_uri_error(dir, lo, url, r);
            }
            _ if lo.auto_load => r.error(
                "blank_location_uri",
                format!("{}.{} has no url", lo.product, lo.name),
            ),
            _ => {}
        }
        if lo.flexible.as_ref().is_some_and(|f| !f.is_boolean()) {
            r.error(
                "invalid_location_flexible_type",
                format!("{}.{}.flexible must be true or false", lo.product, lo.name),
            );
        }
    }
    for (product, _) in PRODUCTS {
        let Some((_, list)) = m.locations.iter().find(|(p, _)| p == product) else {
            continue;
        };
        // unknown_locations, plus the custom object sidebar (see its constant).
        let mut invalid: Vec<&str> = Vec::new();
        for (name, _) in list {
            let known = LOCATIONS.iter().any(|(p, n, _)| p == product && n == name);
            if !known && !invalid.contains(&name.as_str()) {
                invalid.push(name);
            }
        }
        if *product == "support" && list.iter().any(|(n, _)| n == CUSTOM_OBJECT_RECORD_SIDEBAR) {
            invalid.push(CUSTOM_OBJECT_RECORD_SIDEBAR);
        }
        if !invalid.is_empty() {
            r.error(
                "invalid_location",
                format!("not {product} locations: {}", invalid.join(", ")),
            );
        }
    }
    for host in m.unknown_hosts() {
        r.error("invalid_host", format!("{host} is not a Zendesk product"));
    }
    // invalid_v1_location
    if m.framework_at_least_2() == Some(false) {
        let v2: Vec<&str> = m
            .location_options
            .iter()
            .filter(|lo| lo.known == Some(true))
            .map(|lo| lo.name.as_str())
            .collect();
        if !v2.is_empty() {
            r.error(
                "invalid_v1_location",
                format!("{} need frameworkVersion 2.0", v2.join(", ")),
            );
        }
    }
    // location_framework_mismatch
    let legacy = m.location_options.iter().any(|lo| lo.legacy);
    let iframe = m.location_options.iter().any(|lo| !lo.legacy);
    if m.iframe_only() {
        if legacy {
            r.error(
                "locations_must_be_urls",
                "a v2 app's locations must be URLs",
            );
        }
    } else if iframe {
        r.error(
            "locations_cant_be_urls",
            "a v1 app's locations cannot be URLs",
        );
    }
}

/// `invalid_location_uri_error`: https, localhost, or a file of the app under assets/.
fn invalid_location_uri_error(dir: &Path, lo: &LocationOptions, url: &str, r: &mut Report) {
    if url == LEGACY_URI_STUB || url.contains("{{setting.") {
        return;
    }
    let ok = parse_uri(url).is_some_and(|u| match &u.scheme {
        Some(scheme) => scheme == "https" || u.host.as_deref() == Some("localhost"),
        None => u.path.starts_with("assets/") && dir.join(&u.path).is_file(),
    });
    if !ok {
        r.error(
            "invalid_location_uri",
            format!(
                "{}.{} url {url:?} must be https, localhost, or a file under assets/",
                lo.product, lo.name
            ),
        );
    }
}

// ---- validations/marketplace.rb ----------------------------------------------------------------

/// `Marketplace::WHITELISTED_EXPERIMENTS`.
const WHITELISTED_EXPERIMENTS: &[&str] = &["hashParams", "newCssCompiler"];

/// validations/marketplace.rb: `no_symlinks`, `no_experiments`.
fn marketplace_call(dir: &Path, m: &Manifest, r: &mut Report) -> Result<()> {
    let links = symlinks(dir)?;
    if !links.is_empty() {
        r.error(
            "symlink_in_zip",
            format!(
                "{} is a symlink; Zendesk refuses symlinks in an app",
                links.join(", ")
            ),
        );
    }
    if let Value::Object(experiments) = m.experiments() {
        for (name, on) in &experiments {
            if truthy(Some(on)) && !WHITELISTED_EXPERIMENTS.contains(&name.as_str()) {
                r.error(
                    "invalid_experiment",
                    format!("experiment {name} is not available"),
                );
            }
        }
    }
    Ok(())
}

/// marketplace.rb `no_symlinks`: `Dir["#{path}/**/{*,.*}"]`: every entry, dotfiles and tmp/
/// included, in every folder the glob enters (not dot folders, not symlinked folders).
pub fn symlinks(dir: &Path) -> Result<Vec<String>> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<()> {
        let mut entries: Vec<_> =
            std::fs::read_dir(dir.join(rel))?.collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let kind = entry.file_type()?;
            if kind.is_symlink() {
                out.push(path);
            } else if kind.is_dir() && !name.starts_with('.') {
                walk(dir, &path, out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    Ok(out)
}

// ---- validations/source.rb ---------------------------------------------------------------------

/// package.rb `js_files`: `^.*\.jsx?$`.
fn is_js(f: &str) -> bool {
    f.ends_with(".js") || f.ends_with(".jsx")
}

/// package.rb `html_files`: `.*\.html?$`.
fn is_html(f: &str) -> bool {
    f.ends_with(".html") || f.ends_with(".htm")
}

/// validations/source.rb: requirements-only and marketing-only apps have no source.
fn source_call(dir: &Path, files: &[String], m: &Manifest, r: &mut Report) -> Result<()> {
    if !(m.requirements_only() || m.marketing_only()) {
        return Ok(());
    }
    // package.rb `app_css`: app.scss, else app.css.
    let css = ["app.scss", "app.css"]
        .into_iter()
        .find(|f| dir.join(f).is_file())
        .map(|f| read(dir, f))
        .transpose()?
        .unwrap_or_default();
    let templates = files
        .iter()
        .any(|f| f.starts_with("templates/") && f.ends_with(".hdbs"));
    if files.iter().any(|f| is_js(f)) || templates || !css.is_empty() {
        r.error(
            "no_source_required_apps",
            "requirements-only and marketing-only apps have no scripts, styles or templates",
        );
    }
    Ok(())
}

// ---- validations/translations.rb ---------------------------------------------------------------

/// validations/translations.rb `call`. Errors accumulate over the files in order, and the
/// marketplace strings of translations/en.json are checked only while there are none.
fn translations_call(dir: &Path, files: &[String], m: &Manifest, r: &mut Report) -> Result<()> {
    let mut found = 0;
    for f in files {
        // TRANSLATIONS_PATH: `^translations/(.*)\.json$`
        let Some(locale) = f
            .strip_prefix("translations/")
            .and_then(|l| l.strip_suffix(".json"))
        else {
            continue;
        };
        if !valid_locale(locale) {
            r.error(
                "translation.invalid_locale",
                format!("{f} is not named after a locale"),
            );
            found += 1;
        }
        let json = match serde_json::from_str::<Value>(&read(dir, f)?) {
            Err(e) => {
                r.error("translation.not_json", format!("{f} is not JSON: {e}"));
                found += 1;
                continue;
            }
            Ok(Value::Object(o)) => o,
            Ok(_) => {
                r.error(
                    "translation.not_json_object",
                    format!("{f} is not a JSON object"),
                );
                found += 1;
                continue;
            }
        };
        let app = json.get("app").and_then(Value::as_object);
        // json_error: the format is checked only when app.package is there.
        if let Some(app) = app.filter(|a| truthy(a.get("package"))) {
            let mut json = json.clone();
            let mut app = app.clone();
            app.remove("package");
            json.insert("app".into(), Value::Object(app));
            if let Err(field) = translation_format(&json) {
                r.error(
                    "translation.invalid_format",
                    format!("{f}: {field} must be an object or a title/value pair"),
                );
                found += 1;
            }
        }
        // format_error: each app.parameters entry has a label.
        if let Some(Value::Object(params)) = app.and_then(|a| a.get("parameters")) {
            if let Some((name, _)) = params
                .iter()
                .find(|(_, p)| !p.as_object().is_some_and(|p| p.contains_key("label")))
            {
                r.error(
                    "translation.missing_required_key_on_leaf",
                    format!("{f}: app.parameters.{name} has no label"),
                );
                found += 1;
            }
        }
        if found == 0 && f == "translations/en.json" {
            marketplace_content(f, &json, m, r);
        }
    }
    Ok(())
}

/// translations.rb `validate_translation_format`: every value is an object, a
/// `{title, value}` pair of strings ends the walk.
fn translation_format(obj: &Map<String, Value>) -> std::result::Result<(), String> {
    for (k, v) in obj {
        let Value::Object(inner) = v else {
            return Err(k.clone());
        };
        let mut keys: Vec<&str> = inner.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let pair = keys == ["title", "value"]
            && inner.get("title").is_some_and(Value::is_string)
            && inner.get("value").is_some_and(Value::is_string);
        if !pair {
            translation_format(inner).map_err(|f| format!("{k}.{f}"))?;
        }
    }
    Ok(())
}

/// translations.rb `validate_marketplace_content`.
fn marketplace_content(f: &str, json: &Map<String, Value>, m: &Manifest, r: &mut Report) {
    let app = json.get("app").and_then(Value::as_object);
    let products: Vec<&str> = app
        .map(|a| {
            PRODUCTS
                .iter()
                .map(|(p, _)| *p)
                .filter(|p| a.contains_key(*p))
                .collect()
        })
        .unwrap_or_default();
    let skip_marketplace_strings = m.private();
    let missing = |keys: Vec<&str>| -> Vec<&'static str> {
        let keys: Vec<&str> = keys
            .into_iter()
            .map(|k| {
                if k == "description" {
                    "short_description"
                } else {
                    k
                }
            })
            .collect();
        let mandatory: &[&'static str] = if skip_marketplace_strings {
            &["name"]
        } else {
            &[
                "name",
                "short_description",
                "installation_instructions",
                "long_description",
            ]
        };
        mandatory
            .iter()
            .copied()
            .filter(|k| !keys.contains(k))
            .collect()
    };
    if products.is_empty() {
        let keys = app
            .map(|a| a.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let missing = missing(keys);
        if !missing.is_empty() {
            r.error(
                "translation.missing_required_key",
                format!("{f}: app lacks {}", missing.join(", ")),
            );
        }
        return;
    }
    let manifest_products = m.products();
    let extra: Vec<&str> = products
        .iter()
        .copied()
        .filter(|p| !manifest_products.contains(p))
        .collect();
    if !extra.is_empty() {
        r.error(
            "translation.products_do_not_match_manifest_products",
            format!(
                "{f} has strings for {} but the app is for {}",
                products.join(", "),
                manifest_products.join(", ")
            ),
        );
    }
    for product in products {
        let keys = app
            .and_then(|a| a.get(product))
            .and_then(Value::as_object)
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let missing = missing(keys);
        if !missing.is_empty() {
            r.error(
                "translation.missing_required_key_for_product",
                format!("{f}: app.{product} lacks {}", missing.join(", ")),
            );
            break;
        }
    }
}

// ---- validations/requirements.rb ---------------------------------------------------------------

/// validations/requirements.rb `call`, up to reading requirements.json. What the file asks
/// for (targets, fields, webhooks, custom objects) is not ported: an app with one is refused
/// with `sealdrop.requirements_not_ported`, so check-app never passes it unread.
fn requirements_call(dir: &Path, m: &Manifest, r: &mut Report) -> Result<()> {
    let has = dir.join("requirements.json").is_file();
    // supports_requirements: not marketing-only, and not a Chat-only location list.
    let products: Vec<&str> = m.locations.iter().map(|(p, _)| *p).collect();
    let supported = !m.marketing_only() && products != ["chat"];
    if m.requirements_only() && !has {
        r.error(
            "missing_requirements",
            "a requirements-only app needs requirements.json",
        );
    } else if !supported && has {
        r.error(
            "requirements_not_supported",
            "this app cannot have requirements.json",
        );
    } else if has {
        match parse_json(&read(dir, "requirements.json")?) {
            Err(e) => r.error(
                "requirements_not_json",
                format!("requirements.json is not JSON: {e}"),
            ),
            Ok(Err(key)) => r.error(
                "duplicate_requirements",
                format!("requirements.json gives {key:?} twice"),
            ),
            Ok(Ok(_)) => r.error(
                "sealdrop.requirements_not_ported",
                "check-app does not port validations/requirements.rb past reading \
                 requirements.json; check it with the real validator (`cargo xtask test --only app`)",
            ),
        }
    }
    Ok(())
}

// ---- validations/secure_settings.rb (warnings) -------------------------------------------------

/// validations/secure_settings.rb: at most one warning of each kind.
fn secure_settings_call(m: &Manifest, r: &mut Report) {
    static SECURABLE: OnceLock<Regex> = OnceLock::new();
    let securable =
        SECURABLE.get_or_init(|| Regex::new("(?i)token|key|pwd|password").expect("a valid regex"));
    let insecure: Vec<String> = m
        .parameters
        .iter()
        .filter(|p| {
            p.name.as_str().is_some_and(|n| securable.is_match(n))
                && p.kind == "text"
                && !truthy(Some(&p.secure))
        })
        .map(Parameter::name)
        .collect();
    if !insecure.is_empty() {
        r.warn(
            "translation.insecure_token_parameter_in_manifest",
            format!(
                "parameter(s) {} look like secrets but are not secure",
                insecure.join(", ")
            ),
        );
    }
    if m.parameters
        .iter()
        .any(|p| p.has_default && (truthy(Some(&p.secure)) || p.kind == "hidden"))
    {
        r.warn(
            "translation.default_secure_or_hidden_parameter_in_manifest",
            "a secure or hidden parameter has a default, which is not stored securely",
        );
    }
    let unscoped: Vec<String> = m
        .parameters
        .iter()
        .filter(|p| {
            truthy(Some(&p.secure))
                && !p.scopes.as_ref().is_some_and(|s| match s {
                    Value::Array(a) => a.iter().any(|v| truthy(Some(v))),
                    _ => true,
                })
        })
        .map(Parameter::name)
        .collect();
    if !unscoped.is_empty() {
        r.warn(
            "translation.secure_parameters_with_no_scopes_in_manifest",
            format!("secure parameter(s) {} have no scopes", unscoped.join(", ")),
        );
    }
}

// ---- validations/requests.rb (warnings) --------------------------------------------------------

/// Ruby's `URI.regexp(['http'])` (RFC 2396, extended mode), which validations/requests.rb
/// scans scripts and pages with. Ported: the look-ahead `(?=http:)` before the scheme group is
/// the scheme `http` itself; the `(?!//)` alternative after `//authority` is dropped (that
/// alternative is only reached when `//` does not follow, since all after it is optional);
/// `\h` is written `[0-9a-fA-F]`; comments are dropped; `\d` is ASCII (no Unicode mode).
const HTTP_URI: &str = r#"
    (http):
    (?:
       ((?:[\-_.!~*'()a-zA-Z\d;?:@&=+$,]|%[a-fA-F\d]{2})(?:[\-_.!~*'()a-zA-Z\d;/?:@&=+$,\[\]]|%[a-fA-F\d]{2})*)
    |
       (?:(?:
         //(?:
             (?:(?:((?:[\-_.!~*'()a-zA-Z\d;:&=+$,]|%[a-fA-F\d]{2})*)@)?
               (?:((?:(?:[a-zA-Z0-9\-.]|%[0-9a-fA-F][0-9a-fA-F])+|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[(?:(?:[a-fA-F\d]{1,4}:)*(?:[a-fA-F\d]{1,4}|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})|(?:(?:[a-fA-F\d]{1,4}:)*[a-fA-F\d]{1,4})?::(?:(?:[a-fA-F\d]{1,4}:)*(?:[a-fA-F\d]{1,4}|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}))?)\]))(?::(\d*))?))?
           |
             ((?:[\-_.!~*'()a-zA-Z\d$,;:@&=+]|%[a-fA-F\d]{2})+)
           )
         |
         )
         (/(?:[\-_.!~*'()a-zA-Z\d:@&=+$,]|%[a-fA-F\d]{2})*(?:;(?:[\-_.!~*'()a-zA-Z\d:@&=+$,]|%[a-fA-F\d]{2})*)*(?:/(?:[\-_.!~*'()a-zA-Z\d:@&=+$,]|%[a-fA-F\d]{2})*(?:;(?:[\-_.!~*'()a-zA-Z\d:@&=+$,]|%[a-fA-F\d]{2})*)*)*)?
       )(?:\?((?:[\-_.!~*'()a-zA-Z\d;/?:@&=+$,\[\]]|%[a-fA-F\d]{2})*))?
    )
    (?:\#((?:[\-_.!~*'()a-zA-Z\d;/?:@&=+$,\[\]]|%[a-fA-F\d]{2})*))?
"#;

/// requests.rb `find_address_containing_http`: for each match, its last group that matched
/// (`.compact.last`), which is what the gem's warning names.
pub fn insecure_http(text: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::RegexBuilder::new(HTTP_URI)
            .ignore_whitespace(true)
            .unicode(false)
            .build()
            .expect("URI.regexp ports to a valid regex")
    });
    re.captures_iter(text)
        .filter_map(|c| {
            c.iter()
                .skip(1)
                .flatten()
                .last()
                .map(|m| m.as_str().to_owned())
        })
        .collect()
}

/// validations/requests.rb: one warning per script or page that names an `http:` URL.
fn requests_call(dir: &Path, files: &[String], r: &mut Report) -> Result<()> {
    let js = files.iter().filter(|f| is_js(f));
    let html = files.iter().filter(|f| is_html(f));
    for f in js.chain(html) {
        let found = insecure_http(&read(dir, f)?);
        if !found.is_empty() {
            r.warn(
                "insecure_http_request",
                format!("{f} names http URL(s): {}", found.join(", ")),
            );
        }
    }
    Ok(())
}

// ---- validations/banner.rb ---------------------------------------------------------------------

/// validations/banner.rb: assets/banner.png is a PNG of 830x200 or 1660x400 (`ImageSize`).
fn banner_call(dir: &Path, r: &mut Report) -> Result<()> {
    let bytes = std::fs::read(dir.join("assets/banner.png"))?;
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.len() < 24 {
        r.error("banner.invalid_format", "assets/banner.png is not a PNG");
        return Ok(());
    }
    let word =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let (w, h) = (word(16), word(20));
    if !matches!((w, h), (830, 200) | (1660, 400)) {
        r.error(
            "banner.invalid_size",
            format!("assets/banner.png is {w}x{h}; it must be 830x200 (or 1660x400)"),
        );
    }
    Ok(())
}

// ---- validations/svg.rb ------------------------------------------------------------------------

/// validations/svg.rb runs Loofah's sanitizer over `assets/**.svg` and rewrites (with a
/// warning) or refuses what it changes; that is not ported, so an SVG is refused here.
fn svg_call(files: &[String], r: &mut Report) {
    for f in files
        .iter()
        .filter(|f| f.starts_with("assets/") && f.ends_with(".svg"))
    {
        r.error(
            "sealdrop.svg_not_ported",
            format!(
                "{f}: check-app does not port validations/svg.rb (Loofah's sanitizer); \
                 check it with the real validator (`cargo xtask test --only app`)"
            ),
        );
    }
}

// ---- validations/mime.rb -----------------------------------------------------------------------

/// `Mime::UNSUPPORTED_MIME_TYPES`: file extensions and MIME subtypes.
const UNSUPPORTED_MIME_TYPES: &[&str] = &[
    "vnd.rar", "rar", "zip", "gzip", "pdf", "doc", "docx", "avi", "bin", "bz", "bz2", "csh", "sh",
    "jar", "mp3", "mpeg", "odt", "pptx", "ppt", "xls", "xlsx", "7z",
];

/// The magic numbers (Marcel's table) of the types whose subtype is in the list: zip,
/// gzip, pdf, mpeg (audio and video). Marcel tries its whole table in order; an Office or
/// OpenDocument file is a zip that an earlier entry names otherwise, which this does not
/// tell apart (their extensions are in the list anyway).
fn unsupported_magic(bytes: &[u8]) -> bool {
    const AT_START: &[&[u8]] = &[
        b"\x00\x00\x01\xB3",
        b"\x00\x00\x01\xBA",
        b"\xFF\xF2",
        b"\xFF\xF3",
        b"\xFF\xF4",
        b"\xFF\xF5",
        b"\xFF\xF6",
        b"\xFF\xF7",
        b"\xFF\xFA",
        b"\xFF\xFB",
        b"\xFF\xFC",
        b"\xFF\xFD",
        b"\xFF\xFF",
        b"ID3",
        b"%PDF-",
        b"\xEF\xBB\xBF%PDF-",
        b"PK\x03\x04",
        b"PK\x05\x06",
        b"PK\x07\x08",
        b"\x1F\x8B",
    ];
    if AT_START.iter().any(|m| bytes.starts_with(m)) {
        return true;
    }
    // `[1..512, "%PDF-1."]`, `[1..512, "%PDF-2."]`: from byte 1, 511 + 7 bytes.
    let window = &bytes[bytes.len().min(1)..bytes.len().min(1 + 511 + 7)];
    window
        .windows(7)
        .any(|w| w == b"%PDF-1." || w == b"%PDF-2.")
}

/// validations/mime.rb: one error listing the files whose extension or detected type is
/// in the list.
fn mime_call(dir: &Path, files: &[String], r: &mut Report) -> Result<()> {
    let mut bad = Vec::new();
    for f in files {
        // `File.extname(...).delete('.')`
        let name = f.rsplit('/').next().unwrap_or(f);
        let ext = match name.rfind('.') {
            Some(at) if at > 0 => name[at + 1..].replace('.', ""),
            _ => String::new(),
        };
        let bytes = std::fs::read(dir.join(f)).with_context(|| format!("reading {f}"))?;
        if UNSUPPORTED_MIME_TYPES.contains(&ext.as_str()) || unsupported_magic(&bytes) {
            bad.push(f.as_str());
        }
    }
    if !bad.is_empty() {
        r.error(
            "unsupported_mime_type_detected",
            format!("unsupported file type(s): {}", bad.join(", ")),
        );
    }
    Ok(())
}

// ---- validations/secrets.rb (warnings) ---------------------------------------------------------

/// `Secrets::SECRET_KEYWORDS`, in the gem's order (`Regexp.union`).
const SECRET_KEYWORDS: &[&str] = &[
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
    "api_key",
];

/// `Secrets::APPLICATION_SECRETS`, as Rust regexes: the same patterns, but the gem's
/// `(?m)` (Ruby: `.` matches a newline) is `(?s)` here, with `(?m)` added since Ruby's `^` is
/// always a line start.
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
        "Facebook OAuth Token",
        r#"([f|F][a|A][c|C][e|E][b|B][o|O][o|O][k|K]( [|:"=-]|[:"=-|]).*.[0-9a-f]{24,36})"#,
    ),
    (
        "Twitter OAuth Token",
        r#"([t|T][w|W][i|I][t|T][t|T][e|E][r|R]( [:"=-]|[:"=-]).*.[0-9a-zA-Z]{30,45})"#,
    ),
    (
        "Github Token",
        r#"([g|G][i|I][t|T][h|H][u|U][b|B]( [:"=-]|[:"=-]).*.[0-9a-zA-Z]{30,45})"#,
    ),
    (
        "Google OAuth Token",
        r#"([c|C][l|L][i|I][e|E][n|N][t|T][\-_][s|S][e|E][c|C][r|R][e|E][t|T]( [:"=-]|[:"=-]).*[a-zA-Z0-9\-_]{16,32})"#,
    ),
    ("AWS Access Key ID", r"(AKIA[0-9A-Z]{8,24})"),
    (
        "AWS Secret Access Key",
        r"([a|A][w|W][s|S][_-][s|S][e|E][c|C][r|R][e|E][t|T][_-][a|A][c|C][c|C][e|E][s|S][s|S][_-][k|K][e|E][y|Y].*.[0-9a-zA-Z]{24,48})",
    ),
    (
        "Heroku API Key",
        r"([h|H][e|E][r|R][o|O][k|K][u|U].*[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{6,18})",
    ),
    (
        "Quickpay Secret",
        r"(quickpay_secret:.*.[0-9a-zA-Z]{24,72})",
    ),
    (
        "Doorman Secret",
        r"([d|D][o|O][o|O][r|R][m|M][a|A][n|N][-_][s|S][e|E][c|C][r|R][e|E][t|T].*.[0-9a-f]{16,132})",
    ),
    (
        "Shared Session Secret",
        r"(shared_session_secret.*.[0-9a-f]{4,132})",
    ),
    (
        "Permanent Cookie Secret",
        r"(permanent_cookie_secret.*.[0-9a-f]{120,156})",
    ),
    (
        "Scarlett AWS Secret Key",
        r"([sS][cC][aA][rR][lL][eE][tT][tT][_-][aA][wW][sS][_-][sS][eE][cC][rR][eE][tT][_-][kK][eE][yY].*.[0-9a-zA-Z+.]{35,45})",
    ),
    ("Braintree Key", r"(braintree_key.*.[0-9a-zA-Z]{16,36})"),
    (
        "Ticket Validation Key",
        r"(ticket_validation_key.*.[0-9a-zA-Z]{15,25})",
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
        "Consumer Key",
        r#"([cC][oO][nN][sS][uU][mM][eE][rR][-_][kK][eE][yY]( [:"=-]|[:"=-]).*.[0-9a-zA-Z+_.-]{4,156})"#,
    ),
    (
        "Consumer Secret",
        r#"([cC][oO][nN][sS][uU][mM][eE][rR][-_][sS][eE][cC][rR][eE][tT]( [:"=-]|[:"=-]).*.[0-9a-zA-Z+_.-]{4,156})"#,
    ),
    (
        "Generic Secret",
        r#"(?sm)^([sS][eE][cC][rR][eE][tT]( [:"=-]|[:"=-]).*.[0-9a-zA-Z+_.-]{4,156})"#,
    ),
    (
        "Master Key",
        r#"([mM][aA][sS][tT][eE][rR][-_][kK][eE][yY]( [:"=-]|[:"=-]).*.[0-9a-zA-Z+_.-]{4,156})"#,
    ),
    (
        "Master Secret",
        r#"([mM][aA][sS][tT][eE][rR][-_][sS][eE][cC][rR][eE][tT]( [:"=-]|[:"=-]).*.[0-9a-zA-Z+_.-]{4,156})"#,
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
        "Zendesk Zopim Mobile SSO Key",
        r"(zendesk_zopim_mobile_sso_key.*.[0-9a-f]{58,68})",
    ),
    (
        "Help Center Private Key",
        r#"([pP][rR][iI][vV][aA][tT][eE][-_][kK][eE][yY]( [:"=-]|[:"=-]).*.[0-9a-zA-Z+_.-]{4,156})"#,
    ),
    (
        "X-Outbound-Key",
        r#"([xX][-][oO][uU][tT][bB][oO][uU][nN][dD][-][kK][eE][yY][:" \t=-].*.[0-9a-z-]{32,36})"#,
    ),
    (
        "Attachment Token Key",
        r"(attachment_token_key.*.[0-9a-f]{24,72})",
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

/// package.rb `text_files`: paths matching `.*(html?|xml|js|json?)$` (no dot needed: `.jsx`,
/// `.css` or `.svg` are not among them, `x.mjs` is).
pub fn is_text_file(f: &str) -> bool {
    ["htm", "html", "xml", "js", "jso", "json"]
        .iter()
        .any(|ext| f.ends_with(ext))
}

/// The secret patterns, compiled once.
fn secret_patterns() -> &'static [(&'static str, Regex)] {
    static PATTERNS: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        APPLICATION_SECRETS
            .iter()
            .map(|(name, re)| (*name, Regex::new(re).expect("the secret patterns compile")))
            .collect()
    })
}

/// secrets.rb `Regexp.union(SECRET_KEYWORDS).match(contents)`: the leftmost keyword (the
/// first listed, at the same place).
pub fn first_secret_keyword(contents: &str) -> Option<&'static str> {
    SECRET_KEYWORDS
        .iter()
        .filter_map(|k| contents.find(k).map(|at| (at, *k)))
        .min_by_key(|(at, _)| *at)
        .map(|(_, k)| k)
}

/// validations/secrets.rb: one warning per text file and secret pattern it matches; one
/// warning naming every text file with a secret keyword.
fn secrets_call(dir: &Path, files: &[String], r: &mut Report) -> Result<()> {
    let mut compromised = Vec::new();
    for f in files.iter().filter(|f| is_text_file(f)) {
        let contents = read(dir, f)?;
        for (name, re) in secret_patterns() {
            if re.is_match(&contents) {
                r.warn(
                    "application_secret",
                    format!("possible {name} found in {f}"),
                );
            }
        }
        if let Some(k) = first_secret_keyword(&contents) {
            compromised.push(format!("{f} ('{k}...')"));
        }
    }
    if !compromised.is_empty() {
        r.warn(
            "generic_secrets",
            format!("possible secrets found in {}", compromised.join(", ")),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// package.rb `text_files`: `.*(html?|xml|js|json?)$`, no dot needed.
    #[test]
    fn text_files_are_the_gems() {
        for f in [
            "a.js", "a.mjs", "a.json", "a.html", "a.htm", "a.xml", "a.jso",
        ] {
            assert!(is_text_file(f), "{f}");
        }
        for f in ["a.jsx", "a.css", "a.svg", "a.md", "a.txt", "a.ts", "a.yml"] {
            assert!(!is_text_file(f), "{f}");
        }
    }

    /// secrets.rb `SECRET_KEYWORDS` through `Regexp.union`: the leftmost, the first listed
    /// at the same place; "pass" and "username" are not among them.
    #[test]
    fn secret_keywords_are_the_gems() {
        assert_eq!(first_secret_keyword("a secretToken"), Some("secret"));
        assert_eq!(
            first_secret_keyword("api_key then password"),
            Some("api_key")
        );
        assert_eq!(first_secret_keyword("pass the username"), None);
    }

    /// secrets.rb `APPLICATION_SECRETS`: all 35, and Ruby's `(?m)` (`.` crosses lines) in the
    /// Generic Secret pattern.
    #[test]
    fn secret_patterns_are_the_gems() {
        assert_eq!(secret_patterns().len(), 35);
        let matched = |text: &str| -> Vec<&str> {
            secret_patterns()
                .iter()
                .filter(|(_, re)| re.is_match(text))
                .map(|(name, _)| *name)
                .collect()
        };
        assert_eq!(matched("secret:\n  abcdefgh"), ["Generic Secret"]);
        assert_eq!(matched("x secret: abcdefgh"), Vec::<&str>::new());
        assert_eq!(matched("{ token: \"0123456789\" }"), ["Token"]);
        assert_eq!(matched("AKIAABCDEFGHIJKL"), ["AWS Access Key ID"]);
    }

    /// requests.rb: Ruby's `URI.regexp(['http'])`, and the group its warning names.
    #[test]
    fn http_urls_are_found_as_the_gem_finds_them() {
        assert_eq!(
            insecure_http("see http://getify.mit-license.org */"),
            ["getify.mit-license.org"]
        );
        assert_eq!(
            insecure_http("<a href=\"http://example.com/about?x=1\">"),
            ["x=1"]
        );
        assert_eq!(insecure_http("http://example.com/a/b"), ["/a/b"]);
        assert_eq!(insecure_http("protocol === \"http:\""), ["http"]);
        assert!(insecure_http("HTTP://EXAMPLE.COM https://example.com").is_empty());
    }

    /// marketplace.rb `no_symlinks`: dotfiles and tmp/ included, dot folders not entered.
    #[test]
    fn symlinks_are_found_where_the_gems_glob_looks() {
        let dir = std::env::temp_dir().join(format!("sealdrop-symlinks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["assets", "tmp", ".git"] {
            std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
        }
        for link in ["assets/.cache", "tmp/latest", ".git/head", "assets/en.json"] {
            std::os::unix::fs::symlink("../x", dir.join(link)).expect("symlink");
        }
        let found = symlinks(&dir).expect("walks");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(found, ["assets/.cache", "assets/en.json", "tmp/latest"]);
    }

    /// translations.rb `VALID_LOCALE`.
    #[test]
    fn locales_are_the_gems() {
        for l in ["en", "fil", "pt-br", "zh-tw", "es-419"] {
            assert!(valid_locale(l), "{l}");
        }
        for l in ["english", "EN", "e", "pt-brazil", "zh-Hant"] {
            assert!(!valid_locale(l), "{l}");
        }
    }

    /// manifest.rb `invalid_location_uri_error` and `valid_url?` over `URI.parse`.
    #[test]
    fn uris_parse_as_rubys_uri_does() {
        let uri = parse_uri("HTTPS://user@h.example:99/p?q#f").expect("parses");
        assert_eq!(uri.scheme.as_deref(), Some("https"));
        assert_eq!(uri.host.as_deref(), Some("h.example"));
        assert_eq!(uri.path, "/p");
        let uri = parse_uri("assets/index.html?x=1").expect("parses");
        assert_eq!(
            (uri.scheme, uri.host, uri.path.as_str()),
            (None, None, "assets/index.html")
        );
        assert_eq!(parse_uri("https://").expect("parses").host, None);
        for bad in [
            "https://x y",
            "https://a.example/{x}",
            "https://h.example:abc",
            "%zz",
        ] {
            assert_eq!(parse_uri(bad), None, "{bad}");
        }
    }

    /// manifest.rb's `NoOverrideHash`: a key given twice is refused, at any depth.
    #[test]
    fn repeated_json_keys_are_found() {
        assert_eq!(
            parse_json(r#"{"a": {"b": 1, "b": 2}}"#).expect("JSON"),
            Err("b".to_owned())
        );
        assert!(parse_json(r#"{"a": [{"b": 1}, {"b": 2}]}"#)
            .expect("JSON")
            .is_ok());
    }

    /// mime.rb through Marcel's magic numbers.
    #[test]
    fn unsupported_types_are_found_by_content() {
        assert!(unsupported_magic(b"PK\x03\x04rest"));
        assert!(unsupported_magic(b"\x1F\x8B\x08"));
        assert!(unsupported_magic(b"garbage %PDF-1.7"));
        assert!(!unsupported_magic(b"\x89PNG\r\n\x1a\n"));
        assert!(!unsupported_magic(b"const a = 1;"));
    }

    /// banner.rb: a PNG of 830x200 or 1660x400 (not checkable against the real gem here:
    /// Debian does not package its `image_size` dependency).
    #[test]
    fn the_banner_must_be_a_png_of_the_right_size() {
        let dir = std::env::temp_dir().join(format!("sealdrop-banner-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("assets")).expect("mkdir");
        let png = |w: u32, h: u32| {
            let mut b = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
            b.extend(w.to_be_bytes());
            b.extend(h.to_be_bytes());
            b
        };
        let verdict = |bytes: &[u8]| {
            std::fs::write(dir.join("assets/banner.png"), bytes).expect("write");
            let mut r = Report::default();
            banner_call(&dir, &mut r).expect("reads");
            r.errors
        };
        assert!(verdict(&png(830, 200)).is_empty());
        assert!(verdict(&png(1660, 400)).is_empty());
        assert!(verdict(&png(800, 200))[0].starts_with("banner.invalid_size"));
        assert!(verdict(b"GIF89a")[0].starts_with("banner.invalid_format"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
