//! The keyset cursor: an opaque, URL-safe name for a position in the list order.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hookline_domain::{Message, MessageId, Timestamp};

use crate::QueryError;

/// The first byte of every encoded cursor; a future layout gets a new version.
const VERSION: u8 = 1;
/// Length in bytes of an instant sort key (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`).
const SORT_KEY_LEN: usize = 30;

/// A position in the list order: just after the row with this instant sort key
/// ([`hookline_domain::Instant::sort_key`]) and `message_id`.
///
/// Encoded as URL-safe base64 without padding, with a version byte, so clients treat it as
/// opaque and it never needs escaping. The payload is the version byte, the 30-byte sort key,
/// then the `message_id` bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    ts_key: String,
    message_id: MessageId,
}

impl Cursor {
    /// The cursor right after `message`.
    pub fn after(message: &Message) -> Self {
        Self {
            ts_key: message.ts().instant().sort_key(),
            message_id: message.message_id().clone(),
        }
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
        let id = self.message_id.as_str().as_bytes();
        let mut raw = Vec::with_capacity(1 + self.ts_key.len() + id.len());
        raw.push(VERSION);
        raw.extend_from_slice(self.ts_key.as_bytes());
        raw.extend_from_slice(id);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Parses the opaque text form; anything that [`encode`](Self::encode) did not produce is
    /// [`QueryError::InvalidCursor`].
    pub fn decode(s: &str) -> Result<Self, QueryError> {
        let raw = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| QueryError::InvalidCursor)?;
        let [version, rest @ ..] = raw.as_slice() else {
            return Err(QueryError::InvalidCursor);
        };
        if *version != VERSION || rest.len() <= SORT_KEY_LEN {
            return Err(QueryError::InvalidCursor);
        }
        let (key, id) = rest.split_at(SORT_KEY_LEN);
        let key = std::str::from_utf8(key).map_err(|_| QueryError::InvalidCursor)?;
        // A sort key is itself a valid timestamp text, in canonical form.
        let ts = Timestamp::parse(key).map_err(|_| QueryError::InvalidCursor)?;
        if ts.instant().sort_key() != key {
            return Err(QueryError::InvalidCursor);
        }
        let id = std::str::from_utf8(id).map_err(|_| QueryError::InvalidCursor)?;
        let message_id = MessageId::parse(id).map_err(|_| QueryError::InvalidCursor)?;
        Ok(Self {
            ts_key: key.to_owned(),
            message_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use hookline_domain::{Msisdn, Text};

    use super::*;

    fn message(id: &str, ts: &str) -> Message {
        Message::new(
            MessageId::parse(id).unwrap(),
            Msisdn::parse("+919876543210").unwrap(),
            Msisdn::parse("+14155550100").unwrap(),
            Timestamp::parse(ts).unwrap(),
            Some(Text::parse("Hello").unwrap()),
        )
    }

    fn raw(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn after_names_the_instant_and_id() {
        let c = Cursor::after(&message("m1", "2025-01-15T10:00:00.5Z"));
        assert_eq!(c.ts_key(), "2025-01-15T10:00:00.500000000Z");
        assert_eq!(c.message_id().as_str(), "m1");
    }

    #[test]
    fn round_trips_and_is_url_safe() {
        let c = Cursor::after(&message("é/🙂+?&=", "2025-01-15T10:00:00Z"));
        let s = c.encode();
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(Cursor::decode(&s), Ok(c));
    }

    #[test]
    fn rejects_garbage_of_every_kind() {
        let key = b"2025-01-15T10:00:00.000000000Z";
        let good = [&[VERSION][..], key, b"m1"].concat();
        assert!(Cursor::decode(&raw(&good)).is_ok());
        let bad_key = [&[VERSION][..], b"2025-02-30T10:00:00.000000000Z", b"m1"].concat();
        let short_key = [&[VERSION][..], b"2025-01-15T10:00:00.0000000Z", b"m1"].concat();
        let not_canonical = [&[VERSION][..], b"2025-01-15T10:00:00.5Z00000000", b"m1"].concat();
        let cases: Vec<(&str, String)> = vec![
            ("empty", String::new()),
            ("not base64", "***".to_owned()),
            ("padding", format!("{}=", raw(&good))),
            ("standard alphabet", "+/+/".to_owned()),
            ("wrong version", raw(&[&[2u8][..], key, b"m1"].concat())),
            ("version only", raw(&[VERSION])),
            ("no message id", raw(&[&[VERSION][..], key].concat())),
            ("short", raw(&good[..20])),
            ("invalid date", raw(&bad_key)),
            ("short key", raw(&short_key)),
            ("non-canonical key", raw(&not_canonical)),
            (
                "non-utf8 id",
                raw(&[&[VERSION][..], key, &[0xff, 0xfe]].concat()),
            ),
            (
                "id too long",
                raw(&[&[VERSION][..], key, "x".repeat(1025).as_bytes()].concat()),
            ),
            (
                "non-utf8 key",
                raw(&[&[VERSION][..], &[0xff; 30], b"m1"].concat()),
            ),
        ];
        for (what, s) in cases {
            assert_eq!(Cursor::decode(&s), Err(QueryError::InvalidCursor), "{what}");
        }
    }
}
