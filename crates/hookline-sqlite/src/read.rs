//! The read side: every list shape and the statistics, each answered inside one read
//! transaction so that `total` and `data` come from the same snapshot.
//! A list's `total` comes from `totals.rs`; a deep `offset` is skipped with the bucket
//! counts of `buckets.rs`.

use std::sync::Arc;

use hookline_domain::{Message, MessageId, Msisdn, Text, Timestamp};
use hookline_query::{Cursor, ListQuery, Page, PageStart, SenderCount, Stats, TOP_SENDERS};
use hookline_store::StoreError;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Row, params_from_iter};

use crate::buckets::seek_by_buckets;
use crate::counts::{
    CountCache, CountKey, Counted, MAX_CATCH_UP_ROWS, MAX_KEPT_MATCHES, MatchKeys,
};
use crate::error::{CorruptRow, store_error};
use crate::plan::{FtsIndex, Planner, SampleCache, TextSearch};
use crate::tail::{Tail, TailFilter, TailKey, TailView};
use crate::totals::{StoredCount, count, count_all, count_since};

/// The columns a [`Message`] is read from, in [`message_from_row`] order.
const COLUMNS: &str = "message_id, from_msisdn, to_msisdn, ts, text";

/// [`COLUMNS`] of the table aliased `m`.
const M_COLUMNS: &str = "m.message_id, m.from_msisdn, m.to_msisdn, m.ts, m.text";

/// How much work a read may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effort {
    /// Whatever the query needs (on a thread that may block).
    Any,
    /// Only a short, bounded amount (on the caller's async thread); a read that would need
    /// more gives up before its expensive part and is answered with [`Effort::Any`]
    /// elsewhere. Attempted: shapes without `q` (except an `offset` of more than
    /// [`MAX_BOUNDED_ROWS`] into one sender's rows), and a `q` whose total is kept (see
    /// `counts.rs`) with at most [`MAX_BOUNDED_ROWS`] rows to catch up and whose page is a
    /// walk of the list order expected to test at most that many rows. What bounds them
    /// for sure is the instruction budget `SqliteStore::read_now` gives SQLite: a read
    /// that runs past it (a `since` minute or a sender holding many rows, matches bunched at
    /// one end) is interrupted and answered with [`Effort::Any`] instead.
    Bounded,
}

/// Rows a bounded read may visit one by one (index entries skipped, rows tested by `q`).
pub(crate) const MAX_BOUNDED_ROWS: u64 = 2_000;

