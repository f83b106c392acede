//! Totals: how many rows a list query matches, answered from the kept tables (the totals
//! row, the senders, the day/hour/minute buckets), the kept `q` counts (`counts.rs`) and
//! the trigram index wherever they answer exactly, and counted in an index or the table
//! otherwise.

use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use crate::buckets::Buckets;
use crate::counts::{CountCache, CountKey, Counted, MAX_CATCH_UP_ROWS};
use crate::read::{Effort, MAX_BOUNDED_ROWS, Shape, TEXT_MATCHES};

/// Rows of `messages` above the full-text watermark (not yet in `messages_fts`, fewer
/// than [`FTS_BATCH`](crate::writer::FTS_BATCH) of them, a rowid range) whose folded text
/// contains `?2`.
const ABOVE_WATERMARK: &str = "rowid > (SELECT upto FROM hookline_fts_watermark WHERE id = 1)
     AND instr(text_folded, ?2) > 0";

/// Rows whose folded text contains the needle (`phrase` is its trigram query), optionally
/// with `ts_key >= since`.
fn count_trigram(
    conn: &Connection,
    phrase: &str,
    needle: &str,
    since: Option<&str>,
) -> rusqlite::Result<u64> {
    let n: i64 = match since {
        None => conn
            .prepare_cached(&format!(
                "SELECT (SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?1)
                      + (SELECT count(*) FROM messages WHERE {ABOVE_WATERMARK})"
            ))?
            .query_row([phrase, needle], |r| r.get(0))?,
        Some(since) => conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM ({TEXT_MATCHES}) AS f
                 CROSS JOIN messages AS m ON m.rowid = f.r
                 WHERE m.ts_key >= ?3"
            ))?
            .query_row(params![phrase, needle, since], |r| r.get(0))?,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How many rows match, using the kept counts and the trigram index where they answer
/// exactly; `phrase` is the trigram query of `shape.q`, when it has one. A `q` count is
/// kept in `counts` and later brought up to date with the rows added since (see
/// `counts.rs`). `None` only with [`Effort::Bounded`], for a `q` count that is not kept
/// or has more than [`MAX_BOUNDED_ROWS`] new rows to catch up with.
pub(crate) fn count(
    conn: &Connection,
    shape: &Shape<'_>,
    phrase: Option<&str>,
    counts: &CountCache,
    effort: Effort,
) -> rusqlite::Result<Option<u64>> {
    let Some(needle) = shape.q else {
        return count_uncached(conn, shape, phrase).map(Some);
    };
    let last: i64 = conn
        .prepare_cached("SELECT coalesce(max(rowid), 0) FROM messages")?
        .query_row([], |r| r.get(0))?;
    let key = CountKey {
        needle: needle.to_owned(),
        from: shape.from.map(str::to_owned),
        since: shape.since.map(str::to_owned),
    };
    let max_catch_up = match effort {
        Effort::Any => MAX_CATCH_UP_ROWS,
        Effort::Bounded => i64::try_from(MAX_BOUNDED_ROWS).unwrap_or(i64::MAX),
    };
    let rows = match counts.usable(&key, last) {
        Some(kept) if kept.upto == last => kept.rows,
        Some(kept) if last - kept.upto <= max_catch_up => {
            kept.rows + count_after(conn, shape, kept.upto)?
        }
        _ if effort == Effort::Bounded => return Ok(None),
        _ => count_uncached(conn, shape, phrase)?,
    };
    counts.keep(key, Counted { rows, upto: last });
    Ok(Some(rows))
}

/// All rows, from the totals row.
pub(crate) fn count_all(conn: &Connection) -> rusqlite::Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT messages FROM hookline_totals WHERE id = 1")?
        .query_row([], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Rows with a rowid above `upto` that match `shape`: a rowid range of the table.
fn count_after(conn: &Connection, shape: &Shape<'_>, upto: i64) -> rusqlite::Result<u64> {
    let mut conds = Vec::new();
    let mut args = vec![Value::Integer(upto)];
    shape.conditions(&mut conds, &mut args);
    // `NOT INDEXED` keeps the planner on the rowid range (the newest rows) rather than
    // the `from` or `ts_key` index, which would visit old rows too.
    let sql = format!(
        "SELECT count(*) FROM messages NOT INDEXED WHERE rowid > ?1 AND {}",
        conds.join(" AND ")
    );
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(args), |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// [`count`] without the kept counts.
fn count_uncached(
    conn: &Connection,
    shape: &Shape<'_>,
    phrase: Option<&str>,
) -> rusqlite::Result<u64> {
    if let (Some(phrase), None, Some(needle)) = (phrase, shape.from, shape.q) {
        return count_trigram(conn, phrase, needle, shape.since);
    }
    let n: i64 = match (shape.from, shape.since, shape.q) {
        (None, None, None) => return count_all(conn),
        (Some(from), None, None) => conn
            .prepare_cached(
                "SELECT coalesce(sum(messages), 0) FROM hookline_senders WHERE from_msisdn = ?1",
            )?
            .query_row([from], |r| r.get(0))?,
        (None, Some(since), None) => return count_since(conn, since),
        _ => {
            let mut conds = Vec::new();
            let mut args = Vec::new();
            shape.conditions(&mut conds, &mut args);
            let sql = format!(
                "SELECT count(*) FROM messages WHERE {}",
                conds.join(" AND ")
            );
            conn.prepare_cached(&sql)?
                .query_row(params_from_iter(args), |r| r.get(0))?
        }
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Counts the rows from `since` (`?1`) to the end of its minute bucket (`?2`, its prefix;
/// every key in it continues with `:`, below `;`) in the `ts_key` index. A macro so that
/// [`COUNT_SINCE`] is built at compile time.
macro_rules! rest_of_minute {
    () => {
        "SELECT count(*) FROM messages INDEXED BY messages_by_ts
         WHERE ts_key >= ?1 AND ts_key < ?2 || ';'"
    };
}

/// [`count_since`] in one statement (`?1` since, `?2` its minute, `?3` its hour, `?4` its
/// day): statements, not rows, are most of its cost. A day's hours continue it with `T`,
/// below `U`; an hour's minutes continue it with `:`, below `;`.
const COUNT_SINCE: &str = concat!(
    "SELECT (",
    rest_of_minute!(),
    ") + (SELECT coalesce(sum(messages), 0) FROM hookline_minutes
          WHERE minute > ?2 AND minute < ?3 || ';')
       + (SELECT coalesce(sum(messages), 0) FROM hookline_hours
          WHERE hour > ?3 AND hour < ?4 || 'U')
       + (SELECT coalesce(sum(messages), 0) FROM hookline_days WHERE day > ?4)"
);

/// Rows from `since` to the end of its minute bucket `minute`, counted in the `ts_key`
/// index.
pub(crate) fn count_rest_of_minute(
    conn: &Connection,
    since: &str,
    minute: &str,
) -> rusqlite::Result<u64> {
    let n: i64 = conn
        .prepare_cached(rest_of_minute!())?
        .query_row(params![since, minute], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Rows with `ts_key >= since`: the rows of `since`'s own minute from the index, the later
/// minutes of its hour, hours of its day and days from the bucket tables.
pub(crate) fn count_since(conn: &Connection, since: &str) -> rusqlite::Result<u64> {
    let b = Buckets::of(since);
    let n: i64 = conn
        .prepare_cached(COUNT_SINCE)?
        .query_row(params![since, b.minute, b.hour, b.day], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}
