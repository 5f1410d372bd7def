//! Who is calling: extractors for every credential of docs/API.md "Credentials".
//!
//! [`Principal`] is the caller acting for a tenant (a tenant API token or an agent session;
//! [`PackageCreator`] adds the widget key). Package-scoped credentials (upload token, link
//! proof, download token, recipient session) are separate extractors because they only mean
//! something together with a package id, which the domain checks against the package.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use sealdrop_crypto::LinkProof;
use sha2::{Digest, Sha256};

use super::headers;
use super::HttpError;
use crate::agents::{self, AgentContext};
use crate::policy::ReleaseCredentials;
use crate::principal::Principal;
use crate::state::AppState;
use crate::tenants;
use crate::tokens::{TokenHash, TokenKind};
use crate::widget::{self, WebOrigin};
use crate::zendesk::session::{ConfirmedRole, PREFIX as AGENT_SESSION_PREFIX};
use sealdrop_api::forwarded::{rate_bucket, ProxyTrust};

/// The bearer token of `Authorization: Bearer …`, if the header has that form.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The bearer token if it is an agent session (`sda_…`).
fn agent_bearer(headers: &HeaderMap) -> Option<&str> {
    bearer(headers).filter(|t| t.starts_with(AGENT_SESSION_PREFIX))
}

/// A header's value as text, if present and visible ASCII.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `Origin` header, if it is a web origin.
pub fn request_origin(headers: &HeaderMap) -> Option<WebOrigin> {
    header(headers, http::header::ORIGIN.as_str()).and_then(WebOrigin::parse)
}

/// The client's address: the TCP peer, or behind the configured reverse proxies the hop
/// they forwarded (`sealdrop_api::forwarded`).
pub fn client_ip(parts: &Parts, trust: &ProxyTrust) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    trust.client(peer, &parts.headers)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(http::header::AUTHORIZATION) {
            return Err(HttpError::Unauthorized(
                "This endpoint needs a tenant API token: send `Authorization: Bearer sdt_…`."
                    .into(),
            ));
        }
        let Some(token) = bearer(&parts.headers) else {
            return Err(HttpError::Unauthorized(
                "The Authorization header must be `Bearer <token>`.".into(),
            ));
        };
        if token.starts_with(TokenKind::Tenant.prefix()) {
            return match tenants::by_api_token(&state.db, token).await? {
                Some(tenant) => Ok(Self::TenantToken(tenant)),
                None => Err(HttpError::Unauthorized(
                    "The API token is not valid.".into(),
                )),
            };
        }
        if token.starts_with(AGENT_SESSION_PREFIX) {
            let (ctx, role) =
                agents::authorize(&state.db, &state.zendesk, token, state.clock.now()).await?;
            return Ok(Self::Agent {
                tenant: ctx.tenant,
                subdomain: ctx.session.tenant,
                user_id: ctx.session.user_id,
                role,
            });
        }
        Err(HttpError::Unauthorized(
            "Unknown kind of bearer token (expected `sdt_…` or `sda_…`).".into(),
        ))
    }
}

/// Who may create a package: any [`Principal`], or the Help Center widget (a widget key from
/// an allowed origin, within the widget's hourly caps and quota: [`crate::widget`]). Only
/// `POST /api/v1/packages` takes this; every other endpoint takes [`Principal`], which never
/// accepts a widget key.
#[derive(Debug, Clone)]
pub struct PackageCreator(pub Principal);

impl FromRequestParts<AppState> for PackageCreator {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(http::header::AUTHORIZATION)
            && parts.headers.contains_key(headers::WIDGET_KEY)
        {
            let (widget, origin) = widget::admit_new_package(
                &state.db,
                &state.config.widget,
                header(&parts.headers, headers::WIDGET_KEY),
                request_origin(&parts.headers),
                client_ip(parts, &state.config.proxy_trust)
                    .map(|ip| rate_bucket(ip, state.config.ipv6_rate_prefix)),
                state.clock.now(),
            )
            .await?;
            return Ok(Self(Principal::Widget {
                tenant: widget.tenant,
                origin,
            }));
        }
        Principal::from_request_parts(parts, state).await.map(Self)
    }
}

/// A caller allowed to read and change a tenant's settings and audit log: a Zendesk admin's
/// agent session (role confirmed now) or the tenant's API token.
#[derive(Debug, Clone)]
pub struct TenantAdmin(pub Principal);

impl FromRequestParts<AppState> for TenantAdmin {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Principal::from_request_parts(parts, state).await? {
            principal @ (Principal::TenantToken(_)
            | Principal::Agent {
                role: ConfirmedRole::Admin,
                ..
            }) => Ok(Self(principal)),
            Principal::Agent { .. } | Principal::Widget { .. } => Err(HttpError::Forbidden(
                "Only Zendesk admins can see or change sealdrop's settings and read its audit log."
                    .into(),
            )),
        }
    }
}

/// Any verified agent session (`Authorization: Bearer sda_…`), setup sessions included: the
/// role is not checked.
#[derive(Debug, Clone)]
pub struct AgentSession(pub AgentContext);

impl FromRequestParts<AppState> for AgentSession {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = agent_bearer(&parts.headers).ok_or_else(|| {
            HttpError::Unauthorized(
                "This endpoint needs the agent session: send `Authorization: Bearer sda_…`.".into(),
            )
        })?;
        Ok(Self(
            agents::session_context(&state.db, &state.zendesk, token).await?,
        ))
    }
}

