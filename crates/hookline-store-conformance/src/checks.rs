//! The example-based checks: one promise of the storage contract each.

use std::sync::Barrier;
use std::thread;

use hookline_domain::{Instant, Message};
use hookline_query::{
    Cursor, Filter, ListQuery, MAX_OFFSET, PageStart, SenderCount, Stats, reference,
};

use super::fixtures::{all_rows, ids, message, query, stored};
use hookline_store::Inserted;

use crate::Subject;

const A: &str = "+919876543210";
const B: &str = "+14155550100";

fn insert(store: &Subject, m: Message) -> Inserted {
    stored(store.insert(m), "insert")
}

fn insert_all(store: &Subject, rows: &[Message]) {
    for m in rows {
        assert_eq!(insert(store, m.clone()), Inserted::Created, "{m:?}");
    }
}

fn list(store: &Subject, q: &ListQuery) -> hookline_query::Page<Message> {
    stored(store.list(q), "list")
}

fn filter(from: Option<&str>, since: Option<&str>, q: Option<&str>) -> Filter {
    Filter {
        from: from.map(str::to_owned),
        since: since.map(|s| {
            Instant::parse_rfc3339(s).unwrap_or_else(|e| panic!("fixture since {s}: {e}"))
        }),
        q: q.map(str::to_owned),
    }
}

fn matching(store: &Subject, f: Filter) -> Vec<String> {
    ids(&all_rows(store, &f))
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The store's page for `q` equals the reference's over `rows`.
fn assert_page_matches(store: &Subject, rows: &[Message], q: &ListQuery) {
    assert_eq!(list(store, q), reference::list(rows, q), "page for {q:?}");
}

/// A stored message is listed exactly as sent, `ts` text and all.
pub fn insert_then_list_returns_it(store: &Subject) {
    let m = message("m1", A, "2025-01-15T10:00:00.500Z", Some("Hello"));
    assert_eq!(insert(store, m.clone()), Inserted::Created);
    let page = list(store, &query(Filter::default(), 50, PageStart::Offset(0)));
    assert_eq!(page.data, std::slice::from_ref(&m));
    assert_eq!((page.total, page.limit, page.offset), (1, 50, 0));
    assert_eq!(page.next_cursor, None);
    let no_text = message("m2", A, "2025-01-15T10:00:01Z", None);
    insert(store, no_text.clone());
    assert_eq!(all_rows(store, &Filter::default()), [m, no_text]);
}

/// A second insert of one `message_id` is a duplicate and stores nothing.
pub fn a_second_insert_is_a_duplicate(store: &Subject) {
    let m = message("m1", A, "2025-01-15T10:00:00Z", Some("Hello"));
    assert_eq!(insert(store, m.clone()), Inserted::Created);
    assert_eq!(insert(store, m.clone()), Inserted::Duplicate);
    assert_eq!(insert(store, m.clone()), Inserted::Duplicate);
    assert_eq!(all_rows(store, &Filter::default()), [m]);
    assert_eq!(stored(store.stats(), "stats").total_messages, 1);
}

/// A duplicate with different fields leaves the first row exactly as it was.
pub fn a_duplicate_never_changes_the_stored_row(store: &Subject) {
    let first = message("m1", A, "2025-01-15T10:00:00Z", Some("first"));
    insert(store, first.clone());
    for other in [
        message("m1", B, "2025-01-16T10:00:00.5Z", Some("second")),
        message("m1", A, "2025-01-15T10:00:00Z", None),
        message("m1", A, "2025-01-15T10:00:00.000Z", Some("first")),
    ] {
        assert_eq!(insert(store, other), Inserted::Duplicate);
    }
    assert_eq!(
        all_rows(store, &Filter::default()),
        std::slice::from_ref(&first)
    );
    assert_eq!(stored(store.stats(), "stats"), reference::stats(&[first]));
}

/// `total` and the statistics follow every insert, duplicates excluded.
pub fn totals_and_stats_follow_inserts(store: &Subject) {
    let mut rows = Vec::new();
    for (i, (from, ts)) in [
        (A, "2025-01-15T10:00:00Z"),
        (B, "2025-01-10T09:00:00Z"),
        (A, "2025-01-15T09:30:00Z"),
        (B, "2025-01-15T10:00:00.5Z"),
        (A, "2025-01-12T00:00:00Z"),
    ]
    .into_iter()
    .enumerate()
    {
        let m = message(&format!("m{i}"), from, ts, Some("hi"));
        insert(store, m.clone());
        insert(store, m.clone());
        rows.push(m);
        let q = query(Filter::default(), 2, PageStart::Offset(0));
        assert_eq!(list(store, &q).total, rows.len() as u64);
        assert_eq!(stored(store.stats(), "stats"), reference::stats(&rows));
    }
    let stats = stored(store.stats(), "stats");
    assert_eq!(
        stats,
        Stats {
            total_messages: 5,
            senders_count: 2,
            messages_per_sender: vec![
                SenderCount {
                    from: A.to_owned(),
                    count: 3
                },
                SenderCount {
                    from: B.to_owned(),
                    count: 2
                },
            ],
            first_message_ts: Some("2025-01-10T09:00:00Z".to_owned()),
            last_message_ts: Some("2025-01-15T10:00:00.5Z".to_owned()),
        }
    );
}

/// 32 threads inserting one `message_id` at the same moment: exactly one is created, and the
/// stored row is one of those sent.
pub fn concurrent_inserts_of_one_id_create_exactly_once(store: &Subject) {
    const THREADS: usize = 32;
    let barrier = Barrier::new(THREADS);
    let sent: Vec<Message> = (0..THREADS)
        .map(|i| {
            message(
                "race",
                A,
                "2025-01-15T10:00:00Z",
                Some(&format!("thread {i}")),
            )
        })
        .collect();
    let outcomes: Vec<Inserted> = thread::scope(|scope| {
        let handles: Vec<_> = sent
            .iter()
            .map(|m| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    store.insert(m.clone())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(result) => stored(result, "insert"),
                Err(_) => panic!("an inserting thread panicked"),
            })
            .collect()
    });
    let created = outcomes.iter().filter(|o| **o == Inserted::Created).count();
    assert_eq!(created, 1, "outcomes: {outcomes:?}");
    assert_eq!(outcomes.len() - created, THREADS - 1);
    let rows = all_rows(store, &Filter::default());
    assert_eq!(rows.len(), 1);
    assert!(
        sent.contains(&rows[0]),
        "stored row was never sent: {:?}",
        rows[0]
    );
}

