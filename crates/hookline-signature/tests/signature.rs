//! Black-box tests of `hookline-signature`: known answers, boundary cases, secret lists,
//! redaction, and the `verify(sign(body))` properties.

use hookline_signature::{
    Malformation, SecretSlice, SecretString, SignatureError, SignatureHeader, SignatureHeaders,
    Verifier, sign,
};
use proptest::prelude::*;

/// The example body of docs/API.md, step 3 of the original services' evaluation flow.
const SPEC_BODY: &[u8] = br#"{"message_id":"m1","from":"+919876543210","to":"+14155550100","ts":"2025-01-15T10:00:00Z","text":"Hello"}"#;

/// HMAC-SHA256 of `SPEC_BODY` under `testsecret`, computed independently with Python:
/// `hmac.new(b"testsecret", SPEC_BODY, hashlib.sha256).hexdigest()`.
const SPEC_SIGNATURE: &str = "ff1016e524bc9299d18988ecf27a880af9428140e3850af0c73ea1eef091a4cb";

fn x_signature(value: &[u8]) -> SignatureHeaders<'_> {
    SignatureHeaders {
        x_signature: Some(value),
        x_hub_signature_256: None,
    }
}

fn x_hub(value: &[u8]) -> SignatureHeaders<'_> {
    SignatureHeaders {
        x_signature: None,
        x_hub_signature_256: Some(value),
    }
}

fn both<'a>(x_signature: &'a [u8], x_hub: &'a [u8]) -> SignatureHeaders<'a> {
    SignatureHeaders {
        x_signature: Some(x_signature),
        x_hub_signature_256: Some(x_hub),
    }
}

fn malformed(header: SignatureHeader, problem: Malformation) -> Result<(), SignatureError> {
    Err(SignatureError::Malformed { header, problem })
}

fn spec_verifier() -> Verifier {
    list("testsecret").unwrap()
}

/// A verifier from a `WEBHOOK_SECRET`-style list.
fn list(secrets: &str) -> Result<Verifier, SignatureError> {
    Verifier::from_secret_list(&SecretString::from(secrets))
}

/// A verifier from secrets given one by one, as text.
fn texts<const N: usize>(secrets: [&str; N]) -> Result<Verifier, SignatureError> {
    Verifier::new(secrets.map(SecretString::from))
}

/// A verifier from one secret given as bytes.
fn bytes(secret: &[u8]) -> Verifier {
    Verifier::from_secret_bytes([SecretSlice::from(secret.to_vec())]).unwrap()
}

// ---------------------------------------------------------------- known answers

#[test]
fn sign_matches_the_known_answer_for_the_spec_example() {
    assert_eq!(sign(b"testsecret", SPEC_BODY), SPEC_SIGNATURE);
}

