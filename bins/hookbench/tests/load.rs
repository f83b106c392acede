//! Black-box tests of `hookbench load` against a tiny in-test HTTP server that checks
//! every signature with `hookline-signature` and closes some connections on purpose.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hookline_signature::{SecretString, SignatureHeaders, Verifier};

/// What the test server saw.
#[derive(Default)]
struct Seen {
    valid: AtomicU64,
    invalid: AtomicU64,
    gets: AtomicU64,
}

/// Serves one connection: answers 200 to correctly signed POSTs and to GETs, 401
/// otherwise, and says `Connection: close` (then closes) on every 5th response.
fn serve(stream: TcpStream, verifier: &Verifier, seen: &Seen) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let mut served = 0u64;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut length = 0usize;
        let mut signature = None;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("x-signature") {
                    signature = Some(value.trim().to_owned());
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let ok = if request_line.starts_with("GET ") {
            seen.gets.fetch_add(1, Ordering::Relaxed);
            true
        } else {
            let headers = SignatureHeaders {
                x_signature: signature.as_deref().map(str::as_bytes),
                ..SignatureHeaders::default()
            };
            let valid = verifier.verify(headers, &body).is_ok()
                && hookline_domain::parse_message(&body).is_ok();
            let counter = if valid { &seen.valid } else { &seen.invalid };
            counter.fetch_add(1, Ordering::Relaxed);
            valid
        };
        served += 1;
        let close = served.is_multiple_of(5);
        let (status, reply) = if ok {
            ("200 OK", "{\"status\":\"ok\"}")
        } else {
            ("401 Unauthorized", "{\"detail\":\"invalid signature\"}")
        };
        write!(
            out,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n{reply}",
            reply.len(),
            if close { "Connection: close\r\n" } else { "" }
        )?;
        if close {
            return Ok(());
        }
    }
}

/// Starts the test server; returns its base URL and what it saw.
fn start_server(secret: &str) -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let verifier = Verifier::new([SecretString::from(secret)]).unwrap();
    let seen = Arc::new(Seen::default());
    let seen_by_server = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let verifier = verifier.clone();
            let seen = Arc::clone(&seen_by_server);
            std::thread::spawn(move || {
                let _ = serve(stream, &verifier, &seen);
            });
        }
    });
    (url, seen)
}

fn hookbench(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_hookbench"))
        .args(args)
        .env_remove("WEBHOOK_SECRET")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hookbench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn load_posts_signed_messages_and_survives_connection_close() {
    let (url, seen) = start_server("k3y");
    let report = hookbench(&[
        "load", "--url", &url, "--secret", "k3y", "-c", "4", "-d", "1s", "--json",
    ]);
    let requests = report["requests"].as_u64().unwrap();
    assert!(requests > 10, "{report}");
    assert_eq!(report["non_2xx"], 0, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["mode"], "closed-loop");
    assert_eq!(seen.valid.load(Ordering::Relaxed), requests);
    assert_eq!(seen.invalid.load(Ordering::Relaxed), 0);
}

#[test]
fn a_wrong_secret_shows_up_as_non_2xx() {
    let (url, seen) = start_server("right");
    let report = hookbench(&[
        "load", "--url", &url, "--secret", "wrong", "-c", "2", "-d", "300ms", "--json",
    ]);
    assert_eq!(report["non_2xx"], report["requests"], "{report}");
    assert!(seen.invalid.load(Ordering::Relaxed) > 0);
    assert_eq!(seen.valid.load(Ordering::Relaxed), 0);
}

#[test]
fn load_gets_a_path_at_a_fixed_rate() {
    let (url, seen) = start_server("k");
    let report = hookbench(&[
        "load",
        "--url",
        &url,
        "--get",
        "/health/live",
        "-c",
        "2",
        "-d",
        "1s",
        "--rate",
        "200",
        "--json",
    ]);
    let requests = report["requests"].as_u64().unwrap();
    // 200/s for 1 s, give or take the schedule's edges; no timing tolerance is asserted
    // beyond "the rate bounds the count".
    assert!((1..=201).contains(&requests), "{report}");
    assert_eq!(report["mode"], "open-loop");
    assert_eq!(seen.gets.load(Ordering::Relaxed), requests);
}

#[test]
fn refused_connections_are_errors_not_a_crash() {
    // Bind and drop to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let report = hookbench(&[
        "load",
        "--url",
        &format!("http://127.0.0.1:{port}"),
        "--get",
        "/",
        "-c",
        "2",
        "-d",
        "200ms",
        "--json",
    ]);
    assert_eq!(report["requests"], 0);
    assert!(report["connect_errors"].as_u64().unwrap() > 0, "{report}");
}

#[test]
fn a_missing_secret_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_hookbench"))
        .args(["load", "--url", "http://127.0.0.1:9", "-d", "100ms"])
        .env_remove("WEBHOOK_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("WEBHOOK_SECRET"));
}

#[test]
fn seed_fills_a_database_the_server_can_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("seed.db");
    let out = Command::new(env!("CARGO_BIN_EXE_hookbench"))
        .args(["seed", "--rows", "2500", "--group", "1000", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("rows=2500 created=2500"), "{stdout}");
    // Seeding again stores nothing new: the ids are reproducible.
    let again = Command::new(env!("CARGO_BIN_EXE_hookbench"))
        .args(["seed", "--rows", "2500", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("created=0"));
}

#[test]
fn disk_accounts_for_every_byte_of_a_seeded_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("disk.db");
    let seeded = Command::new(env!("CARGO_BIN_EXE_hookbench"))
        .args(["seed", "--rows", "3000", "--group", "1000", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(seeded.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_hookbench"))
        .args(["disk", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("**3,000** messages"), "{stdout}");
    for structure in [
        "| table `messages` |",
        "| message_id index (`sqlite_autoindex_messages_1`) |",
        "| index `hookline_by_ts` |",
        "| index `hookline_by_from` |",
        "| q index (FTS5) (`messages_fts_",
        "| counters (`hookline_days`",
        "| free pages |",
        "| **database** (page count × page size) |",
    ] {
        assert!(stdout.contains(structure), "no {structure:?} in {stdout}");
    }
    // Closed by the seeder: nothing unexplained, and the file is the database.
    assert!(!stdout.contains("unexplained"), "{stdout}");
    assert!(!stdout.contains("On disk"), "{stdout}");

    // A file that is not there is a run-time failure, and is not created.
    let missing = dir.path().join("missing.db");
    let out = Command::new(env!("CARGO_BIN_EXE_hookbench"))
        .args(["disk", "--database"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!missing.exists());
}
