//! Totals: how many rows a list query matches, answered from the kept tables (the totals
//! row, the senders, the day/hour/minute buckets), the kept `q` counts (`counts.rs`) and
//! the trigram index wherever they answer exactly, and counted in an index or the table
//! otherwise.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, Value, ValueRef};
use rusqlite::{Connection, params, params_from_iter};

use crate::buckets::Buckets;
use crate::counts::{CountCache, CountKey, Counted, MAX_CATCH_UP_ROWS};
use crate::error::CorruptCount;
use crate::plan::{Planner, TextSearch};
use crate::read::{Effort, MAX_BOUNDED_ROWS, Shape, text_matches};
use crate::tail::{TailFilter, TailView};

/// A count read from the database as a `u64`; a negative one is [`CorruptCount`] rather
/// than a silent 0, which would show a wrong `total` or skip the wrong rows.
pub(crate) fn stored_count(n: i64) -> Result<u64, CorruptCount> {
    u64::try_from(n).map_err(|_| CorruptCount { count: n })
}

/// A count column, read through [`stored_count`]: a negative count fails the read like any
/// value of the wrong type (`FromSqlConversionFailure`, with the column's index), which
/// [`store_error`](crate::error::store_error) makes `StoreError::Internal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredCount(pub(crate) u64);

impl FromSql for StoredCount {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let n = i64::column_result(value)?;
        stored_count(n)
            .map(StoredCount)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// Rows of `messages` above the index file's watermark (not yet in `messages_fts`: the
/// tail, at most [`SqliteConfig::max_tail`](crate::SqliteConfig::max_tail) of them, a rowid
/// range) whose folded text contains `?2`.
const ABOVE_WATERMARK: &str = "rowid > (SELECT upto FROM ix.hookline_fts_watermark WHERE id = 1)
     AND instr(coalesce(text_folded, text), ?2) > 0";

/// Rows whose folded text contains the needle, asked of the full-text index `search`
/// names, as it says (see `plan.rs`), optionally with `ts_key >= since`.
fn count_fts(
    conn: &Connection,
    search: &TextSearch,
    needle: &str,
    since: Option<&str>,
) -> rusqlite::Result<u64> {
    let fts = search.fts.as_str();
    let table = search.index.table();
    let StoredCount(n) = match (since, search.exact) {
        (None, true) => conn
            .prepare_cached(&format!(
                "SELECT (SELECT count(*) FROM ix.{table} WHERE {table} MATCH ?1)
                      + (SELECT count(*) FROM messages WHERE {ABOVE_WATERMARK})"
            ))?
            .query_row([fts, needle], |r| r.get(0))?,
        (None, false) => conn
            .prepare_cached(&format!(
                "SELECT (SELECT count(*) FROM ix.{table}
                         CROSS JOIN messages AS c ON c.rowid = {table}.rowid
                         WHERE {table} MATCH ?1 AND instr(coalesce(c.text_folded, c.text), ?2) > 0)
                      + (SELECT count(*) FROM messages WHERE {ABOVE_WATERMARK})"
            ))?
            .query_row([fts, needle], |r| r.get(0))?,
        (Some(since), exact) => conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM ({matches}) AS f
                 CROSS JOIN messages AS m ON m.rowid = f.r
                 WHERE m.ts_key >= ?3{}",
                if exact {
                    ""
                } else {
                    " AND instr(coalesce(m.text_folded, m.text), ?2) > 0"
                },
                matches = text_matches(search.index),
            ))?
            .query_row(params![fts, needle, since], |r| r.get(0))?,
    };
    Ok(n)
}

/// How many rows match, using the kept counts and the trigram index where they answer
/// exactly; `search` plans the trigram query of `shape.q`, when it has one. A `q` count is
/// kept in `counts` and later brought up to date with the rows added since (see
/// `counts.rs`). `None` only with [`Effort::Bounded`], for a `q` count that is not kept
/// or has more than [`MAX_BOUNDED_ROWS`] new rows to catch up with.
pub(crate) fn count(
    conn: &Connection,
    view: &TailView<'_>,
    shape: &Shape<'_>,
    search: Option<&Planner<'_>>,
    counts: &CountCache,
    effort: Effort,
) -> rusqlite::Result<Option<u64>> {
    let Some(needle) = shape.q else {
        return count_uncached(conn, view, shape, search).map(Some);
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
        _ => count_uncached(conn, view, shape, search)?,
    };
    counts.keep(key, Counted { rows, upto: last });
    Ok(Some(rows))
}

/// All rows, from the totals row.
pub(crate) fn count_all(conn: &Connection) -> rusqlite::Result<u64> {
    let StoredCount(n) = conn
        .prepare_cached("SELECT messages FROM hookline_totals WHERE id = 1")?
        .query_row([], |r| r.get(0))?;
    Ok(n)
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
    let StoredCount(n) = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(args), |r| r.get(0))?;
    Ok(n)
}

