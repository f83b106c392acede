//! How text crosses into PostgreSQL, which cannot store U+0000 in a `text` value.
//!
//! [`encode`] maps each character to itself, except `U+0000` → `U+0001 U+0001` and
//! `U+0001` → `U+0001 U+0002`. The code is prefix-free and keeps the order of single
//! characters, so it is injective (the `message_id` primary key stays exact) and keeps
//! byte order (`ORDER BY message_id COLLATE "C"` is the reference order). Strings without
//! those two characters — all real ones — are stored unchanged, readable in `psql`.
//!
//! Substring search through the code may find false matches (a needle starting with
//! `U+0002` inside an encoded `U+0001`), but only in rows whose folded text contains
//! `U+0000` or `U+0001`; those rows also keep the folded text as bytes
//! (`text_folded_bytes`), and a `q` checks them exactly with `position()` on the bytes.

/// Encodes `s` for a PostgreSQL `text` value (see the module docs).
pub(crate) fn encode(s: &str) -> std::borrow::Cow<'_, str> {
    if !needs_escape(s) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\u{0}' => out.push_str("\u{1}\u{1}"),
            '\u{1}' => out.push_str("\u{1}\u{2}"),
            c => out.push(c),
        }
    }
    out.into()
}

/// Reverses [`encode`]; `None` for a string [`encode`] cannot have produced.
pub(crate) fn decode(s: &str) -> Option<String> {
    if !s.contains('\u{1}') {
        return Some(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\u{1}' => match chars.next()? {
                '\u{1}' => out.push('\u{0}'),
                '\u{2}' => out.push('\u{1}'),
                _ => return None,
            },
            '\u{0}' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// Whether [`encode`] changes `s` — and so whether a folded text needs its exact bytes kept.
pub(crate) fn needs_escape(s: &str) -> bool {
    s.contains(['\u{0}', '\u{1}'])
}

/// A `LIKE` pattern (escape character `\`) matching any text that contains `needle`
/// literally: `%`, `_` and `\` in it are escaped.
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged_and_nul_round_trips() {
        assert_eq!(encode("hello"), "hello");
        for s in ["", "a\0b", "\u{1}", "\0\u{1}\u{2}", "x\u{1}\u{1}"] {
            let e = encode(s);
            assert!(!e.contains('\0'));
            assert_eq!(decode(&e).as_deref(), Some(s), "{s:?}");
        }
        assert_eq!(decode("\u{1}x"), None);
    }

    #[test]
    fn encoding_keeps_byte_order() {
        let mut words = vec![
            "", "\0", "\0\0", "\u{1}", "\u{2}", "a", "a\0", "a\u{1}b", "b",
        ];
        words.sort_unstable();
        let mut encoded: Vec<String> = words.iter().map(|w| encode(w).into_owned()).collect();
        let before = encoded.clone();
        encoded.sort_unstable();
        assert_eq!(encoded, before);
    }

    #[test]
    fn patterns_escape_wildcards() {
        assert_eq!(contains_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}
