//! The `GET /stats` answer.

use serde::Serialize;

/// How many senders `messages_per_sender` lists.
pub const TOP_SENDERS: usize = 10;

/// One sender and how many messages it sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SenderCount {
    /// The sender's number.
    pub from: String,
    /// Messages stored from it.
    pub count: u64,
}

/// The `GET /stats` response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// All stored messages.
    pub total_messages: u64,
    /// Distinct senders.
    pub senders_count: u64,
    /// The top [`TOP_SENDERS`] senders by count, descending; ties by `from` ascending.
    pub messages_per_sender: Vec<SenderCount>,
    /// The earliest `ts` by instant, as sent (ties between spellings of one instant: the
    /// smallest text); `None` when there are no messages.
    pub first_message_ts: Option<String>,
    /// The latest `ts` by instant, as sent (ties: the largest text); `None` when empty.
    pub last_message_ts: Option<String>,
}