/// Answers a list query. `conn` must be inside a read transaction that has not read
/// anything yet (its snapshot starts here, with the view of `tail` that matches it);
/// `counts` keeps the totals of `q` filters between calls. `None` only with
/// [`Effort::Bounded`], when the answer needs more (nothing expensive has run then).
pub(crate) fn list(
    conn: &Connection,
    tail: &Tail,
    query: &ListQuery,
    counts: &CountCache,
    samples: &SampleCache,
    effort: Effort,
) -> Result<Option<Page<Message>>, StoreError> {
    let view = tail.begin(conn).map_err(store_error)?;
    let view = &view;
    let filter = query.filter();
    let from = filter.from.as_deref();
    let since = filter.since.map(|s| s.sort_key());
    let q = filter.q_folded();
    let phrase = q.as_deref().and_then(|q| Planner::new(q, samples));
    let shape = Shape {
        from,
        since: since.as_deref(),
        q: q.as_deref(),
    };
    // One row more than the page tells whether a next page exists.
    let fetch = i64::from(query.limit()) + 1;
    let cursor = match query.start() {
        PageStart::After(cursor) => Some(cursor),
        PageStart::Offset(_) => None,
    };
    let offset = query.offset();
    if effort == Effort::Bounded
        && ((from.is_some() && offset > MAX_BOUNDED_ROWS)
            || (q.is_some() && (from.is_some() || phrase.is_none())))
    {
        // A walk of that many index entries, or a `q` tested row by row in a sender's
        // rows or the whole table.
        return Ok(None);
    }
    if let (Some(planner), None) = (&phrase, from)
        && let Some((total, rows)) =
            matched_once(conn, &shape, planner, counts, cursor, fetch, offset, effort)?
    {
        return Ok(Some(finish(query, rows, total)));
    }
    let Some(total) =
        count(conn, view, &shape, phrase.as_ref(), counts, effort).map_err(store_error)?
    else {
        return Ok(None);
    };
    let rows = if cursor.is_none() && offset >= total {
        Vec::new()
    } else if let (Some(phrase), None) = (&phrase, from) {
        // A `q` page: walk the list order and test each row, or collect the trigram
        // index's matches and sort them — whichever reads fewer rows.
        let matches = if shape.since.is_none() {
            Some(total)
        } else {
            let anytime = Shape {
                since: None,
                ..shape
            };
            count(conn, view, &anytime, Some(phrase), counts, effort).map_err(store_error)?
        };
        let Some(matches) = matches else {
            return Ok(None);
        };
        let in_scope = match shape.since {
            None => count_all(conn),
            Some(since) => count_since(conn, view, since),
        }
        .map_err(store_error)?;
        let wanted = offset.saturating_add(fetch.unsigned_abs());
        let walk = wanted.saturating_mul(in_scope) / total.max(1);
        // A bounded read only walks: one FTS5 lookup can cost as much as a full count (it
        // loads each trigram's whole position list) and cannot be interrupted midway. The
        // walk's estimate assumes matches spread evenly; the instruction budget of a
        // bounded read (see `SqliteStore::read_now`) catches the case where they are not.
        if effort == Effort::Bounded && (matches <= walk || walk > MAX_BOUNDED_ROWS) {
            return Ok(None);
        }
        // The index's way costs the plan's estimate (which may be far more than the
        // matches: the phrase reads every trigram's list, candidates are each looked up).
        let search = if matches <= walk {
            Some(phrase.get(conn).map_err(store_error)?)
        } else {
            None
        };
        match search {
            Some(search) if search.lookups.max(matches) <= walk => {
                page(conn, view, &shape, Some(search), cursor, fetch, offset)?
            }
            _ => page(conn, view, &shape, None, cursor, fetch, offset)?,
        }
    } else if cursor.is_none() && from.is_none() && q.is_none() && offset > 0 {
        // Skip whole days, hours and minutes with the bucket counts, then the rest in the
        // index.
        let (start_key, rest) =
            seek_by_buckets(conn, view, shape.since, offset).map_err(store_error)?;
        let starting = Shape {
            since: Some(&start_key),
            ..shape
        };
        page(conn, view, &starting, None, None, fetch, rest)?
    } else {
        page(conn, view, &shape, None, cursor, fetch, offset)?
    };
    Ok(Some(finish(query, rows, total)))
}

/// The page of `rows` (one more than the limit when a next page exists).
fn finish(query: &ListQuery, mut rows: Vec<Message>, total: u64) -> Page<Message> {
    let limit = usize::try_from(query.limit()).unwrap_or(usize::MAX);
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|m| Cursor::after(m).encode())
    } else {
        None
    };
    Page {
        data: rows,
        total,
        limit: query.limit(),
        offset: query.offset(),
        next_cursor,
    }
}

/// Most candidates (estimated, in lookups) for which [`matched_once`] collects every
/// match in memory (about 60 bytes each).
const MAX_COLLECTED: u64 = 200_000;

