//! Data requests ([`crate::data_requests`]), for a tenant's admins:
//!
//! - `GET /api/v1/tenant/export`: the tenant export as JSON, or one table of it as CSV
//!   (`?format=csv&table=settings|packages|recipients|audit`);
//! - `POST /api/v1/tenant/subjects/export` `{email}`: everything the tenant holds about one
//!   address;
//! - `POST /api/v1/tenant/subjects/erase` `{email, confirm}`: erases it, once the address is
//!   typed twice.
//!
//! The address travels in a body, never in a URL, so no access log or proxy records it.
//! Callers: the tenant's API token or a Zendesk admin's agent session ([`TenantAdmin`]).

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sealdrop_api::data_requests::{EraseRequest, ExportQuery, SubjectRequest};

use crate::data_requests::{self, Table};
use crate::http::auth::TenantAdmin;
use crate::http::{HttpError, RequiredJson};
use crate::state::AppState;
use crate::verification::EmailAddress;

/// The data request routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenant/export", get(export_tenant))
        .route("/api/v1/tenant/subjects/export", post(export_subject))
        .route("/api/v1/tenant/subjects/erase", post(erase_subject))
}

fn table_names() -> String {
    Table::ALL
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn export_tenant(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let Query(query) = query
        .map_err(|e| HttpError::bad_request(format!("Bad query string: {}.", e.body_text())))?;
    let table = match (query.format.as_deref(), query.table.as_deref()) {
        (None | Some("json"), None) => None,
        (None | Some("json"), Some(_)) => {
            return Err(HttpError::bad_request(
                "table goes with format=csv: the JSON export holds every table.",
            ))
        }
        (Some("csv"), Some(name)) => Some(Table::parse(name).ok_or_else(|| {
            HttpError::bad_request(format!("table must be one of {}.", table_names()))
        })?),
        (Some("csv"), None) => {
            return Err(HttpError::bad_request(format!(
                "format=csv answers one table: add table= one of {}.",
                table_names()
            )))
        }
        (Some(_), _) => return Err(HttpError::bad_request("format must be json or csv.")),
    };
    let tenant = &admin.tenant().id;
    let export =
        data_requests::tenant_export(&state.db, &state.config.limits, tenant, state.clock.now())
            .await?;
    tracing::info!(tenant = %tenant, by = %admin.audit_name(), "tenant exported");
    let Some(table) = table else {
        return Ok(Json(export).into_response());
    };
    let mut response = data_requests::export_csv(&export, table)?.into_response();
    let disposition = format!("attachment; filename=\"sealdrop-{}.csv\"", table.as_str());
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

async fn export_subject(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
    RequiredJson(body): RequiredJson<SubjectRequest>,
) -> Result<Response, HttpError> {
    let export = data_requests::subject_export(
        &state.db,
        &state.verification_key,
        &admin.tenant().id,
        &body.email,
        state.clock.now(),
    )
    .await?;
    Ok(Json(export).into_response())
}

async fn erase_subject(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
    RequiredJson(body): RequiredJson<EraseRequest>,
) -> Result<Response, HttpError> {
    // A malformed `email` is the domain's `400`; a well-formed one must be typed twice.
    let email = EmailAddress::parse(&body.email);
    if email.is_some() && email != EmailAddress::parse(&body.confirm) {
        return Err(HttpError::bad_request(
            "confirm must be the same address as email, typed again: erasing cannot be undone.",
        ));
    }
    let erasure = data_requests::erase_subject(
        &state.db,
        &state.verification_key,
        &admin.tenant().id,
        &body.email,
        &admin.audit_name(),
        state.clock.now(),
    )
    .await?;
    Ok(Json(erasure).into_response())
}
