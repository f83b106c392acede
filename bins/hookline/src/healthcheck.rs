//! `hookline healthcheck [PATH]`: a probe for container images that have no curl.
//!
//! Sends `GET PATH` (default `/health/live`) over HTTP/1.1 to this machine on `$PORT`
//! (default 8000) — to `$HOST` when it names one specific address — and succeeds only on a
//! 200. Plain `std::net`, no dependencies, a 3-second budget.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use crate::config::DEFAULT_PORT;

/// The probe's path when none is given.
pub const DEFAULT_PROBE_PATH: &str = "/health/live";

const TIMEOUT: Duration = Duration::from_secs(3);

/// Why the probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// `PORT` is not a port number.
    #[error("PORT is not a port number")]
    BadPort,
    /// The path is not an absolute path of visible ASCII.
    #[error("the path must start with '/' and contain only visible ASCII")]
    BadPath,
    /// Connecting, sending or receiving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The server answered with something other than 200.
    #[error("unexpected answer: {0}")]
    Status(String),
}

/// Runs the probe and maps its outcome to an exit code: 0 on 200, 1 otherwise (with one line
/// on stderr saying why).
pub fn run(path: Option<&str>) -> ExitCode {
    match probe(path.unwrap_or(DEFAULT_PROBE_PATH)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("healthcheck failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn probe(path: &str) -> Result<(), ProbeError> {
    if !path.starts_with('/') || !path.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(ProbeError::BadPath);
    }
    let port = match std::env::var("PORT") {
        Ok(p) => p.trim().parse::<u16>().map_err(|_| ProbeError::BadPort)?,
        Err(_) => DEFAULT_PORT,
    };
    let ip = std::env::var("HOST")
        .ok()
        .and_then(|h| h.trim().parse::<IpAddr>().ok())
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |ip| match ip {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        });
    let addr = SocketAddr::new(ip, port);
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: hookline-healthcheck\r\n\
         Connection: close\r\n\r\n"
    )?;
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") && head.len() < 256 {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let status_line = String::from_utf8_lossy(&head).trim_end().to_owned();
    let mut parts = status_line.split(' ');
    match (parts.next(), parts.next()) {
        (Some(version), Some("200")) if version.starts_with("HTTP/1.") => Ok(()),
        _ => Err(ProbeError::Status(status_line)),
    }
}
