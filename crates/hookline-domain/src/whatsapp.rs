//! Meta's WhatsApp Cloud API webhook envelope, mapped to [`Message`]s.
//!
//! Meta posts one envelope per delivery:
//! `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{…}}]}]}`.
//! [`parse_envelope`] turns it into the [`Message`]s it carries, or into *every* problem it can
//! find at once, each with a FastAPI `loc` that points into the envelope, such as
//! `["body", "entry", 0, "changes", 1, "value", "messages", 2, "from"]`.
//!
//! # Mapping (`SPEC.md`, "GET and POST /webhook/whatsapp")
//!
//! Every item of every `entry[].changes[].value.messages[]` becomes one message:
//!
//! | field | from |
//! |---|---|
//! | `message_id` | the message's `id` (the `wamid`) |
//! | `from` | `+` and the message's `from` |
//! | `to` | `+` and the change's `value.metadata.display_phone_number` |
//! | `ts` | the message's `timestamp`, Unix seconds, as `YYYY-MM-DDTHH:MM:SSZ` |
//! | `text` | the first present of `text.body`, `image.caption`, `video.caption`, `document.caption`, `button.text`, `interactive.button_reply.title`, `interactive.list_reply.title`; else null |
//!
//! Each value goes through the domain's own constructors ([`MessageId::parse`],
//! [`Msisdn::parse`], [`Timestamp::from_unix_seconds`], [`Text::parse`]), so a mapped message
//! is exactly as valid as one posted to `/webhook`.
//!
//! The text rule does not look at the message's `type`: audio, sticker, location, contacts,
//! reaction, `unsupported`, and any type Meta adds later are stored with a null text (a
//! reaction's emoji is not a text, by the SPEC's list). Two messages with one `id` in a request
//! are both mapped; the store keeps the first.
//!
//! # Decisions where the SPEC is silent
//!
//! - **Phone numbers.** Meta's webhook references show `from` and `display_phone_number` as
//!   bare digits (`"16505551234"`, `"15550783881"`); their placeholder tables also show the user
//!   number once as `"+16505551234"`. So one leading `+` is accepted and dropped, and what
//!   remains must be 1 to 15 ASCII digits. Nothing else is stripped: Meta never documents
//!   spaces or dashes there, and guessing at a formatted number could store a wrong one.
//! - **`timestamp`.** Meta sends a string of digits; a JSON integer (as in some of Meta's other
//!   webhooks) is accepted too. Anything else, or a time after `9999-12-31T23:59:59Z`, is an
//!   error at that `timestamp`.
//! - **`object`.** Missing or not a string is an error. A string other than
//!   [`WHATSAPP_OBJECT`] (a Page or Instagram subscription pointed at the same URL) is
//!   acknowledged and ignored: nothing of it is read or stored, and
//!   [`Ignored::foreign_entries`] counts its entries for the log. Refusing it would only make
//!   Meta retry a delivery that can never succeed.
//! - **Changes.** A change whose `field` is `"messages"` (or absent) is read; any other
//!   `field` (`smb_message_echoes`, `account_update`, …) is acknowledged and counted in
//!   [`Ignored::changes`] without reading its `value`. `value.statuses` are counted in
//!   [`Ignored::statuses`] and never validated.
//! - **Strictness.** Unknown keys never fail a request. A key this mapping *reads* must have
//!   the right shape when present (an `image` that is not an object, a `caption` that is not a
//!   string, a text over [`MAX_TEXT_CHARS`](crate::MAX_TEXT_CHARS) characters): storing a
//!   message without its text would lose it silently, so it is an error instead. Required and
//!   `null` is a type error; optional and `null` is absent.
//! - **Empty** `entry`, `changes` or `messages`: valid, nothing stored. `metadata` is only
//!   required by a change that has messages.

use serde_json::{Map, Value};

use crate::message::json_object;
use crate::{DomainError, FieldError, LocSegment, Message, MessageId, Msisdn, Text, Timestamp};

/// The `object` of every WhatsApp Business Account envelope.
pub const WHATSAPP_OBJECT: &str = "whatsapp_business_account";

/// The `changes[].field` that carries inbound messages.
pub const MESSAGES_FIELD: &str = "messages";

/// A parsed envelope: the messages to store, and what was acknowledged without being stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    messages: Vec<Message>,
    ignored: Ignored,
}

