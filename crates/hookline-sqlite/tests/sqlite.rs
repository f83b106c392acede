//! Black-box tests of the SQLite store: basic behaviour, migration of an original
//! database, reopening, failure mapping, and a crash test that kills a writing process.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::ops::Deref;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hookline_domain::{Message, MessageId, Msisdn, Text, Timestamp};
use hookline_query::{Cursor, Filter, ListQuery, PageStart};
use hookline_sqlite::{INDEX_SUFFIX, SCHEMA_VERSION, SqliteConfig, SqliteStore};
use hookline_store::{Inserted, MemoryStore, MessageStore, StoreError};
use rusqlite::Connection;

/// A store whose async calls these tests run to completion, one at a time, on the
/// conformance suite's runtime — the same calls the server awaits.
struct Blocking<S>(S);

type Store = Blocking<SqliteStore>;

impl<S> Deref for Blocking<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

impl<S: MessageStore> Blocking<S> {
    fn insert(&self, m: Message) -> Result<Inserted, StoreError> {
        hookline_store_conformance::runtime().block_on(self.0.insert(m))
    }
    fn list(&self, q: &ListQuery) -> Result<hookline_query::Page<Message>, StoreError> {
        hookline_store_conformance::runtime().block_on(self.0.list(q))
    }
    fn stats(&self) -> Result<hookline_query::Stats, StoreError> {
        hookline_store_conformance::runtime().block_on(self.0.stats())
    }
    fn check_ready(&self) -> Result<(), StoreError> {
        hookline_store_conformance::runtime().block_on(self.0.check_ready())
    }
}

fn message(id: &str, from: &str, ts: &str, text: Option<&str>) -> Message {
    Message::new(
        MessageId::parse(id).unwrap(),
        Msisdn::parse(from).unwrap(),
        Msisdn::parse("+14155550100").unwrap(),
        Timestamp::parse(ts).unwrap(),
        text.map(|t| Text::parse(t).unwrap()),
    )
}

fn query(filter: Filter, limit: u32, start: PageStart) -> ListQuery {
    ListQuery::new(filter, limit, start).unwrap()
}

fn all<S: MessageStore>(store: &Blocking<S>, filter: Filter) -> (Vec<String>, u64) {
    let page = store
        .list(&query(filter, 100, PageStart::Offset(0)))
        .unwrap();
    (
        page.data
            .iter()
            .map(|m| m.message_id().to_string())
            .collect(),
        page.total,
    )
}

/// The schema version recorded in a database file.
fn user_version(conn: &Connection) -> i64 {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// A store whose indexer runs only once `batch` rows wait (never after a pause), so a test
/// knows which rows are indexed.
fn open_batched(path: &Path, batch: usize) -> Store {
    Blocking(
        SqliteStore::open(SqliteConfig {
            index_batch: batch,
            index_idle: Duration::from_secs(3600),
            ..SqliteConfig::file(path)
        })
        .unwrap(),
    )
}

fn open_file(path: &Path) -> Store {
    Blocking(SqliteStore::open(SqliteConfig::file(path)).unwrap())
}

#[test]
fn inserts_lists_and_counts_in_instant_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_file(&dir.path().join("nested/dirs/app.db"));
    store.check_ready().unwrap();
    let rows = [
        message("b", "+1", "2025-01-15T10:00:00.5Z", Some("Élan vital")),
        message("a", "+1", "2025-01-15T10:00:00Z", Some("hello 100%")),
        message("c", "+2", "2025-01-15T09:00:00Z", None),
        message("d", "+2", "2025-01-16T09:00:00Z", Some("x_y")),
    ];
    for m in rows.iter().cloned() {
        assert_eq!(store.insert(m).unwrap(), Inserted::Created);
    }
    assert_eq!(store.insert(rows[0].clone()).unwrap(), Inserted::Duplicate);

    assert_eq!(
        all(&store, Filter::default()),
        (vec!["c".into(), "a".into(), "b".into(), "d".into()], 4)
    );
    let from = Filter {
        from: Some("+1".into()),
        ..Filter::default()
    };
    assert_eq!(all(&store, from), (vec!["a".into(), "b".into()], 2));
    let since = Filter {
        since: Some(
            hookline_domain::Instant::parse_rfc3339("2025-01-15T15:30:00.1+05:30").unwrap(),
        ),
        ..Filter::default()
    };
    assert_eq!(all(&store, since), (vec!["b".into(), "d".into()], 2));
    let q = Filter {
        q: Some("élan".into()),
        ..Filter::default()
    };
    assert_eq!(all(&store, q), (vec!["b".into()], 1));
    let percent = Filter {
        q: Some("%".into()),
        ..Filter::default()
    };
    assert_eq!(all(&store, percent), (vec!["a".into()], 1));

    let stats = store.stats().unwrap();
    assert_eq!(stats.total_messages, 4);
    assert_eq!(stats.senders_count, 2);
    assert_eq!(
        stats.first_message_ts.as_deref(),
        Some("2025-01-15T09:00:00Z")
    );
    assert_eq!(
        stats.last_message_ts.as_deref(),
        Some("2025-01-16T09:00:00Z")
    );

    // Offsets and cursors walk the same order.
    let first = store
        .list(&query(Filter::default(), 2, PageStart::Offset(0)))
        .unwrap();
    assert_eq!(first.data.len(), 2);
    let cursor = Cursor::decode(first.next_cursor.as_deref().unwrap()).unwrap();
    let second = store
        .list(&query(Filter::default(), 2, PageStart::After(cursor)))
        .unwrap();
    let by_offset = store
        .list(&query(Filter::default(), 2, PageStart::Offset(2)))
        .unwrap();
    assert_eq!(second.data, by_offset.data);
    assert_eq!(second.next_cursor, None);
    let past = store
        .list(&query(Filter::default(), 2, PageStart::Offset(9)))
        .unwrap();
    assert!(past.data.is_empty());
    assert_eq!(past.total, 4);
}

