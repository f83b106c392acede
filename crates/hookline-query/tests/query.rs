//! Black-box tests of the query crate: parameter parsing tables, the reference semantics'
//! boundary cases, and property tests of paging.

use hookline_domain::{FieldError, Instant, Message, MessageId, Msisdn, Text, Timestamp};
use hookline_query::{
    Cursor, DEFAULT_LIMIT, Filter, ListQuery, MAX_OFFSET, PageStart, QueryError, reference,
};

fn msg(id: &str, from: &str, ts: &str, text: Option<&str>) -> Message {
    Message::new(
        MessageId::parse(id).unwrap(),
        Msisdn::parse(from).unwrap(),
        Msisdn::parse("+14155550100").unwrap(),
        Timestamp::parse(ts).unwrap(),
        text.map(|t| Text::parse(t).unwrap()),
    )
}

fn parse(params: &[(&str, &str)]) -> Result<ListQuery, Vec<FieldError>> {
    ListQuery::parse(params.iter().copied())
}

/// The (loc field, type, msg) of each error.
fn errors(params: &[(&str, &str)]) -> Vec<(String, String, String)> {
    parse(params)
        .expect_err("expected a 422")
        .iter()
        .map(|e| {
            assert_eq!(e.loc()[0], "query");
            (e.loc()[1].clone(), e.kind().to_owned(), e.msg().to_owned())
        })
        .collect()
}

fn ids(page: &[Message]) -> Vec<&str> {
    page.iter().map(|m| m.message_id().as_str()).collect()
}

mod parsing {
    use super::*;

    #[test]
    fn defaults_are_limit_50_offset_0_no_filters() {
        let q = parse(&[]).unwrap();
        assert_eq!(q.limit(), DEFAULT_LIMIT);
        assert_eq!(q.offset(), 0);
        assert_eq!(q.start(), &PageStart::Offset(0));
        assert_eq!(q.filter(), &Filter::default());
    }

    #[test]
    fn limit_bounds_and_integer_parsing() {
        const INT: &str = "Input should be a valid integer, unable to parse string as an integer";
        for (value, expected) in [
            ("1", Ok(1)),
            ("100", Ok(100)),
            (
                "0",
                Err((
                    "greater_than_equal",
                    "Input should be greater than or equal to 1",
                )),
            ),
            (
                "-1",
                Err((
                    "greater_than_equal",
                    "Input should be greater than or equal to 1",
                )),
            ),
            (
                "101",
                Err((
                    "less_than_equal",
                    "Input should be less than or equal to 100",
                )),
            ),
            ("abc", Err(("int_parsing", INT))),
            ("", Err(("int_parsing", INT))),
            ("1.5", Err(("int_parsing", INT))),
        ] {
            match expected {
                Ok(n) => assert_eq!(parse(&[("limit", value)]).unwrap().limit(), n, "{value}"),
                Err((kind, msg)) => assert_eq!(
                    errors(&[("limit", value)]),
                    vec![("limit".to_owned(), kind.to_owned(), msg.to_owned())],
                    "{value}"
                ),
            }
        }
    }

    #[test]
    fn offset_bounds() {
        assert_eq!(parse(&[("offset", "0")]).unwrap().offset(), 0);
        let max = MAX_OFFSET.to_string();
        assert_eq!(parse(&[("offset", &max)]).unwrap().offset(), MAX_OFFSET);
        assert_eq!(
            errors(&[("offset", "-1")]),
            vec![(
                "offset".to_owned(),
                "greater_than_equal".to_owned(),
                "Input should be greater than or equal to 0".to_owned()
            )]
        );
        let too_big = (u128::from(MAX_OFFSET) + 1).to_string();
        for big in [
            too_big.as_str(),
            "99999999999999999999999999999999999999999999999",
        ] {
            let e = errors(&[("offset", big)]);
            assert_eq!(e.len(), 1);
            assert_eq!(
                (e[0].0.as_str(), e[0].1.as_str()),
                ("offset", "less_than_equal")
            );
        }
        assert_eq!(errors(&[("offset", "x")])[0].1, "int_parsing");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let e = errors(&[
            ("limit", "0"),
            ("offset", "-1"),
            ("since", "yesterday"),
            ("cursor", "!!"),
        ]);
        let fields: Vec<&str> = e.iter().map(|(f, _, _)| f.as_str()).collect();
        assert_eq!(fields, ["limit", "offset", "since", "cursor"]);
    }

