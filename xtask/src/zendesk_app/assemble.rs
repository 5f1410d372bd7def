//! The app folder Zendesk gets: `agent-app/` (manifest, translations, logos) plus the sidebar
//! itself under `assets/`, so that Zendesk serves the sidebar from the reviewed package and
//! the sealdrop server cannot change its code (docs/ZENDESK.md "Sidebar from the app package").
//!
//! Layout of `target/agent-app/` (then zipped by [`super::package`]):
//!
//! | from | to |
//! |---|---|
//! | `agent-app/manifest.json`, `translations/`, `assets/logo*.png` | the same paths |
//! | `web/sidebar/**` (page, styles, the ZAF SDK, modules, `team/`, `strings/`) | `assets/` |
//! | `web/shared/*.js` | `assets/shared/` |
//! | `widget-wasm/pkg/sealdrop_widget.js`, `sealdrop_widget_bg.wasm` | `assets/pkg/` |
//!
//! The only changes made to files on the way: the absolute URLs the server-served sidebar
//! uses (`/static/shared/…`, `/static/pkg/…`, `/agent-app/…`) become relative ones, so the
//! page loads nothing from outside the package; and the ZAF SDK bundle's licence comment names
//! its one address over https (Zendesk's validator flags any http: URL in a script). With `--server-url` the manifest's
//! `domainWhitelist` names the server's host: Zendesk's proxy inserts the secure setting
//! `shared_secret` only into requests to those hosts.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The host the checked-in manifest names in `domainWhitelist`, which `--server-url` replaces.
pub const PLACEHOLDER_HOST: &str = "sealdrop.example.com";

/// Assembles the app folder into `out` (emptied first) and returns it. `server_host`, when
/// given, replaces the placeholder host in `domainWhitelist`.
pub fn assemble(out: &Path, server_host: Option<&str>, wasm_pkg: &Path) -> Result<PathBuf> {
    let root = crate::proc::repo_root();
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("emptying {}", out.display()))?;
    }
    let app = root.join("agent-app");
    // The app's own files.
    copy_tree(
        &app.join("translations"),
        &out.join("translations"),
        &|_| true,
    )?;
    copy_tree(&app.join("assets"), &out.join("assets"), &|_| true)?;
    let mut manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(app.join("manifest.json")).context("reading the manifest")?,
    )?;
    if let Some(host) = server_host {
        if host.is_empty() || host.contains(['/', ':', ' ']) {
            bail!("--server-url must name a host; got {host:?}");
        }
        manifest["domainWhitelist"] = Value::from(vec![host.to_owned()]);
    }
    std::fs::write(
        out.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    // The sidebar, its shared modules and the wasm core.
    let assets = out.join("assets");
    copy_tree(&root.join("web/sidebar"), &assets, &|_| true)?;
    copy_tree(&root.join("web/shared"), &assets.join("shared"), &|p| {
        p.extension().is_some_and(|e| e == "js")
    })?;
    let pkg = wasm_pkg;
    for file in ["sealdrop_widget.js", "sealdrop_widget_bg.wasm"] {
        let from = pkg.join(file);
        if !from.is_file() {
            bail!(
                "{} is missing: run `cargo xtask wasm` first (package-app does)",
                from.display()
            );
        }
        std::fs::create_dir_all(assets.join("pkg"))?;
        std::fs::copy(&from, assets.join("pkg").join(file))?;
    }
    relativise(&assets, &assets)?;
    Ok(out.to_path_buf())
}

/// Copies the files below `from` that `keep` accepts into `to`, skipping dotfiles.
fn copy_tree(from: &Path, to: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            copy_tree(&path, &to.join(&name), keep)?;
        } else if keep(&path) {
            std::fs::copy(&path, to.join(&name))
                .with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}

