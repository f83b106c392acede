//! `hookbench seed`: fills a hookline SQLite database with generated messages through
//! [`SqliteStore::insert_many`], in large groups (one transaction and one fsync each),
//! so the database is exactly what the server itself would have written — schema,
//! derived columns, statistics tables, full-text index — only faster.
//!
//! One thread builds the next group while the store's writer commits the current one.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hookline_domain::Message;
use hookline_sqlite::{SqliteConfig, SqliteStore};
use hookline_store::Inserted;

use crate::error::BenchError;
use crate::messages::MessageFactory;

/// What a seeding run did.
#[derive(Debug, Clone, Copy)]
pub struct SeedReport {
    /// Messages handed to the store.
    pub rows: u64,
    /// Of those, newly stored (the rest were already there).
    pub created: u64,
    /// Wall time, open to shutdown.
    pub elapsed: Duration,
}

impl SeedReport {
    /// Rows handed to the store per second.
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Inserts messages `0..rows` of `factory` into the database at `path` (created if
/// needed), `group` messages per `insert_many` call.
pub fn run(
    path: &Path,
    rows: u64,
    group: usize,
    factory: &MessageFactory,
    mut progress: impl FnMut(u64),
) -> Result<SeedReport, BenchError> {
    let db_error = |reason: String| BenchError::Database {
        path: path.to_owned(),
        reason,
    };
    let started = Instant::now();
    let store = SqliteStore::open(SqliteConfig::file(path)).map_err(|e| db_error(e.to_string()))?;
    let group = group.max(1) as u64;

    let (groups, ready) = mpsc::sync_channel::<Result<Vec<Message>, String>>(1);
    let factory = factory.clone();
    let producer = std::thread::Builder::new()
        .name("seed-generate".to_owned())
        .spawn(move || {
            let mut next = 0;
            while next < rows {
                let end = (next + group).min(rows);
                let batch: Result<Vec<Message>, String> =
                    (next..end).map(|i| factory.message(i)).collect();
                let failed = batch.is_err();
                if groups.send(batch).is_err() || failed {
                    return;
                }
                next = end;
            }
        })
        .map_err(|e| BenchError::Thread(format!("cannot start the generator: {e}")))?;

    let mut done = 0u64;
    let mut created = 0u64;
    let mut outcome = Ok(());
    for batch in ready {
        let result = batch.map_err(db_error).and_then(|batch| {
            let n = batch.len() as u64;
            let inserted = store
                .insert_many(batch)
                .map_err(|e| db_error(format!("insert_many: {e}")))?;
            created += inserted
                .iter()
                .filter(|i| matches!(i, Inserted::Created))
                .count() as u64;
            Ok(n)
        });
        match result {
            Ok(n) => {
                done += n;
                progress(done);
            }
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    // Dropping the receiver (end of the loop) stops the producer if we broke out early.
    let _ = producer.join();
    store.shutdown();
    outcome?;
    Ok(SeedReport {
        rows: done,
        created,
        elapsed: started.elapsed(),
    })
}