    #[test]
    fn a_leading_space_in_from_is_a_plus() {
        for (sent, read) in [
            (" 919876543210", Some("+919876543210")),
            ("+919876543210", Some("+919876543210")),
            ("919876543210", Some("919876543210")),
            ("", None),
        ] {
            let q = parse(&[("from", sent)]).unwrap();
            assert_eq!(q.filter().from.as_deref(), read, "{sent:?}");
        }
    }

    #[test]
    fn since_accepts_any_offset_and_repairs_an_unencoded_plus() {
        let utc = Instant::parse_rfc3339("2025-01-15T10:00:00Z").unwrap();
        for sent in [
            "2025-01-15T10:00:00Z",
            "2025-01-15T10:00:00.000Z",
            "2025-01-15T15:30:00+05:30",
            "2025-01-15T15:30:00 05:30",
            "2025-01-15T02:00:00-08:00",
        ] {
            assert_eq!(
                parse(&[("since", sent)]).unwrap().filter().since,
                Some(utc),
                "{sent}"
            );
        }
        for bad in [
            "",
            "yesterday",
            "2025-02-30T10:00:00Z",
            "2025-01-15",
            "2025-01-15T15:30:00 5:30",
        ] {
            let e = errors(&[("since", bad)]);
            assert_eq!(
                (e[0].0.as_str(), e[0].1.as_str()),
                ("since", "datetime_parsing"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn empty_q_and_cursor_are_absent() {
        let q = parse(&[("q", ""), ("cursor", "")]).unwrap();
        assert_eq!(q.filter().q, None);
        assert_eq!(q.start(), &PageStart::Offset(0));
        let q = parse(&[("q", "50%_off")]).unwrap();
        assert_eq!(q.filter().q.as_deref(), Some("50%_off"));
    }

    #[test]
    fn a_garbage_cursor_is_a_value_error() {
        for bad in ["garbage", "!!", "AAAA", "=", "eyJ0cyI6MX0"] {
            assert_eq!(
                errors(&[("cursor", bad)]),
                vec![(
                    "cursor".to_owned(),
                    "value_error".to_owned(),
                    "Value error, invalid cursor".to_owned()
                )],
                "{bad}"
            );
        }
    }

    #[test]
    fn a_cursor_with_a_non_zero_offset_is_rejected() {
        let c = Cursor::after(&msg("m1", "+1", "2025-01-15T10:00:00Z", None)).encode();
        let e = errors(&[("cursor", &c), ("offset", "5")]);
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].0.as_str(), e[0].1.as_str()),
            ("cursor", "value_error")
        );
        let q = parse(&[("cursor", &c), ("offset", "0")]).unwrap();
        assert_eq!(q.start(), &PageStart::After(Cursor::decode(&c).unwrap()));
        assert_eq!(q.offset(), 0);
    }

    #[test]
    fn the_last_of_repeated_keys_wins_and_unknown_keys_are_ignored() {
        let q = parse(&[
            ("limit", "abc"),
            ("limit", "7"),
            ("from", "+1"),
            ("from", "+2"),
            ("page", "x"),
            ("LIMIT", "0"),
        ])
        .unwrap();
        assert_eq!(q.limit(), 7);
        assert_eq!(q.filter().from.as_deref(), Some("+2"));
        assert_eq!(errors(&[("limit", "7"), ("limit", "0")])[0].0, "limit");
    }

    #[test]
    fn new_checks_limit_and_offset() {
        let f = Filter::default;
        assert_eq!(
            ListQuery::new(f(), 0, PageStart::Offset(0)),
            Err(QueryError::LimitOutOfRange { max: 100 })
        );
        assert_eq!(
            ListQuery::new(f(), 101, PageStart::Offset(0)),
            Err(QueryError::LimitOutOfRange { max: 100 })
        );
        assert_eq!(
            ListQuery::new(f(), 1, PageStart::Offset(MAX_OFFSET + 1)),
            Err(QueryError::OffsetOutOfRange { max: MAX_OFFSET })
        );
        assert!(ListQuery::new(f(), 100, PageStart::Offset(MAX_OFFSET)).is_ok());
    }
}

mod semantics {
    use super::*;

