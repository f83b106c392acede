//! `GET /messages`: order by instant, filters, the unencoded `+`, Unicode `q`, paging by
//! offset and by cursor, and FastAPI-shaped 422s for bad parameters.

use serde_json::{Value, json};

use crate::helpers::{TestApp, ids};

#[test]
fn messages_are_ordered_by_instant_then_message_id_not_by_text() {
    let app = TestApp::spawn();
    // As strings ".5Z" sorts before "Z"; as instants 10:00:00.5 is after 10:00:00.
    app.store("a-half", "+1555", "2025-01-15T10:00:00.5Z", None);
    app.store("b-whole", "+1555", "2025-01-15T10:00:00Z", None);
    app.store("c-tie", "+1555", "2025-01-15T09:00:00Z", None);
    app.store("a-tie", "+1555", "2025-01-15T09:00:00Z", None);
    app.store("d-tenth", "+1555", "2025-01-15T10:00:00.1Z", None);
    let page = app.get_json("/messages", 200);
    assert_eq!(
        ids(&page),
        ["a-tie", "c-tie", "b-whole", "d-tenth", "a-half"]
    );
    let from = app.get_json("/messages?from=%2B1555&limit=3", 200);
    assert_eq!(ids(&from), ["a-tie", "c-tie", "b-whole"]);
}

#[test]
fn messages_from_filter_reads_an_unencoded_plus_as_plus() {
    let app = TestApp::spawn();
    app.store("in", "+919876543210", "2025-01-15T10:00:00Z", None);
    app.store("out", "+14155550100", "2025-01-15T10:00:00Z", None);
    for url in [
        "/messages?from=+919876543210",
        "/messages?from=%2B919876543210",
        "/messages?limit=10&from=+919876543210&offset=0",
    ] {
        let page = app.get_json(url, 200);
        assert_eq!(page["total"], 1, "{url}");
        assert_eq!(ids(&page), ["in"], "{url}");
    }
    assert_eq!(app.get_json("/messages?from=%2B1", 200)["total"], 0);
}

#[test]
fn messages_since_compares_instants_with_any_offset() {
    let app = TestApp::spawn();
    app.store("early", "+1555", "2025-01-15T09:59:59.999Z", None);
    app.store("exact", "+1555", "2025-01-15T10:00:00Z", None);
    app.store("late", "+1555", "2025-01-15T10:00:00.001Z", None);
    for since in [
        "2025-01-15T10:00:00Z",
        "2025-01-15T15:30:00%2B05:30",
        "2025-01-15T15:30:00+05:30",
        "2025-01-15T02:00:00-08:00",
    ] {
        let page = app.get_json(&format!("/messages?since={since}"), 200);
        assert_eq!(ids(&page), ["exact", "late"], "{since}");
        assert_eq!(page["total"], 2);
    }
}

#[test]
fn messages_q_is_a_case_insensitive_unicode_substring_with_literal_wildcards() {
    let app = TestApp::spawn();
    app.store("elan", "+1555", "2025-01-15T10:00:00Z", Some("Quel Élan!"));
    app.store(
        "percent",
        "+1555",
        "2025-01-15T10:00:01Z",
        Some("100% sure_thing"),
    );
    app.store(
        "plain",
        "+1555",
        "2025-01-15T10:00:02Z",
        Some("1000 sure things"),
    );
    app.store("none", "+1555", "2025-01-15T10:00:03Z", None);
    assert_eq!(ids(&app.get_json("/messages?q=%C3%A9lan", 200)), ["elan"]);
    assert_eq!(ids(&app.get_json("/messages?q=%C3%89LAN", 200)), ["elan"]);
    assert_eq!(ids(&app.get_json("/messages?q=0%25", 200)), ["percent"]);
    assert_eq!(ids(&app.get_json("/messages?q=e_t", 200)), ["percent"]);
    assert_eq!(
        ids(&app.get_json("/messages?q=SURE", 200)),
        ["percent", "plain"]
    );
    // In a query string `+` is a space.
    assert_eq!(
        ids(&app.get_json("/messages?q=sure+things", 200)),
        ["plain"]
    );
}

