//! The vocabulary of hookline: what a valid message *is*.
//!
//! Every value a client can send is parsed here, once, into a newtype whose constructor
//! enforces the contract of docs/API.md ("parse, don't validate"). Once a [`Message`] exists, its
//! fields are known to be valid; no other crate re-checks them.
//!
//! Invariants:
//! - this crate does no I/O and knows nothing of HTTP, SQL or configuration;
//! - a [`Timestamp`] keeps the exact text the client sent, and exposes its [`Instant`] for
//!   ordering with nanosecond precision;
//! - lengths are counted in Unicode scalar values (what Python's `len` counts);
//! - [`parse_message`] reports *every* problem of a body at once, in the shape FastAPI uses
//!   (`loc` / `msg` / `type`), so a 422 from hookline reads like one from the original service.
//!
//! [`whatsapp`] maps Meta's WhatsApp Cloud API webhook envelope to the same [`Message`]s,
//! through the same constructors: [`whatsapp::parse_envelope`] returns the messages to store
//! and counts of what is acknowledged without being stored (status updates, other changes), or
//! every problem at once with a `loc` that points into the envelope
//! (`["body", "entry", 0, "changes", 1, "value", "messages", 2, "from"]`; indexes are
//! [`LocSegment::Index`] and serialize as JSON numbers).

mod error;
mod message;
mod time_value;
pub mod whatsapp;

pub use error::{DomainError, FieldError, LocSegment};
pub use message::{
    E164_PATTERN, MAX_MESSAGE_ID_CHARS, MAX_MSISDN_DIGITS, MAX_TEXT_CHARS, Message, MessageId,
    Msisdn, Text, parse_message,
};
pub use time_value::{Instant, Timestamp, UTC_TIMESTAMP_PATTERN};
