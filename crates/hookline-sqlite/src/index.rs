//! The index file and its indexer thread.
//!
//! The list indexes and the trigram index live in a second SQLite file next to the
//! database (`app.db.index`, [`INDEX_SUFFIX`](crate::connection::INDEX_SUFFIX)), written
//! by one thread of its own. The writer's group commit therefore writes only the row, its
//! `message_id` key and the statistics, and never waits for index pages: SQLite allows one
//! writer per file, and the indexer's large transactions take the index file's lock, not
//! the database's. Readers attach the file as `ix`.
//!
//! - `hookline_by_ts (ts_key, message_id, rid)` and
//!   `hookline_by_from (from_msisdn, ts_key, message_id, rid)`: `WITHOUT ROWID` tables
//!   whose primary keys are the two list orders, `rid` the row's rowid in `messages`;
//! - `messages_fts`: the contentless trigram index of `text_folded` (rowid = `rid`);
//! - `messages_grams`: the contentless index of `text_folded`'s word-boundary grams
//!   (`grams.rs`; `detail = none`, rowid = `rid`), since layout version 2;
//! - `hookline_fts_watermark (upto)`: every row of `messages` with a rowid up to `upto` is
//!   in all of them, no row above it is in any;
//! - `hookline_index_source (rowid, message_id)`: the row at the watermark, so a file
//!   that belongs to another database (or to an older copy of this one) is noticed at
//!   open and rebuilt.
//!
//! The indexer takes every row above the watermark (up to [`MAX_STEP`] at a time) from
//! its own snapshot of the database, sorts it into each index's order, and writes all of
//! it in one transaction with the new watermark. The file is `synchronous = NORMAL`:
//! everything in it is derived from rows already durable in the database, and a crash
//! loses at most its last transactions whole (WAL), which are then indexed again.
//!
//! The rows above the watermark are the *tail* (`tail.rs`), answered from memory. The
//! writer stops taking inserts while the tail holds
//! [`SqliteConfig::max_tail`](crate::SqliteConfig::max_tail) rows or more
//! (back-pressure), so a read never merges an unbounded tail.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, Statement, params};

use crate::grams;
use crate::instruments;
use crate::tail::{ROWS, Tail, TailRow, tail_row};

/// The index file's layout version (`PRAGMA user_version` of that file). A file at
/// version 1 gains `messages_grams` at open ([`add_grams`]); at any other version it is
/// rebuilt from the database.
pub(crate) const INDEX_VERSION: i64 = 2;

/// `messages_grams`, in schema `{s}`.
fn grams_sql(s: &str) -> String {
    format!(
        "CREATE VIRTUAL TABLE {s}.messages_grams USING fts5 (
             grams,
             content = '',
             columnsize = 0,
             detail = none,
             tokenize = 'ascii'
         );"
    )
}

/// Most rows one indexing transaction takes.
pub(crate) const MAX_STEP: i64 = 20_000;

/// Rows waiting before the indexer runs while rows keep arriving, by default
/// ([`SqliteConfig::index_batch`](crate::SqliteConfig::index_batch)); below it, it waits up
/// to [`IDLE_AFTER`] for more, so a busy writer's rows are indexed in large sorted
/// batches (each batch writes an index page once for all its rows that land on it).
pub(crate) const MIN_STEP: usize = 4_000;

/// How long the indexer lets fewer rows than a batch wait, by default
/// ([`SqliteConfig::index_idle`](crate::SqliteConfig::index_idle)).
pub(crate) const IDLE_AFTER: Duration = Duration::from_millis(200);

/// How long the indexer pauses after a failed step (a full disk, say) before the next.
const RETRY_AFTER: Duration = Duration::from_millis(100);

