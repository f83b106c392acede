//! The synthetic messages both `load` and `seed` produce, shaped like the reference
//! `gen.py` of the load kit: distinct ids (`PREFIX-NNNNNNNNN`), `ts` spread over 2025 by
//! the same formula, a sender drawn from N numbers (`+91` then `9000000000 + k`), and a
//! text of 3–19 words from a twelve-word vocabulary.
//!
//! Message `i` of a prefix is a pure function of `(prefix, i)` (a SplitMix64 stream
//! seeded by `i`), so any worker can make any message without coordination and a run is
//! reproducible.

use hookline_domain::{Message, MessageId, Msisdn, Text, Timestamp};

/// The vocabulary of generated texts (the same as `gen.py`'s).
pub const WORDS: [&str; 12] = [
    "hello",
    "order",
    "shipped",
    "refund",
    "thanks",
    "please",
    "call",
    "tomorrow",
    "invoice",
    "delivered",
    "cancel",
    "status",
];

/// The recipient of every generated message.
pub const TO: &str = "+14155550100";

/// The first sender number; sender `k` is `+91` followed by `9000000000 + k`.
const FIRST_SENDER: u64 = 9_000_000_000;

/// The `from` of sender `k`.
pub fn sender(k: u64) -> String {
    format!("+91{}", FIRST_SENDER + k)
}

/// Checks a message-id prefix: 1–64 characters of `[A-Za-z0-9._-]`, so ids need no JSON
/// escaping and fit the 1024-character limit with room to spare.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err("expected 1-64 characters of A-Z a-z 0-9 . _ -".to_owned())
    }
}

/// SplitMix64: tiny, fast, and good enough to pick words and senders.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Makes message `i` of one run.
#[derive(Debug, Clone)]
pub struct MessageFactory {
    prefix: String,
    senders: u64,
}

/// The fields of one generated message, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    /// `PREFIX-NNNNNNNNN`.
    pub message_id: String,
    /// One of the senders.
    pub from: String,
    /// Spread over 2025 like `gen.py`.
    pub ts: String,
    /// Words separated by single spaces.
    pub text: String,
}

impl MessageFactory {
    /// A factory for ids `prefix-…` from `senders` senders (at least one). The prefix must
    /// pass [`check_prefix`].
    pub fn new(prefix: &str, senders: u64) -> Self {
        Self {
            prefix: prefix.to_owned(),
            senders: senders.max(1),
        }
    }

    /// The fields of message `i`.
    pub fn fields(&self, i: u64) -> Fields {
        let mut rng = SplitMix(i.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ 0x5EED);
        let from = sender(rng.below(self.senders));
        let words = 3 + rng.below(17);
        let mut text = String::with_capacity(words as usize * 8);
        for w in 0..words {
            if w > 0 {
                text.push(' ');
            }
            text.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        }
        Fields {
            message_id: format!("{}-{i:09}", self.prefix),
            from,
            ts: timestamp(i),
            text,
        }
    }

    /// Writes the JSON body of message `i` into `out` (cleared first).
    pub fn body(&self, i: u64, out: &mut Vec<u8>) {
        let f = self.fields(i);
        out.clear();
        // Every field is plain ASCII without quotes or backslashes (see `check_prefix`),
        // so no escaping is needed.
        for part in [
            "{\"message_id\":\"",
            &f.message_id,
            "\",\"from\":\"",
            &f.from,
            "\",\"to\":\"",
            TO,
            "\",\"ts\":\"",
            &f.ts,
            "\",\"text\":\"",
            &f.text,
            "\"}",
        ] {
            out.extend_from_slice(part.as_bytes());
        }
    }

    /// Message `i` as a domain [`Message`], for seeding a store directly.
    pub fn message(&self, i: u64) -> Result<Message, String> {
        self.fields(i).message()
    }
}

impl Fields {
    /// These fields as a domain [`Message`] (to [`TO`]).
    pub fn message(&self) -> Result<Message, String> {
        let f = self;
        let bad = |what: &str, e: hookline_domain::DomainError| format!("generated {what}: {e}");
        Ok(Message::new(
            MessageId::parse(&f.message_id).map_err(|e| bad("message_id", e))?,
            Msisdn::parse(&f.from).map_err(|e| bad("from", e))?,
            Msisdn::parse(TO).map_err(|e| bad("to", e))?,
            Timestamp::parse(&f.ts).map_err(|e| bad("ts", e))?,
            Some(Text::parse(&f.text).map_err(|e| bad("text", e))?),
        ))
    }
}

/// `gen.py`'s timestamp of message `i`: month, day, hour, minute and second each cycle
/// with `i`, giving 25,200 distinct instants over 2025-01-01 … 2025-12-28.
pub fn timestamp(i: u64) -> String {
    format!(
        "2025-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        1 + i % 12,
        1 + i % 28,
        i % 24,
        i % 60,
        (i / 60) % 60
    )
}

/// A `since` in the middle of the generated range.
pub const MID_RANGE: &str = "2025-07-01T00:00:00Z";

#[cfg(test)]
mod tests {
    use super::*;
    use hookline_signature::{SecretString, SignatureHeaders, Verifier, sign};

    #[test]
    fn generated_bodies_are_valid_messages_with_a_verifiable_signature() {
        let factory = MessageFactory::new("run-1", 1000);
        let verifier = Verifier::new([SecretString::from("s3cret")]).unwrap();
        let mut body = Vec::new();
        for i in [0, 1, 59, 60, 3599, 25_199, 999_999, 123_456_789] {
            factory.body(i, &mut body);
            let signature = sign(b"s3cret", &body);
            let headers = SignatureHeaders {
                x_signature: Some(signature.as_bytes()),
                ..SignatureHeaders::default()
            };
            verifier.verify(headers, &body).unwrap();
            let parsed = hookline_domain::parse_message(&body).unwrap();
            assert_eq!(parsed, factory.message(i).unwrap());
            assert_eq!(parsed.message_id().as_str(), format!("run-1-{i:09}"));
        }
    }

    #[test]
    fn messages_are_distinct_and_reproducible() {
        let factory = MessageFactory::new("p", 10);
        let ids: std::collections::HashSet<_> =
            (0..10_000).map(|i| factory.fields(i).message_id).collect();
        assert_eq!(ids.len(), 10_000);
        assert_eq!(factory.fields(42), MessageFactory::new("p", 10).fields(42));
        let senders: std::collections::HashSet<_> =
            (0..10_000).map(|i| factory.fields(i).from).collect();
        assert_eq!(senders.len(), 10);
        assert!(senders.contains(&sender(0)) && senders.contains(&sender(9)));
    }

    #[test]
    fn timestamps_follow_gen_py() {
        assert_eq!(timestamp(0), "2025-01-01T00:00:00Z");
        assert_eq!(timestamp(61), "2025-02-06T13:01:01Z");
        assert_eq!(timestamp(25_200), timestamp(0));
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(check_prefix("load-1.a_b").is_ok());
        for bad in ["", "a\"b", "a b", "é", &"x".repeat(65)] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }
}
