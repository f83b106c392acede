//! The list-query parser never panics on any decoded parameters, and what it accepts is in
//! bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let pairs: Vec<(&str, &str)> = raw
        .split('&')
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .collect();
    if let Ok(query) = hookline_query::ListQuery::parse(pairs.iter().copied()) {
        assert!((1..=hookline_query::MAX_LIMIT).contains(&query.limit()));
        assert!(query.offset() <= i64::MAX as u64);
    }
});