/// A rare `q`: its total and page from its matches' list-order keys, kept in memory
/// (`counts.rs`) and brought up to date with the matching rows added since, or — when its
/// total is not kept and its plan is candidates — found in one pass over the candidates
/// (instead of one pass to count and another to sort the page), then kept when there are
/// at most [`MAX_KEPT_MATCHES`]. Only the page's rows are read in full. `None` when
/// another way is expected to be cheaper (a kept count without kept matches, a phrase
/// plan, too many candidates, with [`Effort::Bounded`] anything but kept matches with at
/// most [`MAX_BOUNDED_ROWS`] new rows); nothing expensive has run then.
#[allow(clippy::too_many_arguments)]
fn matched_once(
    conn: &Connection,
    shape: &Shape<'_>,
    planner: &Planner<'_>,
    counts: &CountCache,
    cursor: Option<&Cursor>,
    fetch: i64,
    offset: u64,
    effort: Effort,
) -> Result<Option<(u64, Vec<Message>)>, StoreError> {
    let Some(needle) = shape.q else {
        return Ok(None);
    };
    let last: i64 = conn
        .prepare_cached("SELECT coalesce(max(rowid), 0) FROM messages")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(store_error)?;
    let key = CountKey {
        needle: needle.to_owned(),
        from: None,
        since: shape.since.map(str::to_owned),
    };
    let max_catch_up = match effort {
        Effort::Any => MAX_CATCH_UP_ROWS,
        Effort::Bounded => i64::try_from(MAX_BOUNDED_ROWS).unwrap_or(i64::MAX),
    };
    let since_cond = if shape.since.is_some() {
        " AND m.ts_key >= ?3"
    } else {
        ""
    };
    let mut args = vec![Value::Null, Value::Text(needle.to_owned())];
    if let Some(since) = shape.since {
        args.push(Value::Text(since.to_owned()));
    }
    // `None` past `MAX_COLLECTED` matches (the estimate was wrong): the caller then
    // answers the usual way.
    let collect = |sql: &str, args: Vec<Value>| -> Result<Option<MatchKeys>, StoreError> {
        let mut stmt = conn.prepare_cached(sql).map_err(store_error)?;
        let mut rows = stmt.query(params_from_iter(args)).map_err(store_error)?;
        let mut out = MatchKeys::new();
        while let Some(row) = rows.next().map_err(store_error)? {
            if out.len() as u64 >= MAX_COLLECTED {
                return Ok(None);
            }
            out.push((
                row.get(0).map_err(store_error)?,
                row.get(1).map_err(store_error)?,
                row.get(2).map_err(store_error)?,
            ));
        }
        Ok(Some(out))
    };
    let matches = match counts.matches.usable(&key, last) {
        Some((upto, kept)) if last - upto <= max_catch_up => {
            if upto == last {
                kept
            } else {
                // `?1` is the rowid the kept list counted up to; `NOT INDEXED` keeps the
                // planner on the rowid range (the newest rows).
                args[0] = Value::Integer(upto);
                let newer = collect(
                    &format!(
                        "SELECT m.ts_key, m.message_id, m.rowid FROM messages AS m NOT INDEXED
                         WHERE m.rowid > ?1 AND instr(coalesce(m.text_folded, m.text), ?2) > 0{since_cond}"
                    ),
                    args,
                )?;
                let Some(newer) = newer else {
                    return Ok(None);
                };
                let mut all: MatchKeys = kept.iter().cloned().chain(newer).collect();
                all.sort_unstable();
                let all = Arc::new(all);
                counts.matches.keep(key.clone(), last, Arc::clone(&all));
                all
            }
        }
        _ if effort == Effort::Bounded => return Ok(None),
        _ => {
            if counts.usable(&key, last).is_some() {
                return Ok(None);
            }
            let search = planner.get(conn).map_err(store_error)?;
            // Candidates are collected when their checks are not too many; a phrase's
            // matches when the sample expects few enough to keep.
            let collect_it = if search.exact {
                search.matches <= MAX_KEPT_MATCHES as u64
            } else {
                search.lookups <= MAX_COLLECTED
            };
            if !collect_it {
                return Ok(None);
            }
            args[0] = Value::Text(search.fts.clone());
            let matches = text_matches(search.index);
            let all = collect(
                &format!(
                    "SELECT m.ts_key, m.message_id, m.rowid FROM ({matches}) AS f
                     CROSS JOIN messages AS m ON m.rowid = f.r
                     WHERE instr(coalesce(m.text_folded, m.text), ?2) > 0{since_cond}"
                ),
                args,
            )?;
            let Some(mut all) = all else {
                return Ok(None);
            };
            all.sort_unstable();
            let all = Arc::new(all);
            counts.matches.keep(key.clone(), last, Arc::clone(&all));
            all
        }
    };
    let total = matches.len() as u64;
    counts.keep(
        key,
        Counted {
            rows: total,
            upto: last,
        },
    );
    // The keys are in list order (SQLite compares text byte by byte, as `str` does); a
    // cursor starts after its own key.
    let start = match cursor {
        Some(cursor) => {
            let after = (cursor.ts_key(), cursor.message_id().as_str());
            matches.partition_point(|(k, i, _)| (k.as_str(), i.as_str()) <= after)
        }
        None => 0,
    };
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let take = usize::try_from(fetch).unwrap_or(0);
    let rowids = matches.iter().skip(start).skip(skip).take(take);
    let page = rows_by_rowid(conn, rowids.map(|(_, _, rowid)| *rowid))?;
    Ok(Some((total, page)))
}

