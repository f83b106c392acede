//! `POST /webhook`: every check in its order (413 → 401 → 415 → 422 → 200), idempotency.

use std::sync::{Arc, Barrier};

use serde_json::{Value, json};

use crate::helpers::{Config, SECRET, TestApp, message, sign};

fn m1() -> String {
    message("m1", "+919876543210", "2025-01-15T10:00:00Z", Some("Hello")).to_string()
}

fn assert_detail(response: reqwest::blocking::Response, status: u16, detail: &str) {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.json::<Value>().unwrap(),
        json!({ "detail": detail })
    );
}

fn rows(app: &TestApp) -> u64 {
    app.get_json("/messages", 200)["total"].as_u64().unwrap()
}

#[test]
fn webhook_returns_401_when_signature_is_missing() {
    let app = TestApp::spawn();
    assert_detail(app.post_webhook(&m1(), &[]), 401, "invalid signature");
    assert_eq!(rows(&app), 0);
}

#[test]
fn webhook_returns_401_for_every_malformed_or_wrong_signature() {
    let app = TestApp::spawn();
    let body = m1();
    let right = sign(SECRET, &body);
    let other_body = sign(
        SECRET,
        &message("m2", "+1", "2025-01-15T10:00:00Z", None).to_string(),
    );
    let wrong_secret = sign("not-the-secret", &body);
    let cases = [
        ("X-Signature", "123".to_owned()),
        ("X-Signature", String::new()),
        ("X-Signature", right[..63].to_owned()),
        ("X-Signature", format!("{right}00")),
        ("X-Signature", "zz".repeat(32)),
        ("X-Signature", format!("sha256={right}")),
        ("X-Signature", other_body),
        ("X-Signature", wrong_secret.clone()),
        ("X-Hub-Signature-256", right.clone()),
        ("X-Hub-Signature-256", "sha256=".to_owned()),
        ("X-Hub-Signature-256", format!("sha256={wrong_secret}")),
    ];
    for (header, value) in cases {
        let response = app.post_webhook(&body, &[(header, &value)]);
        assert_eq!(response.status(), 401, "{header}: {value:?}");
    }
    assert_eq!(rows(&app), 0, "nothing is written for a rejected signature");
}

#[test]
fn webhook_accepts_upper_case_hex_and_the_hub_signature_header() {
    let app = TestApp::spawn();
    let first = message("upper", "+1555", "2025-01-15T10:00:00Z", None).to_string();
    let upper = sign(SECRET, &first).to_uppercase();
    assert_eq!(
        app.post_webhook(&first, &[("X-Signature", &upper)])
            .status(),
        200
    );

    let second = message("hub", "+1555", "2025-01-15T10:00:01Z", None).to_string();
    let hub = format!("sha256={}", sign(SECRET, &second));
    assert_eq!(
        app.post_webhook(&second, &[("X-Hub-Signature-256", &hub)])
            .status(),
        200
    );
    assert_eq!(rows(&app), 2);
}

#[test]
fn webhook_accepts_every_secret_of_a_rotation_list() {
    let app = Config::new()
        .env("WEBHOOK_SECRET", "new-key, old-key")
        .spawn();
    for (i, key) in ["new-key", "old-key"].iter().enumerate() {
        let body = message(&format!("r{i}"), "+1555", "2025-01-15T10:00:00Z", None).to_string();
        let signature = sign(key, &body);
        assert_eq!(
            app.post_webhook(&body, &[("X-Signature", &signature)])
                .status(),
            200
        );
    }
}

#[test]
fn webhook_returns_413_for_a_body_over_64_kib_before_checking_the_signature() {
    let app = TestApp::spawn();
    let body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(64 * 1024));
    assert_detail(app.post_webhook(&body, &[]), 413, "request body too large");
    let signed = sign(SECRET, &body);
    assert_detail(
        app.post_webhook(&body, &[("X-Signature", &signed)]),
        413,
        "request body too large",
    );
}

#[test]
fn webhook_returns_413_for_a_chunked_body_that_grows_past_the_limit() {
    let app = TestApp::spawn();
    let body = vec![b' '; 70 * 1024];
    let chunked = reqwest::blocking::Body::new(std::io::Cursor::new(body));
    assert_detail(app.post_raw(chunked, &[]), 413, "request body too large");
}

#[test]
fn webhook_accepts_a_body_of_exactly_64_kib() {
    let app = TestApp::spawn();
    let mut body = message("big", "+1555", "2025-01-15T10:00:00Z", None);
    body["pad"] = "".into();
    let padding = 64 * 1024 - body.to_string().len();
    body["pad"] = "x".repeat(padding).into();
    let body = body.to_string();
    assert_eq!(body.len(), 64 * 1024);
    assert_eq!(app.post_signed(&body).status(), 200);
}

#[test]
fn webhook_returns_415_for_a_signed_body_with_a_non_json_content_type() {
    let app = TestApp::spawn();
    let body = m1();
    let signature = sign(SECRET, &body);
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let response = app.post_raw(
            body.clone(),
            &[("X-Signature", &signature), ("Content-Type", content_type)],
        );
        assert_eq!(response.status(), 415, "{content_type}");
    }
    assert_eq!(rows(&app), 0);
}

