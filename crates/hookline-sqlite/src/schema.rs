//! The schema and its versioned, idempotent migrations (`PRAGMA user_version`).
//!
//! - version 0: nothing, or the bare `messages` table an original FastAPI service wrote;
//! - version 1: the original services' `messages` table (created if missing; an original database
//!   already has it, so it is simply adopted);
//! - version 2: hookline's derived columns (`ts_key`, `text_folded`, computed in Rust and
//!   backfilled for existing rows), the list indexes, the trigram index of `text_folded`,
//!   and the incrementally kept statistics tables, rebuilt from the rows;
//! - version 3: no planner statistics. Version 2 ended with `ANALYZE`, which on a new,
//!   empty database recorded `messages_fts_data` as a two-row table; the planner then ran
//!   FTS5's own `DELETE FROM messages_fts_data WHERE id>=? AND id<=?` (issued at every
//!   incremental segment merge) as a full table scan instead of a rowid range, and at a
//!   million rows every merge step read the whole index — 1–2 GB and 1–2 s per commit.
//!   Version 3 deletes `sqlite_stat1` rows and never analyzes: every read names its index,
//!   and FTS5's statements need no statistics.
//! - version 4: deferred full-text indexing. `hookline_fts_watermark` holds one rowid,
//!   `upto`: every row with a text and a rowid up to it is in `messages_fts`, no row above
//!   it is. The writer adds the rows above the watermark to the index in one batch, inside
//!   a group's transaction, once at least `FTS_BATCH` (2,000) are waiting, so FTS5 writes
//!   one large segment per 2,000 rows instead of a small one (and its merges) per group;
//!   a `q` matches the rows above the watermark by scanning that rowid range with
//!   `instr()` on `text_folded`. Rows are never deleted and new rowids are always above
//!   the largest, so new rows always land above the watermark. Migrating sets it to the
//!   last row (everything is indexed already).
//! - version 5: minute buckets. `hookline_minutes (minute, messages)` counts rows per UTC
//!   minute of `ts_key` (its first 16 bytes), next to the day and hour buckets, so a deep
//!   `offset` or a `since` count walks at most one minute of index entries instead of one
//!   hour (sixty times fewer; a minute can still hold many rows on a service taking
//!   thousands of messages a second). Migrating fills it from the rows, in the same
//!   transaction.
//! - version 6: the index file. The list indexes, the trigram index and its watermark
//!   move out of this file into `app.db.index` (`index.rs`), written by an indexer thread
//!   behind the writer, so a group commit writes the row, its `message_id` key and the
//!   statistics and nothing else. Migrating drops them here; the index file is built from
//!   the rows when the store opens (about a minute per million rows, once). Also,
//!   `text_folded` is `NULL` where folding leaves the text as it is (most texts): reads
//!   use `coalesce(text_folded, text)`, and a row stores its text once.
//!
//! Every migration runs inside one `BEGIN IMMEDIATE` transaction together with the
//! `user_version` bump, so a crash mid-migration leaves the previous version intact, and
//! two processes opening one file at once migrate it once.

use hookline_domain::{Instant, Timestamp};
use hookline_query::fold_case;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 6;

/// Why a migration failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MigrationError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("row {message_id:?} has a ts that is not an RFC 3339 timestamp: {ts:?}")]
    BadTimestamp { message_id: String, ts: String },
    #[error("schema version {0} is newer than this build's")]
    TooNew(i64),
}

/// The original table, exactly as the original services define it.
const V1: &str = "
CREATE TABLE IF NOT EXISTS messages (
    message_id  TEXT PRIMARY KEY,
    from_msisdn TEXT NOT NULL,
    to_msisdn   TEXT NOT NULL,
    ts          TEXT NOT NULL,
    text        TEXT,
    created_at  TEXT NOT NULL
);";

/// Derived columns; the backfill runs between this and [`V2_INDEXES`].
const V2_COLUMNS: &str = "
ALTER TABLE messages ADD COLUMN ts_key TEXT;
ALTER TABLE messages ADD COLUMN text_folded TEXT;";

const V2_INDEXES: &str = "
CREATE INDEX messages_by_ts ON messages (ts_key, message_id);
CREATE INDEX messages_by_from ON messages (from_msisdn, ts_key, message_id);

