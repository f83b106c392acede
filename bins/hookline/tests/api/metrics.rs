//! `GET /metrics`: Prometheus text with docs/API.md's families, route-template labels and
//! webhook results present from start-up.

use crate::helpers::{Config, TestApp};

#[test]
fn metrics_register_every_webhook_result_at_zero_on_start_up() {
    let app = Config::new().spawn_process();
    for result in [
        "created",
        "duplicate",
        "invalid_signature",
        "validation_error",
    ] {
        assert_eq!(
            app.metric(&format!("webhook_requests_total{{result=\"{result}\"}}")),
            0.0
        );
    }
}

#[test]
fn metrics_count_requests_by_route_template_status_and_result_after_traffic() {
    let app = Config::new().spawn_process();
    app.store("m1", "+1555", "2025-01-15T10:00:00Z", None);
    app.store("m1", "+1555", "2025-01-15T10:00:00Z", None);
    app.post_webhook("{}", &[("X-Signature", "123")]);
    app.post_signed("[]");
    app.get("/messages?from=+1555").unwrap();
    for i in 0..5 {
        app.get(&format!("/random/path/{i}")).unwrap();
    }
    let response = app.get("/metrics").unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let text = response.text().unwrap();

    assert!(text.contains("# TYPE http_requests_total counter"));
    assert!(text.contains("# TYPE webhook_requests_total counter"));
    assert!(text.contains("# TYPE request_latency_ms histogram"));
    for series in [
        r#"http_requests_total{path="/webhook",status="200"} 2"#,
        r#"http_requests_total{path="/webhook",status="401"} 1"#,
        r#"http_requests_total{path="/webhook",status="422"} 1"#,
        r#"http_requests_total{path="/messages",status="200"} 1"#,
        r#"http_requests_total{path="unmatched",status="404"} 5"#,
        r#"webhook_requests_total{result="created"} 1"#,
        r#"webhook_requests_total{result="duplicate"} 1"#,
        r#"webhook_requests_total{result="invalid_signature"} 1"#,
        r#"webhook_requests_total{result="validation_error"} 1"#,
    ] {
        assert!(
            text.lines().any(|l| l == series),
            "{series} not in:\n{text}"
        );
    }
    assert!(
        !text.contains("/random"),
        "raw paths must not become labels"
    );
    for bucket in ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"] {
        let prefix = format!("request_latency_ms_bucket{{le=\"{bucket}\"}} ");
        assert!(text.lines().any(|l| l.starts_with(&prefix)), "{prefix}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("request_latency_ms_sum "))
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("request_latency_ms_count "))
    );
}

#[test]
fn metrics_pass_promtool_except_for_the_spec_mandated_latency_name() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let mut promtool = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(promtool) => promtool,
        Err(e) => {
            return crate::external_tools::missing("promtool", "the promtool metrics check", &e);
        }
    };
    let app = TestApp::spawn();
    app.store("m1", "+1555", "2025-01-15T10:00:00Z", None);
    app.get("/nope").unwrap();
    let text = app.get("/metrics").unwrap().text().unwrap();
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = promtool.wait_with_output().unwrap();
    let findings = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    // promtool's naming lint objects to the "ms" in `request_latency_ms`, a name docs/API.md
    // fixes; anything else (a parse error, a counter without `_total`, …) fails the test.
    let other: Vec<_> = findings
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| *l != "request_latency_ms metric names should not contain abbreviated units")
        .collect();
    assert!(other.is_empty(), "promtool findings: {findings}");
}
