//! Cursor decoding never panics, and every cursor it accepts encodes back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cursor) = hookline_query::Cursor::decode(text) {
        let again = hookline_query::Cursor::decode(&cursor.encode());
        assert_eq!(again.as_ref(), Ok(&cursor));
    }
});
