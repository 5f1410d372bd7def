//! The Help Center widget's release: what `GET /widget/v1/loader.js` and
//! `/widget/v1/assets/` serve, built after the wasm package by `cargo xtask wasm`.
//!
//! The theme pins the loader with Subresource Integrity, and the loader pins everything it
//! loads (docs/SECURITY.md "Code the server cannot swap"): so that the loader can be pinned,
//! its bytes must be fixed at build time, and so that it can pin the rest, the rest must be a
//! few files whose hashes it carries. The widget's ES modules therefore go into two bundles
//! (esbuild, pinned in `xtask/esbuild/`): `widget.js` (the page side, from
//! `web/widget/widget.js` and what it imports) and `worker.js` (the encrypting worker, from
//! `web/widget/worker.js`, with `web/shared/upload.js` and the wasm-bindgen glue). A bundle
//! imports nothing, so the loader can start it from a `blob:` URL of bytes it has hashed
//! (a module loaded from a blob cannot resolve relative imports, and rewriting imports at run
//! time would need a JavaScript parser in the loader). Then:
//!
//! ```text
//! widget-wasm/pkg/widget/
//!   widget.js worker.js widget.css sealdrop_widget_bg.wasm   the files the loader loads
//!   loader.js      web/widget/loader.js with their SHA-384s in place of its placeholder
//!   release.json   {"loader": "sha384-…", "files": {"widget.js": "sha384-…", …}}
//! ```
//!
//! Nothing in it is kept by hand: a change to any module, the stylesheet or the wasm changes
//! the loader, and so the snippet's `integrity`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha384};

use crate::proc::{self, repo_root};
use crate::setup;

/// The placeholder in `web/widget/loader.js` that the file hashes replace (with its quotes).
const PLACEHOLDER: &str = "\"__SEALDROP_WIDGET_RELEASE__\"";
/// The wasm-bindgen glue, imported by `web/widget/worker.js` under this name.
const WASM_ALIAS: &str = "sealdrop-wasm";

/// A built release.
#[derive(Debug)]
pub struct Release {
    /// `sha384-…` of `loader.js`: the snippet's `integrity`.
    pub loader_integrity: String,
}

/// The release folder inside a wasm package folder.
pub fn release_dir(pkg: &Path) -> PathBuf {
    pkg.join("widget")
}

/// Builds the release into `<pkg>/widget/` from `web/` and the wasm package in `pkg`.
pub fn build(pkg: &Path) -> Result<Release> {
    let root = repo_root();
    let esbuild_dir = root.join("xtask/esbuild");
    setup::npm_packages(&esbuild_dir)?;
    let dir = release_dir(pkg);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    let glue = pkg.join("sealdrop_widget.js");
    if !glue.is_file() {
        bail!(
            "{} is missing: build the wasm package first",
            glue.display()
        );
    }
    proc::run(
        Command::new(esbuild_dir.join("node_modules/.bin/esbuild"))
            .current_dir(&root)
            .args([
                "web/widget/widget.js",
                "web/widget/worker.js",
                "--bundle",
                "--format=esm",
                "--target=es2022",
                "--charset=utf8",
                "--legal-comments=inline",
                "--log-level=warning",
            ])
            .arg(format!("--alias:{WASM_ALIAS}={}", glue.display()))
            .arg(format!("--outdir={}", dir.display())),
    )
    .context("bundling the widget with esbuild")?;
    std::fs::copy(root.join("web/widget/widget.css"), dir.join("widget.css"))?;
    std::fs::copy(
        pkg.join("sealdrop_widget_bg.wasm"),
        dir.join("sealdrop_widget_bg.wasm"),
    )?;

    let mut files = BTreeMap::new();
    for name in [
        "widget.js",
        "worker.js",
        "widget.css",
        "sealdrop_widget_bg.wasm",
    ] {
        let bytes = std::fs::read(dir.join(name))
            .with_context(|| format!("the bundle step wrote no {name}"))?;
        files.insert(name, integrity(&bytes));
    }
    let template = std::fs::read_to_string(root.join("web/widget/loader.js"))?;
    let loader = fill_in(&template, &files)?;
    std::fs::write(dir.join("loader.js"), &loader)?;
    let loader_integrity = integrity(loader.as_bytes());
    let release = serde_json::json!({ "loader": loader_integrity, "files": files });
    std::fs::write(
        dir.join("release.json"),
        serde_json::to_string_pretty(&release)? + "\n",
    )?;
    println!(
        "xtask: Help Center widget in {}; the snippet pins the loader with integrity=\"{loader_integrity}\"",
        dir.display()
    );
    Ok(Release { loader_integrity })
}

/// The loader's integrity of an already built release, if there is one.
pub fn built(pkg: &Path) -> Option<Release> {
    let loader = std::fs::read(release_dir(pkg).join("loader.js")).ok()?;
    Some(Release {
        loader_integrity: integrity(&loader),
    })
}

/// The Help Center snippet for a release served at `host`, with placeholders for the tenant's
/// widget key and admin key fingerprint (docs/ZENDESK.md "Help Center widget").
pub fn snippet(host: &str, loader_integrity: &str) -> String {
    format!(
        r#"<script src="{host}/widget/v1/loader.js" integrity="{loader_integrity}" crossorigin="anonymous" data-key="sdw_…" data-admin-key="ADMIN_KEY_FINGERPRINT" async></script>"#
    )
}

/// `sha384-` and the base64 of SHA-384: Subresource Integrity's form.
pub fn integrity(bytes: &[u8]) -> String {
    format!("sha384-{}", STANDARD.encode(Sha384::digest(bytes)))
}

/// The loader template with `files` (name → integrity) in place of its one placeholder.
fn fill_in(template: &str, files: &BTreeMap<&str, String>) -> Result<String> {
    if template.matches(PLACEHOLDER).count() != 1 {
        bail!("web/widget/loader.js must hold {PLACEHOLDER} exactly once");
    }
    Ok(template.replace(PLACEHOLDER, &serde_json::to_string(files)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_is_sris_sha384_form() {
        // The example of the SRI specification's "alert('Hello, world.');".
        assert_eq!(
            integrity(b"alert('Hello, world.');"),
            "sha384-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO"
        );
    }

    #[test]
    fn the_loader_template_gets_the_hashes_once() {
        let files = BTreeMap::from([("widget.js", "sha384-abc".to_owned())]);
        let filled = fill_in("var RELEASE = \"__SEALDROP_WIDGET_RELEASE__\";", &files)
            .expect("one placeholder");
        assert_eq!(filled, r#"var RELEASE = {"widget.js":"sha384-abc"};"#);
        assert!(fill_in("var RELEASE = {};", &files).is_err());
    }

    #[test]
    fn the_loader_in_web_widget_is_a_template_with_one_placeholder() {
        let template = std::fs::read_to_string(repo_root().join("web/widget/loader.js"))
            .expect("web/widget/loader.js");
        let files = BTreeMap::from([("widget.js", "sha384-abc".to_owned())]);
        let filled = fill_in(&template, &files).expect("exactly one placeholder");
        assert!(filled.contains(r#"var RELEASE = {"widget.js":"sha384-abc"};"#));
    }
}
