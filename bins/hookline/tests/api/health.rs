//! Health probes, and how the server behaves without `WEBHOOK_SECRET`; 404 and 405 bodies.

use serde_json::{Value, json};

use crate::helpers::{Config, TestApp, message, sign};

#[test]
fn live_and_ready_answer_200_when_configured() {
    let app = TestApp::spawn();
    assert_eq!(
        app.get_json("/health/live", 200),
        json!({"status": "alive"})
    );
    assert_eq!(
        app.get_json("/health/ready", 200),
        json!({"status": "ready"})
    );
}

#[test]
fn without_the_secret_live_is_200_ready_is_503_and_webhook_is_503() {
    let app = Config::new().without("WEBHOOK_SECRET").spawn();
    assert_eq!(
        app.get_json("/health/live", 200),
        json!({"status": "alive"})
    );
    assert_eq!(
        app.get_json("/health/ready", 503),
        json!({"status": "not ready", "reason": "webhook secret not configured"})
    );
    let body = message("m1", "+1555", "2025-01-15T10:00:00Z", None).to_string();
    let response = app.post_webhook(&body, &[("X-Signature", &sign("anything", &body))]);
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.json::<Value>().unwrap(),
        json!({"detail": "webhook secret not configured"})
    );
    // Reading still works.
    assert_eq!(app.get_json("/messages", 200)["total"], 0);
}

#[test]
fn an_empty_secret_counts_as_not_configured() {
    let app = Config::new().env("WEBHOOK_SECRET", "").spawn();
    assert_eq!(app.get("/health/ready").unwrap().status(), 503);
}

#[test]
fn unknown_paths_answer_404_and_wrong_methods_405_with_fastapi_bodies() {
    let app = TestApp::spawn();
    for path in ["/nope", "/messages/", "/webhook/x", "/health"] {
        assert_eq!(
            app.get_json(path, 404),
            json!({"detail": "Not Found"}),
            "{path}"
        );
    }
    for path in [
        "/messages",
        "/stats",
        "/health/live",
        "/health/ready",
        "/metrics",
    ] {
        let response = app
            .client
            .post(format!("{}{path}", app.base))
            .send()
            .unwrap();
        assert_eq!(response.status(), 405, "{path}");
        assert_eq!(response.headers()["allow"], "GET");
        assert_eq!(
            response.json::<Value>().unwrap(),
            json!({"detail": "Method Not Allowed"})
        );
    }
}

#[test]
fn the_healthcheck_subcommand_succeeds_against_a_live_server_and_fails_without_one() {
    let app = TestApp::spawn();
    let probe = |port: u16, path: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hookline"));
        command
            .arg("healthcheck")
            .env_clear()
            .env("PORT", port.to_string());
        if let Some(path) = path {
            command.arg(path);
        }
        command.output().unwrap().status.code()
    };
    assert_eq!(probe(app.port, None), Some(0));
    assert_eq!(probe(app.port, Some("/health/ready")), Some(0));
    assert_eq!(probe(app.port, Some("/nope")), Some(1));
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_eq!(probe(free, None), Some(1));
}