/// The index file's tables, created in schema `{s}`.
fn schema_sql(s: &str) -> String {
    format!(
        "CREATE TABLE {s}.hookline_by_ts (
             ts_key     TEXT NOT NULL,
             message_id TEXT NOT NULL,
             rid        INTEGER NOT NULL,
             PRIMARY KEY (ts_key, message_id)
         ) WITHOUT ROWID;
         CREATE TABLE {s}.hookline_by_from (
             from_msisdn TEXT NOT NULL,
             ts_key      TEXT NOT NULL,
             message_id  TEXT NOT NULL,
             rid         INTEGER NOT NULL,
             PRIMARY KEY (from_msisdn, ts_key, message_id)
         ) WITHOUT ROWID;
         CREATE VIRTUAL TABLE {s}.messages_fts USING fts5 (
             text_folded,
             content = '',
             columnsize = 0,
             detail = full,
             tokenize = 'trigram case_sensitive 1'
         );
         {grams}
         CREATE TABLE {s}.hookline_fts_watermark (
             id   INTEGER PRIMARY KEY CHECK (id = 1),
             upto INTEGER NOT NULL
         );
         INSERT INTO {s}.hookline_fts_watermark (id, upto) VALUES (1, 0);
         CREATE TABLE {s}.hookline_index_source (
             id         INTEGER PRIMARY KEY CHECK (id = 1),
             rowid_at   INTEGER NOT NULL,
             message_id TEXT
         );
         INSERT INTO {s}.hookline_index_source (id, rowid_at, message_id) VALUES (1, 0, NULL);
         PRAGMA {s}.user_version = {INDEX_VERSION};",
        grams = grams_sql(s),
    )
}

/// Creates the index tables, empty, in the schema `name` of `conn` (for tests of one
/// layer, on an attached in-memory database).
#[cfg(test)]
pub(crate) fn create_in(conn: &Connection, name: &str) -> rusqlite::Result<()> {
    conn.execute_batch(&schema_sql(name))
}

/// The index file's layout version (main of `conn`).
fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA main.user_version", [], |r| r.get(0))
}

/// Whether the index file (main of `conn`, the database attached as `data`) was built
/// from this database: the row at its watermark is the same row.
fn belongs(conn: &Connection) -> rusqlite::Result<bool> {
    let (upto, rowid_at, id): (i64, i64, Option<String>) = conn.query_row(
        "SELECT w.upto, s.rowid_at, s.message_id
         FROM main.hookline_fts_watermark AS w, main.hookline_index_source AS s",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    if upto != rowid_at {
        return Ok(false);
    }
    if upto == 0 {
        return Ok(id.is_none());
    }
    let found: Option<String> = conn
        .query_row(
            "SELECT message_id FROM data.messages WHERE rowid = ?1",
            [upto],
            |r| r.get(0),
        )
        .optional()?;
    Ok(found.is_some() && found == id)
}

/// Adds one row's word-boundary grams to `messages_grams`.
const INSERT_GRAMS: &str = "INSERT INTO main.messages_grams (rowid, grams) VALUES (?1, ?2)";

/// Indexes `row`'s grams with `insert` ([`INSERT_GRAMS`]); a row without text or without
/// a gram has no entry.
fn insert_grams(insert: &mut Statement<'_>, row: &TailRow) -> rusqlite::Result<()> {
    if let Some(tokens) = row.text_folded.as_deref().and_then(grams::tokens) {
        insert.execute(params![row.rowid, tokens])?;
    }
    Ok(())
}

/// Brings a layout-version-1 file (main of `conn`, the database attached as `data`) to
/// version 2: creates `messages_grams` and fills it with the grams of every row up to the
/// watermark, in one transaction. At a million rows this is a few seconds, once.
fn add_grams(conn: &Connection) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(&grams_sql("main"))?;
    let upto = upto(&tx)?;
    {
        // The rows as the tail and the indexer read them, one at a time.
        let mut rows = tx.prepare(&format!(
            "{ROWS} FROM data.messages WHERE rowid <= ?1 ORDER BY rowid"
        ))?;
        let mut insert = tx.prepare(INSERT_GRAMS)?;
        for row in rows.query_map([upto], tail_row)? {
            insert_grams(&mut insert, &row?)?;
        }
    }
    tx.execute_batch(&format!("PRAGMA main.user_version = {INDEX_VERSION};"))?;
    tx.commit()
}

