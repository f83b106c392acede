//! Exact `total`s of `q` lists, kept between reads and brought up to date by counting only
//! the rows added since.
//!
//! Counting the rows whose text contains a common needle is the one read whose cost grows
//! with the data: at a million rows a word in most texts took ~125 ms to count in the
//! trigram index (FTS5 lines up the position lists of every trigram of the phrase), while
//! the page itself takes well under a millisecond. The count can be kept instead, because
//! of how rows are stored:
//!
//! - hookline never updates or deletes a row, and
//! - a new row's rowid is always above every rowid before it (one writer, `max + 1`),
//!   so a read snapshot that sees rowids up to `upto` sees exactly the rows any other
//!   snapshot saw up to `upto`, and nothing else below it.
//!
//! So "`n` rows with rowid ≤ `upto` match this filter" stays true forever, and a later
//! snapshot's exact total is `n` plus a count of its rows above `upto` — a rowid range,
//! scanned with the same conditions. An entry is only used by a snapshot that sees at
//! least up to its `upto`; an older snapshot counts from scratch. The counts live as long
//! as the store: rows changed or removed behind hookline's back (by hand, while it runs)
//! are not noticed until a restart.
//!
//! The same reasoning keeps the *matches* of a rare filter (at most [`MAX_KEPT_MATCHES`],
//! as sorted list-order keys, [`MatchCache`]): its page is then read from memory, with the
//! matching rows above `upto` merged in, instead of asking the trigram index again.

use std::collections::HashMap;
use std::sync::Mutex;

/// Entries kept at most; when full, the map is emptied and refills with what is asked.
const CAPACITY: usize = 1024;

/// Longest key (needle, sender and `since` together, in bytes) that is kept, so that the
/// cache holds at most `CAPACITY` × this much text; longer filters are counted every time.
const MAX_KEY_BYTES: usize = 256;

/// Above this many new rows, a full count is not slower than counting the new rows by
/// scanning them, so the entry is recounted from scratch.
pub(crate) const MAX_CATCH_UP_ROWS: i64 = 50_000;

/// A `q` filter in stored form: the folded needle, the sender, the `since` key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CountKey {
    pub(crate) needle: String,
    pub(crate) from: Option<String>,
    pub(crate) since: Option<String>,
}

/// `rows` rows with a rowid up to `upto` match the key's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counted {
    pub(crate) rows: u64,
    pub(crate) upto: i64,
}

/// The kept counts of one store, shared by its readers.
#[derive(Debug, Default)]
pub(crate) struct CountCache {
    entries: Mutex<HashMap<CountKey, Counted>>,
    /// The matches of rare filters (a few thousand rows at most each).
    pub(crate) matches: MatchCache,
}

impl CountCache {
    /// The entry for `key` that a snapshot seeing rowids up to `last` may build on.
    pub(crate) fn usable(&self, key: &CountKey, last: i64) -> Option<Counted> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).copied().filter(|c| c.upto <= last)
    }

    /// Records a count, unless a newer one for the same key is already kept or the key is
    /// longer than [`MAX_KEY_BYTES`].
    pub(crate) fn keep(&self, key: CountKey, counted: Counted) {
        if key_bytes(&key) > MAX_KEY_BYTES {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.get(&key).is_some_and(|c| c.upto > counted.upto) {
            return;
        }
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, counted);
    }
}

/// The list-order keys of a rare filter's matches: `(ts_key, message_id, rowid)`, sorted.
pub(crate) type MatchKeys = Vec<(String, String, i64)>;

/// Most matches kept for one filter (1% of a million rows): a rare needle's page is then
/// read from memory.
pub(crate) const MAX_KEPT_MATCHES: usize = 10_000;

/// Most matches kept for all filters together (~120 bytes each, so ~6 MB); when full, the
/// lists are dropped and refill with what is asked.
const MAX_KEPT_MATCHES_TOTAL: usize = 50_000;

/// The matches of rare `q` filters with the rowid they were found up to, kept between
/// reads on the same grounds as the counts (rows are only appended): a later snapshot's
/// matches are these plus its matching rows above `upto`.
#[derive(Debug, Default)]
pub(crate) struct MatchCache {
    /// The matches kept in all, and each filter's `(upto, matches)`.
    entries: Mutex<(usize, KeptMatches)>,
}

/// Each filter's kept matches with the rowid they were found up to.
type KeptMatches = HashMap<CountKey, (i64, std::sync::Arc<MatchKeys>)>;