/// The rowids (`r`) of every row whose folded text contains the needle: the matches of
/// FTS5 query `?1` in `index` (rows up to the watermark; when the query is not exact,
/// candidates that the caller checks with `instr(text_folded, ?2)`) and the scanned rows
/// above it with needle `?2`. The two parts never overlap.
pub(crate) fn text_matches(index: FtsIndex) -> String {
    let table = index.table();
    format!(
        "SELECT rowid AS r FROM ix.{table} WHERE {table} MATCH ?1
         UNION ALL
         SELECT rowid AS r FROM main.messages
         WHERE rowid > (SELECT upto FROM ix.hookline_fts_watermark WHERE id = 1)
           AND instr(coalesce(text_folded, text), ?2) > 0"
    )
}

/// The filters of a list query, in stored form.
#[derive(Clone, Copy)]
pub(crate) struct Shape<'a> {
    pub(crate) from: Option<&'a str>,
    /// Lower bound on `ts_key`, inclusive.
    pub(crate) since: Option<&'a str>,
    /// Folded needle.
    pub(crate) q: Option<&'a str>,
}

impl Shape<'_> {
    /// `WHERE` conditions and their parameters (cursor excluded), on one table holding
    /// every column (`messages`).
    pub(crate) fn conditions(&self, sql: &mut Vec<String>, args: &mut Vec<Value>) {
        self.conditions_on("", "", sql, args);
    }

    /// [`conditions`](Self::conditions) on an index table (prefix `x`: `from_msisdn`,
    /// `ts_key`) joined to `messages` (prefix `m`: `text_folded`); prefixes end with `.`.
    pub(crate) fn conditions_on(
        &self,
        x: &str,
        m: &str,
        sql: &mut Vec<String>,
        args: &mut Vec<Value>,
    ) {
        if let Some(from) = self.from {
            args.push(Value::Text(from.to_owned()));
            sql.push(format!("{x}from_msisdn = ?{}", args.len()));
        }
        if let Some(since) = self.since {
            args.push(Value::Text(since.to_owned()));
            sql.push(format!("{x}ts_key >= ?{}", args.len()));
        }
        if let Some(q) = self.q {
            args.push(Value::Text(q.to_owned()));
            sql.push(format!(
                "instr(coalesce({m}text_folded, {m}text), ?{}) > 0",
                args.len()
            ));
        }
    }

    /// The index table (in the index file) whose order is the list order for this shape.
    pub(crate) fn index(&self) -> &'static str {
        if self.from.is_some() {
            "ix.hookline_by_from"
        } else {
            "ix.hookline_by_ts"
        }
    }
}

