//! Kept counts (`counts.rs`: totals kept with their snapshot's `xmin`, brought forward by
//! `insert_xid`) stay exact while rows are being written: several tasks insert at once,
//! through one store and through a second store on the same database (another replica,
//! with its own kept counts), while other tasks keep calling `list` with each filter, and
//! `stats`, through both.
//!
//! - During the run, every `total` lies between the matching inserts acknowledged before
//!   the call started and the matching inserts started before it returned.
//! - After the inserts stop, every total equals a plain SQL `count(*)` with the same filter
//!   (on a direct connection, on the columns a client sent, not the store's keys), and the
//!   number this test acknowledged.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use hookline_domain::{Instant, Message};
use hookline_postgres::testing::{TestSchema, test_url};
use hookline_postgres::{PostgresConfig, PostgresStore};
use hookline_query::reference::matches;
use hookline_query::{Filter, ListQuery, PageStart};
use hookline_store::{Inserted, MessageStore};
use hookline_store_conformance::{message, runtime};

const SENDERS: [&str; 4] = [
    "+15550000001",
    "+15550000002",
    "+15550000003",
    "+15550000004",
];
const SINCE: &str = "2025-03-01T00:00:00Z";
const NEEDLE: &str = "INVOICE";
/// Writers per store, and rows each writes.
const WRITERS_A: usize = 4;
const WRITERS_B: usize = 2;
const ROWS_PER_WRITER: usize = 150;
/// Rows written before the readers start, so kept counts exist and are brought forward.
const SEEDED: usize = 120;

/// The filters read, each with its plain SQL condition on what the client sent.
fn filters() -> Vec<(Filter, String)> {
    let since = Instant::parse_rfc3339(SINCE).unwrap();
    let from = SENDERS[1].to_owned();
    let sql_since = format!("ts::timestamptz >= '{SINCE}'::timestamptz");
    let sql_q = format!("position('{}' in lower(text)) > 0", NEEDLE.to_lowercase());
    let sql_from = format!("from_msisdn = '{from}'");
    let filter = |from: bool, since_on: bool, q: bool| Filter {
        from: from.then(|| SENDERS[1].to_owned()),
        since: since_on.then_some(since),
        q: q.then(|| NEEDLE.to_owned()),
    };
    vec![
        (filter(false, false, false), "true".to_owned()),
        (filter(false, true, false), sql_since.clone()),
        (filter(false, false, true), sql_q.clone()),
        (filter(true, false, false), sql_from.clone()),
        (
            filter(true, true, false),
            format!("{sql_from} AND {sql_since}"),
        ),
        (
            filter(false, true, true),
            format!("{sql_since} AND {sql_q}"),
        ),
        (filter(true, false, true), format!("{sql_from} AND {sql_q}")),
    ]
}

/// The `n`th message of writer `writer`: senders, days and texts spread so that every
/// filter matches some rows and misses others.
fn nth(writer: usize, n: usize) -> Message {
    let i = writer * 1000 + n;
    let day = (i * 37) % 150; // January to May 2025
    let ts = format!(
        "2025-{:02}-{:02}T{:02}:{:02}:00Z",
        1 + day / 30,
        1 + day % 28,
        i % 24,
        (i * 7) % 60
    );
    let text = match i % 4 {
        0 => Some(format!("Invoice {i} is due")),
        1 => Some(format!("see invoice #{i}")),
        2 => Some(format!("hello {i}")),
        _ => None,
    };
    message(
        &format!("w{writer}-{n}"),
        SENDERS[(i / 3) % SENDERS.len()],
        &ts,
        text.as_deref(),
    )
}

/// Per filter: inserts started and acknowledged (`Created`) so far.
struct Tally {
    filters: Vec<Filter>,
    started: Vec<AtomicU64>,
    acked: Vec<AtomicU64>,
}

impl Tally {
    fn new(filters: Vec<Filter>) -> Self {
        let zeros = || filters.iter().map(|_| AtomicU64::new(0)).collect();
        Self {
            started: zeros(),
            acked: zeros(),
            filters,
        }
    }

