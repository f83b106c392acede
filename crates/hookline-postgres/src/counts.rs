//! Exact `total`s of counted lists (`since`, `q`, and any filter with them), kept between
//! reads and brought up to date by counting only the rows written since.
//!
//! Counting the rows that match a common `q` needle, or every row after a `since` in the
//! middle of the data, is the one read whose cost grows with the table (hundreds of
//! milliseconds at a million rows), while the page itself is a short index walk. SQLite
//! keeps such counts keyed on the rowid it counted up to (`hookline-sqlite/src/counts.rs`);
//! with many writers an id is not enough here: transactions commit out of id order, so a
//! row with a smaller id may become visible after a larger one was counted. What *is*
//! settled is known from the snapshot:
//!
//! - every row records the transaction that wrote it (`insert_xid`, the 64-bit
//!   `pg_current_xact_id()`, which never wraps around);
//! - the statement's snapshot has an `xmin` (`pg_snapshot_xmin(pg_current_snapshot())`):
//!   every transaction below it had finished (committed or aborted) when the snapshot was
//!   taken, so whether its rows are visible can no longer change;
//! - hookline never updates or deletes a message.
//!
//! So "`rows` visible rows with `insert_xid` < `upto` match this filter", counted in one
//! statement's snapshot with `upto` = that snapshot's `xmin`, stays true for every later
//! snapshot. A later read's exact total is `rows` plus a count of the visible rows with
//! `insert_xid` ≥ `upto` (an index range on `insert_xid`, few rows), and the same scan
//! tells how many of them are below the new snapshot's `xmin`: the entry moves forward.
//! "Later" holds by construction: an entry is only kept after its statement finished,
//! and a read takes its entry before it sends its own statement. The counts live as long
//! as the store; rows removed or changed behind hookline's back are not noticed until a
//! restart (as with SQLite).

use std::collections::HashMap;
use std::sync::Mutex;

/// Entries kept at most; when full, the map is emptied and refills with what is asked.
const CAPACITY: usize = 1024;

/// Longest key (needle, sender and `since` together, in bytes) that is kept, so that the
/// cache holds at most `CAPACITY` × this much text; longer filters are counted every time.
const MAX_KEY_BYTES: usize = 256;

/// A counted filter in stored form: the folded needle, the sender, the `since` key — or,
/// with `senders`, the senders (rows of `hookline_senders`, by `first_xid`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CountKey {
    pub(crate) senders: bool,
    pub(crate) needle: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) since: Option<String>,
}

/// `rows` rows written by transactions below `upto` match the key's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counted {
    pub(crate) rows: u64,
    pub(crate) upto: i64,
}

/// Where a deep `offset` starts: the row (`ts_key`, stored `message_id`) that `before`
/// matching rows written by transactions below `upto` precede. Like a count, that stays
/// true; a later read finds the row's position by adding the matching rows at or above
/// `upto` that sort before it (an index range on `insert_xid`), and walks from the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Anchor {
    pub(crate) ts_key: String,
    pub(crate) message_id: String,
    pub(crate) before: u64,
    pub(crate) upto: i64,
}

/// The kept counts and offset anchors of one store, shared by its readers.
#[derive(Debug, Default)]
pub(crate) struct CountCache {
    entries: Mutex<HashMap<CountKey, Counted>>,
    anchors: Mutex<HashMap<(CountKey, u64), Anchor>>,
}

impl CountCache {
    /// The entry kept for `key`, if any.
    pub(crate) fn get(&self, key: &CountKey) -> Option<Counted> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).copied()
    }

    /// Records a count, unless a newer one for the same key is already kept or the key is
    /// longer than [`MAX_KEY_BYTES`].
    pub(crate) fn keep(&self, key: CountKey, counted: Counted) {
        let len = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        if len(&key.needle) + len(&key.from) + len(&key.since) > MAX_KEY_BYTES {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.get(&key).is_some_and(|c| c.upto >= counted.upto) {
            return;
        }
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, counted);
    }
}

impl CountCache {
    /// The anchor kept for the page at `offset` of `key`'s filter, if any.
    pub(crate) fn anchor(&self, key: &CountKey, offset: u64) -> Option<Anchor> {
        let anchors = self.anchors.lock().ok()?;
        anchors.get(&(key.clone(), offset)).cloned()
    }

    /// Records an anchor, unless a newer one is kept or the key is too long.
    pub(crate) fn keep_anchor(&self, key: CountKey, offset: u64, anchor: Anchor) {
        let len = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        if len(&key.needle) + len(&key.from) + len(&key.since) + anchor.message_id.len()
            > MAX_KEY_BYTES * 5
        {
            return;
        }
        let Ok(mut anchors) = self.anchors.lock() else {
            return;
        };
        let at = (key, offset);
        if anchors.get(&at).is_some_and(|a| a.upto >= anchor.upto) {
            return;
        }
        if anchors.len() >= CAPACITY && !anchors.contains_key(&at) {
            anchors.clear();
        }
        anchors.insert(at, anchor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(needle: &str) -> CountKey {
        CountKey {
            senders: false,
            needle: Some(needle.to_owned()),
            from: None,
            since: None,
        }
    }

    #[test]
    fn an_entry_is_found_by_its_whole_filter() {
        let cache = CountCache::default();
        cache.keep(key("abc"), Counted { rows: 7, upto: 100 });
        assert_eq!(cache.get(&key("abc")), Some(Counted { rows: 7, upto: 100 }));
        assert_eq!(cache.get(&key("abd")), None);
        let with_from = CountKey {
            from: Some("+1".to_owned()),
            ..key("abc")
        };
        assert_eq!(cache.get(&with_from), None);
    }

    #[test]
    fn an_older_count_never_replaces_a_newer_one() {
        let cache = CountCache::default();
        cache.keep(key("abc"), Counted { rows: 9, upto: 200 });
        cache.keep(key("abc"), Counted { rows: 7, upto: 100 });
        assert_eq!(cache.get(&key("abc")), Some(Counted { rows: 9, upto: 200 }));
    }

    #[test]
    fn a_long_filter_is_not_kept() {
        let cache = CountCache::default();
        let long = "x".repeat(MAX_KEY_BYTES + 1);
        cache.keep(key(&long), Counted { rows: 1, upto: 1 });
        assert_eq!(cache.get(&key(&long)), None);
    }

    #[test]
    fn a_full_cache_starts_over_instead_of_growing() {
        let cache = CountCache::default();
        for i in 0..CAPACITY {
            cache.keep(key(&format!("n{i}")), Counted { rows: 1, upto: 1 });
        }
        cache.keep(key("last"), Counted { rows: 2, upto: 1 });
        assert_eq!(cache.get(&key("n0")), None);
        assert_eq!(cache.get(&key("last")), Some(Counted { rows: 2, upto: 1 }));
    }
}
