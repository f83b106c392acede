//! The shared conformance suite of `hookline-store-conformance`, run against SQLite: a file
//! database as the server opens it, the same with every read sent to the blocking pool
//! (so both ways a read can be answered are checked), and the in-memory location.

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
