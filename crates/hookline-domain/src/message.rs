//! The message and its fields, and the one entry point that parses a raw webhook body.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::{DomainError, FieldError, Timestamp};

/// Most characters a `message_id` may have.
pub const MAX_MESSAGE_ID_CHARS: usize = 1024;
/// Most characters a `text` may have.
pub const MAX_TEXT_CHARS: usize = 4096;
/// Most digits an E.164 number has after its `+`.
pub const MAX_MSISDN_DIGITS: usize = 15;
/// What [`Msisdn::parse`] accepts, as a regular expression (the ECMA-262 subset JSON Schema
/// and OpenAPI use): `+` then 1 to [`MAX_MSISDN_DIGITS`] ASCII digits. A test keeps the two
/// in step.
pub const E164_PATTERN: &str = r"^\+[0-9]{1,15}$";

fn char_len_at_most(s: &str, max: usize) -> bool {
    // Cheap exit first: a string never has more characters than bytes.
    s.len() <= max || s.chars().count() <= max
}

/// A message's unique key: a non-empty string of at most 1024 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct MessageId(String);

impl MessageId {
    /// Parses a message id.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() {
            return Err(DomainError::TooShort { min: 1 });
        }
        if !char_len_at_most(s, MAX_MESSAGE_ID_CHARS) {
            return Err(DomainError::TooLong {
                max: MAX_MESSAGE_ID_CHARS,
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164 form: `+` followed by 1 to 15 ASCII digits, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Msisdn(String);

impl Msisdn {
    /// Parses an E.164 number. Non-ASCII digits (e.g. `٣` or `３`) are rejected.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.as_bytes() {
            [b'+', digits @ ..]
                if (1..=MAX_MSISDN_DIGITS).contains(&digits.len())
                    && digits.iter().all(u8::is_ascii_digit) =>
            {
                Ok(Self(s.to_owned()))
            }
            _ => Err(DomainError::NotE164),
        }
    }

    /// The number as text, with its leading `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A message body: at most 4096 characters (Unicode scalar values).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    /// Parses a message text.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if !char_len_at_most(s, MAX_TEXT_CHARS) {
            return Err(DomainError::TooLong {
                max: MAX_TEXT_CHARS,
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid message. Serializes to exactly the five keys of the contract:
/// `message_id`, `from`, `to`, `ts`, `text` (`null` when absent).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Message {
    message_id: MessageId,
    from: Msisdn,
    to: Msisdn,
    ts: Timestamp,
    text: Option<Text>,
}

impl Message {
    /// Assembles a message from already-valid parts.
    pub fn new(
        message_id: MessageId,
        from: Msisdn,
        to: Msisdn,
        ts: Timestamp,
        text: Option<Text>,
    ) -> Self {
        Self {
            message_id,
            from,
            to,
            ts,
            text,
        }
    }

    /// The unique key.
    pub fn message_id(&self) -> &MessageId {
        &self.message_id
    }

    /// The sender.
    pub fn from(&self) -> &Msisdn {
        &self.from
    }

    /// The recipient.
    pub fn to(&self) -> &Msisdn {
        &self.to
    }

    /// The timestamp as sent, with its instant.
    pub fn ts(&self) -> &Timestamp {
        &self.ts
    }

    /// The text, if any.
    pub fn text(&self) -> Option<&Text> {
        self.text.as_ref()
    }
}

/// Parses a raw webhook body into a [`Message`], or into *all* of its problems at once.
///
/// - An empty body: one `missing` error at `["body"]`.
/// - Not JSON: one `json_invalid` error at `["body"]`.
/// - JSON but not an object: one `model_attributes_type` error at `["body"]`.
/// - Otherwise one error per invalid field, in the order `message_id`, `from`, `to`, `ts`,
///   `text`, each at `["body", field]`. Unknown fields are ignored.
pub fn parse_message(body: &[u8]) -> Result<Message, Vec<FieldError>> {
    let object = json_object(body)?;

    let mut errors = Vec::new();
    let e = &mut errors;
    let id = field(
        &object,
        e,
        "message_id",
        Presence::Required,
        MessageId::parse,
    )
    .flatten();
    let from = field(&object, e, "from", Presence::Required, Msisdn::parse).flatten();
    let to = field(&object, e, "to", Presence::Required, Msisdn::parse).flatten();
    let ts = field(&object, e, "ts", Presence::Required, Timestamp::parse).flatten();
    let text = field(&object, e, "text", Presence::Optional, Text::parse);

    match (id, from, to, ts, text) {
        (Some(id), Some(from), Some(to), Some(ts), Some(text)) if errors.is_empty() => {
            Ok(Message::new(id, from, to, ts, text))
        }
        _ => Err(errors),
    }
}

/// Reads a body that must be one JSON object, with the three body-level errors at `["body"]`:
/// `missing` (empty or blank), `json_invalid`, and `model_attributes_type` (JSON, not an object).
pub(crate) fn json_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, Vec<FieldError>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(vec![FieldError::from_domain(
            &["body"],
            &DomainError::Missing,
        )]);
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        vec![FieldError::new(
            &["body"],
            format!("JSON decode error: {e}"),
            "json_invalid",
        )]
    })?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(vec![FieldError::new(
            &["body"],
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type",
        )]),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Presence {
    Required,
    /// May be absent or `null`.
    Optional,
}

/// Reads and parses one string field, recording at most one error at `["body", name]`.
/// `Some(None)` is an optional field that is absent or null; `None` means an error was recorded.
fn field<T>(
    object: &serde_json::Map<String, Value>,
    errors: &mut Vec<FieldError>,
    name: &str,
    presence: Presence,
    parse: impl FnOnce(&str) -> Result<T, DomainError>,
) -> Option<Option<T>> {
    let result = match object.get(name) {
        Some(Value::String(s)) => parse(s).map(Some),
        None | Some(Value::Null) if presence == Presence::Optional => Ok(None),
        None => Err(DomainError::Missing),
        Some(_) => Err(DomainError::NotAString),
    };
    result
        .map_err(|err| errors.push(FieldError::from_domain(&["body", name], &err)))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_e164_pattern_states_the_digit_limit_msisdn_parse_enforces() {
        assert_eq!(E164_PATTERN, format!(r"^\+[0-9]{{1,{MAX_MSISDN_DIGITS}}}$"));
        let longest = format!("+{}", "9".repeat(MAX_MSISDN_DIGITS));
        assert!(Msisdn::parse(&longest).is_ok());
        assert!(Msisdn::parse(&format!("{longest}9")).is_err());
    }
}
