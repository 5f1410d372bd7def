//! The CSV form of exports: one table per file, written by the `csv` crate (RFC 4180 quoting,
//! CRLF line ends, a header row). The audit log's CSV (`GET /api/v1/audit?format=csv`) is the
//! export's `audit` table, written here too.
//!
//! A cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return) gets a leading `'`: an export opened in a spreadsheet shows text and runs
//! nothing (OWASP "CSV injection").

use serde_json::Value;

use super::{AuditRecord, TenantExport};
use crate::db::AuditEvent;
use crate::internal::Internal;

/// One table of a tenant export's CSV form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `setting,value`: the tenant and its settings.
    Settings,
    /// One row per package: its metadata and recipient count.
    Packages,
    /// `package,email`: one row per recipient of a package.
    Recipients,
    /// `id,at,event,package,detail`: the audit log, the detail as JSON text.
    Audit,
    /// `user_id,label,fingerprint,status,registered_at,removed_at`: agents' device keys.
    Devices,
}

impl Table {
    /// Every table, in the order an export writes them.
    pub const ALL: [Table; 5] = [
        Self::Settings,
        Self::Packages,
        Self::Recipients,
        Self::Audit,
        Self::Devices,
    ];

    /// The name in `?table=` and, with `.csv`, of the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Settings => "settings",
            Self::Packages => "packages",
            Self::Recipients => "recipients",
            Self::Audit => "audit",
            Self::Devices => "devices",
        }
    }

    /// Parses [`Table::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

const AUDIT_HEADERS: [&str; 5] = ["id", "at", "event", "package", "detail"];

const PACKAGE_HEADERS: [&str; 17] = [
    "id",
    "state",
    "created_by",
    "created_by_user",
    "ticket_id",
    "require_auth",
    "notify_sender",
    "created_at",
    "finalized_at",
    "expires_at",
    "revoked_at",
    "purged_at",
    "max_downloads",
    "downloads_used",
    "files",
    "ciphertext_bytes",
    "recipients",
];

/// A cell as written: formulas defused.
fn defuse(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// Writes `headers` and `rows` as CSV.
fn write<const N: usize>(
    headers: [&str; N],
    rows: impl IntoIterator<Item = [String; N]>,
) -> Result<Vec<u8>, Internal> {
    let failed = |e: &dyn std::fmt::Display| Internal(anyhow::anyhow!("writing CSV: {e}"));
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record(headers).map_err(|e| failed(&e))?;
    for row in rows {
        writer
            .write_record(row.map(defuse))
            .map_err(|e| failed(&e))?;
    }
    writer.into_inner().map_err(|e| failed(e.error()))
}

fn optional(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn audit_rows<'a>(
    events: impl IntoIterator<Item = &'a AuditRecord> + 'a,
) -> impl Iterator<Item = [String; 5]> + 'a {
    events.into_iter().map(|e| {
        [
            e.id.to_string(),
            e.at.clone(),
            e.event.clone(),
            optional(e.package.as_ref()),
            optional(e.detail.as_ref()),
        ]
    })
}

/// Audit events as the `audit` table.
pub fn audit_csv(events: &[AuditEvent]) -> Result<Vec<u8>, Internal> {
    let records: Vec<AuditRecord> = events.iter().map(AuditRecord::from).collect();
    write(AUDIT_HEADERS, audit_rows(&records))
}

/// A setting's value as one cell: text as it is, `null` empty, anything else as JSON.
fn setting_cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One table of `export` as CSV.
pub fn export_csv(export: &TenantExport, table: Table) -> Result<Vec<u8>, Internal> {
    let this = export;
    {
        match table {
            Table::Settings => {
                let tenant = &this.tenant;
                let mut rows = vec![
                    ["export".to_owned(), this.kind.to_owned()],
                    ["exported_at".to_owned(), this.exported_at.clone()],
                    ["tenant_id".to_owned(), tenant.id.clone()],
                    ["tenant_name".to_owned(), tenant.name.clone()],
                    [
                        "zendesk_subdomain".to_owned(),
                        optional(tenant.zendesk_subdomain.as_ref()),
                    ],
                    ["tenant_created_at".to_owned(), tenant.created_at.clone()],
                ];
                let settings =
                    serde_json::to_value(&this.settings).map_err(|e| Internal(e.into()))?;
                if let Some(fields) = settings.as_object() {
                    rows.extend(
                        fields
                            .iter()
                            .map(|(name, value)| [name.clone(), setting_cell(value)]),
                    );
                }
                write(["setting", "value"], rows)
            }
            Table::Packages => write(
                PACKAGE_HEADERS,
                this.packages.iter().map(|p| {
                    [
                        p.id.clone(),
                        p.state.as_str().to_owned(),
                        p.created_by.as_str().to_owned(),
                        optional(p.created_by_user.as_ref()),
                        optional(p.ticket_id.as_ref()),
                        p.require_auth.to_string(),
                        optional(p.notify_sender.as_ref()),
                        p.created_at.clone(),
                        optional(p.finalized_at.as_ref()),
                        p.expires_at.clone(),
                        optional(p.revoked_at.as_ref()),
                        optional(p.purged_at.as_ref()),
                        optional(p.max_downloads),
                        p.downloads_used.to_string(),
                        p.files.to_string(),
                        p.ciphertext_bytes.to_string(),
                        p.recipients.len().to_string(),
                    ]
                }),
            ),
            Table::Recipients => write(
                ["package", "email"],
                this.packages.iter().flat_map(|p| {
                    p.recipients
                        .iter()
                        .map(|email| [p.id.clone(), email.clone()])
                }),
            ),
            Table::Audit => write(AUDIT_HEADERS, audit_rows(&this.audit_events)),
            Table::Devices => write(
                [
                    "user_id",
                    "label",
                    "fingerprint",
                    "status",
                    "registered_at",
                    "removed_at",
                ],
                this.devices.iter().map(|d| {
                    [
                        d.user_id.clone(),
                        d.label.clone(),
                        d.fingerprint.clone(),
                        d.status.as_str().to_owned(),
                        d.registered_at.clone(),
                        optional(d.removed_at.as_ref()),
                    ]
                }),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_row(cells: [&str; 2]) -> String {
        let bytes = write(["a", "b"], [cells.map(str::to_owned)]).expect("written");
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(one_row(["plain", ""]), "a,b\r\nplain,\r\n");
        assert_eq!(
            one_row([r#"{"a":1,"b":"x"}"#, "x"]),
            "a,b\r\n\"{\"\"a\"\":1,\"\"b\"\":\"\"x\"\"}\",x\r\n"
        );
        assert_eq!(
            one_row(["=HYPERLINK(1)", "@x"]),
            "a,b\r\n'=HYPERLINK(1),'@x\r\n"
        );
        assert_eq!(
            one_row(["line\nbreak", "-1"]),
            "a,b\r\n\"line\nbreak\",'-1\r\n"
        );
    }

    #[test]
    fn tables_are_named_for_the_query_and_the_files() {
        for table in Table::ALL {
            assert_eq!(Table::parse(table.as_str()), Some(table));
        }
        assert_eq!(Table::parse("secrets"), None);
    }
}
