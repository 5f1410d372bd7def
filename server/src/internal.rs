//! [`Internal`]: a failure of the server's own machinery (the database, the blob store, local
//! I/O). Every domain error has an `Internal` variant built from it; it is logged with its
//! context and never detailed to a client.

use crate::storage::{InvalidKey, StorageError};

/// A failure on the server's side, with the context of where it happened.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct Internal(pub anyhow::Error);

impl From<sqlx::Error> for Internal {
    fn from(err: sqlx::Error) -> Self {
        Self(anyhow::Error::new(err).context("database"))
    }
}

impl From<StorageError> for Internal {
    fn from(err: StorageError) -> Self {
        Self(anyhow::Error::new(err).context("blob store"))
    }
}

impl From<std::io::Error> for Internal {
    fn from(err: std::io::Error) -> Self {
        Self(anyhow::Error::new(err).context("local I/O"))
    }
}

impl From<InvalidKey> for Internal {
    fn from(err: InvalidKey) -> Self {
        Self(anyhow::Error::new(err))
    }
}

impl From<anyhow::Error> for Internal {
    fn from(err: anyhow::Error) -> Self {
        Self(err)
    }
}

/// Which shared dependency a failure says is down (`"database"`, `"blob store"`), if any: a
/// connection refused or cut, a pool with no connection to give, PostgreSQL shutting down
/// or starting (SQLSTATE 57P01-57P03), the S3 service unreachable. Such failures pass when
/// the dependency is back, so clients get `503` with `Retry-After` and the log a warning,
/// not an error.
pub fn unavailable_dependency(err: &anyhow::Error) -> Option<&'static str> {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<sqlx::Error>() {
            let down = match e {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(db) => {
                    matches!(db.code().as_deref(), Some("57P01" | "57P02" | "57P03"))
                }
                _ => false,
            };
            if down {
                return Some("database");
            }
        }
        if let Some(StorageError::Unreachable(_)) = cause.downcast_ref::<StorageError>() {
            return Some("blob store");
        }
    }
    None
}

/// Lets `?` turn the server's own failures into `$error::Internal`.
macro_rules! internal_failures {
    ($error:ty) => {
        impl From<$crate::internal::Internal> for $error {
            fn from(err: $crate::internal::Internal) -> Self {
                Self::Internal(err)
            }
        }
        impl From<sqlx::Error> for $error {
            fn from(err: sqlx::Error) -> Self {
                Self::Internal(err.into())
            }
        }
        impl From<$crate::storage::StorageError> for $error {
            fn from(err: $crate::storage::StorageError) -> Self {
                Self::Internal(err.into())
            }
        }
        impl From<std::io::Error> for $error {
            fn from(err: std::io::Error) -> Self {
                Self::Internal(err.into())
            }
        }
        impl From<$crate::storage::InvalidKey> for $error {
            fn from(err: $crate::storage::InvalidKey) -> Self {
                Self::Internal(err.into())
            }
        }
        impl From<anyhow::Error> for $error {
            fn from(err: anyhow::Error) -> Self {
                Self::Internal(err.into())
            }
        }
    };
}
pub(crate) use internal_failures;
