//! The SQLite backend of hookline: a [`MessageStore`] that is durable, exactly-once, and
//! answers every list shape from an index.
//!
//! # Why it looks like this
//!
//! The service promises "stored exactly once, never lost once acknowledged", then fast
//! reads at a million rows. SQLite gives durability with one fsync per commit, so the cost
//! of a durable insert is the commit; hookline therefore commits *groups*.
//!
//! - **One writer thread** owns the only write connection. [`MessageStore::insert`] sends
//!   the message and a `oneshot` reply over a queue and awaits the reply — no thread waits
//!   with it. The writer takes the first
//!   queued job, drains whatever else is already queued (up to
//!   [`SqliteConfig::max_batch`] messages), runs all of it in one `BEGIN IMMEDIATE`
//!   transaction (`INSERT … ON CONFLICT(message_id) DO NOTHING`, `changes()` telling
//!   `Created` from `Duplicate`; of two inserts of one id in a group the first wins),
//!   commits — one fsync for the whole group — and only then answers each caller. If
//!   anything in the group fails (disk full, I/O error) the transaction is rolled back and
//!   every caller of that group gets [`StoreError::Unavailable`]; the writer keeps serving,
//!   so the store recovers by itself when space returns. Under load the queue fills while a
//!   commit is in flight, so group size adapts to the load without any timer.
//! - **A commit writes the row and nothing more** (schema version 6): the row, its
//!   `message_id` key (exactly once) and the kept statistics. The list orders and the
//!   trigram index of `q` live in a second file, `app.db.index` ([`INDEX_SUFFIX`]), which
//!   an indexer thread fills behind a watermark in large sorted batches (`index.rs`).
//!   SQLite allows one writer per file, so those batches never hold up a group commit.
//!   Rows above the watermark — the *tail* — are kept in memory in both list orders
//!   (`tail.rs`) and merged into every read: a read starts its snapshot of the index file,
//!   then of the database, while holding the tail's lock, and uses exactly the tail rows
//!   its database snapshot holds and its index snapshot lacks, so answers are the
//!   reference's at any lag. The tail is bounded: while it holds [`SqliteConfig::max_tail`]
//!   rows (20,000 by default) the next group waits for the indexer, up to the busy
//!   timeout, then fails as `Unavailable` (503). A read merges only the tail rows its page
//!   needs, by their shared keys, with the index's keys as SQLite returns them; at the
//!   bound a list read runs 1.4–2.9× the instructions it runs with an empty tail at 1M rows
//!   (`make bench-tail`, figures in `docs/PERFORMANCE.md`). The index file is derived data
//!   (`synchronous=NORMAL`; a crash loses at most its last batches, indexed again); a
//!   missing one, or one that belongs to another database, is rebuilt from the rows at
//!   open (about 30 s per million rows).
//! - **Durability**: WAL journal, `synchronous=FULL` (the WAL is fsynced on every commit),
//!   so a row is on disk before its caller hears `Ok`. The crash test in
//!   `tests/sqlite.rs` SIGKILLs a writing process and finds every acknowledged id.
//! - **Checkpoints mostly off the commit path**: a checkpointer thread with its own
//!   connection runs `wal_checkpoint(PASSIVE)` every 16 commits (and every 200 ms), so
//!   commits mostly only append to the WAL. The writer keeps `wal_autocheckpoint=4000` as
//!   a backstop: under continuous commits a concurrent checkpoint is never "complete", and
//!   only a checkpoint right after the writer's own commit lets the WAL restart (measured:
//!   without it the WAL grew past 800 MB during the benchmark). On shutdown the writer
//!   stops the checkpointer and runs `wal_checkpoint(TRUNCATE)`. 4000 pages rather than
//!   2000 (schema version 4 work, `docs/PERFORMANCE.md`): a page dirtied by several groups
//!   between two of the writer's checkpoints is copied back once, and at 600k rows the
//!   writer's checkpoints were most of its commit time (×1.12 empty, ×1.21 at 600k rows,
//!   p99 unchanged; 8000 gained a little more but raised p99 by half).
//! - **No planner statistics.** The schema never runs `ANALYZE` (version 3 removes what
//!   version 2 recorded, and the writer's connection is opened after the migration so
//!   no stale estimate survives in it). An `ANALYZE` of the new, empty database told the
//!   planner that `messages_fts_data` had two rows, so FTS5's own range delete at every
//!   incremental segment merge became a full scan of the trigram index: at a million rows
//!   1–1.6 GB read and 1–2 s per commit, every few commits (the "periodic stall").
//! - **Instruments**: every group commit records its duration and size, every passive
//!   checkpoint its duration, as histograms through the `metrics` facade ([`instruments`]);
//!   the server shows them on `/metrics`.
//! - **Readers** come from an r2d2 pool of `query_only` connections. Every list or stats
//!   call runs in one read transaction, so `total` and `data` come from one WAL snapshot.
//!   How a read waits is decided here: a read expected to be cheap (`read::Effort::Bounded`:
//!   no `q`, or a `q` whose total is kept) is answered on the caller's task when a reader is
//!   idle, under a fixed SQLite instruction budget (a progress handler) past which it is
//!   interrupted; anything else — and anything interrupted — runs on tokio's blocking pool
//!   (`spawn_blocking`). Skipping that hand-off measured 15–25% of a cheap read's CPU.
//!   [`SqliteConfig::inline_reads`] turns the cheap path off.
//! - **Runtime**: the crate uses tokio's `oneshot` and `spawn_blocking` but starts no runtime.
//!   Called outside a tokio runtime, a read that needs the blocking pool runs on the caller's
//!   thread instead.
//!
//! # Schema (version 6, see `schema.rs`)
//!
//! `messages` keeps the original services' columns and adds, computed in Rust:
//! - `ts_key`: [`Instant::sort_key`](hookline_domain::Instant::sort_key) of `ts`, a
//!   30-byte text whose byte order is instant order (equal to
//!   [`Cursor::ts_key`](hookline_query::Cursor::ts_key));
//! - `text_folded`: [`fold_case`](hookline_query::fold_case) of `text` (SQLite's `lower()`
//!   is ASCII-only), matched literally (`%` and `_` are ordinary characters).
//!
//! In the index file (`index.rs`): `messages_fts`, a contentless FTS5 table with the
//! `trigram` tokenizer (`case_sensitive 1`, since the text is already folded in Rust;
//! `detail=full`, because a needle is matched as a phrase of consecutive trigrams, which
//! is an exact substring match), whose rowid is the message's rowid; and the two list
//! orders as `WITHOUT ROWID` tables, `hookline_by_ts (ts_key, message_id, rid)` and
//! `hookline_by_from (from_msisdn, ts_key, message_id, rid)`, so a page is a range walk of
//! one of them that reads only the page's rows from `messages` (by rowid), and skipping
//! rows (offset) never touches the table. Since layout version 2 of the index file,
//! `messages_grams` (FTS5, `detail=none`, `ascii` tokenizer) holds each text's
//! word-boundary grams as hashed tokens (`grams.rs`). `hookline_fts_watermark.upto` is the
//! rowid up to which every row is in all of them; a `q` that uses the trigram index adds the rows above
//! it by scanning that rowid range of `messages` with `instr()`, and the list shapes merge
//! the in-memory tail. `text_folded` is stored only where folding changes the text; reads
//! use `coalesce(text_folded, text)`.
//!
//! Statistics are kept incrementally, in the same transaction as the inserts:
//! - `hookline_totals`: one row with the message count, the sender count, and the
//!   first/last `(ts_key, ts)`;
//! - `hookline_senders (from_msisdn, messages)` with an index on `(messages DESC,
//!   from_msisdn)` for the top ten; it is also the `total` of a `from` filter;
//! - `hookline_days`, `hookline_hours` and `hookline_minutes`: row counts per UTC day,
//!   hour and minute of `ts_key` (version 5 added the minutes).
//!
//! # Totals and deep offsets without scans
//!
//! Totals are counted in `totals.rs`, deep offsets are skipped in `buckets.rs`, and the
//! page itself is read in `read.rs`.
//!
//! - no filter: the totals row; `from`: the sender's count;
//! - `since`: rows of `since`'s own minute counted in the `ts_key` order (one minute of
//!   rows at most, index and tail), plus the later minutes of its hour, hours of its day
//!   and the later days from the bucket tables. The cost is bounded by the rows in one minute plus the number of
//!   distinct days after `since`; the trade-off is three extra small upserts per group
//!   (per distinct day, hour and minute in it);
//! - a deep `offset` without `from`/`q` skips whole days, hours and minutes with the same
//!   tables, then at most one minute of index entries and tail rows;
//! - `from` + `since` counts an index range of that sender, plus its tail rows;
//! - any `q`: the exact `total` is kept in memory per filter with the rowid it counted up
//!   to (`counts.rs`), and a later read adds only the matching rows above that rowid —
//!   rows are never updated or deleted and rowids only grow, so the kept count stays exact.
//!   Counting from scratch:
//! - `q` of three characters or more (without `from`): `total` is a count of the trigram
//!   index's matches plus the scanned rows above the watermark (joined to `messages` for
//!   `since`). The index is asked one of two ways (`plan.rs`): the needle's whole phrase
//!   (exact; it reads every trigram's position list), or up to four of its rarest
//!   trigrams as a `NEAR` group as wide as they lie apart in the needle, or up to four of
//!   its word-boundary grams ANDed in `messages_grams` (the seven characters around a
//!   space inside the needle, about as rare as a word pair), whose candidates are each
//!   checked with `instr(text_folded, …)` — so a long needle of common trigrams costs a
//!   few short lists and one rowid lookup per candidate instead of ~30 full lists. Which,
//!   and which trigrams or grams, is
//!   estimated from an in-memory sample of the newest 2,000 texts (retaken as the table
//!   grows by a tenth); the estimate only picks the plan, the answer is exact either way.
//!   The page is either a walk of the order index testing each row with `instr()`, or the
//!   index's matches sorted — whichever is expected to cost less (the plan's estimated
//!   lookups, at least the matches, versus `(offset + limit) × rows / matches`). A
//!   candidates plan whose total is not kept yet (or a phrase plan whose sample expects
//!   at most 10,000 matches) counts and pages in one pass: the
//!   matches' `(ts_key, message_id, rowid)` are collected, counted, sorted in memory, and
//!   only the page's rows are read (`read::matched_once`); up to 10,000 of them are kept
//!   (50,000 over all filters, `counts.rs`) like the counts, so a repeated rare needle
//!   reads only its page and the matching rows added since;
//! - `q` with `from`, or a needle shorter than three characters (no trigram): a scan of
//!   the sender's index range, or of the table, with `instr()`.
//!
//! # In-memory databases
//!
//! [`Location::Memory`] uses SQLite's `memdb` VFS with a unique name per store
//! (`file:/hookline-mem-<pid>-<n>?vfs=memdb`), which every connection of this store shares
//! and nobody else sees. `memdb` has no WAL, so it runs with an in-memory rollback journal:
//! readers and the writer take turns on the file lock, within the busy timeout.
//!
//! # Invariants
//!
//! - SQL lives only in this crate, and `rusqlite::Error` never crosses [`MessageStore`]:
//!   environment errors (full, busy/locked past the timeout, I/O, cannot open, read-only)
//!   are `Unavailable`, schema problems `NotReady`, anything else `Internal`.
//! - A shut-down store, a dead writer thread or a poisoned lock is `Unavailable`, never a
//!   panic.

