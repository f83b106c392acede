//! Starting and stopping the real `hookline` binary for the suite.
//!
//! A [`RunningServer`] owns the child process: dropping it (on success, on error, on
//! panic unwinding) sends `SIGTERM`, waits a few seconds, then kills. The server's stdout
//! and stderr (its JSON log lines) go to a file beside the database, so per-request
//! logging costs what it costs in production, and the tail of that file explains a
//! server that fails to start.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::BenchError;
use crate::http::Endpoint;

/// How to start one server.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The `hookline` binary.
    pub binary: PathBuf,
    /// `WEBHOOK_SECRET`.
    pub secret: String,
    /// The SQLite file (absolute), given as `DATABASE_URL=sqlite:///<path>`.
    pub database: PathBuf,
    /// A `DATABASE_URL` to use instead of that file (PostgreSQL).
    pub database_url: Option<String>,
    /// `LOG_LEVEL`.
    pub log_level: String,
    /// Where stdout and stderr go.
    pub log: PathBuf,
}

/// A started, ready server.
#[derive(Debug)]
pub struct RunningServer {
    child: Child,
    binary: PathBuf,
    log: PathBuf,
    endpoint: Endpoint,
    startup: Duration,
}

impl RunningServer {
    /// Starts the server on a free loopback port and waits until `/health/ready` is 200.
    /// The start-up time is spawn → first 200.
    pub fn start(spec: &ServerSpec) -> Result<Self, BenchError> {
        let fail = |reason: String| BenchError::Server {
            binary: spec.binary.clone(),
            reason,
        };
        let port = free_port().map_err(|e| fail(format!("cannot find a free port: {e}")))?;
        let log = File::create(&spec.log).map_err(|source| BenchError::File {
            what: "cannot create",
            path: spec.log.clone(),
            source,
        })?;
        let log_err = log.try_clone().map_err(|source| BenchError::File {
            what: "cannot reopen",
            path: spec.log.clone(),
            source,
        })?;
        let spawned = Instant::now();
        let child = Command::new(&spec.binary)
            .env("WEBHOOK_SECRET", &spec.secret)
            .env(
                "DATABASE_URL",
                spec.database_url
                    .clone()
                    .unwrap_or_else(|| format!("sqlite:///{}", spec.database.display())),
            )
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("LOG_LEVEL", &spec.log_level)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| fail(format!("cannot start: {e}")))?;
        let mut server = RunningServer {
            child,
            binary: spec.binary.clone(),
            log: spec.log.clone(),
            endpoint: Endpoint::from_addr(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
            startup: Duration::ZERO,
        };
        let limit = Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(server.failure(format!("exited during start-up ({status})")));
            }
            if let Ok((200, _)) = server.endpoint.get("/health/ready", Duration::from_secs(2)) {
                server.startup = spawned.elapsed();
                return Ok(server);
            }
            if spawned.elapsed() > limit {
                return Err(server.failure(format!(
                    "/health/ready not 200 within {} s",
                    limit.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Where it listens.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Spawn → `/health/ready` 200.
    pub fn startup(&self) -> Duration {
        self.startup
    }

    /// The process's peak resident set so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Stops the server with `SIGTERM` (graceful: in-flight requests finish) and waits
    /// for it to exit; kills it if it has not within 35 s.
    pub fn stop(mut self) -> Result<(), BenchError> {
        match self.terminate(Duration::from_secs(35)) {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(self.failure(format!("exited with {status} on SIGTERM"))),
            None => Err(self.failure("did not stop within 35 s of SIGTERM; killed".to_owned())),
        }
    }

    /// Sends SIGTERM, waits up to `grace`, then kills. The exit status if it stopped in
    /// time by itself.
    fn terminate(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        // `kill(1)` rather than libc: this crate has no unsafe code.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let until = Instant::now() + grace;
        while Instant::now() < until {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    fn failure(&mut self, reason: String) -> BenchError {
        BenchError::Server {
            binary: self.binary.clone(),
            reason: format!(
                "{reason}; last lines of {}:\n{}",
                self.log.display(),
                tail(&self.log, 2000)
            ),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(5));
    }
}

/// A port that was free a moment ago (the server binds it right after).
fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// The last `bytes` bytes of a file, lossily as text.
fn tail(path: &Path, bytes: usize) -> String {
    match std::fs::read(path) {
        Ok(data) => {
            let from = data.len().saturating_sub(bytes);
            String::from_utf8_lossy(&data[from..]).into_owned()
        }
        Err(e) => format!("(cannot read: {e})"),
    }
}
