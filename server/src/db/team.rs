//! `team_devices` and `team_keys`: agents' device keys, the tenant's wrapped admin key and its
//! current signed roster (team keys, docs/FORMAT.md §16-§21). The rules are
//! [`crate::team`]'s; here every change and its audit event are one transaction.
//!
//! Nothing here is secret: device keys and the admin key are public keys, the wrapped admin key
//! opens only with the recovery code (which never reaches the server), the roster is signed
//! public data.

use sqlx::Row;

use super::audit::{self, AuditKind};
use super::{bad_column, signed, unsigned, Database};

pub use sealdrop_api::team::DeviceStatus;

/// One registered device key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamDevice {
    /// The X25519 public key `D`.
    pub device_key: [u8; 32],
    /// The agent's Zendesk user id.
    pub user_id: u64,
    /// The device's name as the agent gave it.
    pub label: String,
    /// Where it stands.
    pub status: DeviceStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// When its agent removed it (Unix seconds).
    pub removed_at: Option<i64>,
}

/// A device to register.
#[derive(Debug, Clone, Copy)]
pub struct NewDevice<'a> {
    /// The tenant.
    pub tenant_id: &'a str,
    /// The X25519 public key `D`.
    pub device_key: &'a [u8; 32],
    /// The agent.
    pub user_id: u64,
    /// Its name, checked.
    pub label: &'a str,
    /// Most devices one agent may have registered at once.
    pub max_per_user: u64,
    /// Most devices one tenant may have registered at once.
    pub max_per_tenant: u64,
}

/// What registering a device did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// Stored, as pending.
    Stored,
    /// The tenant holds this key already.
    KeyTaken,
    /// The agent has `max_per_user` devices already.
    TooManyForUser,
    /// The tenant has `max_per_tenant` devices already.
    TooManyForTenant,
}

/// What removing a device did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// It was pending: the row is gone.
    Deleted,
    /// The roster lists it: marked removed (pending removal) until a roster leaves it out.
    PendingRemoval,
    /// Removed already; nothing changed.
    Already,
    /// The agent has no such device.
    NotFound,
}

/// The tenant's admin key and roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamKeys {
    /// The admin public key `A`.
    pub admin_key: [u8; 32],
    /// The wrapped admin key (docs/FORMAT.md §18.3).
    pub wrapped_admin_key: Vec<u8>,
    /// Unix seconds.
    pub admin_key_updated_at: i64,
    /// The current roster, if one was published.
    pub roster: Option<StoredRoster>,
}

/// A published roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRoster {
    /// The signed roster's bytes.
    pub bytes: Vec<u8>,
    /// Its sequence.
    pub sequence: u64,
    /// When it was stored (Unix seconds).
    pub updated_at: i64,
}

/// What storing an admin key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminKeyStored {
    /// Stored where there was none.
    First,
    /// Replaced the stored one (its admin key, for the audit log).
    Replaced {
        /// The admin key that was stored before.
        previous: [u8; 32],
    },
    /// The same blob was stored already; nothing changed.
    Unchanged,
    /// Another blob is stored and the caller did not ask to replace it.
    Exists,
}

/// A roster to publish, checked by the caller against the stored admin key.
#[derive(Debug, Clone, Copy)]
pub struct NewRoster<'a> {
    /// The tenant.
    pub tenant_id: &'a str,
    /// The admin key the roster was verified under; it must still be the stored one.
    pub admin_key: &'a [u8; 32],
    /// The roster's bytes.
    pub bytes: &'a [u8],
    /// Its sequence; it must be greater than the stored roster's.
    pub sequence: u64,
    /// Its devices: key and user id.
    pub devices: &'a [([u8; 32], u64)],
}

/// What publishing a roster did to the devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RosterChanges {
    /// Devices in the roster.
    pub devices: u64,
    /// Pending devices the roster approves.
    pub approved: u64,
    /// Approved devices the roster leaves out (their rows are deleted).
    pub dropped: u64,
    /// Devices their agents removed that the roster leaves out (their rows are deleted).
    pub removals_completed: u64,
}