    fn list(messages: &[Message], params: &[(&str, &str)]) -> hookline_query::Page<Message> {
        reference::list(messages, &parse(params).unwrap())
    }

    #[test]
    fn orders_by_instant_then_message_id() {
        let rows = [
            msg("b", "+1", "2025-01-15T10:00:00.5Z", None),
            msg("c", "+1", "2025-01-15T10:00:00Z", None),
            msg("a", "+1", "2025-01-15T10:00:00.000Z", None),
            msg("A", "+1", "2025-01-15T10:00:00Z", None),
        ];
        assert_eq!(ids(&list(&rows, &[]).data), ["A", "a", "c", "b"]);
    }

    #[test]
    fn from_filter_and_the_unencoded_plus() {
        let rows = [
            msg("m1", "+919876543210", "2025-01-15T10:00:00Z", None),
            msg("m2", "+14155550100", "2025-01-15T10:00:01Z", None),
        ];
        assert_eq!(ids(&list(&rows, &[("from", " 919876543210")]).data), ["m1"]);
        assert_eq!(ids(&list(&rows, &[("from", "+919876543210")]).data), ["m1"]);
        assert_eq!(list(&rows, &[("from", "919876543210")]).total, 0);
    }

    #[test]
    fn since_compares_instants() {
        let rows = [
            msg("m1", "+1", "2025-01-15T09:59:59.999999999Z", None),
            msg("m2", "+1", "2025-01-15T10:00:00Z", None),
            msg("m3", "+1", "2025-01-15T10:00:00.5Z", None),
        ];
        for since in [
            "2025-01-15T10:00:00Z",
            "2025-01-15T15:30:00 05:30",
            "2025-01-15T02:00:00-08:00",
        ] {
            assert_eq!(
                ids(&list(&rows, &[("since", since)]).data),
                ["m2", "m3"],
                "{since}"
            );
        }
        assert_eq!(
            ids(&list(&rows, &[("since", "2025-01-15T10:00:00.1Z")]).data),
            ["m3"]
        );
    }

    #[test]
    fn q_is_unicode_case_insensitive_and_literal() {
        let rows = [
            msg("m1", "+1", "2025-01-15T10:00:01Z", Some("Élan vital")),
            msg("m2", "+1", "2025-01-15T10:00:02Z", Some("100% sure")),
            msg("m3", "+1", "2025-01-15T10:00:03Z", Some("100 sure")),
            msg("m4", "+1", "2025-01-15T10:00:04Z", Some("a_b")),
            msg("m5", "+1", "2025-01-15T10:00:05Z", Some("axb")),
            msg("m6", "+1", "2025-01-15T10:00:06Z", None),
            msg("m7", "+1", "2025-01-15T10:00:07Z", Some("")),
            msg("m8", "+1", "2025-01-15T10:00:08Z", Some("Hello 🙂 WORLD")),
        ];
        for (q, expected) in [
            ("élan", vec!["m1"]),
            ("ÉLAN", vec!["m1"]),
            ("%", vec!["m2"]),
            ("0% s", vec!["m2"]),
            ("_", vec!["m4"]),
            ("a_b", vec!["m4"]),
            ("🙂 world", vec!["m8"]),
            ("missing", vec![]),
        ] {
            assert_eq!(ids(&list(&rows, &[("q", q)]).data), expected, "{q}");
        }
        // An empty q is no filter; a null text never matches a q.
        assert_eq!(list(&rows, &[("q", "")]).total, 8);
        let q = ListQuery::first_page(
            Filter {
                q: Some("".to_owned()),
                ..Filter::default()
            },
            10,
        )
        .unwrap();
        assert_eq!(reference::list(&rows, &q).total, 8);
    }

