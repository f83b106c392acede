//! The JSON bodies the server sends, as types: each is what a handler serializes *and* what
//! the OpenAPI document describes, so the document cannot drift from the wire.
//!
//! List and stats bodies borrow from the store's [`Page`] and [`Stats`] instead of copying;
//! a unit test checks that they serialize exactly as those types do.

use hookline_domain::{FieldError, LocSegment, Message};
use hookline_query::{Page, SenderCount, Stats};
use serde::Serialize;
use utoipa::ToSchema;

/// `{"status":"ok"}`: the webhook was stored, or was already stored.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct WebhookAccepted {
    /// Always `"ok"`.
    pub status: &'static str,
}

impl WebhookAccepted {
    /// The only value.
    pub const OK: Self = Self { status: "ok" };
}

/// `{"detail":"…"}`: FastAPI's body for an error with a plain message.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"detail": "invalid signature"}))]
pub struct Detail {
    /// What went wrong, in lower case.
    pub detail: &'static str,
}

/// One problem in a 422 body: `{"loc":[…],"msg":"…","type":"…"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationIssue<'a> {
    /// Where the problem is: `["body", field]`, `["body"]`, or `["query", parameter]`; inside
    /// a WhatsApp envelope also array indexes, as JSON numbers
    /// (`["body", "entry", 0, "changes", 0, "value", "messages", 1, "from"]`).
    #[schema(value_type = Vec<LocItem>, example = json!(["body", "from"]))]
    pub loc: &'a [LocSegment],
    /// A human-readable message.
    #[schema(example = "Value error, must be E.164: '+' followed by 1 to 15 digits")]
    pub msg: &'a str,
    /// A machine-readable kind, as pydantic names it (`missing`, `string_type`, …).
    #[serde(rename = "type")]
    #[schema(example = "value_error")]
    pub kind: &'a str,
}

impl<'a> From<&'a FieldError> for ValidationIssue<'a> {
    fn from(e: &'a FieldError) -> Self {
        Self {
            loc: e.loc_segments(),
            msg: e.msg(),
            kind: e.kind(),
        }
    }
}

/// One `loc` item: an object key or source (a string), or an array index (an integer).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Only its schema is used: `LocSegment` is what serializes.
pub enum LocItem {
    /// An object key, or `"body"` / `"query"`.
    Key(String),
    /// A zero-based array index.
    Index(u64),
}

/// The 422 body: `{"detail":[…]}`, one entry per problem, in FastAPI's shape.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"detail": [
    {"loc": ["body", "from"], "msg": "Value error, must be E.164: '+' followed by 1 to 15 digits", "type": "value_error"},
    {"loc": ["body", "ts"], "msg": "Field required", "type": "missing"}
]}))]
pub struct ValidationErrors<'a> {
    /// Every problem found.
    pub detail: Vec<ValidationIssue<'a>>,
}

impl<'a> ValidationErrors<'a> {
    /// The body for a list of field errors.
    pub fn new(errors: &'a [FieldError]) -> Self {
        Self {
            detail: errors.iter().map(ValidationIssue::from).collect(),
        }
    }
}

/// One stored message: exactly these five keys (`text` is `null` when absent).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"message_id": "m1", "from": "+919876543210", "to": "+14155550100",
    "ts": "2025-01-15T10:00:00Z", "text": "Hello"}))]
pub struct MessageItem<'a> {
    /// The unique key, as sent.
    pub message_id: &'a str,
    /// The sender, E.164.
    pub from: &'a str,
    /// The recipient, E.164.
    pub to: &'a str,
    /// The timestamp exactly as sent (RFC 3339, UTC).
    pub ts: &'a str,
    /// The text, or `null`.
    #[schema(required = true)]
    pub text: Option<&'a str>,
}

impl<'a> From<&'a Message> for MessageItem<'a> {
    fn from(m: &'a Message) -> Self {
        Self {
            message_id: m.message_id().as_str(),
            from: m.from().as_str(),
            to: m.to().as_str(),
            ts: m.ts().as_str(),
            text: m.text().map(|t| t.as_str()),
        }
    }
}

/// The `GET /messages` body: one page and how to get the next.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"data": [{"message_id": "m1", "from": "+919876543210",
    "to": "+14155550100", "ts": "2025-01-15T10:00:00Z", "text": "Hello"}],
    "total": 1, "limit": 50, "offset": 0, "next_cursor": null}))]
