//! Start-up configuration: a malformed setting stops the process with exit code 2 and one
//! JSON line on stdout naming the variable; every documented `DATABASE_URL` form works.

use serde_json::Value;

use crate::helpers::Config;

fn assert_refused(config: Config, variable: &str) {
    let (status, lines) = config.run_to_exit();
    assert_eq!(status.code(), Some(2), "exit code; stdout: {lines:?}");
    assert_eq!(lines.len(), 1, "one line: {lines:?}");
    let line: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(line["level"], "ERROR");
    assert!(line["ts"].is_string());
    assert!(line["msg"].as_str().unwrap().contains(variable), "{line}");
    assert_eq!(line["variable"], variable);
}

#[test]
fn start_up_fails_with_exit_2_when_port_is_not_a_number() {
    assert_refused(Config::new().env("PORT", "abc"), "PORT");
}

#[test]
fn start_up_fails_with_exit_2_when_database_url_has_an_unknown_scheme() {
    assert_refused(
        Config::new().env("DATABASE_URL", "mysql://x"),
        "DATABASE_URL",
    );
}

#[test]
fn start_up_fails_with_exit_2_when_the_database_path_is_unwritable() {
    let config = Config::new();
    // A regular file where a folder should be: refused even for root.
    let blocker = config.dir().join("not-a-dir");
    std::fs::write(&blocker, b"").unwrap();
    let url = format!("sqlite:///{}/app.db", blocker.display());
    assert_refused(config.env("DATABASE_URL", &url), "DATABASE_URL");
}

#[test]
fn start_up_fails_with_exit_2_when_log_level_is_unknown() {
    assert_refused(Config::new().env("LOG_LEVEL", "chatty"), "LOG_LEVEL");
}

#[test]
fn a_relative_database_url_is_relative_to_the_working_directory() {
    let app = Config::new()
        .env("DATABASE_URL", "sqlite:///data/rel.db")
        .spawn_process();
    app.store("m1", "+1555", "2025-01-15T10:00:00Z", None);
    assert!(app.config.dir().join("data").join("rel.db").is_file());
}

#[test]
fn the_in_memory_database_url_works() {
    let app = Config::new().env("DATABASE_URL", "sqlite::memory:").spawn();
    app.store("m1", "+1555", "2025-01-15T10:00:00Z", None);
    assert_eq!(app.get_json("/messages", 200)["total"], 1);
}

#[test]
fn log_level_is_case_insensitive() {
    let app = Config::new().env("LOG_LEVEL", "debug").spawn();
    assert_eq!(app.get("/health/live").unwrap().status(), 200);
}

#[test]
fn start_up_fails_with_exit_2_when_the_port_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    assert_refused(Config::new().env("PORT", &port), "PORT");
}
