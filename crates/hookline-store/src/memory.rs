//! An in-memory store built directly on the reference semantics.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

use hookline_domain::{Message, MessageId};
use hookline_query::{ListQuery, Page, Stats, reference};

use crate::{Inserted, MessageStore, StoreError, async_trait};

/// A store that keeps messages in memory and answers with [`hookline_query::reference`].
///
/// Thread-safe: one mutex guards the rows, so an insert checks and stores atomically and
/// exactly one of several concurrent inserts of a `message_id` is [`Inserted::Created`].
/// Nothing survives the process; use it for tests and throw-away deployments. Every call
/// answers at once (the lock is held for a short, bounded time), so it never yields.
#[derive(Debug, Default)]
pub struct MemoryStore {
    rows: Mutex<Rows>,
}

#[derive(Debug, Default)]
struct Rows {
    ids: HashSet<MessageId>,
    messages: Vec<Message>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many messages are stored.
    pub fn len(&self) -> usize {
        self.rows().messages.len()
    }

    /// Whether no message is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn rows(&self) -> MutexGuard<'_, Rows> {
        // Every critical section leaves `Rows` consistent, so a panic elsewhere while the
        // lock was held does not invalidate the data.
        self.rows.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn insert(&self, message: Message) -> Result<Inserted, StoreError> {
        let mut rows = self.rows();
        if rows.ids.contains(message.message_id()) {
            return Ok(Inserted::Duplicate);
        }
        rows.ids.insert(message.message_id().clone());
        rows.messages.push(message);
        Ok(Inserted::Created)
    }

    async fn list(&self, query: &ListQuery) -> Result<Page<Message>, StoreError> {
        Ok(reference::list(&self.rows().messages, query))
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        Ok(reference::stats(&self.rows().messages))
    }

    async fn check_ready(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
