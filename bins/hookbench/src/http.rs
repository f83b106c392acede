//! A minimal blocking HTTP/1.1 client: one keep-alive `TcpStream`, requests written as
//! bytes, responses read as status line + headers + a `Content-Length` (or chunked) body.
//!
//! It exists so the load generator measures the server and not a client stack: no
//! runtime, no allocation per request once the buffers have grown, no parsing beyond the
//! three headers that decide where a response ends and whether the connection stays open.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::ops::Range;
use std::time::Duration;

/// The largest status line + headers accepted.
const MAX_HEAD: usize = 64 * 1024;
/// The largest body accepted.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Why a request failed on the wire.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Connecting, writing or reading failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// The peer closed the connection before a whole response arrived.
    #[error("connection closed before a complete response")]
    Closed,
    /// The response is not HTTP/1.x as this client understands it.
    #[error("malformed response: {0}")]
    Malformed(&'static str),
    /// The head or body is larger than this client accepts.
    #[error("response too large")]
    TooLarge,
}

/// Where requests go: an `http://host:port` base URL, resolved once.
#[derive(Debug, Clone)]
pub struct Endpoint {
    addr: SocketAddr,
    authority: String,
}

impl Endpoint {
    /// Parses `http://host[:port][/]` and resolves the host. Paths, `https` and user
    /// info are refused: the load generator talks plain HTTP to one server.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| "only http:// URLs are supported".to_owned())?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '@', '?', '#']) {
            return Err("expected http://host[:port] with no path".to_owned());
        }
        let with_port = if authority.rsplit_once(':').is_some_and(|(h, p)| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':')
        }) || authority.starts_with('[') && authority.contains("]:")
        {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {with_port}: {e}"))?
            .next()
            .ok_or_else(|| format!("{with_port} resolves to no address"))?;
        Ok(Self {
            addr,
            authority: authority.to_owned(),
        })
    }

    /// An endpoint at a known socket address.
    pub fn from_addr(addr: SocketAddr) -> Self {
        Self {
            addr,
            authority: addr.to_string(),
        }
    }

    /// The value of the `Host` header.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Opens a connection (with `TCP_NODELAY`, as every latency-minded client does).
    pub fn connect(&self, timeout: Duration) -> Result<Connection, HttpError> {
        let stream = TcpStream::connect_timeout(&self.addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Connection {
            stream,
            reader: ResponseReader::new(),
        })
    }

    /// One GET on a fresh connection, for the few requests the suite reads the body of.
    pub fn get(&self, path: &str, timeout: Duration) -> Result<(u16, Vec<u8>), HttpError> {
        let mut conn = self.connect(timeout)?;
        let mut request = Vec::new();
        write_get(&mut request, self.authority(), path);
        let head = conn.roundtrip(&request)?;
        Ok((head.status, conn.body().to_vec()))
    }
}

/// Appends a GET request for `path` to `out`.
pub fn write_get(out: &mut Vec<u8>, authority: &str, path: &str) {
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
}

/// Appends a signed JSON POST of `body` to `path` to `out`.
pub fn write_signed_post(
    out: &mut Vec<u8>,
    authority: &str,
    path: &str,
    signature: &str,
    body: &[u8],
) {
    out.extend_from_slice(b"POST ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: application/json\r\nX-Signature: ");
    out.extend_from_slice(signature.as_bytes());
    out.extend_from_slice(b"\r\nContent-Length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

/// An open keep-alive connection.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    reader: ResponseReader,
}

impl Connection {
    /// Writes one request and reads its response. After a response that says
    /// `Connection: close` ([`Head::close`]) the caller must drop the connection.
    pub fn roundtrip(&mut self, request: &[u8]) -> Result<Head, HttpError> {
        self.stream.write_all(request)?;
        self.reader.read_response(&mut self.stream)
    }

    /// The body of the last response.
    pub fn body(&self) -> &[u8] {
        self.reader.body()
    }
}

/// What the client keeps of a response besides its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// The server will close the connection after this response.
    pub close: bool,
}

/// Reads consecutive responses from a byte stream, keeping unread bytes between them.
#[derive(Debug, Default)]
pub struct ResponseReader {
    buf: Vec<u8>,
    /// Unconsumed bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    body: Vec<u8>,
}

