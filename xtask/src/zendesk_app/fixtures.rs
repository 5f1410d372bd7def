//! Apps that differ from `agent-app/` as it was when they were recorded (the manifest and
//! translations below) by one thing each, and the verdict Zendesk's real
//! validator gives on each, recorded in `xtask/zendesk_validator/expected.txt`. The unit tests
//! hold the port (validations.rs) to those verdicts; the `app` test stage holds the real gem
//! to them where it can run it, and rewrites the file when told to
//! (`SEALDROP_RECORD_ZENDESK_VERDICTS=1`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

/// One app to validate.
pub struct Fixture {
    pub name: &'static str,
    /// The gem's `validate(marketplace:)`.
    pub marketplace: bool,
    /// What it changes in a copy of `agent-app/`.
    make: fn(&Path) -> Result<()>,
}

const fn fixture(name: &'static str, make: fn(&Path) -> Result<()>) -> Fixture {
    Fixture {
        name,
        marketplace: true,
        make,
    }
}

const fn private(name: &'static str, make: fn(&Path) -> Result<()>) -> Fixture {
    Fixture {
        name,
        marketplace: false,
        make,
    }
}

fn write(dir: &Path, file: &str, contents: impl AsRef<[u8]>) -> Result<()> {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().expect("a file has a folder"))?;
    std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))
}

fn link(dir: &Path, file: &str, target: &str) -> Result<()> {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().expect("a file has a folder"))?;
    std::os::unix::fs::symlink(target, &path).with_context(|| format!("linking {}", path.display()))
}

fn edit_json(dir: &Path, file: &str, change: impl FnOnce(&mut Map<String, Value>)) -> Result<()> {
    let path = dir.join(file);
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    change(v.as_object_mut().context("a JSON object")?);
    write(dir, file, serde_json::to_string_pretty(&v)? + "\n")
}

fn edit_manifest(dir: &Path, change: impl FnOnce(&mut Map<String, Value>)) -> Result<()> {
    edit_json(dir, "manifest.json", change)
}

fn add_parameter(dir: &Path, parameter: Value) -> Result<()> {
    edit_manifest(dir, |m| {
        if let Some(Value::Array(ps)) = m.get_mut("parameters") {
            ps.push(parameter);
        }
    })
}

fn set_location(dir: &Path, location: Value) -> Result<()> {
    edit_manifest(dir, |m| {
        m.insert("location".into(), location);
    })
}

/// The sidebar location of the app, with `url`.
fn sidebar_at(url: &str) -> Value {
    json!({ "support": { "ticket_sidebar": { "url": url, "flexible": true } } })
}

const SIDEBAR: &str = "{{setting.sealdrop_url}}/zendesk/sidebar";

