//! Word-boundary grams: the seven characters around each space of a folded text.
//!
//! In text drawn from a small vocabulary every trigram is common, including the ones
//! that span two words: at a million rows a four-word phrase in 0.04% of rows still reads
//! trigram lists of 17–34% of the rows each before any candidate is checked. The three
//! characters on either side of a space reach well into both words, so such a gram is
//! about as rare as the pair of words itself (~7% of rows each in `hookbench seed`'s
//! texts), and a phrase's grams together narrow it to about as many candidates as it
//! has matches.
//!
//! The grams are indexed in `messages_grams` (in the index file, see `index.rs`), an FTS5
//! table with `detail = none`: one short list of rows per gram, no positions. A gram is
//! indexed as a token of 16 hexadecimal digits (its FNV-1a hash) behind a `g`, so FTS5's
//! `ascii` tokenizer takes it whole whatever characters it holds; two grams with one hash
//! only add candidates, which are checked with `instr()` like every candidate.
//!
//! A needle's grams are those lying wholly inside it. A text that contains the needle
//! contains each of them, so it holds all their tokens: the gram query never misses a row.

/// Characters on each side of the space.
const SIDE: usize = 3;

/// The distinct grams of `text`: for each space with at least [`SIDE`] characters on each
/// side of it, the `SIDE` characters before it, the space and the `SIDE` after (as
/// `&str` slices of `text`), sorted.
pub(crate) fn grams(text: &str) -> Vec<&str> {
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let chars = bounds.len() - 1;
    let mut out: Vec<&str> = (SIDE..chars.saturating_sub(SIDE))
        .filter(|&n| text.get(bounds[n]..bounds[n + 1]) == Some(" "))
        .filter_map(|n| text.get(bounds[n - SIDE]..bounds[n + SIDE + 1]))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The 64-bit FNV-1a hash of `gram`'s UTF-8 bytes. Stored in the index file (as
/// [`token`]s): changing it needs a new layout version there.
fn hash(gram: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    gram.bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// Appends the FTS5 token of a gram to `out`: `g` and its [`hash`] in hexadecimal, 17
/// characters.
fn push_token(out: &mut String, gram: &str) {
    use std::fmt::Write;

    // Writing to a `String` cannot fail.
    let _ = write!(out, "g{:016x}", hash(gram));
}

/// The FTS5 token of a gram (see [`push_token`]).
pub(crate) fn token(gram: &str) -> String {
    let mut out = String::with_capacity(17);
    push_token(&mut out, gram);
    out
}

/// What `messages_grams` indexes for `text`: its grams' tokens joined by spaces; `None`
/// when it has no gram.
pub(crate) fn tokens(text: &str) -> Option<String> {
    let grams = grams(text);
    if grams.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(grams.len() * 18);
    for gram in grams {
        if !out.is_empty() {
            out.push(' ');
        }
        push_token(&mut out, gram);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gram_is_three_characters_either_side_of_a_space() {
        assert_eq!(grams("please call tomorrow"), vec!["all tom", "ase cal"]);
        // Too close to an end: no gram.
        assert!(grams("ab cdef").is_empty());
        assert!(grams("abcd ef").is_empty());
        assert_eq!(grams("abc def"), vec!["abc def"]);
        // Characters, not bytes.
        assert_eq!(grams("éàü öäß"), vec!["éàü öäß"]);
        // Spaces beside the space are characters like any other.
        assert_eq!(grams("ab  cd  ef"), vec![" cd  ef", "ab  cd "]);
        // A gram that comes twice counts once.
        assert_eq!(grams("abc def abc def"), vec!["abc def", "def abc"]);
    }

    #[test]
    fn every_gram_of_a_needle_is_a_gram_of_a_text_holding_it() {
        let text = "so please call tomorrow about the invoice";
        for needle in [
            "please call tomorrow",
            "se call tomo",
            "all tomorrow ab",
            "w about t",
        ] {
            assert!(text.contains(needle));
            let of_text = grams(text);
            for g in grams(needle) {
                assert!(of_text.contains(&g), "{needle:?}: {g:?} not in {of_text:?}");
            }
        }
    }

    proptest::proptest! {
        /// Any part of any text: its grams are among the text's, so the gram index never
        /// misses a row that holds the needle.
        #[test]
        fn a_needle_has_no_gram_its_text_lacks(
            text in "[ab é😀]{0,40}",
            start in 0_usize..40,
            len in 0_usize..40,
        ) {
            let chars: Vec<char> = text.chars().collect();
            let start = start.min(chars.len());
            let needle: String = chars[start..(start + len).min(chars.len())].iter().collect();
            let of_text = grams(&text);
            for g in grams(&needle) {
                proptest::prop_assert!(of_text.contains(&g), "{:?} of {:?} not in {:?}", g, needle, of_text);
                proptest::prop_assert_eq!(g.chars().count(), 7);
            }
        }
    }

    #[test]
    fn a_token_is_the_fixed_hash_of_its_gram() {
        // FNV-1a 64 of the empty string and of "a" (the algorithm's published values).
        assert_eq!(token(""), "gcbf29ce484222325");
        assert_eq!(token("a"), "gaf63dc4c8601ec8c");
        assert_ne!(token("abc def"), token("abc deg"));
        assert_eq!(tokens("abc def"), Some(token("abc def")));
        assert_eq!(
            tokens("abc def ghi"),
            Some(format!("{} {}", token("abc def"), token("def ghi")))
        );
        assert_eq!(tokens("abcdef"), None);
    }
}