pub struct MessagesPage<'a> {
    /// The rows of this page, ordered by `ts` (as instants), then `message_id`.
    pub data: Vec<MessageItem<'a>>,
    /// Rows matching the filters, ignoring `limit`, `offset` and `cursor`.
    pub total: u64,
    /// The page size used.
    pub limit: u32,
    /// The offset used (0 on a cursor page).
    pub offset: u64,
    /// Pass as `cursor` to get the page after this one; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<&'a str>,
}

impl<'a> From<&'a Page<Message>> for MessagesPage<'a> {
    fn from(page: &'a Page<Message>) -> Self {
        Self {
            data: page.data.iter().map(MessageItem::from).collect(),
            total: page.total,
            limit: page.limit,
            offset: page.offset,
            next_cursor: page.next_cursor.as_deref(),
        }
    }
}

/// One sender and how many messages it sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct SenderCountItem<'a> {
    /// The sender, E.164.
    pub from: &'a str,
    /// Messages stored from it.
    pub count: u64,
}

/// The `GET /stats` body.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"total_messages": 123, "senders_count": 10,
    "messages_per_sender": [{"from": "+919876543210", "count": 50}],
    "first_message_ts": "2025-01-10T09:00:00Z", "last_message_ts": "2025-01-15T10:00:00Z"}))]
pub struct StatsBody<'a> {
    /// Every stored message.
    pub total_messages: u64,
    /// Distinct senders.
    pub senders_count: u64,
    /// The top 10 senders by count, descending; ties by `from` ascending.
    pub messages_per_sender: Vec<SenderCountItem<'a>>,
    /// The earliest `ts` (as an instant), as sent; `null` when there are no messages.
    #[schema(required = true)]
    pub first_message_ts: Option<&'a str>,
    /// The latest `ts` (as an instant), as sent; `null` when there are no messages.
    #[schema(required = true)]
    pub last_message_ts: Option<&'a str>,
}

impl<'a> From<&'a Stats> for StatsBody<'a> {
    fn from(s: &'a Stats) -> Self {
        Self {
            total_messages: s.total_messages,
            senders_count: s.senders_count,
            messages_per_sender: s
                .messages_per_sender
                .iter()
                .map(|SenderCount { from, count }| SenderCountItem {
                    from,
                    count: *count,
                })
                .collect(),
            first_message_ts: s.first_message_ts.as_deref(),
            last_message_ts: s.last_message_ts.as_deref(),
        }
    }
}

/// `{"status":"alive"}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "alive"}))]
pub struct Liveness {
    /// Always `"alive"`.
    pub status: &'static str,
}

/// `{"status":"ready"}`, or `{"status":"not ready","reason":"…"}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "not ready", "reason": "webhook secret not configured"}))]
pub struct Readiness {
    /// `"ready"` or `"not ready"`.
    pub status: &'static str,
    /// Why not ready; absent when ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use hookline_domain::parse_message;
    use hookline_query::{SenderCount, Stats};

    use super::*;

    fn message(text: Option<&str>) -> Message {
        let mut body = serde_json::json!({"message_id": "m1", "from": "+919876543210",
            "to": "+14155550100", "ts": "2025-01-15T10:00:00.5Z"});
        if let Some(text) = text {
            body["text"] = text.into();
        }
        parse_message(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn a_page_serializes_exactly_as_the_query_crate_defines_it() {
        for next_cursor in [None, Some("abc".to_owned())] {
            let page = Page {
                data: vec![message(Some("Héllo")), message(None)],
                total: 7,
                limit: 2,
                offset: 3,
                next_cursor,
            };
            assert_eq!(
                serde_json::to_value(MessagesPage::from(&page)).unwrap(),
                serde_json::to_value(&page).unwrap()
            );
        }
    }

    #[test]
    fn stats_serialize_exactly_as_the_query_crate_defines_them() {
        for (first, last) in [(None, None), (Some("a"), Some("b"))] {
            let stats = Stats {
                total_messages: 3,
                senders_count: 2,
                messages_per_sender: vec![SenderCount {
                    from: "+1".into(),
                    count: 2,
                }],
                first_message_ts: first.map(str::to_owned),
                last_message_ts: last.map(str::to_owned),
            };
            assert_eq!(
                serde_json::to_value(StatsBody::from(&stats)).unwrap(),
                serde_json::to_value(&stats).unwrap()
            );
        }
    }

    #[test]
    fn validation_errors_have_fastapi_shape() {
        let errors = parse_message(b"[]").unwrap_err();
        let body = serde_json::to_value(ValidationErrors::new(&errors)).unwrap();
        assert_eq!(
            body["detail"][0],
            serde_json::to_value(&errors[0]).unwrap(),
            "{body}"
        );
    }
}
