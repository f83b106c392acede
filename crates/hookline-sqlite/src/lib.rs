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
//!   the message and a reply channel over a queue and waits
//!   ([`MessageStore::insert_queued`] sends a callback instead and returns; the writer
//!   calls it after the commit). The writer takes the first
//!   queued job, drains whatever else is already queued (up to
//!   [`SqliteConfig::max_batch`] messages), runs all of it in one `BEGIN IMMEDIATE`
//!   transaction (`INSERT … ON CONFLICT(message_id) DO NOTHING`, `changes()` telling
//!   `Created` from `Duplicate`; of two inserts of one id in a group the first wins),
//!   commits — one fsync for the whole group — and only then answers each caller. If
//!   anything in the group fails (disk full, I/O error) the transaction is rolled back and
//!   every caller of that group gets [`StoreError::Unavailable`]; the writer keeps serving,
//!   so the store recovers by itself when space returns. Under load the queue fills while a
//!   commit is in flight, so group size adapts to the load without any timer.
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
//! - **Commit tracing** for performance work: `HOOKLINE_SQLITE_TRACE=<ms>` in the
//!   environment makes the writer print each commit slower than `<ms>` to stderr (rows,
//!   time in statements and in the commit, bytes read and written by the writer thread,
//!   WAL size), and commit/checkpoint histograms at shutdown. Off by default.
//! - **Readers** come from an r2d2 pool of `query_only` connections. Every list or stats
//!   call runs in one read transaction, so `total` and `data` come from one WAL snapshot.
//!   [`MessageStore::list_now`] and [`MessageStore::stats_now`] take a reader only if one
//!   is idle, attempt only reads expected to be cheap (`read::Effort::Bounded`: no `q`, or
//!   a `q` whose total is kept), and give SQLite a fixed instruction budget (a progress
//!   handler) past which the read is interrupted; anything else is `None`, for the
//!   blocking call.
//!
//! # Schema (version 5, see `schema.rs`)
//!
//! `messages` keeps the original columns of `SPEC.md` and adds, computed in Rust:
//! - `ts_key`: [`Instant::sort_key`](hookline_domain::Instant::sort_key) of `ts`, a
//!   30-byte text whose byte order is instant order (equal to
//!   [`Cursor::ts_key`](hookline_query::Cursor::ts_key));
//! - `text_folded`: [`fold_case`](hookline_query::fold_case) of `text` (SQLite's `lower()`
//!   is ASCII-only), matched literally (`%` and `_` are ordinary characters).
//!
//! `messages_fts` is a contentless FTS5 table with the `trigram` tokenizer
//! (`case_sensitive 1`, since the text is already folded in Rust; `detail=full`, because
//! a needle is matched as a phrase of consecutive trigrams, which is an exact substring
//! match). Its rowid is the message's rowid. Measured trade-off (see `benches/store.rs`
//! and `docs/PERFORMANCE.md`): indexed with every group it cost roughly a third of ingest
//! throughput (a segment written and merged per group); it turns `q` at a million rows
//! from a ~200 ms scan into ~15 ms. Since version 4 it is filled in batches: a row is
//! indexed once 2,000 rows wait above the watermark `hookline_fts_watermark.upto`, in
//! the transaction of the group that reached that count; every `q` that uses the index
//! adds the rows above the watermark, found by scanning that rowid range with `instr()`.
//!
//! Indexes, each in list order so a page is an index range walk:
//! `messages_by_ts (ts_key, message_id)` and
//! `messages_by_from (from_msisdn, ts_key, message_id)`; both also carry the rowid, so
//! skipping rows (offset) never touches the table.
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
//! - no filter: the totals row; `from`: the sender's count;
//! - `since`: rows of `since`'s own minute counted in the index (one minute of rows at
//!   most), plus the later minutes of its hour, hours of its day and the later days from
//!   the bucket tables. The cost is bounded by the rows in one minute plus the number of
//!   distinct days after `since`; the trade-off is three extra small upserts per group
//!   (per distinct day, hour and minute in it);
//! - a deep `offset` without `from`/`q` skips whole days, hours and minutes with the same
//!   tables, then at most one minute of index entries;
//! - `from` + `since` counts an index range of that sender;
//! - any `q`: the exact `total` is kept in memory per filter with the rowid it counted up
//!   to (`counts.rs`), and a later read adds only the matching rows above that rowid —
//!   rows are never updated or deleted and rowids only grow, so the kept count stays exact.
//!   Counting from scratch:
//! - `q` of three characters or more (without `from`): `total` is a count of the trigram
//!   index's matches plus the scanned rows above the watermark (joined to `messages` for
//!   `since`); the page is either a walk of the
//!   order index testing each row with `instr()`, or the trigram matches sorted — whichever
//!   is expected to read fewer rows (matches versus `(offset + limit) × rows / matches`);
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
mod commit_trace;
mod counts;
mod error;
mod read;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use hookline_domain::Message;
use hookline_query::{ListQuery, Page, Stats};
use hookline_store::{InsertDone, Inserted, MessageStore, StoreError};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

