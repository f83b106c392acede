//! The storage contract: what every message store promises, and a suite that checks it.
//!
//! [`MessageStore`] is the only way the server touches storage. A backend promises:
//! - **exactly once**: [`MessageStore::insert`] of a `message_id` already stored returns
//!   [`Inserted::Duplicate`] and leaves the stored row unchanged, also under concurrency —
//!   of any number of simultaneous inserts of one id, exactly one returns [`Inserted::Created`];
//! - **durable acknowledgement**: when `insert` returns `Ok`, the row survives a crash;
//! - **reference answers**: `list` and `stats` return exactly what
//!   [`hookline_query::reference`] computes over the stored messages;
//! - **honest failure**: an environment problem (disk full, database locked past its timeout,
//!   I/O error) is [`StoreError::Unavailable`], never a panic.
//!
//! [`MemoryStore`] implements the contract on the reference itself. The [`conformance`] module
//! is the suite every backend runs (see [`conformance_tests!`]).
//!
//! Invariant: no storage engine's types cross this trait — backends erase their errors into
//! [`StoreError`].

pub mod conformance;
mod memory;

use hookline_domain::Message;
use hookline_query::{ListQuery, Page, Stats};

pub use memory::MemoryStore;

/// A boxed error from a backend, kept for the cause chain in logs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Inserted {
    /// The message was new and is now durably stored.
    Created,
    /// A message with this `message_id` was already stored; nothing changed.
    Duplicate,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The environment refuses: disk full, database locked past its timeout, I/O error,
    /// database closed. Retrying later may succeed. Maps to 503.
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    /// The store is reachable but not fit to serve (e.g. schema missing or too new).
    #[error("storage not ready: {0}")]
    NotReady(String),
    /// A broken invariant inside the backend (a bug, or a corrupt row).
    #[error("storage internal error")]
    Internal(#[source] BoxError),
}

impl StoreError {
    /// An [`StoreError::Unavailable`] from any error.
    pub fn unavailable(e: impl Into<BoxError>) -> Self {
        StoreError::Unavailable(e.into())
    }

    /// An [`StoreError::Internal`] from any error.
    pub fn internal(e: impl Into<BoxError>) -> Self {
        StoreError::Internal(e.into())
    }
}

/// Receives the outcome of [`MessageStore::insert_queued`], on whichever thread the store
/// finishes the insert.
pub type InsertDone = Box<dyn FnOnce(Result<Inserted, StoreError>) + Send>;

/// A durable, exactly-once message store. Calls block; async callers run them on a
/// blocking thread pool.
pub trait MessageStore: Send + Sync {
    /// Stores `message` unless its `message_id` is already stored. Returns only once the
    /// outcome is durable.
    fn insert(&self, message: Message) -> Result<Inserted, StoreError>;

    /// The page `query` selects, as [`hookline_query::reference::list`] defines it.
    fn list(&self, query: &ListQuery) -> Result<Page<Message>, StoreError>;

    /// The statistics, as [`hookline_query::reference::stats`] defines them.
    fn stats(&self) -> Result<Stats, StoreError>;

    /// `Ok` when the store answers and its schema is in place.
    fn check_ready(&self) -> Result<(), StoreError>;

    /// Queues `message` for insertion and returns without waiting; `done` receives what
    /// [`insert`](Self::insert) would have returned, once the outcome is durable, on a
    /// thread of the store's choosing (it must not block for long, and should not panic).
    /// `Err` hands `message` back when this store cannot insert without blocking the
    /// caller: call [`insert`](Self::insert) where blocking is allowed instead.
    ///
    /// Async callers use this to wait for a durable insert without holding a blocking
    /// thread; the default never queues.
    fn insert_queued(&self, message: Message, done: InsertDone) -> Result<(), Box<Message>> {
        let _ = done;
        Err(Box::new(message))
    }

    /// Answers `query` on the calling thread, if this store can do so at once: in a short,
    /// bounded time, without waiting for a lock or a connection. `None` means "not now":
    /// call [`list`](Self::list) where blocking is allowed. An answer is exactly what
    /// [`list`](Self::list) would return.
    ///
    /// Async callers use this to skip the hand-off to a blocking thread for cheap reads;
    /// the default never answers.
    fn list_now(&self, query: &ListQuery) -> Option<Result<Page<Message>, StoreError>> {
        let _ = query;
        None
    }

    /// [`stats`](Self::stats) on the calling thread, under the rules of
    /// [`list_now`](Self::list_now). The default never answers.
    fn stats_now(&self) -> Option<Result<Stats, StoreError>> {
        None
    }
}

impl<S: MessageStore + ?Sized> MessageStore for std::sync::Arc<S> {
    fn insert(&self, message: Message) -> Result<Inserted, StoreError> {
        (**self).insert(message)
    }
    fn list(&self, query: &ListQuery) -> Result<Page<Message>, StoreError> {
        (**self).list(query)
    }
    fn stats(&self) -> Result<Stats, StoreError> {
        (**self).stats()
    }
    fn check_ready(&self) -> Result<(), StoreError> {
        (**self).check_ready()
    }
    fn insert_queued(&self, message: Message, done: InsertDone) -> Result<(), Box<Message>> {
        (**self).insert_queued(message, done)
    }
    fn list_now(&self, query: &ListQuery) -> Option<Result<Page<Message>, StoreError>> {
        (**self).list_now(query)
    }
    fn stats_now(&self) -> Option<Result<Stats, StoreError>> {
        (**self).stats_now()
    }
}
