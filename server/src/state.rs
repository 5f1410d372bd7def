//! [`AppState`]: everything a request handler needs, connected once at start-up (by `serve`
//! and `admin` alike). It knows the services, not the routes.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use crate::agents::Zendesk;
use crate::clock::Clock;
use crate::config::{Config, StorageConfig};
use crate::db::Database;
use crate::deletion::DeletionKey;
use crate::lifecycle::{self, LifecycleReport};
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::purge::{self, PurgeReport};
use crate::storage::folder::FolderStorage;
use crate::storage::s3::S3Storage;
use crate::storage::{leftovers, Storage};
use crate::verification::VerificationKey;

/// Everything a request handler needs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Resolved configuration.
    pub config: Arc<Config>,
    /// Metadata database.
    pub db: Database,
    /// Blob store.
    pub storage: Arc<dyn Storage>,
    /// Outgoing mail.
    pub mailer: Mailer,
    /// HMAC key for verification codes (outside the database by design).
    pub verification_key: VerificationKey,
    /// This process's metrics (`/metrics`).
    pub metrics: Arc<Metrics>,
    /// "Now" (tests move it).
    pub clock: Clock,
    /// Zendesk keys and client ([`crate::agents`]).
    pub zendesk: Arc<Zendesk>,
    /// The key that signs certificates of deletion ([`crate::deletion`]).
    pub deletion_key: Arc<DeletionKey>,
}

impl AppState {
    /// Connects to the database (applying migrations) and the blob store, loads the keys,
    /// and creates the data folders.
    pub async fn connect(config: Config, clock: Clock) -> anyhow::Result<Self> {
        tokio::fs::create_dir_all(&config.data_dir)
            .await
            .with_context(|| format!("creating the data folder {}", config.data_dir.display()))?;
        tokio::fs::create_dir_all(config.spool_dir())
            .await
            .context("creating the spool folder")?;
        sweep_leftovers(&config.spool_dir()).await;
        if let StorageConfig::Folder { root } = &config.storage {
            sweep_leftovers(&root.join(".tmp")).await;
        }
        let db = Database::connect(&config.database_url).await?;
        let (storage, storage_backend): (Arc<dyn Storage>, _) = match &config.storage {
            StorageConfig::Folder { root } => (
                Arc::new(
                    FolderStorage::open(root)
                        .await
                        .with_context(|| format!("opening the blob folder {}", root.display()))?,
                ),
                "folder",
            ),
            StorageConfig::S3(s3) => (Arc::new(S3Storage::new(s3).await), "s3"),
        };
        let metrics = Arc::new(Metrics::new(db.clone(), storage_backend));
        let host = config
            .public_url
            .host_str()
            .unwrap_or("localhost")
            .to_owned();
        let mailer = Mailer::try_new(config.mail.clone(), format!("sealdrop <no-reply@{host}>"))?;
        let verification_key = VerificationKey::load(
            config.verification.key.as_deref(),
            &config.verification.key_file,
        )
        .await?;
        let seed = crate::keys::load_or_create(
            config.deletion_key.key.as_deref(),
            &config.deletion_key.key_file,
            "SEALDROP_DELETION_SIGNING_KEY",
        )
        .await?;
        let deletion_key = Arc::new(DeletionKey::from_seed(&seed)?);
        let zendesk = Arc::new(Zendesk::load(config.zendesk.clone(), &config.public_url).await?);
        Ok(Self {
            config: Arc::new(config),
            db,
            storage,
            mailer,
            verification_key,
            metrics,
            clock,
            zendesk,
            deletion_key,
        })
    }

    /// Runs the lifecycle check of Zendesk tenants once ([`crate::lifecycle`]): schedules the
    /// deletion of tenants whose app is gone or whose grant no longer works, cancels it for
    /// those that came back, deletes those that are due, and mails their admins.
    pub async fn lifecycle_check(&self) -> anyhow::Result<LifecycleReport> {
        let issuer = self.config.public_url.as_str().trim_end_matches('/');
        let services = lifecycle::Services {
            db: &self.db,
            zendesk: &self.zendesk,
            storage: self.storage.as_ref(),
            deletion_key: &self.deletion_key,
            mailer: &self.mailer,
            issuer,
        };
        let clock = &self.clock;
        lifecycle::run_once(&services, self.config.lifecycle.grace, || clock.now()).await
    }

    /// Runs one purge pass now ([`crate::purge`]) and records it in the metrics: its
    /// outcome, its duration and what it removed.
    pub async fn purge(&self) -> anyhow::Result<PurgeReport> {
        let started = Instant::now();
        let result = purge::run_once(
            &self.db,
            &self.storage,
            &self.config.widget,
            &self.config.retention,
            self.clock.now(),
        )
        .await;
        match &result {
            Ok(report) => self.metrics.purge_succeeded(report, started.elapsed()),
            Err(_) => self.metrics.purge_failed(started.elapsed()),
        }
        result
    }
}

/// Removes the part files a killed server left in `dir` ([`leftovers`]); a folder that cannot
/// be swept is reported and does not stop the server (nothing reads those files).
async fn sweep_leftovers(dir: &std::path::Path) {
    match leftovers::sweep(dir, leftovers::LEFTOVER_AGE, std::time::SystemTime::now()).await {
        Ok((0, _)) => {}
        Ok((files, bytes)) => tracing::info!(
            folder = %dir.display(),
            files,
            bytes,
            "removed part files a previous run left behind (killed mid-upload)"
        ),
        Err(e) => {
            tracing::warn!(folder = %dir.display(), error = %e, "could not sweep leftover part files")
        }
    }
}