    fn bump(counters: &[AtomicU64], filters: &[Filter], message: &Message) {
        for (counter, filter) in counters.iter().zip(filters) {
            if matches(filter, message) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// Inserts `message` (new), counting it as started before and acknowledged after.
    async fn insert(&self, store: &PostgresStore, message: Message) {
        Self::bump(&self.started, &self.filters, &message);
        let again = message.clone();
        assert_eq!(store.insert(message).await.unwrap(), Inserted::Created);
        Self::bump(&self.acked, &self.filters, &again);
    }
}

fn list_query(filter: &Filter, offset: u64) -> ListQuery {
    ListQuery::new(filter.clone(), 10, PageStart::Offset(offset)).unwrap()
}

fn open(url: &str) -> Arc<PostgresStore> {
    let mut config = PostgresConfig::from_url(url).unwrap();
    config.max_connections = 4;
    Arc::new(PostgresStore::open(&config).unwrap())
}

#[test]
fn kept_totals_stay_exact_under_concurrent_inserts_from_two_stores() {
    let Some(url) = test_url() else { return };
    let schema = TestSchema::create(&url);
    let (filters, conditions): (Vec<Filter>, Vec<String>) = filters().into_iter().unzip();
    let tally = Arc::new(Tally::new(filters.clone()));
    let a = open(schema.url());
    let b = open(schema.url());

    // Some rows first, and a read of every filter through both stores: the concurrent
    // reads then bring kept counts forward instead of counting from scratch.
    runtime().block_on(async {
        for n in 0..SEEDED {
            tally.insert(&a, nth(99, n)).await;
        }
        for store in [&a, &b] {
            for filter in &filters {
                store.list(&list_query(filter, 0)).await.unwrap();
            }
            store.stats().await.unwrap();
        }
    });

    let writing = Arc::new(AtomicBool::new(true));
    let mut writers = Vec::new();
    for writer in 0..WRITERS_A + WRITERS_B {
        let store = if writer < WRITERS_A {
            a.clone()
        } else {
            b.clone()
        };
        let tally = tally.clone();
        writers.push(runtime().spawn(async move {
            for n in 0..ROWS_PER_WRITER {
                tally.insert(&store, nth(writer, n)).await;
                if n % 10 == 0 {
                    // A duplicate changes nothing, and is not counted.
                    let again = store.insert(nth(writer, n)).await.unwrap();
                    assert_eq!(again, Inserted::Duplicate);
                }
            }
        }));
    }
    let mut readers = Vec::new();
    for reader in 0..4 {
        let store = if reader % 2 == 0 {
            a.clone()
        } else {
            b.clone()
        };
        let (tally, writing, filters) = (tally.clone(), writing.clone(), filters.clone());
        readers.push(runtime().spawn(async move {
            let mut checks = 0u64;
            let mut round = 0usize;
            while writing.load(Ordering::SeqCst) || round < 2 {
                for (i, filter) in filters.iter().enumerate() {
                    // A deep offset (kept anchors, from 1,000 on) on the unfiltered list now
                    // and then: past the total at first, inside it by the end.
                    let offset = if i == 0 && round % 3 == 2 { 1000 } else { 0 };
                    let low = tally.acked[i].load(Ordering::SeqCst);
                    let page = store.list(&list_query(filter, offset)).await.unwrap();
                    let high = tally.started[i].load(Ordering::SeqCst);
                    assert!(
                        low <= page.total && page.total <= high,
                        "reader {reader}, filter {filter:?}, offset {offset}: total {} \
                         outside [{low} acknowledged before, {high} started]",
                        page.total
                    );
                    let expected_len = page.total.saturating_sub(offset).min(10);
                    assert_eq!(page.data.len() as u64, expected_len, "{filter:?}");
                    checks += 1;
                }
                let low = tally.acked[0].load(Ordering::SeqCst);
                let stats = store.stats().await.unwrap();
                let high = tally.started[0].load(Ordering::SeqCst);
                assert!(
                    low <= stats.total_messages && stats.total_messages <= high,
                    "reader {reader}: stats total {} outside [{low}, {high}]",
                    stats.total_messages
                );
                assert!(stats.senders_count <= SENDERS.len() as u64);
                checks += 1;
                round += 1;
            }
            checks
        }));
    }
    runtime().block_on(async {
        for writer in writers {
            writer.await.unwrap();
        }
        writing.store(false, Ordering::SeqCst);
        let mut checks = 0;
        for reader in readers {
            checks += reader.await.unwrap();
        }
        assert!(checks > 100, "only {checks} reads ran while writing");
    });

    // Settled: every kept total (both stores, and a third with nothing kept) equals a
    // plain count and what was acknowledged.
    let c = open(schema.url());
    let written = (SEEDED + (WRITERS_A + WRITERS_B) * ROWS_PER_WRITER) as u64;
    assert_eq!(tally.acked[0].load(Ordering::SeqCst), written);
    for (i, (filter, condition)) in filters.iter().zip(&conditions).enumerate() {
        let counted = schema.query_i64(&format!("SELECT count(*) FROM messages WHERE {condition}"));
        let acked = tally.acked[i].load(Ordering::SeqCst);
        assert_eq!(
            counted as u64, acked,
            "SQL count vs acknowledged, {filter:?}"
        );
        assert!(
            i == 0 || (acked > 0 && acked < written),
            "{filter:?} selects something, not all"
        );
        for (name, store) in [("a", &a), ("b", &b), ("fresh", &c)] {
            let total = runtime()
                .block_on(store.list(&list_query(filter, 0)))
                .unwrap()
                .total;
            assert_eq!(total, acked, "store {name}, {filter:?}");
        }
    }
    // A deep page (from a kept anchor the second time) is the plain walk's.
    let walked = schema.query_strings(
        "SELECT message_id FROM messages ORDER BY ts::timestamptz, message_id COLLATE \"C\" \
         OFFSET 1000 LIMIT 10",
    );
    assert_eq!(walked.len(), 10);
    for store in [&a, &b, &c] {
        for _ in 0..2 {
            let page = runtime()
                .block_on(store.list(&list_query(&filters[0], 1000)))
                .unwrap();
            let ids: Vec<&str> = page.data.iter().map(|m| m.message_id().as_str()).collect();
            assert_eq!(ids, walked);
            assert_eq!(page.total, written);
        }
    }
    let senders = schema.query_i64("SELECT count(DISTINCT from_msisdn) FROM messages");
    for store in [&a, &b, &c] {
        let stats = runtime().block_on(store.stats()).unwrap();
        assert_eq!(stats.total_messages, written);
        assert_eq!(stats.senders_count, senders as u64);
    }
}
