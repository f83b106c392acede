//! `hookctl copy` from a SQLite file into a fresh PostgreSQL schema
//! (`HOOKLINE_TEST_POSTGRES_URL`): everything arrives once, a second run copies nothing,
//! and a copy resumed with `--after` finishes the job.

use std::process::Command;

use hookline_domain::{Message, MessageId, Msisdn, Text, Timestamp};
use hookline_postgres::testing::{TestSchema, test_url};
use hookline_sqlite::{SqliteConfig, SqliteStore};
use hookline_store::MessageStore;

const ROWS: usize = 250;

fn sqlite_with_rows(path: &std::path::Path) {
    let store = SqliteStore::open(SqliteConfig::file(path)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for i in 0..ROWS {
            let message = Message::new(
                MessageId::parse(&format!("m{i:04}")).unwrap(),
                Msisdn::parse(if i % 3 == 0 { "+1" } else { "+919876543210" }).unwrap(),
                Msisdn::parse("+14155550100").unwrap(),
                Timestamp::parse(&format!("2025-01-15T10:{:02}:{:02}Z", i / 60, i % 60)).unwrap(),
                (i % 5 != 0).then(|| Text::parse(&format!("hello {i} \0 ünïcode")).unwrap()),
            );
            store.insert(message).await.unwrap();
        }
    });
    store.shutdown();
}

fn copy(from: &str, to: &str, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hookctl"))
        .args(["copy", "--quiet", "--from", from, "--to", to])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn copy_from_sqlite_to_postgres_is_complete_idempotent_and_resumable() {
    let Some(url) = test_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    sqlite_with_rows(&db);
    let from = format!("sqlite:///{}", db.display());
    let schema = TestSchema::create(&url);

    let first = copy(&from, schema.url(), &[]);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        stdout.contains(&format!("{ROWS} new, 0 already")),
        "{stdout}"
    );
    assert_eq!(
        schema.query_i64("SELECT count(*) FROM messages"),
        ROWS as i64
    );

    let again = copy(&from, schema.url(), &[]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("0 new, {ROWS} already")),
        "{stdout}"
    );

    // Resume into an empty destination after the first page: the rest arrives,
    // and the count check tells whether the destination is now complete.
    let other = TestSchema::create(&url);
    let page =
        hookline_query::ListQuery::first_page(hookline_query::Filter::default(), 100).unwrap();
    let store = SqliteStore::open(SqliteConfig::file(&db)).unwrap();
    let cursor = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(store.list(&page))
        .unwrap()
        .next_cursor
        .unwrap();
    store.shutdown();
    // Into a destination that lacks the first page, the rest is copied but the count
    // check fails (exit 1): the destination does not hold every source message.
    let resumed = copy(&from, other.url(), &["--after", &cursor]);
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert_eq!(resumed.status.code(), Some(1), "{stdout}");
    assert_eq!(
        other.query_i64("SELECT count(*) FROM messages"),
        (ROWS - 100) as i64
    );
    // Resumed where the first page is already there: complete.
    let resumed = copy(&from, schema.url(), &["--after", &cursor]);
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(resumed.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("copied {} messages", ROWS - 100)),
        "{stdout}"
    );
    eprintln!("hookctl copy: {stdout}");
}

#[test]
fn copy_refuses_an_unknown_scheme_with_exit_2() {
    let out = copy("mysql://x", "postgres://u:hunter2@127.0.0.1:1/x", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"));
}
