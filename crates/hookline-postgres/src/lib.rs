//! The PostgreSQL backend of hookline: a [`MessageStore`] that any number of stateless
//! replicas share, with the same answers as the reference semantics and SQLite.
//!
//! # Why it looks like this
//!
//! - **An async client and an async pool** (`tokio-postgres` + `deadpool-postgres`): the
//!   server awaits the store from its request handlers, and a request waiting on PostgreSQL
//!   should hold no thread. The synchronous `postgres` crate would need a blocking pool
//!   (`spawn_blocking`) with one parked thread per waiting request; here a wait is a
//!   future. How the store waits stays inside this crate (STYLE.md, habit 12).
//! - **Lazy connections**: [`PostgresStore::open`] only parses and builds the pool; it
//!   never connects. The schema is migrated on first use ([`MessageStore::check_ready`],
//!   which the server calls at start-up and on every readiness probe, or any other call),
//!   and retried on the next call while it fails. So a replica started before its
//!   database runs, answers 503 (`/health/ready`: "database unavailable") and becomes
//!   ready by itself when the database appears; a database restart is a few 503s, then
//!   the pool replaces its dead connections (a closed connection is never handed out
//!   again: recycling checks `is_closed`).
//! - **Every wait is bounded** ([`PostgresConfig`]): connecting (`connect_timeout`,
//!   default 5 s, unless the URL sets one), waiting for a pooled connection (5 s), and
//!   every statement (`statement_timeout`, 5 s, sent as a connection option, so no round
//!   trip). A stuck database turns into [`StoreError::Unavailable`] (503), never a request
//!   held forever.
//!
//! # Exactly once and durable
//!
//! An insert is one statement (so one implicit transaction):
//! `WITH inserted AS (INSERT INTO messages … ON CONFLICT (message_id) DO NOTHING RETURNING
//! from_msisdn) INSERT INTO hookline_senders … SELECT … FROM inserted ON CONFLICT
//! (from_msisdn) DO UPDATE SET messages = messages + 1`. Its row count is 1 when the
//! message was new ([`Inserted::Created`]) and 0 for a duplicate. Two replicas inserting
//! one id at once: the second waits on the first's uncommitted key, then finds the
//! conflict — exactly one `Created`. The call returns after `COMMIT`, which with the
//! default `synchronous_commit = on` has flushed the WAL: the row survives a crash.
//!
//! # Schema (see `schema.rs`)
//!
//! Versioned migrations, a hand-written runner with a `hookline_schema_version` table,
//! each version in one transaction under a `pg_advisory_xact_lock` — see `schema.rs` for
//! why not refinery. Like SQLite, `messages` keeps columns computed in Rust, so ordering
//! and `q` are exactly the reference's:
//! - `ts_key`: [`Instant::sort_key`](hookline_domain::Instant::sort_key) of `ts`, whose
//!   byte order is instant order; every key column is `COLLATE "C"` (byte order);
//! - `text_folded`: [`fold_case`] of `text` (PostgreSQL's
//!   `lower()` depends on the database's locale), matched with `LIKE` on a pattern whose
//!   `%`, `_` and `\` are escaped, so they are literal. The GIN trigram index (`pg_trgm`)
//!   serves that `LIKE` when the extension is there; without it `q` is a scan.
//! - PostgreSQL cannot store U+0000 in `text`, which a `message_id` or `text` may hold:
//!   `codec.rs` escapes it with an injective, order-keeping code (real text is stored
//!   unchanged), and keeps the exact folded bytes for the rare rows that need it.
//!
//! # Reads: one statement, one round trip, one snapshot
//!
//! Every read is one prepared statement (`prepare_cached`: parsed and planned once per
//! pooled connection), sent without `BEGIN`/`COMMIT`: a single statement sees one
//! snapshot even under `READ COMMITTED`, so a list's `total` and its page — computed in
//! one `WITH c AS (total) SELECT … FROM c LEFT JOIN LATERAL (page) …` — always agree, and
//! the page is not read at all when the offset is past the total (a one-time filter).
//! Before this, a list took five to seven round trips (`BEGIN`, a count, the page, each
//! prepared, `COMMIT`) and `/stats` ten.
//!
//! # Statistics without a hot row
//!
//! SQLite keeps one totals row, which is fine with one writer. With many replicas one row
//! updated by every insert would serialise every insert of every replica on its row lock.
//! Here the only kept table is `hookline_senders (from_msisdn, messages)`, upserted in the
//! insert's statement: two inserts contend only when they come from the same sender.
//! `/stats` then reads, in one statement: the total and the sender count as `sum`/`count`
//! over that table (one row per sender), the top ten from its `(messages DESC,
//! from_msisdn)` index, and first/last `ts` as the two ends of the `(ts_key, …)` index.
//! A list's `total` without filter, or with only `from`, comes from the same table.
//!
//! # Kept counts for `since` and `q` (see `counts.rs`)
//!
//! A `total` with `since` or `q` must count matching rows — hundreds of milliseconds at a
//! million rows for a common word or a `since` mid-range. Each process keeps such counts,
//! exactly, without any shared row: every row records the transaction that wrote it
//! (`insert_xid`, schema version 3), and a count is kept together with its statement's
//! snapshot `xmin`, below which no transaction's outcome can change any more. A later read
//! adds only the matching rows written at or above that `xmin` (an index range on
//! `insert_xid`) and moves the entry forward. The first read of a filter in a process pays
//! the full count; inserts pay one more index entry. The unfiltered total and
//! `senders_count` are kept counts too (`hookline_senders.first_xid` for the latter):
//! summing the per-sender rows reads every page of a table every insert updates, which
//! bloats (1,285 pages for 1,000 senders after a million inserts).
//!
//! A deep `offset` (≥ 1,000) starts from a kept *anchor* by the same argument: "`before`
//! matching rows written below `upto` sort before row A" never changes, so a later read
//! adds the visible rows at or above `upto` that sort before A, and walks from A. The
//! anchor sits 32 rows before its offset; when more rows than that were written before
//! it, it is found again with the plain walk.
//!
//! # Invariants
//!
//! - SQL for PostgreSQL lives only in this crate; `tokio_postgres::Error` never crosses
//!   [`MessageStore`]: connection problems, timeouts and resource limits are
//!   `Unavailable`, a missing or newer schema `NotReady`, anything else `Internal`.
//! - Nothing here panics on what the database or a client sends.
//!
//! # TLS (see `tls.rs`)
//!
//! rustls (`tokio-postgres-rustls`, the `ring` provider), with libpq's `sslmode`s:
//! `disable` (plain), `prefer` (the default: TLS if the server offers it, else plain; the
//! certificate is not checked), `require` (TLS or no connection; the certificate is not
//! checked, unless `sslrootcert` is given), `verify-ca` (TLS, certificate signed by a
//! trusted root) and `verify-full` (also issued for the URL's host). `sslrootcert=/path.pem`
//! names the roots; without it Mozilla's roots (built in) are trusted.