/// [`count`] without the kept counts.
fn count_uncached(
    conn: &Connection,
    view: &TailView<'_>,
    shape: &Shape<'_>,
    search: Option<&Planner<'_>>,
) -> rusqlite::Result<u64> {
    if let (Some(search), None, Some(needle)) = (search, shape.from, shape.q) {
        return count_fts(conn, search.get(conn)?, needle, shape.since);
    }
    let StoredCount(n) = match (shape.from, shape.since, shape.q) {
        (None, None, None) => return count_all(conn),
        (Some(from), None, None) => conn
            .prepare_cached(
                "SELECT coalesce(sum(messages), 0) FROM hookline_senders WHERE from_msisdn = ?1",
            )?
            .query_row([from], |r| r.get(0))?,
        (None, Some(since), None) => return count_since(conn, view, since),
        (None, None, Some(needle)) => conn
            // Every row, in the table (which holds the tail's rows too).
            .prepare_cached(
                "SELECT count(*) FROM messages WHERE instr(coalesce(text_folded, text), ?1) > 0",
            )?
            .query_row([needle], |r| r.get(0))?,
        _ => {
            // The rows up to the watermark, in the index table of the shape's order
            // (joined to the table for `q`), and the read's tail.
            let mut conds = vec!["1".to_owned()];
            let mut args = Vec::new();
            shape.conditions_on("x.", "m.", &mut conds, &mut args);
            let join = if shape.q.is_some() {
                "CROSS JOIN messages AS m ON m.rowid = x.rid"
            } else {
                ""
            };
            let sql = format!(
                "SELECT count(*) FROM {} AS x {join} WHERE {}",
                shape.index(),
                conds.join(" AND ")
            );
            let StoredCount(indexed) = conn
                .prepare_cached(&sql)?
                .query_row(params_from_iter(args), |r| r.get(0))?;
            let tail = view.count(&TailFilter {
                from: shape.from,
                since: shape.since,
                q: shape.q,
                ..TailFilter::default()
            });
            StoredCount(indexed + tail)
        }
    };
    Ok(n)
}

