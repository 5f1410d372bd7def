//! The Copenhagen theme, rendered the way a Help Center renders it.
//!
//! The theme's own files (templates, `style.css`, `script.js`, the ES-module bundles in
//! `assets/`, `manifest.json`) are vendored unmodified in `fixtures/copenhagen/` (see its
//! `SOURCE.md`; `scripts/refresh-copenhagen.sh` refreshes them). What Zendesk adds around
//! them is played here:
//!
//! - the **document layout** (`<html>`, `<head>` with the theme's `style.css`, then
//!   `document_head.hbs`, `header.hbs`, the page template, `footer.hbs`, `script.js`);
//! - the **Curlybars helpers** the four templates call (`t`, `asset`, `json`, `page_path`,
//!   `link`, `breadcrumbs`, `search`, `user_avatar`, `user_name`, `my_profile`, ...), with the
//!   **template objects** the page gets (`settings` from the manifest's defaults, `help_center`,
//!   `user`, `brand`, `signed_in`, and `new_request_form`, the object the theme's React form is
//!   built from);
//! - **`style.css` compilation**: `$setting` variables and the `darken()`/`lighten()` colour
//!   functions Zendesk evaluates when it serves a theme's stylesheet.
//!
//! Zendesk's built-in translations are not part of the theme; the few strings these templates
//! use are given here in English.

use std::sync::OnceLock;

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    Renderable, ScopedJson,
};
use serde_json::{json, Value};

use crate::pages::escape;

/// Where the theme's assets are served (Zendesk serves them from a CDN under a hashed name).
pub(crate) const ASSET_PREFIX: &str = "/hc/theming_assets/";

const MANIFEST: &str = include_str!("../../fixtures/copenhagen/manifest.json");
const STYLE_CSS: &str = include_str!("../../fixtures/copenhagen/style.css");
const DOCUMENT_HEAD: &str = include_str!("../../fixtures/copenhagen/templates/document_head.hbs");
const HEADER: &str = include_str!("../../fixtures/copenhagen/templates/header.hbs");
const FOOTER: &str = include_str!("../../fixtures/copenhagen/templates/footer.hbs");
const NEW_REQUEST_PAGE: &str =
    include_str!("../../fixtures/copenhagen/templates/new_request_page.hbs");

/// The theme's files served under [`ASSET_PREFIX`]: `(name, content type, bytes)`.
pub(crate) const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "script.js",
        JS,
        include_bytes!("../../fixtures/copenhagen/script.js"),
    ),
    (
        "es-module-shims.js",
        JS,
        include_bytes!("../../fixtures/copenhagen/assets/es-module-shims.js"),
    ),
    (
        "flash-notifications-bundle.js",
        JS,
        include_bytes!("../../fixtures/copenhagen/assets/flash-notifications-bundle.js"),
    ),
    (
        "new-request-form-bundle.js",
        JS,
        include_bytes!("../../fixtures/copenhagen/assets/new-request-form-bundle.js"),
    ),
    (
        "new-request-form-translations-bundle.js",
        JS,
        include_bytes!("../../fixtures/copenhagen/assets/new-request-form-translations-bundle.js"),
    ),
    (
        "shared-bundle.js",
        JS,
        include_bytes!("../../fixtures/copenhagen/assets/shared-bundle.js"),
    ),
    (
        "ticket-fields-bundle.js",
        JS,
        include_bytes!("../../fixtures/copenhagen/assets/ticket-fields-bundle.js"),
    ),
    (
        "wysiwyg-bundle.js",
        JS,
        include_bytes!("../../fixtures/copenhagen/assets/wysiwyg-bundle.js"),
    ),
    (
        "settings/logo.png",
        "image/png",
        include_bytes!("../../fixtures/copenhagen/settings/logo.png"),
    ),
    (
        "settings/favicon.png",
        "image/png",
        include_bytes!("../../fixtures/copenhagen/settings/favicon.png"),
    ),
];
const JS: &str = "text/javascript; charset=utf-8";

