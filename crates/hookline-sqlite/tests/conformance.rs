//! The shared conformance suite of `hookline-store-conformance`, run against SQLite: a file
//! database as the server opens it, the same with every read sent to the blocking pool
//! (so both ways a read can be answered are checked), and the in-memory location.
//!
//! Rows reach the index file behind the writer (the rows not indexed yet, the tail, are
//! answered from memory), so three more runs fix how far behind the indexer is: never
//! indexing (every row in the tail), indexing after every third row, and indexing as soon
//! as it is nudged (tails of every size, racing the reads).

use std::time::Duration;

use hookline_sqlite::{SqliteConfig, SqliteStore};
use hookline_store_conformance::Subject;

/// A fresh, empty file store in its own temporary folder, configured as the server does.
fn fresh_store() -> Subject {
    fresh_file_store(|_| {})
}

fn fresh_file_store(configure: impl FnOnce(&mut SqliteConfig)) -> Subject {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = SqliteConfig::file(dir.path().join("hookline.db"));
    configure(&mut config);
    let store = SqliteStore::open(config).expect("open store");
    Subject::new(store).keeping(dir)
}

/// A file store that answers no read inline.
fn fresh_blocking_reads_store() -> Subject {
    fresh_file_store(|config| config.inline_reads = false)
}

/// A file store whose indexer never runs while the store is open.
fn fresh_unindexed_store() -> Subject {
    fresh_file_store(|config| {
        config.index_batch = usize::MAX;
        config.index_idle = Duration::from_secs(3600);
    })
}

/// A file store whose indexer runs as soon as it is nudged.
fn fresh_indexed_store() -> Subject {
    fresh_file_store(|config| {
        config.index_batch = 1;
        config.index_idle = Duration::ZERO;
    })
}

/// A file store whose indexer runs once three rows wait (tails of 0 to 2 rows plus a
/// group, interleaved with indexed rows).
fn fresh_partly_indexed_store() -> Subject {
    fresh_file_store(|config| {
        config.index_batch = 3;
        config.index_idle = Duration::from_secs(3600);
    })
}

/// The in-memory location.
fn fresh_memory_store() -> Subject {
    Subject::new(SqliteStore::open(SqliteConfig::default()).expect("open in-memory store"))
}

hookline_store_conformance::conformance_tests!(fresh_store);

mod blocking_reads {
    use super::*;
    hookline_store_conformance::conformance_tests!(fresh_blocking_reads_store);
}

mod memory {
    use super::*;
    hookline_store_conformance::conformance_tests!(fresh_memory_store);
}

mod indexer_far_behind {
    use super::*;
    hookline_store_conformance::conformance_tests!(fresh_unindexed_store);
}

mod indexed_when_nudged {
    use super::*;
    hookline_store_conformance::conformance_tests!(fresh_indexed_store);
}

mod indexed_after_three_rows {
    use super::*;
    hookline_store_conformance::conformance_tests!(fresh_partly_indexed_store);
}
