//! Hostile input: well over a thousand generated requests that no honest client sends, from
//! a printed seed (`HOOKLINE_TEST_SEED=<seed>` replays a run).
//!
//! What is acceptable, and why:
//! - every well-formed HTTP request gets a complete response, and never a 5xx: client
//!   input is answered with a 4xx (docs/API.md: no 5xx but the listed 503s for any request);
//! - a row is stored exactly for the valid, correctly signed messages sent — the stored
//!   ids after the run equal that set;
//! - a body larger than 64 KiB gets 413, and the server may close the connection right
//!   after it (RFC 9110 §15.5.14) instead of reading megabytes it will throw away;
//! - a `Content-Length` longer than the body is a client that stopped sending: the server
//!   cannot tell it from a slow one, so it waits for its body deadline (5 s) and answers
//!   408 and closes (RFC 9110 §15.5.9) — or, for a route that never reads a body, answers
//!   at once;
//! - a huge request head (a 64 KiB or 1 MiB header, 200 headers, a 64 KiB target) or a
//!   malformed framing header gets an answer below 500 (a 64 KiB header is within what the
//!   server accepts; past its buffer it answers 400/431) or the connection closed promptly
//!   without an answer; either way the server keeps serving. Trailing whitespace after a
//!   signature is not a bad signature: HTTP strips it from field values (RFC 9110 §5.5).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::raw_http::{Outcome, exchange, request};
use crate::server::{Rng, SECRET, Server, percent_encode, sign};

/// How long the server waits for a body (`routes::signed_body::BODY_READ_DEADLINE`).
const BODY_DEADLINE: Duration = Duration::from_secs(5);
/// How long one exchange may take before it counts as dropped.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(15);
/// How many requests the generator produces at least.
const GENERATED: usize = 1_200;

#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// 200, and the row is stored.
    Stored(String),
    /// A complete 4xx response.
    Rejected,
    /// A complete response below 500 (a read, a 404, a 405).
    Answered,
    /// A 413, possibly followed by the connection being closed while we still send.
    TooLarge,
    /// A lying `Content-Length` on `/webhook`: 408 after the body deadline.
    BodyNeverArrives,
    /// A head that is huge or malformed: any complete response below 500 (the server may accept
    /// a 64 KiB header), or the connection closed promptly without one.
    HeadTooLarge,
}

struct Case {
    kind: &'static str,
    bytes: Vec<u8>,
    expect: Expect,
    head_only: bool,
}

struct Generator {
    rng: Rng,
    seed: u64,
    next_id: usize,
    cases: Vec<Case>,
}

const ROUTES: [&str; 8] = [
    "/webhook",
    "/messages",
    "/stats",
    "/health/live",
    "/health/ready",
    "/metrics",
    "/openapi.json",
    "/docs",
];

const TEXTS: [&str; 6] = [
    "Hello",
    "héllo wörld",
    "emoji 😀 and 中文",
    "quote ' \" backslash \\ percent % underscore _",
    "'; DROP TABLE messages; --",
    "",
];

impl Generator {
    fn id(&mut self) -> String {
        self.next_id += 1;
        format!("hostile-{}-{}", self.seed, self.next_id)
    }

    fn msisdn(&mut self) -> String {
        let digits = 1 + self.rng.below(15);
        let mut s = String::from("+");
        for _ in 0..digits {
            s.push(char::from(b'0' + self.rng.below(10) as u8));
        }
        s
    }

    fn valid(&mut self, id: &str) -> Value {
        let day = 1 + self.rng.below(28);
        let text = *self.rng.pick(&TEXTS);
        json!({"message_id": id, "from": self.msisdn(), "to": self.msisdn(),
            "ts": format!("2025-02-{day:02}T10:00:00Z"), "text": text})
    }

    fn push(&mut self, kind: &'static str, bytes: Vec<u8>, expect: Expect) {
        self.cases.push(Case {
            kind,
            bytes,
            expect,
            head_only: false,
        });
    }

    /// `POST /webhook` with `body`, signed over exactly those bytes.
    fn signed(&mut self, kind: &'static str, body: &[u8], expect: Expect) {
        let signature = sign(body);
        let bytes = request(
            "POST",
            "/webhook",
            &[
                ("Content-Type", "application/json"),
                ("X-Signature", &signature),
            ],
            body,
        );
        self.push(kind, bytes, expect);
    }