/// Why a roster was not published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RosterRefused {
    /// No admin key is stored, or another than the roster's.
    AdminKeyChanged,
    /// The stored roster's sequence is this or higher.
    RolledBack {
        /// The stored roster's sequence.
        stored: u64,
    },
    /// A roster device is not registered for its user in this tenant.
    UnknownDevice {
        /// Its key.
        device_key: [u8; 32],
        /// The user the roster names.
        user_id: u64,
    },
}

fn key32(column: &str, bytes: &[u8]) -> sqlx::Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes).map_err(|_| bad_column(column, "not 32 bytes"))
}

fn device_from_row(row: &sqlx::any::AnyRow) -> sqlx::Result<TeamDevice> {
    let status: String = row.try_get(3)?;
    Ok(TeamDevice {
        device_key: key32("device_key", &row.try_get::<Vec<u8>, _>(0)?)?,
        user_id: unsigned("user_id", row.try_get(1)?)?,
        label: row.try_get(2)?,
        status: DeviceStatus::parse(&status)
            .ok_or_else(|| bad_column("status", format!("unknown status {status:?}")))?,
        created_at: row.try_get(4)?,
        removed_at: row.try_get(5)?,
    })
}

const DEVICE_COLUMNS: &str = "device_key, user_id, label, status, created_at, removed_at";

