//! `GET` and `POST /webhook/whatsapp`: the subscription handshake, and Meta's envelopes — the
//! domain crate's sample payloads (one per message type, statuses-only, multi-entry) posted
//! signed to the real server and read back through `/messages`.

use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::helpers::{Config, SECRET, TestApp, sign};

const APP_SECRET: &str = "meta-app-secret";
const VERIFY_TOKEN: &str = "meta-verify-token";

/// Every `wamid` of the samples starts so; the last two characters tell them apart.
const WAMID: &str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMx";

/// One of the domain crate's sample envelopes (crates/hookline-domain/tests/whatsapp/).
fn sample(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../crates/hookline-domain/tests/whatsapp/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn whatsapp_app() -> TestApp {
    Config::new()
        .env("WHATSAPP_APP_SECRET", APP_SECRET)
        .env("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
        .spawn()
}

/// `X-Hub-Signature-256` of `body` under `secret`, as Meta sends it.
fn hub_signature(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hookline_signature::sign(secret.as_bytes(), body)
    )
}

/// `POST /webhook/whatsapp` with `body`, `Content-Type: application/json` and `headers`.
fn post(app: &TestApp, body: &[u8], headers: &[(&str, &str)]) -> Response {
    app.post_json("/webhook/whatsapp", body.to_vec(), headers)
}

/// `POST /webhook/whatsapp` signed as Meta signs it under [`APP_SECRET`].
fn post_signed(app: &TestApp, body: &[u8]) -> Response {
    post(
        app,
        body,
        &[("X-Hub-Signature-256", &hub_signature(APP_SECRET, body))],
    )
}

fn assert_ok(response: Response) {
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().unwrap(), json!({"status": "ok"}));
}

fn assert_detail(response: Response, status: u16, detail: &str) {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.json::<Value>().unwrap(),
        json!({ "detail": detail })
    );
}

