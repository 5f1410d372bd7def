//! `cargo xtask check-app` and `cargo xtask package-app`: the Zendesk app in `agent-app/`.
//!
//! `zcli apps:validate` needs a Zendesk login, so check-app applies Zendesk's own validator
//! offline: `validations.rs` ports `ZendeskAppsSupport::Package#validate` of the
//! `zendesk_apps_support` gem (what Zendesk's upload runs) and reports the gem's own keys, in
//! marketplace mode (the gem's default; `--private` leaves validations/marketplace.rb out).
//! `fixtures.rs` holds the port to the real gem's verdicts, recorded in
//! `xtask/zendesk_validator/expected.txt`; `cargo xtask test --only app` (`stage.rs`) runs the
//! real gem under Ruby (`xtask/zendesk_validator/validate.rb`) on the package and the folder.
//!
//! A few rules are sealdrop's own and keyed `sealdrop.`: the two logos exist, a
//! `{{setting.x}}` in a location URL names a declared parameter, every parameter has a label in
//! translations/en.json, and every string key the sidebar (`web/sidebar/`) uses is in its
//! `strings/en.json`.
//!
//! The app Zendesk gets is assembled (`assemble.rs`) into `target/agent-app/`: `agent-app/`
//! plus the sidebar page, its modules, the shared modules and the wasm core under `assets/`,
//! so that Zendesk serves the sidebar from the reviewed package (docs/ZENDESK.md "Sidebar from
//! the app package"). check-app checks that folder by default (its manifest points the sidebar
//! at `assets/sidebar.html`, which `agent-app/` alone does not hold), and sealdrop's rule
//! `sealdrop.sidebar_outside_package` that the page loads nothing from outside it.
//!
//! The package is the zip `zcli apps:package` uploads: `manifest.json`, `translations/*.json`
//! and `assets/**` at the root of the archive, written to `{app folder}/tmp/app-{version}.zip`
//! (zcli writes `tmp/app-{timestamp}.zip`).

pub mod assemble;
pub mod fixtures;
pub mod stage;
pub mod validations;

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use validations::{Manifest, Parameter};

/// What a check found: errors fail it; warnings are Zendesk's warnings, printed.
#[derive(Debug, Default)]
pub struct Report {
    /// `key: sentence` per problem.
    pub errors: Vec<String>,
    /// `key: sentence` per warning Zendesk would give.
    pub warnings: Vec<String>,
}

/// The one warning Zendesk's validator gives the app, and why it is expected: its
/// `generic_secrets` rule (validations/secrets.rb) reports any script or JSON file that holds
/// the word `secret` (or `password`, `api_key`, …) anywhere, and the packaged sidebar must
/// name ZAF's own `jwt.secret_key` option and the `shared_secret` setting, and talks of the
/// link secret throughout. No secret is in the package: the setting's value lives in Zendesk.
///
/// `application_secret` likewise: its "Token" pattern matches the sidebar's handling of the
/// upload and download tokens the server hands out per package (`uploadToken = …`), which are
/// not secrets of the app. To be narrowed (renaming those variables) so that only the first
/// remains.
pub const EXPECTED_WARNINGS: &[&str] = &["generic_secrets", "application_secret"];

impl Report {
    /// Warnings other than [`EXPECTED_WARNINGS`].
    pub fn unexpected_warnings(&self) -> Vec<&String> {
        self.warnings
            .iter()
            .filter(|w| {
                !EXPECTED_WARNINGS
                    .iter()
                    .any(|k| w.starts_with(&format!("{k}:")))
            })
            .collect()
    }

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

    /// The verdict as the real validator's is compared with it: `error KEY` and `warning KEY`
    /// once per finding, sorted, without sealdrop's own rules.
    pub fn zendesk_verdict(&self) -> Vec<String> {
        let key = |line: &String| {
            line.split_once(": ")
                .map_or(line.clone(), |(k, _)| k.to_owned())
        };
        let mut out: Vec<String> = self
            .errors
            .iter()
            .map(|e| format!("error {}", key(e)))
            .chain(self.warnings.iter().map(|w| format!("warning {}", key(w))))
            .filter(|v| !v.contains(" sealdrop."))
            .collect();
        out.sort();
        out
    }
}

