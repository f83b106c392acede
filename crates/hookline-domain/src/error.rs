//! Errors of the domain: one reason per rejected value, and the FastAPI-shaped field error.

use std::fmt;

use serde::Serialize;

/// Why a single value was rejected. The `Display` text is the human message; [`kind`]
/// gives FastAPI's machine-readable `type`.
///
/// [`kind`]: DomainError::kind
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The value was required and absent.
    #[error("Field required")]
    Missing,
    /// The value was present but not a JSON string.
    #[error("Input should be a valid string")]
    NotAString,
    /// The string was empty where at least one character is needed.
    #[error("String should have at least {min} character")]
    TooShort {
        /// Minimum length in characters.
        min: usize,
    },
    /// The string was longer than allowed.
    #[error("String should have at most {max} characters")]
    TooLong {
        /// Maximum length in characters.
        max: usize,
    },
    /// Not an E.164 number.
    #[error("Value error, must be E.164: '+' followed by 1 to 15 digits")]
    NotE164,
    /// Not an RFC 3339 UTC timestamp ending in `Z`.
    #[error("Value error, must be an RFC 3339 UTC timestamp such as 2025-01-15T10:00:00Z")]
    NotUtcTimestamp,
    /// Not an RFC 3339 timestamp (any offset).
    #[error("Value error, must be an RFC 3339 timestamp such as 2025-01-15T10:00:00Z")]
    NotTimestamp,
    /// Present but not a JSON object.
    #[error("Input should be a valid dictionary or object to extract fields from")]
    NotAnObject,
    /// Present but not a JSON array.
    #[error("Input should be a valid list")]
    NotAList,
    /// Not a Unix time in whole seconds (ASCII digits, or a JSON integer).
    #[error("Value error, must be a Unix time in whole seconds such as \"1674727200\"")]
    NotUnixSeconds,
    /// A Unix time in seconds outside what a [`Timestamp`](crate::Timestamp) can denote.
    #[error("Value error, must be a Unix time from 0 to 253402300799 (years 1970 to 9999)")]
    UnixSecondsOutOfRange,
    /// Not a phone number written as digits (WhatsApp's form of E.164, without the `+`).
    #[error("Value error, must be 1 to 15 digits, optionally after a '+'")]
    NotPhoneDigits,
}

impl DomainError {
    /// FastAPI's (pydantic v2's) error `type` for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            DomainError::Missing => "missing",
            DomainError::NotAString => "string_type",
            DomainError::TooShort { .. } => "string_too_short",
            DomainError::TooLong { .. } => "string_too_long",
            DomainError::NotAnObject => "model_type",
            DomainError::NotAList => "list_type",
            DomainError::NotE164
            | DomainError::NotUtcTimestamp
            | DomainError::NotTimestamp
            | DomainError::NotUnixSeconds
            | DomainError::UnixSecondsOutOfRange
            | DomainError::NotPhoneDigits => "value_error",
        }
    }
}

/// One step of a [`FieldError`]'s location: an object key or an array index.
///
/// Serializes untagged, so a location reads as FastAPI writes it:
/// `["body", "entry", 0, "changes", 1]` — keys as JSON strings, indexes as JSON numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum LocSegment {
    /// An object key, or the source (`"body"`, `"query"`).
    Key(String),
    /// A zero-based position in a JSON array.
    Index(usize),
}

impl fmt::Display for LocSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocSegment::Key(key) => f.write_str(key),
            LocSegment::Index(index) => write!(f, "{index}"),
        }
    }
}

impl From<&str> for LocSegment {
    fn from(key: &str) -> Self {
        LocSegment::Key(key.to_owned())
    }
}

impl From<String> for LocSegment {
    fn from(key: String) -> Self {
        LocSegment::Key(key)
    }
}

impl From<usize> for LocSegment {
    fn from(index: usize) -> Self {
        LocSegment::Index(index)
    }
}

/// One problem with one input, in FastAPI's 422 shape: `{"loc":[…],"msg":"…","type":"…"}`.
///
/// `loc` starts with where the value came from (`"body"` or `"query"`) and then names the
/// field; a body that cannot be read at all has `loc` = `["body"]`. Inside nested bodies (the
/// WhatsApp envelope) `loc` also holds array indexes; serialized, they are JSON numbers, as in
/// FastAPI (`["body", "entry", 0, "changes", 1, "value"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    #[serde(rename = "loc")]
    segments: Vec<LocSegment>,
    /// `segments` as text, kept for [`FieldError::loc`], whose callers expect strings.
    #[serde(skip)]
    loc: Vec<String>,
    msg: String,
    #[serde(rename = "type")]
    kind: String,
}

impl FieldError {
    /// A field error at `loc` with a message and a FastAPI `type`.
    pub fn new(loc: &[&str], msg: impl Into<String>, kind: impl Into<String>) -> Self {
        Self::at(
            loc.iter().map(|&key| LocSegment::from(key)).collect(),
            msg,
            kind,
        )
    }

    /// A field error at a location that may hold array indexes, e.g.
    /// `["body", "entry", 0, "changes"]`.
    pub fn at(loc: Vec<LocSegment>, msg: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            loc: loc.iter().map(LocSegment::to_string).collect(),
            segments: loc,
            msg: msg.into(),
            kind: kind.into(),
        }
    }

    /// A field error at `loc` from a [`DomainError`].
    pub fn from_domain(loc: &[&str], err: &DomainError) -> Self {
        Self::new(loc, err.to_string(), err.kind())
    }

    /// A field error from a [`DomainError`] at a location that may hold array indexes.
    pub fn from_domain_at(loc: Vec<LocSegment>, err: &DomainError) -> Self {
        Self::at(loc, err.to_string(), err.kind())
    }

    /// Where the problem is, every segment as text, e.g. `["body", "from"]`; an array index
    /// appears in decimal (`"0"`). [`loc_segments`](Self::loc_segments) keeps indexes apart.
    pub fn loc(&self) -> &[String] {
        &self.loc
    }

    /// Where the problem is, with array indexes as numbers: what the 422 body should carry.
    pub fn loc_segments(&self) -> &[LocSegment] {
        &self.segments
    }

    /// The human-readable message.
    pub fn msg(&self) -> &str {
        &self.msg
    }

    /// The machine-readable FastAPI `type`, e.g. `"missing"`.
    pub fn kind(&self) -> &str {
        &self.kind
    }
}