/// Colour settings an admin might choose for a dark Help Center (`?colors=dark`). Copenhagen
/// has no dark mode of its own; its colour settings are what admins change.
const DARK_COLORS: &[(&str, &str)] = &[
    ("background_color", "#1C1E21"),
    ("text_color", "#E8EAED"),
    ("link_color", "#8AB4F8"),
    ("hover_link_color", "#AECBFA"),
    ("visited_link_color", "#C58AF9"),
];

/// Zendesk's built-in strings used by the rendered templates (English).
const STRINGS: &[(&str, &str)] = &[
    ("skip_navigation", "Skip to main content"),
    ("home_page", "{{name}} Help Center home page"),
    ("user_navigation", "User navigation"),
    ("sign_in", "Sign in"),
    ("toggle_navigation", "Toggle navigation menu"),
    ("profile", "Profile"),
    ("activities", "My activities"),
    ("submit_a_request", "Submit a request"),
    ("search_clear", "Clear search"),
];

/// Who looks at the page.
#[derive(Clone, Debug)]
pub(crate) enum Visitor {
    /// Not signed in: the form asks for an email address; the editor has no image upload.
    Anonymous,
    /// A signed-in end user.
    SignedIn { id: u64, name: String },
}

/// Everything a rendering of "Submit a request" depends on.
#[derive(Debug)]
pub(crate) struct NewRequestPage<'a> {
    pub help_center_name: &'a str,
    pub visitor: Visitor,
    /// `(id, name)` of each ticket form, and the selected one.
    pub forms: Vec<(u64, String)>,
    pub selected_form: u64,
    /// `?colors=dark`: the dark colour settings.
    pub dark: bool,
    /// Markup the account's admin added to `document_head.hbs` (the sealdrop loader tag).
    pub head_extra: String,
}

fn registry() -> &'static Handlebars<'static> {
    static REGISTRY: OnceLock<Handlebars<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut hb = Handlebars::new();
        hb.register_escape_fn(escape);
        for (name, text) in [
            ("document_head", DOCUMENT_HEAD),
            ("header", HEADER),
            ("footer", FOOTER),
            ("new_request_page", NEW_REQUEST_PAGE),
        ] {
            hb.register_template_string(name, text)
                .unwrap_or_else(|e| panic!("the vendored template {name}.hbs parses: {e}"));
        }
        hb.register_helper("t", Box::new(translate));
        hb.register_helper("asset", Box::new(asset));
        hb.register_helper("json", Box::new(json_helper));
        hb.register_helper("page_path", Box::new(PagePath));
        hb.register_helper("link", Box::new(link));
        hb.register_helper("my_profile", Box::new(my_profile));
        hb.register_helper("breadcrumbs", Box::new(breadcrumbs));
        hb.register_helper("search", Box::new(search));
        hb.register_helper("user_avatar", Box::new(user_avatar));
        hb.register_helper("user_name", Box::new(user_name));
        // Account links the simulator does not have (contact details, change password).
        hb.register_helper("helperMissing", Box::new(nothing));
        hb.register_helper("blockHelperMissing", Box::new(nothing));
        hb
    })
}

/// The theme's settings with the manifest's default values, as templates and `style.css` see
/// them (file settings become asset URLs).
fn settings(dark: bool) -> serde_json::Map<String, Value> {
    let manifest: Value =
        serde_json::from_str(MANIFEST).expect("the vendored manifest.json is JSON");
    let mut out = serde_json::Map::new();
    for group in manifest["settings"].as_array().into_iter().flatten() {
        for var in group["variables"].as_array().into_iter().flatten() {
            let Some(id) = var["identifier"].as_str() else {
                continue;
            };
            let value = match (var["type"].as_str(), &var["value"]) {
                (Some("file"), _) => {
                    let file = if id == "logo" || id == "favicon" {
                        format!("{ASSET_PREFIX}settings/{id}.png")
                    } else {
                        format!("{ASSET_PREFIX}settings/{id}.jpg")
                    };
                    Value::String(file)
                }
                (_, v) => v.clone(),
            };
            out.insert(id.to_string(), value);
        }
    }
    if dark {
        for (k, v) in DARK_COLORS {
            out.insert((*k).to_string(), json!(v));
        }
    }
    out
}