pub use error::SqliteError;
pub use schema::SCHEMA_VERSION;

use crate::counts::CountCache;
use crate::error::{Closed, NoAnswer, store_error};
use crate::read::Effort;
use crate::writer::{Job, Reply};

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
}

impl Default for SqliteConfig {
    /// An in-memory database, 5 s busy timeout, groups of up to 256, 4 readers.
    fn default() -> Self {
        Self {
            location: Location::Memory,
            busy_timeout: Duration::from_secs(5),
            max_batch: 256,
            readers: 4,
        }
    }
}

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
    name: String,
    jobs: RwLock<Option<Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    closed: AtomicBool,
    /// Set by the writer while group commits fail; readiness then probes with a real write.
    write_failing: Arc<AtomicBool>,
    /// The folder holding a file database, whose free space readiness checks; `None` for
    /// an in-memory database (no WAL, so its reads may wait for the writer's lock).
    folder: Option<PathBuf>,
    /// Exact totals of `q` filters, kept between reads (see `counts.rs`).
    counts: CountCache,
}

/// Readiness requires this much free space on a file database's filesystem: a few group
/// commits' worth of WAL (a 64-row group writes about 1.3 MB) plus checkpoint headroom.
/// Below it the store is not ready even if a small write still fits, because the next
/// group of messages would not.
pub const MIN_FREE_BYTES: u64 = 4 * 1024 * 1024;

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("database", &self.name)
            .finish_non_exhaustive()
    }
}

/// Distinguishes in-memory databases of one process.
static MEMORY_DATABASES: AtomicU64 = AtomicU64::new(0);

/// How every connection is opened: what to open, with which flags, and how to set it up.
#[derive(Clone)]
struct Target {
    /// Path or URI handed to SQLite.
    uri: String,
    /// Human name for errors.
    name: String,
    memory: bool,
    busy_timeout: Duration,
}