/// `cargo xtask check-app [--private] [DIR]` and `cargo xtask package-app [--private] [DIR]`.
pub fn main(command: &str, args: &[String]) -> Result<()> {
    let mut dir = None;
    let mut marketplace = true;
    let mut server_host = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--server-url" => {
                let url = args
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--server-url needs a URL"))?;
                let host = url
                    .strip_prefix("https://")
                    .ok_or_else(|| anyhow::anyhow!("--server-url must be an https URL"))?
                    .split(['/', ':', '?', '#'])
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                server_host = Some(host);
            }
            "--help" | "-h" => {
                println!(
                    "cargo xtask {command} [--private] [--server-url URL] [DIR]\n\
                     (default: agent-app/ assembled with the sidebar into target/agent-app/)\n\n\
                     Applies Zendesk's app validator (the zendesk_apps_support gem {}, ported) and\n\
                     sealdrop's own rules. Marketplace mode (no symlinks, no experiments) unless\n\
                     --private.",
                    validations::GEM_VERSION
                );
                return Ok(());
            }
            "--private" => marketplace = false,
            other if other.starts_with('-') => bail!("unknown option {other}"),
            other => dir = Some(PathBuf::from(other)),
        }
    }
    let dir = match dir {
        Some(dir) => dir,
        None => {
            // The wasm core goes into the package: package-app builds it; check-app uses the
            // last build.
            if command == "package-app" {
                crate::wasm::build()?;
            }
            let out = crate::proc::target_dir().join("agent-app");
            let pkg = crate::proc::repo_root().join("widget-wasm/pkg");
            assemble::assemble(&out, server_host.as_deref(), &pkg)?
        }
    };
    if command == "package-app" && server_host.is_none() {
        println!(
            "warning: no --server-url: domainWhitelist names {}, so Zendesk's proxy will not give \
             the app its shared secret; package with your server's URL",
            assemble::PLACEHOLDER_HOST
        );
    }
    let report = check_as(&dir, marketplace)?;
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
        // The release's other half: the Help Center snippet pins this release's loader.
        let pkg = crate::proc::repo_root().join("widget-wasm/pkg");
        let release = crate::widget::built(&pkg)
            .ok_or_else(|| anyhow::anyhow!("the widget release is missing after the build"))?;
        println!(
            "xtask: the Help Center snippet for this release (the admin's screen fills in the two \
             keys; data-admin-key is the admin key's fingerprint, compact form):\n  {}",
            crate::widget::snippet("https://SEALDROP_HOST", &release.loader_integrity)
        );
    }
    Ok(())
}

// ---- the check -------------------------------------------------------------------------------

/// Zendesk's validation in marketplace mode, then sealdrop's own rules, on the app in `dir`.
pub fn check(dir: &Path) -> Result<Report> {
    check_as(dir, true)
}