mod codec;
mod counts;
mod error;
mod read;
mod schema;
#[cfg(feature = "testing")]
pub mod testing;
mod tls;

use std::fmt;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use hookline_domain::Message;
use hookline_query::{ListQuery, Page, Stats, fold_case};
use hookline_store::{Inserted, MessageStore, StoreError, async_trait};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::OnceCell;
use tokio_postgres::config::Host;

pub use error::PostgresError;
pub use schema::SCHEMA_VERSION;

use crate::codec::{encode, needs_escape};
use crate::counts::CountCache;
use crate::error::{pool_error, store_error};
use crate::tls::TlsSettings;

/// Pooled connections per process unless the URL's `pool_max_size` says otherwise.
pub const DEFAULT_POOL_SIZE: usize = 10;

/// How to open a [`PostgresStore`]: the parsed connection settings and the limits.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    pg: tokio_postgres::Config,
    tls: TlsSettings,
    /// The most connections this process opens.
    pub max_connections: usize,
    /// How long a call waits for a pooled connection (and for a new one to be made).
    pub pool_wait: Duration,
    /// The server-side limit on any one statement.
    pub statement_timeout: Duration,
}

impl PostgresConfig {
    /// Parses a libpq connection URL (`postgres://` or `postgresql://`, including
    /// `?sslmode=`, `sslrootcert=`, `host=/socket/dir`, `options=`) or key=value string,
    /// plus hookline's own `pool_max_size=N` (1 to 1000, taken out before connecting).
    /// Defaults: `sslmode=prefer`, `connect_timeout` 5 s unless set,
    /// [`DEFAULT_POOL_SIZE`] connections, 5 s pool wait and statement timeout. `sslmode` is one of `disable`, `prefer`,
    /// `require`, `verify-ca`, `verify-full` (see the crate docs); the root certificate
    /// file is read by [`PostgresStore::open`].
    ///
    /// # Errors
    ///
    /// [`PostgresError::Url`] when it does not parse (an unknown `sslmode` included),
    /// [`PostgresError::Unsupported`] for a bad `pool_max_size`.
    pub fn from_url(url: &str) -> Result<Self, PostgresError> {
        let (url, extracted) = tls::split(url)?;
        let mut pg: tokio_postgres::Config = url.parse().map_err(PostgresError::Url)?;
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(Duration::from_secs(5));
        }
        if pg.get_application_name().is_none() {
            pg.application_name("hookline");
        }
        Ok(Self {
            pg,
            tls: extracted.tls,
            max_connections: extracted.pool_max_size.unwrap_or(DEFAULT_POOL_SIZE),
            pool_wait: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
        })
    }

    /// The `sslmode` in effect, by its libpq name (`require` with `sslrootcert` is
    /// `verify-ca`).
    pub fn ssl_mode(&self) -> &'static str {
        self.tls.mode_name(self.pg.get_ssl_mode())
    }

    /// The connection settings with the statement timeout added to the session options
    /// (after any the URL gives, so the URL's `options` keep their effect).
    fn connection(&self) -> tokio_postgres::Config {
        let mut pg = self.pg.clone();
        let timeout = format!(
            "-c statement_timeout={}",
            self.statement_timeout.as_millis()
        );
        let options = match self.pg.get_options() {
            Some(given) if !given.trim().is_empty() => format!("{timeout} {given}"),
            _ => timeout,
        };
        pg.options(options);
        pg
    }
}