/// Concurrent inserts of distinct ids all succeed and all land.
pub fn concurrent_inserts_of_distinct_ids_all_land(store: &Subject) {
    const THREADS: usize = 8;
    const EACH: usize = 25;
    let barrier = Barrier::new(THREADS);
    thread::scope(|scope| {
        for t in 0..THREADS {
            let barrier = &barrier;
            scope.spawn(move || {
                barrier.wait();
                for i in 0..EACH {
                    let ts = format!("2025-01-15T10:{t:02}:{i:02}Z");
                    let m = message(&format!("t{t}-{i:02}"), A, &ts, None);
                    assert_eq!(stored(store.insert(m), "insert"), Inserted::Created);
                }
            });
        }
    });
    let rows = all_rows(store, &Filter::default());
    assert_eq!(rows.len(), THREADS * EACH);
    assert_eq!(stored(store.stats(), "stats"), reference::stats(&rows));
}

/// The longest `message_id` and `text` (counted in characters, here 4-byte emoji) and
/// awkward characters survive storage unchanged, and a cursor after such an id works.
pub fn long_ids_and_texts_round_trip(store: &Subject) {
    let long_id = "🙂".repeat(1024);
    let long_text = "🙂".repeat(4096);
    let rows = [
        message(&long_id, A, "2025-01-15T10:00:00Z", Some(&long_text)),
        message(
            "quote ' \" \\ % _ \0 nul",
            A,
            "2025-01-15T10:00:00Z",
            Some("'; DROP --"),
        ),
        message("m", A, "2025-01-15T10:00:00Z", Some("")),
    ];
    insert_all(store, &rows);
    let mut expected = rows.to_vec();
    expected.sort_by(reference::order);
    assert_eq!(all_rows(store, &Filter::default()), expected);
    for limit in [1, 2] {
        let q = query(Filter::default(), limit, PageStart::Offset(0));
        let page = list(store, &q);
        assert_eq!(page, reference::list(&rows, &q));
        if let Some(c) = page.next_cursor {
            let c = Cursor::decode(&c).unwrap_or_else(|e| panic!("next_cursor: {e}"));
            assert_page_matches(store, &rows, &q.after(c));
        }
    }
}

