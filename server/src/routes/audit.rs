//! `GET /api/v1/audit`: a tenant's audit log, newest first, with cursor paging, filters
//! (`package`, `event`, `since`) and a CSV export (`format=csv`).
//!
//! Callers: the tenant's API token, or a Zendesk admin's agent session (other agents get
//! `403`: the log shows every agent's sends).

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::auth::Principal;
use crate::clock::rfc3339;
use crate::db::AuditEvent;
use crate::error::HttpError;
use crate::zendesk::session::ConfirmedRole;

/// The audit routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(list))
}

/// Most rows one CSV export holds.
const MAX_CSV_ROWS: i64 = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// Only events of this package.
    package: Option<String>,
    /// Only events of this kind (`created`, `downloaded`, ...).
    event: Option<String>,
    /// Only events at or after this time: RFC 3339, or Unix seconds.
    since: Option<String>,
    /// Only events with an id below this (the previous page's `next_before`).
    before: Option<i64>,
    /// Page size, 1..=500 (default 100); a CSV export holds up to 10 000 rows.
    limit: Option<i64>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

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
    principal: Principal,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let Query(query) = query
        .map_err(|e| HttpError::bad_request(format!("Bad query string: {}.", e.body_text())))?;
    if let Principal::Agent { role, .. } = &principal {
        if *role != ConfirmedRole::Admin {
            return Err(HttpError::Forbidden(
                "Only Zendesk admins can read sealdrop's audit log.".into(),
            ));
        }
    }
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(HttpError::bad_request("format must be json or csv.")),
    };
    let limit = match (query.limit, csv) {
        (Some(n), false) if !(1..=500).contains(&n) => {
            return Err(HttpError::bad_request("limit must be between 1 and 500."))
        }
        (Some(n), true) if !(1..=MAX_CSV_ROWS).contains(&n) => {
            return Err(HttpError::bad_request(format!(
                "limit must be between 1 and {MAX_CSV_ROWS} for a CSV export."
            )))
        }
        (Some(n), _) => n,
        (None, false) => 100,
        (None, true) => MAX_CSV_ROWS,
    };
    if query
        .event
        .as_ref()
        .is_some_and(|e| e.is_empty() || e.len() > 64)
    {
        return Err(HttpError::bad_request(
            "event must be an event name such as downloaded.",
        ));
    }
    let since = query.since.as_deref().map(parse_since).transpose()?;
    let events = filtered_events(&state, &principal.tenant().id, &query, since, limit).await?;
    if csv {
        return Ok(csv_response(&events));
    }
    let next_before = (events.len() as i64 == limit)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    let events: Vec<_> = events
        .into_iter()
        .map(|e| {
            let detail = e.detail.and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok());
            json!({ "id": e.id, "package": e.package_id, "event": e.event, "detail": detail, "at": rfc3339(e.created_at) })
        })
        .collect();
    Ok(Json(json!({ "events": events, "next_before": next_before })).into_response())
}

async fn filtered_events(
    state: &AppState,
    tenant_id: &str,
    query: &AuditQuery,
    since: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEvent>, HttpError> {
    Ok(sqlx::query_as(
        "SELECT id, tenant_id, package_id, event, detail, created_at FROM audit_events \
         WHERE tenant_id = $1 AND ($2 IS NULL OR package_id = $2) AND ($3 IS NULL OR id < $3) \
         AND ($4 IS NULL OR event = $4) AND ($5 IS NULL OR created_at >= $5) \
         ORDER BY id DESC LIMIT $6",
    )
    .bind(tenant_id)
    .bind(query.package.as_deref())
    .bind(query.before)
    .bind(query.event.as_deref())
    .bind(since)
    .bind(limit)
    .fetch_all(state.db.pool())
    .await?)
}

/// One CSV field (RFC 4180 quoting). Cells a spreadsheet would run as a formula get a
/// leading `'`.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn csv_response(events: &[AuditEvent]) -> Response {
    let mut out = String::from("id,at,event,package,detail\r\n");
    for e in events {
        let row = [
            e.id.to_string(),
            rfc3339(e.created_at),
            e.event.clone(),
            e.package_id.clone().unwrap_or_default(),
            e.detail.clone().unwrap_or_default(),
        ];
        out.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    let mut response = out.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"sealdrop-audit.csv\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(
            csv_field(r#"{"a":1,"b":"x"}"#),
            r#""{""a"":1,""b"":""x""}""#
        );
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }

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
