//! Boundary tables and property tests for the domain parsers.

use hookline_domain::{
    DomainError, FieldError, Message, MessageId, Msisdn, Text, Timestamp, parse_message,
};
use proptest::prelude::*;
use serde_json::json;

mod whatsapp;

fn body(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

fn valid() -> serde_json::Value {
    json!({"message_id":"m1","from":"+919876543210","to":"+14155550100",
           "ts":"2025-01-15T10:00:00Z","text":"Hello"})
}

fn errors_of(v: serde_json::Value) -> Vec<(Vec<String>, String)> {
    parse_message(&body(v))
        .expect_err("expected errors")
        .iter()
        .map(|e: &FieldError| (e.loc().to_vec(), e.kind().to_owned()))
        .collect()
}

fn loc(field: &str) -> Vec<String> {
    vec!["body".to_owned(), field.to_owned()]
}

#[test]
fn the_spec_example_parses_and_serializes_to_the_five_keys() {
    let m = parse_message(&body(valid())).unwrap();
    assert_eq!(m.message_id().as_str(), "m1");
    assert_eq!(serde_json::to_value(&m).unwrap(), valid());
}

#[test]
fn text_may_be_null_or_absent_and_serializes_as_null() {
    let mut v = valid();
    v["text"] = serde_json::Value::Null;
    let m = parse_message(&body(v.clone())).unwrap();
    assert!(m.text().is_none());
    assert_eq!(serde_json::to_value(&m).unwrap(), v);
    v.as_object_mut().unwrap().remove("text");
    assert!(parse_message(&body(v)).unwrap().text().is_none());
}

#[test]
fn unknown_fields_are_ignored() {
    let mut v = valid();
    v["extra"] = json!({"nested": [1, 2, 3]});
    assert!(parse_message(&body(v)).is_ok());
}

#[test]
fn every_field_error_is_reported_at_once_in_field_order() {
    let got = errors_of(
        json!({"message_id":"","from":"919876543210","to":5,"ts":"2025-02-29T00:00:00Z","text":["x"]}),
    );
    assert_eq!(
        got,
        vec![
            (loc("message_id"), "string_too_short".to_owned()),
            (loc("from"), "value_error".to_owned()),
            (loc("to"), "string_type".to_owned()),
            (loc("ts"), "value_error".to_owned()),
            (loc("text"), "string_type".to_owned()),
        ]
    );
}

#[test]
fn missing_fields_are_each_reported() {
    let got = errors_of(json!({"text":"hi"}));
    let fields: Vec<_> = got
        .iter()
        .map(|(l, k)| (l[1].as_str(), k.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("message_id", "missing"),
            ("from", "missing"),
            ("to", "missing"),
            ("ts", "missing")
        ]
    );
}

#[test]
fn unreadable_bodies_give_one_error_at_body() {
    for (raw, kind) in [
        (&b""[..], "missing"),
        (b"  \n", "missing"),
        (b"{", "json_invalid"),
        (b"{\"message_id\":\"m1\",}", "json_invalid"),
        (b"\xff\xfe", "json_invalid"),
        (b"[1,2]", "model_attributes_type"),
        (b"\"string\"", "model_attributes_type"),
        (b"null", "model_attributes_type"),
        (b"42", "model_attributes_type"),
        (b"{\"text\":\"\\ud800\"}", "json_invalid"),
    ] {
        let errs = parse_message(raw).expect_err("must fail");
        assert_eq!(errs.len(), 1, "{raw:?}");
        assert_eq!(errs[0].loc(), ["body"], "{raw:?}");
        assert_eq!(errs[0].kind(), kind, "{raw:?}");
    }
}

#[test]
fn deep_nesting_is_rejected_without_overflowing_the_stack() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let errs = parse_message(deep.as_bytes()).expect_err("must fail");
    assert_eq!(errs[0].kind(), "json_invalid");
}

#[test]
fn text_length_boundary_counts_characters_not_bytes() {
    let emoji = "😀";
    assert!(Text::parse(&emoji.repeat(4096)).is_ok());
    assert_eq!(
        Text::parse(&emoji.repeat(4097)),
        Err(DomainError::TooLong { max: 4096 })
    );
    assert!(Text::parse(&"a".repeat(4096)).is_ok());
    assert!(Text::parse(&"a".repeat(4097)).is_err());
    assert!(Text::parse("").is_ok());
}

