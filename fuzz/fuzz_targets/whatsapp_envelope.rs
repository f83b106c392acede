//! The WhatsApp envelope parser never panics; every message it maps is one the plain webhook
//! parser accepts unchanged, and every rejection names at least one problem inside the body.
#![no_main]

use hookline_domain::{LocSegment, parse_message, whatsapp::parse_envelope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_envelope(data) {
        Ok(envelope) => {
            for message in envelope.messages() {
                let rendered = serde_json::to_vec(message).unwrap_or_default();
                let again = parse_message(&rendered);
                assert_eq!(again.as_ref(), Ok(message), "mapped message must be valid");
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "a rejection names at least one problem");
            for error in &errors {
                assert_eq!(
                    error.loc_segments().first(),
                    Some(&LocSegment::Key("body".to_owned())),
                    "every loc starts at the body"
                );
            }
        }
    }
});