/// The `new_request_form` template object: the fields of the selected ticket form, named as
/// Help Center posts them (`request[subject]`, `request[description]`, ...).
fn new_request_form(page: &NewRequestPage<'_>) -> Value {
    let field = |id: u64, name: &str, kind: &str, label: &str, required: bool| {
        json!({
            "id": id, "name": name, "type": kind, "label": label, "required": required,
            "description": "", "error": null, "value": null, "options": [],
        })
    };
    let email_field = match page.visitor {
        Visitor::Anonymous => field(
            1,
            "request[anonymous_requester_email]",
            "anonymous_requester_email",
            "Your email address",
            true,
        ),
        Visitor::SignedIn { .. } => Value::Null,
    };
    let mut description = field(
        360_000_000_102,
        "request[description]",
        "description",
        "Description",
        true,
    );
    description["description"] = json!(
        "Please enter the details of your request. A member of our support staff will respond as soon as possible."
    );
    json!({
        "accept_charset": "UTF-8",
        "action": "/hc/en-us/requests",
        "http_method": "post",
        "errors": null,
        "ticket_form_field": {
            "id": 0, "name": "request[ticket_form_id]", "type": "ticket_form",
            "label": "Please choose your issue below", "required": false, "description": "",
            "error": null, "value": page.selected_form,
            "options": page.forms.iter().map(|(id, name)| json!({ "name": name, "value": id })).collect::<Vec<_>>(),
        },
        "parent_id_field": null,
        "email_field": email_field,
        "cc_field": null,
        "organization_field": null,
        "due_date_field": field(2, "request[due_at]", "due_at", "Due date", false),
        "ticket_fields": [
            field(360_000_000_101, "request[subject]", "subject", "Subject", true),
            description,
        ],
        "end_user_conditions": [],
        "attachments_field": {
            "name": "request[attachments][]", "label": "Attachments", "error": null,
            "attachments": [], "description": "", "isRequired": false,
        },
        "inline_attachments_fields": [],
        "description_mimetype_field": { "type": "hidden", "name": "request[description_mimetype]", "value": "text/plain" },
    })
}

/// The whole "Submit a request" page.
pub(crate) fn render_new_request_page(page: &NewRequestPage<'_>) -> Result<String, RenderError> {
    let settings = settings(page.dark);
    let (signed_in, user) = match &page.visitor {
        Visitor::Anonymous => (
            false,
            json!({ "id": null, "role": "anonymous", "organizations": [], "name": null }),
        ),
        Visitor::SignedIn { id, name } => (
            true,
            json!({ "id": id, "role": "end_user", "organizations": [], "name": name }),
        ),
    };
    let data = json!({
        "settings": settings,
        "help_center": {
            "name": page.help_center_name, "locale": "en-us", "base_locale": "en-us",
            "at_mentions_enabled": false, "request_management_enabled": false, "url": "/hc/en-us",
        },
        "user": user,
        "signed_in": signed_in,
        "brand": { "id": 360_000_000_001_u64, "name": page.help_center_name },
        "new_request_form": new_request_form(page),
        "parent": null,
        "answer_bot": null,
        "answer_bot_generative_experience": null,
        "request_id": null,
        "alternative_locales": [],
    });
    let hb = registry();
    let head = hb.render("document_head", &data)?;
    let header = hb.render("header", &data)?;
    let body = hb.render("new_request_page", &data)?;
    let footer = hb.render("footer", &data)?;
    let favicon = settings["favicon"].as_str().unwrap_or_default();
    Ok(format!(
        r#"<!DOCTYPE html>
<html dir="ltr" lang="en-US">
<head>
  <meta charset="utf-8" />
  <title>Submit a request &ndash; {name}</title>
  <meta name="csrf-param" content="authenticity_token">
  <link rel="stylesheet" href="{ASSET_PREFIX}style.css{css_query}" media="all" />
  <link rel="icon" type="image/png" href="{favicon}" />
  {head}
  {head_extra}
</head>
<body class="">
  {header}
  <main role="main">
    {body}
  </main>
  {footer}
  <script src="{ASSET_PREFIX}script.js"></script>
</body>
</html>
"#,
        name = escape(page.help_center_name),
        css_query = if page.dark { "?colors=dark" } else { "" },
        favicon = escape(favicon),
        head_extra = page.head_extra,
    ))
}

