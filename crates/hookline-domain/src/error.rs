//! Errors of the domain: one reason per rejected value, and the FastAPI-shaped field error.

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
}

impl DomainError {
    /// FastAPI's (pydantic v2's) error `type` for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            DomainError::Missing => "missing",
            DomainError::NotAString => "string_type",
            DomainError::TooShort { .. } => "string_too_short",
            DomainError::TooLong { .. } => "string_too_long",
            DomainError::NotE164 | DomainError::NotUtcTimestamp | DomainError::NotTimestamp => {
                "value_error"
            }
        }
    }
}

/// One problem with one input, in FastAPI's 422 shape: `{"loc":[…],"msg":"…","type":"…"}`.
///
/// `loc` starts with where the value came from (`"body"` or `"query"`) and then names the
/// field; a body that cannot be read at all has `loc` = `["body"]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    loc: Vec<String>,
    msg: String,
    #[serde(rename = "type")]
    kind: String,
}

impl FieldError {
    /// A field error at `loc` with a message and a FastAPI `type`.
    pub fn new(loc: &[&str], msg: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            loc: loc.iter().map(|s| (*s).to_owned()).collect(),
            msg: msg.into(),
            kind: kind.into(),
        }
    }

    /// A field error at `loc` from a [`DomainError`].
    pub fn from_domain(loc: &[&str], err: &DomainError) -> Self {
        Self::new(loc, err.to_string(), err.kind())
    }

    /// Where the problem is, e.g. `["body", "from"]`.
    pub fn loc(&self) -> &[String] {
        &self.loc
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
