//! Logs: JSON lines only on stdout, README.md's fields on every request line, rejected
//! signatures at ERROR, no secrets or message text, LOG_LEVEL filtering.

use serde_json::Value;

use crate::helpers::{Config, TestApp, message};

fn traffic(app: &TestApp) {
    app.store(
        "m1",
        "+919876543210",
        "2025-01-15T10:00:00Z",
        Some("Top secret text ZEBRA-42"),
    );
    app.store(
        "m1",
        "+919876543210",
        "2025-01-15T10:00:00Z",
        Some("Top secret text ZEBRA-42"),
    );
    let body = message(
        "m2",
        "+1555",
        "2025-01-15T10:00:00Z",
        Some("ZEBRA-42 again"),
    )
    .to_string();
    assert_eq!(
        app.post_webhook(&body, &[("X-Signature", "123")]).status(),
        401
    );
    assert_eq!(app.post_signed("{\"text\":\"ZEBRA-42\"}").status(), 422);
    app.get("/messages?q=ZEBRA-42&from=+919876543210").unwrap();
    app.get("/stats").unwrap();
    app.get("/nope").unwrap();
}

#[test]
fn every_stdout_line_is_json_with_ts_level_and_msg() {
    let app = Config::new().spawn_process();
    traffic(&app);
    let lines = app.log_lines();
    assert!(lines.len() >= 10);
    for line in &lines {
        for key in ["ts", "level", "msg"] {
            assert!(line[key].is_string(), "{key} missing: {line}");
        }
        assert!(["DEBUG", "INFO", "WARN", "ERROR"].contains(&line["level"].as_str().unwrap()));
    }
}

#[test]
fn every_request_line_has_the_spec_fields_and_webhook_lines_the_outcome() {
    let app = TestApp::spawn();
    traffic(&app);
    let lines = app.log_lines();
    let requests: Vec<&Value> = lines.iter().filter(|l| l["msg"] == "request").collect();
    assert!(requests.len() >= 8);
    for line in &requests {
        assert!(line["request_id"].is_string(), "{line}");
        assert!(line["method"].is_string(), "{line}");
        assert!(line["path"].as_str().unwrap().starts_with('/'), "{line}");
        assert!(
            !line["path"].as_str().unwrap().contains('?'),
            "query string logged: {line}"
        );
        assert!(line["status"].is_u64(), "{line}");
        assert!(line["latency_ms"].is_number(), "{line}");
    }
    let webhook: Vec<_> = requests
        .iter()
        .filter(|l| l["path"] == "/webhook")
        .collect();
    let outcomes: Vec<_> = webhook
        .iter()
        .map(|l| {
            (
                l["message_id"].clone(),
                l["dup"].as_bool().unwrap(),
                l["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("m1".into(), false, "created"),
            ("m1".into(), true, "duplicate"),
            (Value::Null, false, "invalid_signature"),
            (Value::Null, false, "validation_error"),
        ]
    );
}

#[test]
fn a_rejected_signature_is_logged_at_error_level() {
    let app = TestApp::spawn();
    let response = app.post_webhook(
        "{}",
        &[("X-Signature", "123"), ("X-Request-ID", "bad-sig-1")],
    );
    assert_eq!(response.status(), 401);
    let line = app.request_line("bad-sig-1");
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["result"], "invalid_signature");
    assert_eq!(
        line["signature_problem"],
        "x-signature header is malformed: expected 64 hex digits, got 3 bytes"
    );
}

#[test]
fn no_secret_and_no_message_text_ever_reaches_the_logs() {
    let app = Config::new()
        .env("WEBHOOK_SECRET", "s3cr3t-UNICORN, other-s3cr3t-UNICORN")
        .spawn();
    let body = message(
        "m1",
        "+1555",
        "2025-01-15T10:00:00Z",
        Some("Top secret text ZEBRA-42"),
    )
    .to_string();
    let signature = crate::helpers::sign("s3cr3t-UNICORN", &body);
    assert_eq!(
        app.post_webhook(&body, &[("X-Signature", &signature)])
            .status(),
        200
    );
    assert_eq!(
        app.post_webhook(&body, &[("X-Signature", "123")]).status(),
        401
    );
    app.get("/messages?q=ZEBRA-42").unwrap();
    app.flush_logs();
    let all = app.stdout.all().join("\n") + &app.stderr.all().join("\n");
    for forbidden in ["UNICORN", "s3cr3t", "ZEBRA"] {
        assert!(
            !all.contains(forbidden),
            "{forbidden} found in logs:\n{all}"
        );
    }
}

#[test]
fn log_level_error_keeps_only_errors() {
    let app = Config::new().env("LOG_LEVEL", "ERROR").fixed_port().spawn();
    app.store("m1", "+1555", "2025-01-15T10:00:00Z", None);
    app.post_webhook(
        "{}",
        &[("X-Signature", "123"), ("X-Request-ID", "only-errors")],
    );
    let line = app.request_line("only-errors");
    assert_eq!(line["level"], "ERROR");
    let levels: Vec<_> = app
        .stdout
        .all()
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["level"].clone())
        .collect();
    assert!(levels.iter().all(|l| l == "ERROR"), "{levels:?}");
}