/// Reads up to `fetch` matching rows in list order, after `cursor` or skipping `offset`.
///
/// Without `phrase`, the order index is walked without touching the table (it covers
/// `ts_key`, `message_id` and the rowid) unless `q` must be tested; only the rows of the
/// page are read in full. The index holds the rows up to the watermark; when the read's
/// tail has matching rows, both are merged ([`merged_page`]). With `phrase`, the trigram
/// index's matches (which cover every row) are read and sorted.
fn page(
    conn: &Connection,
    view: &TailView<'_>,
    shape: &Shape<'_>,
    search: Option<&TextSearch>,
    cursor: Option<&Cursor>,
    fetch: i64,
    offset: u64,
) -> Result<Vec<Message>, StoreError> {
    if search.is_none() {
        let filter = TailFilter {
            from: shape.from,
            since: shape.since,
            q: shape.q,
            after: cursor.map(|c| (c.ts_key(), c.message_id().as_str())),
            before: None,
        };
        let want = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .saturating_add(usize::try_from(fetch).unwrap_or(0));
        let tail = view.first(&filter, want);
        if !tail.is_empty() {
            return merged_page(conn, shape, cursor, &tail, fetch, offset);
        }
    }
    let mut conds = Vec::new();
    let mut args = Vec::new();
    if let Some(search) = search {
        args.push(Value::Text(search.fts.clone()));
        args.push(Value::Text(shape.q.unwrap_or_default().to_owned()));
        if !search.exact {
            conds.push("instr(coalesce(m.text_folded, m.text), ?2) > 0".to_owned());
        }
        let without_q = Shape { q: None, ..*shape };
        without_q.conditions_on("m.", "m.", &mut conds, &mut args);
    } else {
        shape.conditions_on("x.", "m.", &mut conds, &mut args);
    }
    let at = if search.is_some() { "m." } else { "x." };
    let (limit_arg, offset_arg) = window(at, cursor, fetch, offset, &mut conds, &mut args);
    let where_clause = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let sql = if let Some(search) = search {
        let matches = text_matches(search.index);
        format!(
            "SELECT {M_COLUMNS}
             FROM ({matches}) AS f
             CROSS JOIN messages AS m ON m.rowid = f.r {where_clause}
             ORDER BY m.ts_key, m.message_id LIMIT ?{limit_arg} OFFSET ?{offset_arg}"
        )
    } else if shape.q.is_some() {
        // Every row walked is read from the table anyway, to test its text: take the page's
        // columns from that same read. `CROSS JOIN` keeps the index table outside, so its
        // order is the list order.
        format!(
            "SELECT {M_COLUMNS} FROM {index} AS x
             CROSS JOIN messages AS m ON m.rowid = x.rid {where_clause}
             ORDER BY x.ts_key, x.message_id LIMIT ?{limit_arg} OFFSET ?{offset_arg}",
            index = shape.index(),
        )
    } else {
        // The page's rowids come from the index table alone (it holds `ts_key`,
        // `message_id` and the rowid), in list order; only those rows are read from the
        // table, by rowid. Measured against `rowid IN (…)`, which builds and sorts a
        // temporary table: 13–26% less CPU per list request, identical rows.
        format!(
            "SELECT {M_COLUMNS} FROM (
                 SELECT x.rid AS r, x.ts_key AS k, x.message_id AS i
                 FROM {index} AS x {where_clause}
                 ORDER BY x.ts_key, x.message_id LIMIT ?{limit_arg} OFFSET ?{offset_arg}) AS p
             CROSS JOIN messages AS m ON m.rowid = p.r
             ORDER BY p.k, p.i",
            index = shape.index(),
        )
    };
    let mut stmt = conn.prepare_cached(&sql).map_err(store_error)?;
    let mut rows = stmt.query(params_from_iter(args)).map_err(store_error)?;
    let mut out = Vec::with_capacity(usize::try_from(fetch).unwrap_or(0));
    while let Some(row) = rows.next().map_err(store_error)? {
        out.push(message_from_row(row)?);
    }
    Ok(out)
}