/// Opens the index file for the indexer: checks that it belongs to the database (else
/// empties it and starts over) and brings a version-1 file to this layout, then indexes
/// rows until at most `max_tail` are left above the watermark — normally nothing to do;
/// after a rebuild, every row (slow once: about a minute per million rows).
pub(crate) fn open(conn: &Connection, max_tail: i64) -> rusqlite::Result<()> {
    let fresh = conn.query_row(
        "SELECT count(*) FROM main.sqlite_schema WHERE name = 'hookline_fts_watermark'",
        [],
        |r| r.get::<_, i64>(0),
    )? == 0;
    let layout = if fresh { 0 } else { version(conn)? };
    let ours = (layout == 1 || layout == INDEX_VERSION) && belongs(conn)?;
    if ours && layout == 1 {
        add_grams(conn)?;
    }
    if !ours {
        // Drop whatever is there (an older layout, another database's index).
        let tables: Vec<String> = conn
            .prepare(
                "SELECT name FROM main.sqlite_schema
                 WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                   AND name NOT LIKE 'messages_fts_%' AND name NOT LIKE 'messages_grams_%'",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let tx = conn.unchecked_transaction()?;
        for table in tables {
            tx.execute_batch(&format!("DROP TABLE IF EXISTS main.\"{table}\";"))?;
        }
        tx.execute_batch(&schema_sql("main"))?;
        tx.commit()?;
    }
    loop {
        let (upto, last) = watermark(conn)?;
        if last - upto <= max_tail.max(0) {
            return Ok(());
        }
        step(conn)?;
    }
}

/// The index's watermark (the index file is `main` of `conn`).
pub(crate) fn upto(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT upto FROM main.hookline_fts_watermark WHERE id = 1")?
        .query_row([], |r| r.get(0))
}

/// The index's watermark and the database's last rowid, each in its own snapshot (the
/// index file's read first).
fn watermark(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    let upto = upto(conn)?;
    let last: i64 = conn
        .prepare_cached("SELECT coalesce(max(rowid), 0) FROM data.messages")?
        .query_row([], |r| r.get(0))?;
    Ok((upto, last))
}

/// Indexes up to [`MAX_STEP`] rows above the watermark in one transaction; returns the
/// new watermark.
pub(crate) fn step(conn: &Connection) -> rusqlite::Result<i64> {
    let tx = conn.unchecked_transaction()?;
    let upto = upto(&tx)?;
    // The rows the tail holds, read as the tail reads them.
    let mut rows: Vec<TailRow> = tx
        .prepare_cached(&format!(
            "{ROWS} FROM data.messages WHERE rowid > ?1 ORDER BY rowid LIMIT ?2"
        ))?
        .query_map(params![upto, MAX_STEP], tail_row)?
        .collect::<rusqlite::Result<_>>()?;
    let Some(last) = rows.last().map(|r| (r.rowid, r.message_id.clone())) else {
        return Ok(upto);
    };
    // Rowid order for the trigram index (its rowids only grow), then each list order, so
    // each index is written front to back.
    {
        let mut fts = tx
            .prepare_cached("INSERT INTO main.messages_fts (rowid, text_folded) VALUES (?1, ?2)")?;
        let mut grams = tx.prepare_cached(INSERT_GRAMS)?;
        for row in &rows {
            if let Some(text) = &row.text_folded {
                fts.execute(params![row.rowid, text])?;
            }
            insert_grams(&mut grams, row)?;
        }
    }
    rows.sort_unstable_by(|a, b| (&a.ts_key, &a.message_id).cmp(&(&b.ts_key, &b.message_id)));
    {
        let mut by_ts = tx.prepare_cached(
            "INSERT INTO main.hookline_by_ts (ts_key, message_id, rid) VALUES (?1, ?2, ?3)",
        )?;
        for row in &rows {
            by_ts.execute(params![row.ts_key, row.message_id, row.rowid])?;
        }
    }
    rows.sort_unstable_by(|a, b| {
        (&a.from, &a.ts_key, &a.message_id).cmp(&(&b.from, &b.ts_key, &b.message_id))
    });
    {
        let mut by_from = tx.prepare_cached(
            "INSERT INTO main.hookline_by_from (from_msisdn, ts_key, message_id, rid)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for row in &rows {
            by_from.execute(params![row.from, row.ts_key, row.message_id, row.rowid])?;
        }
    }
    tx.prepare_cached("UPDATE main.hookline_fts_watermark SET upto = ?1 WHERE id = 1")?
        .execute([last.0])?;
    tx.prepare_cached(
        "UPDATE main.hookline_index_source SET rowid_at = ?1, message_id = ?2 WHERE id = 1",
    )?
    .execute(params![last.0, last.1])?;
    tx.commit()?;
    Ok(last.0)
}

/// The indexer thread: indexes whenever `batch` rows wait, or fewer have waited `idle`;
/// tells `tail` each new watermark. Nudged by the writer after every commit; on the way
/// out (the writer dropped its end) it indexes what is left.
pub(crate) struct Indexer {
    pub(crate) conn: Connection,
    pub(crate) nudges: Receiver<()>,
    pub(crate) tail: Arc<Tail>,
    pub(crate) batch: usize,
    pub(crate) idle: Duration,
    /// [`SqliteConfig::max_tail`](crate::SqliteConfig::max_tail): the writer waits there,
    /// so the indexer never waits for a larger batch than that.
    pub(crate) max_tail: i64,
}

impl Indexer {
    pub(crate) fn run(self) {
        let Self {
            conn,
            nudges,
            tail,
            batch,
            idle,
            max_tail,
        } = self;
        let batch = i64::try_from(batch)
            .unwrap_or(i64::MAX)
            .min(max_tail)
            .max(1);
        // Since when rows have been waiting (`None`: nothing waits, so sleep until the
        // writer commits); at start the last run may have left some.
        let mut waiting_since = Some(Instant::now());
        // Set after a step that left rows, so the next one starts without waiting.
        let mut again = false;
        let mut stopping = false;
        loop {
            if !again && !stopping {
                let woken = match waiting_since {
                    None => nudges.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    Some(since) => nudges.recv_timeout(
                        idle.saturating_sub(since.elapsed())
                            .max(Duration::from_millis(1)),
                    ),
                };
                stopping = matches!(woken, Err(RecvTimeoutError::Disconnected));
            }
            again = false;
            let Ok((upto, last)) = watermark(&conn) else {
                if stopping {
                    return;
                }
                continue;
            };
            let backlog = last - upto;
            if backlog == 0 {
                waiting_since = None;
            } else {
                let since = *waiting_since.get_or_insert_with(Instant::now);
                if stopping || backlog >= batch || since.elapsed() >= idle {
                    let started = Instant::now();
                    // A failure (disk full, I/O) is retried at the next round; the tail
                    // keeps the rows meanwhile, and back-pressure bounds it.
                    match step(&conn) {
                        Ok(indexed) => {
                            instruments::record_index(started.elapsed());
                            tail.indexed(indexed);
                            if indexed < last {
                                again = true;
                                continue;
                            }
                            waiting_since = None;
                        }
                        Err(_) if !stopping => {
                            // Not before a pause, so a full disk is not retried in a loop.
                            waiting_since = Some(Instant::now());
                            std::thread::sleep(RETRY_AFTER);
                            continue;
                        }
                        Err(_) => {}
                    }
                }
            }
            if stopping {
                let _ = conn.execute_batch("PRAGMA main.wal_checkpoint(TRUNCATE);");
                return;
            }
        }
    }
}
