//! HTTP/1.1 over a plain `TcpStream`, byte for byte: for requests no well-behaved client
//! would send (lying `Content-Length`, truncated bodies, huge headers) and for telling a
//! complete response from a dropped connection.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// What came back for one request.
#[derive(Debug)]
pub enum Outcome {
    /// A complete response (status line, headers, and the whole body its framing promised).
    Response {
        /// The status code.
        status: u16,
        /// The body bytes.
        body: Vec<u8>,
        /// How long it took.
        elapsed: Duration,
    },
    /// The connection ended (EOF, reset, or our read timeout) before a complete response.
    Dropped {
        /// The bytes received before that.
        partial: Vec<u8>,
        /// The error, when the read failed rather than seeing EOF.
        error: Option<ErrorKind>,
        /// How long it took.
        elapsed: Duration,
    },
    /// The connection was refused.
    Refused,
}

impl Outcome {
    /// The status of a complete response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Response { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Builds a request: the request line, `Host`, `Connection: close`, the extra headers, a
/// `Content-Length` matching `body` unless `headers` set one (or `Transfer-Encoding`), then
/// the body.
pub fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n")
        .into_bytes();
    let framed = headers.iter().any(|(name, _)| {
        name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
    });
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if !framed && (!body.is_empty() || method == "POST" || method == "PUT" || method == "PATCH") {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Sends `bytes` on a new connection (from a second thread, so a server that answers before
/// reading everything is still heard) and reads one response, waiting at most `timeout`.
/// `head_only`: the response has no body (an answer to `HEAD`).
pub fn exchange(addr: SocketAddr, bytes: Vec<u8>, timeout: Duration, head_only: bool) -> Outcome {
    let start = Instant::now();
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return Outcome::Refused;
    };
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&bytes);
    });
    let outcome = read_response(&mut stream, start, timeout, head_only);
    let _ = stream.shutdown(Shutdown::Both);
    let _ = sender.join();
    outcome
}

/// Reads one response from `stream`, waiting until `start + timeout` at most; the stream
/// stays open, so a keep-alive connection can carry the next request.
pub fn read_response(
    stream: &mut TcpStream,
    start: Instant,
    timeout: Duration,
    head_only: bool,
) -> Outcome {
    let mut received = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        if let Some((status, body)) = complete_response(&received, head_only) {
            break Outcome::Response {
                status,
                body,
                elapsed: start.elapsed(),
            };
        }
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            break dropped(received, Some(ErrorKind::TimedOut), start);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => break dropped(received, None, start),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                break dropped(received, Some(ErrorKind::TimedOut), start);
            }
            Err(e) => break dropped(received, Some(e.kind()), start),
        }
    }
}

fn dropped(partial: Vec<u8>, error: Option<ErrorKind>, start: Instant) -> Outcome {
    Outcome::Dropped {
        partial,
        error,
        elapsed: start.elapsed(),
    }
}

/// The status and body once `received` holds a whole response, else `None`.
fn complete_response(received: &[u8], head_only: bool) -> Option<(u16, Vec<u8>)> {
    let end = received.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let rest = &received[end..];
    if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        return Some((status, Vec::new()));
    }
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':').map(str::trim))
    };
    if let Some(len) = header("content-length") {
        let len: usize = len.parse().ok()?;
        return (rest.len() >= len).then(|| (status, rest[..len].to_vec()));
    }
    if header("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
        return dechunk(rest).map(|body| (status, body));
    }
    // No framing: the body ends when the connection does; the caller sees EOF as `Dropped`
    // with the whole response in `partial` only if it never completes here, so treat a
    // framing-less response as complete at once (hookline always frames its bodies).
    Some((status, rest.to_vec()))
}

/// The body of a complete chunked encoding, else `None`.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return rest.windows(2).any(|w| w == b"\r\n").then_some(body);
        }
        if rest.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}
