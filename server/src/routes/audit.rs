//! `GET /api/v1/audit`: a tenant's audit log, newest first, with cursor paging, filters
//! (`package`, `event`, `since`) and a CSV export (`format=csv`).
//!
//! Callers: the tenant's API token, or a Zendesk admin's agent session (other agents get
//! `403`: the log shows every agent's sends).
//!
//! The CSV is the tenant export's `audit` table ([`data_requests::audit_csv`]): cells a
//! spreadsheet would run as a formula are defused with a leading `'`.

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sealdrop_api::audit::{AuditPage, AuditQuery};

use crate::audit;
use crate::data_requests::{self, AuditRecord};
use crate::db::{AuditEvent, AuditFilter, AuditKind};
use crate::http::auth::TenantAdmin;
use crate::http::HttpError;
use crate::state::AppState;

/// The audit routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(list))
}

/// Most rows one CSV export holds, and the largest `limit`.
const MAX_CSV_ROWS: i64 = 10_000;
/// Most events one JSON page holds.
const MAX_PAGE: i64 = 500;

fn parse_since(raw: &str) -> Result<i64, HttpError> {
    let raw = raw.trim();
    if let Ok(secs) = raw.parse::<i64>() {
        return Ok(secs);
    }
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.timestamp())
        .map_err(|_| {
            HttpError::bad_request(
                "since must be an RFC 3339 time (2026-01-02T03:04:05Z) or Unix seconds.",
            )
        })
}

async fn list(
    State(state): State<AppState>,
    TenantAdmin(reader): TenantAdmin,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let Query(query) = query
        .map_err(|e| HttpError::bad_request(format!("Bad query string: {}.", e.body_text())))?;
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(HttpError::bad_request("format must be json or csv.")),
    };
    // One range for both forms, so that a limit is valid or not whatever the format; a JSON
    // page is cut to MAX_PAGE (a client pages with next_before anyway).
    let limit = match (query.limit, csv) {
        (Some(n), _) if !(1..=MAX_CSV_ROWS).contains(&n) => {
            return Err(HttpError::bad_request(format!(
                "limit must be between 1 and {MAX_CSV_ROWS}."
            )))
        }
        (Some(n), false) => n.min(MAX_PAGE),
        (Some(n), true) => n,
        (None, false) => 100,
        (None, true) => MAX_CSV_ROWS,
    };
    let kind = query
        .event
        .as_deref()
        .map(|name| {
            AuditKind::parse(name).ok_or_else(|| {
                let names: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
                HttpError::bad_request(format!("event must be one of {}.", names.join(", ")))
            })
        })
        .transpose()?;
    let filter = AuditFilter {
        package_id: query.package.as_deref(),
        kind,
        since: query.since.as_deref().map(parse_since).transpose()?,
        before_id: query.before,
        limit,
    };
    let page = audit::page(&state.db, &reader.tenant().id, &filter).await?;
    if csv {
        return csv_response(&page.events);
    }
    let events: Vec<AuditRecord> = page.events.iter().map(AuditRecord::from).collect();
    Ok(Json(AuditPage {
        events,
        next_before: page.next_before,
    })
    .into_response())
}

fn csv_response(events: &[AuditEvent]) -> Result<Response, HttpError> {
    let mut response = data_requests::audit_csv(events)?.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"sealdrop-audit.csv\""),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_rfc3339_and_unix_seconds() {
        assert_eq!(
            parse_since("2026-01-02T03:04:05Z").ok(),
            Some(1_767_323_045)
        );
        assert_eq!(parse_since("1767323045").ok(), Some(1_767_323_045));
        assert!(parse_since("yesterday").is_err());
    }
}