/// `X-Sealdrop-Upload-Token`, parsed and hashed; the domain compares it with the package.
#[derive(Debug, Clone)]
pub struct UploadToken(pub TokenHash);

impl<S: Sync> FromRequestParts<S> for UploadToken {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        upload_token(&parts.headers)?.map(Self).ok_or_else(|| {
            HttpError::Unauthorized(
                "This endpoint needs the package's upload token in `X-Sealdrop-Upload-Token`."
                    .into(),
            )
        })
    }
}

/// Reads `X-Sealdrop-Upload-Token` if present; malformed is an error.
fn upload_token(headers: &HeaderMap) -> Result<Option<TokenHash>, HttpError> {
    let Some(value) = headers.get(headers::UPLOAD_TOKEN) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|t| TokenHash::parse(TokenKind::Upload, t.trim()))
        .map(Some)
        .ok_or_else(|| {
            HttpError::Unauthorized("The upload token is malformed (expected `sdu_…`).".into())
        })
}

/// `X-Sealdrop-Link-Proof: b64u(A)`.
#[derive(Debug)]
pub struct LinkProofHeader(pub LinkProof);

impl<S: Sync> FromRequestParts<S> for LinkProofHeader {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(headers::LINK_PROOF) else {
            return Err(HttpError::Unauthorized(
                "This endpoint needs the link proof in `X-Sealdrop-Link-Proof` (derived from the secure link).".into(),
            ));
        };
        value
            .to_str()
            .ok()
            .and_then(|v| LinkProof::parse_b64u(v.trim()).ok())
            .map(Self)
            .ok_or_else(|| {
                // A credential that cannot be one is as unusable as a missing one: 401, like a
                // malformed upload or download token.
                HttpError::Unauthorized(
                    "The link proof is malformed (expected 43 base64url characters).".into(),
                )
            })
    }
}

/// The sessions that may unlock a `require_auth` package: `X-Sealdrop-Recipient-Session` and
/// an agent's `Authorization: Bearer sda_…`, both optional ([`crate::policy`] decides).
impl<S: Sync> FromRequestParts<S> for ReleaseCredentials {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            recipient_session: header(&parts.headers, headers::RECIPIENT_SESSION)
                .map(str::to_owned),
            agent_session: agent_bearer(&parts.headers).map(str::to_owned),
        })
    }
}

/// `X-Sealdrop-Download-Token`, parsed and hashed.
#[derive(Debug, Clone)]
pub struct DownloadToken(pub TokenHash);

impl<S: Sync> FromRequestParts<S> for DownloadToken {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(headers::DOWNLOAD_TOKEN) else {
            return Err(HttpError::Unauthorized(
                "This endpoint needs a download token in `X-Sealdrop-Download-Token` (from `POST …/download`).".into(),
            ));
        };
        value
            .to_str()
            .ok()
            .and_then(|t| TokenHash::parse(TokenKind::Download, t.trim()))
            .map(Self)
            .ok_or_else(|| {
                HttpError::Unauthorized(
                    "The download token is malformed (expected `sdd_…`).".into(),
                )
            })
    }
}

/// Who may revoke: a tenant principal, or the package's upload token.
#[derive(Debug)]
pub enum RevokeAuth {
    /// A tenant API token or agent session of the package's tenant.
    Principal(Principal),
    /// The package's upload token (only before finalize).
    Upload(TokenHash),
}

impl FromRequestParts<AppState> for RevokeAuth {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(http::header::AUTHORIZATION) {
            return Principal::from_request_parts(parts, state)
                .await
                .map(Self::Principal);
        }
        match upload_token(&parts.headers)? {
            Some(hash) => Ok(Self::Upload(hash)),
            None => Err(HttpError::Unauthorized(
                "Revoking needs a tenant API token (`Authorization: Bearer sdt_…`) or the upload token.".into(),
            )),
        }
    }
}

/// Shortest accepted idempotency key (16 random bytes in base64url are 22 characters).
const MIN_IDEMPOTENCY_KEY: usize = 22;
/// Longest accepted idempotency key.
const MAX_IDEMPOTENCY_KEY: usize = 64;

/// SHA-256 of the request's `Idempotency-Key` header, if it has one: 22 to 64 base64url
/// characters (a UUID fits too), optionally in double quotes (the structured-field string of
/// the IETF draft). Anything else is a `400`, so a client bug cannot silently count downloads.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencyKey(pub Option<[u8; 32]>);

impl<S: Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(headers::IDEMPOTENCY_KEY) else {
            return Ok(Self(None));
        };
        let text = value.to_str().unwrap_or_default();
        let key = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text);
        let well_formed = (MIN_IDEMPOTENCY_KEY..=MAX_IDEMPOTENCY_KEY).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(HttpError::bad_request(format!(
                "The Idempotency-Key header must be {MIN_IDEMPOTENCY_KEY} to {MAX_IDEMPOTENCY_KEY} base64url characters \
                 (A-Z, a-z, 0-9, - and _), e.g. 16 random bytes in base64url, made once per download and sent again \
                 on its retries."
            )));
        }
        Ok(Self(Some(Sha256::digest(key.as_bytes()).into())))
    }
}