impl Target {
    fn new(location: &Location, busy_timeout: Duration) -> Result<Self, SqliteError> {
        match location {
            Location::File(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|cause| {
                        SqliteError::CannotCreateDir {
                            path: parent.to_owned(),
                            cause,
                        }
                    })?;
                }
                let name = path.display().to_string();
                Ok(Self {
                    uri: name.clone(),
                    name,
                    memory: false,
                    busy_timeout,
                })
            }
            Location::Memory => {
                let n = MEMORY_DATABASES.fetch_add(1, Ordering::Relaxed);
                let name = format!("/hookline-mem-{}-{n}", std::process::id());
                Ok(Self {
                    uri: format!("file:{name}?vfs=memdb"),
                    name: format!(":memory: ({name})"),
                    memory: true,
                    busy_timeout,
                })
            }
        }
    }

    fn flags(&self) -> OpenFlags {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if self.memory {
            flags |= OpenFlags::SQLITE_OPEN_URI;
        }
        flags
    }

    /// Settings every connection gets.
    fn configure(&self, conn: &Connection) -> rusqlite::Result<()> {
        conn.busy_timeout(self.busy_timeout)?;
        conn.execute_batch("PRAGMA temp_store = MEMORY;")?;
        Ok(())
    }

    /// The writer's connection: creates the file, sets the journal and durability.
    fn open_writer(&self) -> rusqlite::Result<Connection> {
        let conn =
            Connection::open_with_flags(&self.uri, self.flags() | OpenFlags::SQLITE_OPEN_CREATE)?;
        self.configure(&conn)?;
        let journal = if self.memory { "MEMORY" } else { "WAL" };
        let _: String = conn.query_row(&format!("PRAGMA journal_mode = {journal}"), [], |r| {
            r.get(0)
        })?;
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             PRAGMA cache_size = -32768;
             PRAGMA journal_size_limit = 67108864;",
        )?;
        if !self.memory {
            // The checkpointer thread copies the WAL back, so commits mostly only append.
            // The writer still checkpoints when the WAL passes 4000 pages: right after its
            // own commit nothing is left to copy but the tail, and the next transaction can
            // then restart the WAL from its beginning — without this, continuous commits
            // keep the WAL from ever being fully checkpointed, and it grows without bound.
            conn.execute_batch("PRAGMA wal_autocheckpoint = 4000;")?;
        }
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }

    /// The checkpointer's connection (files only; `memdb` has no WAL).
    fn open_checkpointer(&self) -> rusqlite::Result<Option<Connection>> {
        if self.memory {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(&self.uri, self.flags())?;
        self.configure(&conn)?;
        conn.execute_batch("PRAGMA synchronous = FULL;")?;
        Ok(Some(conn))
    }

    /// A reader: the same file, refusing writes.
    fn open_reader(&self, conn: &Connection) -> rusqlite::Result<()> {
        self.configure(conn)?;
        conn.execute_batch(
            "PRAGMA query_only = ON;
             PRAGMA cache_size = -8192;",
        )?;
        conn.set_prepared_statement_cache_capacity(64);
        // Query-planner stability: without it SQLite re-prepares a cached statement whenever
        // a bound value (here `LIMIT ?`/`OFFSET ?`) might change its plan, which was ~20% of a
        // list request's CPU. Every read names its index and the schema keeps no planner
        // statistics, so the plan cannot depend on the values anyway.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        Ok(())
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
        // The writer works on a connection opened after the migration, so that nothing the
        // migration connection had loaded (planner statistics removed by version 3, see
        // `schema.rs`) outlives it. The new one opens before the old one closes: a `memdb`
        // database lives only while a connection holds it.
        let migrated = conn;
        let conn = target.open_writer().map_err(cannot_open)?;
        drop(migrated);

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
        let (jobs, queue) = mpsc::channel();
        let max_batch = config.max_batch;
        let write_failing = Arc::new(AtomicBool::new(false));
        let failing = Arc::clone(&write_failing);
        // Thread names stay within Linux's 15 characters, so `top -H` and `perf` tell them apart.
        let writer = std::thread::Builder::new()
            .name("hookline-writer".to_owned())
            .spawn(move || writer::run(conn, queue, max_batch, checkpointer, failing))
            .map_err(|cause| SqliteError::CannotStartWriter { cause })?;

        Ok(SqliteStore {
            name: target.name,
            jobs: RwLock::new(Some(jobs)),
            writer: Mutex::new(Some(writer)),
            readers,
            closed: AtomicBool::new(false),
            write_failing,
            folder: match &config.location {
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
            },
            counts: CountCache::default(),
        })
    }

    /// Stops accepting inserts, lets the writer commit everything already queued, and
    /// waits for it. Later inserts, lists and stats are `Unavailable`. Idempotent; also
    /// run by `Drop`.
    pub fn shutdown(&self) {
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
    }

    /// Inserts many messages through the writer in one group (one transaction, one
    /// fsync), returning each outcome in order. Meant for seeding and benchmarks; the
    /// server inserts one message per request with [`MessageStore::insert`].
    pub fn insert_many(&self, messages: Vec<Message>) -> Result<Vec<Inserted>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        self.submit(messages)
    }

    /// Queues a job for the writer and waits for its group to commit. An empty job is a
    /// write probe (see [`writer::Job`]).
    fn submit(&self, messages: Vec<Message>) -> Result<Vec<Inserted>, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.enqueue(Job {
            messages,
            reply: Reply::Channel(reply),
        })
        .map_err(|(_, why)| StoreError::unavailable(why))?;
        answer
            .recv()
            .map_err(|_| StoreError::unavailable(Closed::WriterGone))?
    }

    /// Hands a job to the writer; a job it cannot take comes back with the reason.
    fn enqueue(&self, job: Job) -> Result<(), (Job, Closed)> {
        match self.jobs.read() {
            Err(_) => Err((job, Closed::Poisoned)),
            Ok(jobs) => match jobs.as_ref() {
                Some(sender) => sender.send(job).map_err(|e| (e.0, Closed::WriterGone)),
                None => Err((job, Closed::ShutDown)),
            },
        }
    }

    /// A pooled read connection, or `Unavailable` once shut down.
    fn reader(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>, StoreError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable(Closed::ShutDown));
        }
        self.readers.get().map_err(StoreError::unavailable)
    }

    /// Runs `f` inside one read transaction (one snapshot).
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.reader()?;
        Self::read_on(&conn, f)
    }

    /// [`read`](Self::read) if a pooled reader is idle right now, with a hard bound on its
    /// work: SQLite interrupts the read after [`MAX_BOUNDED_STEPS`] ×
    /// [`PROGRESS_INTERVAL`] virtual-machine instructions, and the answer is then `None`
    /// (the caller runs the read where blocking is allowed). `None` also when no reader is
    /// idle, or for an in-memory database.
    fn read_now<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Option<Result<T, StoreError>> {
        if self.closed.load(Ordering::SeqCst) {
            return Some(Err(StoreError::unavailable(Closed::ShutDown)));
        }
        // An in-memory database has no WAL: its readers wait for the writer's lock.
        self.folder.as_ref()?;
        let conn = self.readers.try_get()?;
        let interrupted = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&interrupted);
        let mut calls = 0_u32;
        // Interrupts once; after that it lets the `ROLLBACK` that ends the read run.
        let budget = move || {
            if flag.load(Ordering::Relaxed) {
                return false;
            }
            calls += 1;
            let stop = calls > MAX_BOUNDED_STEPS;
            flag.store(stop, Ordering::Relaxed);
            stop
        };
        conn.progress_handler(PROGRESS_INTERVAL, Some(budget))
            .ok()?;
        let answer = Self::read_on(&conn, f);
        let removed = conn.progress_handler(0, None::<fn() -> bool>);
        if interrupted.load(Ordering::Relaxed) || removed.is_err() {
            return None;
        }
        Some(answer)
    }

    /// Runs `f` on `conn` inside one read transaction.
    fn read_on<T>(
        conn: &Connection,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if !conn.is_autocommit() {
            // Left open by a failed `ROLLBACK` on an earlier call.
            end_read(conn).map_err(store_error)?;
        }
        // Cached `BEGIN`/`ROLLBACK` statements rather than `Connection::transaction`, which
        // parses both again on every call (~4% of a list request's CPU).
        conn.prepare_cached("BEGIN")
            .and_then(|mut begin| begin.execute([]))
            .map_err(store_error)?;
        let snapshot = ReadSnapshot { conn, open: true };
        let out = f(conn)?;
        snapshot.end().map_err(store_error)?;
        Ok(out)
    }
}

