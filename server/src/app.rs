//! Wiring: [`AppState`], the router with its cross-cutting layers, and [`Application`], which
//! binds the listener, runs the purge task and shuts down gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::agents::Zendesk;
use crate::clock::Clock;
use crate::config::{Config, StorageConfig};
use crate::db::Database;
use crate::error::HttpError;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::storage::folder::FolderStorage;
use crate::storage::s3::S3Storage;
use crate::storage::Storage;
use crate::verification::VerificationKey;
use crate::{purge, routes};

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
    /// Process counters.
    pub metrics: Arc<Metrics>,
    /// "Now" (tests move it).
    pub clock: Clock,
    /// Zendesk keys and client ([`crate::agents`]).
    pub zendesk: Arc<Zendesk>,
}

impl AppState {
    /// Connects to the database (applying migrations) and the blob store, and creates the
    /// data folders. Used by `serve` and `admin` alike.
    pub async fn connect(config: Config, clock: Clock) -> anyhow::Result<Self> {
        tokio::fs::create_dir_all(&config.data_dir)
            .await
            .with_context(|| format!("creating the data folder {}", config.data_dir.display()))?;
        tokio::fs::create_dir_all(config.spool_dir())
            .await
            .context("creating the spool folder")?;
        let db = Database::connect(&config.database_url).await?;
        let storage: Arc<dyn Storage> = match &config.storage {
            StorageConfig::Folder { root } => Arc::new(
                FolderStorage::open(root)
                    .await
                    .with_context(|| format!("opening the blob folder {}", root.display()))?,
            ),
            StorageConfig::S3(s3) => Arc::new(S3Storage::new(s3).await),
        };
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
        let zendesk = Arc::new(Zendesk::load(config.zendesk.clone()).await?);
        Ok(Self {
            config: Arc::new(config),
            db,
            storage,
            mailer,
            verification_key,
            metrics: Arc::default(),
            clock,
            zendesk,
        })
    }
}

/// The full HTTP application: every route plus security headers, request logging and
/// counters.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(routes::ops::router())
        .merge(routes::packages::router())
        .merge(routes::audit::router())
        .merge(routes::recipient::router())
        .merge(routes::pages::router())
        .merge(routes::zendesk::router())
        .merge(routes::settings::router())
        .merge(routes::widget::router())
        .fallback(|| async { HttpError::NotFound("No such endpoint.".into()) })
        // CORS for the Help Center widget's cross-origin calls (preflights answered here).
        .layer(middleware::from_fn_with_state(state.clone(), routes::widget::cors))
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        .layer(
            TraceLayer::new_for_http()
                // Method and path only: headers carry credentials, and no secret is ever in a
                // path (package ids are not secret).
                .make_span_with(|req: &Request| {
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
                }),
        )
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(state)
}

async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let response = next.run(req).await.into_response();
    state.metrics.record_status(response.status().as_u16());
    response
}

/// A bound, ready-to-run server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connects everything and binds `config.listen` (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Clock::default()).await
    }

    /// [`Application::build`] with a given clock (tests share it to move time).
    pub async fn build_with_clock(config: Config, clock: Clock) -> anyhow::Result<Self> {
        let listen = config.listen;
        let state = AppState::connect(config, clock).await?;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        Ok(Self { listener, state })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The shared state (tests use it to run the purge or inspect the store).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT or SIGTERM, then drains.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes. Then stops accepting connections, lets in-flight
    /// requests finish for up to `shutdown_timeout`, stops the purge task and closes the pool.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self { listener, state } = self;
        let timeout = state.config.shutdown_timeout;
        let (stop_tx, stop_rx) = watch::channel(false);
        let purge_task = tokio::spawn(purge_loop(state.clone(), stop_rx.clone()));
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let mut graceful_rx = stop_rx.clone();
        let app = router(state.clone());
        let server = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = graceful_rx.wait_for(|stop| *stop).await;
            tracing::info!("shutting down: no new connections; draining in-flight requests");
        });
        let mut deadline_rx = stop_rx;
        tokio::select! {
            result = server => result.context("serving HTTP")?,
            () = async move {
                let _ = deadline_rx.wait_for(|stop| *stop).await;
                tokio::time::sleep(timeout).await;
            } => tracing::warn!(?timeout, "shutdown timeout reached; dropping unfinished requests"),
        }
        purge_task.abort();
        state.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn purge_loop(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(state.config.purge_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if let Err(e) = purge::run_once(&state).await {
                    tracing::error!(error = ?e, "purge run failed");
                }
            }
            stopped = async { stop.wait_for(|stop| *stop).await.is_ok() } => if stopped { return },
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
