//! Wiring: the router with its cross-cutting layers, and [`Application`], which binds the
//! listener, runs the purge task and the lifecycle check, and shuts down gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::clock::Clock;
use crate::config::Config;
use crate::http::{cors, HttpError};
use crate::metrics;
use crate::routes;
use crate::state::AppState;

/// The full HTTP application: every route plus security headers, request logging and
/// request timing.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(routes::ops::router())
        .merge(routes::uploads::router())
        .merge(routes::downloads::router())
        .merge(routes::verification::router())
        .merge(routes::audit::router())
        .merge(routes::pages::router())
        .merge(routes::zendesk::router())
        .merge(routes::settings::router())
        .merge(routes::team::router())
        .merge(routes::deletion::router())
        .merge(routes::data_requests::router())
        .merge(routes::widget::router())
        .fallback(|| async { HttpError::NotFound("No such endpoint.".into()) })
        // After the merges: it applies to the routes registered so far. axum still adds `Allow`.
        .method_not_allowed_fallback(|| async { HttpError::MethodNotAllowed })
        // CORS for the Help Center widget's cross-origin calls (preflights answered here).
        .layer(middleware::from_fn_with_state(state.clone(), cors::cors))
        // Inside the router's `layer`, so that the matched route's template is known here.
        .layer(middleware::from_fn_with_state(state.clone(), time_requests))
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
        // Only over https (a browser ignores it on http, and a local demo must not pin it).
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            state
                .config
                .hsts
                .as_deref()
                .and_then(|v| HeaderValue::from_str(v).ok()),
        ))
        .with_state(state)
}

/// Times each request into `sealdrop_http_request_duration_seconds`, labelled by the template
/// of the route that matched (never the path asked for, which holds ids and would make a series
/// per package), until the response head: a streamed body (a download) goes on after.
async fn time_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let response = next.run(req).await.into_response();
    let route = route
        .as_ref()
        .map_or(metrics::UNMATCHED, MatchedPath::as_str);
    state.metrics.request(
        route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
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
        let lifecycle_task = tokio::spawn(lifecycle_loop(state.clone(), stop_rx.clone()));
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
        lifecycle_task.abort();
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
                if let Err(e) = state.purge().await {
                    match crate::internal::unavailable_dependency(&e) {
                        Some(what) => tracing::warn!(error = %format!("{e:#}"), dependency = what, "purge run skipped: dependency unavailable; the next run retries"),
                        None => tracing::error!(error = ?e, "purge run failed"),
                    }
                }
            }
            stopped = async { stop.wait_for(|stop| *stop).await.is_ok() } => if stopped { return },
        }
    }
}

/// How long after start-up the first lifecycle check runs (or sooner, with a shorter
/// interval): not at once, so a restart does not ask Zendesk about every tenant again, yet
/// soon enough that a server restarted more often than the interval still checks.
const FIRST_LIFECYCLE_CHECK_AFTER: Duration = Duration::from_secs(600);

/// Runs the lifecycle check ([`crate::lifecycle`]) every `lifecycle.interval`, the first
/// time [`FIRST_LIFECYCLE_CHECK_AFTER`] after start-up.
async fn lifecycle_loop(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = state.config.lifecycle.interval;
    let first = tokio::time::Instant::now() + every.min(FIRST_LIFECYCLE_CHECK_AFTER);
    let mut interval = tokio::time::interval_at(first, every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                match state.lifecycle_check().await {
                    Ok(report) if report.failed() > 0 => tracing::warn!(
                        failed = report.failed(),
                        "lifecycle check: some tenants could not be checked; the next run tries again"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = ?e, "lifecycle check failed"),
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