CREATE TABLE hookline_totals (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    messages  INTEGER NOT NULL,
    senders   INTEGER NOT NULL,
    first_key TEXT,
    first_ts  TEXT,
    last_key  TEXT,
    last_ts   TEXT
);
CREATE TABLE hookline_senders (
    from_msisdn TEXT PRIMARY KEY,
    messages    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX hookline_senders_by_count ON hookline_senders (messages DESC, from_msisdn);
CREATE TABLE hookline_days (
    day      TEXT PRIMARY KEY,
    messages INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE hookline_hours (
    hour     TEXT PRIMARY KEY,
    messages INTEGER NOT NULL
) WITHOUT ROWID;

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    text_folded,
    content = '',
    columnsize = 0,
    detail = full,
    tokenize = 'trigram case_sensitive 1'
);
INSERT INTO messages_fts (rowid, text_folded)
    SELECT rowid, text_folded FROM messages WHERE text_folded IS NOT NULL;

INSERT INTO hookline_senders (from_msisdn, messages)
    SELECT from_msisdn, count(*) FROM messages GROUP BY from_msisdn;
INSERT INTO hookline_days (day, messages)
    SELECT substr(ts_key, 1, 10), count(*) FROM messages GROUP BY 1;
INSERT INTO hookline_hours (hour, messages)
    SELECT substr(ts_key, 1, 13), count(*) FROM messages GROUP BY 1;
INSERT INTO hookline_totals (id, messages, senders, first_key, first_ts, last_key, last_ts)
    SELECT 1,
        (SELECT count(*) FROM messages),
        (SELECT count(*) FROM hookline_senders),
        (SELECT ts_key FROM messages ORDER BY ts_key, ts LIMIT 1),
        (SELECT ts FROM messages ORDER BY ts_key, ts LIMIT 1),
        (SELECT ts_key FROM messages ORDER BY ts_key DESC, ts DESC LIMIT 1),
        (SELECT ts FROM messages ORDER BY ts_key DESC, ts DESC LIMIT 1);";

/// Deferred full-text indexing (see version 4 above).
const V4: &str = "
CREATE TABLE IF NOT EXISTS hookline_fts_watermark (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    upto INTEGER NOT NULL
);
INSERT OR IGNORE INTO hookline_fts_watermark (id, upto)
    SELECT 1, coalesce(max(rowid), 0) FROM messages;";

/// Minute buckets (see version 5 above). Built from the rows whatever was there before, so
/// a table left by anything else cannot keep stale counts.
const V5: &str = "
DROP TABLE IF EXISTS hookline_minutes;
CREATE TABLE hookline_minutes (
    minute   TEXT PRIMARY KEY,
    messages INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO hookline_minutes (minute, messages)
    SELECT substr(ts_key, 1, 16), count(*) FROM messages GROUP BY 1;";

/// The index file (see version 6 above): what moved there goes from here.
const V6: &str = "
DROP INDEX IF EXISTS messages_by_ts;
DROP INDEX IF EXISTS messages_by_from;
DROP TABLE IF EXISTS messages_fts;
DROP TABLE IF EXISTS hookline_fts_watermark;
UPDATE messages SET text_folded = NULL WHERE text_folded = text;";

/// The instant sort key of a stored `ts`. Rows written by an original service are accepted
/// with any RFC 3339 offset, since that is all the key needs.
pub(crate) fn ts_key_of_stored(message_id: &str, ts: &str) -> Result<String, MigrationError> {
    if let Ok(t) = Timestamp::parse(ts) {
        return Ok(t.instant().sort_key());
    }
    Instant::parse_rfc3339(ts)
        .map(Instant::sort_key)
        .map_err(|_| MigrationError::BadTimestamp {
            message_id: message_id.to_owned(),
            ts: ts.to_owned(),
        })
}

/// Brings the database to [`SCHEMA_VERSION`]. Idempotent.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), MigrationError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(MigrationError::TooNew(version));
    }
    if version < 1 {
        tx.execute_batch(V1)?;
    }
    if version < 2 {
        tx.execute_batch(V2_COLUMNS)?;
        backfill(&tx)?;
        tx.execute_batch(V2_INDEXES)?;
    }
    if version < 3 {
        drop_planner_statistics(&tx)?;
    }
    if version < 4 {
        tx.execute_batch(V4)?;
    }
    if version < 5 {
        tx.execute_batch(V5)?;
    }
    if version < 6 {
        tx.execute_batch(V6)?;
    }
    if version < SCHEMA_VERSION {
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
    }
    tx.commit()?;
    Ok(())
}

/// Removes what `ANALYZE` recorded (see version 3 above) and makes the connection forget
/// it, so statements are planned without statistics.
fn drop_planner_statistics(conn: &Connection) -> rusqlite::Result<()> {
    let analyzed = conn
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if analyzed {
        conn.execute_batch("DELETE FROM sqlite_stat1; ANALYZE sqlite_schema;")?;
    }
    Ok(())
}

/// Computes `ts_key` and `text_folded` in Rust for every existing row.
fn backfill(conn: &Connection) -> Result<(), MigrationError> {
    let mut select = conn.prepare("SELECT rowid, message_id, ts, text FROM messages")?;
    let mut update =
        conn.prepare("UPDATE messages SET ts_key = ?2, text_folded = ?3 WHERE rowid = ?1")?;
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        let rowid: i64 = row.get(0)?;
        let message_id: String = row.get(1)?;
        let ts: String = row.get(2)?;
        let text: Option<String> = row.get(3)?;
        let key = ts_key_of_stored(&message_id, &ts)?;
        update.execute(params![rowid, key, text.as_deref().map(fold_case)])?;
    }
    Ok(())
}

/// Rewrites the file without its free pages (`VACUUM`) when more than a quarter of it is
/// free — once after the version 6 migration moved the indexes out (about a third of a
/// file, on the benchmark's million rows) — so the move does not leave the database file
/// as large as before. Runs before anything else uses the file; a `VACUUM` that fails (it
/// needs room for a copy of the database) leaves the file as it was, which still works.
pub(crate) fn compact_if_mostly_free(conn: &Connection) -> rusqlite::Result<()> {
    let (pages, free): (i64, i64) = conn.query_row(
        "SELECT (SELECT page_count FROM pragma_page_count),
                (SELECT freelist_count FROM pragma_freelist_count)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if pages >= 1024 && free * 4 > pages {
        let _ = conn.execute_batch("VACUUM");
    }
    Ok(())
}

/// The schema version of an open database, for readiness checks.
pub(crate) fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Whether the statistics row exists (a cheap proof that the tables are in place).
pub(crate) fn totals_present(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("SELECT 1 FROM hookline_totals WHERE id = 1", [], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
}
