//! An in-memory store built directly on the reference semantics.

use hookline_domain::Message;
use hookline_query::{ListQuery, Page, Stats};

use crate::{Inserted, MessageStore, StoreError};

/// A store that keeps messages in memory and answers with [`hookline_query::reference`].
#[derive(Debug, Default)]
pub struct MemoryStore {}

impl MessageStore for MemoryStore {
    fn insert(&self, _message: Message) -> Result<Inserted, StoreError> {
        todo!()
    }
    fn list(&self, _query: &ListQuery) -> Result<Page<Message>, StoreError> {
        todo!()
    }
    fn stats(&self) -> Result<Stats, StoreError> {
        todo!()
    }
    fn check_ready(&self) -> Result<(), StoreError> {
        todo!()
    }
}