/// Every fixture, in expected.txt's order.
pub const FIXTURES: &[Fixture] = &[
    fixture("app", |_| Ok(())),
    private("app-private", |_| Ok(())),
    // The issue's case: the sidebar's strings linked into assets/.
    fixture("symlink-en-json", |d| {
        link(
            d,
            "assets/translations/en.json",
            "../../translations/en.json",
        )
    }),
    private("symlink-en-json-private", |d| {
        link(
            d,
            "assets/translations/en.json",
            "../../translations/en.json",
        )
    }),
    fixture("symlink-dotfile", |d| {
        link(d, "assets/.cache", "../manifest.json")
    }),
    fixture("symlink-in-tmp", |d| {
        link(d, "tmp/latest.zip", "app-1.0.0.zip")
    }),
    fixture("symlink-folder", |d| {
        link(d, "assets/strings", "../translations")
    }),
    // The old sidebar in the package: a body with a token, a comment about the link secret.
    fixture("sidebar-secrets", |d| {
        write(
            d,
            "assets/sidebar.js",
            "const body = { token: \"0123456789abcdef\" };\n// the link secret stays in the fragment\n",
        )
    }),
    fixture("generic-secret-at-line-start", |d| {
        write(d, "assets/config.js", "const a = 1;\nsecret: abcdefgh\n")
    }),
    // The gem's `(?m)` is Ruby's: `.` crosses lines.
    fixture("generic-secret-across-lines", |d| {
        write(d, "assets/config.js", "secret:\n  abcdefgh\n")
    }),
    fixture("api-key-in-json", |d| {
        write(d, "assets/data.json", "{\"api_key\": \"x\"}\n")
    }),
    // Words the port once took for secrets, which the gem does not.
    fixture("pass-and-username", |d| {
        write(
            d,
            "assets/form.js",
            "const username = field(\"user\"); // pass it on\n",
        )
    }),
    // .jsx and .css are not among the gem's text files; a dotfile is not among its files.
    fixture("token-in-jsx-css-and-dotfile", |d| {
        write(
            d,
            "assets/app.jsx",
            "const c = { token: \"abcdefgh1234\" };\n",
        )?;
        write(d, "assets/style.css", "/* password: hunter2hunter2 */\n")?;
        write(
            d,
            "assets/.env.js",
            "const c = { token: \"abcdefgh1234\" };\n",
        )
    }),
    // The vendored ZAF SDK's licence comment.
    fixture("http-in-vendored-sdk", |d| {
        write(
            d,
            "assets/zaf_sdk.js",
            "/*! (c) Kyle Simpson MIT License: http://getify.mit-license.org */\n",
        )
    }),
    fixture("http-link-in-html", |d| {
        write(
            d,
            "assets/about.html",
            "<a href=\"http://example.com/about?x=1\">about</a>\n",
        )
    }),
    fixture("http-protocol-literal", |d| {
        write(
            d,
            "assets/page.js",
            "if (location.protocol === \"http:\") { warn(); }\n",
        )
    }),
    fixture("http-upper-case-and-https", |d| {
        write(
            d,
            "assets/page.js",
            "const a = \"HTTP://EXAMPLE.COM\", b = \"https://example.com\";\n",
        )
    }),
    fixture("three-letter-locale", |d| {
        write(
            d,
            "translations/fil.json",
            "{\"app\": {\"name\": \"sealdrop\"}}\n",
        )
    }),
    fixture("invalid-locale-file", |d| {
        write(
            d,
            "translations/english.json",
            "{\"app\": {\"name\": \"sealdrop\"}}\n",
        )
    }),
    fixture("translation-number", |d| {
        edit_json(d, "translations/en.json", |t| {
            t.insert("count".into(), json!(3));
        })
    }),
    fixture("translation-package-format", |d| {
        edit_json(d, "translations/en.json", |t| {
            if let Some(Value::Object(app)) = t.get_mut("app") {
                app.insert("package".into(), json!("sealdrop"));
            }
        })
    }),
    fixture("translation-parameter-without-label", |d| {
        edit_json(d, "translations/en.json", |t| {
            if let Some(Value::Object(app)) = t.get_mut("app") {
                app.insert(
                    "parameters".into(),
                    json!({ "sealdrop_url": "sealdrop server address" }),
                );
            }
        })
    }),
    // A public app's listing needs its long description (private apps only a name).
    private("public-app-listed", |d| {
        edit_manifest(d, |m| {
            m.insert("private".into(), json!(false));
        })
    }),
    fixture("public-app-without-long-description", |d| {
        edit_manifest(d, |m| {
            m.insert("private".into(), json!(false));
        })?;
        edit_json(d, "translations/en.json", |t| {
            if let Some(Value::Object(app)) = t.get_mut("app") {
                app.remove("long_description");
            }
        })
    }),
    fixture("private-app-without-long-description", |d| {
        edit_json(d, "translations/en.json", |t| {
            if let Some(Value::Object(app)) = t.get_mut("app") {
                app.remove("long_description");
            }
        })
    }),
    fixture("parameter-type-password", |d| {
        add_parameter(d, json!({ "name": "shared_code", "type": "password" }))
    }),
    fixture("parameter-type-mtls", |d| {
        add_parameter(d, json!({ "name": "client_cert", "type": "mtls" }))
    }),
    fixture("two-insecure-token-parameters", |d| {
        add_parameter(d, json!({ "name": "api_token", "type": "text" }))?;
        add_parameter(d, json!({ "name": "signing_key", "type": "text" }))
    }),
    fixture("secure-parameter-default-no-scopes", |d| {
        add_parameter(
            d,
            json!({ "name": "api_token", "type": "text", "secure": true, "default": "x" }),
        )
    }),
    fixture("scopes-on-insecure-parameter", |d| {
        add_parameter(
            d,
            json!({ "name": "region", "type": "text", "scopes": ["header", "cookie"] }),
        )
    }),
    fixture("hidden-required-parameter", |d| {
        add_parameter(
            d,
            json!({ "name": "tag", "type": "hidden", "required": true }),
        )
    }),
    fixture("duplicate-parameters", |d| {
        add_parameter(d, json!({ "name": "sealdrop_url", "type": "url" }))
    }),
    fixture("oauth-incomplete", |d| {
        edit_manifest(d, |m| {
            m.insert("oauth".into(), json!({ "client_id": "sealdrop" }));
        })
    }),
    fixture("ga-id-number", |d| {
        edit_manifest(d, |m| {
            m.insert("gaID".into(), json!(5));
        })
    }),
    fixture("no-template-false", |d| {
        edit_manifest(d, |m| {
            m.insert("noTemplate".into(), json!(false));
        })
    }),
    fixture("no-template-list", |d| {
        edit_manifest(d, |m| {
            m.insert("noTemplate".into(), json!(["ticket_sidebar"]));
        })
    }),
    fixture("experiment", |d| {
        edit_manifest(d, |m| {
            m.insert(
                "experiments".into(),
                json!({ "fancy": true, "hashParams": true }),
            );
        })
    }),
    private("experiment-private", |d| {
        edit_manifest(d, |m| {
            m.insert("experiments".into(), json!({ "fancy": true }));
        })
    }),
    fixture("legacy-host-name", |d| {
        set_location(
            d,
            json!({ "zendesk": { "ticket_sidebar": { "url": SIDEBAR } } }),
        )
    }),
    fixture("unknown-location", |d| {
        set_location(
            d,
            json!({ "support": { "ticket_sidebar": SIDEBAR, "ticket_module": "https://x.example/m" } }),
        )
    }),
    fixture("sell-company-card", |d| {
        set_location(
            d,
            json!({ "support": { "ticket_sidebar": SIDEBAR }, "sell": { "company_card": "https://x.example/c" } }),
        )
    }),
    fixture("custom-object-sidebar", |d| {
        set_location(
            d,
            json!({ "support": { "ticket_sidebar": SIDEBAR, "custom_object_record_sidebar": "https://x.example/c" } }),
        )
    }),
    fixture("unknown-host", |d| {
        set_location(
            d,
            json!({ "support": { "ticket_sidebar": SIDEBAR }, "guide": { "sidebar": "https://x.example/g" } }),
        )
    }),
    fixture("http-location", |d| {
        set_location(d, sidebar_at("http://files.example/zendesk/sidebar"))
    }),
    fixture("localhost-location", |d| {
        set_location(d, sidebar_at("http://localhost:8080/zendesk/sidebar"))
    }),
    fixture("asset-location", |d| {
        write(d, "assets/iframe.html", "<!doctype html><title>x</title>\n")?;
        set_location(d, sidebar_at("assets/iframe.html?v=1"))
    }),
    fixture("location-url-with-braces", |d| {
        set_location(d, sidebar_at("https://files.example/{tenant}/sidebar"))
    }),
    fixture("missing-asset-location", |d| {
        set_location(d, sidebar_at("assets/nowhere.html"))
    }),
    fixture("flexible-not-boolean", |d| {
        set_location(
            d,
            json!({ "support": { "ticket_sidebar": { "url": SIDEBAR, "flexible": "yes" } } }),
        )
    }),
    fixture("framework-1", |d| {
        edit_manifest(d, |m| {
            m.insert("frameworkVersion".into(), json!("1.0"));
        })
    }),
    fixture("framework-missing", |d| {
        edit_manifest(d, |m| {
            m.remove("frameworkVersion");
        })
    }),
    fixture("author-and-locale-missing", |d| {
        edit_manifest(d, |m| {
            m.remove("author");
            m.remove("defaultLocale");
        })
    }),
    fixture("author-url-without-scheme", |d| {
        edit_manifest(d, |m| {
            m.insert(
                "author".into(),
                json!({ "name": "sealdrop", "url": "sealdrop.example" }),
            );
        })
    }),
    fixture("marketing-only", |d| {
        edit_manifest(d, |m| {
            m.insert("marketingOnly".into(), json!(true));
        })
    }),
    fixture("duplicate-manifest-key", |d| {
        let text = std::fs::read_to_string(d.join("manifest.json"))?;
        write(
            d,
            "manifest.json",
            text.replacen("{", "{\n  \"version\": \"0.9.0\",", 1),
        )
    }),
    fixture("manifest-not-json", |d| {
        write(d, "manifest.json", "{ not json\n")
    }),
    fixture("nested-manifest", |d| {
        std::fs::create_dir_all(d.join("app"))?;
        std::fs::rename(d.join("manifest.json"), d.join("app/manifest.json"))?;
        Ok(())
    }),
    fixture("mime-by-content", |d| {
        write(d, "assets/extra.dat", b"PK\x03\x04\x14\x00\x00\x00")
    }),
    fixture("mime-by-extension", |d| {
        write(d, "assets/install.sh", "#!/bin/sh\necho hi\n")
    }),
    fixture("app-js-in-v2", |d| write(d, "app.js", "console.log(1);\n")),
    // Valid requirements: the gem reads them; the port refuses with its own key only.
    fixture("requirements", |d| {
        write(
            d,
            "requirements.json",
            "{\"targets\": {\"alerts\": {\"title\": \"Alerts\", \"type\": \"email_target\", \"email\": \"a@b.example\", \"subject\": \"Hi\"}}}\n",
        )
    }),
];

