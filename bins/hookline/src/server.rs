//! Start-up, serving, and graceful shutdown.
//!
//! Start-up opens (and migrates) the store — SQLite, or PostgreSQL whose pool connects and
//! migrates lazily, so the process starts (not ready) while its database is away — binds, installs the signal handlers and only
//! then logs `listening` with the bound address — so a supervisor or test that reads that
//! line can rely on the port and on SIGTERM being handled.
//!
//! Shutdown: on SIGTERM or SIGINT the server stops accepting, lets requests in flight finish
//! (up to 30 s), then the store commits whatever is queued and stops its writer. Actix's own
//! signal handling is disabled because it treats SIGINT as a *forced* stop.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::KeepAlive;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use hookline_backend::{Backend, OpenError};
use hookline_store::MessageStore;
use metrics_exporter_prometheus::PrometheusHandle;
use slog::{Logger, info, warn};
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::config::Settings;
use crate::middleware;
use crate::openapi;
use crate::routes::{self, AppState};

/// How long in-flight requests may run after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How long a new connection may take to send its request head (slow-header cut-off).
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection is kept after a response to let the client close it first.
pub const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an idle keep-alive connection stays open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Why the server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The database named by `DATABASE_URL` could not be opened or migrated (for
    /// PostgreSQL: the pool could not be built; nothing is connected at start-up).
    #[error("DATABASE_URL: {0}")]
    Database(#[from] OpenError),
    /// `HOST`/`PORT` could not be bound.
    #[error("HOST/PORT: cannot listen on {addrs}: {source}")]
    Bind {
        /// The addresses tried.
        addrs: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    /// The server failed while running.
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
}

impl ServerError {
    /// The environment variable to blame, if any.
    pub fn variable(&self) -> Option<&'static str> {
        match self {
            Self::Database(_) => Some("DATABASE_URL"),
            Self::Bind { .. } => Some("PORT"),
            Self::Signals(_) | Self::Serve(_) => None,
        }
    }

    /// Whether start-up failed (exit 2) rather than the running server (exit 1).
    pub fn is_startup(&self) -> bool {
        !matches!(self, Self::Serve(_))
    }
}

/// The server, built and bound but not yet serving: [`Application::build`] opens the store
/// and binds the port; [`Application::run_until_stopped`] serves until the server is told
/// to stop (through [`Application::handle`]) and then makes every write durable.
///
/// The binary wraps it in [`run`], which adds the signal handlers; tests build it in their
/// own process on port 0.
pub struct Application {
    server: Server,
    addrs: Vec<SocketAddr>,
    store: Backend,
    log: Logger,
    summary: Summary,
}

impl Application {
    /// Opens (and migrates) the store named by `settings` and binds `HOST`/`PORT`. Nothing
    /// is served until [`run_until_stopped`](Self::run_until_stopped) is awaited. Must be
    /// called inside an actix (or tokio) runtime: the server's workers start here.
    ///
    /// # Errors
    ///
    /// [`ServerError::Database`] or [`ServerError::Bind`].
    pub fn build(
        settings: Settings,
        log: &Logger,
        metrics: PrometheusHandle,
    ) -> Result<Self, ServerError> {
        let backend = Backend::open(&settings.database)?;
        if let Backend::Postgres(store) = &backend {
            // Connect and migrate now rather than on the first request; if the database
            // is not there yet, readiness says so and the next call tries again.
            let store = store.clone();
            let log = log.clone();
            actix_web::rt::spawn(async move {
                if let Err(e) = store.check_ready().await {
                    warn!(log, "PostgreSQL not ready at start-up; retrying on use";
                        "error" => crate::telemetry::cause_chain(&e));
                }
            });
        }
        let summary = Summary {
            host: settings.host.clone(),
            database: settings.database.to_string(),
            log_level: settings.log_level.as_str(),
            secrets: settings.verifier.as_ref().map_or(0, |v| v.secret_count()),
        };
        let addrs = settings.bind_addresses();
        let state = web::Data::new(AppState {
            store: backend.store(),
            verifier: settings.verifier,
            read_tokens: settings.read_tokens,
            whatsapp: routes::WhatsappCredentials {
                verifier: settings.whatsapp_verifier,
                verify_token: settings.whatsapp_verify_token,
            },
            metrics,
            log: log.clone(),
            openapi_json: openapi::openapi_json().into(),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(from_fn(middleware::observe))
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
        })
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
        .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
        .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
        .keep_alive(KeepAlive::Timeout(KEEP_ALIVE))
        .bind(&addrs[..])
        .map_err(|source| ServerError::Bind {
            addrs: addrs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            source,
        })?;
        let addrs = server.addrs();
        Ok(Self {
            server: server.run(),
            addrs,
            store: backend,
            log: log.clone(),
            summary,
        })
    }

    /// The port it listens on (the first address's, when it listens on several).
    pub fn port(&self) -> u16 {
        self.addrs.first().map_or(0, SocketAddr::port)
    }

    /// Every address it listens on.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stops the server: `handle().stop(true)` lets requests in flight finish (up to
    /// [`SHUTDOWN_GRACE`]).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped, then lets the store commit whatever is queued and stop its
    /// writer.
    ///
    /// # Errors
    ///
    /// [`ServerError::Serve`] when the server fails while running.
    pub async fn run_until_stopped(self) -> Result<(), ServerError> {
        let served = self.server.await.map_err(ServerError::Serve);
        if served.is_ok() {
            info!(self.log, "flushing the store");
        }
        self.store.shutdown();
        served
    }

    /// The one start-up line, for a supervisor or test that waits for it: written once
    /// nothing can fail any more, so a failed start-up leaves exactly one (error) line.
    fn log_listening(&self) {
        let bound: Vec<String> = self.addrs.iter().map(ToString::to_string).collect();
        info!(self.log, "listening";
            "addr" => bound.first().cloned().unwrap_or_default(),
            "addrs" => bound.join(", "),
            "host" => &self.summary.host,
            "database" => &self.summary.database,
            "log_level" => self.summary.log_level,
            "webhook_secrets" => self.summary.secrets,
            "version" => env!("CARGO_PKG_VERSION"));
        if self.summary.secrets == 0 {
            warn!(
                self.log,
                "WEBHOOK_SECRET is not set: POST /webhook and /health/ready answer 503"
            );
        }
    }
}

/// The binary's life: builds the [`Application`], installs the SIGTERM/SIGINT handlers,
/// logs `listening`, serves until a signal, then makes every write durable.
///
/// # Errors
///
/// A [`ServerError`] when start-up fails or the server stops abnormally.
pub fn run(settings: Settings, log: &Logger, metrics: PrometheusHandle) -> Result<(), ServerError> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings, log, metrics)?;
        let mut signals = ShutdownSignals::install().map_err(ServerError::Signals)?;
        app.log_listening();
        let handle = app.handle();
        let log = log.clone();
        actix_web::rt::spawn(async move {
            let name = signals.recv().await;
            info!(log, "shutdown signal received: finishing requests in flight";
                "signal" => name, "grace_s" => SHUTDOWN_GRACE.as_secs());
            handle.stop(true).await;
        });
        app.run_until_stopped().await
    })
}

/// What the `listening` line reports about the configuration (never the secret itself).
struct Summary {
    host: String,
    database: String,
    log_level: &'static str,
    secrets: usize,
}

/// SIGTERM and SIGINT, both meaning "stop gracefully".
struct ShutdownSignals {
    term: Signal,
    int: Signal,
}

impl ShutdownSignals {
    fn install() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
