//! Storage faults: a database locked past its busy timeout answers 503
//! `{"detail":"storage unavailable"}`, is logged with its cause (not the message text), and
//! the server recovers by itself once the lock is gone.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::external_tools;
use crate::helpers::{Config, message};

/// Holds an exclusive lock on the database until its stdin closes.
const LOCKER: &str = r#"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
c.execute("ROLLBACK")
"#;

#[test]
fn a_database_locked_past_its_timeout_answers_503_and_recovers_without_restart() {
    let app = Config::new().spawn_process();
    app.store("before", "+1555", "2025-01-15T10:00:00Z", None);
    let url = app.config.var("DATABASE_URL").unwrap();
    let path = url.strip_prefix("sqlite:///").unwrap();

    let mut locker = match Command::new("python3")
        .args(["-c", LOCKER, path])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(locker) => locker,
        Err(e) => return external_tools::missing("python3", "the storage-fault test", &e),
    };
    let mut locked = String::new();
    BufReader::new(locker.stdout.take().unwrap())
        .read_line(&mut locked)
        .unwrap();
    assert_eq!(locked.trim(), "locked");

    let body = message(
        "during",
        "+1555",
        "2025-01-15T10:00:01Z",
        Some("LOCKED-TEXT"),
    )
    .to_string();
    let response = app.post_webhook(
        &body,
        &[
            (
                "X-Signature",
                &crate::helpers::sign(crate::helpers::SECRET, &body),
            ),
            ("X-Request-ID", "locked-1"),
        ],
    );
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.json::<Value>().unwrap(),
        json!({"detail": "storage unavailable"})
    );

    let line = app.request_line("locked-1");
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["result"], "storage_unavailable");
    assert_eq!(line["message_id"], "during");
    let fault = app
        .stdout
        .wait_for("storage fault", |l| l.contains("\"msg\":\"storage fault\""));
    let fault: Value = serde_json::from_str(&fault).unwrap();
    assert_eq!(fault["operation"], "insert");
    assert_eq!(fault["request_id"], "locked-1");
    assert!(
        fault["error"]
            .as_str()
            .unwrap()
            .contains("storage unavailable"),
        "{fault}"
    );
    assert_eq!(
        app.metric(r#"storage_errors_total{operation="insert"}"#),
        1.0
    );

    // Release the lock: the same delivery now succeeds, no restart needed.
    locker.stdin.take().unwrap().write_all(b"").unwrap();
    assert!(locker.wait().unwrap().success());
    app.store(
        "during",
        "+1555",
        "2025-01-15T10:00:01Z",
        Some("LOCKED-TEXT"),
    );
    assert_eq!(app.get_json("/messages", 200)["total"], 2);
    app.flush_logs();
    assert!(!app.stdout.all().join("\n").contains("LOCKED-TEXT"));
}
