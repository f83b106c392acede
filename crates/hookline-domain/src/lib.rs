//! The vocabulary of hookline: what a valid message *is*.
//!
//! Every value a client can send is parsed here, once, into a newtype whose constructor
//! enforces the contract of `SPEC.md` ("parse, don't validate"). Once a [`Message`] exists, its
//! fields are known to be valid; no other crate re-checks them.
//!
//! Invariants:
//! - this crate does no I/O and knows nothing of HTTP, SQL or configuration;
//! - a [`Timestamp`] keeps the exact text the client sent, and exposes its [`Instant`] for
//!   ordering with nanosecond precision;
//! - lengths are counted in Unicode scalar values (what Python's `len` counts);
//! - [`parse_message`] reports *every* problem of a body at once, in the shape FastAPI uses
//!   (`loc` / `msg` / `type`), so a 422 from hookline reads like one from the original service.

mod error;
mod message;
mod time_value;

pub use error::{DomainError, FieldError};
pub use message::{
    E164_PATTERN, MAX_MESSAGE_ID_CHARS, MAX_MSISDN_DIGITS, MAX_TEXT_CHARS, Message, MessageId,
    Msisdn, Text, parse_message,
};
pub use time_value::{Instant, Timestamp, UTC_TIMESTAMP_PATTERN};