/// `postgres://user@host:port/dbname`, never the password.
impl fmt::Display for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("postgres://")?;
        if let Some(user) = self.pg.get_user() {
            write!(f, "{user}@")?;
        }
        let hosts: Vec<String> = self
            .pg
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let name = match host {
                    Host::Tcp(name) => name.clone(),
                    Host::Unix(dir) => dir.display().to_string(),
                };
                match self.pg.get_ports().get(i).or(self.pg.get_ports().first()) {
                    Some(port) => format!("{name}:{port}"),
                    None => name,
                }
            })
            .collect();
        write!(
            f,
            "{}/{}",
            hosts.join(","),
            self.pg.get_dbname().unwrap_or("")
        )
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &self.to_string())
            .field("sslmode", &self.ssl_mode())
            .field("password", &"[redacted]")
            .field("max_connections", &self.max_connections)
            .field("pool_wait", &self.pool_wait)
            .field("statement_timeout", &self.statement_timeout)
            .finish()
    }
}

/// The PostgreSQL [`MessageStore`]. Cheap to share behind an `Arc`; see the crate docs.
pub struct PostgresStore {
    pool: Pool,
    migrated: OnceCell<()>,
    counts: CountCache,
}

impl PostgresStore {
    /// Builds the pool. Connects to nothing: the first call that needs the database
    /// connects and migrates. Opening needs no runtime; the calls run on tokio.
    ///
    /// # Errors
    ///
    /// [`PostgresError::Tls`] when `sslrootcert` cannot be read, [`PostgresError::Pool`]
    /// when the pool cannot be built.
    pub fn open(config: &PostgresConfig) -> Result<Self, PostgresError> {
        let tls = tls::connector(&config.tls, config.pg.get_ssl_mode())?;
        let manager = Manager::from_config(
            config.connection(),
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.max_connections.max(1))
            .timeouts(Timeouts {
                wait: Some(config.pool_wait),
                create: Some(config.pool_wait),
                recycle: Some(config.pool_wait),
            })
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| PostgresError::Pool(e.to_string()))?;
        Ok(Self {
            pool,
            migrated: OnceCell::new(),
            counts: CountCache::default(),
        })
    }

    /// Closes the pool: later calls are `Unavailable`, idle connections are closed.
    pub fn close(&self) {
        self.pool.close();
    }

    /// A pooled connection, the schema migrated first if this process has not yet.
    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        if self.migrated.get().is_none() {
            self.migrated
                .get_or_try_init(|| schema::migrate(&mut client))
                .await?;
        }
        Ok(client)
    }
}

const INSERT: &str = "
WITH inserted AS (
    INSERT INTO messages
        (message_id, from_msisdn, to_msisdn, ts, text, created_at, ts_key, text_folded, text_folded_bytes)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (message_id) DO NOTHING
    RETURNING from_msisdn
)
INSERT INTO hookline_senders (from_msisdn, messages)
SELECT from_msisdn, 1 FROM inserted
ON CONFLICT (from_msisdn) DO UPDATE SET messages = hookline_senders.messages + 1";

#[async_trait]
impl MessageStore for PostgresStore {
    async fn insert(&self, message: Message) -> Result<Inserted, StoreError> {
        let created_at = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .map_err(StoreError::internal)?;
        let text = message.text().map(|t| t.as_str());
        let folded = text.map(fold_case);
        let folded_bytes = folded
            .as_deref()
            .filter(|f| needs_escape(f))
            .map(|f| f.as_bytes().to_vec());
        let client = self.client().await?;
        let statement = client.prepare_cached(INSERT).await.map_err(store_error)?;
        let changed = client
            .execute(
                &statement,
                &[
                    &encode(message.message_id().as_str()).as_ref(),
                    &message.from().as_str(),
                    &message.to().as_str(),
                    &message.ts().as_str(),
                    &text.map(encode).as_deref(),
                    &created_at,
                    &message.ts().instant().sort_key(),
                    &folded.as_deref().map(encode).as_deref(),
                    &folded_bytes,
                ],
            )
            .await
            .map_err(store_error)?;
        Ok(if changed == 0 {
            Inserted::Duplicate
        } else {
            Inserted::Created
        })
    }

    async fn list(&self, query: &ListQuery) -> Result<Page<Message>, StoreError> {
        let client = self.client().await?;
        read::list(&client, &self.counts, query).await
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        let client = self.client().await?;
        read::stats(&client, &self.counts).await
    }

    async fn check_ready(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        schema::check_version(&client).await
    }
}