#[test]
fn sign_matches_rfc_4231_vectors() {
    // (key, data, HMAC-SHA256) from RFC 4231 test cases 1, 2, 6 and 7 (6 and 7 use a
    // 131-byte key, longer than the block, which must be hashed first).
    let long_key = [0xaa_u8; 131];
    let cases: [(&[u8], &[u8], &str); 4] = [
        (
            &[0x0b; 20],
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            &long_key,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            &long_key,
            b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ];
    for (key, data, expected) in cases {
        assert_eq!(sign(key, data), expected);
    }
}

#[test]
fn sign_handles_keys_at_the_block_size_boundary_and_empty_bodies() {
    // Computed with Python's hmac module.
    assert_eq!(
        sign(&[0xaa; 64], b"exactly one block"),
        "5b87dae58ee4b7b43b98ee08d3d044b8762c3ea166aff96a2b2298de9f34a8ea"
    );
    assert_eq!(
        sign(&[0xaa; 65], b"one byte over a block"),
        "8835b06d16fc36b27dd77e870129f7baf3418a24caf4209356d5415d83c2cbb0"
    );
    assert_eq!(
        sign(b"k", b""),
        "8bb990c40a7d61cb97597a942125025be50ac8beb74436e3735b98893a7f6620"
    );
}

// ---------------------------------------------------------------- the evaluation flow

#[test]
fn spec_evaluation_flow_rejects_signature_123_and_accepts_the_right_one() {
    let verifier = spec_verifier();
    assert_eq!(
        verifier.verify(x_signature(b"123"), SPEC_BODY),
        malformed(
            SignatureHeader::XSignature,
            Malformation::WrongLength { len: 3 }
        )
    );
    assert_eq!(
        verifier.verify(x_signature(SPEC_SIGNATURE.as_bytes()), SPEC_BODY),
        Ok(())
    );
}

// ---------------------------------------------------------------- boundary cases

#[test]
fn verify_boundary_cases() {
    use Malformation::*;
    use SignatureHeader::{XHubSignature256 as Hub, XSignature as Plain};

    let good = SPEC_SIGNATURE;
    let upper = good.to_ascii_uppercase();
    let hub_good = format!("sha256={good}");
    let hex63 = &good[..63];
    let hex65 = format!("{good}0");
    let not_hex = format!("{}g", &good[..63]);
    let other_body_sig = sign(b"testsecret", b"another body");
    let other_secret_sig = sign(b"not-the-secret", SPEC_BODY);

    // Header values built with `format!` are leaked so the table can borrow them inline;
    // a few hundred bytes per test run.
    let cases: Vec<(&str, SignatureHeaders<'_>, Result<(), SignatureError>)> = vec![
        // Presence.
        (
            "no header at all",
            SignatureHeaders::default(),
            Err(SignatureError::Missing),
        ),
        (
            "empty x-signature",
            x_signature(b""),
            malformed(Plain, Empty),
        ),
        (
            "whitespace-only x-signature",
            x_signature(b" \t "),
            malformed(Plain, Empty),
        ),
        ("empty x-hub", x_hub(b""), malformed(Hub, Empty)),
        // Well-formed and correct.
        (
            "lower-case x-signature",
            x_signature(good.as_bytes()),
            Ok(()),
        ),
        (
            "upper-case x-signature",
            x_signature(upper.as_bytes()),
            Ok(()),
        ),
        (
            "x-hub with sha256= prefix",
            x_hub(hub_good.as_bytes()),
            Ok(()),
        ),
        (
            "x-hub with upper-case hex",
            x_hub(format!("sha256={upper}").leak().as_bytes()),
            Ok(()),
        ),
        (
            "x-hub with upper-case prefix",
            x_hub(format!("SHA256={good}").leak().as_bytes()),
            Ok(()),
        ),
        (
            "x-signature with surrounding whitespace",
            x_signature(format!(" \t{good}\r\n ").leak().as_bytes()),
            Ok(()),
        ),
        (
            "x-hub with surrounding whitespace",
            x_hub(format!("  {hub_good}\t").leak().as_bytes()),
            Ok(()),
        ),
        // Length.
        (
            "x-signature 63 hex digits",
            x_signature(hex63.as_bytes()),
            malformed(Plain, WrongLength { len: 63 }),
        ),
        (
            "x-signature 65 hex digits",
            x_signature(hex65.as_bytes()),
            malformed(Plain, WrongLength { len: 65 }),
        ),
        (
            "x-signature 128 hex digits (doubled)",
            x_signature(format!("{good}{good}").leak().as_bytes()),
            malformed(Plain, WrongLength { len: 128 }),
        ),
        (
            "x-signature 123",
            x_signature(b"123"),
            malformed(Plain, WrongLength { len: 3 }),
        ),
        // svix PR #1190: a prefix with nothing after it must never pass.
        (
            "x-hub sha256= with nothing after",
            x_hub(b"sha256="),
            malformed(Hub, Empty),
        ),
        (
            "x-hub sha256= and whitespace",
            x_hub(b"sha256=   "),
            malformed(Hub, Empty),
        ),
        (
            "x-hub sha256= and 63 hex digits",
            x_hub(format!("sha256={hex63}").leak().as_bytes()),
            malformed(Hub, WrongLength { len: 63 }),
        ),
        (
            "x-hub sha256= and 65 hex digits",
            x_hub(format!("sha256={hex65}").leak().as_bytes()),
            malformed(Hub, WrongLength { len: 65 }),
        ),
        (
            "x-hub whitespace inside, after the prefix",
            x_hub(format!("sha256= {good}").leak().as_bytes()),
            malformed(Hub, WrongLength { len: 65 }),
        ),
        // Alphabet and encoding.
        (
            "x-signature with a non-hex char",
            x_signature(not_hex.as_bytes()),
            malformed(Plain, NotHex),
        ),
        (
            "x-hub with a non-hex char",
            x_hub(format!("sha256={not_hex}").leak().as_bytes()),
            malformed(Hub, NotHex),
        ),
        (
            "x-signature of 64 non-utf-8 bytes",
            x_signature(&[0xff; 64]),
            malformed(Plain, NotHex),
        ),
        (
            "x-signature of short non-utf-8 bytes",
            x_signature(&[0xc3, 0x28, 0xa0]),
            malformed(Plain, WrongLength { len: 3 }),
        ),
        (
            "x-hub of non-utf-8 bytes",
            x_hub(&[0xf0, 0x28, 0x8c, 0x28, 0xff, 0xfe, 0x00, 0x01]),
            malformed(Hub, MissingPrefix),
        ),
        (
            "x-signature with a base64 look-alike of 64 chars",
            x_signature("+/".repeat(32).leak().as_bytes()),
            malformed(Plain, NotHex),
        ),
        // Prefix.
        (
            "x-hub with sha1= prefix",
            x_hub(format!("sha1={good}").leak().as_bytes()),
            malformed(Hub, MissingPrefix),
        ),
        (
            "x-hub without prefix",
            x_hub(good.as_bytes()),
            malformed(Hub, MissingPrefix),
        ),
        (
            "x-hub with prefix missing =",
            x_hub(format!("sha256{good}").leak().as_bytes()),
            malformed(Hub, MissingPrefix),
        ),
        (
            "x-signature carrying the sha256= prefix",
            x_signature(hub_good.as_bytes()),
            malformed(Plain, WrongLength { len: 71 }),
        ),
        // Well-formed but wrong.
        (
            "signature of another body",
            x_signature(other_body_sig.as_bytes()),
            Err(SignatureError::Mismatch),
        ),
        (
            "signature under another secret",
            x_signature(other_secret_sig.as_bytes()),
            Err(SignatureError::Mismatch),
        ),
        (
            "x-hub signature under another secret",
            x_hub(format!("sha256={other_secret_sig}").leak().as_bytes()),
            Err(SignatureError::Mismatch),
        ),
        (
            "all-zero signature",
            x_signature("0".repeat(64).leak().as_bytes()),
            Err(SignatureError::Mismatch),
        ),
        // Both headers: authentic if either matches; otherwise x-signature's failure is reported.
        (
            "wrong x-signature, right x-hub",
            both(other_secret_sig.as_bytes(), hub_good.as_bytes()),
            Ok(()),
        ),
        (
            "malformed x-signature, right x-hub",
            both(b"123", hub_good.as_bytes()),
            Ok(()),
        ),
        (
            "right x-signature, malformed x-hub",
            both(good.as_bytes(), b"sha256="),
            Ok(()),
        ),
        (
            "right x-signature, wrong x-hub",
            both(
                good.as_bytes(),
                format!("sha256={other_secret_sig}").leak().as_bytes(),
            ),
            Ok(()),
        ),
        (
            "malformed x-signature, wrong x-hub",
            both(
                b"123",
                format!("sha256={other_secret_sig}").leak().as_bytes(),
            ),
            malformed(Plain, WrongLength { len: 3 }),
        ),
        (
            "wrong x-signature, malformed x-hub",
            both(other_secret_sig.as_bytes(), b"sha1=00"),
            Err(SignatureError::Mismatch),
        ),
        (
            "both malformed",
            both(b"", b"sha256="),
            malformed(Plain, Empty),
        ),
    ];

    let verifier = spec_verifier();
    for (name, headers, expected) in cases {
        assert_eq!(
            verifier.verify(headers, SPEC_BODY),
            expected,
            "case: {name}"
        );
    }
}

#[test]
fn verify_of_an_empty_body_works() {
    let verifier = spec_verifier();
    let signature = sign(b"testsecret", b"");
    assert_eq!(
        verifier.verify(x_signature(signature.as_bytes()), b""),
        Ok(())
    );
    assert_eq!(
        verifier.verify(x_signature(signature.as_bytes()), b" "),
        Err(SignatureError::Mismatch)
    );
}

// ---------------------------------------------------------------- several secrets

#[test]
fn rotation_accepts_a_signature_made_with_any_configured_secret() {
    let verifier = list("old-secret,new-secret").unwrap();
    assert_eq!(verifier.secret_count(), 2);

    let by_second = sign(b"new-secret", SPEC_BODY);
    assert_eq!(
        verifier.verify(x_signature(by_second.as_bytes()), SPEC_BODY),
        Ok(())
    );
    let hub = format!("sha256={by_second}");
    assert_eq!(verifier.verify(x_hub(hub.as_bytes()), SPEC_BODY), Ok(()));

    let by_first = sign(b"old-secret", SPEC_BODY);
    assert_eq!(
        verifier.verify(x_signature(by_first.as_bytes()), SPEC_BODY),
        Ok(())
    );

    let by_neither = sign(b"retired-secret", SPEC_BODY);
    assert_eq!(
        verifier.verify(x_signature(by_neither.as_bytes()), SPEC_BODY),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn rotation_with_new_accepts_only_the_second_matching_secret() {
    let verifier = texts(["first", "second", "third"]).unwrap();
    let signature = sign(b"second", SPEC_BODY);
    assert_eq!(
        verifier.verify(x_signature(signature.as_bytes()), SPEC_BODY),
        Ok(())
    );
    let only_first = texts(["first"]).unwrap();
    assert_eq!(
        only_first.verify(x_signature(signature.as_bytes()), SPEC_BODY),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn secret_list_parsing() {
    let cases: [(&str, Result<usize, SignatureError>); 15] = [
        ("", Err(SignatureError::NoSecrets)),
        (" ", Err(SignatureError::NoSecrets)),
        (" \t\r\n", Err(SignatureError::NoSecrets)),
        (",", Err(SignatureError::EmptySecret { position: 1 })),
        ("a,,b", Err(SignatureError::EmptySecret { position: 2 })),
        ("a, ,b", Err(SignatureError::EmptySecret { position: 2 })),
        ("a,", Err(SignatureError::EmptySecret { position: 2 })),
        (",a", Err(SignatureError::EmptySecret { position: 1 })),
        ("a,b,", Err(SignatureError::EmptySecret { position: 3 })),
        ("a", Ok(1)),
        ("testsecret", Ok(1)),
        (" a , b ", Ok(2)),
        ("a,b", Ok(2)),
        ("\ta\n,b,c", Ok(3)),
        ("a,a", Ok(2)),
    ];
    for (secrets, expected) in cases {
        let built = list(secrets).map(|v| v.secret_count());
        assert_eq!(built, expected, "list {secrets:?}");
    }
}

#[test]
fn secret_list_entries_are_trimmed_of_ascii_whitespace_only() {
    let verifier = list(" a , b ").unwrap();
    for secret in [b"a".as_slice(), b"b"] {
        let signature = sign(secret, SPEC_BODY);
        assert_eq!(
            verifier.verify(x_signature(signature.as_bytes()), SPEC_BODY),
            Ok(())
        );
    }
    for untrimmed in [b" a ".as_slice(), b" a", b"b "] {
        let signature = sign(untrimmed, SPEC_BODY);
        assert_eq!(
            verifier.verify(x_signature(signature.as_bytes()), SPEC_BODY),
            Err(SignatureError::Mismatch)
        );
    }
    // A non-breaking space is not ASCII whitespace: it stays part of the secret.
    let verifier = list("\u{a0}nbsp\u{a0}").unwrap();
    let signature = sign("\u{a0}nbsp\u{a0}".as_bytes(), SPEC_BODY);
    assert_eq!(
        verifier.verify(x_signature(signature.as_bytes()), SPEC_BODY),
        Ok(())
    );
}

#[test]
fn new_rejects_no_secrets_and_empty_secrets_but_keeps_bytes_as_given() {
    assert_eq!(
        Verifier::new(Vec::<SecretString>::new()).map(|v| v.secret_count()),
        Err(SignatureError::NoSecrets)
    );
    assert_eq!(
        texts(["a", ""]).map(|v| v.secret_count()),
        Err(SignatureError::EmptySecret { position: 2 })
    );
    assert_eq!(
        Verifier::from_secret_bytes([SecretSlice::from(Vec::new())]).map(|v| v.secret_count()),
        Err(SignatureError::EmptySecret { position: 1 })
    );
    // No trimming here: a secret of one space and a non-UTF-8 secret are both usable.
    let verifier = Verifier::from_secret_bytes([
        SecretSlice::from(b" ".to_vec()),
        SecretSlice::from(vec![0xff, 0x00]),
    ])
    .unwrap();
    for secret in [b" ".as_slice(), &[0xff, 0x00]] {
        let signature = sign(secret, SPEC_BODY);
        assert_eq!(
            verifier.verify(x_signature(signature.as_bytes()), SPEC_BODY),
            Ok(())
        );
    }
}

// ---------------------------------------------------------------- redaction and traits

#[test]
fn debug_output_redacts_every_secret() {
    let verifier = list("hunter2-super-secret, second-top-secret").unwrap();
    let debug = format!("{verifier:?}");
    let pretty = format!("{verifier:#?}");
    for output in [&debug, &pretty] {
        assert!(!output.contains("hunter2"), "{output}");
        assert!(!output.contains("top-secret"), "{output}");
        assert!(output.contains("[redacted]"), "{output}");
    }
    assert_eq!(debug.matches("[redacted]").count(), 2, "{debug}");
}

#[test]
fn error_messages_are_lowercase_without_trailing_period_or_secret_material() {
    let errors = [
        SignatureError::NoSecrets,
        SignatureError::EmptySecret { position: 2 },
        SignatureError::Missing,
        SignatureError::Mismatch,
        SignatureError::Malformed {
            header: SignatureHeader::XSignature,
            problem: Malformation::Empty,
        },
        SignatureError::Malformed {
            header: SignatureHeader::XHubSignature256,
            problem: Malformation::MissingPrefix,
        },
        SignatureError::Malformed {
            header: SignatureHeader::XSignature,
            problem: Malformation::WrongLength { len: 3 },
        },
        SignatureError::Malformed {
            header: SignatureHeader::XSignature,
            problem: Malformation::NotHex,
        },
    ];
    for error in errors {
        let message = error.to_string();
        let first = message.chars().next().unwrap();
        assert!(first.is_lowercase(), "{message}");
        assert!(!message.ends_with('.'), "{message}");
    }
    assert_eq!(
        SignatureError::Malformed {
            header: SignatureHeader::XHubSignature256,
            problem: Malformation::WrongLength { len: 63 },
        }
        .to_string(),
        "x-hub-signature-256 header is malformed: expected 64 hex digits, got 63 bytes"
    );
}

#[test]
fn verifier_is_clone_send_sync_and_clones_verify_alike() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<Verifier>();
    assert_traits::<SignatureError>();

    let verifier = spec_verifier();
    let clone = verifier.clone();
    drop(verifier);
    assert_eq!(
        clone.verify(x_signature(SPEC_SIGNATURE.as_bytes()), SPEC_BODY),
        Ok(())
    );
}

#[test]
fn a_verifier_is_reusable_across_many_verifications() {
    // The pre-keyed state is cloned per call, never consumed or left dirty.
    let verifier = spec_verifier();
    for _ in 0..3 {
        assert_eq!(
            verifier.verify(x_signature(SPEC_SIGNATURE.as_bytes()), SPEC_BODY),
            Ok(())
        );
        assert_eq!(
            verifier.verify(x_signature(SPEC_SIGNATURE.as_bytes()), b"other"),
            Err(SignatureError::Mismatch)
        );
    }
}

// ---------------------------------------------------------------- properties

fn secret() -> impl Strategy<Value = Vec<u8>> {
    // Up to 200 bytes: covers keys shorter than, equal to and longer than the 64-byte block.
    proptest::collection::vec(any::<u8>(), 1..200)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..4096)
}

/// A secret usable in a comma-separated list: no comma, no surrounding ASCII whitespace.
fn list_secret() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_\\-+/=.:!@#$%^&*]{1,40}"
}

proptest! {
    #[test]
    fn verify_accepts_what_sign_produces_via_x_signature(secret in secret(), body in body()) {
        let verifier = bytes(&secret);
        let signature = sign(&secret, &body);
        prop_assert_eq!(signature.len(), 64);
        prop_assert_eq!(verifier.verify(x_signature(signature.as_bytes()), &body), Ok(()));
    }

    #[test]
    fn verify_accepts_what_sign_produces_via_x_hub_signature_256(secret in secret(), body in body()) {
        let verifier = bytes(&secret);
        let header = format!("sha256={}", sign(&secret, &body));
        prop_assert_eq!(verifier.verify(x_hub(header.as_bytes()), &body), Ok(()));
    }

    #[test]
    fn verify_accepts_upper_case_hex(secret in secret(), body in body()) {
        let verifier = bytes(&secret);
        let upper = sign(&secret, &body).to_ascii_uppercase();
        prop_assert_eq!(verifier.verify(x_signature(upper.as_bytes()), &body), Ok(()));
        let header = format!("sha256={upper}");
        prop_assert_eq!(verifier.verify(x_hub(header.as_bytes()), &body), Ok(()));
    }

    #[test]
    fn flipping_any_bit_of_the_body_fails(
        secret in secret(),
        body in proptest::collection::vec(any::<u8>(), 1..4096),
        index in any::<prop::sample::Index>(),
        bit in 0..8u8,
    ) {
        let verifier = bytes(&secret);
        let signature = sign(&secret, &body);
        let mut tampered = body.clone();
        tampered[index.index(body.len())] ^= 1 << bit;
        prop_assert_eq!(
            verifier.verify(x_signature(signature.as_bytes()), &tampered),
            Err(SignatureError::Mismatch)
        );
        let header = format!("sha256={signature}");
        prop_assert_eq!(
            verifier.verify(x_hub(header.as_bytes()), &tampered),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn flipping_any_bit_of_the_decoded_signature_fails(
        secret in secret(),
        body in body(),
        byte in 0..32usize,
        bit in 0..8u8,
    ) {
        let verifier = bytes(&secret);
        let mut decoded = hex::decode(sign(&secret, &body)).unwrap();
        decoded[byte] ^= 1 << bit;
        let tampered = hex::encode(&decoded);
        prop_assert_eq!(
            verifier.verify(x_signature(tampered.as_bytes()), &body),
            Err(SignatureError::Mismatch)
        );
        let header = format!("sha256={tampered}");
        prop_assert_eq!(
            verifier.verify(x_hub(header.as_bytes()), &body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn changing_any_hex_digit_of_the_signature_fails(
        secret in secret(),
        body in body(),
        position in 0..64usize,
        replacement in 0..16u32,
    ) {
        let verifier = bytes(&secret);
        let mut digits: Vec<char> = sign(&secret, &body).chars().collect();
        let new_digit = char::from_digit(replacement, 16).unwrap();
        prop_assume!(digits[position] != new_digit);
        digits[position] = new_digit;
        let tampered: String = digits.into_iter().collect();
        prop_assert_eq!(
            verifier.verify(x_signature(tampered.as_bytes()), &body),
            Err(SignatureError::Mismatch)
        );
        let upper = tampered.to_ascii_uppercase();
        prop_assert_eq!(
            verifier.verify(x_signature(upper.as_bytes()), &body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn verify_never_panics_and_rejects_arbitrary_header_bytes(
        x_sig in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..100)),
        x_hub_value in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..100)),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let verifier = spec_verifier();
        let headers = SignatureHeaders {
            x_signature: x_sig.as_deref(),
            x_hub_signature_256: x_hub_value.as_deref(),
        };
        prop_assert!(verifier.verify(headers, &body).is_err());
    }

    #[test]
    fn signatures_under_a_secret_from_another_list_entry_only_are_accepted(
        secrets in proptest::collection::vec(list_secret(), 1..6),
        chosen in any::<prop::sample::Index>(),
        body in body(),
    ) {
        let verifier = list(&secrets.join(" , ")).unwrap();
        prop_assert_eq!(verifier.secret_count(), secrets.len());
        let secret = &secrets[chosen.index(secrets.len())];
        let signature = sign(secret.as_bytes(), &body);
        prop_assert_eq!(verifier.verify(x_signature(signature.as_bytes()), &body), Ok(()));
        let outsider = sign(format!("{secret},").as_bytes(), &body);
        prop_assert_eq!(
            verifier.verify(x_signature(outsider.as_bytes()), &body),
            Err(SignatureError::Mismatch)
        );
    }
}