impl Envelope {
    /// The inbound messages, in envelope order (entry, then change, then message).
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The inbound messages, by value.
    pub fn into_messages(self) -> Vec<Message> {
        self.messages
    }

    /// What the envelope held besides inbound messages.
    pub fn ignored(&self) -> Ignored {
        self.ignored
    }
}

/// Counts of what an envelope carried that is acknowledged and not stored, for the log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ignored {
    /// Items of `value.statuses` (sent / delivered / read / failed reports).
    pub statuses: usize,
    /// Changes whose `field` is not [`MESSAGES_FIELD`].
    pub changes: usize,
    /// Entries of an envelope whose `object` is not [`WHATSAPP_OBJECT`].
    pub foreign_entries: usize,
}

/// Parses a WhatsApp Cloud API webhook body into its messages, or into *all* of its problems.
///
/// Body-level problems are reported as [`parse_message`](crate::parse_message) reports them,
/// one error at `["body"]`: empty (`missing`), not JSON (`json_invalid`), not an object
/// (`model_attributes_type`). Otherwise every problem found in the envelope is reported, each
/// at its own `loc`, in document order; see the [module docs](self) for the mapping.
pub fn parse_envelope(body: &[u8]) -> Result<Envelope, Vec<FieldError>> {
    let root = json_object(body)?;
    let mut problems = Problems::default();
    let p = &mut problems;
    let body_loc = Loc::BODY;

    let object = required(
        &root,
        "object",
        Value::as_str,
        DomainError::NotAString,
        &body_loc,
        p,
    );
    if let Some(object) = object
        && object != WHATSAPP_OBJECT
    {
        let foreign_entries = root
            .get("entry")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        return Ok(Envelope {
            messages: Vec::new(),
            ignored: Ignored {
                foreign_entries,
                ..Ignored::default()
            },
        });
    }

    let mut envelope = Envelope {
        messages: Vec::new(),
        ignored: Ignored::default(),
    };
    let entries = required(
        &root,
        "entry",
        Value::as_array,
        DomainError::NotAList,
        &body_loc,
        p,
    );
    let entry_loc = body_loc.key("entry");
    for (i, entry) in entries.into_iter().flatten().enumerate() {
        let loc = entry_loc.index(i);
        let Some(entry) = as_object(entry, &loc, p) else {
            continue;
        };
        let changes = required(
            entry,
            "changes",
            Value::as_array,
            DomainError::NotAList,
            &loc,
            p,
        );
        let changes_loc = loc.key("changes");
        for (j, change) in changes.into_iter().flatten().enumerate() {
            read_change(change, &changes_loc.index(j), &mut envelope, p);
        }
    }

    if problems.0.is_empty() {
        Ok(envelope)
    } else {
        Err(problems.0)
    }
}

/// Reads one `changes[j]`, adding its messages and counts to `envelope`.
fn read_change(change: &Value, loc: &Loc<'_>, envelope: &mut Envelope, p: &mut Problems) {
    let Some(change) = as_object(change, loc, p) else {
        return;
    };
    let field = match lookup(change, "field", Value::as_str) {
        Lookup::Absent | Lookup::Null => MESSAGES_FIELD,
        Lookup::Present(field) => field,
        Lookup::WrongType => {
            p.push(&loc.key("field"), &DomainError::NotAString);
            return;
        }
    };
    if field != MESSAGES_FIELD {
        envelope.ignored.changes += 1;
        return;
    }
    let Some(value) = required(
        change,
        "value",
        Value::as_object,
        DomainError::NotAnObject,
        loc,
        p,
    ) else {
        return;
    };
    let value_loc = loc.key("value");

    if let Some(statuses) = value.get("statuses").and_then(Value::as_array) {
        envelope.ignored.statuses += statuses.len();
    }

    let messages = optional(
        value,
        "messages",
        Value::as_array,
        DomainError::NotAList,
        &value_loc,
        p,
    );
    let Some(messages) = messages.filter(|m| !m.is_empty()) else {
        return;
    };

    let to = required(
        value,
        "metadata",
        Value::as_object,
        DomainError::NotAnObject,
        &value_loc,
        p,
    )
    .and_then(|metadata| {
        let metadata_loc = value_loc.key("metadata");
        let number = required(
            metadata,
            "display_phone_number",
            Value::as_str,
            DomainError::NotAString,
            &metadata_loc,
            p,
        )?;
        checked(phone(number), &metadata_loc.key("display_phone_number"), p)
    });

    let messages_loc = value_loc.key("messages");
    for (k, message) in messages.iter().enumerate() {
        let message = read_message(message, &messages_loc.index(k), p);
        if let (Some(to), Some((id, from, ts, text))) = (&to, message) {
            envelope
                .messages
                .push(Message::new(id, from, to.clone(), ts, text));
        }
    }
}