/// The manifest the verdicts were recorded on: `agent-app/`'s before the sidebar moved into
/// the package. The fixtures keep it, so that each still differs from a known-good app by one
/// thing and the recorded verdicts stay the gem's, whatever the live app becomes.
const RECORDED_BASE_MANIFEST: &str = r#"{
  "name": "sealdrop",
  "author": {
    "name": "sealdrop",
    "email": "support@sealdrop.example",
    "url": "https://sealdrop.example"
  },
  "defaultLocale": "en",
  "private": true,
  "location": {
    "support": {
      "ticket_sidebar": {
        "url": "{{setting.sealdrop_url}}/zendesk/sidebar",
        "flexible": true
      }
    }
  },
  "version": "1.0.0",
  "frameworkVersion": "2.0",
  "signedUrls": true,
  "singleInstall": true,
  "parameters": [
    {
      "name": "sealdrop_url",
      "type": "url",
      "required": true
    }
  ]
}
"#;

/// Its translations, likewise.
const RECORDED_BASE_TRANSLATIONS: &str = r#"{
  "app": {
    "name": "sealdrop",
    "short_description": "End-to-end encrypted files in tickets.",
    "long_description": "Open, download and send end-to-end encrypted files from the ticket. Files are encrypted and decrypted in the browser; the sealdrop server only ever holds ciphertext.",
    "installation_instructions": "Enter the address of your sealdrop server, then open a ticket: the first Zendesk admin to open the app authorizes sealdrop to read users and tickets.",
    "parameters": {
      "sealdrop_url": {
        "label": "sealdrop server address",
        "helpText": "For example https://files.example.com (no trailing slash)."
      }
    }
  }
}
"#;