/// Rows in three days × three hours × seven minutes × three seconds, in list order.
fn bucketed_rows() -> Vec<Message> {
    let mut rows = Vec::new();
    for day in 1..=3 {
        for hour in [0, 5, 23] {
            for minute in 0..7 {
                for second in [0, 20, 40] {
                    let id = format!("m{day}{hour:02}{minute:02}{second:02}");
                    let ts = format!("2025-03-{day:02}T{hour:02}:{minute:02}:{second:02}Z");
                    rows.push(message(&id, "+1", &ts, None));
                }
            }
        }
    }
    rows
}

/// Every offset, from the start and from a `since` inside a minute, lands on the right
/// row: whole days, hours and minutes are skipped with the bucket counts and the rest in
/// the index.
fn check_deep_offsets(store: &Store, rows: &[Message]) {
    let expected: Vec<String> = rows.iter().map(|m| m.message_id().to_string()).collect();
    let since_key = hookline_domain::Instant::parse_rfc3339("2025-03-01T05:03:20Z").unwrap();
    for since in [None, Some(since_key)] {
        let filter = Filter {
            since,
            ..Filter::default()
        };
        // Day 1's hour 0 (21 rows), hour 5's minutes 0–2 (9) and 05:03:00 (1).
        let skip = if since.is_some() { 21 + 9 + 1 } else { 0 };
        for offset in 0..=expected.len() as u64 {
            let q = query(filter.clone(), 3, PageStart::Offset(offset));
            let page = store.list(&q).unwrap();
            let ids: Vec<String> = page
                .data
                .iter()
                .map(|m| m.message_id().to_string())
                .collect();
            let want: Vec<String> = expected
                .iter()
                .skip(skip + offset as usize)
                .take(3)
                .cloned()
                .collect();
            assert_eq!(ids, want, "offset {offset} since {since:?}");
            assert_eq!(page.total as usize, expected.len() - skip);
        }
    }
}

/// `(minute, rows)` pairs in minute order.
type Buckets = Vec<(String, i64)>;

/// The minute buckets as kept, and as counted from the rows.
fn minute_buckets(path: &Path) -> (Buckets, Buckets) {
    let conn = Connection::open(path).unwrap();
    let read = |sql: &str| -> Buckets {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    (
        read("SELECT minute, messages FROM hookline_minutes ORDER BY minute"),
        read("SELECT substr(ts_key, 1, 16), count(*) FROM messages GROUP BY 1 ORDER BY 1"),
    )
}

#[test]
fn deep_offsets_skip_by_day_hour_and_minute_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let store = open_file(&path);
    let rows = bucketed_rows();
    // Groups of 10 split minutes (3 rows each) between commits, so later groups add to
    // buckets earlier ones created.
    for chunk in rows.chunks(10) {
        store.insert_many(chunk.to_vec()).unwrap();
    }
    let (kept, counted) = minute_buckets(&path);
    assert_eq!(kept.len(), 3 * 3 * 7);
    assert_eq!(kept, counted);
    check_deep_offsets(&store, &rows);
}

/// The bundled SQLite is built with the options in `.cargo/config.toml`: page caches of
/// their own per connection rather than one group behind a process-wide mutex, and no
/// allocation statistics (another global mutex).
#[test]
fn sqlite_is_built_without_process_wide_cache_and_memory_locks() {
    let conn = Connection::open_in_memory().unwrap();
    let used = |option: &str| -> i64 {
        conn.query_row("SELECT sqlite_compileoption_used(?1)", [option], |r| {
            r.get(0)
        })
        .unwrap()
    };
    assert_eq!(used("ENABLE_MEMORY_MANAGEMENT"), 0);
    assert_eq!(used("DEFAULT_MEMSTATUS=0"), 1);
}

#[test]
fn a_version_4_database_gets_minute_buckets_from_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let rows = bucketed_rows();
    {
        let store = open_file(&path);
        store.insert_many(rows.clone()).unwrap();
    }
    // Version 4 had no minute buckets; a table found at that version anyway (left by a
    // development build, say) holds counts nobody kept, and is rebuilt from the rows.
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "DELETE FROM hookline_minutes WHERE minute >= '2025-03-02';
             UPDATE hookline_minutes SET messages = 99;
             PRAGMA user_version = 4;",
        )
        .unwrap();
    let store = open_file(&path);
    store.check_ready().unwrap();
    let (kept, counted) = minute_buckets(&path);
    assert_eq!(kept.len(), 3 * 3 * 7);
    assert_eq!(kept, counted);
    check_deep_offsets(&store, &rows);
}