mod buckets;
mod connection;
mod counts;
mod disk;
mod error;
mod grams;
mod index;
#[cfg(test)]
mod inline_tests;
pub mod instruments;
mod plan;
mod read;
mod schema;
mod snapshot;
mod tail;
mod totals;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use hookline_domain::Message;
use hookline_query::{ListQuery, Page, Stats};
use hookline_store::{Inserted, MessageStore, StoreError, async_trait};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

pub use connection::INDEX_SUFFIX;
pub use disk::{DiskUsage, DiskUsageError, Part, PartKind, disk_usage};
pub use error::SqliteError;
pub use schema::SCHEMA_VERSION;

use crate::connection::Target;
use crate::counts::CountCache;
use crate::error::{BlockingCall, Closed, NoAnswer, store_error};
use crate::plan::SampleCache;
use crate::read::Effort;
use crate::tail::Tail;
use crate::writer::{Job, Outcomes, Reply};

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file; its parent folders are created on open.
    File(PathBuf),
    /// A throw-away database in memory, shared by this store's connections only.
    Memory,
}

/// How to open a [`SqliteStore`].
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// Where the database lives.
    pub location: Location,
    /// How long a statement waits for a lock before the call is `Unavailable`; also how
    /// long a reader waits for a pooled connection.
    pub busy_timeout: Duration,
    /// The most messages the writer commits in one transaction.
    pub max_batch: usize,
    /// Read connections in the pool.
    pub readers: u32,
    /// Whether reads expected to be cheap are answered on the caller's task (when a reader
    /// is idle, under an instruction budget) before falling back to the blocking pool.
    /// On by default; off sends every read to the blocking pool.
    pub inline_reads: bool,
    /// The most rows committed but not yet in the index file (the tail, answered from
    /// memory; see the crate docs) before inserts wait for the indexer. Default 20,000.
    pub max_tail: usize,
    /// Rows the indexer lets wait while more keep coming, to index them in one batch.
    /// Default 4,000.
    pub index_batch: usize,
    /// How long the indexer lets fewer than [`index_batch`](Self::index_batch) rows wait.
    /// Default 200 ms.
    pub index_idle: Duration,
}