#[test]
fn messages_total_counts_every_match_whatever_the_page() {
    let app = TestApp::spawn();
    for i in 0..5 {
        app.store(
            &format!("m{i}"),
            "+1555",
            &format!("2025-01-15T10:00:0{i}Z"),
            None,
        );
    }
    let page = app.get_json("/messages?limit=2&offset=3", 200);
    assert_eq!(ids(&page), ["m3", "m4"]);
    assert_eq!(
        (
            page["total"].as_u64(),
            page["limit"].as_u64(),
            page["offset"].as_u64()
        ),
        (Some(5), Some(2), Some(3))
    );
    let beyond = app.get_json("/messages?offset=10", 200);
    assert_eq!(beyond["data"], json!([]));
    assert_eq!(beyond["total"], 5);
}

#[test]
fn messages_cursor_walk_visits_every_row_once_in_order() {
    let app = TestApp::spawn();
    for i in 0..7 {
        let from = if i % 2 == 0 { "+1555" } else { "+1666" };
        app.store(
            &format!("m{i}"),
            from,
            &format!("2025-01-15T10:00:0{i}Z"),
            None,
        );
    }
    for (filter, expected) in [
        ("", vec!["m0", "m1", "m2", "m3", "m4", "m5", "m6"]),
        ("&from=+1555", vec!["m0", "m2", "m4", "m6"]),
    ] {
        let mut seen = Vec::new();
        let mut url = format!("/messages?limit=3{filter}");
        loop {
            let page = app.get_json(&url, 200);
            assert_eq!(page["offset"], 0);
            assert_eq!(page["total"].as_u64(), Some(expected.len() as u64));
            seen.extend(ids(&page));
            match page["next_cursor"].as_str() {
                Some(cursor) => url = format!("/messages?limit=3{filter}&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen, expected, "filter {filter:?}");
    }
}

#[test]
fn messages_cursor_stays_valid_while_rows_are_added() {
    let app = TestApp::spawn();
    for i in 0..4 {
        app.store(
            &format!("m{i}"),
            "+1555",
            &format!("2025-01-15T10:00:0{i}Z"),
            None,
        );
    }
    let first = app.get_json("/messages?limit=2", 200);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    app.store("before", "+1555", "2025-01-15T09:00:00Z", None);
    app.store("after", "+1555", "2025-01-15T11:00:00Z", None);
    let next = app.get_json(&format!("/messages?limit=10&cursor={cursor}"), 200);
    assert_eq!(ids(&next), ["m2", "m3", "after"]);
    assert!(next["next_cursor"].is_null());
}

#[test]
fn messages_returns_422_in_fastapi_shape_for_bad_parameters() {
    let app = TestApp::spawn();
    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("since=yesterday", "since"),
        ("cursor=not-a-cursor", "cursor"),
    ] {
        let response = app.get(&format!("/messages?{query}")).unwrap();
        assert_eq!(response.status(), 422, "{query}");
        let body: Value = response.json().unwrap();
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["query", param]),
            "{query}: {body}"
        );
        assert!(body["detail"][0]["msg"].is_string() && body["detail"][0]["type"].is_string());
    }
}

#[test]
fn messages_refuses_a_cursor_together_with_an_offset() {
    let app = TestApp::spawn();
    for i in 0..3 {
        app.store(
            &format!("m{i}"),
            "+1555",
            &format!("2025-01-15T10:00:0{i}Z"),
            None,
        );
    }
    let cursor = app.get_json("/messages?limit=1", 200)["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = app.get_json(&format!("/messages?cursor={cursor}&offset=1"), 422);
    assert_eq!(body["detail"][0]["loc"], json!(["query", "cursor"]));
    assert_eq!(
        app.get_json(&format!("/messages?cursor={cursor}&offset=0"), 200)["offset"],
        0
    );
}

#[test]
fn messages_never_answers_5xx_to_odd_query_strings() {
    let app = TestApp::spawn();
    for query in [
        "%ZZ",
        "q=%FF%FE",
        "from=%00",
        "limit=1&limit=2",
        "=&&=",
        "q=%",
        "since=%2B",
    ] {
        let status = app.get(&format!("/messages?{query}")).unwrap().status();
        assert!(status == 200 || status == 422, "{query}: {status}");
    }
}