/// A page of the list order merged from the index (rows up to the watermark) and `tail`,
/// the read's first matching tail rows (at least `offset + fetch` of them, or all).
///
/// The index is asked for its keys from `s0 = offset - tail.len()` on (fewer cannot
/// precede position `offset`): with `c` tail rows before the first key it returns, that
/// key is at position `s0 + c` of the merged order, and the tail rows before it are all
/// before `offset`. The keys are merged as SQLite returns them, borrowed from the
/// statement, and only until the page is full; only the page's rows are then read from
/// the table.
fn merged_page(
    conn: &Connection,
    shape: &Shape<'_>,
    cursor: Option<&Cursor>,
    tail: &[TailKey],
    fetch: i64,
    offset: u64,
) -> Result<Vec<Message>, StoreError> {
    let mut s0 = offset.saturating_sub(tail.len() as u64);
    let rowids = loop {
        // Index row `j` (from `s0`) is at merged position `s0 + j` or later.
        let limit = i64::try_from(offset - s0)
            .unwrap_or(i64::MAX)
            .saturating_add(fetch);
        let (sql, args) = index_keys_sql(shape, cursor, limit, s0);
        let mut stmt = conn.prepare_cached(&sql).map_err(store_error)?;
        let mut rows = stmt.query(params_from_iter(args)).map_err(store_error)?;
        let mut indexed = rows.next().map_err(store_error)?;
        let (mut position, mut t) = match indexed {
            None if s0 > 0 => {
                // Fewer than `s0` indexed rows, which the callers' counts rule out (an
                // offset past the total is answered before): where the tail rows fall
                // among them is not known from here, so walk the index from its start
                // rather than answer a short page.
                s0 = 0;
                continue;
            }
            Some(row) if s0 > 0 => {
                let first = index_key(row)?;
                let c = tail.partition_point(|r| r.key() < first);
                (s0 + c as u64, c)
            }
            _ => (0, 0),
        };
        let take = usize::try_from(fetch).unwrap_or(0);
        let mut rowids = Vec::with_capacity(take);
        while rowids.len() < take {
            let rowid = match (tail.get(t), indexed) {
                (None, None) => break,
                (Some(r), Some(row)) if r.key() > index_key(row)? => {
                    let rowid = row.get(0).map_err(store_error)?;
                    indexed = rows.next().map_err(store_error)?;
                    rowid
                }
                (Some(r), _) => {
                    t += 1;
                    r.rowid
                }
                (None, Some(row)) => {
                    let rowid = row.get(0).map_err(store_error)?;
                    indexed = rows.next().map_err(store_error)?;
                    rowid
                }
            };
            if position >= offset {
                rowids.push(rowid);
            }
            position += 1;
        }
        break rowids;
    };
    rows_by_rowid(conn, rowids)
}

/// The rows of `rowids`, in that order, each read by its rowid (a rowid no longer in the
/// table is skipped).
fn rows_by_rowid(
    conn: &Connection,
    rowids: impl IntoIterator<Item = i64>,
) -> Result<Vec<Message>, StoreError> {
    let mut by_rowid = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM messages WHERE rowid = ?1"))
        .map_err(store_error)?;
    let rowids = rowids.into_iter();
    let mut page = Vec::with_capacity(rowids.size_hint().0);
    for rowid in rowids {
        let mut rows = by_rowid.query([rowid]).map_err(store_error)?;
        if let Some(row) = rows.next().map_err(store_error)? {
            page.push(message_from_row(row)?);
        }
    }
    Ok(page)
}

/// `(ts_key, message_id)` of a row of [`index_keys_sql`], borrowed from SQLite's buffers.
fn index_key<'r>(row: &'r Row<'_>) -> Result<(&'r str, &'r str), StoreError> {
    let text = |i: usize| {
        row.get_ref(i)
            .map_err(store_error)?
            .as_str()
            .map_err(StoreError::internal)
    };
    Ok((text(1)?, text(2)?))
}

/// Adds the cursor's condition on the list key of table prefix `at` (ending with `.`) and
/// the `LIMIT`/`OFFSET` parameters; returns those two parameters' numbers.
fn window(
    at: &str,
    cursor: Option<&Cursor>,
    limit: i64,
    offset: u64,
    conds: &mut Vec<String>,
    args: &mut Vec<Value>,
) -> (usize, usize) {
    if let Some(cursor) = cursor {
        args.push(Value::Text(cursor.ts_key().to_owned()));
        args.push(Value::Text(cursor.message_id().as_str().to_owned()));
        conds.push(format!(
            "({at}ts_key, {at}message_id) > (?{}, ?{})",
            args.len() - 1,
            args.len()
        ));
    }
    args.push(Value::Integer(limit));
    let limit_arg = args.len();
    args.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    (limit_arg, args.len())
}

/// The SQL and arguments of `(rowid, ts_key, message_id)` of up to `limit` indexed rows
/// matching `shape` after `cursor`, in list order, skipping `offset`.
fn index_keys_sql(
    shape: &Shape<'_>,
    cursor: Option<&Cursor>,
    limit: i64,
    offset: u64,
) -> (String, Vec<Value>) {
    let mut conds = vec!["1".to_owned()];
    let mut args = Vec::new();
    shape.conditions_on("x.", "m.", &mut conds, &mut args);
    let (limit_arg, offset_arg) = window("x.", cursor, limit, offset, &mut conds, &mut args);
    let join = if shape.q.is_some() {
        "CROSS JOIN messages AS m ON m.rowid = x.rid"
    } else {
        ""
    };
    let sql = format!(
        "SELECT x.rid, x.ts_key, x.message_id FROM {index} AS x {join}
         WHERE {conds} ORDER BY x.ts_key, x.message_id LIMIT ?{limit_arg} OFFSET ?{offset_arg}",
        index = shape.index(),
        conds = conds.join(" AND "),
    );
    (sql, args)
}