    #[test]
    fn pages_echo_limit_and_offset_and_count_every_match() {
        let rows: Vec<Message> = (0..5)
            .map(|i| {
                msg(
                    &format!("m{i}"),
                    "+1",
                    &format!("2025-01-15T10:00:0{i}Z"),
                    None,
                )
            })
            .collect();
        let page = list(&rows, &[("limit", "2"), ("offset", "1")]);
        assert_eq!(ids(&page.data), ["m1", "m2"]);
        assert_eq!((page.total, page.limit, page.offset), (5, 2, 1));
        let next = Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(next, Cursor::after(&rows[2]));
        let page = list(&rows, &[("limit", "2"), ("offset", "3")]);
        assert_eq!(ids(&page.data), ["m3", "m4"]);
        assert_eq!(page.next_cursor, None);
        let page = list(&rows, &[("offset", "9")]);
        assert!(page.data.is_empty());
        assert_eq!((page.total, page.next_cursor), (5, None));
    }

    #[test]
    fn a_cursor_page_starts_after_the_cursor_and_echoes_offset_0() {
        let rows: Vec<Message> = (0..5)
            .map(|i| {
                msg(
                    &format!("m{i}"),
                    "+1",
                    &format!("2025-01-15T10:00:0{i}Z"),
                    None,
                )
            })
            .collect();
        let c = Cursor::after(&rows[1]).encode();
        let page = list(&rows, &[("limit", "2"), ("cursor", &c)]);
        assert_eq!(ids(&page.data), ["m2", "m3"]);
        assert_eq!((page.total, page.offset), (5, 0));
        // The cursor stays valid while rows are added, even before its position.
        let mut more = rows.clone();
        more.push(msg("m0b", "+1", "2025-01-15T10:00:00.5Z", None));
        more.push(msg("m1b", "+1", "2025-01-15T10:00:01Z", None));
        let page = list(&more, &[("limit", "2"), ("cursor", &c)]);
        assert_eq!(ids(&page.data), ["m1b", "m2"]);
        assert_eq!(page.total, 7);
    }

    #[test]
    fn stats_of_nothing_are_null() {
        let s = reference::stats(&[]);
        assert_eq!((s.total_messages, s.senders_count), (0, 0));
        assert!(s.messages_per_sender.is_empty());
        assert_eq!((s.first_message_ts, s.last_message_ts), (None, None));
    }

    #[test]
    fn stats_top_ten_ties_by_sender_and_timestamps_as_sent() {
        let mut rows = Vec::new();
        // 12 senders: +100 sends 3, +111 and +105 send 2, the rest 1 each.
        for (i, from) in ["+100", "+100", "+100", "+111", "+111", "+105", "+105"]
            .iter()
            .chain(
                [
                    "+101", "+102", "+103", "+104", "+106", "+107", "+108", "+109",
                ]
                .iter(),
            )
            .enumerate()
        {
            rows.push(msg(
                &format!("m{i:02}"),
                from,
                &format!("2025-01-15T10:00:{i:02}Z"),
                None,
            ));
        }
        rows.push(msg("early", "+109", "2025-01-15T09:00:00.000Z", None));
        rows.push(msg("early2", "+109", "2025-01-15T09:00:00Z", None));
        rows.push(msg("late", "+108", "2025-01-15T11:00:00.5Z", None));
        rows.push(msg("late2", "+108", "2025-01-15T11:00:00.500Z", None));
        let s = reference::stats(&rows);
        assert_eq!(s.total_messages, 19);
        assert_eq!(s.senders_count, 11);
        let top: Vec<(&str, u64)> = s
            .messages_per_sender
            .iter()
            .map(|c| (c.from.as_str(), c.count))
            .collect();
        assert_eq!(
            top,
            [
                ("+100", 3),
                ("+108", 3),
                ("+109", 3),
                ("+105", 2),
                ("+111", 2),
                ("+101", 1),
                ("+102", 1),
                ("+103", 1),
                ("+104", 1),
                ("+106", 1),
            ]
        );
        assert_eq!(
            s.first_message_ts.as_deref(),
            Some("2025-01-15T09:00:00.000Z")
        );
        // Ties between spellings of one instant: the smallest text first, the largest last.
        assert_eq!(s.last_message_ts.as_deref(), Some("2025-01-15T11:00:00.5Z"));
    }
}

mod properties {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;

