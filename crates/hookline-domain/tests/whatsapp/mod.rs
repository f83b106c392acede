//! The WhatsApp Cloud API envelope: one sample per message type (shaped after Meta's webhook
//! reference), the statuses-only and multi-entry cases, every error `loc`, and property tests.
//! The sample files are also the fuzz seeds (`fuzz/seeds/whatsapp_envelope/`).

use hookline_domain::whatsapp::{Envelope, Ignored, parse_envelope};
use hookline_domain::{LocSegment, MAX_TEXT_CHARS, Message, Timestamp, parse_message};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Every sample payload, by file name. The fuzz seeds are copies of these files.
const SAMPLES: [(&str, &[u8]); 16] = [
    ("text", include_bytes!("text.json")),
    ("image", include_bytes!("image.json")),
    ("video", include_bytes!("video.json")),
    ("document", include_bytes!("document.json")),
    ("audio", include_bytes!("audio.json")),
    ("sticker", include_bytes!("sticker.json")),
    ("location", include_bytes!("location.json")),
    ("contacts", include_bytes!("contacts.json")),
    ("button", include_bytes!("button.json")),
    (
        "interactive_button_reply",
        include_bytes!("interactive_button_reply.json"),
    ),
    (
        "interactive_list_reply",
        include_bytes!("interactive_list_reply.json"),
    ),
    ("reaction", include_bytes!("reaction.json")),
    ("unsupported", include_bytes!("unsupported.json")),
    ("unknown_type", include_bytes!("unknown_type.json")),
    ("statuses", include_bytes!("statuses.json")),
    (
        "multi_entry_multi_change",
        include_bytes!("multi_entry_multi_change.json"),
    ),
];

fn sample(name: &str) -> &'static [u8] {
    SAMPLES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
        .unwrap_or_else(|| panic!("no sample {name}"))
}

fn parse(body: &[u8]) -> Envelope {
    parse_envelope(body).unwrap_or_else(|errors| panic!("expected Ok, got {errors:#?}"))
}

fn parse_value(v: &Value) -> Result<Envelope, Vec<(Value, String)>> {
    parse_envelope(&serde_json::to_vec(v).unwrap()).map_err(|errors| {
        errors
            .iter()
            .map(|e| {
                let error = serde_json::to_value(e).unwrap();
                (error["loc"].clone(), e.kind().to_owned())
            })
            .collect()
    })
}

fn errors_of(v: &Value) -> Vec<(Value, String)> {
    match parse_value(v) {
        Ok(envelope) => panic!("expected errors, got {envelope:#?}"),
        Err(errors) => errors,
    }
}

/// The one message of a single-message sample, as the five contract keys.
fn only_message(name: &str) -> Value {
    let envelope = parse(sample(name));
    assert_eq!(envelope.messages().len(), 1, "{name}");
    serde_json::to_value(&envelope.messages()[0]).unwrap()
}

/// A minimal valid envelope around `messages`, for the error tests.
fn envelope_with(messages: Value) -> Value {
    json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",
        "value":{"metadata":{"display_phone_number":"15550783881","phone_number_id":"2"},
                 "messages":messages}}]}]})
}

fn text_message(id: &str, body: &str) -> Value {
    json!({"from":"16505551234","id":id,"timestamp":"1674727200","type":"text","text":{"body":body}})
}

// ---------------------------------------------------------------------------------------------
// One test per message type.

#[test]
fn text_message_maps_to_the_five_fields() {
    assert_eq!(
        only_message("text"),
        json!({"message_id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxA1",
               "from":"+16505551234","to":"+15550783881","ts":"2025-02-12T00:43:44Z",
               "text":"Does it come in another color?"})
    );
}

#[test]
fn image_video_and_document_take_their_caption() {
    for (name, caption) in [
        ("image", "Black jacket, size M"),
        ("video", "Unboxing 📦"),
        ("document", "Invoice for March"),
    ] {
        assert_eq!(only_message(name)["text"], caption, "{name}");
    }
}

#[test]
fn media_and_other_types_without_a_text_store_null() {
    for name in [
        "audio",
        "sticker",
        "location",
        "contacts",
        "reaction",
        "unsupported",
        "unknown_type",
    ] {
        let m = only_message(name);
        assert_eq!(m["text"], Value::Null, "{name}");
        assert_eq!(m["from"], "+16505551234", "{name}");
        assert_eq!(m["ts"], "2025-02-12T00:43:44Z", "{name}");
    }
}