/// Builds `fixture` in `into` (emptied first): a copy of `agent-app/`, with the recorded base
/// manifest and translations, and its change.
pub fn build(fixture: &Fixture, app: &Path, into: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(into);
    for f in super::validations::files(app)? {
        let to = into.join(&f);
        std::fs::create_dir_all(to.parent().expect("a file has a folder"))?;
        std::fs::copy(app.join(&f), &to).with_context(|| format!("copying {f}"))?;
    }
    std::fs::create_dir_all(into)?;
    std::fs::write(into.join("manifest.json"), RECORDED_BASE_MANIFEST)?;
    std::fs::create_dir_all(into.join("translations"))?;
    std::fs::write(
        into.join("translations/en.json"),
        RECORDED_BASE_TRANSLATIONS,
    )?;
    (fixture.make)(into).with_context(|| format!("making the fixture {}", fixture.name))
}

/// `xtask/zendesk_validator/expected.txt`.
pub fn expected_path() -> PathBuf {
    crate::proc::repo_root().join("xtask/zendesk_validator/expected.txt")
}

/// The recorded verdicts: fixture name to its sorted `error KEY` / `warning KEY` list.
pub fn expected() -> Result<BTreeMap<String, Vec<String>>> {
    let path = expected_path();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let Some((name, verdict)) = line.split_once(':') else {
            bail!("{}: a line is `name: verdict`: {line:?}", path.display());
        };
        let mut items: Vec<String> = verdict
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        items.sort();
        out.insert(name.trim().to_owned(), items);
    }
    Ok(out)
}