impl ResponseReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self {
            buf: vec![0; 16 * 1024],
            ..Self::default()
        }
    }

    /// The body of the last response read.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Reads one whole response from `src`.
    pub fn read_response(&mut self, src: &mut impl Read) -> Result<Head, HttpError> {
        self.body.clear();
        let head_len = loop {
            if let Some(pos) = find(&self.buf[self.start..self.end], b"\r\n\r\n") {
                break pos + 4;
            }
            if self.end - self.start > MAX_HEAD {
                return Err(HttpError::TooLarge);
            }
            if self.fill(src)? == 0 {
                return Err(HttpError::Closed);
            }
        };
        let parsed = parse_head(&self.buf[self.start..self.start + head_len])?;
        self.start += head_len;
        let no_body = parsed.status < 200 || parsed.status == 204 || parsed.status == 304;
        let mut close = parsed.close;
        match parsed.framing {
            _ if no_body => {}
            Framing::Length(n) => {
                if n > MAX_BODY {
                    return Err(HttpError::TooLarge);
                }
                self.take_exact(src, n)?;
            }
            Framing::Chunked => self.read_chunked(src)?,
            Framing::UntilClose => {
                close = true;
                loop {
                    self.body.extend_from_slice(&self.buf[self.start..self.end]);
                    self.start = self.end;
                    if self.body.len() > MAX_BODY {
                        return Err(HttpError::TooLarge);
                    }
                    if self.fill(src)? == 0 {
                        break;
                    }
                }
            }
        }
        if parsed.status < 200 && parsed.status != 101 {
            // An interim response (100 Continue): the real one follows.
            return self.read_response(src);
        }
        Ok(Head {
            status: parsed.status,
            close,
        })
    }

    /// Moves `n` body bytes from the buffer and the stream into `self.body`.
    fn take_exact(&mut self, src: &mut impl Read, n: usize) -> Result<(), HttpError> {
        let mut need = n;
        loop {
            let have = (self.end - self.start).min(need);
            self.body
                .extend_from_slice(&self.buf[self.start..self.start + have]);
            self.start += have;
            need -= have;
            if need == 0 {
                return Ok(());
            }
            if self.fill(src)? == 0 {
                return Err(HttpError::Closed);
            }
        }
    }

    /// Reads one CRLF-terminated line (without the CRLF) as a range of `buf`, consuming it.
    fn line(&mut self, src: &mut impl Read) -> Result<Range<usize>, HttpError> {
        loop {
            if let Some(pos) = find(&self.buf[self.start..self.end], b"\r\n") {
                let range = self.start..self.start + pos;
                self.start += pos + 2;
                return Ok(range);
            }
            if self.end - self.start > MAX_HEAD {
                return Err(HttpError::TooLarge);
            }
            if self.fill(src)? == 0 {
                return Err(HttpError::Closed);
            }
        }
    }

    fn read_chunked(&mut self, src: &mut impl Read) -> Result<(), HttpError> {
        loop {
            let line = self.line(src)?;
            let text = &self.buf[line];
            let size_text = text.split(|&b| b == b';').next().unwrap_or(&[]);
            let size_text = std::str::from_utf8(size_text)
                .map_err(|_| HttpError::Malformed("chunk size"))?
                .trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| HttpError::Malformed("chunk size"))?;
            if size == 0 {
                // Trailers, then the empty line.
                while !self.line(src)?.is_empty() {}
                return Ok(());
            }
            if self.body.len() + size > MAX_BODY {
                return Err(HttpError::TooLarge);
            }
            self.take_exact(src, size)?;
            if !self.line(src)?.is_empty() {
                return Err(HttpError::Malformed("chunk not followed by CRLF"));
            }
        }
    }

    /// Reads more bytes from `src` after the unconsumed ones; returns how many (0 = EOF).
    fn fill(&mut self, src: &mut impl Read) -> Result<usize, HttpError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 && self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).max(16 * 1024);
            self.buf.resize(grown, 0);
        }
        loop {
            match src.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// How the end of a body is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// A parsed status line and the headers that matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ParsedHead {
    status: u16,
    close: bool,
    framing: Framing,
}

/// Parses a response head (status line and headers, ending with the empty line).
fn parse_head(head: &[u8]) -> Result<ParsedHead, HttpError> {
    let text = std::str::from_utf8(head).map_err(|_| HttpError::Malformed("head not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(HttpError::Malformed("not an HTTP/1.x status line")),
    };
    let status = parts
        .next()
        .filter(|s| s.len() == 3)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..=599).contains(s))
        .ok_or(HttpError::Malformed("bad status code"))?;
    let mut close = http10;
    let mut framing = Framing::UntilClose;
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or(HttpError::Malformed("header without a colon"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            if framing != Framing::Chunked {
                let n = value
                    .parse::<usize>()
                    .map_err(|_| HttpError::Malformed("bad content-length"))?;
                framing = Framing::Length(n);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if value
                .rsplit(',')
                .next()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("chunked"))
            {
                framing = Framing::Chunked;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    close = true;
                } else if token.eq_ignore_ascii_case("keep-alive") && http10 {
                    close = false;
                }
            }
        }
    }
    Ok(ParsedHead {
        status,
        close,
        framing,
    })
}