/// Rewrites the server-absolute URLs in every `.js` and `.html` file below `dir` into paths
/// relative to the file (`assets` is the package's `assets/`).
fn relativise(dir: &Path, assets: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            relativise(&path, assets)?;
            continue;
        }
        let is_text = path.extension().is_some_and(|e| e == "js" || e == "html");
        if !is_text {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "zaf_sdk.js") {
            // The bundle's one http: URL is in a licence comment (Native Promise Only's), which
            // Zendesk's validator would report as an insecure request: the same address over
            // https, nothing else touched.
            let text = std::fs::read_to_string(&path)?;
            let fixed = text.replace(
                "MIT License: http://getify.mit-license.org",
                "MIT License: https://getify.mit-license.org",
            );
            if fixed != text {
                std::fs::write(&path, fixed)?;
            }
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let up = up_to(assets, &path);
        let rewritten = rewrite(&text, &up);
        if rewritten != text {
            std::fs::write(&path, rewritten)?;
        }
    }
    Ok(())
}

/// `./` for a file directly in `assets`, `../` for one a folder below, and so on.
fn up_to(assets: &Path, file: &Path) -> String {
    let depth = file
        .parent()
        .and_then(|p| p.strip_prefix(assets).ok())
        .map_or(0, |rel| rel.components().count());
    if depth == 0 {
        "./".to_owned()
    } else {
        "../".repeat(depth)
    }
}

/// The rewrite itself: quoted absolute URLs only (`"/static/shared/x.js"`), so prose in
/// comments and other strings stays as it is.
pub fn rewrite(text: &str, up: &str) -> String {
    let mut out = text.to_owned();
    for quote in ['"', '\''] {
        for (from, to) in [
            ("/static/shared/", "shared/"),
            ("/static/pkg/", "pkg/"),
            ("/agent-app/", ""),
        ] {
            out = out.replace(&format!("{quote}{from}"), &format!("{quote}{up}{to}"));
        }
    }
    out
}

/// sealdrop: what the packaged sidebar loads stays inside the package: no module import and
/// no `src`/`href` of `sidebar.html` is absolute (`/…`) or names another origin.
pub fn check_self_contained(dir: &Path, r: &mut super::Report) -> Result<()> {
    let assets = dir.join("assets");
    if !assets.join("sidebar.html").is_file() {
        return Ok(());
    }
    let mut offending = Vec::new();
    scan(&assets, &assets, &mut offending)?;
    for (file, target) in offending {
        r.error(
            "sealdrop.sidebar_outside_package",
            format!("{file} loads {target:?}, which is not a file of the package"),
        );
    }
    Ok(())
}

fn scan(dir: &Path, assets: &Path, out: &mut Vec<(String, String)>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            scan(&path, assets, out)?;
            continue;
        }
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if (ext != "js" && ext != "html") || path.file_name().is_some_and(|n| n == "zaf_sdk.js") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let rel = path
            .strip_prefix(assets)
            .unwrap_or(&path)
            .display()
            .to_string();
        let markers: &[&str] = if ext == "html" {
            &["src=\"", "href=\""]
        } else {
            &["from \"", "import(\""]
        };
        for marker in markers {
            let mut rest = text.as_str();
            while let Some(at) = rest.find(marker) {
                let after = &rest[at + marker.len()..];
                let end = after.find('"').unwrap_or(after.len());
                let target = &after[..end];
                let outside = target.starts_with('/')
                    || target.contains("://")
                    || (ext == "js" && !target.starts_with("./") && !target.starts_with("../"));
                let resolves = path
                    .parent()
                    .map(|p| p.join(target.split(['?', '#']).next().unwrap_or_default()))
                    .is_some_and(|f| f.is_file());
                if outside || (!target.is_empty() && !target.starts_with('#') && !resolves) {
                    out.push((rel.clone(), target.to_owned()));
                }
                rest = &after[end..];
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_imports_become_relative() {
        let js = "import { Api } from \"/static/shared/api.js\";\nimport * as wasm from \"/static/pkg/sealdrop_widget.js\";\n// see /static/shared/x.js\n";
        let got = rewrite(js, "../");
        assert!(got.contains("from \"../shared/api.js\""));
        assert!(got.contains("from \"../pkg/sealdrop_widget.js\""));
        assert!(
            got.contains("// see /static/shared/x.js"),
            "prose is left alone"
        );
        let html = "<script src=\"/agent-app/sidebar.js\"></script>";
        assert_eq!(
            rewrite(html, "./"),
            "<script src=\"./sidebar.js\"></script>"
        );
    }
}
