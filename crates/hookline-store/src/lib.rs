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
//! [`MemoryStore`] implements the contract on the reference itself. The suite every backend
//! runs lives in its own crate, `hookline-store-conformance`, so that its test-only
//! dependencies (`proptest`, a tokio runtime) stay out of the server's dependency tree.
//!
//! # Why `async_trait`
//!
//! The server picks its backend from configuration at start-up and holds it as
//! `Arc<dyn MessageStore>`. Native `async fn` in traits (or `trait_variant`) cannot be used
//! through `dyn`; a server generic over the store would compile every route once per
//! backend. `async_trait` boxes each call's future instead — one small allocation per call,
//! next to a request that costs tens of microseconds.
//!
//! Invariants: no storage engine's types cross this trait — backends erase their errors
//! into [`StoreError`]; this crate depends on no async runtime.

mod memory;

pub use async_trait::async_trait;
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

/// A durable, exactly-once message store.
///
/// Every call is `async` and its future is `Send`, so a server calls it straight from its
/// request handlers. *How* a call waits is the backend's business: a writer thread's reply,
/// a blocking thread pool, a connection pool, or answering at once because the read is
/// cheap. The trait is object-safe (through [`async_trait`](macro@async_trait)), so the server holds an
/// `Arc<dyn MessageStore>` chosen by configuration.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Stores `message` unless its `message_id` is already stored. Returns only once the
    /// outcome is durable.
    async fn insert(&self, message: Message) -> Result<Inserted, StoreError>;

    /// The page `query` selects, as [`hookline_query::reference::list`] defines it.
    async fn list(&self, query: &ListQuery) -> Result<Page<Message>, StoreError>;

    /// The statistics, as [`hookline_query::reference::stats`] defines them.
    async fn stats(&self) -> Result<Stats, StoreError>;

    /// `Ok` when the store answers, can take writes and its schema is in place.
    async fn check_ready(&self) -> Result<(), StoreError>;
}

#[async_trait]
impl<S: MessageStore + ?Sized> MessageStore for std::sync::Arc<S> {
    async fn insert(&self, message: Message) -> Result<Inserted, StoreError> {
        (**self).insert(message).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Page<Message>, StoreError> {
        (**self).list(query).await
    }
    async fn stats(&self) -> Result<Stats, StoreError> {
        (**self).stats().await
    }
    async fn check_ready(&self) -> Result<(), StoreError> {
        (**self).check_ready().await
    }
}