#[test]
fn message_id_length_boundary() {
    assert!(MessageId::parse(&"é".repeat(1024)).is_ok());
    assert_eq!(
        MessageId::parse(&"é".repeat(1025)),
        Err(DomainError::TooLong { max: 1024 })
    );
    assert_eq!(MessageId::parse(""), Err(DomainError::TooShort { min: 1 }));
}

#[test]
fn msisdn_boundaries() {
    let table: &[(&str, bool)] = &[
        ("+1", true),
        ("+123456789012345", true),   // 15 digits
        ("+1234567890123456", false), // 16 digits
        ("+", false),
        ("919876543210", false),
        (" 919876543210", false),
        ("++1", false),
        ("+1 415", false),
        ("+1-415", false),
        ("+٣٣٣", false),    // Arabic-Indic digits
        ("+３３３", false), // full-width digits
        ("+1\0", false),
        ("", false),
    ];
    for (s, ok) in table {
        assert_eq!(Msisdn::parse(s).is_ok(), *ok, "{s:?}");
    }
}

#[test]
fn leap_day_only_in_leap_years() {
    assert!(Timestamp::parse("2024-02-29T10:00:00Z").is_ok());
    assert!(Timestamp::parse("2025-02-29T10:00:00Z").is_err());
    assert!(Timestamp::parse("2000-02-29T10:00:00Z").is_ok());
    assert!(Timestamp::parse("1900-02-29T10:00:00Z").is_err());
}

#[test]
fn messages_order_by_instant_not_by_text() {
    let a = Timestamp::parse("2025-01-15T10:00:00Z").unwrap();
    let b = Timestamp::parse("2025-01-15T10:00:00.5Z").unwrap();
    let c = Timestamp::parse("2025-01-15T10:00:01Z").unwrap();
    let mut v = vec![c.clone(), b.clone(), a.clone()];
    v.sort();
    assert_eq!(v, vec![a, b, c]);
}

fn arb_timestamp_text() -> impl Strategy<Value = String> {
    (
        0u32..=9999,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
        proptest::option::of("[0-9]{1,9}"),
    )
        .prop_map(|(y, mo, d, h, mi, s, frac)| {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}Z")
        })
}

proptest! {
    #[test]
    fn timestamp_round_trips_its_text(s in arb_timestamp_text()) {
        let ts = Timestamp::parse(&s).unwrap();
        prop_assert_eq!(ts.as_str(), s.as_str());
        prop_assert_eq!(Timestamp::parse(ts.as_str()).unwrap(), ts);
    }

    #[test]
    fn sort_key_order_is_instant_order(a in arb_timestamp_text(), b in arb_timestamp_text()) {
        let (a, b) = (Timestamp::parse(&a).unwrap(), Timestamp::parse(&b).unwrap());
        prop_assert_eq!(
            a.instant().cmp(&b.instant()),
            a.instant().sort_key().cmp(&b.instant().sort_key())
        );
        prop_assert_eq!(a.instant().sort_key().len(), 30);
    }

    #[test]
    fn msisdn_round_trips(digits in "[0-9]{1,15}") {
        let s = format!("+{digits}");
        let m = Msisdn::parse(&s).unwrap();
        prop_assert_eq!(Msisdn::parse(m.as_str()).unwrap(), m);
    }

    #[test]
    fn message_id_and_text_round_trip(s in "\\PC{1,200}") {
        let id = MessageId::parse(&s).unwrap();
        prop_assert_eq!(MessageId::parse(id.as_str()).unwrap(), id);
        let t = Text::parse(&s).unwrap();
        prop_assert_eq!(Text::parse(t.as_str()).unwrap(), t);
    }

    #[test]
    fn message_round_trips_through_json(
        id in "\\PC{1,50}", from in "[0-9]{1,15}", to in "[0-9]{1,15}",
        ts in arb_timestamp_text(), text in proptest::option::of("\\PC{0,100}"),
    ) {
        let m = Message::new(
            MessageId::parse(&id).unwrap(),
            Msisdn::parse(&format!("+{from}")).unwrap(),
            Msisdn::parse(&format!("+{to}")).unwrap(),
            Timestamp::parse(&ts).unwrap(),
            text.as_deref().map(|t| Text::parse(t).unwrap()),
        );
        let rendered = serde_json::to_vec(&m).unwrap();
        prop_assert_eq!(parse_message(&rendered).unwrap(), m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_message(&raw);
    }
}