/// Reads one `messages[k]`: every field but `to`, or `None` when a problem was recorded.
fn read_message(
    message: &Value,
    loc: &Loc<'_>,
    p: &mut Problems,
) -> Option<(MessageId, Msisdn, Timestamp, Option<Text>)> {
    let message = as_object(message, loc, p)?;
    let id = required(
        message,
        "id",
        Value::as_str,
        DomainError::NotAString,
        loc,
        p,
    )
    .and_then(|id| checked(MessageId::parse(id), &loc.key("id"), p));
    let from = required(
        message,
        "from",
        Value::as_str,
        DomainError::NotAString,
        loc,
        p,
    )
    .and_then(|from| checked(phone(from), &loc.key("from"), p));
    let ts = required(
        message,
        "timestamp",
        Some,
        DomainError::NotUnixSeconds,
        loc,
        p,
    )
    .and_then(|ts| checked(unix_seconds(ts), &loc.key("timestamp"), p));
    let text = message_text(message, loc, p);
    Some((id?, from?, ts?, text?))
}

/// Where a message's text comes from, in the SPEC's order of preference: the path of keys from
/// the message to a string.
const TEXT_SOURCES: [&[&str]; 7] = [
    &["text", "body"],
    &["image", "caption"],
    &["video", "caption"],
    &["document", "caption"],
    &["button", "text"],
    &["interactive", "button_reply", "title"],
    &["interactive", "list_reply", "title"],
];

/// The message's text: the first source present. `Some(None)` when none is; `None` when the
/// first present one is invalid (the problem is recorded).
fn message_text(
    message: &Map<String, Value>,
    loc: &Loc<'_>,
    p: &mut Problems,
) -> Option<Option<Text>> {
    for path in TEXT_SOURCES {
        match text_at(message, path, loc, p) {
            Source::Absent => {}
            Source::Found(text) => return Some(Some(text)),
            Source::Invalid => return None,
        }
    }
    Some(None)
}

/// What one text source holds.
enum Source {
    Absent,
    Found(Text),
    Invalid,
}

/// Follows `path` from `object`: objects down to a final string, parsed as a [`Text`].
fn text_at(object: &Map<String, Value>, path: &[&str], loc: &Loc<'_>, p: &mut Problems) -> Source {
    match path {
        [] => Source::Absent,
        [leaf] => match lookup(object, leaf, Value::as_str) {
            Lookup::Absent | Lookup::Null => Source::Absent,
            Lookup::Present(s) => {
                checked(Text::parse(s), &loc.key(leaf), p).map_or(Source::Invalid, Source::Found)
            }
            Lookup::WrongType => {
                p.push(&loc.key(leaf), &DomainError::NotAString);
                Source::Invalid
            }
        },
        [key, rest @ ..] => match lookup(object, key, Value::as_object) {
            Lookup::Absent | Lookup::Null => Source::Absent,
            Lookup::Present(inner) => text_at(inner, rest, &loc.key(key), p),
            Lookup::WrongType => {
                p.push(&loc.key(key), &DomainError::NotAnObject);
                Source::Invalid
            }
        },
    }
}

/// `+` and WhatsApp's digits (one leading `+` tolerated), through [`Msisdn::parse`].
fn phone(number: &str) -> Result<Msisdn, DomainError> {
    let digits = number.strip_prefix('+').unwrap_or(number);
    Msisdn::parse(&format!("+{digits}")).map_err(|_| DomainError::NotPhoneDigits)
}

