//! The hookline server: the HTTP face of the webhook-ingest service.
//!
//! This crate is the only one that knows HTTP, configuration and logging. It owns:
//! - [`config`]: the environment settings (README.md, "Configuration"), parsed once; a bad
//!   one stops start-up with one JSON line naming the variable and exit code 2;
//! - [`routes`]: one module per endpoint, each turning HTTP into calls of the domain, query
//!   and store crates and back — no validation or SQL lives here;
//! - [`errors`]: every error a handler answers with, mapped to its status and body in one
//!   place (FastAPI's bodies, so clients of the original service see no difference);
//! - [`middleware`]: request id, one JSON log line and the metrics of every request;
//! - [`telemetry`]: the JSON logger on stdout and the Prometheus recorder;
//! - [`bodies`] and [`openapi`]: the response types and the OpenAPI document made from them;
//! - [`server`]: start-up, timeouts and graceful shutdown; [`healthcheck`]: the
//!   `hookline healthcheck` probe for images without curl.
//!
//! Invariants: nothing a client sends causes a 5xx other than 503 for storage faults, nor a
//! panic; store calls go through the async `MessageStore`, and how a backend waits (a
//! writer thread, a blocking pool, a connection pool) is the backend's business; stdout
//! carries JSON lines only; secrets and message text are never logged.

pub mod bodies;
pub mod config;
pub mod errors;
pub mod healthcheck;
mod log_batch;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod telemetry;

use std::ffi::OsString;
use std::process::ExitCode;

use slog::{error, info};

/// Exit code of a start-up failure (bad setting, database or port unusable).
pub const EXIT_STARTUP: u8 = 2;

const USAGE: &str = "usage: hookline                     run the server (configured by the environment)
       hookline healthcheck [PATH]  GET PATH (default /health/live) on 127.0.0.1:$PORT; exit 0 on 200
       hookline --version";

/// The command line: `hookline`, `hookline healthcheck [PATH]`, `hookline --version`.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let args: Vec<&str> = args
        .iter()
        .map(|a| a.to_str().unwrap_or("\u{fffd}"))
        .collect();
    match args.as_slice() {
        [] => {
            cap_malloc_arenas();
            serve()
        }
        ["healthcheck"] => healthcheck::run(None),
        ["healthcheck", path] => healthcheck::run(Some(path)),
        ["--version" | "-V"] => {
            println!("hookline {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        ["--help" | "-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(EXIT_STARTUP)
        }
    }
}

/// The `MALLOC_ARENA_MAX` the server runs with unless its environment sets one.
pub const MALLOC_ARENAS: &str = "4";

/// Caps glibc's malloc arenas at [`MALLOC_ARENAS`] by running this same executable again
/// (same process, same arguments) with `MALLOC_ARENA_MAX` set, when the environment does
/// not set it already; glibc reads it only at start-up, and `mallopt` would take `unsafe`.
/// The executable is named by its path, not `/proc/self/exe`, so the process keeps its
/// name (`hookline` in `ps`, `pgrep`, `/proc/<pid>/comm`).
///
/// glibc gives a thread that finds the arenas busy an arena of its own, up to eight per
/// core, and returns little of their freed memory: with reads and ingest together the
/// server's peak RSS measured 104.6 MiB by default, 85.1 MiB with four arenas and 82.2 MiB
/// with two; two cost 5–25% of ingest into an empty database (malloc contention), four
/// measured level with the default (`docs/PERFORMANCE.md`). If the `exec` fails, the
/// server runs as it is.
fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none()
        && let Ok(exe) = std::env::current_exe()
    {
        use std::os::unix::process::CommandExt;
        let mut args = std::env::args_os();
        let mut again = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            again.arg0(arg0);
        }
        // Returns only if the process could not be replaced.
        let _failed = again
            .args(args)
            .env("MALLOC_ARENA_MAX", MALLOC_ARENAS)
            .exec();
    }
}

/// Runs the server until a shutdown signal; the process's exit code.
fn serve() -> ExitCode {
    let settings = match config::Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            let mut fields = serde_json::Map::new();
            if let Some(variable) = e.variable() {
                fields.insert("variable".into(), variable.into());
            }
            fields.insert("cause".into(), telemetry::cause_chain(&e).into());
            telemetry::write_early_error(&format!("invalid configuration: {e}"), fields);
            return ExitCode::from(EXIT_STARTUP);
        }
    };
    let (log, guard) = telemetry::init_logger(settings.log_level);
    let code = match telemetry::init_metrics() {
        Err(e) => {
            error!(log, "cannot start: {}", e; "cause" => telemetry::cause_chain(&e));
            ExitCode::from(EXIT_STARTUP)
        }
        Ok(metrics) => match server::run(settings, &log, metrics) {
            Ok(()) => {
                info!(log, "stopped");
                ExitCode::SUCCESS
            }
            Err(e) if e.is_startup() => {
                error!(log, "cannot start: {}", e;
                    "variable" => e.variable(), "cause" => telemetry::cause_chain(&e));
                ExitCode::from(EXIT_STARTUP)
            }
            Err(e) => {
                error!(log, "stopped on an error: {}", e; "cause" => telemetry::cause_chain(&e));
                ExitCode::FAILURE
            }
        },
    };
    drop(log);
    // Writes out every queued line before the process exits.
    drop(guard);
    code
}