impl Default for SqliteConfig {
    /// An in-memory database, 5 s busy timeout, groups of up to 256, 4 readers, inline reads.
    fn default() -> Self {
        Self {
            location: Location::Memory,
            busy_timeout: Duration::from_secs(5),
            max_batch: 256,
            readers: 4,
            inline_reads: true,
            max_tail: DEFAULT_MAX_TAIL,
            index_batch: index::MIN_STEP,
            index_idle: index::IDLE_AFTER,
        }
    }
}

/// [`SqliteConfig::max_tail`] by default.
pub const DEFAULT_MAX_TAIL: usize = 20_000;

impl SqliteConfig {
    /// The default configuration for a database file at `path`.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            location: Location::File(path.into()),
            ..Self::default()
        }
    }
}

/// A [`MessageStore`] on SQLite: one writer thread with group commit, a pool of readers.
/// `Send + Sync`; share it with an `Arc`. Dropping it runs [`shutdown`](Self::shutdown).
pub struct SqliteStore {
    inner: Arc<Inner>,
}

/// The store's state, shared with the reads it hands to the blocking pool.
struct Inner {
    name: String,
    jobs: RwLock<Option<Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    indexer: Mutex<Option<JoinHandle<()>>>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    closed: AtomicBool,
    /// Set by the writer while group commits fail; readiness then probes with a real write.
    write_failing: Arc<AtomicBool>,
    /// The folder holding a file database, whose free space readiness checks; `None` for
    /// an in-memory database (no WAL, so its reads may wait for the writer's lock).
    folder: Option<PathBuf>,
    /// Exact totals of `q` filters, kept between reads (see `counts.rs`).
    counts: CountCache,
    /// The sample that plans trigram queries (see `plan.rs`).
    samples: SampleCache,
    /// Rows not in the list indexes yet (see `tail.rs`).
    tail: Arc<Tail>,
    /// [`SqliteConfig::inline_reads`].
    inline_reads: bool,
}

