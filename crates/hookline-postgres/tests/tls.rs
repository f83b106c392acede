//! TLS to PostgreSQL (`sslmode`, `sslrootcert`) and Unix sockets, against the throw-away
//! cluster of `deploy/tests/with-postgres.sh`: TLS on, with a certificate for `localhost`
//! (not 127.0.0.1) signed by the CA in `HOOKLINE_TEST_POSTGRES_SSLROOTCERT`.
//!
//! Whether a connection is encrypted is asked of the server (`pg_stat_ssl`), for the
//! store's own pooled connection, found by a unique `application_name`.

use std::sync::atomic::{AtomicU32, Ordering};

use hookline_postgres::testing::{TestSchema, test_socket_dir, test_ssl_root_cert, test_url};
use hookline_postgres::{PostgresConfig, PostgresStore};
use hookline_store::{MessageStore, StoreError};
use hookline_store_conformance::{message, runtime};

/// A name no other test's connections use.
fn application_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "hookline-tls-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Opens a store on `url` (plus a unique application name), makes it connect, and returns
/// what the server says of the TLS of each of its connections (`pg_stat_ssl.ssl`).
fn connect(schema: &TestSchema, url: &str) -> Result<Vec<bool>, StoreError> {
    let name = application_name();
    let url = format!("{url}&application_name={name}");
    let config = PostgresConfig::from_url(&url).expect("URL parses");
    let store = PostgresStore::open(&config).expect("store opens");
    runtime().block_on(store.check_ready())?;
    // The store's connection is idle in its pool, still open: the server lists it.
    let ssl = schema.query_strings(&format!(
        "SELECT coalesce(string_agg(s.ssl::text, ','), '') FROM pg_stat_activity a \
         JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = '{name}'"
    ));
    drop(store);
    Ok(ssl
        .first()
        .map(|s| {
            s.split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s == "true")
                .collect()
        })
        .unwrap_or_default())
}

/// `url` with its host (127.0.0.1 in with-postgres.sh's URL) replaced by `host`.
fn with_host(url: &str, host: &str) -> String {
    assert!(
        url.contains("@127.0.0.1:"),
        "these tests expect the test URL's host to be 127.0.0.1: {url}"
    );
    url.replacen("@127.0.0.1:", &format!("@{host}:"), 1)
}

/// The test server, or `None` (skipped: already printed).
fn setup() -> Option<(TestSchema, String)> {
    let url = test_url()?;
    let ca = test_ssl_root_cert()?;
    Some((TestSchema::create(&url), ca))
}

#[test]
fn sslmode_require_encrypts_the_connection() {
    let Some((schema, _)) = setup() else { return };
    let ssl = connect(&schema, &schema.url_with("sslmode=require")).unwrap();
    assert_eq!(ssl, [true]);
}

#[test]
fn sslmode_disable_does_not() {
    let Some((schema, _)) = setup() else { return };
    let ssl = connect(&schema, &schema.url_with("sslmode=disable")).unwrap();
    assert_eq!(ssl, [false]);
}

#[test]
fn the_default_prefer_encrypts_when_the_server_offers_tls() {
    let Some((schema, _)) = setup() else { return };
    assert_eq!(
        PostgresConfig::from_url(schema.url()).unwrap().ssl_mode(),
        "prefer"
    );
    let ssl = connect(&schema, &schema.url_with("sslmode=prefer")).unwrap();
    assert_eq!(ssl, [true]);
    let ssl = connect(&schema, schema.url()).unwrap();
    assert_eq!(ssl, [true]);
}

#[test]
fn verify_full_checks_the_chain_and_the_host_name() {
    let Some((schema, ca)) = setup() else { return };
    let verify_full = format!("sslmode=verify-full&sslrootcert={ca}");
    // The certificate is for `localhost`, signed by the test CA.
    let by_name = with_host(&schema.url_with(&verify_full), "localhost");
    assert_eq!(connect(&schema, &by_name).unwrap(), [true]);
    // Not for 127.0.0.1: verify-full refuses, verify-ca (chain only) accepts.
    let by_ip = schema.url_with(&verify_full);
    let refused = connect(&schema, &by_ip);
    assert!(
        matches!(&refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    let verify_ca = schema.url_with(&format!("sslmode=verify-ca&sslrootcert={ca}"));
    assert_eq!(connect(&schema, &verify_ca).unwrap(), [true]);
    // `require` with a root certificate is verify-ca, as in libpq.
    let config =
        PostgresConfig::from_url(&schema.url_with(&format!("sslmode=require&sslrootcert={ca}")))
            .unwrap();
    assert_eq!(config.ssl_mode(), "verify-ca");
}

#[test]
fn verify_modes_refuse_a_certificate_from_an_untrusted_ca() {
    let Some((schema, _)) = setup() else { return };
    // Without sslrootcert the roots are Mozilla's: the test CA is not one of them.
    for mode in ["verify-full", "verify-ca"] {
        let url = with_host(&schema.url_with(&format!("sslmode={mode}")), "localhost");
        let refused = connect(&schema, &url);
        assert!(
            matches!(&refused, Err(StoreError::Unavailable(_))),
            "{mode}: {refused:?}"
        );
    }
}

/// `url` reaching the server through its Unix socket in `dir` (percent-encoded as the host).
fn over_socket(url: &str, dir: &str) -> String {
    with_host(url, &dir.replace('/', "%2F"))
}

#[test]
fn a_unix_socket_url_works_and_is_never_tls() {
    let Some(url) = test_url() else { return };
    let Some(dir) = test_socket_dir() else { return };
    let schema = TestSchema::create(&url);
    let config = PostgresConfig::from_url(&over_socket(schema.url(), &dir)).unwrap();
    assert!(
        config
            .to_string()
            .starts_with(&format!("postgres://postgres@{dir}:"))
    );
    // The default (prefer): the server declines TLS on a socket, so plain.
    assert_eq!(
        connect(&schema, &over_socket(schema.url(), &dir)).unwrap(),
        [false]
    );
    // require never falls back to plain.
    let refused = connect(
        &schema,
        &over_socket(&schema.url_with("sslmode=require"), &dir),
    );
    assert!(
        matches!(&refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
}

#[test]
fn a_store_over_a_unix_socket_reads_and_writes() {
    let Some(url) = test_url() else { return };
    let Some(dir) = test_socket_dir() else { return };
    let schema = TestSchema::create(&url);
    let config = PostgresConfig::from_url(&over_socket(schema.url(), &dir)).unwrap();
    let store = PostgresStore::open(&config).unwrap();
    let message = message("socket-1", "+15550001", "2025-01-15T10:00:00Z", None);
    runtime().block_on(async {
        assert_eq!(
            store.insert(message).await.unwrap(),
            hookline_store::Inserted::Created
        );
        assert_eq!(store.stats().await.unwrap().total_messages, 1);
    });
    assert_eq!(schema.query_i64("SELECT count(*) FROM messages"), 1);
}