#[test]
fn button_takes_its_text() {
    assert_eq!(only_message("button")["text"], "Unsubscribe from promos");
}

#[test]
fn interactive_replies_take_their_title() {
    assert_eq!(only_message("interactive_button_reply")["text"], "Cancel");
    assert_eq!(
        only_message("interactive_list_reply")["text"],
        "Priority Mail Express"
    );
}

#[test]
fn a_media_message_without_caption_stores_null() {
    let v = envelope_with(
        json!([{"from":"16505551234","id":"w1","timestamp":"1674727200",
        "type":"image","image":{"id":"9","mime_type":"image/jpeg"}}]),
    );
    let envelope = parse_value(&v).unwrap();
    assert!(envelope.messages()[0].text().is_none());
}

#[test]
fn an_interactive_reply_of_another_kind_stores_null() {
    let v = envelope_with(
        json!([{"from":"16505551234","id":"w1","timestamp":"1674727200",
        "type":"interactive","interactive":{"type":"nfm_reply",
        "nfm_reply":{"name":"flow","body":"Sent","response_json":"{}"}}}]),
    );
    assert!(parse_value(&v).unwrap().messages()[0].text().is_none());
}

// ---------------------------------------------------------------------------------------------
// Statuses, other changes, several entries.

#[test]
fn statuses_only_stores_nothing_and_counts_the_statuses() {
    let envelope = parse(sample("statuses"));
    assert!(envelope.messages().is_empty());
    assert_eq!(
        envelope.ignored(),
        Ignored {
            statuses: 3,
            changes: 0,
            foreign_entries: 0
        }
    );
}

#[test]
fn several_entries_and_changes_map_every_message_in_order() {
    let envelope = parse(sample("multi_entry_multi_change"));
    let got: Vec<Value> = envelope
        .messages()
        .iter()
        .map(|m| serde_json::to_value(m).unwrap())
        .collect();
    let id = |suffix: &str| {
        format!("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMx{suffix}")
    };
    assert_eq!(
        got,
        vec![
            json!({"message_id":id("C1"),"from":"+16505551234","to":"+15550783881",
                   "ts":"2023-01-26T10:00:00Z","text":"first"}),
            json!({"message_id":id("C2"),"from":"+16505551234","to":"+15550783881",
                   "ts":"2023-01-26T10:00:01Z","text":"second"}),
            json!({"message_id":id("C3"),"from":"+919876543210","to":"+15550001111",
                   "ts":"2023-01-26T10:00:03Z","text":"Yes please"}),
            json!({"message_id":id("C4"),"from":"+16505551234","to":"+15550783881",
                   "ts":"2023-01-26T10:00:05Z","text":"Row one"}),
            json!({"message_id":id("C5"),"from":"+16505551234","to":"+15550783881",
                   "ts":"2023-01-26T10:00:06Z","text":null}),
        ]
    );
    assert_eq!(
        envelope.ignored(),
        Ignored {
            statuses: 1,
            changes: 2,
            foreign_entries: 0
        }
    );
}

#[test]
fn every_sample_maps_to_messages_the_plain_webhook_accepts() {
    for (name, body) in SAMPLES {
        for m in parse(body).into_messages() {
            let again = parse_message(&serde_json::to_vec(&m).unwrap());
            assert_eq!(again.as_ref(), Ok(&m), "{name}");
        }
    }
}

#[test]
fn duplicate_ids_in_one_request_are_both_mapped() {
    let v = envelope_with(json!([text_message("w1", "a"), text_message("w1", "b")]));
    let envelope = parse_value(&v).unwrap();
    let ids: Vec<&str> = envelope
        .messages()
        .iter()
        .map(|m| m.message_id().as_str())
        .collect();
    assert_eq!(ids, ["w1", "w1"]);
}