    const SENDERS: &[&str] = &["+919876543210", "+14155550100", "+1", "+2"];
    const TIMESTAMPS: &[&str] = &[
        "2024-02-29T23:59:59Z",
        "2025-01-15T09:59:59.999999999Z",
        "2025-01-15T10:00:00Z",
        "2025-01-15T10:00:00.000Z",
        "2025-01-15T10:00:00.5Z",
        "2025-01-15T10:00:00.500000000Z",
        "2025-01-15T10:00:01Z",
    ];
    const SINCES: &[&str] = &[
        "2025-01-15T10:00:00Z",
        "2025-01-15T15:30:00+05:30",
        "2025-01-15T02:00:00.5-08:00",
        "0000-01-01T00:00:00+01:00",
    ];
    const TEXTS: &[&str] = &["Hello", "Élan", "élan", "100% sure", "a_b", "axb", "🙂", ""];
    const QS: &[&str] = &["hello", "ÉLAN", "%", "_", "a_b", "🙂", "l"];

    /// Distinct ids (the reference's precondition), few senders and instants.
    fn arb_messages() -> impl Strategy<Value = Vec<Message>> {
        let text = prop_oneof![Just(None), select(TEXTS).prop_map(Some),];
        let one = (select(SENDERS), select(TIMESTAMPS), text);
        proptest::collection::vec(one, 0..30).prop_map(|parts| {
            parts
                .into_iter()
                .enumerate()
                .map(|(i, (from, ts, text))| msg(&format!("m{}", (i * 7) % 31), from, ts, text))
                .collect()
        })
    }

    fn arb_filter() -> impl Strategy<Value = Filter> {
        let from = prop_oneof![Just(None), select(SENDERS).prop_map(|s| Some(s.to_owned()))];
        let since = prop_oneof![
            Just(None),
            select(SINCES).prop_map(|s| Instant::parse_rfc3339(s).ok())
        ];
        let q = prop_oneof![Just(None), select(QS).prop_map(|q| Some(q.to_owned()))];
        (from, since, q).prop_map(|(from, since, q)| Filter { from, since, q })
    }

    fn filtered(messages: &[Message], filter: &Filter) -> Vec<Message> {
        let mut rows: Vec<Message> = messages
            .iter()
            .filter(|m| reference::matches(filter, m))
            .cloned()
            .collect();
        rows.sort_by(reference::order);
        rows
    }

