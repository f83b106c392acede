//! Lifecycle: graceful shutdown on SIGTERM/SIGINT with requests in flight, durability across
//! a restart, and the cut-off of clients that send too slowly.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::helpers::{Config, SECRET, TestApp, message, sign};

/// Sends the head and the first half of a signed webhook; returns the stream and the rest.
fn start_slow_webhook(app: &TestApp, id: &str) -> (TcpStream, Vec<u8>) {
    let body = message(id, "+1555", "2025-01-15T10:00:00Z", Some("in flight")).to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         X-Signature: {}\r\nContent-Length: {}\r\n\r\n",
        sign(SECRET, &body),
        body.len()
    );
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(first).unwrap();
    stream.flush().unwrap();
    (stream, rest.to_vec())
}

fn read_response(stream: &mut TcpStream) -> String {
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                response.extend_from_slice(&buf[..n]);
                if response.ends_with(b"}") {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&response).into_owned()
}

fn shutdown_with_a_request_in_flight(signal: &str) {
    let mut app = Config::new().spawn_process();
    let (mut stream, rest) = start_slow_webhook(&app, "inflight");
    // Let the server take the head and wait for the body.
    std::thread::sleep(Duration::from_millis(300));
    app.signal(signal);
    app.stdout.wait_for("shutdown signal", |l| {
        l.contains("shutdown signal received")
    });
    stream.write_all(&rest).unwrap();
    let response = read_response(&mut stream);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");

    let status = app.wait_for_exit();
    assert_eq!(status.code(), Some(0));
    app.stdout
        .wait_for("stopped", |l| l.contains("\"msg\":\"stopped\""));

    // The acknowledged message is on disk: a new server on the same database sees it.
    let url = app.config.var("DATABASE_URL").unwrap().to_owned();
    let restarted = Config::new().env("DATABASE_URL", &url).spawn();
    let page = restarted.get_json("/messages", 200);
    assert_eq!(page["total"], 1);
    assert_eq!(page["data"][0]["message_id"], "inflight");
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_and_exits_0() {
    shutdown_with_a_request_in_flight("TERM");
}

#[test]
fn sigint_is_as_graceful_as_sigterm() {
    shutdown_with_a_request_in_flight("INT");
}

/// The value of `key` in the environment of process `pid`, as Linux shows it.
fn environment_of(pid: u32, key: &str) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    environ.split(|&b| b == 0).find_map(|entry| {
        let entry = String::from_utf8_lossy(entry);
        entry
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
            .map(str::to_owned)
    })
}

#[test]
fn the_server_runs_with_capped_malloc_arenas_in_the_process_it_was_started_as() {
    // The harness clears the environment, so the server sets the variable itself, by
    // replacing its own process: the child's pid is still the one serving.
    let mut app = Config::new().spawn_process();
    assert_eq!(
        environment_of(app.pid(), "MALLOC_ARENA_MAX").as_deref(),
        Some(hookline::MALLOC_ARENAS)
    );
    // Still named after its executable (`pgrep hookline` finds it).
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", app.pid())).unwrap();
    assert_eq!(comm.trim_end(), "hookline");
    app.store("m1", "+1555", "2025-01-15T10:00:00Z", None);
    app.signal("TERM");
    assert_eq!(app.wait_for_exit().code(), Some(0));
}

#[test]
fn an_operators_malloc_arena_max_is_kept() {
    let mut app = Config::new().env("MALLOC_ARENA_MAX", "3").spawn_process();
    assert_eq!(
        environment_of(app.pid(), "MALLOC_ARENA_MAX").as_deref(),
        Some("3")
    );
    app.signal("TERM");
    assert_eq!(app.wait_for_exit().code(), Some(0));
}

#[test]
fn an_idle_server_exits_0_on_sigterm_with_every_log_line_written() {
    let mut app = Config::new().spawn_process();
    app.store("m1", "+1555", "2025-01-15T10:00:00Z", None);
    app.signal("TERM");
    assert_eq!(app.wait_for_exit().code(), Some(0));
    let last = app
        .stdout
        .wait_for("stopped", |l| l.contains("\"msg\":\"stopped\""));
    assert!(serde_json::from_str::<serde_json::Value>(&last).is_ok());
}

#[test]
fn a_body_that_arrives_too_slowly_is_cut_off_with_408_while_others_are_served() {
    let app = TestApp::spawn();
    let (mut stream, _rest) = start_slow_webhook(&app, "slow");
    // Another client is served meanwhile.
    assert_eq!(app.get("/health/live").unwrap().status(), 200);
    let response = read_response(&mut stream);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(
        response.contains(r#"{"detail":"request timeout"}"#),
        "{response}"
    );
    assert_eq!(app.get_json("/messages", 200)["total"], 0);
}

#[test]
fn a_client_that_sends_its_headers_too_slowly_is_disconnected() {
    let app = TestApp::spawn();
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: loc")
        .unwrap();
    assert_eq!(app.get("/health/live").unwrap().status(), 200);
    let mut response = Vec::new();
    // Ends with EOF (possibly after a 408) well before the 30 s read timeout.
    let result = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    assert!(result.is_ok(), "{result:?}");
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}
