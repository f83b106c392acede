//! The `Host` header, as docs/API.md ("Transport") and RFC 9112 section 3.2 require: an
//! HTTP/1.1 request without one, or with two, is a 400 and stores nothing; with exactly one
//! it is served. Raw TCP, so the requests carry exactly the headers written here.

use std::time::Duration;

use tempfile::TempDir;

use crate::raw_http::{Outcome, exchange};
use crate::server::{Server, message_body, sign};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A signed `POST /webhook` of `body` with the given `Host` header lines (none, one or more).
fn webhook(body: &str, host_lines: &str) -> Vec<u8> {
    format!(
        "POST /webhook HTTP/1.1\r\n{host_lines}Connection: close\r\nContent-Type: application/json\r\nX-Signature: {}\r\nContent-Length: {}\r\n\r\n{body}",
        sign(body.as_bytes()),
        body.len()
    )
    .into_bytes()
}

/// A `GET /health/live` with the given `Host` header lines.
fn health(host_lines: &str) -> Vec<u8> {
    format!("GET /health/live HTTP/1.1\r\n{host_lines}Connection: close\r\n\r\n").into_bytes()
}

fn status(outcome: &Outcome) -> u16 {
    outcome
        .status()
        .unwrap_or_else(|| panic!("no complete response: {outcome:?}"))
}

#[test]
fn an_http_1_1_request_without_host_is_a_400_and_stores_nothing() {
    let dir = TempDir::new().unwrap();
    let server = Server::start(&dir.path().join("app.db"));

    let get = exchange(server.addr, health(""), TIMEOUT, false);
    assert_eq!(status(&get), 400, "GET /health/live without Host");

    let body = message_body("no-host", "hello");
    let post = exchange(server.addr, webhook(&body, ""), TIMEOUT, false);
    assert_eq!(status(&post), 400, "signed POST /webhook without Host");

    let (ids, total) = server.stored_ids();
    assert_eq!((ids.len(), total), (0, 0), "nothing stored: {ids:?}");
}

#[test]
fn a_request_with_two_host_headers_is_a_400_and_stores_nothing() {
    let dir = TempDir::new().unwrap();
    let server = Server::start(&dir.path().join("app.db"));
    let two = "Host: a.example\r\nHost: b.example\r\n";

    let get = exchange(server.addr, health(two), TIMEOUT, false);
    assert_eq!(status(&get), 400, "GET /health/live with two Host headers");

    let body = message_body("two-hosts", "hello");
    let post = exchange(server.addr, webhook(&body, two), TIMEOUT, false);
    assert_eq!(
        status(&post),
        400,
        "signed POST /webhook with two Host headers"
    );

    let (ids, total) = server.stored_ids();
    assert_eq!((ids.len(), total), (0, 0), "nothing stored: {ids:?}");
}

#[test]
fn a_request_with_one_host_header_is_served() {
    let dir = TempDir::new().unwrap();
    let server = Server::start(&dir.path().join("app.db"));
    let one = "Host: 127.0.0.1\r\n";

    let get = exchange(server.addr, health(one), TIMEOUT, false);
    assert_eq!(status(&get), 200, "GET /health/live with one Host");

    let body = message_body("one-host", "hello");
    let post = exchange(server.addr, webhook(&body, one), TIMEOUT, false);
    match &post {
        Outcome::Response { status, body, .. } => assert_eq!(
            (*status, String::from_utf8_lossy(body).as_ref()),
            (200, r#"{"status":"ok"}"#),
            "signed POST /webhook with one Host"
        ),
        other => panic!("no complete response: {other:?}"),
    }

    let (ids, total) = server.stored_ids();
    assert_eq!(total, 1);
    assert_eq!(ids.into_iter().collect::<Vec<_>>(), ["one-host"]);
}
