//! `GET /stats`: totals, top senders with ties by `from`, first and last by instant.

use serde_json::json;

use crate::helpers::TestApp;

#[test]
fn stats_of_an_empty_store_are_zero_with_null_timestamps() {
    let app = TestApp::spawn();
    assert_eq!(
        app.get_json("/stats", 200),
        json!({"total_messages": 0, "senders_count": 0, "messages_per_sender": [],
               "first_message_ts": null, "last_message_ts": null})
    );
}

#[test]
fn stats_rank_senders_by_count_then_by_number_and_keep_the_top_ten() {
    let app = TestApp::spawn();
    // Twelve senders: +1500 sends 3, +1501 and +1502 send 2, the rest 1 each.
    let mut n = 0;
    for (sender, count) in (0..12).map(|i| {
        (
            format!("+15{i:02}"),
            match i {
                0 => 3,
                1 | 2 => 2,
                _ => 1,
            },
        )
    }) {
        for _ in 0..count {
            app.store(&format!("s{n}"), &sender, "2025-01-15T10:00:00Z", None);
            n += 1;
        }
    }
    let stats = app.get_json("/stats", 200);
    assert_eq!(stats["total_messages"], 16);
    assert_eq!(stats["senders_count"], 12);
    let top: Vec<_> = stats["messages_per_sender"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["from"].as_str().unwrap().to_owned(),
                s["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<_> = [
        ("+1500", 3),
        ("+1501", 2),
        ("+1502", 2),
        ("+1503", 1),
        ("+1504", 1),
        ("+1505", 1),
        ("+1506", 1),
        ("+1507", 1),
        ("+1508", 1),
        ("+1509", 1),
    ]
    .iter()
    .map(|(f, c)| ((*f).to_owned(), *c))
    .collect();
    assert_eq!(top, expected);
}

#[test]
fn stats_ties_are_broken_by_sender_ascending_whatever_the_insertion_order() {
    let app = TestApp::spawn();
    for (i, sender) in ["+1999", "+1200", "+1555"].iter().enumerate() {
        app.store(&format!("t{i}"), sender, "2025-01-15T10:00:00Z", None);
    }
    let stats = app.get_json("/stats", 200);
    assert_eq!(
        stats["messages_per_sender"],
        json!([{"from": "+1200", "count": 1}, {"from": "+1555", "count": 1}, {"from": "+1999", "count": 1}])
    );
}

#[test]
fn stats_first_and_last_are_by_instant_and_returned_as_sent() {
    let app = TestApp::spawn();
    app.store("a", "+1555", "2025-01-15T10:00:00Z", None);
    app.store("b", "+1555", "2025-01-15T10:00:00.5Z", None);
    app.store("c", "+1555", "2025-01-15T09:59:59.25Z", None);
    let stats = app.get_json("/stats", 200);
    assert_eq!(stats["first_message_ts"], "2025-01-15T09:59:59.25Z");
    assert_eq!(stats["last_message_ts"], "2025-01-15T10:00:00.5Z");
}
