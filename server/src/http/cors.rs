//! CORS for the Help Center widget: the widget's endpoints and the package endpoints it
//! uploads through may be read only by the tenant's Help Center origins (the package's tenant
//! for upload-token requests, any tenant's for preflights, which carry no key). Requests
//! without `Origin` pass untouched (the CLI, the server's own pages).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::request_origin;
use super::HttpError;
use crate::db::CreatedBy;
use crate::state::AppState;
use crate::widget::{self, WebOrigin};

/// Request headers the widget sends cross-origin.
const ALLOWED_HEADERS: &str =
    "content-type, x-sealdrop-widget-key, x-sealdrop-upload-token, x-sealdrop-sha256, x-sealdrop-link-verifier";
/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: &str = "7200";

/// Which cross-origin policy a path falls under.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CorsRoute {
    /// `/widget/v1/config` and `/widget/v1/roster`: answers (errors included) are readable by
    /// any origin, so the widget can show why it was refused; the handler enforces key and
    /// origin.
    Config,
    /// `POST /api/v1/packages` with a widget key: the key's tenant's origins.
    Create,
    /// Upload-token endpoints of one package: its tenant's origins, widget packages only.
    Package(String),
    /// Not a widget endpoint.
    Other,
}

fn cors_route(path: &str) -> CorsRoute {
    if path == "/widget/v1/config" || path == "/widget/v1/roster" {
        return CorsRoute::Config;
    }
    if path == "/api/v1/packages" {
        return CorsRoute::Create;
    }
    let Some(rest) = path.strip_prefix("/api/v1/packages/") else {
        return CorsRoute::Other;
    };
    let mut segments = rest.split('/');
    let id = segments.next().unwrap_or_default();
    let tail: Vec<&str> = segments.collect();
    let upload_endpoint = matches!(
        tail.as_slice(),
        [] | ["manifest"] | ["parts"] | ["finalize"] | ["files", _, "parts", _]
    );
    if id.is_empty() || !upload_endpoint {
        return CorsRoute::Other;
    }
    CorsRoute::Package(id.to_owned())
}

/// Whether `origin` may read answers of `route` (`key` is the widget key header, if any).
async fn origin_allowed(
    state: &AppState,
    route: &CorsRoute,
    origin: &WebOrigin,
    headers: &HeaderMap,
    preflight: bool,
) -> bool {
    let outcome = match route {
        CorsRoute::Config => return true,
        CorsRoute::Other => return false,
        CorsRoute::Create if preflight => widget::any_tenant_allows(&state.db, origin).await,
        CorsRoute::Create => {
            let key = headers
                .get(super::headers::WIDGET_KEY)
                .and_then(|v| v.to_str().ok());
            match widget::tenant_for_key(&state.db, key).await {
                Ok(tenant) => Ok(tenant.allows(origin)),
                Err(_) => return false,
            }
        }
        CorsRoute::Package(_) if preflight => widget::any_tenant_allows(&state.db, origin).await,
        CorsRoute::Package(id) => widget::tenant_by_package(&state.db, id).await.map(|found| {
            found.is_some_and(|(tenant, by)| by == CreatedBy::Widget && tenant.allows(origin))
        }),
    };
    outcome.unwrap_or_else(|e| {
        tracing::error!(error = %e, "CORS: looking up the allowed origins failed");
        false
    })
}

fn allow(headers: &mut HeaderMap, origin: &WebOrigin) {
    if let Ok(value) = HeaderValue::from_str(origin.as_str()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// The CORS middleware (see the module docs). Preflights of widget endpoints are answered
/// here, before routing; other requests get `Access-Control-Allow-Origin` added to their
/// answer when their origin may read it.
pub async fn cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(origin) = request_origin(req.headers()) {
        if state.zendesk.config.is_app_origin(origin.as_str()) && is_agent_path(req.uri().path()) {
            return app_cors(&origin, req, next).await;
        }
    }
    let route = cors_route(req.uri().path());
    let origin = request_origin(req.headers());
    let (Some(origin), false) = (origin, route == CorsRoute::Other) else {
        return next.run(req).await;
    };
    if is_preflight(&req) {
        if !origin_allowed(&state, &route, &origin, req.headers(), true).await {
            return HttpError::Forbidden("This origin may not use the sealdrop widget.".into())
                .into_response();
        }
        return preflight_answer(&origin, ALLOWED_HEADERS);
    }
    let allowed = origin_allowed(&state, &route, &origin, req.headers(), false).await;
    let mut response = next.run(req).await;
    if allowed {
        allow(response.headers_mut(), &origin);
    }
    response
}

/// A CORS preflight: `OPTIONS` asking about a method.
fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The `204` that allows `origin` the API's methods and `allowed_headers`, cached by the
/// browser for [`PREFLIGHT_MAX_AGE`].
fn preflight_answer(origin: &WebOrigin, allowed_headers: &'static str) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    allow(h, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, DELETE"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(allowed_headers),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    response
}

/// Request headers the packaged sidebar sends cross-origin (agent session, uploads, ranges).
const APP_ALLOWED_HEADERS: &str = "authorization, content-type, range, idempotency-key, \
     x-sealdrop-upload-token, x-sealdrop-sha256, x-sealdrop-link-proof, x-sealdrop-link-verifier, \
     x-sealdrop-download-token";
/// Answer headers the packaged sidebar reads.
const APP_EXPOSED_HEADERS: &str = "content-range, content-length, retry-after";

/// Paths the packaged sidebar calls with its agent session: the API and the grant's start.
fn is_agent_path(path: &str) -> bool {
    path.starts_with("/api/v1/") || path == "/zendesk/oauth/start"
}

/// CORS for the sidebar served from the app package (docs/ZENDESK.md "Sidebar from the app
/// package"): its origin may read any answer of the API, without credentials (no cookie is
/// ever set; the agent session travels in `Authorization`, which a page of another origin
/// does not have), so allowing the origin grants nothing the session does not.
async fn app_cors(origin: &WebOrigin, req: Request, next: Next) -> Response {
    if is_preflight(&req) {
        return preflight_answer(origin, APP_ALLOWED_HEADERS);
    }
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    allow(h, origin);
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(APP_EXPOSED_HEADERS),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_routes_are_the_widget_endpoints_only() {
        assert_eq!(cors_route("/widget/v1/config"), CorsRoute::Config);
        assert_eq!(cors_route("/widget/v1/roster"), CorsRoute::Config);
        assert_eq!(cors_route("/api/v1/packages"), CorsRoute::Create);
        for path in [
            "/api/v1/packages/abc",
            "/api/v1/packages/abc/manifest",
            "/api/v1/packages/abc/parts",
            "/api/v1/packages/abc/finalize",
            "/api/v1/packages/abc/files/0/parts/3",
        ] {
            assert_eq!(cors_route(path), CorsRoute::Package("abc".into()), "{path}");
        }
        for path in [
            "/api/v1/packages/abc/open",
            "/api/v1/packages/abc/download",
            "/api/v1/packages/abc/files/0",
            "/api/v1/audit",
            "/p/abc",
            "/api/v1/packages/",
        ] {
            assert_eq!(cors_route(path), CorsRoute::Other, "{path}");
        }
    }
}