/// Virtual-machine instructions between two progress callbacks of a bounded read.
const PROGRESS_INTERVAL: std::ffi::c_int = 1_000;

/// Progress callbacks after which a bounded read is interrupted: 100,000 instructions,
/// a few milliseconds at most. Every bounded shape of the benchmark needs a fraction of it.
const MAX_BOUNDED_STEPS: u32 = 100;

/// Ends a read transaction (nothing was written; this only releases the snapshot).
fn end_read(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached("ROLLBACK")?.execute([]).map(drop)
}

/// An open read transaction, ended when dropped — also when the read fails or panics, so
/// no pooled connection keeps an old snapshot (which would stop checkpoints from ever
/// completing).
struct ReadSnapshot<'c> {
    conn: &'c Connection,
    open: bool,
}

impl ReadSnapshot<'_> {
    /// Ends the transaction, reporting a failure.
    fn end(mut self) -> rusqlite::Result<()> {
        self.open = false;
        end_read(self.conn)
    }
}

impl Drop for ReadSnapshot<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = end_read(self.conn);
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl MessageStore for SqliteStore {
    fn insert(&self, message: Message) -> Result<Inserted, StoreError> {
        let outcomes = self.insert_many(vec![message])?;
        outcomes
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::internal(Closed::WriterGone))
    }

    /// Always queues: the writer calls `done` after the group's commit. A store that is
    /// shut down (or whose writer is gone) calls `done` with `Unavailable` at once.
    fn insert_queued(&self, message: Message, done: InsertDone) -> Result<(), Box<Message>> {
        let job = Job {
            messages: vec![message],
            reply: Reply::Done(done),
        };
        if let Err((job, why)) = self.enqueue(job) {
            job.reply.send(Err(StoreError::unavailable(why)));
        }
        Ok(())
    }

    fn list(&self, query: &ListQuery) -> Result<Page<Message>, StoreError> {
        self.read(|conn| read::list(conn, query, &self.counts, Effort::Any))?
            .ok_or_else(|| StoreError::internal(NoAnswer))
    }

    fn stats(&self) -> Result<Stats, StoreError> {
        self.read(|conn| read::stats(conn).map_err(store_error))
    }

    /// Answers when a pooled reader is idle (no waiting for a connection; in WAL mode a
    /// reader takes no lock a writer holds) and the read finishes within a fixed SQLite
    /// instruction budget; attempted for shapes without `q` and for a `q` whose total is
    /// kept — see `read::Effort::Bounded`.
    fn list_now(&self, query: &ListQuery) -> Option<Result<Page<Message>, StoreError>> {
        self.read_now(|conn| read::list(conn, query, &self.counts, Effort::Bounded))
            .and_then(Result::transpose)
    }

    /// Answers when a pooled reader is idle: the statistics are a few rows of the kept
    /// tables.
    fn stats_now(&self) -> Option<Result<Stats, StoreError>> {
        self.read_now(|conn| read::stats(conn).map_err(store_error))
    }

    fn check_ready(&self) -> Result<(), StoreError> {
        let writer_alive = match self.writer.lock() {
            Ok(w) => w.as_ref().is_some_and(|h| !h.is_finished()),
            Err(_) => false,
        };
        if !writer_alive {
            return Err(StoreError::unavailable(Closed::WriterGone));
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

/// Why a store with a nearly full disk is not ready.
#[derive(Debug, thiserror::Error)]
#[error("only {free} bytes free on the database's filesystem (readiness needs {MIN_FREE_BYTES})")]
struct LowDiskSpace {
    free: u64,
}
