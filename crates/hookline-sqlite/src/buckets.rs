//! The day, hour and minute buckets of a `ts_key`: the rows of `hookline_days`,
//! `hookline_hours` and `hookline_minutes` that the writer keeps counts in and that reads
//! skip whole (`read.rs`). The same prefixes appear in SQL as `substr(ts_key, 1, 16)` (the
//! version 5 migration) and as the `';'`/`'U'` upper bounds in `read.rs`.

/// The `ts_key` prefixes of the bucket counts a key falls in.
pub(crate) struct Buckets<'k> {
    /// `YYYY-MM-DDTHH:MM`, a row of `hookline_minutes`.
    pub(crate) minute: &'k str,
    /// `YYYY-MM-DDTHH`, a row of `hookline_hours`.
    pub(crate) hour: &'k str,
    /// `YYYY-MM-DD`, a row of `hookline_days`.
    pub(crate) day: &'k str,
}

impl<'k> Buckets<'k> {
    /// The buckets of `key`, a [`sort_key`](hookline_domain::Instant::sort_key).
    pub(crate) fn of(key: &'k str) -> Self {
        let prefix = |n: usize| key.get(..n).unwrap_or(key);
        Self {
            minute: prefix(16),
            hour: prefix(13),
            day: prefix(10),
        }
    }
}
