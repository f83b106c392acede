//! The schema and its versioned migrations, applied at start-up (or on first use when the
//! database was unreachable then) by every replica, under an advisory lock.
//!
//! - version 1: `messages` with the original columns plus `ts_key`, `text_folded` and
//!   `text_folded_bytes` (computed in Rust), the two list-order indexes, and
//!   `hookline_senders`, the per-sender counts `/stats` reads;
//! - version 2: the trigram index of `text_folded` for `q`, when the `pg_trgm` extension
//!   exists or can be created (it is a *trusted* extension since PostgreSQL 13, so a
//!   database owner may create it); without it `q` scans, and the version is still 2;
//! - version 3: `insert_xid`, the transaction that wrote each row (`pg_current_xact_id()`,
//!   by default, so no statement names it), and its index; likewise `first_xid` of
//!   `hookline_senders` (the transaction that created the sender's row; an update keeps
//!   it; not indexed — the newer senders are found through the newer messages): what the
//!   kept counts of `counts.rs` bring up to date. Rows written before get 0
//!   (all long finished), so adding the columns rewrites nothing.
//!
//! Each version is applied in its own transaction that first takes
//! `pg_advisory_xact_lock(HOOKLINE, hashtext(current_schema()))`, then reads
//! `hookline_schema_version` and applies the version only if it is still missing: three
//! replicas starting at once migrate once, the others wait and find it done. The lock is a
//! transaction lock, so a connection that dies or returns to the pool never keeps it.
//!
//! Migrations run with a ten-minute `statement_timeout` (set for their transaction only),
//! not the requests' five seconds: an index over many rows must be allowed to finish.
//!
//! Why not refinery: it would have to be adopted for SQLite too (one runner for both), and
//! SQLite's five versions include backfills computed in Rust (`ts_key`, `text_folded`)
//! that refinery's SQL files cannot express; the runner here is forty lines.

use deadpool_postgres::Client;
use hookline_store::StoreError;

use crate::error::{SchemaTooNew, store_error};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = 3;

/// `classid` of the migration advisory lock: "hkln".
const LOCK_CLASS: i32 = 0x686b_6c6e;

const VERSION_TABLE: &str = "
CREATE TABLE IF NOT EXISTS hookline_schema_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO hookline_schema_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;";

/// Version 1. Every key compared or sorted is `COLLATE "C"`: byte order, as the reference.
const V1: &str = r#"
CREATE TABLE messages (
    message_id        TEXT COLLATE "C" PRIMARY KEY,
    from_msisdn       TEXT COLLATE "C" NOT NULL,
    to_msisdn         TEXT NOT NULL,
    ts                TEXT COLLATE "C" NOT NULL,
    text              TEXT,
    created_at        TEXT NOT NULL,
    ts_key            TEXT COLLATE "C" NOT NULL,
    text_folded       TEXT COLLATE "C",
    text_folded_bytes BYTEA
);
CREATE INDEX messages_by_ts ON messages (ts_key, message_id);
CREATE INDEX messages_by_from ON messages (from_msisdn, ts_key, message_id);
CREATE TABLE hookline_senders (
    from_msisdn TEXT COLLATE "C" PRIMARY KEY,
    messages    BIGINT NOT NULL
);
CREATE INDEX hookline_senders_by_count ON hookline_senders (messages DESC, from_msisdn);"#;

/// Version 3: who wrote each row, for the kept counts (`counts.rs`).
const V3: &str = "
ALTER TABLE messages ADD COLUMN insert_xid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ALTER COLUMN insert_xid SET DEFAULT pg_current_xact_id()::text::bigint;
CREATE INDEX messages_by_insert_xid ON messages (insert_xid);
ALTER TABLE hookline_senders ADD COLUMN first_xid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE hookline_senders ALTER COLUMN first_xid SET DEFAULT pg_current_xact_id()::text::bigint;";

/// Brings the database (the first schema of the connection's `search_path`) to
/// [`SCHEMA_VERSION`]. Idempotent; safe to run from any number of processes at once.
pub(crate) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    for version in 1..=SCHEMA_VERSION {
        let mut tx = client.transaction().await.map_err(store_error)?;
        // A migration may build an index over many rows: the requests' 5 s limit would
        // stop it halfway (rolled back, retried forever). Ten minutes, for this
        // transaction only.
        tx.batch_execute("SET LOCAL statement_timeout = '10min'")
            .await
            .map_err(store_error)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
            &[&LOCK_CLASS],
        )
        .await
        .map_err(store_error)?;
        tx.batch_execute(VERSION_TABLE).await.map_err(store_error)?;
        let found: i32 = tx
            .query_one(
                "SELECT version FROM hookline_schema_version WHERE id = 1 FOR UPDATE",
                &[],
            )
            .await
            .map_err(store_error)?
            .get(0);
        if found > SCHEMA_VERSION {
            return Err(StoreError::NotReady(
                SchemaTooNew {
                    found,
                    supported: SCHEMA_VERSION,
                }
                .to_string(),
            ));
        }
        if found >= version {
            continue;
        }
        match version {
            1 => tx.batch_execute(V1).await.map_err(store_error)?,
            2 => trigram_index(&mut tx).await?,
            _ => tx.batch_execute(V3).await.map_err(store_error)?,
        }
        tx.execute(
            "UPDATE hookline_schema_version SET version = $1 WHERE id = 1",
            &[&version],
        )
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
    }
    Ok(())
}

/// Version 2: creates `pg_trgm` if it is missing and allowed (in a savepoint, so a refusal
/// leaves the migration going), then the GIN trigram index, naming the operator class in
/// whatever schema holds the extension.
async fn trigram_index(tx: &mut deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
    let schema = extension_schema(&*tx).await?;
    let schema = match schema {
        Some(schema) => Some(schema),
        None => {
            let savepoint = tx.savepoint("pg_trgm").await.map_err(store_error)?;
            match savepoint
                .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                .await
            {
                Ok(()) => {
                    savepoint.commit().await.map_err(store_error)?;
                    extension_schema(&*tx).await?
                }
                Err(_) => {
                    savepoint.rollback().await.map_err(store_error)?;
                    None
                }
            }
        }
    };
    if let Some(schema) = schema {
        let sql = format!(
            "CREATE INDEX messages_text_trgm ON messages USING gin (text_folded {}.gin_trgm_ops)",
            quote_ident(&schema)
        );
        tx.batch_execute(&sql).await.map_err(store_error)?;
    }
    Ok(())
}

async fn extension_schema(
    tx: &deadpool_postgres::Transaction<'_>,
) -> Result<Option<String>, StoreError> {
    Ok(tx
        .query_opt(
            "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
             WHERE e.extname = 'pg_trgm'",
            &[],
        )
        .await
        .map_err(store_error)?
        .map(|row| row.get(0)))
}

/// `name` as a quoted SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The schema version the database holds; `NotReady` when it is not this build's.
pub(crate) async fn check_version(client: &Client) -> Result<(), StoreError> {
    let found: i32 = client
        .query_one(
            "SELECT version FROM hookline_schema_version WHERE id = 1",
            &[],
        )
        .await
        .map_err(store_error)?
        .get(0);
    if found == SCHEMA_VERSION {
        Ok(())
    } else if found > SCHEMA_VERSION {
        Err(StoreError::NotReady(
            SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            }
            .to_string(),
        ))
    } else {
        Err(StoreError::NotReady(format!(
            "schema version {found}, expected {SCHEMA_VERSION}"
        )))
    }
}