/// [`check`], in marketplace mode or not (the gem's `validate(marketplace:)`).
pub fn check_as(dir: &Path, marketplace: bool) -> Result<Report> {
    let mut r = Report::default();
    let manifest = validations::validate(dir, marketplace, &mut r)?;
    // sealdrop: the logos the Zendesk admin centre shows.
    for logo in ["assets/logo.png", "assets/logo-small.png"] {
        if !dir.join(logo).is_file() {
            r.error("sealdrop.missing_logo", format!("{logo} is missing"));
        }
    }
    if let Some(m) = &manifest {
        for lo in &m.location_options {
            if let Some(Value::String(url)) = &lo.url {
                if url.contains("{{setting.") {
                    check_setting_url(lo.product, &lo.name, url, &m.parameters, &mut r);
                }
            }
        }
        check_parameter_labels(dir, m, &mut r);
    }
    assemble::check_self_contained(dir, &mut r)?;
    check_sidebar_strings(&crate::proc::repo_root().join("web/sidebar"), &mut r)?;
    Ok(r)
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

/// sealdrop: every parameter has a label in translations/en.json (Zendesk shows the bare name
/// in the settings form otherwise).
fn check_parameter_labels(dir: &Path, m: &Manifest, r: &mut Report) {
    let Ok(text) = std::fs::read_to_string(dir.join("translations/en.json")) else {
        return;
    };
    let Ok(en) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    for p in &m.parameters {
        let label = en
            .pointer("/app/parameters")
            .and_then(|ps| ps.get(p.name()))
            .and_then(|p| p.get("label"))
            .and_then(Value::as_str);
        if label.is_none_or(str::is_empty) {
            r.error(
                "sealdrop.missing_parameter_label",
                format!(
                    "translations/en.json: app.parameters.{}.label is missing",
                    p.name()
                ),
            );
        }
    }
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
    let files: Vec<String> = validations::files(dir)?
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
    use serde_json::Map;

    /// The app folder as package-app assembles it, once per test process, with a stand-in
    /// for the wasm core (its build is not the point here).
    fn app_dir() -> PathBuf {
        static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        DIR.get_or_init(|| {
            let root = std::env::temp_dir().join(format!("sealdrop-app-{}", std::process::id()));
            let pkg = root.join("pkg");
            std::fs::create_dir_all(&pkg).expect("mkdir");
            std::fs::write(
                pkg.join("sealdrop_widget.js"),
                "export default async function init() {}\n",
            )
            .expect("write");
            std::fs::write(pkg.join("sealdrop_widget_bg.wasm"), b"\0asm\x01\0\0\0").expect("write");
            assemble::assemble(&root.join("app"), None, &pkg).expect("the app assembles")
        })
        .clone()
    }

    /// A copy of the real app in a temporary folder, with `change` applied to its manifest.
    fn broken(name: &str, change: impl FnOnce(&mut Map<String, Value>)) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sealdrop-app-check-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in validations::files(&app_dir()).expect("the app's files") {
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
        for marketplace in [true, false] {
            let report = check_as(&app_dir(), marketplace).expect("the check runs");
            assert!(report.errors.is_empty(), "errors: {:#?}", report.errors);
            assert!(
                report.unexpected_warnings().is_empty(),
                "warnings: {:#?}",
                report.warnings
            );
        }
    }

    #[test]
    fn a_setting_placeholder_must_name_a_parameter() {
        let r = errors_of("setting", |m| {
            m.insert(
                "location".into(),
                serde_json::json!({ "support": { "ticket_sidebar": {
                    "url": "{{setting.nowhere}}/zendesk/sidebar", "flexible": true } } }),
            );
        });
        assert!(r.has("sealdrop.setting_placeholder"), "{:?}", r.errors);
    }

    #[test]
    fn a_parameter_without_a_label_is_refused() {
        let r = errors_of("label", |m| {
            let params = m
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
                .expect("parameters");
            params.push(serde_json::json!({ "name": "region", "type": "text" }));
        });
        assert!(r.has("sealdrop.missing_parameter_label"), "{:?}", r.errors);
        let verdict: Vec<String> = r
            .zendesk_verdict()
            .into_iter()
            .filter(|v| {
                !EXPECTED_WARNINGS
                    .iter()
                    .any(|k| *v == format!("warning {k}"))
            })
            .collect();
        assert!(
            verdict.is_empty(),
            "Zendesk itself does not ask for labels: {verdict:?}"
        );
    }

    #[test]
    fn a_missing_logo_is_refused() {
        let dir = broken("logo", |_| {});
        std::fs::remove_file(dir.join("assets/logo-small.png")).expect("rm");
        let r = check(&dir).expect("runs");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(r.has("sealdrop.missing_logo"), "{:?}", r.errors);
    }

    /// validations/svg.rb and the body of requirements.json are not ported: refused, never
    /// passed unread.
    #[test]
    fn what_the_port_does_not_follow_is_refused() {
        let dir = broken("unported", |_| {});
        std::fs::write(dir.join("assets/icon.svg"), "<svg/>").expect("write");
        std::fs::write(dir.join("requirements.json"), "{}").expect("write");
        let r = check(&dir).expect("runs");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(r.has("sealdrop.svg_not_ported"), "{:?}", r.errors);
        assert!(r.has("sealdrop.requirements_not_ported"), "{:?}", r.errors);
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
    fn the_sidebar_may_load_nothing_from_outside_the_package() {
        let dir = broken("outside", |_| {});
        let js = dir.join("assets/inbox.js");
        let text = std::fs::read_to_string(&js).expect("inbox.js");
        std::fs::write(
            &js,
            format!("import {{ x }} from \"/static/shared/api.js\";\n{text}"),
        )
        .expect("write");
        let r = check(&dir).expect("runs");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(r.has("sealdrop.sidebar_outside_package"), "{:?}", r.errors);
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
        for want in [
            "manifest.json",
            "translations/en.json",
            "assets/logo.png",
            "assets/logo-small.png",
            "assets/sidebar.html",
            "assets/sidebar.js",
            "assets/signin.js",
            "assets/team/device.js",
            "assets/shared/api.js",
            "assets/pkg/sealdrop_widget.js",
            "assets/pkg/sealdrop_widget_bg.wasm",
        ] {
            assert!(names.contains(&want), "{want} is in the package: {names:?}");
        }
        assert!(
            names.iter().all(|n| n.starts_with("assets/")
                || *n == "manifest.json"
                || n.starts_with("translations/")),
            "only what Zendesk uses, at the root, and not the package itself: {names:?}"
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
