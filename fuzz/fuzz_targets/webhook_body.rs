//! The webhook body parser never panics, and whatever it accepts re-renders to a body it
//! accepts again as the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match hookline_domain::parse_message(data) {
        Ok(message) => {
            let rendered = serde_json_render(&message);
            let again = hookline_domain::parse_message(&rendered);
            assert_eq!(again.as_ref(), Ok(&message), "accepted message must round-trip");
        }
        Err(errors) => assert!(!errors.is_empty(), "a rejection names at least one problem"),
    }
});

fn serde_json_render(message: &hookline_domain::Message) -> Vec<u8> {
    // Message serializes to the contract's five keys.
    serde_json::to_vec(message).unwrap_or_default()
}