/// A Unix time in whole seconds — a string of ASCII digits, or a JSON integer — as a
/// [`Timestamp`].
fn unix_seconds(value: &Value) -> Result<Timestamp, DomainError> {
    let seconds = match value {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            // Only digits: failing to fit a u64 means too large.
            s.parse::<u64>()
                .map_err(|_| DomainError::UnixSecondsOutOfRange)?
        }
        Value::Number(n) if n.is_u64() => n.as_u64().ok_or(DomainError::NotUnixSeconds)?,
        Value::Number(n) if n.is_i64() => return Err(DomainError::UnixSecondsOutOfRange),
        _ => return Err(DomainError::NotUnixSeconds),
    };
    Timestamp::from_unix_seconds(seconds)
}

// ---------------------------------------------------------------------------------------------
// Walking the JSON tree while keeping track of where we are.

/// A location in the body, as a chain of borrowed steps: building one costs nothing, and the
/// owned `loc` of a [`FieldError`] is only made when a problem is recorded.
#[derive(Clone, Copy)]
struct Loc<'a> {
    parent: Option<&'a Loc<'a>>,
    step: Step<'a>,
}

#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> Loc<'a> {
    const BODY: Loc<'static> = Loc {
        parent: None,
        step: Step::Key("body"),
    };

    fn key(&'a self, key: &'a str) -> Loc<'a> {
        Loc {
            parent: Some(self),
            step: Step::Key(key),
        }
    }

    fn index(&'a self, index: usize) -> Loc<'a> {
        Loc {
            parent: Some(self),
            step: Step::Index(index),
        }
    }

    fn segments(&self) -> Vec<LocSegment> {
        let mut steps = Vec::new();
        let mut at = Some(self);
        while let Some(loc) = at {
            steps.push(match loc.step {
                Step::Key(key) => LocSegment::from(key),
                Step::Index(index) => LocSegment::Index(index),
            });
            at = loc.parent;
        }
        steps.reverse();
        steps
    }
}

/// Every problem found so far.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn push(&mut self, loc: &Loc<'_>, err: &DomainError) {
        self.0.push(FieldError::from_domain_at(loc.segments(), err));
    }
}

/// What a key of an object holds, seen through a cast.
enum Lookup<T> {
    Absent,
    Null,
    Present(T),
    WrongType,
}

fn lookup<'v, T>(
    object: &'v Map<String, Value>,
    key: &str,
    cast: impl FnOnce(&'v Value) -> Option<T>,
) -> Lookup<T> {
    match object.get(key) {
        None => Lookup::Absent,
        Some(Value::Null) => Lookup::Null,
        Some(value) => cast(value).map_or(Lookup::WrongType, Lookup::Present),
    }
}

/// A required key: absent is `missing`, `null` or another type is `wrong_type`.
fn required<'v, T>(
    object: &'v Map<String, Value>,
    key: &str,
    cast: impl FnOnce(&'v Value) -> Option<T>,
    wrong_type: DomainError,
    loc: &Loc<'_>,
    p: &mut Problems,
) -> Option<T> {
    match lookup(object, key, cast) {
        Lookup::Present(value) => Some(value),
        Lookup::Absent => {
            p.push(&loc.key(key), &DomainError::Missing);
            None
        }
        Lookup::Null | Lookup::WrongType => {
            p.push(&loc.key(key), &wrong_type);
            None
        }
    }
}

/// An optional key: absent and `null` are `None`; another type is `wrong_type` (and `None`).
fn optional<'v, T>(
    object: &'v Map<String, Value>,
    key: &str,
    cast: impl FnOnce(&'v Value) -> Option<T>,
    wrong_type: DomainError,
    loc: &Loc<'_>,
    p: &mut Problems,
) -> Option<T> {
    match lookup(object, key, cast) {
        Lookup::Present(value) => Some(value),
        Lookup::Absent | Lookup::Null => None,
        Lookup::WrongType => {
            p.push(&loc.key(key), &wrong_type);
            None
        }
    }
}

/// An array item that must be an object.
fn as_object<'v>(
    value: &'v Value,
    loc: &Loc<'_>,
    p: &mut Problems,
) -> Option<&'v Map<String, Value>> {
    let object = value.as_object();
    if object.is_none() {
        p.push(loc, &DomainError::NotAnObject);
    }
    object
}

/// The value of a domain constructor, or its error recorded at `loc`.
fn checked<T>(result: Result<T, DomainError>, loc: &Loc<'_>, p: &mut Problems) -> Option<T> {
    result.map_err(|err| p.push(loc, &err)).ok()
}