#[test]
fn empty_entry_changes_and_messages_are_valid_and_store_nothing() {
    for v in [
        json!({"object":"whatsapp_business_account","entry":[]}),
        json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}]}),
        // No metadata needed when there is no message.
        json!({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[]}}]}]}),
        json!({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{}}]}]}),
    ] {
        let envelope = parse_value(&v).unwrap();
        assert!(envelope.messages().is_empty(), "{v}");
        assert_eq!(envelope.ignored(), Ignored::default(), "{v}");
    }
}

#[test]
fn another_object_is_acknowledged_without_being_read() {
    let v = json!({"object":"page","entry":[{"messaging":[{"x":1}]},{"changes":"nonsense"}]});
    let envelope = parse_value(&v).unwrap();
    assert!(envelope.messages().is_empty());
    assert_eq!(envelope.ignored().foreign_entries, 2);
    let v = json!({"object":"instagram"});
    assert_eq!(parse_value(&v).unwrap().ignored().foreign_entries, 0);
}

#[test]
fn a_change_without_field_is_read_as_messages() {
    let mut v = envelope_with(json!([text_message("w1", "hi")]));
    v["entry"][0]["changes"][0]
        .as_object_mut()
        .unwrap()
        .remove("field");
    assert_eq!(parse_value(&v).unwrap().messages().len(), 1);
}

#[test]
fn other_fields_are_ignored_even_when_their_value_would_be_invalid() {
    let v = json!({"object":"whatsapp_business_account","entry":[{"changes":[
        {"field":"smb_message_echoes","value":{"message_echoes":[{"id":5}]}},
        {"field":"history","value":"whatever"}]}]});
    let envelope = parse_value(&v).unwrap();
    assert_eq!(envelope.ignored().changes, 2);
}

