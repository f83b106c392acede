//! How every connection is opened: the file or in-memory database, its flags, and the
//! settings of the writer, the checkpointer and the readers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::{Location, SqliteError};

/// Distinguishes in-memory databases of one process.
static MEMORY_DATABASES: AtomicU64 = AtomicU64::new(0);

/// What the index file's name adds to the database's: `data/app.db` keeps its indexes in
/// `data/app.db.index` (and that file's `-wal` and `-shm`).
pub const INDEX_SUFFIX: &str = ".index";

/// How every connection is opened: what to open, with which flags, and how to set it up.
#[derive(Clone)]
pub(crate) struct Target {
    /// Path or URI handed to SQLite.
    pub(crate) uri: String,
    /// Path or URI of the index file (see `index.rs`), next to the database.
    pub(crate) index_uri: String,
    /// Human name for errors.
    pub(crate) name: String,
    pub(crate) memory: bool,
    busy_timeout: Duration,
}

impl Target {
    pub(crate) fn new(location: &Location, busy_timeout: Duration) -> Result<Self, SqliteError> {
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
                    index_uri: format!("{name}{INDEX_SUFFIX}"),
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
                    index_uri: format!("file:{name}{INDEX_SUFFIX}?vfs=memdb"),
                    name: format!(":memory: ({name})"),
                    memory: true,
                    busy_timeout,
                })
            }
        }
    }

    pub(crate) fn flags(&self) -> OpenFlags {
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

    /// WAL for a file, an in-memory rollback journal for `memdb` (which has no WAL).
    fn set_journal(&self, conn: &Connection) -> rusqlite::Result<()> {
        let journal = if self.memory { "MEMORY" } else { "WAL" };
        let _: String = conn.query_row(&format!("PRAGMA journal_mode = {journal}"), [], |r| {
            r.get(0)
        })?;
        Ok(())
    }

    /// The writer's connection: creates the file, sets the journal and durability.
    pub(crate) fn open_writer(&self) -> rusqlite::Result<Connection> {
        let conn =
            Connection::open_with_flags(&self.uri, self.flags() | OpenFlags::SQLITE_OPEN_CREATE)?;
        self.configure(&conn)?;
        self.set_journal(&conn)?;
        // 16 MiB of pages: since version 6 the writer touches only the table's newest
        // pages, the `message_id` key and the statistics (32 MiB when it also kept the list
        // indexes; halving it measured no loss of ingest at a million rows).
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             PRAGMA cache_size = -16384;
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
    pub(crate) fn open_checkpointer(&self) -> rusqlite::Result<Option<Connection>> {
        if self.memory {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(&self.uri, self.flags())?;
        self.configure(&conn)?;
        conn.execute_batch("PRAGMA synchronous = FULL;")?;
        Ok(Some(conn))
    }

    /// The indexer's connection: the index file as `main` (created if missing, WAL,
    /// `synchronous = NORMAL`: everything in it can be rebuilt from the database), with the
    /// database attached as `data` for reading the rows to index.
    pub(crate) fn open_indexer(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.index_uri,
            self.flags() | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_URI,
        )?;
        self.configure(&conn)?;
        self.set_journal(&conn)?;
        // Checkpoints only every 60,000 pages (about 240 MB of WAL): one indexing step
        // rewrites most leaves of the list indexes, and a leaf rewritten by several steps
        // between two checkpoints is copied back once (measured at a million rows: p99 of
        // ingest 26-48 ms -> 16 ms, throughput +4-7%; docs/PERFORMANCE.md).
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL;
             PRAGMA cache_size = -8192;
             PRAGMA wal_autocheckpoint = 60000;
             PRAGMA journal_size_limit = 67108864;",
        )?;
        conn.execute("ATTACH DATABASE ?1 AS data", [&self.uri])?;
        conn.set_prepared_statement_cache_capacity(16);
        Ok(conn)
    }

    /// A reader: the same file, refusing writes, with the index file attached as `ix`.
    pub(crate) fn open_reader(&self, conn: &Connection) -> rusqlite::Result<()> {
        self.configure(conn)?;
        conn.execute("ATTACH DATABASE ?1 AS ix", [&self.index_uri])?;
        // 3 MiB of pages for each file: a reader looks rows up in `main` and walks the list
        // orders in `ix` (8 MiB for `main` alone before the indexes moved out). Any commit
        // to a file empties every reader's cache of it anyway, so under ingest a larger
        // cache only costs memory (peak RSS, docs/PERFORMANCE.md).
        conn.execute_batch(
            "PRAGMA query_only = ON;
             PRAGMA main.cache_size = -3072;
             PRAGMA ix.cache_size = -3072;",
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