#[test]
fn webhook_checks_the_signature_before_the_content_type() {
    let app = TestApp::spawn();
    let response = app.post_raw(
        m1(),
        &[("Content-Type", "text/plain"), ("X-Signature", "123")],
    );
    assert_detail(response, 401, "invalid signature");
}

#[test]
fn webhook_accepts_json_content_types_with_parameters_or_suffix_and_a_missing_one() {
    let app = TestApp::spawn();
    let cases = [
        Some("application/json; charset=utf-8"),
        Some("application/vnd.whatsapp+json"),
        Some("APPLICATION/JSON"),
        None,
    ];
    for (i, content_type) in cases.into_iter().enumerate() {
        let body = message(&format!("ct{i}"), "+1555", "2025-01-15T10:00:00Z", None).to_string();
        let signature = sign(SECRET, &body);
        let mut headers = vec![("X-Signature", signature.as_str())];
        if let Some(content_type) = content_type {
            headers.push(("Content-Type", content_type));
        }
        assert_eq!(
            app.post_raw(body, &headers).status(),
            200,
            "{content_type:?}"
        );
    }
    assert_eq!(rows(&app), 4);
}

#[test]
fn webhook_returns_422_with_loc_body_when_the_body_is_not_json() {
    let app = TestApp::spawn();
    for body in ["not json", "[1,2]", "\"text\"", "", "{\"message_id\":"] {
        let response = app.post_signed(body);
        assert_eq!(response.status(), 422, "{body:?}");
        let detail = &response.json::<Value>().unwrap()["detail"];
        assert_eq!(detail[0]["loc"][0], "body", "{body:?}: {detail}");
        assert!(detail[0]["msg"].is_string() && detail[0]["type"].is_string());
    }
}

#[test]
fn webhook_returns_422_naming_every_invalid_field() {
    let app = TestApp::spawn();
    let body = json!({"message_id": "", "from": "919876543210", "to": "+1 415", "ts": "2025-02-30T10:00:00Z", "text": 5})
        .to_string();
    let response = app.post_signed(&body);
    assert_eq!(response.status(), 422);
    let detail = response.json::<Value>().unwrap()["detail"].clone();
    let locs: Vec<_> = detail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["loc"].clone())
        .collect();
    for field in ["message_id", "from", "to", "ts", "text"] {
        assert!(
            locs.contains(&json!(["body", field])),
            "{field} missing from {detail}"
        );
    }
    for entry in detail.as_array().unwrap() {
        let keys: Vec<_> = entry.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["loc", "msg", "type"]);
    }

    let missing = app.post_signed("{}");
    assert_eq!(missing.status(), 422);
    let detail = missing.json::<Value>().unwrap()["detail"].clone();
    assert!(
        detail
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "missing")
    );
    assert_eq!(rows(&app), 0);
}

#[test]
fn webhook_checks_the_signature_before_validating_the_body() {
    let app = TestApp::spawn();
    assert_detail(app.post_webhook("not json", &[]), 401, "invalid signature");
}

#[test]
fn webhook_keeps_the_first_copy_of_a_duplicate_message_id() {
    let app = TestApp::spawn();
    app.store("dup", "+1555", "2025-01-15T10:00:00Z", Some("first"));
    let again = message("dup", "+1666", "2025-01-16T10:00:00Z", Some("second")).to_string();
    let response = app.post_signed(&again);
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().unwrap(), json!({"status": "ok"}));
    let page = app.get_json("/messages", 200);
    assert_eq!(page["total"], 1);
    assert_eq!(page["data"][0]["text"], "first");
    assert_eq!(page["data"][0]["from"], "+1555");
}

#[test]
fn webhook_stores_one_row_for_32_concurrent_deliveries_and_counts_one_created() {
    let app = Config::new().spawn_process();
    let created_before = app.metric(r#"webhook_requests_total{result="created"}"#);
    let duplicate_before = app.metric(r#"webhook_requests_total{result="duplicate"}"#);
    let body = message(
        "same",
        "+919876543210",
        "2025-01-15T10:00:00Z",
        Some("race"),
    )
    .to_string();
    let signature = sign(SECRET, &body);
    let start = Arc::new(Barrier::new(32));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..32)
            .map(|_| {
                let start = start.clone();
                let (app, body, signature) = (&app, &body, &signature);
                scope.spawn(move || {
                    start.wait();
                    app.post_webhook(body, &[("X-Signature", signature)])
                        .status()
                        .as_u16()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses, vec![200; 32]);
    assert_eq!(rows(&app), 1);
    assert_eq!(
        app.metric(r#"webhook_requests_total{result="created"}"#) - created_before,
        1.0
    );
    assert_eq!(
        app.metric(r#"webhook_requests_total{result="duplicate"}"#) - duplicate_before,
        31.0
    );
}

#[test]
fn webhook_answers_405_to_other_methods() {
    let app = TestApp::spawn();
    let response = app.get("/webhook").unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    assert_detail(response, 405, "Method Not Allowed");
}