/// The theme's `style.css` as Zendesk serves it: `$setting` variables replaced by the
/// settings' values, then `darken(colour, N%)` and `lighten(colour, N%)` evaluated.
pub(crate) fn compiled_style_css(dark: bool) -> String {
    let settings = settings(dark);
    let mut out = String::with_capacity(STYLE_CSS.len());
    let mut rest = STYLE_CSS;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let ident_len = rest[at + 1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len() - at - 1);
        let ident = &rest[at + 1..at + 1 + ident_len];
        match settings.get(ident) {
            Some(Value::String(s)) => out.push_str(s),
            Some(other) => out.push_str(&other.to_string()),
            None => out.push_str(&rest[at..at + 1 + ident_len]),
        }
        rest = &rest[at + 1 + ident_len..];
    }
    out.push_str(rest);
    evaluate_colour_functions(&out)
}

fn evaluate_colour_functions(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    loop {
        let next = ["darken(", "lighten("]
            .iter()
            .filter_map(|f| rest.find(f).map(|at| (at, *f)))
            .min();
        let Some((at, function)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        let args_start = at + function.len();
        let Some(close) = rest[args_start..].find(')') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let args = &rest[args_start..args_start + close];
        let evaluated = args.split_once(',').and_then(|(colour, amount)| {
            let amount: f64 = amount.trim().trim_end_matches('%').parse().ok()?;
            let sign = if function == "darken(" { -1.0 } else { 1.0 };
            adjust_lightness(colour.trim(), sign * amount)
        });
        match evaluated {
            Some(colour) => out.push_str(&colour),
            None => out.push_str(&rest[at..args_start + close + 1]),
        }
        rest = &rest[args_start + close + 1..];
    }
}

/// `#RRGGBB` with its HSL lightness moved by `delta` percentage points (Sass semantics).
fn adjust_lightness(hex: &str, delta: f64) -> Option<String> {
    let hex = hex.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let channel = |i: usize| {
        u8::from_str_radix(&hex[i..i + 2], 16)
            .ok()
            .map(|v| f64::from(v) / 255.0)
    };
    let (r, g, b) = (channel(0)?, channel(2)?, channel(4)?);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let l = (max + min) / 2.0;
    let d = max - min;
    let (h, s) = if d == 0.0 {
        (0.0, 0.0)
    } else {
        let s = if l > 0.5 {
            d / (2.0 - max - min)
        } else {
            d / (max + min)
        };
        let h = if max == r {
            (g - b) / d + if g < b { 6.0 } else { 0.0 }
        } else if max == g {
            (b - r) / d + 2.0
        } else {
            (r - g) / d + 4.0
        };
        (h / 6.0, s)
    };
    let l = (l + delta / 100.0).clamp(0.0, 1.0);
    let hue = |p: f64, q: f64, mut t: f64| {
        if t < 0.0 {
            t += 1.0;
        }
        if t > 1.0 {
            t -= 1.0;
        }
        if t < 1.0 / 6.0 {
            p + (q - p) * 6.0 * t
        } else if t < 0.5 {
            q
        } else if t < 2.0 / 3.0 {
            p + (q - p) * (2.0 / 3.0 - t) * 6.0
        } else {
            p
        }
    };
    let (r, g, b) = if s == 0.0 {
        (l, l, l)
    } else {
        let q = if l < 0.5 {
            l * (1.0 + s)
        } else {
            l + s - l * s
        };
        let p = 2.0 * l - q;
        (
            hue(p, q, h + 1.0 / 3.0),
            hue(p, q, h),
            hue(p, q, h - 1.0 / 3.0),
        )
    };
    // Each channel is in [0, 1] after the clamp above, so the rounded value fits in a u8.
    let byte = |v: f64| (v * 255.0).round().clamp(0.0, 255.0) as u8;
    Some(format!("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b)))
}

// ---- helpers -----------------------------------------------------------------------------

fn str_param<'a>(h: &'a Helper<'_>, i: usize) -> &'a str {
    h.param(i)
        .and_then(|p| p.value().as_str())
        .unwrap_or_default()
}

fn hash_str<'a>(h: &'a Helper<'_>, key: &str) -> Option<&'a str> {
    h.hash_get(key).and_then(|v| v.value().as_str())
}

/// `class=` and `role=` of a helper call as HTML attributes.
fn attributes(h: &Helper<'_>) -> String {
    ["class", "role"]
        .iter()
        .filter_map(|k| hash_str(h, k).map(|v| format!(r#" {k}="{}""#, escape(v))))
        .collect()
}

/// `{{t 'key' name=value}}`: a built-in string, `{{name}}` placeholders filled from the hash.
fn translate(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let key = str_param(h, 0);
    let mut text = STRINGS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or_else(|| key.replace('_', " "), |(_, v)| (*v).to_string());
    for (name, value) in h.hash() {
        let value = value
            .value()
            .as_str()
            .map_or_else(|| value.value().to_string(), str::to_string);
        text = text.replace(&format!("{{{{{name}}}}}"), &value);
    }
    out.write(&escape(&text))?;
    Ok(())
}

/// `{{asset 'name'}}`: the URL of a theme asset.
fn asset(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    out.write(&format!("{ASSET_PREFIX}{}", escape(str_param(h, 0))))?;
    Ok(())
}

/// `{{json value}}`: the value as JSON, safe inside a `<script>` element.
fn json_helper(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let value = h.param(0).map_or(Value::Null, |p| p.value().clone());
    let text = value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    out.write(&text)?;
    Ok(())
}

/// The path of a Help Center page by its Curlybars name.
fn page_path_of(name: &str) -> &'static str {
    match name {
        "help_center" => "/hc/en-us",
        "new_request" => "/hc/en-us/requests/new",
        "requests" => "/hc/en-us/requests",
        "community" => "/hc/en-us/community/topics",
        "applications" => "/hc/en-us/applications",
        "service_catalog" => "/hc/en-us/services",
        "sign_in" => "/hc/en-us/signin",
        "sign_out" => "/access/logout",
        "contributions" => "/hc/en-us/contributions/posts",
        "approval_requests" => "/hc/en-us/approval_requests",
        _ => "/hc/en-us",
    }
}

/// The link text Help Center gives a page link without a block.
fn page_title(name: &str) -> Option<&'static str> {
    Some(match name {
        "help_center" => "Help Center",
        "new_request" => "Submit a request",
        "requests" => "Requests",
        "sign_out" => "Sign out",
        // Pages an account without Community, service catalog or AI agents does not link.
        _ => return None,
    })
}

/// `(page_path 'name')`: a value, for use as a subexpression.
#[derive(Clone, Copy, Debug)]
struct PagePath;

impl HelperDef for PagePath {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        Ok(ScopedJson::Derived(json!(page_path_of(str_param(h, 0)))))
    }
}

/// `{{link 'page'}}` and `{{#link 'page'}}…{{/link}}`.
fn link<'reg, 'rc>(
    h: &Helper<'rc>,
    r: &'reg Handlebars<'reg>,
    ctx: &'rc Context,
    rc: &mut RenderContext<'reg, 'rc>,
    out: &mut dyn Output,
) -> HelperResult {
    let name = str_param(h, 0);
    let block = h.template();
    let Some(title) = page_title(name).or(block.map(|_| "")) else {
        return Ok(());
    };
    if matches!(
        name,
        "community" | "applications" | "service_catalog" | "chat"
    ) {
        return Ok(());
    }
    out.write(&format!(
        r#"<a href="{}"{}>"#,
        page_path_of(name),
        attributes(h)
    ))?;
    match block {
        Some(t) => t.render(r, ctx, rc, out)?,
        None => out.write(title)?,
    }
    out.write("</a>")?;
    Ok(())
}

/// `{{#my_profile}}…{{/my_profile}}`: a link to the signed-in user's profile.
fn my_profile<'reg, 'rc>(
    h: &Helper<'rc>,
    r: &'reg Handlebars<'reg>,
    ctx: &'rc Context,
    rc: &mut RenderContext<'reg, 'rc>,
    out: &mut dyn Output,
) -> HelperResult {
    let id = ctx.data()["user"]["id"].as_u64().unwrap_or_default();
    out.write(&format!(
        r#"<a href="/hc/en-us/profiles/{id}"{}>"#,
        attributes(h)
    ))?;
    if let Some(t) = h.template() {
        t.render(r, ctx, rc, out)?;
    }
    out.write("</a>")?;
    Ok(())
}

fn breadcrumbs(
    _: &Helper<'_>,
    _: &Handlebars<'_>,
    ctx: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let name = escape(
        ctx.data()["help_center"]["name"]
            .as_str()
            .unwrap_or_default(),
    );
    out.write(&format!(
        r#"<ol class="breadcrumbs"><li title="{name}"><a href="/hc/en-us">{name}</a></li><li title="Submit a request">Submit a request</li></ol>"#
    ))?;
    Ok(())
}

fn search(
    _: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    out.write(r#"<form role="search" class="search" data-search="" action="/hc/en-us/search" accept-charset="UTF-8" method="get"><input type="search" name="query" id="query" placeholder="Search" autocomplete="off" aria-label="Search"></form>"#)?;
    Ok(())
}

fn user_avatar(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    out.write(&format!(
        r#"<img src="{ASSET_PREFIX}settings/favicon.png" alt=""{}>"#,
        attributes(h)
    ))?;
    Ok(())
}

fn user_name(
    _: &Helper<'_>,
    _: &Handlebars<'_>,
    ctx: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    out.write(&escape(
        ctx.data()["user"]["name"].as_str().unwrap_or_default(),
    ))?;
    Ok(())
}

fn nothing(
    _: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    _: &mut dyn Output,
) -> HelperResult {
    Ok(())
}

/// The theme asset `name`: `(content type, bytes)`.
pub(crate) fn asset_file(name: &str) -> Option<(&'static str, &'static [u8])> {
    ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, t, b)| (*t, *b))
}

/// The setting values by name, for tests.
#[cfg(test)]
fn setting_values(dark: bool) -> std::collections::BTreeMap<String, Value> {
    settings(dark).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_darken_and_lighten_like_sass() {
        assert_eq!(
            adjust_lightness("#FFFFFF", -3.0).as_deref(),
            Some("#f7f7f7")
        );
        assert_eq!(
            adjust_lightness("#2F3941", 20.0).as_deref(),
            Some("#5a6d7c")
        );
        assert_eq!(
            adjust_lightness("#17494D", -20.0).as_deref(),
            Some("#000000")
        );
        assert_eq!(adjust_lightness("red", 5.0), None);
    }

    #[test]
    fn style_css_has_no_variables_or_colour_functions_left() {
        for dark in [false, true] {
            let css = compiled_style_css(dark);
            assert!(
                !css.contains("$brand_color") && !css.contains("$text_color"),
                "variables left"
            );
            assert!(
                !css.contains("darken(") && !css.contains("lighten("),
                "functions left"
            );
        }
        assert!(
            compiled_style_css(true).contains("#1C1E21"),
            "the dark background"
        );
        assert_eq!(setting_values(false)["text_color"], json!("#2F3941"));
    }

    #[test]
    fn the_page_carries_the_form_object_and_the_import_map() {
        let page = NewRequestPage {
            help_center_name: "Acme",
            visitor: Visitor::Anonymous,
            forms: vec![(1, "Default".into()), (2, "Billing <b>".into())],
            selected_form: 2,
            dark: false,
            head_extra: "<!-- extra -->".into(),
        };
        let html = render_new_request_page(&page).expect("renders");
        assert!(
            html.contains(r#""new-request-form": "/hc/theming_assets/new-request-form-bundle.js""#)
        );
        assert!(html.contains(r#"<div id="new-request-form"></div>"#));
        assert!(
            html.contains(r#""name":"Billing \u003cb\u003e""#),
            "JSON is script-safe"
        );
        assert!(html.contains(r#""value":2"#));
        assert!(html.contains("request[anonymous_requester_email]"));
        assert!(html.contains("<!-- extra -->"));
        assert!(html.contains("Skip to main content"));
    }
}
