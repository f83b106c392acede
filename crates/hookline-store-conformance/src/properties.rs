//! Property checks: random message sets and random queries answered exactly as the
//! reference answers them.

use std::collections::HashSet;

use hookline_domain::{Instant, Message};
use hookline_query::{Cursor, Filter, ListQuery, MAX_OFFSET, PageStart, reference};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::fixtures::message;
use hookline_store::{Inserted, StoreError};

use crate::Subject;

/// Cases per property when `PROPTEST_CASES` is not set: modest, because a durable backend
/// creates a fresh database per case.
pub const DEFAULT_CASES: u32 = 48;

/// Few senders, so that counts tie.
const SENDERS: &[&str] = &["+919876543210", "+14155550100", "+1", "+10", "+2"];

/// Few instants, several spelled more than one way, so that orders tie on the instant.
const TIMESTAMPS: &[&str] = &[
    "0000-01-01T00:00:00Z",
    "2024-02-29T23:59:59Z",
    "2025-01-15T09:59:59.999999999Z",
    "2025-01-15T10:00:00Z",
    "2025-01-15T10:00:00.000Z",
    "2025-01-15T10:00:00.0Z",
    "2025-01-15T10:00:00.000000001Z",
    "2025-01-15T10:00:00.5Z",
    "2025-01-15T10:00:00.500000000Z",
    "2025-01-15T10:00:01Z",
    "2025-01-15T10:30:00Z",
    "9999-12-31T23:59:59.999999999Z",
];

/// `since` values with all kinds of offsets, including ones beyond the year range in UTC.
const SINCES: &[&str] = &[
    "2025-01-15T10:00:00Z",
    "2025-01-15T15:30:00+05:30",
    "2025-01-15T02:00:00.5-08:00",
    "2025-01-15T10:00:00.000000001Z",
    "2025-01-15T09:59:59.999999999+00:00",
    "2024-03-01T00:00:00+01:00",
    "0000-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
];

const TEXTS: &[&str] = &[
    "Hello",
    "hello world",
    "Élan vital",
    "ÉLAN",
    "elan",
    "100% sure",
    "100 sure",
    "a_b",
    "axb",
    "ΣΑΣ σας",
    "straße",
    "STRASSE",
    "🙂 emoji",
    "",
    "x%_y",
    "HeLLo 🙂",
];

const QS: &[&str] = &[
    "hello", "HELLO", "élan", "ÉLAN", "%", "_", "a_b", "🙂", "ss", "ß", "σ", "Σ", "0% s", "l", "x",
    " ",
];

/// A message set drawn from small pools: `message_id`s, senders and instants repeat (a repeated
/// id is a duplicate insert), text may be null, empty, Unicode, emoji, or contain `%` and `_`.
pub fn arb_messages() -> impl Strategy<Value = Vec<Message>> {
    let id = prop_oneof![
        6 => (0u8..30).prop_map(|n| format!("m{n}")),
        1 => select(&["M1", "m1 ", "é", "Z", "🙂", "a%", "a_", "m01"][..]).prop_map(str::to_owned),
    ];
    let text = prop_oneof![
        2 => Just(None),
        5 => select(TEXTS).prop_map(|t| Some(t.to_owned())),
        2 => "[a-zA-Z%_éÉßΣσ🙂 ]{0,8}".prop_map(Some),
    ];
    let one = (id, select(SENDERS), select(TIMESTAMPS), text)
        .prop_map(|(id, from, ts, text)| message(&id, from, ts, text.as_deref()));
    proptest::collection::vec(one, 0..40)
}

/// A random list query, described so that it can be built against any message set.
#[derive(Debug, Clone)]
pub struct QuerySpec {
    /// The filters.
    pub filter: Filter,
    /// The page size.
    pub limit: u32,
    /// `None`: start at `offset`; `Some(i)`: start after the `i`-th generated message (which
    /// may be filtered out, a duplicate, or stored at another position).
    pub after: Option<Index>,
    /// The offset when `after` is `None`.
    pub offset: u64,
}

impl QuerySpec {
    /// The query against `messages` (the generated ones, duplicates included).
    pub fn build(&self, messages: &[Message]) -> ListQuery {
        let start = match (&self.after, messages.is_empty()) {
            (Some(i), false) => PageStart::After(Cursor::after(i.get(messages))),
            _ => PageStart::Offset(self.offset),
        };
        ListQuery::new(self.filter.clone(), self.limit, start)
            .unwrap_or_else(|e| panic!("generated query is invalid: {e}"))
    }
}

/// A random filter.
pub fn arb_filter() -> impl Strategy<Value = Filter> {
    let from = prop_oneof![
        2 => Just(None),
        2 => select(SENDERS).prop_map(|s| Some(s.to_owned())),
        1 => Just(Some("+999".to_owned())),
    ];
    let since = prop_oneof![
        2 => Just(None),
        1 => select(SINCES).prop_map(|s| Instant::parse_rfc3339(s).ok()),
    ];
    let q = prop_oneof![
        3 => Just(None),
        2 => select(QS).prop_map(|q| Some(q.to_owned())),
        1 => "[a-zA-Z%_é]{1,3}".prop_map(Some),
    ];
    (from, since, q).prop_map(|(from, since, q)| Filter { from, since, q })
}

