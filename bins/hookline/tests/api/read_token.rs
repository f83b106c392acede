//! `READ_TOKEN`: when set, `GET /messages` and `GET /stats` need `Authorization: Bearer`
//! with one of its tokens; health, metrics and the API description stay open.

use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::helpers::{Config, TestApp};

const READS: [&str; 2] = ["/messages", "/stats"];

fn app_with_tokens(tokens: &str) -> TestApp {
    Config::new().env("READ_TOKEN", tokens).spawn()
}

fn get_with(app: &TestApp, path: &str, authorization: Option<&str>) -> Response {
    let mut request = app.client.get(format!("{}{path}", app.base));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    request.send().unwrap()
}

fn assert_not_authenticated(response: Response, what: &str) {
    assert_eq!(response.status(), 401, "{what}");
    assert_eq!(response.headers()["www-authenticate"], "Bearer", "{what}");
    assert_eq!(
        response.json::<Value>().unwrap(),
        json!({"detail": "not authenticated"}),
        "{what}"
    );
}

#[test]
fn reads_without_a_token_get_401_with_www_authenticate() {
    let app = app_with_tokens("reader-token");
    for path in READS {
        assert_not_authenticated(get_with(&app, path, None), path);
    }
}

#[test]
fn reads_with_a_wrong_or_malformed_token_get_401() {
    let app = app_with_tokens("reader-token");
    for path in READS {
        for authorization in [
            "Bearer wrong",
            "Bearer reader-token2",
            "Bearer reader-toke",
            "Bearer ",
            "reader-token",
            "Basic cmVhZGVyLXRva2Vu",
            "Bearerreader-token",
        ] {
            assert_not_authenticated(
                get_with(&app, path, Some(authorization)),
                &format!("{path} with {authorization:?}"),
            );
        }
    }
}

#[test]
fn reads_with_the_right_token_answer_as_before() {
    let app = app_with_tokens("reader-token");
    app.store("m1", "+919876543210", "2025-01-15T10:00:00Z", Some("Hello"));
    for authorization in ["Bearer reader-token", "bearer reader-token"] {
        let page = get_with(&app, "/messages", Some(authorization));
        assert_eq!(page.status(), 200, "{authorization}");
        assert_eq!(page.json::<Value>().unwrap()["total"], 1);
        let stats = get_with(&app, "/stats", Some(authorization));
        assert_eq!(stats.status(), 200, "{authorization}");
        assert_eq!(stats.json::<Value>().unwrap()["total_messages"], 1);
    }
}

#[test]
fn every_token_of_a_rotation_list_is_accepted() {
    let app = app_with_tokens("new-token, old-token");
    for token in ["new-token", "old-token"] {
        for path in READS {
            let response = get_with(&app, path, Some(&format!("Bearer {token}")));
            assert_eq!(response.status(), 200, "{path} with {token}");
        }
    }
    assert_not_authenticated(
        get_with(&app, "/messages", Some("Bearer new-token, old-token")),
        "the whole list is not a token",
    );
}

#[test]
fn the_token_is_checked_before_the_query() {
    let app = app_with_tokens("reader-token");
    assert_not_authenticated(get_with(&app, "/messages?limit=0", None), "limit=0");
    let response = get_with(&app, "/messages?limit=0", Some("Bearer reader-token"));
    assert_eq!(response.status(), 422);
}

#[test]
fn health_metrics_and_the_api_description_stay_open() {
    let app = app_with_tokens("reader-token");
    for path in [
        "/health/live",
        "/health/ready",
        "/metrics",
        "/openapi.json",
        "/docs/",
    ] {
        assert_eq!(get_with(&app, path, None).status(), 200, "{path}");
    }
    assert_eq!(get_with(&app, "/docs", None).status(), 308);
}

#[test]
fn writes_do_not_need_the_read_token() {
    let app = app_with_tokens("reader-token");
    app.store("m1", "+919876543210", "2025-01-15T10:00:00Z", None);
}

#[test]
fn without_read_token_reads_stay_open() {
    let app = TestApp::spawn();
    for path in READS {
        assert_eq!(get_with(&app, path, None).status(), 200, "{path}");
    }
}

#[test]
fn a_malformed_read_token_list_stops_start_up_naming_the_variable() {
    let (status, stdout) = Config::new().env("READ_TOKEN", "a,,b").run_to_exit();
    assert_eq!(status.code(), Some(2));
    let line = stdout.join("\n");
    assert!(line.contains("\"variable\":\"READ_TOKEN\""), "{line}");
    assert!(!line.contains("a,,b"), "the value is not repeated: {line}");
}