/// The schema of the original FastAPI service, and rows it wrote.
fn write_original_database(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE messages (message_id TEXT PRIMARY KEY, from_msisdn TEXT NOT NULL,
             to_msisdn TEXT NOT NULL, ts TEXT NOT NULL, text TEXT, created_at TEXT NOT NULL);
         INSERT INTO messages VALUES
             ('m1', '+919876543210', '+14155550100', '2025-01-15T10:00:00Z', 'Hello', '2025-01-15T10:00:01Z'),
             ('m2', '+919876543210', '+14155550100', '2025-01-15T09:00:00.25Z', 'ÉLAN', '2025-01-15T10:00:02Z'),
             ('m3', '+14155550111', '+14155550100', '2025-01-14T08:00:00Z', NULL, '2025-01-15T10:00:03Z');",
    )
    .unwrap();
}

#[test]
fn an_original_database_is_migrated_in_place_keeping_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    write_original_database(&path);

    let store = open_file(&path);
    store.check_ready().unwrap();
    assert_eq!(
        all(&store, Filter::default()),
        (vec!["m3".into(), "m2".into(), "m1".into()], 3)
    );
    let q = Filter {
        q: Some("élan".into()),
        ..Filter::default()
    };
    assert_eq!(all(&store, q), (vec!["m2".into()], 1));
    let stats = store.stats().unwrap();
    assert_eq!(stats.total_messages, 3);
    assert_eq!(stats.senders_count, 2);
    assert_eq!(stats.messages_per_sender[0].from, "+919876543210");
    assert_eq!(stats.messages_per_sender[0].count, 2);
    assert_eq!(
        stats.first_message_ts.as_deref(),
        Some("2025-01-14T08:00:00Z")
    );
    assert_eq!(
        stats.last_message_ts.as_deref(),
        Some("2025-01-15T10:00:00Z")
    );
    // New rows join the migrated ones.
    assert_eq!(
        store
            .insert(message("m1", "+1", "2026-01-01T00:00:00Z", None))
            .unwrap(),
        Inserted::Duplicate
    );
    assert_eq!(
        store
            .insert(message("m4", "+1", "2026-01-01T00:00:00Z", None))
            .unwrap(),
        Inserted::Created
    );
    drop(store);

    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), SCHEMA_VERSION);
    let created: String = conn
        .query_row(
            "SELECT created_at FROM messages WHERE message_id = 'm1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(created, "2025-01-15T10:00:01Z");
}

/// Regression: schema version 2 ran `ANALYZE` on the empty new database, and the stale
/// "two rows" estimate made FTS5's segment-trimming `DELETE … WHERE id>=? AND id<=?` a
/// full scan of the index (1–2 s per commit at a million rows).
#[test]
fn a_version_2_database_loses_its_stale_planner_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    drop(open_file(&path));
    {
        // What version 2 left behind.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("ANALYZE; PRAGMA user_version = 2;")
            .unwrap();
        conn.execute(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('messages_fts_data', NULL, '2')",
            [],
        )
        .unwrap();
    }
    let store = open_file(&path);
    store
        .insert(message("m1", "+1", "2025-01-15T10:00:00Z", Some("hello")))
        .unwrap();
    store.check_ready().unwrap();
    drop(store);

    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), SCHEMA_VERSION);
    let stats: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_stat1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stats, 0);
    drop(conn);
    assert_eq!(all(&open_file(&path), Filter::default()).1, 1);
    // The trigram index lives in the index file, which never had statistics.
    let plan: String = index_file(&path)
        .query_row(
            "EXPLAIN QUERY PLAN DELETE FROM messages_fts_data WHERE id >= ?1 AND id <= ?2",
            [1, 2],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.starts_with("SEARCH"), "{plan}");
}

#[test]
fn reopening_is_idempotent_and_keeps_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    {
        let store = open_file(&path);
        store
            .insert(message("m1", "+1", "2025-01-15T10:00:00Z", Some("hi")))
            .unwrap();
    }
    for _ in 0..2 {
        let store = open_file(&path);
        assert_eq!(all(&store, Filter::default()), (vec!["m1".into()], 1));
        assert_eq!(store.stats().unwrap().total_messages, 1);
    }
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), SCHEMA_VERSION);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let err = SqliteStore::open(SqliteConfig::file(&path)).unwrap_err();
    assert!(err.to_string().contains("99"), "{err}");
}

#[test]
fn a_path_that_cannot_be_created_fails_to_open_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "not a database\n".repeat(200)).unwrap();
    let err = SqliteStore::open(SqliteConfig::file(file.join("sub/app.db"))).unwrap_err();
    assert!(err.to_string().contains("plain-file"), "{err}");
    let err = SqliteStore::open(SqliteConfig::file(&file)).unwrap_err();
    assert!(err.to_string().contains("plain-file"), "{err}");
}