impl Database {
    /// The tenant's devices (only `user_id`'s when given), oldest first.
    pub async fn team_devices(
        &self,
        tenant_id: &str,
        user_id: Option<u64>,
    ) -> sqlx::Result<Vec<TeamDevice>> {
        // Every device of the tenant when no user is given (the user id 0 is nobody's).
        let rows = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM team_devices \
             WHERE tenant_id = $1 AND ($2 = 0 OR user_id = $2) ORDER BY created_at, device_key"
        ))
        .bind(tenant_id)
        .bind(user_id.map_or(0, signed))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(device_from_row).collect()
    }

    /// Registers a device as pending, within the caps, and records `device_registered` with
    /// `detail`, in one transaction.
    pub async fn register_device(
        &self,
        device: &NewDevice<'_>,
        detail: &serde_json::Value,
        now: i64,
    ) -> sqlx::Result<Registered> {
        let mut tx = self.begin_write().await?;
        let taken: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM team_devices WHERE tenant_id = $1 AND device_key = $2",
        )
        .bind(device.tenant_id)
        .bind(&device.device_key[..])
        .fetch_one(&mut *tx)
        .await?;
        if taken > 0 {
            return Ok(Registered::KeyTaken);
        }
        let of_user: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM team_devices WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(device.tenant_id)
        .bind(signed(device.user_id))
        .fetch_one(&mut *tx)
        .await?;
        if unsigned("count", of_user)? >= device.max_per_user {
            return Ok(Registered::TooManyForUser);
        }
        let of_tenant: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM team_devices WHERE tenant_id = $1")
                .bind(device.tenant_id)
                .fetch_one(&mut *tx)
                .await?;
        if unsigned("count", of_tenant)? >= device.max_per_tenant {
            return Ok(Registered::TooManyForTenant);
        }
        let inserted = sqlx::query(
            "INSERT INTO team_devices (tenant_id, device_key, user_id, label, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, device_key) DO NOTHING",
        )
        .bind(device.tenant_id)
        .bind(&device.device_key[..])
        .bind(signed(device.user_id))
        .bind(device.label)
        .bind(DeviceStatus::Pending.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(Registered::KeyTaken);
        }
        audit::insert(
            &mut tx,
            device.tenant_id,
            None,
            AuditKind::DeviceRegistered,
            Some(detail),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Registered::Stored)
    }

    /// Removes `user_id`'s device `device_key`: a pending one is deleted, an approved one (the
    /// roster lists it) is marked removed until a roster leaves it out. Records
    /// `device_removed` with `detail` and what was done, in one transaction.
    pub async fn remove_device(
        &self,
        tenant_id: &str,
        user_id: u64,
        device_key: &[u8; 32],
        detail: &serde_json::Value,
        now: i64,
    ) -> sqlx::Result<Removed> {
        let mut tx = self.begin_write().await?;
        let status: Option<String> = sqlx::query_scalar(
            "SELECT status FROM team_devices WHERE tenant_id = $1 AND device_key = $2 AND user_id = $3",
        )
        .bind(tenant_id)
        .bind(&device_key[..])
        .bind(signed(user_id))
        .fetch_optional(&mut *tx)
        .await?;
        let status = match status {
            None => return Ok(Removed::NotFound),
            Some(text) => DeviceStatus::parse(&text)
                .ok_or_else(|| bad_column("status", format!("unknown status {text:?}")))?,
        };
        let outcome = match status {
            DeviceStatus::Removed => return Ok(Removed::Already),
            DeviceStatus::Pending => {
                sqlx::query("DELETE FROM team_devices WHERE tenant_id = $1 AND device_key = $2")
                    .bind(tenant_id)
                    .bind(&device_key[..])
                    .execute(&mut *tx)
                    .await?;
                Removed::Deleted
            }
            DeviceStatus::Approved => {
                sqlx::query(
                    "UPDATE team_devices SET status = $1, removed_at = $2 \
                     WHERE tenant_id = $3 AND device_key = $4",
                )
                .bind(DeviceStatus::Removed.as_str())
                .bind(now)
                .bind(tenant_id)
                .bind(&device_key[..])
                .execute(&mut *tx)
                .await?;
                Removed::PendingRemoval
            }
        };
        let mut detail = detail.clone();
        if let Some(fields) = detail.as_object_mut() {
            fields.insert(
                "pending_removal".into(),
                (outcome == Removed::PendingRemoval).into(),
            );
        }
        audit::insert(
            &mut tx,
            tenant_id,
            None,
            AuditKind::DeviceRemoved,
            Some(&detail),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// The tenant's admin key and roster, if an admin key was stored.
    pub async fn team_keys(&self, tenant_id: &str) -> sqlx::Result<Option<TeamKeys>> {
        let row = sqlx::query(
            "SELECT admin_key, wrapped_admin_key, admin_key_updated_at, roster, roster_sequence, \
             roster_updated_at FROM team_keys WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let roster: Option<Vec<u8>> = row.try_get(3)?;
        let sequence: Option<i64> = row.try_get(4)?;
        let updated_at: Option<i64> = row.try_get(5)?;
        let roster = match (roster, sequence, updated_at) {
            (Some(bytes), Some(sequence), Some(updated_at)) => Some(StoredRoster {
                bytes,
                sequence: unsigned("roster_sequence", sequence)?,
                updated_at,
            }),
            _ => None,
        };
        Ok(Some(TeamKeys {
            admin_key: key32("admin_key", &row.try_get::<Vec<u8>, _>(0)?)?,
            wrapped_admin_key: row.try_get(1)?,
            admin_key_updated_at: row.try_get(2)?,
            roster,
        }))
    }

    /// Stores the tenant's wrapped admin key (`admin_key` is the public key it names): the
    /// first one, or in place of the stored one when `replace`. Records `admin_key_set` or
    /// `admin_key_replaced` with `detail`, in one transaction. The roster stays.
    pub async fn set_admin_key(
        &self,
        tenant_id: &str,
        admin_key: &[u8; 32],
        wrapped: &[u8],
        replace: bool,
        detail: &serde_json::Value,
        now: i64,
    ) -> sqlx::Result<AdminKeyStored> {
        let mut tx = self.begin_write().await?;
        let stored =
            sqlx::query("SELECT admin_key, wrapped_admin_key FROM team_keys WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_optional(&mut *tx)
                .await?;
        let outcome = match stored {
            None => {
                sqlx::query(
                    "INSERT INTO team_keys (tenant_id, admin_key, wrapped_admin_key, admin_key_updated_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(tenant_id)
                .bind(&admin_key[..])
                .bind(wrapped)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                AdminKeyStored::First
            }
            Some(row) => {
                let previous = key32("admin_key", &row.try_get::<Vec<u8>, _>(0)?)?;
                let previous_blob: Vec<u8> = row.try_get(1)?;
                if previous_blob == wrapped {
                    return Ok(AdminKeyStored::Unchanged);
                }
                if !replace {
                    return Ok(AdminKeyStored::Exists);
                }
                sqlx::query(
                    "UPDATE team_keys SET admin_key = $1, wrapped_admin_key = $2, admin_key_updated_at = $3 \
                     WHERE tenant_id = $4",
                )
                .bind(&admin_key[..])
                .bind(wrapped)
                .bind(now)
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?;
                AdminKeyStored::Replaced { previous }
            }
        };
        let kind = match outcome {
            AdminKeyStored::First => AuditKind::AdminKeySet,
            _ => AuditKind::AdminKeyReplaced,
        };
        audit::insert(&mut tx, tenant_id, None, kind, Some(detail), now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Publishes a roster the caller verified under `roster.admin_key`: stores it if that is
    /// still the stored admin key and its sequence is greater than the stored roster's, and
    /// brings the devices in line with it (pending devices it lists become approved; approved
    /// or removed devices it leaves out are deleted). Every roster device must be registered
    /// for its user. Records `roster_published` with `detail` and the changes, in one
    /// transaction.
    pub async fn publish_roster(
        &self,
        roster: &NewRoster<'_>,
        detail: &serde_json::Value,
        now: i64,
    ) -> sqlx::Result<Result<RosterChanges, RosterRefused>> {
        let tenant_id = roster.tenant_id;
        let mut tx = self.begin_write().await?;
        // Compare and swap: of two admins publishing at once, one wins; the other's sequence
        // is then not greater.
        let updated = sqlx::query(
            "UPDATE team_keys SET roster = $1, roster_sequence = $2, roster_updated_at = $3 \
             WHERE tenant_id = $4 AND admin_key = $5 \
             AND (roster_sequence IS NULL OR roster_sequence < $2)",
        )
        .bind(roster.bytes)
        .bind(signed(roster.sequence))
        .bind(now)
        .bind(tenant_id)
        .bind(&roster.admin_key[..])
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            let stored = sqlx::query(
                "SELECT admin_key, roster_sequence FROM team_keys WHERE tenant_id = $1",
            )
            .bind(tenant_id)
            .fetch_optional(&mut *tx)
            .await?;
            let refused = match stored {
                Some(row) if row.try_get::<Vec<u8>, _>(0)? == roster.admin_key[..] => {
                    let sequence: Option<i64> = row.try_get(1)?;
                    RosterRefused::RolledBack {
                        stored: sequence.map_or(Ok(0), |s| unsigned("roster_sequence", s))?,
                    }
                }
                _ => RosterRefused::AdminKeyChanged,
            };
            return Ok(Err(refused));
        }
        let rows = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM team_devices WHERE tenant_id = $1"
        ))
        .bind(tenant_id)
        .fetch_all(&mut *tx)
        .await?;
        let registered = rows
            .iter()
            .map(device_from_row)
            .collect::<sqlx::Result<Vec<_>>>()?;
        for (key, user) in roster.devices {
            if !registered
                .iter()
                .any(|d| d.device_key == *key && d.user_id == *user)
            {
                return Ok(Err(RosterRefused::UnknownDevice {
                    device_key: *key,
                    user_id: *user,
                }));
            }
        }
        let mut changes = RosterChanges {
            devices: roster.devices.len() as u64,
            ..RosterChanges::default()
        };
        for device in &registered {
            let listed = roster.devices.iter().any(|(k, _)| *k == device.device_key);
            let key = &device.device_key[..];
            match (listed, device.status) {
                (true, DeviceStatus::Pending) => {
                    sqlx::query(
                        "UPDATE team_devices SET status = $1 WHERE tenant_id = $2 AND device_key = $3",
                    )
                    .bind(DeviceStatus::Approved.as_str())
                    .bind(tenant_id)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                    changes.approved += 1;
                }
                (false, DeviceStatus::Approved | DeviceStatus::Removed) => {
                    sqlx::query(
                        "DELETE FROM team_devices WHERE tenant_id = $1 AND device_key = $2",
                    )
                    .bind(tenant_id)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                    if device.status == DeviceStatus::Approved {
                        changes.dropped += 1;
                    } else {
                        changes.removals_completed += 1;
                    }
                }
                _ => {}
            }
        }
        let mut detail = detail.clone();
        if let (Some(fields), Ok(serde_json::Value::Object(counts))) =
            (detail.as_object_mut(), serde_json::to_value(changes))
        {
            fields.extend(counts);
        }
        audit::insert(
            &mut tx,
            tenant_id,
            None,
            AuditKind::RosterPublished,
            Some(&detail),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(changes))
    }
}
