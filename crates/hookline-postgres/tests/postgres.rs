//! Checks of the PostgreSQL store's own, beyond the shared conformance suite: the schema
//! its migrations leave, refusing a newer schema, and failures that must be 503s.

use std::time::{Duration, Instant};

use hookline_postgres::testing::{TestSchema, test_url};
use hookline_postgres::{DEFAULT_POOL_SIZE, PostgresConfig, PostgresStore, SCHEMA_VERSION};
use hookline_store::{MessageStore, StoreError};
use hookline_store_conformance::runtime;

fn open(url: &str) -> PostgresStore {
    PostgresStore::open(&PostgresConfig::from_url(url).unwrap()).unwrap()
}

#[test]
fn an_unreachable_server_is_unavailable_and_opening_never_connects() {
    // Port 1 on the loopback: refused at once. Opening succeeds (the pool is lazy).
    let store = open("postgres://hookline@127.0.0.1:1/hookline");
    let started = Instant::now();
    let result = runtime().block_on(store.check_ready());
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn migrations_leave_this_version_with_the_trigram_index_and_run_once() {
    let Some(url) = test_url() else { return };
    let schema = TestSchema::create(&url);
    // Three stores migrating one schema at once: all become ready.
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let store = open(schema.url());
            runtime().spawn(async move { store.check_ready().await })
        })
        .collect();
    for task in tasks {
        runtime().block_on(task).unwrap().unwrap();
    }
    assert_eq!(
        schema.query_i64("SELECT version::bigint FROM hookline_schema_version"),
        i64::from(SCHEMA_VERSION)
    );
    assert_eq!(
        schema.query_i64(
            "SELECT count(*) FROM pg_indexes
             WHERE schemaname = current_schema() AND indexname = 'messages_text_trgm'"
        ),
        1,
        "pg_trgm is available on the test server, so q has its index"
    );
}

#[test]
fn a_schema_newer_than_this_build_is_not_ready() {
    let Some(url) = test_url() else { return };
    let schema = TestSchema::create(&url);
    runtime()
        .block_on(open(schema.url()).check_ready())
        .unwrap();
    schema.query_i64(
        "WITH u AS (UPDATE hookline_schema_version SET version = 99 RETURNING 1) SELECT count(*) FROM u",
    );
    let result = runtime().block_on(open(schema.url()).check_ready());
    assert!(
        matches!(&result, Err(StoreError::NotReady(reason)) if reason.contains("newer")),
        "{result:?}"
    );
}

#[test]
fn credentials_never_show_in_display_or_debug() {
    let config = PostgresConfig::from_url("postgres://user:hunter2@db:5432/hookline").unwrap();
    assert_eq!(config.to_string(), "postgres://user@db:5432/hookline");
    assert!(!format!("{config:?}").contains("hunter2"));
    assert!(PostgresConfig::from_url("postgres://db/x?sslmode=bogus").is_err());
}

#[test]
fn the_pool_size_comes_from_the_url() {
    let size = |url: &str| PostgresConfig::from_url(url).map(|c| c.max_connections);
    assert_eq!(size("postgres://db/x").unwrap(), DEFAULT_POOL_SIZE);
    assert_eq!(size("postgres://db/x?pool_max_size=4").unwrap(), 4);
    assert_eq!(size("host=db pool_max_size=16").unwrap(), 16);
    assert!(size("postgres://db/x?pool_max_size=0").is_err());
}

#[test]
fn every_libpq_sslmode_parses() {
    let mode = |url: &str| PostgresConfig::from_url(url).unwrap().ssl_mode();
    assert_eq!(mode("postgres://db/x"), "prefer");
    for m in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
        assert_eq!(mode(&format!("postgres://db/x?sslmode={m}")), m);
        assert_eq!(mode(&format!("host=db dbname=x sslmode={m}")), m);
    }
    let config = PostgresConfig::from_url("postgres://u:pw@db/x?sslmode=verify-full").unwrap();
    assert!(format!("{config:?}").contains("verify-full"));
    // The root certificate is read when the store is opened: a missing file is an error
    // at start-up, not at the first connection.
    let config = PostgresConfig::from_url(
        "postgres://db/x?sslmode=verify-full&sslrootcert=/nonexistent.pem",
    )
    .unwrap();
    assert!(PostgresStore::open(&config).is_err());
}