/// Rows come by instant (not by text), then by `message_id` in byte order.
pub fn orders_by_instant_then_message_id(store: &Subject) {
    let rows = [
        message("b", A, "2025-01-15T10:00:00.5Z", None),
        message("c", A, "2025-01-15T10:00:00Z", None),
        message("a", A, "2025-01-15T10:00:00.000Z", None),
        message("A", B, "2025-01-15T10:00:00Z", None),
        message("é", A, "2025-01-15T09:59:59.999999999Z", None),
        message("a1", A, "2025-01-15T10:00:00.000000001Z", None),
        message("z", A, "2024-02-29T23:59:59Z", None),
    ];
    insert_all(store, &rows);
    assert_eq!(
        ids(&all_rows(store, &Filter::default())),
        ["z", "é", "A", "a", "c", "a1", "b"]
    );
    assert_eq!(
        ids(&all_rows(store, &filter(Some(A), None, None))),
        ["z", "é", "a", "c", "a1", "b"]
    );
}

/// `from` selects one exact sender; a non-E.164 value matches nothing.
pub fn filters_by_sender(store: &Subject) {
    insert_all(
        store,
        &[
            message("m1", A, "2025-01-15T10:00:00Z", None),
            message("m2", B, "2025-01-15T10:00:01Z", None),
            message("m3", A, "2025-01-15T10:00:02Z", None),
            message("m4", "+91987654321", "2025-01-15T10:00:03Z", None),
        ],
    );
    assert_eq!(matching(store, filter(Some(A), None, None)), ["m1", "m3"]);
    assert_eq!(matching(store, filter(Some(B), None, None)), ["m2"]);
    for none in [
        "919876543210",
        " 919876543210",
        "+9198765432",
        "",
        "%",
        "+91987654321%",
    ] {
        assert!(
            matching(store, filter(Some(none), None, None)).is_empty(),
            "{none:?}"
        );
    }
    let parsed =
        ListQuery::parse([("from", " 919876543210")]).unwrap_or_else(|e| panic!("parse: {e:?}"));
    assert_eq!(list(store, &parsed).total, 2);
}

/// `since` keeps rows at or after an instant given with any offset.
pub fn filters_since_with_any_offset(store: &Subject) {
    insert_all(
        store,
        &[
            message("m1", A, "2025-01-15T09:59:59.999999999Z", None),
            message("m2", A, "2025-01-15T10:00:00.000Z", None),
            message("m3", A, "2025-01-15T10:00:00.5Z", None),
            message("m4", A, "2025-01-16T00:00:00Z", None),
        ],
    );
    for since in [
        "2025-01-15T10:00:00Z",
        "2025-01-15T15:30:00+05:30",
        "2025-01-15T02:00:00-08:00",
        "2025-01-15T10:00:00.000000000Z",
    ] {
        assert_eq!(
            matching(store, filter(None, Some(since), None)),
            ["m2", "m3", "m4"],
            "{since}"
        );
    }
    assert_eq!(
        matching(
            store,
            filter(None, Some("2025-01-15T10:00:00.000000001Z"), None)
        ),
        ["m3", "m4"]
    );
    assert_eq!(
        matching(store, filter(None, Some("2025-01-16T05:30:00+05:30"), None)),
        ["m4"]
    );
    assert_eq!(
        matching(store, filter(None, Some("0000-01-01T00:00:00+01:00"), None)).len(),
        4
    );
    assert!(matching(store, filter(None, Some("9999-12-31T23:59:59-01:00"), None)).is_empty());
    let parsed = ListQuery::parse([("since", "2025-01-15T15:30:00 05:30")])
        .unwrap_or_else(|e| panic!("parse: {e:?}"));
    assert_eq!(list(store, &parsed).total, 3);
}

/// `q` is a Unicode case-insensitive substring: `élan` finds `Élan`.
pub fn q_is_unicode_case_insensitive(store: &Subject) {
    insert_all(
        store,
        &[
            message("m1", A, "2025-01-15T10:00:01Z", Some("Élan vital")),
            message("m2", A, "2025-01-15T10:00:02Z", Some("ÉLAN")),
            message("m3", A, "2025-01-15T10:00:03Z", Some("elan")),
            message("m4", A, "2025-01-15T10:00:04Z", Some("Hello 🙂 WORLD")),
            message("m5", A, "2025-01-15T10:00:05Z", Some("ΣΟΦΊΑ straße")),
        ],
    );
    assert_eq!(
        matching(store, filter(None, None, Some("élan"))),
        ["m1", "m2"]
    );
    assert_eq!(
        matching(store, filter(None, None, Some("ÉlAn"))),
        ["m1", "m2"]
    );
    assert_eq!(matching(store, filter(None, None, Some("elan"))), ["m3"]);
    assert_eq!(
        matching(store, filter(None, None, Some("🙂 world"))),
        ["m4"]
    );
    assert_eq!(matching(store, filter(None, None, Some("σοφία"))), ["m5"]);
    assert_eq!(matching(store, filter(None, None, Some("STRAßE"))), ["m5"]);
    assert_eq!(matching(store, filter(None, None, Some("hello"))), ["m4"]);
}

