//! What a list or stats query *means*, independent of any storage engine.
//!
//! `GET /messages` and `GET /stats` are defined here once: [`ListQuery::parse`] turns raw query
//! parameters into a validated query (or FastAPI-shaped errors at `["query", name]`), and
//! [`reference`](mod@reference) computes the exact answer over a plain slice of messages. Every storage
//! backend is tested against [`reference`](mod@reference), so it is written to be obviously correct, not fast.
//!
//! Invariants:
//! - order is always the instant of `ts` ascending, then `message_id` ascending (byte order);
//! - `q` matches a case-insensitive substring of `text`, folded with [`fold_case`]; `%` and `_`
//!   are ordinary characters;
//! - a [`Cursor`] names the last row of a page by its position in that order, so it stays
//!   valid while rows are added, and a backend can seek to it in constant time;
//! - this crate does no I/O.

mod cursor;
mod list;
mod params;
pub mod reference;
mod stats;

pub use cursor::Cursor;
pub use list::{
    DEFAULT_LIMIT, Filter, ListQuery, MAX_LIMIT, MAX_OFFSET, MIN_LIMIT, MIN_OFFSET, Page,
    PageStart, fold_case,
};
pub use stats::{SenderCount, Stats, TOP_SENDERS};

/// Why a query value could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `limit` outside 1..=100.
    #[error("limit must be between 1 and {max}")]
    LimitOutOfRange {
        /// The largest allowed limit.
        max: u32,
    },
    /// `offset` larger than a backend can address.
    #[error("offset must be between 0 and {max}")]
    OffsetOutOfRange {
        /// The largest allowed offset.
        max: u64,
    },
    /// A cursor string that does not decode to a position.
    #[error("invalid cursor")]
    InvalidCursor,
    /// A cursor sent together with a non-zero offset.
    #[error("cursor cannot be combined with offset")]
    CursorWithOffset,
}
