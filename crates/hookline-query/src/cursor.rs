//! The keyset cursor: an opaque, URL-safe name for a position in the list order.

use hookline_domain::{Message, MessageId};

use crate::QueryError;

/// A position in the list order: just after the row with this instant sort key
/// ([`hookline_domain::Instant::sort_key`]) and `message_id`.
///
/// Encoded as URL-safe base64 without padding, with a version byte, so clients treat it as
/// opaque and it never needs escaping.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    ts_key: String,
    message_id: MessageId,
}

impl Cursor {
    /// The cursor right after `message`.
    pub fn after(message: &Message) -> Self {
        todo!()
    }

    /// The instant sort key of the row it names.
    pub fn ts_key(&self) -> &str {
        &self.ts_key
    }

    /// The `message_id` of the row it names.
    pub fn message_id(&self) -> &MessageId {
        &self.message_id
    }

    /// The opaque text form.
    pub fn encode(&self) -> String {
        todo!()
    }

    /// Parses the opaque text form; anything that [`encode`](Self::encode) did not produce is
    /// [`QueryError::InvalidCursor`].
    pub fn decode(s: &str) -> Result<Self, QueryError> {
        todo!()
    }
}