    /// A valid timestamp of any shape: any year, optional fraction of 1–9 digits.
    fn arb_timestamp() -> impl Strategy<Value = Timestamp> {
        (
            0i32..=9999,
            1u8..=12,
            1u8..=28,
            0u8..24,
            0u8..60,
            0u8..60,
            proptest::option::of("[0-9]{1,9}"),
        )
            .prop_map(|(y, mo, d, h, mi, s, frac)| {
                let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
                Timestamp::parse(&format!(
                    "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}Z"
                ))
                .unwrap()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn offset_pages_partition_the_filtered_set_in_order(
            messages in arb_messages(),
            filter in arb_filter(),
            limit in 1u32..=8,
        ) {
            let expected = filtered(&messages, &filter);
            let mut walked = Vec::new();
            let mut offset = 0u64;
            loop {
                let q = ListQuery::new(filter.clone(), limit, PageStart::Offset(offset)).unwrap();
                let page = reference::list(&messages, &q);
                prop_assert_eq!(page.total, expected.len() as u64);
                prop_assert_eq!((page.limit, page.offset), (limit, offset));
                prop_assert!(page.data.len() <= limit as usize);
                let more = (offset as usize + page.data.len()) < expected.len();
                prop_assert_eq!(page.next_cursor.is_some(), more && !page.data.is_empty());
                if page.data.is_empty() {
                    break;
                }
                offset += page.data.len() as u64;
                walked.extend(page.data);
            }
            prop_assert_eq!(walked, expected);
        }

        #[test]
        fn total_ignores_paging(
            messages in arb_messages(),
            filter in arb_filter(),
            limit in 1u32..=100,
            offset in 0u64..40,
        ) {
            let q = ListQuery::new(filter.clone(), limit, PageStart::Offset(offset)).unwrap();
            let page = reference::list(&messages, &q);
            let expected = filtered(&messages, &filter);
            prop_assert_eq!(page.total, expected.len() as u64);
            let skip = (offset as usize).min(expected.len());
            let end = (skip + limit as usize).min(expected.len());
            prop_assert_eq!(page.data, expected[skip..end].to_vec());
        }

        #[test]
        fn a_cursor_walk_equals_an_offset_walk(
            messages in arb_messages(),
            filter in arb_filter(),
            limit in 1u32..=8,
        ) {
            let expected = filtered(&messages, &filter);
            let mut q = ListQuery::first_page(filter, limit).unwrap();
            let mut walked = Vec::new();
            loop {
                let page = reference::list(&messages, &q);
                prop_assert_eq!(page.total, expected.len() as u64);
                prop_assert_eq!(page.offset, 0);
                walked.extend(page.data);
                let Some(c) = page.next_cursor else { break };
                // The cursor also survives the query string round trip.
                let parsed = ListQuery::parse([("cursor", c.as_str()), ("limit", &limit.to_string())])
                    .unwrap();
                prop_assert_eq!(parsed.start(), &PageStart::After(Cursor::decode(&c).unwrap()));
                q = q.after(Cursor::decode(&c).unwrap());
            }
            prop_assert_eq!(walked, expected);
        }

        #[test]
        fn cursor_encode_decode_round_trips(
            id in "\\PC{1,40}",
            ts in arb_timestamp(),
            text in proptest::option::of("\\PC{0,10}"),
        ) {
            let m = Message::new(
                MessageId::parse(&id).unwrap(),
                Msisdn::parse("+1").unwrap(),
                Msisdn::parse("+2").unwrap(),
                ts.clone(),
                text.map(|t| Text::parse(&t).unwrap()),
            );
            let c = Cursor::after(&m);
            prop_assert_eq!(c.ts_key(), ts.instant().sort_key());
            let s = c.encode();
            prop_assert!(s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            let back = Cursor::decode(&s).unwrap();
            prop_assert_eq!(back.encode(), s);
            prop_assert_eq!(back, c);
        }

        #[test]
        fn decoding_arbitrary_strings_never_panics(s in "\\PC{0,80}") {
            let _ = Cursor::decode(&s);
        }

        #[test]
        fn decoding_arbitrary_payloads_never_panics(
            version in prop_oneof![Just(1u8), any::<u8>()],
            body in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let raw = [&[version][..], &body].concat();
            if let Ok(c) = Cursor::decode(&URL_SAFE_NO_PAD.encode(&raw)) {
                // Whatever decodes re-encodes to the same payload.
                prop_assert_eq!(URL_SAFE_NO_PAD.decode(c.encode()).unwrap(), raw);
            }
        }

        #[test]
        fn parsing_arbitrary_parameters_never_panics(
            params in proptest::collection::vec(
                (select(&["limit", "offset", "from", "since", "q", "cursor", "x"][..]), "\\PC{0,30}"),
                0..8,
            ),
        ) {
            let _ = ListQuery::parse(params.iter().map(|(k, v)| (*k, v.as_str())));
        }
    }
}