#[test]
fn unknown_fields_anywhere_never_fail() {
    let mut v = envelope_with(json!([text_message("w1", "hi")]));
    v["new_top"] = json!([1, {"a": null}]);
    v["entry"][0]["time"] = json!(1_674_727_200);
    v["entry"][0]["changes"][0]["value"]["errors"] = json!([{"code": 131_000}]);
    v["entry"][0]["changes"][0]["value"]["messages"][0]["identity"] =
        json!({"acknowledged": true, "created_timestamp": 1_602_532_300_000_u64});
    v["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["markup"] = json!("bold");
    assert_eq!(parse_value(&v).unwrap().messages().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Numbers and timestamps.

#[test]
fn unix_seconds_become_rfc3339_utc() {
    for (seconds, ts) in [
        (json!("1674727200"), "2023-01-26T10:00:00Z"),
        (json!("0"), "1970-01-01T00:00:00Z"),
        (json!("0001674727200"), "2023-01-26T10:00:00Z"),
        (json!(1_674_727_200), "2023-01-26T10:00:00Z"),
        (json!("253402300799"), "9999-12-31T23:59:59Z"),
    ] {
        let v = envelope_with(json!([{"from":"1","id":"w","timestamp":seconds}]));
        let envelope = parse_value(&v).unwrap();
        assert_eq!(envelope.messages()[0].ts().as_str(), ts, "{seconds}");
    }
}

#[test]
fn timestamps_that_are_not_whole_unix_seconds_are_rejected() {
    let loc = json!([
        "body",
        "entry",
        0,
        "changes",
        0,
        "value",
        "messages",
        0,
        "timestamp"
    ]);
    for seconds in [
        json!(""),
        json!(" 1674727200"),
        json!("1674727200.5"),
        json!("-1"),
        json!("+1674727200"),
        json!("１６７４７２７２００"),
        json!("2023-01-26T10:00:00Z"),
        json!(1_674_727_200.0),
        json!(true),
        json!({"s": 1}),
        json!(null),
    ] {
        let v = envelope_with(json!([{"from":"1","id":"w","timestamp":seconds}]));
        assert_eq!(
            errors_of(&v),
            vec![(loc.clone(), "value_error".to_owned())],
            "{seconds}"
        );
    }
    for too_late in [
        json!("253402300800"),
        json!("99999999999999999999999"),
        json!(-1),
    ] {
        let v = envelope_with(json!([{"from":"1","id":"w","timestamp":too_late}]));
        let errors = parse_envelope(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert_eq!(errors.len(), 1, "{too_late}");
        assert!(errors[0].msg().contains("253402300799"), "{too_late}");
    }
}

#[test]
fn phone_numbers_are_digits_with_an_optional_plus() {
    let mut v = envelope_with(json!([{"from":"+919876543210","id":"w","timestamp":"1"}]));
    v["entry"][0]["changes"][0]["value"]["metadata"]["display_phone_number"] =
        json!("+15550783881");
    let envelope = parse_value(&v).unwrap();
    assert_eq!(envelope.messages()[0].from().as_str(), "+919876543210");
    assert_eq!(envelope.messages()[0].to().as_str(), "+15550783881");

    let from_loc = json!([
        "body", "entry", 0, "changes", 0, "value", "messages", 0, "from"
    ]);
    for from in [
        "",
        "+",
        "++1",
        "1234567890123456",
        "1 650 555 1234",
        "1-650-555-1234",
        "abc",
        "١٢٣",
    ] {
        let v = envelope_with(json!([{"from":from,"id":"w","timestamp":"1"}]));
        assert_eq!(
            errors_of(&v),
            vec![(from_loc.clone(), "value_error".to_owned())],
            "{from:?}"
        );
    }
    assert!(
        parse_value(&envelope_with(
            json!([{"from":"123456789012345","id":"w","timestamp":"1"}])
        ))
        .is_ok()
    );
}

#[test]
fn a_formatted_display_number_is_an_error_once_per_change() {
    let mut v = envelope_with(json!([text_message("w1", "a"), text_message("w2", "b")]));
    v["entry"][0]["changes"][0]["value"]["metadata"]["display_phone_number"] =
        json!("+1 555-078-3881");
    assert_eq!(
        errors_of(&v),
        vec![(
            json!([
                "body",
                "entry",
                0,
                "changes",
                0,
                "value",
                "metadata",
                "display_phone_number"
            ]),
            "value_error".to_owned()
        )]
    );
}

// ---------------------------------------------------------------------------------------------
// Errors and their `loc`.

#[test]
fn unreadable_bodies_give_one_error_at_body_like_the_plain_webhook() {
    for (raw, kind) in [
        (&b""[..], "missing"),
        (b"  \n", "missing"),
        (b"{", "json_invalid"),
        (b"\xff", "json_invalid"),
        (b"[]", "model_attributes_type"),
        (b"\"whatsapp_business_account\"", "model_attributes_type"),
    ] {
        let errors = parse_envelope(raw).unwrap_err();
        assert_eq!(errors.len(), 1, "{raw:?}");
        assert_eq!(errors[0].loc(), ["body"], "{raw:?}");
        assert_eq!(errors[0].kind(), kind, "{raw:?}");
    }
}

#[test]
fn envelope_shape_errors_are_all_reported() {
    assert_eq!(
        errors_of(&json!({})),
        vec![
            (json!(["body", "object"]), "missing".to_owned()),
            (json!(["body", "entry"]), "missing".to_owned()),
        ]
    );
    assert_eq!(
        errors_of(&json!({"object": 7, "entry": {"changes": []}})),
        vec![
            (json!(["body", "object"]), "string_type".to_owned()),
            (json!(["body", "entry"]), "list_type".to_owned()),
        ]
    );
    assert_eq!(
        errors_of(&json!({"object":"whatsapp_business_account","entry":[
            5, {"id":"1"}, {"changes":{}}, {"changes":[null, {"field":1}, {"field":"messages"},
            {"field":"messages","value":[]}, {"value":{"messages":{}}}]}]})),
        vec![
            (json!(["body", "entry", 0]), "model_type".to_owned()),
            (json!(["body", "entry", 1, "changes"]), "missing".to_owned()),
            (
                json!(["body", "entry", 2, "changes"]),
                "list_type".to_owned()
            ),
            (
                json!(["body", "entry", 3, "changes", 0]),
                "model_type".to_owned()
            ),
            (
                json!(["body", "entry", 3, "changes", 1, "field"]),
                "string_type".to_owned()
            ),
            (
                json!(["body", "entry", 3, "changes", 2, "value"]),
                "missing".to_owned()
            ),
            (
                json!(["body", "entry", 3, "changes", 3, "value"]),
                "model_type".to_owned()
            ),
            (
                json!(["body", "entry", 3, "changes", 4, "value", "messages"]),
                "list_type".to_owned()
            ),
        ]
    );
}

#[test]
fn every_message_problem_is_reported_with_its_index() {
    let v = envelope_with(json!([
        text_message("ok", "fine"),
        {"type":"text"},
        {"id":"", "from":"12a", "timestamp":"x", "text":{"body":5}},
        "not an object",
        {"id":"w", "from":"1", "timestamp":"1", "image":{"caption":"c".repeat(MAX_TEXT_CHARS + 1)}},
        {"id":"w", "from":"1", "timestamp":"1", "interactive":"button_reply"},
        {"id":"x".repeat(1025), "from":"1", "timestamp":"1", "button":{"text":["b"]}},
    ]));
    let at = |k: usize, tail: &[&str]| {
        let mut loc = json!(["body", "entry", 0, "changes", 0, "value", "messages", k]);
        for t in tail {
            loc.as_array_mut().unwrap().push(json!(t));
        }
        loc
    };
    assert_eq!(
        errors_of(&v),
        vec![
            (at(1, &["id"]), "missing".to_owned()),
            (at(1, &["from"]), "missing".to_owned()),
            (at(1, &["timestamp"]), "missing".to_owned()),
            (at(2, &["id"]), "string_too_short".to_owned()),
            (at(2, &["from"]), "value_error".to_owned()),
            (at(2, &["timestamp"]), "value_error".to_owned()),
            (at(2, &["text", "body"]), "string_type".to_owned()),
            (at(3, &[]), "model_type".to_owned()),
            (at(4, &["image", "caption"]), "string_too_long".to_owned()),
            (at(5, &["interactive"]), "model_type".to_owned()),
            (at(6, &["id"]), "string_too_long".to_owned()),
            (at(6, &["button", "text"]), "string_type".to_owned()),
        ]
    );
}

#[test]
fn text_length_is_counted_in_characters() {
    let at_limit = "é".repeat(MAX_TEXT_CHARS);
    let v = envelope_with(json!([text_message("w", &at_limit)]));
    let envelope = parse_value(&v).unwrap();
    assert_eq!(envelope.messages()[0].text().unwrap().as_str(), at_limit);
    let over = "é".repeat(MAX_TEXT_CHARS + 1);
    assert_eq!(
        errors_of(&envelope_with(json!([text_message("w", &over)]))),
        vec![(
            json!([
                "body", "entry", 0, "changes", 0, "value", "messages", 0, "text", "body"
            ]),
            "string_too_long".to_owned()
        )]
    );
}

#[test]
fn messages_without_metadata_are_an_error_at_metadata() {
    let mut v = envelope_with(json!([text_message("w", "a")]));
    v["entry"][0]["changes"][0]["value"]
        .as_object_mut()
        .unwrap()
        .remove("metadata");
    assert_eq!(
        errors_of(&v),
        vec![(
            json!(["body", "entry", 0, "changes", 0, "value", "metadata"]),
            "missing".to_owned()
        )]
    );
}

#[test]
fn error_loc_keeps_indexes_as_numbers_and_as_text() {
    let v = envelope_with(json!([text_message("ok", "a"), {"id":"w","timestamp":"1"}]));
    let errors = parse_envelope(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    let e = &errors[0];
    assert_eq!(
        e.loc(),
        [
            "body", "entry", "0", "changes", "0", "value", "messages", "1", "from"
        ]
    );
    assert_eq!(e.loc_segments()[2], LocSegment::Index(0));
    assert_eq!(e.loc_segments()[7], LocSegment::Index(1));
    assert_eq!(
        serde_json::to_value(e).unwrap(),
        json!({"loc":["body","entry",0,"changes",0,"value","messages",1,"from"],
               "msg":"Field required","type":"missing"})
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests.

/// One generated inbound message: the JSON Meta would send, and what it must map to when the
/// generator chose only valid values.
#[derive(Debug, Clone)]
struct GenMessage {
    json: Value,
    text: Option<String>,
    seconds: u64,
}

const TYPES: [&str; 14] = [
    "text",
    "image",
    "video",
    "document",
    "audio",
    "sticker",
    "location",
    "contacts",
    "button",
    "button_reply",
    "list_reply",
    "reaction",
    "unsupported",
    "future_type",
];

/// The message keys the text mapping reads.
const TEXT_KEYS: [&str; 6] = [
    "text",
    "image",
    "video",
    "document",
    "button",
    "interactive",
];

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,40}",
        1 => Just("é".repeat(MAX_TEXT_CHARS)),
        1 => Just("😀".repeat(MAX_TEXT_CHARS + 1)),
    ]
}

fn arb_extra() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,10}".prop_map(Value::from),
        Just(json!({"nested": [1, {"deep": null}]})),
    ]
}

/// A message of a random type with valid or invalid fields and random unknown keys.
fn arb_message(valid_only: bool) -> impl Strategy<Value = GenMessage> {
    let id = if valid_only {
        "wamid\\.[A-Za-z0-9+/=]{1,60}".boxed()
    } else {
        prop_oneof![
            6 => "wamid\\.[A-Za-z0-9+/=]{1,60}",
            1 => Just(String::new()),
            1 => Just("w".repeat(1025)),
        ]
        .boxed()
    };
    let from = if valid_only {
        "\\+?[0-9]{1,15}".boxed()
    } else {
        prop_oneof![6 => "\\+?[0-9]{1,15}", 1 => "[0-9]{16,18}", 1 => "[0-9a-z +-]{0,8}"].boxed()
    };
    let seconds = 0..=Timestamp::MAX_UNIX_SECONDS;
    let timestamp_form = if valid_only {
        (0..2u8).boxed()
    } else {
        (0..4u8).boxed()
    };
    let text = arb_text();
    let extras = proptest::collection::btree_map("[a-z_]{1,8}", arb_extra(), 0..3);
    (
        proptest::sample::select(&TYPES[..]),
        id,
        from,
        seconds,
        timestamp_form,
        text,
        extras,
    )
        .prop_map(move |(kind, id, from, seconds, form, text, extras)| {
            let timestamp = match form {
                0 => json!(seconds.to_string()),
                1 => json!(seconds),
                2 => json!(format!("{seconds}.5")),
                _ => json!((Timestamp::MAX_UNIX_SECONDS + 1 + seconds).to_string()),
            };
            let mut m = serde_json::Map::new();
            for (k, v) in extras {
                // The valid generator keeps unknown keys unknown: a random `text` or `image`
                // would be a (rightly rejected) text source of the wrong shape.
                if !valid_only || !TEXT_KEYS.contains(&k.as_str()) {
                    m.insert(k, v);
                }
            }
            m.insert("id".into(), json!(id));
            m.insert("from".into(), json!(from));
            m.insert("timestamp".into(), timestamp);
            let (type_key, content, mapped) = match kind {
                "text" => ("text", json!({"body": text}), Some(text)),
                "image" | "video" | "document" => (
                    kind,
                    json!({"id":"1","mime_type":"x/y","caption": text}),
                    Some(text),
                ),
                "button" => ("button", json!({"payload":"p","text": text}), Some(text)),
                "button_reply" | "list_reply" => (
                    "interactive",
                    json!({"type": kind, kind: {"id":"r","title": text}}),
                    Some(text),
                ),
                "reaction" => (
                    "reaction",
                    json!({"message_id":"wamid.X","emoji": text}),
                    None,
                ),
                "location" => (
                    "location",
                    json!({"latitude": 1.5, "longitude": -2.5}),
                    None,
                ),
                "contacts" => ("contacts", json!([{"name":{"formatted_name": text}}]), None),
                _ => (kind, json!({"anything": text}), None),
            };
            m.insert("type".into(), json!(type_key));
            m.insert(type_key.into(), content);
            GenMessage {
                json: Value::Object(m),
                text: mapped,
                seconds,
            }
        })
}

/// An envelope of 0–2 entries, each of 0–2 changes, each a messages change (0–3 messages, maybe
/// statuses) or another field.
fn arb_envelope(valid_only: bool) -> impl Strategy<Value = (Value, Vec<GenMessage>)> {
    let change = (
        proptest::collection::vec(arb_message(valid_only), 0..4),
        0..3usize,
        prop_oneof![4 => Just("messages"), 1 => Just("account_update")],
        "[0-9]{1,15}",
    );
    proptest::collection::vec(proptest::collection::vec(change, 0..3), 0..3).prop_map(|entries| {
        let mut expected = Vec::new();
        let entries: Vec<Value> = entries
            .into_iter()
            .map(|changes| {
                let changes: Vec<Value> = changes
                    .into_iter()
                    .map(|(messages, statuses, field, display)| {
                        if field == "messages" {
                            expected.extend(messages.iter().cloned());
                        }
                        let statuses: Vec<Value> = (0..statuses)
                            .map(|i| json!({"id": format!("s{i}"), "status": "read"}))
                            .collect();
                        let messages: Vec<Value> = messages.into_iter().map(|m| m.json).collect();
                        json!({"field": field, "value": {
                                "metadata": {"display_phone_number": display},
                                "messages": messages, "statuses": statuses}})
                    })
                    .collect();
                json!({"id": "1", "changes": changes})
            })
            .collect();
        (
            json!({"object": "whatsapp_business_account", "entry": entries}),
            expected,
        )
    })
}

fn check_message_is_valid(m: &Message) {
    // The domain's own parser accepts the mapped message unchanged.
    let again = parse_message(&serde_json::to_vec(m).unwrap());
    assert_eq!(again.as_ref(), Ok(m));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_generated_envelope_maps_to_valid_messages_or_to_errors(
        (envelope, expected) in arb_envelope(false)
    ) {
        let body = serde_json::to_vec(&envelope).unwrap();
        match parse_envelope(&body) {
            Ok(parsed) => {
                prop_assert_eq!(parsed.messages().len(), expected.len());
                for m in parsed.messages() {
                    check_message_is_valid(m);
                }
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in &errors {
                    prop_assert_eq!(e.loc_segments().first(), Some(&LocSegment::from("body")));
                    prop_assert_eq!(e.loc().len(), e.loc_segments().len());
                }
            }
        }
    }

    #[test]
    fn valid_envelopes_map_every_message_with_its_time_and_text(
        (envelope, expected) in arb_envelope(true)
    ) {
        let body = serde_json::to_vec(&envelope).unwrap();
        let too_long = expected
            .iter()
            .any(|g| g.text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS));
        match parse_envelope(&body) {
            Ok(parsed) => {
                prop_assert!(!too_long);
                prop_assert_eq!(parsed.messages().len(), expected.len());
                for (m, g) in parsed.messages().iter().zip(&expected) {
                    check_message_is_valid(m);
                    prop_assert_eq!(
                        m.ts().instant().unix_nanos(),
                        i128::from(g.seconds) * 1_000_000_000
                    );
                    prop_assert_eq!(m.text().map(|t| t.as_str()), g.text.as_deref());
                    let digits = g.json["from"].as_str().unwrap().trim_start_matches('+');
                    prop_assert_eq!(m.from().as_str(), format!("+{digits}"));
                    prop_assert_eq!(m.message_id().as_str(), g.json["id"].as_str().unwrap());
                }
            }
            Err(errors) => {
                // The only invalid value the valid generator makes is an over-long text.
                prop_assert!(too_long, "{:?}", errors);
                for e in &errors {
                    prop_assert_eq!(e.kind(), "string_too_long");
                }
            }
        }
    }

    #[test]
    fn unix_seconds_round_trip_through_the_timestamp(seconds in 0..=Timestamp::MAX_UNIX_SECONDS) {
        let v = envelope_with(json!([{"from":"1","id":"w","timestamp":seconds.to_string()}]));
        let parsed = parse_value(&v).unwrap();
        let ts = parsed.messages()[0].ts();
        prop_assert_eq!(ts.instant().unix_nanos(), i128::from(seconds) * 1_000_000_000);
        let reparsed = Timestamp::parse(ts.as_str());
        prop_assert_eq!(reparsed.as_ref(), Ok(ts));
        prop_assert!(ts.as_str().ends_with('Z') && ts.as_str().len() == 20);
    }

    #[test]
    fn mutated_samples_never_panic(
        which in 0..SAMPLES.len(),
        cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
    ) {
        let mut body = SAMPLES[which].1.to_vec();
        for (at, byte) in cuts {
            let i = at.index(body.len());
            body[i] = byte;
        }
        if let Err(errors) = parse_envelope(&body) {
            prop_assert!(!errors.is_empty());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Err(errors) = parse_envelope(&raw) {
            prop_assert!(!errors.is_empty());
        }
    }
}
