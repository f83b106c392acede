//! The `Host` header: HTTP/1.1 requests without one are served like any other (the FastAPI
//! services hookline replaces accept them, and the shared wrk load kit sends none), and a
//! request with two is refused and stores nothing. See `vendor/actix-http/VENDORED.md`.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::raw_http::{Outcome, exchange, read_response};
use crate::server::{Server, message_body, sign};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A signed `POST /webhook` shaped like the wrk kit's: no `Host`, keep-alive, and the
/// given extra header lines.
fn webhook_without_host(body: &str, extra: &str) -> Vec<u8> {
    format!(
        "POST /webhook HTTP/1.1\r\nContent-Type: application/json\r\nX-Signature: {}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        sign(body.as_bytes()),
        body.len()
    )
    .into_bytes()
}

fn status_and_body(outcome: &Outcome) -> (u16, String) {
    match outcome {
        Outcome::Response { status, body, .. } => {
            (*status, String::from_utf8_lossy(body).into_owned())
        }
        other => panic!("no complete response: {other:?}"),
    }
}

#[test]
fn http_1_1_requests_without_host_are_served_on_one_keep_alive_connection() {
    let dir = TempDir::new().unwrap();
    let server = Server::start(&dir.path().join("app.db"));

    // Three requests one after another on one connection, as wrk sends them: two new
    // messages and a duplicate of the first.
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let bodies = [
        message_body("no-host-1", "first"),
        message_body("no-host-2", "second"),
        message_body("no-host-1", "first"),
    ];
    for body in &bodies {
        let start = Instant::now();
        stream.write_all(&webhook_without_host(body, "")).unwrap();
        let (status, text) = status_and_body(&read_response(&mut stream, start, TIMEOUT, false));
        assert_eq!(
            (status, text.as_str()),
            (200, r#"{"status":"ok"}"#),
            "POST without Host"
        );
    }

    // A GET without Host on a fresh connection is served too.
    let get = b"GET /health/live HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec();
    let (status, _) = status_and_body(&exchange(server.addr, get, TIMEOUT, false));
    assert_eq!(status, 200, "GET /health/live without Host");

    let (ids, total) = server.stored_ids();
    assert_eq!(total, 2, "the duplicate was stored once");
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        ["no-host-1", "no-host-2"]
    );
}

#[test]
fn a_request_with_two_host_headers_is_refused_and_stores_nothing() {
    let dir = TempDir::new().unwrap();
    let server = Server::start(&dir.path().join("app.db"));
    let body = message_body("two-hosts", "hello");
    let request = webhook_without_host(&body, "Host: a.example\r\nHost: b.example\r\n");
    let (status, _) = status_and_body(&exchange(server.addr, request, TIMEOUT, false));
    assert_eq!(status, 400, "two Host headers");
    let (ids, total) = server.stored_ids();
    assert_eq!((ids.len(), total), (0, 0), "nothing stored: {ids:?}");
}