#[test]
fn a_database_locked_past_the_timeout_is_unavailable_and_not_ready_until_writes_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let store = Blocking(
        SqliteStore::open(SqliteConfig {
            busy_timeout: Duration::from_millis(100),
            ..SqliteConfig::file(&path)
        })
        .unwrap(),
    );
    store.check_ready().unwrap();
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = store
        .insert(message("m1", "+1", "2025-01-15T10:00:00Z", None))
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    // Reads still work, but readiness must not claim the store can take messages: it
    // probes with a write, which the lock blocks too.
    assert!(store.stats().is_ok());
    let ready = store.check_ready();
    assert!(
        matches!(ready, Err(StoreError::Unavailable(_))),
        "{ready:?}"
    );
    other.execute_batch("ROLLBACK").unwrap();
    // Readiness recovers on its own probe, before any message is sent again…
    store.check_ready().unwrap();
    // …and so does the writer.
    assert_eq!(
        store
            .insert(message("m1", "+1", "2025-01-15T10:00:00Z", None))
            .unwrap(),
        Inserted::Created
    );
}

#[test]
fn calls_after_shutdown_are_unavailable() {
    let store = Blocking(SqliteStore::open(SqliteConfig::default()).unwrap());
    store
        .insert(message("m1", "+1", "2025-01-15T10:00:00Z", None))
        .unwrap();
    store.shutdown();
    store.shutdown();
    let insert = store.insert(message("m2", "+1", "2025-01-15T10:00:00Z", None));
    assert!(
        matches!(insert, Err(StoreError::Unavailable(_))),
        "{insert:?}"
    );
    assert!(matches!(store.stats(), Err(StoreError::Unavailable(_))));
    assert!(matches!(
        store.check_ready(),
        Err(StoreError::Unavailable(_))
    ));
    let list = store.list(&query(Filter::default(), 10, PageStart::Offset(0)));
    assert!(matches!(list, Err(StoreError::Unavailable(_))));
}

#[test]
fn shutdown_commits_everything_already_queued() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let store = Arc::new(open_file(&path));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for i in 0..200 {
                    let id = format!("t{t}-{i}");
                    if store
                        .insert(message(&id, "+1", "2025-01-15T10:00:00Z", None))
                        .is_ok()
                    {
                        acked.push(id);
                    }
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    store.shutdown();
    let acked: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    drop(store);
    let conn = Connection::open(&path).unwrap();
    for id in &acked {
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM messages WHERE message_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "{id}");
    }
}

/// Set by [`acknowledged_inserts_survive_sigkill`] on the copy of this test binary it
/// starts and kills: the database that copy inserts into.
const CRASH_DB: &str = "HOOKLINE_CRASH_DB";

