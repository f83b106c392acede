//! Fresh, isolated PostgreSQL schemas for tests of this crate and of the server (feature
//! `testing`). Each [`TestSchema`] is a new schema in the database that
//! `HOOKLINE_TEST_POSTGRES_URL` names, reached through a URL whose `search_path` puts it
//! first; dropping the guard drops the schema and everything in it.
//!
//! A test that needs PostgreSQL and finds `HOOKLINE_TEST_POSTGRES_URL` unset fails, saying
//! how to start one — unless `HOOKLINE_SKIP_POSTGRES=1`, when [`test_url`] says so and
//! returns `None`.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio_postgres::NoTls;

use crate::schema::quote_ident;

/// The variable naming the test server.
pub const URL_VARIABLE: &str = "HOOKLINE_TEST_POSTGRES_URL";
/// The variable that turns PostgreSQL tests into a printed skip.
pub const SKIP_VARIABLE: &str = "HOOKLINE_SKIP_POSTGRES";

/// The test server's URL; `None` (after printing `SKIPPED`) when `HOOKLINE_SKIP_POSTGRES=1`.
///
/// # Panics
///
/// When neither variable is set: a test must not pass without its database.
pub fn test_url() -> Option<String> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var(SKIP_VARIABLE).as_deref() == Ok("1") => {
            // Straight to stderr, past the test harness's capture, so it is always seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: PostgreSQL tests ({SKIP_VARIABLE}=1 and {URL_VARIABLE} unset)"
            );
            None
        }
        _ => panic!(
            "{URL_VARIABLE} is not set: these tests need a real PostgreSQL. Run them with \
             `bash deploy/tests/with-postgres.sh cargo test …` (starts a throw-away server), \
             set {URL_VARIABLE}=postgres://user:pass@host:port/db, or set {SKIP_VARIABLE}=1 to skip"
        ),
    }
}

/// The variable naming the test server's CA certificate (PEM): the server has TLS with a
/// certificate for `localhost` signed by it (`deploy/tests/with-postgres.sh` sets it).
pub const SSL_ROOT_CERT_VARIABLE: &str = "HOOKLINE_TEST_POSTGRES_SSLROOTCERT";
/// The variable naming the folder of the test server's Unix socket (with-postgres.sh sets it).
pub const SOCKET_VARIABLE: &str = "HOOKLINE_TEST_POSTGRES_SOCKET";

/// The test server's CA file, for the `sslmode` tests; `None` when PostgreSQL tests are
/// skipped or the variable is `skip`.
///
/// # Panics
///
/// When the variable is unset: a TLS test must not pass without a TLS server.
pub fn test_ssl_root_cert() -> Option<String> {
    optional_setting(
        SSL_ROOT_CERT_VARIABLE,
        "the PEM file of the CA that signed the server's certificate for `localhost`",
    )
}

/// The test server's Unix socket folder; `None` when PostgreSQL tests are skipped or the
/// variable is `skip`.
///
/// # Panics
///
/// When the variable is unset.
pub fn test_socket_dir() -> Option<String> {
    optional_setting(
        SOCKET_VARIABLE,
        "the folder holding the server's Unix socket",
    )
}

fn optional_setting(variable: &str, what: &str) -> Option<String> {
    test_url()?;
    match std::env::var(variable) {
        Ok(value) if value == "skip" => {
            let _ = writeln!(std::io::stderr(), "SKIPPED: {variable}=skip");
            None
        }
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => panic!(
            "{variable} is not set: it names {what} (deploy/tests/with-postgres.sh sets it); \
             set it to `skip` to skip the tests that need it"
        ),
    }
}

/// A fresh schema; dropped with the guard.
pub struct TestSchema {
    admin_url: String,
    name: String,
    url: String,
}

impl TestSchema {
    /// Creates a new schema in the database `admin_url` names (and `pg_trgm` in `public`
    /// if it can). Blocks on a private runtime: call it from a plain thread, not a task.
    ///
    /// # Panics
    ///
    /// When the server cannot be reached or refuses: a test fixture failing loudly.
    pub fn create(admin_url: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "t_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        let sql = format!("CREATE SCHEMA {};", quote_ident(&name));
        run(admin_url, &sql);
        // The extension lives in `public`, shared by every test schema; creating it may
        // race with another test process, so a failure here is tolerated.
        let _ = try_run(
            admin_url,
            "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public",
        );
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-c%20search_path%3D{name}%2Cpublic");
        Self {
            admin_url: admin_url.to_owned(),
            name,
            url,
        }
    }

    /// The URL whose `search_path` starts at this schema.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `sql` in this schema (for checks a test makes behind the store's back).
    ///
    /// # Panics
    ///
    /// When the statement fails.
    pub fn query_i64(&self, sql: &str) -> i64 {
        self.query(sql, |row| row.get::<_, i64>(0))
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("{sql}: no row"))
    }

    /// The URL with `query` (`key=value&…`) added to its parameters.
    pub fn url_with(&self, query: &str) -> String {
        format!("{}&{query}", self.url)
    }

    /// Runs `sql` in this schema and returns the first column of every row, as text.
    ///
    /// # Panics
    ///
    /// When the statement fails.
    pub fn query_strings(&self, sql: &str) -> Vec<String> {
        self.query(sql, |row| row.get::<_, String>(0))
    }

    fn query<T: Send + 'static>(&self, sql: &str, read: fn(&tokio_postgres::Row) -> T) -> Vec<T> {
        let url = self.url.clone();
        let sql = sql.to_owned();
        block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, NoTls)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to the test database: {e}"));
            tokio::spawn(connection);
            client
                .query(&sql, &[])
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(read)
                .collect()
        })
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let _ = try_run(
            &self.admin_url,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", quote_ident(&self.name)),
        );
    }
}

fn run(url: &str, sql: &str) {
    if let Err(e) = try_run(url, sql) {
        panic!("{sql}: {e}");
    }
}

fn try_run(url: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
    let url = url.to_owned();
    let sql = sql.to_owned();
    block_on(async move {
        let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
        tokio::spawn(connection);
        client.batch_execute(&sql).await
    })
}

/// Runs `future` on a fresh current-thread runtime (on its own thread, so it works even
/// when called from inside another runtime, e.g. a guard dropped in async code).
fn block_on<F>(future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start a runtime: {e}"))
            .block_on(future)
    })
    .join()
    .unwrap_or_else(|_| panic!("the test database helper panicked"))
}
