//! Signature header parsing never panics on arbitrary header bytes, and only the true
//! signature of the body verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use hookline_signature::{SecretSlice, SignatureHeaders, Verifier, sign};

const SECRET: &[u8] = b"fuzz-secret";

fuzz_target!(|input: (&[u8], &[u8], &[u8])| {
    let (x_signature, hub, body) = input;
    let Ok(verifier) = Verifier::from_secret_bytes([SecretSlice::from(SECRET.to_vec())]) else { return };
    let headers = SignatureHeaders {
        x_signature: Some(x_signature),
        x_hub_signature_256: Some(hub),
    };
    let expected = sign(SECRET, body);
    let matches = |h: &[u8]| {
        let h = h.trim_ascii();
        h.eq_ignore_ascii_case(expected.as_bytes())
            || h.strip_prefix(b"sha256=").is_some_and(|rest| rest.trim_ascii().eq_ignore_ascii_case(expected.as_bytes()))
    };
    let genuine = matches(x_signature) || matches(hub);
    if verifier.verify(headers, body).is_ok() {
        assert!(genuine, "a forged signature verified");
    }
});