/// Readiness requires this much free space on a file database's filesystem: room for the
/// WAL of the next group commits. A commit writes about 21 KB of WAL per message
/// (`docs/PERFORMANCE.md`): about 1.3 MB for the ~60-message groups that 64 connections
/// produce, more for a group of [`SqliteConfig::max_batch`] (256 by default). Below it the
/// store is not ready even if a small write still fits, because the next group may not.
pub const MIN_FREE_BYTES: u64 = 4 * 1024 * 1024;

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("database", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it if needed) the database, migrates it to [`SCHEMA_VERSION`],
    /// opens the reader pool and starts the writer thread.
    pub fn open(config: SqliteConfig) -> Result<SqliteStore, SqliteError> {
        let target = Target::new(&config.location, config.busy_timeout)?;
        let cannot_open = |cause: rusqlite::Error| SqliteError::CannotOpen {
            path: target.name.clone(),
            cause: Box::new(cause),
        };
        let mut conn = target.open_writer().map_err(cannot_open)?;
        schema::migrate(&mut conn).map_err(|e| match e {
            schema::MigrationError::TooNew(found) => SqliteError::SchemaTooNew {
                path: target.name.clone(),
                found,
                supported: SCHEMA_VERSION,
            },
            schema::MigrationError::Sqlite(e) if error::kind_of(&e) == error::Kind::Unavailable => {
                cannot_open(e)
            }
            other => SqliteError::Migration {
                path: target.name.clone(),
                cause: Box::new(other),
            },
        })?;
        if !target.memory {
            schema::compact_if_mostly_free(&conn).map_err(cannot_open)?;
        }
        // The writer works on a connection opened after the migration, so that nothing the
        // migration connection had loaded (planner statistics removed by version 3, see
        // `schema.rs`) outlives it. The new one opens before the old one closes: a `memdb`
        // database lives only while a connection holds it.
        let migrated = conn;
        let conn = target.open_writer().map_err(cannot_open)?;
        drop(migrated);
        let max_tail = i64::try_from(config.max_tail).unwrap_or(i64::MAX);
        let indexer_conn = target.open_indexer().map_err(cannot_open)?;
        index::open(&indexer_conn, max_tail).map_err(cannot_open)?;
        let tail = Arc::new(Tail::default());
        tail::load(&indexer_conn, &tail).map_err(cannot_open)?;

        let reader_target = target.clone();
        let manager = SqliteConnectionManager::file(&target.uri)
            .with_flags(target.flags())
            .with_init(move |c| reader_target.open_reader(c));
        let readers = r2d2::Pool::builder()
            .max_size(config.readers.max(1))
            .min_idle(Some(1))
            // r2d2 would otherwise run `SELECT 1` (prepared anew) on every checkout: ~3% of
            // a list request's CPU, to test a connection to a local file that a failed
            // statement reports just as well.
            .test_on_check_out(false)
            .connection_timeout(config.busy_timeout.max(Duration::from_millis(100)))
            .build(manager)
            .map_err(|e| SqliteError::CannotOpen {
                path: target.name.clone(),
                cause: Box::new(e),
            })?;

        let checkpointer = target
            .open_checkpointer()
            .map_err(cannot_open)?
            .map(writer::Checkpointer::start)
            .transpose()
            .map_err(|cause| SqliteError::CannotStartWriter { cause })?;
        let (nudge, nudges) = mpsc::sync_channel(1);
        let indexer = index::Indexer {
            conn: indexer_conn,
            nudges,
            tail: Arc::clone(&tail),
            batch: config.index_batch,
            idle: config.index_idle,
            max_tail,
        };
        let indexer = std::thread::Builder::new()
            .name("hookline-index".to_owned())
            .spawn(move || indexer.run())
            .map_err(|cause| SqliteError::CannotStartWriter { cause })?;
        let (jobs, queue) = mpsc::channel();
        let write_failing = Arc::new(AtomicBool::new(false));
        let work = writer::Writer {
            max_batch: config.max_batch,
            max_tail,
            busy_timeout: config.busy_timeout,
            checkpointer,
            write_failing: Arc::clone(&write_failing),
            tail: Arc::clone(&tail),
            indexer: nudge,
        };
        // Thread names stay within Linux's 15 characters, so `top -H` and `perf` tell them apart.
        let writer = std::thread::Builder::new()
            .name("hookline-writer".to_owned())
            .spawn(move || writer::run(conn, queue, work))
            .map_err(|cause| SqliteError::CannotStartWriter { cause })?;

        let folder = match &config.location {
            Location::File(path) => path
                .parent()
                .map(|p| {
                    if p.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        p
                    }
                })
                .map(Path::to_path_buf),
            Location::Memory => None,
        };
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                name: target.name,
                jobs: RwLock::new(Some(jobs)),
                writer: Mutex::new(Some(writer)),
                indexer: Mutex::new(Some(indexer)),
                readers,
                closed: AtomicBool::new(false),
                write_failing,
                folder,
                counts: CountCache::default(),
                samples: SampleCache::default(),
                inline_reads: config.inline_reads,
                tail,
            }),
        })
    }

    /// Stops accepting inserts, lets the writer commit everything already queued, and
    /// waits for it. Later inserts, lists and stats are `Unavailable`. Idempotent; also
    /// run by `Drop`. Blocks while the last group commits.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }

    /// Rows committed but not yet in the index file: the tail that every read merges
    /// from memory. Inserts wait while it holds [`SqliteConfig::max_tail`] rows. For tools
    /// and benchmarks (`hookbench tail` waits on it); it changes as the writer and the
    /// indexer run.
    pub fn index_backlog(&self) -> u64 {
        self.inner.tail.behind()
    }

    /// Inserts many messages through the writer in one group (one transaction, one
    /// fsync), returning each outcome in order. Blocks until the group is durable: it is
    /// meant for seeding and tools that run outside an async runtime; the server inserts
    /// one message per request with [`MessageStore::insert`].
    pub fn insert_many(&self, messages: Vec<Message>) -> Result<Vec<Inserted>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        self.inner.submit(messages)
    }

    /// Runs `call` where blocking is allowed: on the tokio runtime's blocking pool when the
    /// caller is inside one, else on the caller's own thread (a caller outside tokio has
    /// no other thread to offer).
    async fn blocking<T, F>(&self, call: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => match runtime.spawn_blocking(move || call(&inner)).await {
                Ok(answer) => answer,
                Err(e) if e.is_panic() => Err(StoreError::internal(BlockingCall::Panicked)),
                Err(_) => Err(StoreError::unavailable(BlockingCall::Cancelled)),
            },
            Err(_) => call(&inner),
        }
    }
}