/// The position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its bytes a few at a time, like a slow socket.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(self.data.len()).min(out.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn read_all(wire: &[u8], step: usize) -> Vec<Result<(Head, Vec<u8>), String>> {
        let mut src = Trickle { data: wire, step };
        let mut reader = ResponseReader::new();
        let mut out = Vec::new();
        loop {
            match reader.read_response(&mut src) {
                Ok(head) => out.push(Ok((head, reader.body().to_vec()))),
                Err(HttpError::Closed) => return out,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }

    #[test]
    fn reads_consecutive_content_length_responses_whatever_the_read_sizes() {
        let wire = b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\ncontent-type: application/json\r\n\r\n{\"status\":\"ok\"}\
HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n";
        for step in [1, 2, 7, 64, 100_000] {
            let got = read_all(wire, step);
            assert_eq!(got.len(), 2, "step {step}: {got:?}");
            let (h, body) = got[0].as_ref().unwrap();
            assert_eq!(
                *h,
                Head {
                    status: 200,
                    close: false
                }
            );
            assert_eq!(body, b"{\"status\":\"ok\"}");
            let (h, body) = got[1].as_ref().unwrap();
            assert_eq!(h.status, 401);
            assert!(body.is_empty());
        }
    }

    #[test]
    fn connection_close_is_reported() {
        let wire =
            b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}";
        let got = read_all(wire, 5);
        let (h, _) = got[0].as_ref().unwrap();
        assert_eq!(
            *h,
            Head {
                status: 503,
                close: true
            }
        );
    }

    #[test]
    fn http10_closes_unless_keep_alive() {
        let got = read_all(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 3);
        assert!(got[0].as_ref().unwrap().0.close);
        let got = read_all(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
            3,
        );
        assert!(!got[0].as_ref().unwrap().0.close);
    }

    #[test]
    fn chunked_bodies_are_decoded() {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n\
HTTP/1.1 204 No Content\r\n\r\n";
        for step in [1, 3, 1000] {
            let got = read_all(wire, step);
            assert_eq!(got.len(), 2, "step {step}: {got:?}");
            assert_eq!(got[0].as_ref().unwrap().1, b"hello world");
            assert_eq!(got[1].as_ref().unwrap().0.status, 204);
        }
    }

    #[test]
    fn a_body_without_length_runs_to_the_end_of_the_stream() {
        let got = read_all(b"HTTP/1.1 200 OK\r\n\r\nall of it", 4);
        let (h, body) = got[0].as_ref().unwrap();
        assert!(h.close);
        assert_eq!(body, b"all of it");
    }

    #[test]
    fn interim_100_continue_is_skipped() {
        let got = read_all(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            9,
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap().0.status, 200);
    }

    #[test]
    fn truncated_and_malformed_responses_are_errors() {
        let mut reader = ResponseReader::new();
        let mut src = Trickle {
            data: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            step: 4,
        };
        assert!(matches!(
            reader.read_response(&mut src),
            Err(HttpError::Closed)
        ));
        for wire in [
            &b"SMTP 220 hi\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        ] {
            let got = read_all(wire, 64);
            assert!(
                matches!(got.last(), Some(Err(_))),
                "{:?}: {got:?}",
                String::from_utf8_lossy(wire)
            );
        }
    }

    #[test]
    fn endpoints_parse_host_and_port() {
        let e = Endpoint::parse("http://127.0.0.1:8000/").unwrap();
        assert_eq!(e.authority(), "127.0.0.1:8000");
        assert_eq!(e.addr.port(), 8000);
        assert_eq!(Endpoint::parse("http://127.0.0.1").unwrap().addr.port(), 80);
        assert!(Endpoint::parse("https://127.0.0.1:8000").is_err());
        assert!(Endpoint::parse("http://127.0.0.1:8000/webhook").is_err());
    }

    #[test]
    fn requests_are_framed_with_their_length_and_signature() {
        let mut out = Vec::new();
        write_signed_post(&mut out, "h:1", "/webhook", "abcd", b"{}");
        assert_eq!(
            out,
            b"POST /webhook HTTP/1.1\r\nHost: h:1\r\nContent-Type: application/json\r\nX-Signature: abcd\r\nContent-Length: 2\r\n\r\n{}"
        );
        out.clear();
        write_get(&mut out, "h:1", "/stats");
        assert_eq!(out, b"GET /stats HTTP/1.1\r\nHost: h:1\r\n\r\n");
    }
}