impl MatchCache {
    /// The kept matches for `key` that a snapshot seeing rowids up to `last` may build on.
    pub(crate) fn usable(
        &self,
        key: &CountKey,
        last: i64,
    ) -> Option<(i64, std::sync::Arc<MatchKeys>)> {
        let entries = self.entries.lock().ok()?;
        entries
            .1
            .get(key)
            .filter(|(upto, _)| *upto <= last)
            .map(|(upto, keys)| (*upto, std::sync::Arc::clone(keys)))
    }

    /// Keeps `keys` (sorted) as the matches up to `upto`, unless there are too many, the
    /// key is too long, or a newer list is kept.
    pub(crate) fn keep(&self, key: CountKey, upto: i64, keys: std::sync::Arc<MatchKeys>) {
        if keys.len() > MAX_KEPT_MATCHES || key_bytes(&key) > MAX_KEY_BYTES {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let (total, map) = &mut *entries;
        if let Some((kept_upto, kept)) = map.get(&key) {
            if *kept_upto > upto {
                return;
            }
            *total -= kept.len();
        }
        if *total + keys.len() > MAX_KEPT_MATCHES_TOTAL || map.len() >= CAPACITY {
            map.clear();
            *total = 0;
        }
        *total += keys.len();
        map.insert(key, (upto, keys));
    }
}

fn key_bytes(key: &CountKey) -> usize {
    key.needle.len()
        + key.from.as_ref().map_or(0, String::len)
        + key.since.as_ref().map_or(0, String::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(needle: &str) -> CountKey {
        CountKey {
            needle: needle.to_owned(),
            from: None,
            since: None,
        }
    }

    #[test]
    fn an_entry_serves_only_snapshots_that_see_its_rows() {
        let cache = CountCache::default();
        cache.keep(key("abc"), Counted { rows: 7, upto: 100 });
        assert_eq!(
            cache.usable(&key("abc"), 100),
            Some(Counted { rows: 7, upto: 100 })
        );
        assert_eq!(
            cache.usable(&key("abc"), 250),
            Some(Counted { rows: 7, upto: 100 })
        );
        assert_eq!(cache.usable(&key("abc"), 99), None);
        assert_eq!(cache.usable(&key("abd"), 100), None);
    }

    #[test]
    fn an_older_count_never_replaces_a_newer_one() {
        let cache = CountCache::default();
        cache.keep(key("abc"), Counted { rows: 9, upto: 200 });
        cache.keep(key("abc"), Counted { rows: 7, upto: 100 });
        assert_eq!(
            cache.usable(&key("abc"), 300),
            Some(Counted { rows: 9, upto: 200 })
        );
    }

    #[test]
    fn a_long_filter_is_not_kept() {
        let cache = CountCache::default();
        let long = "x".repeat(MAX_KEY_BYTES + 1);
        cache.keep(key(&long), Counted { rows: 1, upto: 1 });
        assert_eq!(cache.usable(&key(&long), 1), None);
    }

    #[test]
    fn kept_matches_are_bounded_and_never_replaced_by_older_ones() {
        let cache = MatchCache::default();
        let list = |n: usize| {
            std::sync::Arc::new(
                (0..n)
                    .map(|i| (format!("k{i}"), format!("i{i}"), i as i64))
                    .collect::<MatchKeys>(),
            )
        };
        cache.keep(key("abc"), 10, list(3));
        cache.keep(key("abc"), 5, list(1));
        assert_eq!(
            cache.usable(&key("abc"), 20).map(|(u, k)| (u, k.len())),
            Some((10, 3))
        );
        assert!(cache.usable(&key("abc"), 9).is_none());
        cache.keep(key("big"), 10, list(MAX_KEPT_MATCHES + 1));
        assert!(cache.usable(&key("big"), 10).is_none());
        for i in 0..(MAX_KEPT_MATCHES_TOTAL / MAX_KEPT_MATCHES) {
            cache.keep(key(&format!("n{i}")), 10, list(MAX_KEPT_MATCHES));
        }
        let kept = cache.entries.lock().map(|e| e.0).unwrap_or(0);
        assert!(kept <= MAX_KEPT_MATCHES_TOTAL, "{kept}");
    }

    #[test]
    fn a_full_cache_starts_over_instead_of_growing() {
        let cache = CountCache::default();
        for i in 0..CAPACITY {
            cache.keep(key(&format!("n{i}")), Counted { rows: 1, upto: 1 });
        }
        cache.keep(key("last"), Counted { rows: 2, upto: 1 });
        assert_eq!(cache.usable(&key("n0"), 1), None);
        assert_eq!(
            cache.usable(&key("last"), 1),
            Some(Counted { rows: 2, upto: 1 })
        );
        assert_eq!(cache.entries.lock().map(|e| e.len()).unwrap_or(0), 1);
    }
}