impl Inner {
    fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        // Dropping the only sender ends the writer's loop once the queue is drained.
        match self.jobs.write() {
            Ok(mut jobs) => drop(jobs.take()),
            Err(poisoned) => drop(poisoned.into_inner().take()),
        }
        let handle = match self.writer.lock() {
            Ok(mut w) => w.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(handle) = handle {
            let _ = handle.join();
        }
        // The writer is gone, so the indexer has its last rows; it stops once they are in.
        let handle = match self.indexer.lock() {
            Ok(mut w) => w.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    /// Queues a job for the writer and blocks until its group commits. An empty job is a
    /// write probe (see [`writer::Job`]).
    fn submit(&self, messages: Vec<Message>) -> Result<Vec<Inserted>, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.enqueue(Job {
            messages,
            reply: Reply::Blocking(reply),
        })?;
        answer
            .recv()
            .map_err(|_| StoreError::unavailable(Closed::WriterGone))?
    }

    /// Hands a job to the writer, or says why it cannot take it.
    fn enqueue(&self, job: Job) -> Result<(), StoreError> {
        let closed = match self.jobs.read() {
            Err(_) => Closed::Poisoned,
            Ok(jobs) => match jobs.as_ref() {
                Some(sender) => match sender.send(job) {
                    Ok(()) => return Ok(()),
                    Err(_) => Closed::WriterGone,
                },
                None => Closed::ShutDown,
            },
        };
        Err(StoreError::unavailable(closed))
    }

    /// A pooled read connection (waiting up to the busy timeout for one), or `Unavailable`
    /// once shut down.
    fn reader(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>, StoreError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable(Closed::ShutDown));
        }
        self.readers.get().map_err(StoreError::unavailable)
    }

    /// Runs `f` inside one read transaction (one snapshot). Blocks.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.reader()?;
        snapshot::read_on(&conn, f)
    }

    /// A bounded read ([`snapshot::read_bounded`]) if inline reads are on and a pooled
    /// reader is idle right now; `None` means "not now", for the blocking pool. Never for
    /// an in-memory database: it has no WAL, so its readers may wait for the writer's lock.
    fn read_inline<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Option<Result<T, StoreError>> {
        if self.closed.load(Ordering::SeqCst) {
            return Some(Err(StoreError::unavailable(Closed::ShutDown)));
        }
        if !self.inline_reads {
            return None;
        }
        self.folder.as_ref()?;
        let conn = self.readers.try_get()?;
        snapshot::read_bounded(&conn, f)
    }

    /// [`read::list`] with this store's tail and kept counts, on `conn` inside a read
    /// transaction.
    fn list_on(
        &self,
        conn: &Connection,
        query: &ListQuery,
        effort: Effort,
    ) -> Result<Option<Page<Message>>, StoreError> {
        read::list(conn, &self.tail, query, &self.counts, &self.samples, effort)
    }

    /// [`MessageStore::list`] on a cheap path: `None` unless it could be answered inline.
    fn list_inline(&self, query: &ListQuery) -> Option<Result<Page<Message>, StoreError>> {
        self.read_inline(|conn| self.list_on(conn, query, Effort::Bounded))
            .and_then(Result::transpose)
    }

    /// [`MessageStore::list`], blocking.
    fn list(&self, query: &ListQuery) -> Result<Page<Message>, StoreError> {
        self.read(|conn| self.list_on(conn, query, Effort::Any))?
            .ok_or_else(|| StoreError::internal(NoAnswer))
    }

    /// [`MessageStore::stats`] when a reader is idle: a few rows of the kept tables.
    fn stats_inline(&self) -> Option<Result<Stats, StoreError>> {
        self.read_inline(|conn| read::stats(conn).map_err(store_error))
    }

    /// [`MessageStore::stats`], blocking.
    fn stats(&self) -> Result<Stats, StoreError> {
        self.read(|conn| read::stats(conn).map_err(store_error))
    }

    /// [`MessageStore::check_ready`], blocking: it may probe with a write and check the
    /// filesystem.
    fn check_ready(&self) -> Result<(), StoreError> {
        let writer_alive = match self.writer.lock() {
            Ok(w) => w.as_ref().is_some_and(|h| !h.is_finished()),
            Err(_) => false,
        };
        if !writer_alive {
            return Err(StoreError::unavailable(Closed::WriterGone));
        }
        let indexer_alive = match self.indexer.lock() {
            Ok(w) => w.as_ref().is_some_and(|h| !h.is_finished()),
            Err(_) => false,
        };
        if !indexer_alive {
            return Err(StoreError::unavailable(Closed::IndexerGone));
        }
        // Reads keep working on a full disk, so while commits fail only a write can tell
        // when the store may take messages again; once one succeeds the flag clears.
        if self.write_failing.load(Ordering::SeqCst) {
            self.submit(Vec::new())?;
        }
        if let Some(folder) = &self.folder {
            let fs = rustix::fs::statvfs(folder).map_err(StoreError::unavailable)?;
            let free = fs.f_bavail.saturating_mul(fs.f_frsize);
            if free < MIN_FREE_BYTES {
                return Err(StoreError::unavailable(LowDiskSpace { free }));
            }
        }
        let conn = self.reader()?;
        let version = schema::version(&conn).map_err(store_error)?;
        if version != SCHEMA_VERSION {
            return Err(StoreError::NotReady(format!(
                "schema version {version}, expected {SCHEMA_VERSION}"
            )));
        }
        if !schema::totals_present(&conn).map_err(store_error)? {
            return Err(StoreError::NotReady("statistics row missing".to_owned()));
        }
        Ok(())
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// How each call waits:
/// - `insert` queues its message for the writer and awaits the writer's reply after the
///   group commit — no thread is held while it waits;
/// - `list` and `stats` are answered on the caller's task when they are cheap (an idle
///   reader, a bounded shape, the instruction budget — see `read::Effort::Bounded`), else
///   on the blocking pool;
/// - `check_ready` runs on the blocking pool (it may probe with a write).
#[async_trait]
impl MessageStore for SqliteStore {
    async fn insert(&self, message: Message) -> Result<Inserted, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel::<Outcomes>();
        self.inner.enqueue(Job {
            messages: vec![message],
            reply: Reply::Async(reply),
        })?;
        answer
            .await
            .map_err(|_| StoreError::unavailable(Closed::WriterGone))??
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::internal(Closed::WriterGone))
    }

    async fn list(&self, query: &ListQuery) -> Result<Page<Message>, StoreError> {
        if let Some(answer) = self.inner.list_inline(query) {
            return answer;
        }
        let query = query.clone();
        self.blocking(move |inner| inner.list(&query)).await
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        if let Some(answer) = self.inner.stats_inline() {
            return answer;
        }
        self.blocking(Inner::stats).await
    }

    async fn check_ready(&self) -> Result<(), StoreError> {
        self.blocking(Inner::check_ready).await
    }
}

/// Why a store with a nearly full disk is not ready.
#[derive(Debug, thiserror::Error)]
#[error("only {free} bytes free on the database's filesystem (readiness needs {MIN_FREE_BYTES})")]
struct LowDiskSpace {
    free: u64,
}
