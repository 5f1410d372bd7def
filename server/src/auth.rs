//! Who is calling: extractors for every credential of docs/API.md "Credentials".
//!
//! [`Principal`] is the caller acting for a tenant (today: a tenant API token; agent sessions
//! and widget keys become further variants). Package-scoped credentials (upload token, link
//! proof, download token) are separate extractors because they only mean something together
//! with a package id, which the handler checks against the row.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use sealdrop_crypto::{LinkProof, LinkVerifier};

use crate::app::AppState;
use crate::db::{PackageRow, Tenant};
use crate::error::HttpError;
use crate::tokens::{TokenHash, TokenKind};
use crate::zendesk::session::ConfirmedRole;
use crate::zendesk::Subdomain;

/// Header carrying the upload token.
pub const UPLOAD_TOKEN_HEADER: &str = "x-sealdrop-upload-token";
/// Header carrying the link proof `A`.
pub const LINK_PROOF_HEADER: &str = "x-sealdrop-link-proof";
/// Header carrying a download token.
pub const DOWNLOAD_TOKEN_HEADER: &str = "x-sealdrop-download-token";

/// A caller acting for a tenant.
#[derive(Debug, Clone)]
pub enum Principal {
    /// Authenticated with a tenant API token (`Authorization: Bearer sdt_…`).
    TenantToken(Tenant),
    /// A Zendesk agent's session (`Authorization: Bearer sda_…`) whose role the tenant allows,
    /// confirmed through the tenant's grant when the request arrived ([`crate::agents`]).
    Agent {
        /// The agent's tenant.
        tenant: Tenant,
        /// Its Zendesk subdomain.
        subdomain: Subdomain,
        /// The Zendesk user id.
        user_id: u64,
        /// The confirmed role.
        role: ConfirmedRole,
    },
    /// The Help Center widget: the tenant's public widget key (`X-Sealdrop-Widget-Key`) from
    /// one of its Help Center origins ([`crate::widget`]). Only ever made by [`PackageCreator`]:
    /// the key is public, so it can do nothing but create a Help Center package.
    Widget {
        /// The widget key's tenant.
        tenant: Tenant,
        /// The Help Center origin the request came from.
        origin: crate::widget::WebOrigin,
    },
}

impl Principal {
    /// The tenant this caller acts for.
    pub fn tenant(&self) -> &Tenant {
        match self {
            Self::TenantToken(tenant)
            | Self::Agent { tenant, .. }
            | Self::Widget { tenant, .. } => tenant,
        }
    }

    /// How it is recorded in `packages.created_by` and the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TenantToken(_) => "tenant_token",
            Self::Agent { .. } => "agent",
            Self::Widget { .. } => crate::widget::CREATED_BY_WIDGET,
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(http::header::AUTHORIZATION) else {
            return Err(HttpError::Unauthorized(
                "This endpoint needs a tenant API token: send `Authorization: Bearer sdt_…`."
                    .into(),
            ));
        };
        let bearer = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(token) = bearer else {
            return Err(HttpError::Unauthorized(
                "The Authorization header must be `Bearer <token>`.".into(),
            ));
        };
        if token.starts_with(TokenKind::Tenant.prefix()) {
            if let Some(hash) = TokenHash::parse(TokenKind::Tenant, token) {
                if let Some(tenant) = state.db.tenant_by_token_hash(hash.as_bytes()).await? {
                    return Ok(Self::TenantToken(tenant));
                }
            }
            return Err(HttpError::Unauthorized(
                "The API token is not valid.".into(),
            ));
        }
        if token.starts_with(crate::zendesk::session::PREFIX) {
            let (ctx, role) = crate::agents::authorize(state, token).await?;
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
            && parts.headers.contains_key(crate::widget::WIDGET_KEY_HEADER)
        {
            let (widget, origin) = crate::widget::admit_new_package(state, parts).await?;
            return Ok(Self(Principal::Widget {
                tenant: widget.tenant,
                origin,
            }));
        }
        Principal::from_request_parts(parts, state).await.map(Self)
    }
}

/// `X-Sealdrop-Upload-Token`, parsed and hashed; the handler compares it with the package.
#[derive(Debug, Clone)]
pub struct UploadToken(pub TokenHash);

impl FromRequestParts<AppState> for UploadToken {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        upload_token(&parts.headers)?.map(Self).ok_or_else(|| {
            HttpError::Unauthorized(
                "This endpoint needs the package's upload token in `X-Sealdrop-Upload-Token`."
                    .into(),
            )
        })
    }
}

/// Reads `X-Sealdrop-Upload-Token` if present; malformed is an error.
pub fn upload_token(headers: &HeaderMap) -> Result<Option<TokenHash>, HttpError> {
    let Some(value) = headers.get(UPLOAD_TOKEN_HEADER) else {
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

impl FromRequestParts<AppState> for LinkProofHeader {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(LINK_PROOF_HEADER) else {
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
                HttpError::bad_request(
                    "The link proof is malformed (expected 43 base64url characters).",
                )
            })
    }
}

/// Checks a link proof against a package row in constant time, doing the same work whether
/// or not the package exists or has a verifier yet, so that a wrong proof and an unknown
/// package look alike.
pub fn link_proof_matches(row: Option<&PackageRow>, proof: &LinkProof) -> bool {
    let stored = row
        .and_then(|r| r.link_verifier.as_deref())
        .and_then(|v| <[u8; 32]>::try_from(v).ok());
    let verifier = LinkVerifier::from_bytes(stored.unwrap_or([0u8; 32]));
    let matches = verifier.matches(proof);
    matches & stored.is_some()
}

/// `X-Sealdrop-Download-Token`, parsed and hashed.
#[derive(Debug, Clone)]
pub struct DownloadToken(pub TokenHash);

impl FromRequestParts<AppState> for DownloadToken {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(DOWNLOAD_TOKEN_HEADER) else {
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