/// The killed side of the crash test: inserts from many threads until the process is
/// killed, printing each id once its insert returned `Ok`. It never returns, so it cannot
/// pass; it is not a test of its own, only what the test's re-executed copy runs.
fn insert_until_killed(path: &Path) -> ! {
    // The indexer runs whenever it is nudged, so it is catching up most of the time and
    // the kill often lands inside one of its transactions.
    let store = Arc::new(Blocking(
        SqliteStore::open(SqliteConfig {
            index_batch: 1,
            index_idle: Duration::ZERO,
            ..SqliteConfig::file(path)
        })
        .unwrap(),
    ));
    let threads: Vec<_> = (0..32)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0.. {
                    let id = format!("p{}-t{t}-{i}", std::process::id());
                    let from = format!("+1{}", t % 7);
                    let m = message(&id, &from, "2025-01-15T10:00:00Z", Some("crash test"));
                    if store.insert(m).is_ok() {
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(out, "ACK {id}");
                        let _ = out.flush();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    panic!("the inserting threads stopped before the process was killed");
}

/// Checks the index file of the database at `path` against its rows: the file is intact,
/// and the rows with a rowid up to its watermark — and no others — are in both list
/// tables (with their keys) and in the trigram index (every text the crash test writes
/// contains `ash tes`). Returns how many rows that is.
fn check_index_file(path: &Path) -> u64 {
    let conn = index_file(path);
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok", "index file");
    conn.execute("ATTACH DATABASE ?1 AS data", [path.to_str().unwrap()])
        .unwrap();
    let one = |sql: &str| -> u64 {
        let n: i64 = conn.query_row(sql, [], |r| r.get(0)).unwrap();
        u64::try_from(n).unwrap()
    };
    let upto = "(SELECT upto FROM hookline_fts_watermark)";
    let rows = one(&format!(
        "SELECT count(*) FROM data.messages WHERE rowid <= {upto}"
    ));
    for (table, keys) in [
        (
            "hookline_by_ts",
            "x.ts_key = m.ts_key AND x.message_id = m.message_id",
        ),
        (
            "hookline_by_from",
            "x.from_msisdn = m.from_msisdn AND x.ts_key = m.ts_key AND x.message_id = m.message_id",
        ),
    ] {
        assert_eq!(
            one(&format!("SELECT count(*) FROM {table}")),
            rows,
            "{table}"
        );
        assert_eq!(
            one(&format!(
                "SELECT count(DISTINCT x.rid) FROM {table} AS x
                 JOIN data.messages AS m ON m.rowid = x.rid AND {keys}
                 WHERE x.rid <= {upto}"
            )),
            rows,
            "{table}: every entry is a row up to the watermark, with its keys"
        );
    }
    let with_text = one(&format!(
        "SELECT count(*) FROM data.messages WHERE rowid <= {upto} AND text IS NOT NULL"
    ));
    let in_fts = one("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '\"ash tes\"'");
    assert_eq!(in_fts, with_text, "trigram index");
    let in_grams = one(&format!(
        "SELECT count(*) FROM messages_grams WHERE messages_grams MATCH '{}'",
        gram_token("ash tes")
    ));
    assert_eq!(in_grams, with_text, "word-boundary gram index");
    rows
}

/// The token `messages_grams` indexes a word-boundary gram as: `g` and the gram's 64-bit
/// FNV-1a hash in hexadecimal (written out here again, so a change to the stored format
/// fails these tests).
fn gram_token(gram: &str) -> String {
    let hash = gram.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("g{hash:016x}")
}

/// A pseudo-random number from the clock, enough to vary the kill moment.
fn jitter(bound: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    u64::from(nanos) % bound
}

/// Runs this same test in a copy of the test binary (`--exact`, with [`CRASH_DB`] set),
/// which becomes [`insert_until_killed`]; SIGKILLs it at a random moment; checks that every
/// acknowledged id is on disk and the file is intact. Five rounds on one file.
#[test]
fn acknowledged_inserts_survive_sigkill() {
    if let Some(path) = std::env::var_os(CRASH_DB) {
        insert_until_killed(Path::new(&path));
    }
    const ROUNDS: usize = 5;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut checked = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "acknowledged_inserts_survive_sigkill",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_DB, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("ACK ").map(str::to_owned))
                .collect::<Vec<String>>()
        });
        std::thread::sleep(Duration::from_millis(300 + jitter(900)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let acked = reader.join().unwrap();
        assert!(
            !acked.is_empty(),
            "round {round}: the killed copy acknowledged nothing"
        );

        let conn = Connection::open(&path).unwrap();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok", "round {round}");
        let mut stmt = conn.prepare("SELECT message_id FROM messages").unwrap();
        let stored: HashSet<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let missing: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
        assert!(
            missing.is_empty(),
            "round {round}: {} acknowledged ids lost, e.g. {:?}",
            missing.len(),
            missing.first()
        );
        drop(stmt);
        drop(conn);
        // The index file as the kill left it: intact, and exactly the rows up to its
        // watermark in every index.
        let indexed = check_index_file(&path);

        // The kept statistics agree with the rows after recovery, and every row is listed.
        let store = open_file(&path);
        assert_eq!(store.stats().unwrap().total_messages, stored.len() as u64);
        let listed = store
            .list(&query(Filter::default(), 100, PageStart::Offset(0)))
            .unwrap();
        assert_eq!(listed.total, stored.len() as u64, "round {round}");
        let mut seen = HashSet::new();
        let mut page = listed;
        loop {
            seen.extend(page.data.iter().map(|m| m.message_id().to_string()));
            let Some(cursor) = page.next_cursor.clone() else {
                break;
            };
            let next = Cursor::decode(&cursor).unwrap();
            page = store
                .list(&query(Filter::default(), 100, PageStart::After(next)))
                .unwrap();
        }
        assert_eq!(
            seen, stored,
            "round {round}: every row listed once after restart"
        );
        drop(store);
        check_index_file(&path);
        println!(
            "crash round {round}: {} acknowledged ids checked, {} rows stored, {} of them \
             in the index file at the kill ({} in the tail)",
            acked.len(),
            stored.len(),
            indexed,
            stored.len() as u64 - indexed
        );
        checked += acked.len();
    }
    println!("crash test: {ROUNDS} rounds, {checked} acknowledged ids checked, none lost");
}

#[test]
fn every_query_strategy_agrees_with_the_reference() {
    // Rare and common needles, since and cursors, so both the trigram path and the
    // index walk are taken, and both bucket-skipping and plain offsets.
    let store = Blocking(SqliteStore::open(SqliteConfig::default()).unwrap());
    let mut messages = Vec::new();
    for i in 0..600_u32 {
        let text = match i % 10 {
            0 => None,
            1 if i % 70 == 1 => Some(format!("rare KUMQUAT {i} \"quoted\" 100%_")),
            _ => Some(format!("common Élan word {i}")),
        };
        let ts = format!(
            "2025-0{}-{:02}T{:02}:{:02}:00.{}Z",
            1 + i % 3,
            1 + i % 28,
            i % 24,
            i % 60,
            i % 7
        );
        messages.push(message(
            &format!("id{:04}", (i * 7919) % 600),
            &format!("+{}", i % 5),
            &ts,
            text.as_deref(),
        ));
    }
    store.insert_many(messages.clone()).unwrap();
    let since = hookline_domain::Instant::parse_rfc3339("2025-02-10T05:00:00Z").unwrap();
    let mut filters = Vec::new();
    for q in [
        None,
        Some("kumquat"),
        Some("élan"),
        Some("\"quoted\""),
        Some("0%_"),
        Some("%"),
        Some("zz"),
    ] {
        for since in [None, Some(since)] {
            for from in [None, Some("+1")] {
                filters.push(Filter {
                    from: from.map(str::to_owned),
                    since,
                    q: q.map(str::to_owned),
                });
            }
        }
    }
    for filter in filters {
        for (limit, offset) in [(1, 0), (7, 3), (50, 40), (100, 0), (10, 599)] {
            let q = query(filter.clone(), limit, PageStart::Offset(offset));
            let want = hookline_query::reference::list(&messages, &q);
            let got = store.list(&q).unwrap();
            assert_eq!(got, want, "{filter:?} limit {limit} offset {offset}");
            if let Some(next) = &got.next_cursor {
                let q = query(
                    filter.clone(),
                    limit,
                    PageStart::After(Cursor::decode(next).unwrap()),
                );
                assert_eq!(
                    store.list(&q).unwrap(),
                    hookline_query::reference::list(&messages, &q),
                    "{filter:?} after {next}"
                );
            }
        }
    }
}