/// Counts the rows from `since` (`?1`) to the end of its minute bucket (`?2`, its prefix;
/// every key in it continues with `:`, below `;`) in the `ts_key` index. A macro so that
/// [`COUNT_SINCE`] is built at compile time.
macro_rules! rest_of_minute {
    () => {
        "SELECT count(*) FROM ix.hookline_by_ts WHERE ts_key >= ?1 AND ts_key < ?2 || ';'"
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
/// index and the read's tail.
pub(crate) fn count_rest_of_minute(
    conn: &Connection,
    view: &TailView<'_>,
    since: &str,
    minute: &str,
) -> rusqlite::Result<u64> {
    let StoredCount(n) = conn
        .prepare_cached(rest_of_minute!())?
        .query_row(params![since, minute], |r| r.get(0))?;
    Ok(n + tail_rest_of_minute(view, since, minute))
}

/// The tail's rows from `since` to the end of its minute `minute`.
fn tail_rest_of_minute(view: &TailView<'_>, since: &str, minute: &str) -> u64 {
    let end = format!("{minute};");
    view.count(&TailFilter {
        since: Some(since),
        before: Some(&end),
        ..TailFilter::default()
    })
}

/// Rows with `ts_key >= since`: the rows of `since`'s own minute from the index and the
/// tail, the later minutes of its hour, hours of its day and days from the bucket tables
/// (which count every row, the tail's included).
pub(crate) fn count_since(
    conn: &Connection,
    view: &TailView<'_>,
    since: &str,
) -> rusqlite::Result<u64> {
    let b = Buckets::of(since);
    let StoredCount(n) = conn
        .prepare_cached(COUNT_SINCE)?
        .query_row(params![since, b.minute, b.hour, b.day], |r| r.get(0))?;
    Ok(n + tail_rest_of_minute(view, since, b.minute))
}

#[cfg(test)]
pub(crate) mod tests {
    use hookline_store::StoreError;
    use rusqlite::Connection;

    use super::*;
    use crate::error::store_error;

    /// A database with the real schema: `indexed` texts in the trigram index (below the
    /// watermark) and `above` texts after it, row `i` at `2025-01-01T00:00:0iZ`-like keys.
    pub(crate) fn with_texts(indexed: &[&str], above: &[&str]) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        conn.execute_batch("ATTACH DATABASE ':memory:' AS ix")
            .unwrap();
        crate::index::create_in(&conn, "ix").unwrap();
        let insert = |i: usize, text: &str| {
            conn.execute(
                "INSERT INTO messages (message_id, from_msisdn, to_msisdn, ts, text,
                     created_at, ts_key, text_folded)
                 VALUES (?1, '+15550000001', '+15550000002', ?2, ?3, ?2, ?4, ?3)",
                params![
                    format!("id{i:03}"),
                    format!("2025-01-01T00:{:02}:00Z", i % 60),
                    text,
                    format!("k{:03}", (i * 7) % 100),
                ],
            )
            .unwrap();
        };
        for (i, text) in indexed.iter().enumerate() {
            insert(i, text);
        }
        conn.execute_batch(
            "INSERT INTO ix.messages_fts (rowid, text_folded)
                 SELECT rowid, text_folded FROM messages;
             UPDATE ix.hookline_fts_watermark SET upto = (SELECT max(rowid) FROM messages);",
        )
        .unwrap();
        for (i, text) in indexed.iter().enumerate() {
            if let Some(tokens) = crate::grams::tokens(text) {
                conn.execute(
                    "INSERT INTO ix.messages_grams (rowid, grams) VALUES (?1, ?2)",
                    params![i64::try_from(i).unwrap() + 1, tokens],
                )
                .unwrap();
            }
        }
        for (i, text) in above.iter().enumerate() {
            insert(indexed.len() + i, text);
        }
        conn
    }

    /// Four indexed texts and two above the watermark, and the candidates query of the
    /// trigram `l t` for the needle `call tomorrow`: `l t` is in rows 0, 2, 3 and the first
    /// row above; only 0, 2 and that one hold the needle (keys `k000`, `k014`, `k028`).
    pub(crate) fn call_tomorrow() -> (Connection, TextSearch) {
        let texts = [
            "call tomorrow",
            "tomorrow call",
            "call tomorrow x",
            "all to",
        ];
        let conn = with_texts(&texts, &["a call tomorrow", "tomorrow"]);
        let candidates = TextSearch {
            index: crate::plan::FtsIndex::Trigrams,
            fts: "\"l t\"".to_owned(),
            exact: false,
            lookups: 0,
            matches: 0,
        };
        (conn, candidates)
    }

    proptest::proptest! {
        /// A needle's grams ANDed in `messages_grams` (through FTS5's `ascii` tokenizer),
        /// with every candidate checked, count exactly the texts holding the needle, on
        /// both sides of the watermark.
        #[test]
        fn a_gram_count_is_exact(
            texts in proptest::collection::vec("[ab é😀]{7,24}", 1..24),
            pick in 0_usize..64,
            start in 0_usize..24,
            len in 7_usize..16,
        ) {
            let text = &texts[pick % texts.len()];
            let chars: Vec<char> = text.chars().collect();
            // At least seven characters of it, the length of a gram.
            let start = start % (chars.len() - 6);
            let needle: String = chars[start..(start + len).min(chars.len())].iter().collect();
            let grams = crate::grams::grams(&needle);
            proptest::prop_assume!(!grams.is_empty());
            let split = texts.len().div_ceil(2);
            let indexed: Vec<&str> = texts[..split].iter().map(String::as_str).collect();
            let above: Vec<&str> = texts[split..].iter().map(String::as_str).collect();
            let conn = with_texts(&indexed, &above);
            let search = TextSearch {
                index: crate::plan::FtsIndex::Grams,
                fts: grams
                    .iter()
                    .map(|g| crate::plan::quoted(&crate::grams::token(g)))
                    .collect::<Vec<_>>()
                    .join(" AND "),
                exact: false,
                lookups: 0,
                matches: 0,
            };
            let want = texts.iter().filter(|t| t.contains(&needle)).count() as u64;
            proptest::prop_assert!(want >= 1);
            proptest::prop_assert_eq!(count_fts(&conn, &search, &needle, None).unwrap(), want);
        }
    }

    #[test]
    fn a_candidates_count_checks_every_candidate_on_both_sides_of_the_watermark() {
        let (conn, candidates) = call_tomorrow();
        let exact = crate::plan::phrase("call tomorrow");
        for search in [&candidates, &exact] {
            assert_eq!(count_fts(&conn, search, "call tomorrow", None).unwrap(), 3);
            // Keys are `k000`, `k007`, `k014`, `k021`, `k028`, `k035` by row.
            assert_eq!(
                count_fts(&conn, search, "call tomorrow", Some("k010")).unwrap(),
                2
            );
        }
    }

    #[test]
    fn a_stored_count_is_never_negative() {
        assert_eq!(stored_count(0).ok(), Some(0));
        assert_eq!(stored_count(42).ok(), Some(42));
        assert_eq!(stored_count(i64::MAX).ok(), Some(i64::MAX.unsigned_abs()));
        assert_eq!(stored_count(-1).err().map(|e| e.count), Some(-1));
        assert_eq!(
            stored_count(i64::MIN).err().map(|e| e.count),
            Some(i64::MIN)
        );
    }

    #[test]
    fn a_negative_count_column_is_an_internal_error() -> rusqlite::Result<()> {
        let conn = Connection::open_in_memory()?;
        let read = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, StoredCount>(0));
        assert_eq!(read("SELECT 7")?, StoredCount(7));
        let err = read("SELECT -3").err().map(store_error);
        let Some(StoreError::Internal(cause)) = err else {
            panic!("expected an internal error, got {err:?}");
        };
        let message = format!("{cause}");
        assert!(message.contains("stored count -3 is negative"), "{message}");
        Ok(())
    }
}