/// A random query: filters × limit × offset or cursor.
pub fn arb_query() -> impl Strategy<Value = QuerySpec> {
    let limit = prop_oneof![4 => 1u32..=6, 1 => 1u32..=100, 1 => Just(100u32)];
    let offset = prop_oneof![6 => 0u64..45, 1 => Just(MAX_OFFSET)];
    let after = prop_oneof![2 => Just(None), 1 => any::<Index>().prop_map(Some)];
    (arb_filter(), limit, after, offset).prop_map(|(filter, limit, after, offset)| QuerySpec {
        filter,
        limit,
        after,
        offset,
    })
}

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn run<T: Strategy>(strategy: T, test: impl Fn(T::Value) -> Result<(), TestCaseError>, name: &str)
where
    T::Value: std::fmt::Debug,
{
    if let Err(e) = runner().run(&strategy, test) {
        panic!("conformance property {name} failed: {e}");
    }
}

fn fail(call: &str) -> impl Fn(StoreError) -> TestCaseError + '_ {
    move |e| TestCaseError::fail(format!("store.{call} failed: {e} ({e:?})"))
}

/// Inserts every generated message into `store`, checking `Created`/`Duplicate`, and
/// returns the rows that must be stored (the first of each `message_id`).
fn insert_all(store: &Subject, messages: &[Message]) -> Result<Vec<Message>, TestCaseError> {
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for m in messages {
        let expected = if seen.insert(m.message_id().clone()) {
            rows.push(m.clone());
            Inserted::Created
        } else {
            Inserted::Duplicate
        };
        let got = store.insert(m.clone()).map_err(fail("insert"))?;
        prop_assert_eq!(got, expected, "insert of {:?}", m);
    }
    Ok(rows)
}

/// For random message sets and random queries, every page (data, total, limit, offset,
/// next_cursor) and the statistics equal the reference's exactly.
pub fn prop_lists_and_stats_match_reference(factory: &dyn Fn() -> Subject) {
    let strategy = (arb_messages(), proptest::collection::vec(arb_query(), 1..6));
    run(
        strategy,
        |(messages, queries)| {
            let store = factory();
            let rows = insert_all(&store, &messages)?;
            for spec in &queries {
                let q = spec.build(&messages);
                let expected = reference::list(&rows, &q);
                let page = store.list(&q).map_err(fail("list"))?;
                prop_assert_eq!(&page, &expected, "query {:?}", q);
            }
            let stats = store.stats().map_err(fail("stats"))?;
            prop_assert_eq!(&stats, &reference::stats(&rows));
            Ok(())
        },
        "prop_lists_and_stats_match_reference",
    );
}

/// For random message sets, filters and limits, following `next_cursor` from the first page
/// visits exactly the rows of an offset walk, which are the reference's filtered rows in order.
pub fn prop_cursor_walk_equals_offset_walk(factory: &dyn Fn() -> Subject) {
    let strategy = (arb_messages(), arb_filter(), 1u32..=7);
    run(
        strategy,
        |(messages, filter, limit)| {
            let store = factory();
            let rows = insert_all(&store, &messages)?;
            let mut expected: Vec<Message> = rows
                .iter()
                .filter(|m| reference::matches(&filter, m))
                .cloned()
                .collect();
            expected.sort_by(reference::order);

            let first = ListQuery::new(filter.clone(), limit, PageStart::Offset(0))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut by_offset = Vec::new();
            loop {
                let q = ListQuery::new(
                    filter.clone(),
                    limit,
                    PageStart::Offset(by_offset.len() as u64),
                )
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let page = store.list(&q).map_err(fail("list"))?;
                prop_assert_eq!(page.total, expected.len() as u64);
                if page.data.is_empty() {
                    break;
                }
                by_offset.extend(page.data);
            }

            let mut by_cursor = Vec::new();
            let mut q = first;
            let mut pages = 0;
            loop {
                let page = store.list(&q).map_err(fail("list"))?;
                prop_assert_eq!(page.total, expected.len() as u64);
                prop_assert_eq!(page.offset, 0);
                prop_assert!(
                    !page.data.is_empty() || by_cursor.is_empty(),
                    "empty cursor page"
                );
                by_cursor.extend(page.data);
                pages += 1;
                prop_assert!(pages <= expected.len() + 1, "the cursor walk does not end");
                let Some(c) = page.next_cursor else { break };
                let c = Cursor::decode(&c).map_err(|e| TestCaseError::fail(e.to_string()))?;
                q = q.after(c);
            }
            prop_assert_eq!(&by_offset, &expected);
            prop_assert_eq!(&by_cursor, &expected);
            Ok(())
        },
        "prop_cursor_walk_equals_offset_walk",
    );
}