/// One line of expected.txt.
pub fn line(name: &str, verdict: &[String]) -> String {
    if verdict.is_empty() {
        format!("{name}:")
    } else {
        format!("{name}: {}", verdict.join(", "))
    }
}

/// Writes expected.txt from verdicts the real gem gave.
pub fn record(verdicts: &BTreeMap<&str, Vec<String>>) -> Result<()> {
    let mut text = format!(
        "# What Zendesk's own app validator, the zendesk_apps_support gem {} (commit {}),\n\
         # says of each app of xtask/src/zendesk_app/fixtures.rs: `name: verdict`, the verdict\n\
         # being its errors and warnings by key, sorted. Recorded by the `app` stage of\n\
         # `cargo xtask test` (SEALDROP_RECORD_ZENDESK_VERDICTS=1) through\n\
         # xtask/zendesk_validator/validate.rb; `cargo test -p xtask` holds check-app to it.\n",
        super::validations::GEM_VERSION,
        super::validations::GEM_COMMIT
    );
    for f in FIXTURES {
        let verdict = verdicts
            .get(f.name)
            .with_context(|| format!("no verdict for the fixture {}", f.name))?;
        text.push_str(&line(f.name, verdict));
        text.push('\n');
    }
    std::fs::write(expected_path(), text).context("writing expected.txt")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// check-app gives every fixture the verdict the real validator gave it.
    #[test]
    fn check_app_agrees_with_zendesks_validator_on_every_fixture() {
        let expected = expected().expect("expected.txt");
        let app = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../agent-app");
        let root = std::env::temp_dir().join(format!("sealdrop-fixtures-{}", std::process::id()));
        let mut wrong = Vec::new();
        for f in FIXTURES {
            let dir = root.join(f.name);
            build(f, &app, &dir).expect("the fixture builds");
            let got = super::super::check_as(&dir, f.marketplace)
                .expect("the check runs")
                .zendesk_verdict();
            match expected.get(f.name) {
                Some(want) if *want == got => {}
                Some(want) => wrong.push(format!(
                    "{}: Zendesk says {want:?}, check-app {got:?}",
                    f.name
                )),
                None => wrong.push(format!("{}: not in expected.txt", f.name)),
            }
        }
        let _ = std::fs::remove_dir_all(&root);
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert_eq!(
            expected.len(),
            FIXTURES.len(),
            "expected.txt has stale names"
        );
    }
}
