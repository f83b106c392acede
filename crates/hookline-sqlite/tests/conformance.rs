//! The shared conformance suite of `hookline-store`, run against a file-backed SQLite store.

use std::ops::Deref;

use hookline_domain::Message;
use hookline_query::{ListQuery, Page, Stats};
use hookline_sqlite::{SqliteConfig, SqliteStore};
use hookline_store::{Inserted, MessageStore, StoreError};

/// A store and the temporary folder its file lives in, removed together.
struct TempStore {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl Deref for TempStore {
    type Target = SqliteStore;
    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

impl MessageStore for TempStore {
    fn insert(&self, message: Message) -> Result<Inserted, StoreError> {
        self.store.insert(message)
    }
    fn list(&self, query: &ListQuery) -> Result<Page<Message>, StoreError> {
        self.store.list(query)
    }
    fn stats(&self) -> Result<Stats, StoreError> {
        self.store.stats()
    }
    fn check_ready(&self) -> Result<(), StoreError> {
        self.store.check_ready()
    }
    fn list_now(&self, query: &ListQuery) -> Option<Result<Page<Message>, StoreError>> {
        self.store.list_now(query)
    }
    fn stats_now(&self) -> Option<Result<Stats, StoreError>> {
        self.store.stats_now()
    }
}

/// A fresh, empty store in its own temporary folder.
fn fresh_store() -> TempStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        SqliteStore::open(SqliteConfig::file(dir.path().join("hookline.db"))).expect("open store");
    TempStore { store, _dir: dir }
}

/// The same suite against the in-memory location.
fn fresh_memory_store() -> SqliteStore {
    SqliteStore::open(SqliteConfig::default()).expect("open in-memory store")
}

hookline_store::conformance_tests!(fresh_store);

mod memory {
    use super::*;
    hookline_store::conformance_tests!(fresh_memory_store);
}