/// `%` and `_` in `q` are ordinary characters, not wildcards.
pub fn q_treats_percent_and_underscore_literally(store: &Subject) {
    insert_all(
        store,
        &[
            message("m1", A, "2025-01-15T10:00:01Z", Some("100% sure")),
            message("m2", A, "2025-01-15T10:00:02Z", Some("100 sure")),
            message("m3", A, "2025-01-15T10:00:03Z", Some("a_b")),
            message("m4", A, "2025-01-15T10:00:04Z", Some("axb")),
            message("m5", A, "2025-01-15T10:00:05Z", Some("back\\slash")),
        ],
    );
    assert_eq!(matching(store, filter(None, None, Some("%"))), ["m1"]);
    assert_eq!(matching(store, filter(None, None, Some("0% s"))), ["m1"]);
    assert_eq!(matching(store, filter(None, None, Some("_"))), ["m3"]);
    assert_eq!(matching(store, filter(None, None, Some("a_b"))), ["m3"]);
    assert_eq!(matching(store, filter(None, None, Some("\\"))), ["m5"]);
    assert!(matching(store, filter(None, None, Some("%%"))).is_empty());
    assert!(matching(store, filter(None, None, Some("x_"))).is_empty());
}

/// A message without text never matches a `q`; an empty `q` is no filter.
pub fn q_never_matches_null_text(store: &Subject) {
    insert_all(
        store,
        &[
            message("m1", A, "2025-01-15T10:00:01Z", None),
            message("m2", A, "2025-01-15T10:00:02Z", Some("")),
            message("m3", A, "2025-01-15T10:00:03Z", Some("null")),
        ],
    );
    assert_eq!(matching(store, filter(None, None, Some("null"))), ["m3"]);
    assert_eq!(matching(store, filter(None, None, Some("n"))), ["m3"]);
    assert_eq!(
        matching(store, filter(None, None, Some(""))),
        ["m1", "m2", "m3"]
    );
    let parsed = ListQuery::parse([("q", "")]).unwrap_or_else(|e| panic!("parse: {e:?}"));
    assert_eq!(list(store, &parsed).total, 3);
}

/// Filters combine with AND, and `total` counts what they select.
pub fn filters_combine(store: &Subject) {
    let rows = [
        message("m1", A, "2025-01-15T09:00:00Z", Some("hello")),
        message("m2", A, "2025-01-15T10:00:00Z", Some("Hello there")),
        message("m3", B, "2025-01-15T10:00:00Z", Some("hello")),
        message("m4", A, "2025-01-15T11:00:00Z", Some("bye")),
        message("m5", A, "2025-01-15T12:00:00Z", Some("HELLO")),
    ];
    insert_all(store, &rows);
    let f = filter(Some(A), Some("2025-01-15T09:30:00Z"), Some("hello"));
    assert_eq!(matching(store, f.clone()), ["m2", "m5"]);
    for limit in [1, 2, 3] {
        for offset in [0, 1, 2, 3] {
            let q = query(f.clone(), limit, PageStart::Offset(offset));
            assert_page_matches(store, &rows, &q);
        }
    }
}

/// More than ten senders: the top ten by count, ties by `from` ascending.
pub fn stats_break_count_ties_by_sender(store: &Subject) {
    let senders = [
        "+19", "+1", "+10", "+100", "+18", "+2", "+3", "+4", "+5", "+6", "+7", "+8",
    ];
    let mut rows = Vec::new();
    for (i, from) in senders.iter().enumerate() {
        // "+5" sends 3 and "+7" sends 2; everyone else sends 1.
        let n = match *from {
            "+5" => 3,
            "+7" => 2,
            _ => 1,
        };
        for k in 0..n {
            let ts = format!("2025-01-15T10:{i:02}:{k:02}Z");
            rows.push(message(&format!("m{i:02}-{k}"), from, &ts, None));
        }
    }
    insert_all(store, &rows);
    let stats = stored(store.stats(), "stats");
    let top: Vec<(&str, u64)> = stats
        .messages_per_sender
        .iter()
        .map(|c| (c.from.as_str(), c.count))
        .collect();
    assert_eq!(
        top,
        [
            ("+5", 3),
            ("+7", 2),
            ("+1", 1),
            ("+10", 1),
            ("+100", 1),
            ("+18", 1),
            ("+19", 1),
            ("+2", 1),
            ("+3", 1),
            ("+4", 1),
        ]
    );
    assert_eq!(stats.senders_count, 12);
    assert_eq!(stats, reference::stats(&rows));
}

