//! The day, hour and minute buckets of a `ts_key`: the rows of `hookline_days`,
//! `hookline_hours` and `hookline_minutes` that the writer keeps counts in and that reads
//! skip whole (a deep `offset`, [`seek_by_buckets`] here) or add up (a `since` total,
//! `totals.rs`). The same prefixes appear in SQL as `substr(ts_key, 1, 16)` (the version 5
//! migration) and as the `';'`/`'U'` upper bounds here and in `totals.rs`.

use rusqlite::{Connection, params};

use crate::tail::TailView;
use crate::totals::{StoredCount, count_rest_of_minute};

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

/// A key above every row's `ts_key`.
const ABOVE_ALL_KEYS: &str = "~";

/// Finds where the row at `offset` (counted from `since`, or from the start) lies: returns
/// a `ts_key` lower bound and how many rows past that bound still need skipping — fewer
/// than one minute's rows. The bound `~` means "past the end".
pub(crate) fn seek_by_buckets(
    conn: &Connection,
    view: &TailView<'_>,
    since: Option<&str>,
    mut offset: u64,
) -> rusqlite::Result<(String, u64)> {
    let mut after_day = "";
    if let Some(since) = since {
        let b = Buckets::of(since);
        let in_minute = count_rest_of_minute(conn, view, since, b.minute)?;
        if offset < in_minute {
            return Ok((since.to_owned(), offset));
        }
        offset -= in_minute;
        match seek_within(conn, Level::Minute, b.minute, b.hour, offset)? {
            Seek::Found(minute, rest) => return Ok((minute, rest)),
            Seek::Past(left) => offset = left,
        }
        match seek_within(conn, Level::Hour, b.hour, b.day, offset)? {
            Seek::Found(hour, rest) => return within_hour(conn, hour, rest),
            Seek::Past(left) => offset = left,
        }
        after_day = b.day;
    }
    let mut days =
        conn.prepare_cached("SELECT day, messages FROM hookline_days WHERE day > ?1 ORDER BY day")?;
    let mut rows = days.query([after_day])?;
    while let Some(row) = rows.next()? {
        let StoredCount(n) = row.get(1)?;
        if offset < n {
            let day: String = row.get(0)?;
            drop(rows);
            return match seek_within(conn, Level::Hour, &day, &day, offset)? {
                Seek::Found(hour, rest) => within_hour(conn, hour, rest),
                // Counts disagree (cannot happen inside one snapshot): walk the day.
                Seek::Past(_) => Ok((day, offset)),
            };
        }
        offset -= n;
    }
    Ok((ABOVE_ALL_KEYS.to_owned(), 0))
}

/// The minute of `hour` holding the row `offset` rows into the hour, and the rows to skip
/// inside that minute.
fn within_hour(conn: &Connection, hour: String, offset: u64) -> rusqlite::Result<(String, u64)> {
    let found = match seek_within(conn, Level::Minute, &hour, &hour, offset)? {
        Seek::Found(minute, rest) => (minute, rest),
        // Counts disagree (cannot happen inside one snapshot): walk the hour.
        Seek::Past(_) => (hour, offset),
    };
    Ok(found)
}

/// A bucket table below the days.
#[derive(Clone, Copy)]
enum Level {
    Hour,
    Minute,
}

/// What [`seek_within`] found.
enum Seek {
    /// The bucket holding the target row, and the rows to skip inside it.
    Found(String, u64),
    /// Every bucket was skipped; the offset left after them.
    Past(u64),
}

/// Walks the buckets of `level` after `after` inside `parent` (an hour's minutes or a
/// day's hours), subtracting their counts from `offset` until one holds the target row.
fn seek_within(
    conn: &Connection,
    level: Level,
    after: &str,
    parent: &str,
    mut offset: u64,
) -> rusqlite::Result<Seek> {
    let sql = match level {
        Level::Hour => {
            "SELECT hour, messages FROM hookline_hours
             WHERE hour > ?1 AND hour < ?2 || 'U' ORDER BY hour"
        }
        Level::Minute => {
            "SELECT minute, messages FROM hookline_minutes
             WHERE minute > ?1 AND minute < ?2 || ';' ORDER BY minute"
        }
    };
    let mut buckets = conn.prepare_cached(sql)?;
    let mut rows = buckets.query(params![after, parent])?;
    while let Some(row) = rows.next()? {
        let StoredCount(n) = row.get(1)?;
        if offset < n {
            return Ok(Seek::Found(row.get(0)?, offset));
        }
        offset -= n;
    }
    Ok(Seek::Past(offset))
}