fn stored(app: &TestApp) -> Vec<Value> {
    app.get_json("/messages?limit=100", 200)["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// The row the SPEC's mapping makes of a single-message sample (all share sender, number
/// and time).
fn row(suffix: &str, text: Option<&str>) -> Value {
    json!({"message_id": format!("{WAMID}{suffix}"), "from": "+16505551234",
        "to": "+15550783881", "ts": "2025-02-12T00:43:44Z", "text": text})
}

#[test]
fn every_message_type_is_stored_as_the_spec_maps_it() {
    let cases = [
        ("text", "A1", Some("Does it come in another color?")),
        ("image", "A2", Some("Black jacket, size M")),
        ("video", "A3", Some("Unboxing 📦")),
        ("document", "A4", Some("Invoice for March")),
        ("audio", "A5", None),
        ("sticker", "A6", None),
        ("location", "A7", None),
        ("contacts", "A8", None),
        ("button", "A9", Some("Unsubscribe from promos")),
        ("interactive_button_reply", "B1", Some("Cancel")),
        (
            "interactive_list_reply",
            "B2",
            Some("Priority Mail Express"),
        ),
        ("reaction", "B3", None),
        ("unsupported", "B4", None),
        ("unknown_type", "B5", None),
    ];
    for (name, suffix, text) in cases {
        let app = whatsapp_app();
        assert_ok(post_signed(&app, &sample(name)));
        assert_eq!(stored(&app), vec![row(suffix, text)], "{name}");
    }
}

#[test]
fn a_statuses_only_envelope_is_acknowledged_and_stores_nothing() {
    let app = whatsapp_app();
    let response = post(
        &app,
        &sample("statuses"),
        &[
            (
                "X-Hub-Signature-256",
                &hub_signature(APP_SECRET, &sample("statuses")),
            ),
            ("X-Request-ID", "statuses-only"),
        ],
    );
    assert_ok(response);
    assert!(stored(&app).is_empty());
    let line = app.request_line("statuses-only");
    assert_eq!(line["result"], "accepted");
    assert_eq!(line["messages_stored"], 0);
    assert_eq!(line["statuses_ignored"], 3);
}

#[test]
fn a_multi_entry_envelope_stores_every_message_once_even_when_retried() {
    let app = whatsapp_app();
    let body = sample("multi_entry_multi_change");
    let signature = hub_signature(APP_SECRET, &body);
    for (attempt, (request_id, created, duplicates)) in
        [("first-delivery", 5, 0), ("meta-retry", 0, 5)]
            .into_iter()
            .enumerate()
    {
        assert_ok(post(
            &app,
            &body,
            &[
                ("X-Hub-Signature-256", &signature),
                ("X-Request-ID", request_id),
            ],
        ));
        let line = app.request_line(request_id);
        assert_eq!(line["messages_stored"], created, "attempt {attempt}");
        assert_eq!(line["duplicates"], duplicates, "attempt {attempt}");
        assert_eq!(line["statuses_ignored"], 1, "attempt {attempt}");
    }
    let at = |suffix: &str, from: &str, to: &str, ts: &str, text: Option<&str>| {
        json!({"message_id": format!("{WAMID}{suffix}"), "from": from, "to": to, "ts": ts,
            "text": text})
    };
    assert_eq!(
        stored(&app),
        vec![
            at(
                "C1",
                "+16505551234",
                "+15550783881",
                "2023-01-26T10:00:00Z",
                Some("first")
            ),
            at(
                "C2",
                "+16505551234",
                "+15550783881",
                "2023-01-26T10:00:01Z",
                Some("second")
            ),
            at(
                "C3",
                "+919876543210",
                "+15550001111",
                "2023-01-26T10:00:03Z",
                Some("Yes please")
            ),
            at(
                "C4",
                "+16505551234",
                "+15550783881",
                "2023-01-26T10:00:05Z",
                Some("Row one")
            ),
            at(
                "C5",
                "+16505551234",
                "+15550783881",
                "2023-01-26T10:00:06Z",
                None
            ),
        ]
    );
    let stats = app.get_json("/stats", 200);
    assert_eq!(stats["total_messages"], 5);
    assert_eq!(stats["senders_count"], 2);
}

#[test]
fn whatsapp_refuses_a_missing_wrong_or_x_signature_only_signature_with_401() {
    let app = whatsapp_app();
    let body = sample("text");
    let right = hookline_signature::sign(APP_SECRET.as_bytes(), &body);
    let cases: [&[(&str, &str)]; 5] = [
        &[],
        &[(
            "X-Hub-Signature-256",
            &hub_signature("not-the-secret", &body),
        )],
        // Signed with /webhook's secret: the two routes keep their keys apart.
        &[("X-Hub-Signature-256", &hub_signature(SECRET, &body))],
        &[("X-Hub-Signature-256", &right)],
        // X-Signature is /webhook's header: this route reads X-Hub-Signature-256 only.
        &[("X-Signature", &right)],
    ];
    for headers in cases {
        assert_detail(post(&app, &body, headers), 401, "invalid signature");
    }
    assert!(
        stored(&app).is_empty(),
        "nothing is written for a rejected signature"
    );
}

#[test]
fn whatsapp_accepts_any_app_secret_of_a_rotation_list() {
    let app = Config::new()
        .env("WHATSAPP_APP_SECRET", "new-secret, old-secret")
        .spawn();
    for (secret, name) in [("old-secret", "text"), ("new-secret", "image")] {
        let body = sample(name);
        let response = post(
            &app,
            &body,
            &[("X-Hub-Signature-256", &hub_signature(secret, &body))],
        );
        assert_ok(response);
    }
    assert_eq!(stored(&app).len(), 2);
}

#[test]
fn whatsapp_checks_size_then_signature_then_content_type() {
    let app = whatsapp_app();
    let huge = vec![b' '; 64 * 1024 + 1];
    assert_detail(post(&app, &huge, &[]), 413, "request body too large");
    let body = sample("text");
    let response = app
        .client
        .post(format!("{}/webhook/whatsapp", app.base))
        .header("Content-Type", "text/plain")
        .header("X-Hub-Signature-256", hub_signature(APP_SECRET, &body))
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(response.status(), 415);
    let unsigned_text = app
        .client
        .post(format!("{}/webhook/whatsapp", app.base))
        .header("Content-Type", "text/plain")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(
        unsigned_text.status(),
        401,
        "the signature is checked first"
    );
}

#[test]
fn a_malformed_envelope_is_a_422_whose_loc_points_into_it_with_numeric_indexes() {
    let app = whatsapp_app();
    let mut envelope: Value = serde_json::from_slice(&sample("multi_entry_multi_change")).unwrap();
    envelope["entry"][1]["changes"][1]["value"]["messages"][0]["from"] = json!("not digits");
    envelope["entry"][0]["changes"][0]["value"]["messages"][1]["timestamp"] = json!(true);
    let body = serde_json::to_vec(&envelope).unwrap();
    let response = post_signed(&app, &body);
    assert_eq!(response.status(), 422);
    let detail = response.json::<Value>().unwrap()["detail"].clone();
    let locs: Vec<Value> = detail
        .as_array()
        .unwrap()
        .iter()
        .map(|issue| issue["loc"].clone())
        .collect();
    assert_eq!(
        locs,
        vec![
            json!([
                "body",
                "entry",
                0,
                "changes",
                0,
                "value",
                "messages",
                1,
                "timestamp"
            ]),
            json!([
                "body", "entry", 1, "changes", 1, "value", "messages", 0, "from"
            ]),
        ]
    );
    for issue in detail.as_array().unwrap() {
        assert!(
            issue["msg"].is_string() && issue["type"].is_string(),
            "{issue}"
        );
    }
    assert!(
        stored(&app).is_empty(),
        "nothing of a refused envelope is stored"
    );
    let not_an_object = post_signed(&app, b"[]");
    assert_eq!(not_an_object.status(), 422);
    assert_eq!(
        not_an_object.json::<Value>().unwrap()["detail"][0]["loc"],
        json!(["body"])
    );
}

#[test]
fn whatsapp_answers_503_when_the_app_secret_is_not_set() {
    let app = Config::new()
        .env("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
        .spawn();
    let body = sample("text");
    assert_detail(post_signed(&app, &body), 503, "whatsapp not configured");
    // Readiness does not depend on it.
    assert_eq!(app.get("/health/ready").unwrap().status(), 200);
}

#[test]
fn the_handshake_echoes_the_challenge_for_the_right_token_only() {
    let app = whatsapp_app();
    let handshake = |query: &str| app.get(&format!("/webhook/whatsapp?{query}")).unwrap();

    let response = handshake(&format!(
        "hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
    ));
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.text().unwrap(), "1158201444");

    for query in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1".to_owned(),
        format!("hub.mode=unsubscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1"),
        format!("hub.verify_token={VERIFY_TOKEN}&hub.challenge=1"),
        format!("hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}"),
        "hub.mode=subscribe&hub.challenge=1".to_owned(),
        String::new(),
    ] {
        assert_detail(handshake(&query), 403, "verification failed");
    }
}

#[test]
fn the_handshake_answers_503_when_the_verify_token_is_not_set() {
    let app = Config::new().env("WHATSAPP_APP_SECRET", APP_SECRET).spawn();
    let response = app
        .get("/webhook/whatsapp?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1")
        .unwrap();
    assert_detail(response, 503, "whatsapp verify token not configured");
}

#[test]
fn other_methods_get_405_with_allow() {
    let app = whatsapp_app();
    let response = app
        .client
        .delete(format!("{}/webhook/whatsapp", app.base))
        .send()
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, POST");
}

#[test]
fn whatsapp_metrics_are_registered_at_zero_and_count_requests_and_messages() {
    let app = Config::new()
        .env("WHATSAPP_APP_SECRET", APP_SECRET)
        .spawn_process();
    for series in [
        r#"whatsapp_requests_total{result="accepted"}"#,
        r#"whatsapp_requests_total{result="invalid_signature"}"#,
        r#"whatsapp_requests_total{result="validation_error"}"#,
        r#"whatsapp_messages_total{result="created"}"#,
        r#"whatsapp_messages_total{result="duplicate"}"#,
    ] {
        assert_eq!(app.metric(series), 0.0, "{series}");
    }
    let body = sample("multi_entry_multi_change");
    assert_ok(post_signed(&app, &body));
    assert_ok(post_signed(&app, &body));
    assert_eq!(post(&app, &body, &[]).status(), 401);
    assert_eq!(post_signed(&app, b"{}").status(), 422);
    for (series, value) in [
        (r#"whatsapp_requests_total{result="accepted"}"#, 2.0),
        (
            r#"whatsapp_requests_total{result="invalid_signature"}"#,
            1.0,
        ),
        (r#"whatsapp_requests_total{result="validation_error"}"#, 1.0),
        (r#"whatsapp_messages_total{result="created"}"#, 5.0),
        (r#"whatsapp_messages_total{result="duplicate"}"#, 5.0),
        // /webhook's series stay /webhook's.
        (r#"webhook_requests_total{result="created"}"#, 0.0),
        (r#"webhook_requests_total{result="invalid_signature"}"#, 0.0),
        (
            r#"http_requests_total{path="/webhook/whatsapp",status="200"}"#,
            2.0,
        ),
    ] {
        assert_eq!(app.metric(series), value, "{series}");
    }
}

#[test]
fn a_rejected_whatsapp_signature_is_logged_at_error_without_the_text() {
    let app = whatsapp_app();
    let body = sample("text");
    let response = post(
        &app,
        &body,
        &[
            ("X-Hub-Signature-256", &hub_signature("wrong", &body)),
            ("X-Request-ID", "wa-bad-signature"),
        ],
    );
    assert_eq!(response.status(), 401);
    assert_ok(post(
        &app,
        &body,
        &[
            ("X-Hub-Signature-256", &hub_signature(APP_SECRET, &body)),
            ("X-Request-ID", "wa-good"),
        ],
    ));
    let bad = app.request_line("wa-bad-signature");
    assert_eq!(bad["level"], "ERROR");
    assert_eq!(bad["result"], "invalid_signature");
    let good = app.request_line("wa-good");
    assert_eq!(good["level"], "INFO");
    assert_eq!(good["messages_stored"], 1);
    for line in app.stdout.all() {
        assert!(
            !line.contains("another color"),
            "message text in the log: {line}"
        );
        assert!(!line.contains(APP_SECRET), "secret in the log: {line}");
    }
}

/// The plain webhook's 422 keeps its all-string `loc` after the switch to segments.
#[test]
fn the_plain_webhook_422_loc_is_still_all_strings() {
    let app = TestApp::spawn();
    let body = r#"{"message_id":"m1","from":"x","to":"+1","ts":"2025-01-15T10:00:00Z"}"#;
    let response = app.post_webhook(body, &[("X-Signature", &sign(SECRET, body))]);
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.json::<Value>().unwrap()["detail"][0]["loc"],
        json!(["body", "from"])
    );
}