/// Rebuilds a [`Message`] from [`COLUMNS`]; a row that does not parse is a corrupt row.
///
/// The columns are borrowed from SQLite's buffers (`get_ref`), so each field is copied
/// once, by its `parse`.
fn message_from_row(row: &Row<'_>) -> Result<Message, StoreError> {
    let text_at = |i: usize| -> Result<Option<&str>, StoreError> {
        let value = row.get_ref(i).map_err(store_error)?;
        match value {
            ValueRef::Null => Ok(None),
            other => other.as_str().map(Some).map_err(StoreError::internal),
        }
    };
    let id = text_at(0)?.unwrap_or_default();
    let corrupt = |field| {
        StoreError::internal(CorruptRow {
            message_id: id.to_owned(),
            field,
        })
    };
    let required = |i: usize, field| text_at(i)?.ok_or_else(|| corrupt(field));
    let message_id = MessageId::parse(id).map_err(|_| corrupt("message_id"))?;
    let from = Msisdn::parse(required(1, "from_msisdn")?).map_err(|_| corrupt("from_msisdn"))?;
    let to = Msisdn::parse(required(2, "to_msisdn")?).map_err(|_| corrupt("to_msisdn"))?;
    let ts = Timestamp::parse(required(3, "ts")?).map_err(|_| corrupt("ts"))?;
    let text = text_at(4)?
        .map(Text::parse)
        .transpose()
        .map_err(|_| corrupt("text"))?;
    Ok(Message::new(message_id, from, to, ts, text))
}

/// The statistics, from the kept tables only. `conn` must be inside a read transaction.
pub(crate) fn stats(conn: &Connection) -> rusqlite::Result<Stats> {
    let (StoredCount(total), StoredCount(senders), first, last) = conn
        .prepare_cached(
            "SELECT messages, senders, first_ts, last_ts FROM hookline_totals WHERE id = 1",
        )?
        .query_row([], |r| {
            Ok((
                r.get::<_, StoredCount>(0)?,
                r.get::<_, StoredCount>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?;
    let mut top = conn.prepare_cached(
        "SELECT from_msisdn, messages FROM hookline_senders INDEXED BY hookline_senders_by_count
         ORDER BY messages DESC, from_msisdn LIMIT ?1",
    )?;
    let limit = i64::try_from(TOP_SENDERS).unwrap_or(10);
    let messages_per_sender = top
        .query_map([limit], |r| {
            Ok(SenderCount {
                from: r.get(0)?,
                count: r.get::<_, StoredCount>(1)?.0,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Stats {
        total_messages: total,
        senders_count: senders,
        messages_per_sender,
        first_message_ts: first,
        last_message_ts: last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::totals::tests::call_tomorrow;

    #[test]
    fn a_candidates_page_holds_only_rows_with_the_needle_in_list_order() {
        let (conn, search) = call_tomorrow();
        let shape = Shape {
            from: None,
            since: None,
            q: Some("call tomorrow"),
        };
        let ids = |rows: Vec<Message>| {
            rows.iter()
                .map(|m| m.message_id().as_str().to_owned())
                .collect::<Vec<_>>()
        };
        // Keys `k000` (id000), `k014` (id002), `k028` (id004, above the watermark).
        let tail = Tail::default();
        let view = TailView::none(&tail);
        let all = page(&conn, &view, &shape, Some(&search), None, 10, 0).unwrap();
        assert_eq!(ids(all), ["id000", "id002", "id004"]);
        let skipped = page(&conn, &view, &shape, Some(&search), None, 10, 1).unwrap();
        assert_eq!(ids(skipped), ["id002", "id004"]);
        let since = Shape {
            since: Some("k010"),
            ..shape
        };
        let later = page(&conn, &view, &since, Some(&search), None, 10, 0).unwrap();
        assert_eq!(ids(later), ["id002", "id004"]);
    }
}