    fn signed_valid(&mut self, kind: &'static str, body: &Value) {
        let id = body["message_id"].as_str().unwrap().to_owned();
        self.signed(kind, body.to_string().as_bytes(), Expect::Stored(id));
    }

    /// A valid message whose field `field` is replaced by `value` (raw JSON), signed.
    fn signed_with_raw_field(
        &mut self,
        kind: &'static str,
        field: &str,
        raw: &str,
        expect: Expect,
    ) {
        let id = self.id();
        let mut body = self.valid(&id);
        body[field] = Value::String("\u{1}PLACEHOLDER\u{1}".into());
        let text = body
            .to_string()
            .replace("\"\\u0001PLACEHOLDER\\u0001\"", raw);
        assert_eq!(expect, Expect::Rejected, "only for invalid fields");
        self.signed(kind, text.as_bytes(), expect);
    }

    fn fixed_cases(&mut self) {
        // Boundary lengths, each side of each limit.
        for (len, ok) in [(1024, true), (1025, false), (1, true)] {
            let id: String = format!("{}-", self.id())
                .chars()
                .chain(std::iter::repeat('x'))
                .take(len)
                .collect();
            let id = if len == 1 {
                format!("{}", self.next_id % 10)
            } else {
                id
            };
            let body = self.valid(&id);
            if ok {
                self.signed_valid("message_id length boundary", &body);
            } else {
                self.signed(
                    "message_id length boundary",
                    body.to_string().as_bytes(),
                    Expect::Rejected,
                );
            }
        }
        for (text, ok) in [
            ("a".repeat(4096), true),
            ("a".repeat(4097), false),
            ("😀".repeat(4096), true),
            ("😀".repeat(4097), false),
            ("é".repeat(4096), true),
        ] {
            let id = self.id();
            let mut body = self.valid(&id);
            body["text"] = text.into();
            if ok {
                self.signed_valid("text length boundary", &body);
            } else {
                self.signed(
                    "text length boundary",
                    body.to_string().as_bytes(),
                    Expect::Rejected,
                );
            }
        }
        for (from, ok) in [
            ("+123456789012345", true),
            ("+1234567890123456", false),
            ("+1", true),
            ("+", false),
            ("123456789012345", false),
            ("+١٢٣٤٥", false),      // Arabic-Indic digits
            ("+１２３４５", false), // full-width digits
            ("+१२३४५", false),      // Devanagari digits
            ("+12 34", false),
            ("+12\u{0}34", false),
            (" +1234", false),
        ] {
            let id = self.id();
            let mut body = self.valid(&id);
            body["from"] = from.into();
            if ok {
                self.signed_valid("E.164 boundary", &body);
            } else {
                self.signed(
                    "E.164 boundary",
                    body.to_string().as_bytes(),
                    Expect::Rejected,
                );
            }
            let id = self.id();
            let mut body = self.valid(&id);
            body["to"] = from.into();
            if ok {
                self.signed_valid("E.164 boundary", &body);
            } else {
                self.signed(
                    "E.164 boundary",
                    body.to_string().as_bytes(),
                    Expect::Rejected,
                );
            }
        }
        for ts in [
            "2025-02-30T10:00:00Z",
            "2025-01-15T10:00:00",
            "2025-01-15T10:00:00+05:30",
            "2025-01-15 10:00:00Z",
            "2025-13-01T10:00:00Z",
            "2025-01-15T24:00:01Z",
            "",
            "yesterday",
            "2025-01-15T10:00:00.Z",
        ] {
            let id = self.id();
            let mut body = self.valid(&id);
            body["ts"] = ts.into();
            self.signed(
                "impossible or non-UTC ts",
                body.to_string().as_bytes(),
                Expect::Rejected,
            );
        }
        for ts in ["2024-02-29T23:59:59Z", "2025-01-15T10:00:00.123456789Z"] {
            let id = self.id();
            let mut body = self.valid(&id);
            body["ts"] = ts.into();
            self.signed_valid("valid edge ts", &body);
        }
        // Unicode edge cases inside JSON strings, written as raw JSON.
        for (field, raw, ok) in [
            ("text", r#""\ud800""#, false),  // lone high surrogate
            ("text", r#""\udc00x""#, false), // lone low surrogate
            ("message_id", r#""\ud800""#, false),
            ("text", r#""\ud83d\ude00""#, true), // a valid pair
            ("text", r#""nul \u0000 inside""#, true), // an escaped NUL is a character
            ("text", "\"raw \u{0} NUL\"", false), // a raw control byte is not JSON
            ("text", "\"tab\tinside\"", false),
            ("text", r#""\x41""#, false),
            ("text", r#""\u12""#, false),
            ("text", "null", true),
            ("text", "123", false),
            ("text", "[]", false),
            ("text", "{}", false),
            ("text", "true", false),
            ("message_id", "123", false),
            ("message_id", "null", false),
            ("message_id", r#""""#, false),
            ("message_id", "[\"a\"]", false),
            ("from", "919876543210", false),
            ("from", "null", false),
            ("to", "{}", false),
            ("ts", "1736935200", false),
            ("ts", "null", false),
        ] {
            if ok && field == "text" {
                let id = self.id();
                let mut value = self.valid(&id);
                value["text"] = Value::String("\u{1}P\u{1}".into());
                let text = value.to_string().replace("\"\\u0001P\\u0001\"", raw);
                self.signed(
                    "unicode / type edge in text",
                    text.as_bytes(),
                    Expect::Stored(id),
                );
            } else {
                self.signed_with_raw_field(
                    "wrong type or bad string",
                    field,
                    raw,
                    Expect::Rejected,
                );
            }
        }
        // Bytes that are not UTF-8, inside a string.
        for bytes in [
            &b"\xc0\xaf"[..],
            b"\xe0\x80\xaf",
            b"\xff",
            b"\xed\xa0\x80",
            b"\x80",
        ] {
            let id = self.id();
            let mut body = self.valid(&id).to_string().into_bytes();
            let at = body.windows(8).position(|w| w == b"\"text\":\"").unwrap() + 8;
            body.splice(at..at, bytes.iter().copied());
            self.signed("invalid or overlong UTF-8", &body, Expect::Rejected);
        }
        // Not an object, or not JSON at all.
        for body in [
            &b""[..],
            b"[]",
            b"null",
            b"1",
            b"\"message\"",
            b"{",
            b"}",
            b"{\"message_id\":}",
            b"\xef\xbb\xbf{}",
            b"{}",
            b"{\"message_id\":\"x\"}",
        ] {
            self.signed("not a JSON object", body, Expect::Rejected);
        }
        // Deep nesting: under the body limit (422) and over it (413).
        self.signed("deep nesting", &vec![b'['; 60_000], Expect::Rejected);
        self.signed(
            "deep nesting",
            &"{\"a\":".repeat(12_000).into_bytes(),
            Expect::Rejected,
        );
        self.signed("deep nesting", &vec![b'['; 100_000], Expect::TooLarge);
        // Oversized bodies.
        let id = self.id();
        let mut big = self.valid(&id);
        big["pad"] = "p".repeat(64 * 1024).into();
        self.signed(
            "oversized body",
            big.to_string().as_bytes(),
            Expect::TooLarge,
        );
        self.signed(
            "oversized body",
            &vec![b' '; 64 * 1024 + 1],
            Expect::TooLarge,
        );
        self.signed(
            "oversized body",
            &vec![b'x'; 10 * 1024 * 1024],
            Expect::TooLarge,
        );
        let id = self.id();
        let mut exact = self.valid(&id).to_string().into_bytes();
        let pad = 64 * 1024 - exact.len();
        exact.splice(1..1, std::iter::repeat_n(b' ', pad));
        assert_eq!(exact.len(), 64 * 1024);
        self.signed("body of exactly 64 KiB", &exact, Expect::Stored(id));
        // Oversized and numerous headers on every kind of route.
        let huge = "h".repeat(64 * 1024);
        let enormous = "h".repeat(1024 * 1024);
        for route in ["/webhook", "/messages", "/health/live"] {
            let method = if route == "/webhook" { "POST" } else { "GET" };
            let bytes = request(method, route, &[("X-Huge", &huge)], b"");
            self.push("64 KiB header value", bytes, Expect::HeadTooLarge);
            let bytes = request(method, route, &[("X-Huge", &enormous)], b"");
            self.push("1 MiB header value", bytes, Expect::HeadTooLarge);
            let many: Vec<(String, String)> =
                (0..200).map(|i| (format!("X-H{i}"), "v".into())).collect();
            let many: Vec<(&str, &str)> =
                many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            self.push(
                "200 headers",
                request(method, route, &many, b""),
                Expect::HeadTooLarge,
            );
            let long_path = format!("{route}?q={}", "a".repeat(64 * 1024));
            self.push(
                "64 KiB request target",
                request(method, &long_path, &[], b""),
                Expect::HeadTooLarge,
            );
        }
        // A valid, signed request sent with a too-large X-Request-ID and a header injection try.
        let id = self.id();
        let body = self.valid(&id).to_string();
        let signature = sign(body.as_bytes());
        let rid = "r".repeat(4096);
        let bytes = request(
            "POST",
            "/webhook",
            &[("X-Signature", &signature), ("X-Request-ID", &rid)],
            body.as_bytes(),
        );
        self.push("oversized X-Request-ID", bytes, Expect::Stored(id));
        // Lying Content-Length: shorter (the rest is a second, garbage request) ...
        let id = self.id();
        let body = self.valid(&id).to_string();
        let signature = sign(body.as_bytes());
        let mut bytes = request(
            "POST",
            "/webhook",
            &[
                ("X-Signature", &signature),
                ("Content-Length", &body.len().to_string()),
            ],
            body.as_bytes(),
        );
        bytes.extend_from_slice(b"GARBAGE after the declared body\r\n\r\n");
        self.push(
            "Content-Length shorter than the body",
            bytes,
            Expect::Stored(id),
        );
        let id = self.id();
        let body = self.valid(&id).to_string();
        let cut = body.len() / 2;
        let signature = sign(&body.as_bytes()[..cut]);
        let bytes = request(
            "POST",
            "/webhook",
            &[
                ("X-Signature", &signature),
                ("Content-Length", &cut.to_string()),
            ],
            body.as_bytes(),
        );
        self.push(
            "Content-Length shorter than the body",
            bytes,
            Expect::Rejected,
        );
        // ... and longer: the body never arrives.
        for extra in [1, 1000] {
            let id = self.id();
            let body = self.valid(&id).to_string();
            let signature = sign(body.as_bytes());
            let bytes = request(
                "POST",
                "/webhook",
                &[
                    ("X-Signature", &signature),
                    ("Content-Length", &(body.len() + extra).to_string()),
                ],
                body.as_bytes(),
            );
            self.push(
                "Content-Length longer than the body",
                bytes,
                Expect::BodyNeverArrives,
            );
        }
        for route in ["/messages", "/health/live"] {
            let bytes = request("GET", route, &[("Content-Length", "100")], b"short");
            self.push("Content-Length longer on a GET", bytes, Expect::Answered);
        }
        for cl in ["-1", "abc", "1, 2", "99999999999999999999999"] {
            let bytes = request("POST", "/webhook", &[("Content-Length", cl)], b"{}");
            self.push("malformed Content-Length", bytes, Expect::HeadTooLarge);
        }
        // Chunked bodies: valid and signed, too large, and never finished.
        let id = self.id();
        let body = self.valid(&id).to_string();
        let signature = sign(body.as_bytes());
        let (a, b) = body.split_at(10);
        let chunked = format!("{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n", a.len(), b.len());
        let bytes = request(
            "POST",
            "/webhook",
            &[
                ("X-Signature", &signature),
                ("Transfer-Encoding", "chunked"),
            ],
            chunked.as_bytes(),
        );
        self.push("chunked body", bytes, Expect::Stored(id));
        let chunk = "c".repeat(16 * 1024);
        let big: String = (0..5)
            .map(|_| format!("{:x}\r\n{chunk}\r\n", chunk.len()))
            .collect::<String>()
            + "0\r\n\r\n";
        let bytes = request(
            "POST",
            "/webhook",
            &[("X-Signature", "00"), ("Transfer-Encoding", "chunked")],
            big.as_bytes(),
        );
        self.push("chunked body over 64 KiB", bytes, Expect::TooLarge);
        let bytes = request(
            "POST",
            "/webhook",
            &[("X-Signature", "00"), ("Transfer-Encoding", "chunked")],
            b"zz\r\nnot hex\r\n0\r\n\r\n",
        );
        self.push("malformed chunk size", bytes, Expect::HeadTooLarge);
        // Wrong methods on every route, and HEAD.
        for route in ROUTES {
            for method in [
                "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "POST", "GET", "BREW",
            ] {
                let bytes = request(method, route, &[], b"");
                self.push("method on every route", bytes, Expect::Answered);
            }
            self.cases.push(Case {
                kind: "HEAD on every route",
                bytes: request("HEAD", route, &[], b""),
                expect: Expect::Answered,
                head_only: true,
            });
        }
        // Query strings that are garbage.
        for query in [
            "%",
            "%G1",
            "%zz",
            "q=%",
            "q=%ff%fe",
            "q=%c0%af",
            "q=%00",
            "limit=%",
            "limit=1&limit=2",
            "limit=0",
            "limit=101",
            "limit=-1",
            "limit=99999999999999999999999999",
            "limit=1e3",
            "offset=-1",
            "offset=18446744073709551616",
            "offset=9223372036854775807",
            "since=garbage",
            "since=2025-02-30T00:00:00Z",
            "since=%2B",
            "from=",
            "from=%2B",
            "from='%20OR%201=1--",
            "q=%25",
            "q=_",
            "q=%27%22",
            "q=%5C",
            "cursor=",
            "cursor=garbage",
            "cursor=%ff",
            "cursor=AAAA&offset=5",
            "q&limit&offset",
            "&&&&",
            "=&=&=",
            "q=a&q=b",
            "from=%2B1&from=%2B2",
            "limit=+5",
            "limit=%205",
            "limit=5%00",
            "since=2025-01-15T10:00:00%2B25:00",
        ] {
            let target = format!("/messages?{query}");
            self.push(
                "garbage query",
                request("GET", &target, &[], b""),
                Expect::Answered,
            );
        }
        let huge_q = format!("/messages?q={}", "%41".repeat(2000));
        self.push(
            "garbage query",
            request("GET", &huge_q, &[], b""),
            Expect::Answered,
        );
        let repeated = format!("/messages?{}", "limit=1&".repeat(1000));
        self.push(
            "garbage query",
            request("GET", &repeated, &[], b""),
            Expect::Answered,
        );
        // Unknown paths.
        for path in [
            "/",
            "/webhook/",
            "//webhook",
            "/WEBHOOK",
            "/webhook/../messages",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/messages/1",
            "/health",
            "/health/",
            "/metrics/",
            "/docs/../../etc/passwd",
            "/%00",
            "/%ff",
            "/docs/%2e%2e%2f",
            "*",
        ] {
            let bytes = request("GET", path, &[], b"");
            self.push("unknown path", bytes, Expect::Answered);
            let bytes = request("POST", path, &[], b"{}");
            self.push("unknown path", bytes, Expect::Answered);
        }
    }

    /// One random case.
    fn random_case(&mut self) {
        let id = self.id();
        let body = self.valid(&id);
        let text = body.to_string();
        match self.rng.below(12) {
            0 | 1 => {
                // Valid and signed, with one of the accepted header forms.
                let signature = sign(text.as_bytes());
                let header = match self.rng.below(3) {
                    0 => ("X-Signature", signature),
                    1 => ("X-Signature", signature.to_uppercase()),
                    _ => ("X-Hub-Signature-256", format!("sha256={signature}")),
                };
                let content_type = *self.rng.pick(&[
                    "application/json",
                    "application/json; charset=utf-8",
                    "application/vnd.whatsapp+json",
                ]);
                let bytes = request(
                    "POST",
                    "/webhook",
                    &[(header.0, &header.1), ("Content-Type", content_type)],
                    text.as_bytes(),
                );
                self.push("valid and signed", bytes, Expect::Stored(id));
            }
            2 | 3 => {
                // Valid body, bad or missing signature.
                let good = sign(text.as_bytes());
                let other_secret = hookline_signature::sign(b"not-the-secret", text.as_bytes());
                let mut flipped = good.clone().into_bytes();
                let at = self.rng.below(flipped.len());
                flipped[at] = if flipped[at] == b'0' { b'1' } else { b'0' };
                let flipped = String::from_utf8(flipped).unwrap();
                let candidates: Vec<Option<(&str, String)>> = vec![
                    None,
                    Some(("X-Signature", String::new())),
                    Some(("X-Signature", "123".into())),
                    Some(("X-Signature", good[..63].to_owned())),
                    Some(("X-Signature", good[..32].to_owned())),
                    Some(("X-Signature", format!("{good}00"))),
                    Some(("X-Signature", format!("sha256={good}"))),
                    Some(("X-Signature", flipped)),
                    Some(("X-Signature", other_secret)),
                    Some(("X-Signature", "zz".repeat(32))),
                    Some(("X-Signature", "é".repeat(32))),
                    Some(("X-Hub-Signature-256", good.clone())),
                    Some(("X-Hub-Signature-256", "sha256=".into())),
                    Some(("X-Hub-Signature-256", format!("sha1={good}"))),
                    Some(("X-Signature", sign(SECRET.as_bytes()))),
                ];
                let pick = self.rng.below(candidates.len());
                let headers: Vec<(&str, &str)> = candidates[pick]
                    .iter()
                    .map(|(n, v)| (*n, v.as_str()))
                    .collect();
                let bytes = request("POST", "/webhook", &headers, text.as_bytes());
                self.push("bad or missing signature", bytes, Expect::Rejected);
            }
            4 | 5 => {
                // Truncated JSON, signed over the truncated bytes.
                let cut = self.rng.below(text.len() - 1);
                self.signed("truncated JSON", &text.as_bytes()[..cut], Expect::Rejected);
            }
            6 => {
                // A field missing.
                let field = *self.rng.pick(&["message_id", "from", "to", "ts"]);
                let mut value = body.clone();
                value.as_object_mut().unwrap().remove(field);
                self.signed(
                    "missing field",
                    value.to_string().as_bytes(),
                    Expect::Rejected,
                );
            }
            7 => {
                // A wrong type.
                let field = *self.rng.pick(&["message_id", "from", "to", "ts", "text"]);
                let raw = *self
                    .rng
                    .pick(&["1", "1.5", "true", "[]", "{}", "[\"x\"]", "-0"]);
                self.signed_with_raw_field("wrong type", field, raw, Expect::Rejected);
            }
            8 => {
                // Random bytes flipped in a signed body: either still valid JSON (then it is
                // judged by its fields) or not; we only sign bytes that are sure to be invalid
                // by also breaking the closing brace.
                let mut bytes = text.into_bytes();
                let last = bytes.len() - 1;
                bytes[last] = *self.rng.pick(&[b']', b',', b'\0', 0xff]);
                for _ in 0..self.rng.below(4) {
                    let at = self.rng.below(bytes.len());
                    bytes[at] = (self.rng.next() & 0xff) as u8;
                }
                self.signed("corrupted JSON", &bytes, Expect::Rejected);
            }
            9 => {
                // Signed invalid body with a non-JSON content type: 415 (or 422).
                let content_type =
                    *self
                        .rng
                        .pick(&["text/plain", "application/xml", "multipart/form-data"]);
                let signature = sign(text.as_bytes());
                let bytes = request(
                    "POST",
                    "/webhook",
                    &[("X-Signature", &signature), ("Content-Type", content_type)],
                    text.as_bytes(),
                );
                self.push("non-JSON content type", bytes, Expect::Rejected);
            }
            10 => {
                // Random garbage query on /messages.
                let mut query = String::new();
                for _ in 0..1 + self.rng.below(5) {
                    let key = *self
                        .rng
                        .pick(&["limit", "offset", "from", "since", "q", "cursor", "x"]);
                    let len = self.rng.below(40);
                    let value: String = (0..len)
                        .map(|_| char::from(0x21 + (self.rng.next() % 94) as u8))
                        .filter(|c| !matches!(c, '#'))
                        .collect();
                    query.push_str(&format!("{key}={value}&"));
                }
                let target = format!("/messages?{query}");
                self.push(
                    "random query",
                    request("GET", &target, &[], b""),
                    Expect::Answered,
                );
            }
            _ => {
                // A random valid filter, percent-encoded: must be 200 or 422.
                let q = *self.rng.pick(&TEXTS);
                let target = format!(
                    "/messages?q={}&limit={}",
                    percent_encode(q),
                    self.rng.below(120)
                );
                self.push(
                    "encoded filter",
                    request("GET", &target, &[], b""),
                    Expect::Answered,
                );
            }
        }
    }
}

#[test]
fn hostile_input_never_gets_a_5xx_a_dropped_connection_or_a_stored_row_it_should_not() {
    let seed = Rng::seed_from_env();
    eprintln!("hostile input: seed {seed} (HOOKLINE_TEST_SEED={seed} replays it)");
    let mut generator = Generator {
        rng: Rng::new(seed),
        seed,
        next_id: 0,
        cases: Vec::new(),
    };
    generator.fixed_cases();
    while generator.cases.len() < GENERATED {
        generator.random_case();
    }
    let cases = generator.cases;
    let expected_ids: BTreeSet<String> = cases
        .iter()
        .filter_map(|c| match &c.expect {
            Expect::Stored(id) => Some(id.clone()),
            _ => None,
        })
        .collect();

    let dir = TempDir::new().unwrap();
    let mut server = Server::start(&dir.path().join("app.db"));
    let (before, _) = server.stored_ids();
    assert!(before.is_empty());

    let failures = Mutex::new(Vec::new());
    let statuses = Mutex::new(std::collections::BTreeMap::<String, usize>::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let addr = server.addr;
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let outcome =
                        exchange(addr, case.bytes.clone(), EXCHANGE_TIMEOUT, case.head_only);
                    let label = match &outcome {
                        Outcome::Response { status, .. } => status.to_string(),
                        Outcome::Dropped { error, .. } => format!("dropped ({error:?})"),
                        Outcome::Refused => "refused".into(),
                    };
                    *statuses.lock().unwrap().entry(label).or_default() += 1;
                    if let Err(why) = judge(case, &outcome) {
                        let head: String =
                            String::from_utf8_lossy(&case.bytes[..case.bytes.len().min(160)])
                                .into();
                        failures.lock().unwrap().push(format!(
                            "case {i} ({}): {why}; outcome {:?}; request starts {head:?}",
                            case.kind,
                            summarize(&outcome)
                        ));
                    }
                }
            });
        }
    });

    assert!(
        server.is_running(),
        "the server died during the hostile run"
    );
    assert_eq!(
        server.status("/health/ready"),
        Some(200),
        "not ready after the run"
    );
    let (stored, total) = server.stored_ids();
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "hostile input: {} requests sent, outcomes {:?}, {} valid+signed ids expected, {} stored (total {total}), {} violations",
        cases.len(),
        statuses.into_inner().unwrap(),
        expected_ids.len(),
        stored.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "violations:\n{}", failures.join("\n"));
    let unexpected: Vec<_> = stored.difference(&expected_ids).collect();
    let missing: Vec<_> = expected_ids.difference(&stored).collect();
    assert!(
        unexpected.is_empty(),
        "rows stored that were not valid and signed: {unexpected:?}"
    );
    assert!(
        missing.is_empty(),
        "valid signed messages not stored: {missing:?}"
    );
    assert_eq!(total, expected_ids.len() as u64);
}

fn summarize(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Response {
            status,
            body,
            elapsed,
        } => format!(
            "{status} after {elapsed:?}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ),
        Outcome::Dropped {
            partial,
            error,
            elapsed,
        } => format!(
            "dropped after {elapsed:?} ({error:?}) with {} bytes: {:?}",
            partial.len(),
            String::from_utf8_lossy(&partial[..partial.len().min(200)])
        ),
        Outcome::Refused => "refused".into(),
    }
}

/// Whether `outcome` is acceptable for `case`.
fn judge(case: &Case, outcome: &Outcome) -> Result<(), String> {
    let status = outcome.status();
    if let Some(status) = status.filter(|s| *s >= 500) {
        return Err(format!("a {status}"));
    }
    match (&case.expect, outcome) {
        (_, Outcome::Refused) => Err("connection refused".into()),
        (Expect::Stored(_), _) if status == Some(200) => Ok(()),
        (Expect::Stored(_), _) => Err("a valid signed message was not acknowledged".into()),
        (Expect::Rejected, _) if status.is_some_and(|s| (400..500).contains(&s)) => Ok(()),
        (Expect::Rejected, _) => Err("expected a complete 4xx response".into()),
        (Expect::Answered, Outcome::Response { .. }) => Ok(()),
        (Expect::Answered, _) => Err("expected a complete response".into()),
        (Expect::TooLarge, _) if status == Some(413) => Ok(()),
        (Expect::TooLarge, _) => Err("expected 413".into()),
        (
            Expect::BodyNeverArrives,
            Outcome::Response {
                status: 408,
                elapsed,
                ..
            },
        ) if *elapsed < BODY_DEADLINE + Duration::from_secs(5) => Ok(()),
        (Expect::BodyNeverArrives, _) => Err("expected 408 within the body deadline + 5 s".into()),
        (Expect::HeadTooLarge, Outcome::Response { .. }) => Ok(()),
        (Expect::HeadTooLarge, Outcome::Dropped { error, .. })
            if *error != Some(std::io::ErrorKind::TimedOut) =>
        {
            Ok(())
        }
        (Expect::HeadTooLarge, _) => Err("expected a 4xx or a prompt close".into()),
    }
}