/// An empty store: no rows, zero counts, null timestamps.
pub fn empty_store_has_null_stats_and_no_rows(store: &Subject) {
    let stats = stored(store.stats(), "stats");
    assert_eq!(stats, reference::stats(&[]));
    assert_eq!(
        (stats.first_message_ts, stats.last_message_ts),
        (None, None)
    );
    let q = query(Filter::default(), 50, PageStart::Offset(0));
    assert_eq!(list(store, &q), reference::list(&[], &q));
    let q = query(Filter::default(), 50, PageStart::Offset(MAX_OFFSET));
    assert_eq!(list(store, &q), reference::list(&[], &q));
}

/// Offset pages echo `limit` and `offset`, count every match, and carry a cursor only when
/// rows follow; offsets past the end (up to `i64::MAX`) give empty pages.
pub fn offset_pages_echo_and_count(store: &Subject) {
    let rows = seconds_apart(7);
    insert_all(store, &rows);
    for limit in [1, 2, 3, 7, 100] {
        for offset in [0, 1, 5, 6, 7, 8, MAX_OFFSET] {
            assert_page_matches(
                store,
                &rows,
                &query(Filter::default(), limit, PageStart::Offset(offset)),
            );
        }
    }
}

/// Following `next_cursor` visits exactly the rows an offset walk visits, in order.
pub fn cursor_walk_equals_offset_walk(store: &Subject) {
    let mut rows = Vec::new();
    for i in 0..23 {
        let ts = [
            "2025-01-15T10:00:00Z",
            "2025-01-15T10:00:00.000Z",
            "2025-01-15T10:00:00.5Z",
        ][i % 3];
        let from = if i % 4 == 0 { B } else { A };
        rows.push(message(
            &format!("m{:02}", (i * 7) % 23),
            from,
            ts,
            Some("x"),
        ));
    }
    insert_all(store, &rows);
    for f in [Filter::default(), filter(Some(A), None, None)] {
        let expected: Vec<Message> = {
            let mut v: Vec<Message> = rows
                .iter()
                .filter(|m| reference::matches(&f, m))
                .cloned()
                .collect();
            v.sort_by(reference::order);
            v
        };
        for limit in [1, 2, 5, 23, 100] {
            let mut walked = Vec::new();
            let mut q = query(f.clone(), limit, PageStart::Offset(0));
            loop {
                let page = list(store, &q);
                assert_eq!(page, reference::list(&rows, &q));
                walked.extend(page.data);
                let Some(c) = page.next_cursor else { break };
                let c = Cursor::decode(&c).unwrap_or_else(|e| panic!("next_cursor: {e}"));
                q = q.after(c);
            }
            assert_eq!(walked, expected, "limit {limit}");
        }
    }
}

/// A cursor keeps its place while rows are added before and after it.
pub fn cursor_stays_valid_while_rows_are_added(store: &Subject) {
    let mut rows = seconds_apart(4);
    insert_all(store, &rows);
    let q = query(Filter::default(), 2, PageStart::Offset(0));
    let page = list(store, &q);
    let c = page
        .next_cursor
        .unwrap_or_else(|| panic!("a cursor was expected"));
    let c = Cursor::decode(&c).unwrap_or_else(|e| panic!("next_cursor: {e}"));
    let added = [
        message("m0b", A, "2025-01-15T10:00:00.5Z", None),
        message("m1b", A, "2025-01-15T10:00:01.000Z", None),
        message("m1", B, "2025-01-15T10:00:09Z", None),
        message("m9", A, "2025-01-15T10:00:09Z", None),
    ];
    for m in &added {
        insert(store, m.clone());
    }
    rows.extend(
        added
            .into_iter()
            .filter(|m| m.message_id().as_str() != "m1"),
    );
    let next = q.after(c);
    assert_page_matches(store, &rows, &next);
    assert_eq!(ids(&list(store, &next).data), ["m1b", "m2"]);
}

/// A fresh store is ready.
pub fn a_fresh_store_is_ready(store: &Subject) {
    stored(store.check_ready(), "check_ready");
}

/// `n` (at most 10) messages `m0`, `m1`, … from one sender, one second apart, without text.
fn seconds_apart(n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| {
            message(
                &format!("m{i}"),
                A,
                &format!("2025-01-15T10:00:0{i}Z"),
                None,
            )
        })
        .collect()
}
