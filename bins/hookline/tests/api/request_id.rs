//! `X-Request-ID`: a sane incoming id is echoed and logged; anything else is replaced.

use crate::helpers::TestApp;

fn send(app: &TestApp, id: Option<&str>) -> String {
    let mut request = app.client.get(format!("{}/health/live", app.base));
    if let Some(id) = id {
        request = request.header("X-Request-ID", id);
    }
    let response = request.send().unwrap();
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b[14] == b'4'
        && s.chars()
            .filter(|c| *c != '-')
            .all(|c| c.is_ascii_hexdigit())
}

#[test]
fn a_sane_request_id_is_echoed_and_logged() {
    let app = TestApp::spawn();
    let id = "req-42_abc.DEF:~!";
    assert_eq!(send(&app, Some(id)), id);
    assert_eq!(app.request_line(id)["request_id"], id);
    let longest = "x".repeat(128);
    assert_eq!(send(&app, Some(&longest)), longest);
}

#[test]
fn an_insane_request_id_is_replaced_by_a_fresh_uuid() {
    let app = TestApp::spawn();
    let too_long = "x".repeat(129);
    for id in ["has space", "", too_long.as_str(), "tab\tinside"] {
        let echoed = send(&app, Some(id));
        assert_ne!(echoed, id);
        assert!(is_uuid_v4(&echoed), "{echoed}");
        assert_eq!(app.request_line(&echoed)["request_id"], echoed.as_str());
    }
}

#[test]
fn a_missing_request_id_is_generated_and_differs_per_request() {
    let app = TestApp::spawn();
    let (a, b) = (send(&app, None), send(&app, None));
    assert!(is_uuid_v4(&a) && is_uuid_v4(&b));
    assert_ne!(a, b);
}

#[test]
fn error_responses_carry_the_request_id_too() {
    let app = TestApp::spawn();
    let response = app.post_webhook("{}", &[("X-Request-ID", "on-401")]);
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["x-request-id"], "on-401");
    let response = app
        .client
        .get(format!("{}/nope", app.base))
        .header("X-Request-ID", "on-404")
        .send()
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "on-404");
}
