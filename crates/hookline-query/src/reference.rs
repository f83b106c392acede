//! The reference semantics: the exact answer to every query over a plain slice of messages.
//! The oracle every storage backend is tested against — obviously correct, not fast.

use std::cmp::Ordering;

use hookline_domain::Message;

use crate::{Filter, ListQuery, Page, Stats};

/// The list order: `ts` instant ascending, then `message_id` ascending.
pub fn order(a: &Message, b: &Message) -> Ordering {
    todo!()
}

/// Whether `message` passes every filter.
pub fn matches(filter: &Filter, message: &Message) -> bool {
    todo!()
}

/// The page `query` selects from `messages` (whose `message_id`s are distinct).
pub fn list(messages: &[Message], query: &ListQuery) -> Page<Message> {
    todo!()
}

/// The statistics of `messages` (whose `message_id`s are distinct).
pub fn stats(messages: &[Message]) -> Stats {
    todo!()
}