/// The rows of `ids`-style queries answered by both stores, compared page by page.
fn same_q_answers(store: &Store, reference: &Blocking<MemoryStore>) {
    same_answers_for(
        store,
        reference,
        &[
            "kumquat", "KUMQ", "élan", "qu", "zzz-none", "t 1", "ÉLAN VI",
        ],
    );
}

/// [`same_q_answers`] for the given needles.
fn same_answers_for(store: &Store, reference: &Blocking<MemoryStore>, needles: &[&str]) {
    let froms = [None, Some("+15550000003")];
    let sinces = [None, Some("2025-03-01T00:00:00Z")];
    for &needle in needles {
        for from in froms {
            for since in sinces {
                let filter = Filter {
                    from: from.map(str::to_owned),
                    since: since.map(|s| Timestamp::parse(s).unwrap().instant()),
                    q: Some(needle.to_owned()),
                };
                for (limit, offset) in [(50, 0), (7, 3), (100, 120), (10, 990)] {
                    let q = query(filter.clone(), limit, PageStart::Offset(offset));
                    let got = store.list(&q).unwrap();
                    let want = reference.list(&q).unwrap();
                    let ids = |p: &hookline_query::Page<Message>| {
                        p.data
                            .iter()
                            .map(|m| m.message_id().to_string())
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(
                        ids(&got),
                        ids(&want),
                        "{needle:?} {from:?} {since:?} {offset}"
                    );
                    assert_eq!(got.total, want.total, "{needle:?} {from:?} {since:?}");
                    assert_eq!(got.next_cursor, want.next_cursor, "{needle:?}");
                    if let Some(cursor) = &got.next_cursor {
                        let c = Cursor::decode(cursor).unwrap();
                        let next = query(filter.clone(), limit, PageStart::After(c));
                        assert_eq!(
                            ids(&store.list(&next).unwrap()),
                            ids(&reference.list(&next).unwrap()),
                            "{needle:?} after a cursor"
                        );
                    }
                }
            }
        }
    }
}

fn watermark(path: &Path) -> (i64, i64) {
    let conn = index_file(path);
    conn.execute("ATTACH DATABASE ?1 AS data", [path.to_str().unwrap()])
        .unwrap();
    conn.query_row(
        "SELECT upto, (SELECT max(rowid) FROM data.messages) FROM hookline_fts_watermark",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

/// The index file of the database at `path`.
fn index_file(path: &Path) -> Connection {
    let mut name = path.as_os_str().to_owned();
    name.push(INDEX_SUFFIX);
    Connection::open(name).unwrap()
}

/// The watermark once it equals `want`, or after 10 s whatever it is then.
fn wait_for_watermark(path: &Path, want: (i64, i64)) -> (i64, i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = watermark(path);
        if now == want || std::time::Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The store's index backlog once it equals `want`, or after 10 s whatever it is then
/// (the indexer commits the watermark, then tells the tail).
fn wait_for_backlog(store: &SqliteStore, want: u64) -> u64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = store.index_backlog();
        if now == want || std::time::Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Inserts messages `numbered(from)` up to `numbered(from + n - 1)` into both stores in
/// one group; returns the next number.
fn insert_numbered(
    store: &Store,
    reference: &Blocking<MemoryStore>,
    from: usize,
    n: usize,
) -> usize {
    let batch: Vec<Message> = (from..from + n).map(numbered).collect();
    store.insert_many(batch.clone()).unwrap();
    for m in batch {
        reference.insert(m).unwrap();
    }
    from + n
}

fn numbered(n: usize) -> Message {
    let text = match n % 7 {
        0 => None,
        1 => Some(format!("order {n} kumquat")),
        2 => Some(format!("Élan vital {n}")),
        3 => Some(format!("quick test {n}")),
        _ => Some(format!("text {n}")),
    };
    numbered_with(n as u64, text.as_deref())
}

/// Message `n` of the numbered series (id, one of five senders, a `ts` spread over 2025)
/// with `text`.
fn numbered_with(n: u64, text: Option<&str>) -> Message {
    message(
        &format!("id{n:05}"),
        &format!("+1555000000{}", n % 5),
        &format!(
            "2025-{:02}-{:02}T{:02}:00:00Z",
            1 + n % 12,
            1 + n % 28,
            n % 24
        ),
        text,
    )
}

/// Two stores on one file (a server and `hookctl` reading it, say) each keep their own
/// tail of unindexed rows: a read still sees the rows the other one wrote, indexed or not.
#[test]
fn a_second_store_on_the_same_file_sees_rows_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let writer = open_batched(&path, 1_000_000);
    let reader = open_batched(&path, 1_000_000);
    let reference = Blocking(MemoryStore::new());
    let next = insert_numbered(&writer, &reference, 0, 40);
    assert_eq!(watermark(&path), (0, 40), "nothing indexed");
    for store in [&writer, &reader] {
        assert_eq!(
            all(store, Filter::default()),
            all(&reference, Filter::default())
        );
        let from = Filter {
            from: Some("+15550000003".to_owned()),
            ..Filter::default()
        };
        assert_eq!(all(store, from.clone()), all(&reference, from));
    }
    insert_numbered(&writer, &reference, next, 25);
    assert_eq!(
        all(&reader, Filter::default()),
        all(&reference, Filter::default())
    );
}

/// Version 4 indexes text in batches: rows above the watermark are not in the trigram
/// index yet and are found by scanning. Every `q` answer must be the reference's with
/// rows on both sides of it.
#[test]
fn q_finds_rows_on_both_sides_of_the_full_text_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let store = open_batched(&path, 2000);
    let reference = Blocking(MemoryStore::new());
    let mut next = 0;
    let mut add = |n: usize| next = insert_numbered(&store, &reference, next, n);
    add(1500);
    assert_eq!(
        watermark(&path),
        (0, 1500),
        "below the batch size: nothing indexed"
    );
    assert_eq!(
        store.index_backlog(),
        1500,
        "the whole group is in the tail"
    );
    same_q_answers(&store, &reference);
    add(600);
    // The indexer runs once the batch size is reached, behind the writer.
    assert_eq!(
        wait_for_watermark(&path, (2100, 2100)),
        (2100, 2100),
        "the backlog was indexed in one batch"
    );
    assert_eq!(
        wait_for_backlog(&store, 0),
        0,
        "the tail empties once indexed"
    );
    same_q_answers(&store, &reference);
    for _ in 0..30 {
        add(25);
    }
    assert_eq!(watermark(&path), (2100, 2850));
    assert_eq!(store.index_backlog(), 750);
    same_q_answers(&store, &reference);
    drop(store);
    // Reopened, the backlog is still matched by scanning.
    let store = open_file(&path);
    same_q_answers(&store, &reference);
}

/// A needle of many common trigrams is asked of the index as candidates from a few of
/// its rarest trigrams, checked exactly (`plan.rs`); a common one as its phrase. Texts
/// from a small vocabulary make every trigram common, as `hookbench seed` does; every
/// answer must be the reference's, on both sides of the watermark.
#[test]
fn phrases_of_common_words_agree_with_the_reference() {
    const WORDS: [&str; 8] = [
        "hello",
        "Order",
        "shipped",
        "réfund",
        "please",
        "call",
        "\"tomorrow\"",
        "50%_off",
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let store = open_batched(&path, 4000);
    let reference = Blocking(MemoryStore::new());
    let mut state = 7_u64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        state >> 33
    };
    let mut batch = Vec::new();
    for n in 0..4_500_u64 {
        let words = 2 + next() % 9;
        let text: Vec<&str> = (0..words)
            .map(|_| WORDS[usize::try_from(next() % 8).unwrap()])
            .collect();
        batch.push(numbered_with(n, Some(&text.join(" "))));
    }
    for (i, chunk) in batch.chunks(500).enumerate() {
        if i == 8 {
            // The first 4,000 are indexed (one batch) before the last 500 come.
            assert_eq!(wait_for_watermark(&path, (4000, 4000)), (4000, 4000));
        }
        store.insert_many(chunk.to_vec()).unwrap();
        for m in chunk {
            reference.insert(m.clone()).unwrap();
        }
    }
    assert_eq!(watermark(&path), (4000, 4500));
    same_answers_for(
        &store,
        &reference,
        &[
            "please call \"tomorrow\" hello",
            "shipped réfund order",
            "d réf",
            "order hello",
            "ALL \"TOMORROW\" 50%_OFF",
            "hello",
            "ell",
            "hello hello hello hello",
            "kumquat order",
        ],
    );
    // Kept matches of rare needles are brought up to date with the rows added since.
    let more: Vec<Message> = (4_500..4_800_u64)
        .map(|n| {
            numbered_with(
                n,
                Some(if n % 3 == 0 {
                    "x please call \"tomorrow\" hello shipped réfund order"
                } else {
                    "order"
                }),
            )
        })
        .collect();
    store.insert_many(more.clone()).unwrap();
    for m in more {
        reference.insert(m).unwrap();
    }
    same_answers_for(
        &store,
        &reference,
        &["please call \"tomorrow\" hello", "shipped réfund order"],
    );
    drop(store);
    // A total not yet kept is counted in the same pass that sorts the page: each query
    // below is the first of a freshly opened store, with an offset or a cursor.
    for needle in ["please call \"tomorrow\" hello", "shipped réfund order"] {
        for since in [None, Some("2025-03-01T00:00:00Z")] {
            let filter = Filter {
                q: Some(needle.to_owned()),
                since: since.map(|s| Timestamp::parse(s).unwrap().instant()),
                ..Filter::default()
            };
            let first = reference
                .list(&query(filter.clone(), 3, PageStart::Offset(2)))
                .unwrap();
            let mut starts = vec![PageStart::Offset(0), PageStart::Offset(2)];
            starts.extend(
                first
                    .next_cursor
                    .as_deref()
                    .map(|c| PageStart::After(Cursor::decode(c).unwrap())),
            );
            for start in starts {
                let store = open_file(&path);
                let q = query(filter.clone(), 3, start);
                assert_eq!(
                    store.list(&q).unwrap(),
                    reference.list(&q).unwrap(),
                    "{needle:?} {since:?}"
                );
            }
        }
    }
}

/// An index file of layout version 1 (before the word-boundary grams) gains the gram
/// index at open, for every row up to its watermark, and is not rebuilt.
#[test]
fn a_version_1_index_file_gains_the_gram_index_in_place() {
    const WORDS: [&str; 5] = ["please", "call", "tomorrow", "Invoice", "réfund"];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let reference = Blocking(MemoryStore::new());
    let rows: Vec<Message> = (0..600_usize)
        .map(|n| {
            let text: Vec<&str> = (0..4)
                .map(|i| WORDS[(n * 7 + i * (n % 3 + 1)) % 5])
                .collect();
            numbered_with(n as u64, Some(&text.join(" ")))
        })
        .collect();
    {
        let store = open_batched(&path, 100);
        store.insert_many(rows.clone()).unwrap();
    }
    for m in &rows {
        reference.insert(m.clone()).unwrap();
    }
    assert_eq!(watermark(&path), (600, 600));
    {
        // What layout 1 was: no `messages_grams`. The mark table is dropped by a rebuild.
        let conn = index_file(&path);
        conn.execute_batch(
            "DROP TABLE messages_grams;
             CREATE TABLE test_mark (x);
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let store = open_batched(&path, 100);
    store.check_ready().unwrap();
    let conn = index_file(&path);
    assert_eq!(user_version(&conn), 2);
    let marked: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'test_mark'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(marked, 1, "the index file was rebuilt, not migrated");
    let with_gram = rows
        .iter()
        .filter(|m| m.text().is_some_and(|t| t.as_str().contains("all tom")))
        .count();
    assert!(with_gram > 0);
    let in_grams: i64 = conn
        .query_row(
            &format!(
                "SELECT count(*) FROM messages_grams WHERE messages_grams MATCH '{}'",
                gram_token("all tom")
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(usize::try_from(in_grams).unwrap(), with_gram);
    same_answers_for(
        &store,
        &reference,
        &[
            "please call tomorrow",
            "all tomorrow invoice",
            "nd please",
            "ll réfund ca",
        ],
    );
}

/// A version 3 database (every row in the trigram index) is migrated in place: the
/// watermark starts at its last row, so no row is found twice or missed.
#[test]
fn a_version_3_database_gets_an_index_file_of_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let reference = Blocking(MemoryStore::new());
    let rows: Vec<Message> = (0..300).map(numbered).collect();
    {
        let store = open_file(&path);
        store.insert_many(rows.clone()).unwrap();
    }
    for m in rows {
        reference.insert(m).unwrap();
    }
    {
        // What version 3 left behind: the list indexes and every text in the trigram
        // index, in the database file; no watermark, no index file.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE INDEX messages_by_ts ON messages (ts_key, message_id);
             CREATE INDEX messages_by_from ON messages (from_msisdn, ts_key, message_id);
             CREATE VIRTUAL TABLE messages_fts USING fts5 (text_folded, content = '',
                 columnsize = 0, detail = full, tokenize = 'trigram case_sensitive 1');
             INSERT INTO messages_fts (rowid, text_folded)
                 SELECT rowid, text_folded FROM messages WHERE text_folded IS NOT NULL;
             PRAGMA user_version = 3;",
        )
        .unwrap();
        let mut index = path.as_os_str().to_owned();
        index.push(INDEX_SUFFIX);
        std::fs::remove_file(index).unwrap();
    }
    // At most 200 rows may wait above the index's watermark: the store indexes the rest
    // before it opens. (The indexer also runs once `max_tail` rows wait, so the 100 rows
    // added below must stay under it to stay in the tail.)
    let store = Blocking(
        SqliteStore::open(SqliteConfig {
            max_tail: 200,
            index_batch: 1000,
            index_idle: Duration::from_secs(3600),
            ..SqliteConfig::file(&path)
        })
        .unwrap(),
    );
    store.check_ready().unwrap();
    // Version 6 moved the indexes out of the database file and built the index file.
    let left: i64 = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sqlite_schema
             WHERE name IN ('messages_by_ts', 'messages_by_from', 'messages_fts',
                            'hookline_fts_watermark')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(watermark(&path), (300, 300));
    same_q_answers(&store, &reference);
    let more: Vec<Message> = (300..400).map(numbered).collect();
    store.insert_many(more.clone()).unwrap();
    for m in more {
        reference.insert(m).unwrap();
    }
    assert_eq!(watermark(&path), (300, 400));
    same_q_answers(&store, &reference);
    drop(store);
    assert_eq!(
        user_version(&Connection::open(&path).unwrap()),
        SCHEMA_VERSION
    );
}
