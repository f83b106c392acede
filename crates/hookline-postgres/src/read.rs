//! The read side: every list shape and the statistics, each as one statement (prepared
//! once per connection): one round trip, and one snapshot, so `total` and `data` agree.

use deadpool_postgres::Client;
use hookline_domain::{Message, MessageId, Msisdn, Text, Timestamp};
use hookline_query::Cursor;
use hookline_query::{ListQuery, Page, PageStart, SenderCount, Stats, TOP_SENDERS};
use hookline_store::StoreError;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::codec::{contains_pattern, decode, encode};
use crate::counts::{Anchor, CountCache, CountKey, Counted};
use crate::error::{CorruptRow, store_error};

/// One query parameter.
type Param = Box<dyn ToSql + Sync + Send>;

fn param(value: impl ToSql + Sync + Send + 'static) -> Param {
    Box::new(value)
}

/// `WHERE` conditions with their parameters, numbered as they are pushed.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    params: Vec<Param>,
}

impl Conditions {
    /// Adds `template` with each `{}` replaced by the next parameter number.
    fn push(&mut self, template: &str, params: Vec<Param>) {
        let mut sql = String::with_capacity(template.len() + 4);
        let mut parts = template.split("{}");
        if let Some(first) = parts.next() {
            sql.push_str(first);
        }
        for (param, part) in params.into_iter().zip(parts) {
            self.params.push(param);
            sql.push_str(&format!("${}", self.params.len()));
            sql.push_str(part);
        }
        self.sql.push(sql);
    }

    /// Adds one parameter; returns its placeholder (`$n`).
    fn add(&mut self, value: Param) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    fn where_clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.sql.join(" AND "))
        }
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// The snapshot's `xmin` as a `bigint`: every transaction below it had finished.
const SNAPSHOT_XMIN: &str = "(SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint)";

/// Offsets from here on start from a kept anchor (see `counts.rs`) instead of walking
/// every row before them.
const ANCHOR_FROM: u64 = 1_000;

/// An anchor is placed this many rows before its offset, so that this many rows written
/// before it later are walked over before it has to be found again.
const ANCHOR_SLACK: u64 = 32;

/// The parts of a list statement every shape shares.
struct Shape {
    conditions: Conditions,
    /// ` WHERE …` of the filter, or empty.
    filter_sql: String,
    key: Option<CountKey>,
    kept: Option<Counted>,
    /// The total's statement: `h`, `settled`, `seen` (see [`kept_count_sql`]).
    count_sql: String,
    /// Rows the kept count adds to `seen`.
    base: u64,
}

impl Shape {
    /// The filter's conditions and the total's part: kept per sender for `from` alone,
    /// a kept count otherwise.
    fn new(counts: &CountCache, query: &ListQuery) -> (Self, CountKey) {
        let filter = query.filter();
        let mut conditions = Conditions::default();
        if let Some(from) = &filter.from {
            conditions.push("from_msisdn = {}", vec![param(from.clone())]);
        }
        let since = filter.since.map(|since| since.sort_key());
        if let Some(since) = &since {
            conditions.push("ts_key >= {}", vec![param(since.clone())]);
        }
        let needle = filter.q_folded();
        if let Some(q) = &needle {
            // The LIKE on the encoded text can use the trigram index; rows whose folded
            // text needed escaping are checked exactly on their bytes (see codec.rs).
            conditions.push(
                "text_folded LIKE {} AND (text_folded_bytes IS NULL OR position({} IN text_folded_bytes) > 0)",
                vec![
                    param(contains_pattern(&encode(q))),
                    param(q.clone().into_bytes()),
                ],
            );
        }
        let filter_sql = conditions.where_clause();
        let whole = CountKey {
            senders: false,
            needle,
            from: filter.from.clone(),
            since,
        };
        let key = (whole.from.is_none() || whole.since.is_some() || whole.needle.is_some())
            .then(|| whole.clone());
        let kept = key.as_ref().and_then(|key| counts.get(key));
        let count_sql = if key.is_some() {
            kept_count_sql("messages", &filter_sql, kept, &mut conditions)
        } else {
            "SELECT 0::bigint AS h, 0::bigint AS settled, coalesce((SELECT \
             messages FROM hookline_senders WHERE from_msisdn = $1), 0)::bigint AS seen"
                .to_owned()
        };
        let base = kept.map_or(0, |k| k.rows);
        let shape = Self {
            conditions,
            filter_sql,
            key,
            kept,
            count_sql,
            base,
        };
        (shape, whole)
    }

    /// `base + c.seen > offset`: nothing to read past the total.
    fn within_total(&mut self, offset: u64, seen: &str) -> String {
        let base_at = self
            .conditions
            .add(param(i64::try_from(self.base).unwrap_or(i64::MAX)));
        let offset_at = self
            .conditions
            .add(param(i64::try_from(offset).unwrap_or(i64::MAX)));
        format!("{base_at}::bigint + {seen} > {offset_at}::bigint")
    }

    /// The total from a statement's first row (`h`, `settled`, `seen` at 0, 1, 2), the
    /// kept count brought forward.
    fn total(self, counts: &CountCache, first: &Row) -> Result<u64, StoreError> {
        let n = |i: usize| first.try_get::<_, i64>(i).map_err(store_error);
        let (h, settled, seen) = (n(0)?, n(1)?, n(2)?);
        if let Some(key) = self.key {
            keep(counts, key, self.kept, h, settled);
        }
        Ok(self.base + seen.max(0).unsigned_abs())
    }
}

/// The columns of a page row, and its `ts_key` last.
const PAGE_COLUMNS: &str = "message_id, from_msisdn, to_msisdn, ts, text, ts_key";

/// Answers a list query in one statement, so one round trip and one snapshot: the total
/// (kept per sender, or a kept count, see `counts.rs`) and the page, skipped when the
/// offset is past the total. A deep offset starts from a kept anchor.
pub(crate) async fn list(
    client: &Client,
    counts: &CountCache,
    query: &ListQuery,
) -> Result<Page<Message>, StoreError> {
    let cursor = match query.start() {
        PageStart::After(cursor) => Some(cursor),
        PageStart::Offset(_) => None,
    };
    let offset = query.offset();
    if cursor.is_none() && offset >= ANCHOR_FROM {
        let (shape, whole) = Shape::new(counts, query);
        if let Some(anchor) = counts.anchor(&whole, offset) {
            if let Some(page) = from_anchor(client, counts, query, shape, &whole, anchor).await? {
                return Ok(page);
            }
            // Too many rows were written before the anchor: find it again.
            let (shape, whole) = Shape::new(counts, query);
            return find_anchor(client, counts, query, shape, whole).await;
        }
        return find_anchor(client, counts, query, shape, whole).await;
    }
    let (mut shape, _) = Shape::new(counts, query);
    let mut page_sql = shape.filter_sql.clone();
    if let Some(cursor) = cursor {
        let ts = shape.conditions.add(param(cursor.ts_key().to_owned()));
        let id = shape
            .conditions
            .add(param(encode(cursor.message_id().as_str()).into_owned()));
        and(
            &mut page_sql,
            format!("(ts_key, message_id) > ({ts}, {id})"),
        );
    } else {
        // A one-time filter: no index walk at all past the total.
        let within = shape.within_total(offset, "c.seen");
        and(&mut page_sql, within);
    }
    let limit_at = shape.conditions.add(param(i64::from(query.limit()) + 1));
    let offset_at = shape
        .conditions
        .add(param(i64::try_from(offset).unwrap_or(i64::MAX)));
    let sql = format!(
        "WITH c AS ({count}) \
         SELECT c.h, c.settled, c.seen, p.* \
         FROM c LEFT JOIN LATERAL (\
           SELECT {PAGE_COLUMNS} FROM messages{page_sql} \
           ORDER BY ts_key, message_id LIMIT {limit_at} OFFSET {offset_at}\
         ) p ON true ORDER BY p.ts_key, p.message_id",
        count = shape.count_sql
    );
    let rows = run(client, &sql, &shape.conditions).await?;
    let first = first_row(&rows)?;
    let data = messages(&rows, 3, 0)?;
    let total = shape.total(counts, first)?;
    Ok(page(query, total, data))
}

/// Runs `sql`, prepared once per connection.
async fn run(client: &Client, sql: &str, conditions: &Conditions) -> Result<Vec<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(store_error)?;
    client
        .query(&statement, &conditions.refs())
        .await
        .map_err(store_error)
}

/// The first row of a read that always returns one.
fn first_row(rows: &[Row]) -> Result<&Row, StoreError> {
    rows.first().ok_or_else(|| {
        StoreError::internal(CorruptRow {
            message_id: String::new(),
            field: "total",
        })
    })
}

/// The messages of `rows` whose page columns start at `at` (rows without one — the
/// left join's empty page — are skipped), the first `skip` of them left out.
fn messages(rows: &[Row], at: usize, skip: usize) -> Result<Vec<Message>, StoreError> {
    let mut data = Vec::with_capacity(rows.len());
    for row in rows {
        if row
            .try_get::<_, Option<String>>(at)
            .map_err(store_error)?
            .is_some()
        {
            data.push(message_from_row(row, at)?);
        }
    }
    Ok(data.into_iter().skip(skip).collect())
}

/// The page: `data` holds up to `limit + 1` rows, the last only telling that more follow.
fn page(query: &ListQuery, total: u64, mut data: Vec<Message>) -> Page<Message> {
    let limit = usize::try_from(query.limit()).unwrap_or(usize::MAX);
    let next_cursor = if data.len() > limit {
        data.truncate(limit);
        data.last().map(|m| Cursor::after(m).encode())
    } else {
        None
    };
    Page {
        data,
        total,
        limit: query.limit(),
        offset: query.offset(),
        next_cursor,
    }
}

/// A deep offset without an anchor: the page read from `offset - slack` (the index walk
/// a plain `OFFSET` does), its first row kept as the anchor, with how many visible rows
/// before it were written at or above the snapshot's xmin (those are not settled yet).
async fn find_anchor(
    client: &Client,
    counts: &CountCache,
    query: &ListQuery,
    mut shape: Shape,
    whole: CountKey,
) -> Result<Page<Message>, StoreError> {
    let offset = query.offset();
    let slack = ANCHOR_SLACK.min(offset);
    let mut page_sql = shape.filter_sql.clone();
    let within = shape.within_total(offset, "(SELECT seen FROM c)");
    and(&mut page_sql, within);
    let limit_at = shape.conditions.add(param(
        i64::from(query.limit()) + 1 + i64::try_from(slack).unwrap_or(0),
    ));
    let offset_at = shape
        .conditions
        .add(param(i64::try_from(offset - slack).unwrap_or(i64::MAX)));
    let mut newer_sql = shape.filter_sql.clone();
    let max_at = shape.conditions.add(param(i64::MAX));
    and(
        &mut newer_sql,
        format!(
            "insert_xid >= {SNAPSHOT_XMIN} AND insert_xid <= {max_at}::bigint AND \
             (ts_key, message_id) < (SELECT ts_key, message_id FROM p ORDER BY ts_key, message_id LIMIT 1)"
        ),
    );
    let sql = format!(
        "WITH c AS ({count}), \
         p AS (SELECT {PAGE_COLUMNS} FROM messages{page_sql} \
               ORDER BY ts_key, message_id LIMIT {limit_at} OFFSET {offset_at}), \
         n AS (SELECT {SNAPSHOT_XMIN} AS h, count(*) AS newer FROM messages{newer_sql}) \
         SELECT c.h, c.settled, c.seen, n.h, n.newer, p.* \
         FROM c CROSS JOIN n LEFT JOIN p ON true ORDER BY p.ts_key, p.message_id",
        count = shape.count_sql
    );
    let rows = run(client, &sql, &shape.conditions).await?;
    let first = first_row(&rows)?;
    let n = |i: usize| first.try_get::<_, i64>(i).map_err(store_error);
    let (h, newer) = (n(3)?, n(4)?);
    let raw_id: Option<String> = first.try_get(5).map_err(store_error)?;
    if let Some(message_id) = raw_id {
        let ts_key: String = first.try_get(10).map_err(store_error)?;
        counts.keep_anchor(
            whole,
            offset,
            Anchor {
                ts_key,
                message_id,
                before: (offset - slack).saturating_sub(newer.max(0).unsigned_abs()),
                upto: h,
            },
        );
    }
    let data = messages(&rows, 5, usize::try_from(slack).unwrap_or(usize::MAX))?;
    let total = shape.total(counts, first)?;
    Ok(page(query, total, data))
}

/// A deep offset from its kept anchor: the anchor's position now is `before` plus the
/// visible rows at or above `upto` that sort before it; the page is the walk from the
/// anchor over the rest. `None` when more rows were written before the anchor than its
/// slack (the anchor is then past the offset; the walk's `OFFSET`, evaluated even when
/// the page is not read, is kept at 0 or more).
async fn from_anchor(
    client: &Client,
    counts: &CountCache,
    query: &ListQuery,
    mut shape: Shape,
    whole: &CountKey,
    anchor: Anchor,
) -> Result<Option<Page<Message>>, StoreError> {
    let offset = query.offset();
    let ts_at = shape.conditions.add(param(anchor.ts_key.clone()));
    let id_at = shape.conditions.add(param(anchor.message_id.clone()));
    let before_at = shape
        .conditions
        .add(param(i64::try_from(anchor.before).unwrap_or(i64::MAX)));
    let upto_at = shape.conditions.add(param(anchor.upto));
    let max_at = shape.conditions.add(param(i64::MAX));
    let offset_at = shape
        .conditions
        .add(param(i64::try_from(offset).unwrap_or(i64::MAX)));
    let mut newer_sql = shape.filter_sql.clone();
    and(
        &mut newer_sql,
        format!(
            "insert_xid >= {upto_at}::bigint AND insert_xid <= {max_at}::bigint \
             AND (ts_key, message_id) < ({ts_at}, {id_at})"
        ),
    );
    let mut page_sql = shape.filter_sql.clone();
    let within = shape.within_total(offset, "(SELECT seen FROM c)");
    and(&mut page_sql, within);
    and(
        &mut page_sql,
        format!(
            "(ts_key, message_id) >= ({ts_at}, {id_at}) \
             AND {before_at}::bigint + (SELECT newer FROM n) <= {offset_at}::bigint"
        ),
    );
    let limit_at = shape.conditions.add(param(i64::from(query.limit()) + 1));
    let sql = format!(
        "WITH c AS ({count}), \
         n AS (SELECT {SNAPSHOT_XMIN} AS h, count(*) FILTER (WHERE insert_xid < {SNAPSHOT_XMIN}) \
               AS settled, count(*) AS newer FROM messages{newer_sql}), \
         p AS (SELECT {PAGE_COLUMNS} FROM messages{page_sql} ORDER BY ts_key, message_id \
               LIMIT {limit_at} \
               OFFSET greatest(0, {offset_at}::bigint - {before_at}::bigint - (SELECT newer FROM n))) \
         SELECT c.h, c.settled, c.seen, n.h, n.settled, n.newer, p.* \
         FROM c CROSS JOIN n LEFT JOIN p ON true ORDER BY p.ts_key, p.message_id",
        count = shape.count_sql
    );
    let rows = run(client, &sql, &shape.conditions).await?;
    let first = first_row(&rows)?;
    let n = |i: usize| first.try_get::<_, i64>(i).map_err(store_error);
    let (h, settled, newer) = (n(3)?, n(4)?, n(5)?);
    let at = anchor.before + newer.max(0).unsigned_abs();
    if at > offset {
        return Ok(None);
    }
    if h >= anchor.upto {
        counts.keep_anchor(
            whole.clone(),
            offset,
            Anchor {
                before: anchor.before + settled.max(0).unsigned_abs(),
                upto: h,
                ..anchor
            },
        );
    }
    let data = messages(&rows, 6, 0)?;
    let total = shape.total(counts, first)?;
    Ok(Some(page(query, total, data)))
}

/// The statement counting the rows of `table` (`messages`, or `hookline_senders` by the
/// transaction that created each sender) under `filter_sql`: columns `h` (the snapshot's
/// xmin), `settled` (counted rows below it) and `seen` (all counted rows) — all rows, or
/// with a `kept` count only those written at or above its `upto` (see `counts.rs`).
fn kept_count_sql(
    table: &str,
    filter_sql: &str,
    kept: Option<Counted>,
    conditions: &mut Conditions,
) -> String {
    let column = if table == "messages" {
        "insert_xid"
    } else {
        "first_xid"
    };
    let mut sql = format!(
        "SELECT {SNAPSHOT_XMIN} AS h, count(*) FILTER (WHERE {column} < {SNAPSHOT_XMIN}) \
         AS settled, count(*) AS seen FROM {table}{filter_sql}"
    );
    if let Some(kept) = kept {
        // Both bounds are parameters, so even a generic plan estimates a narrow range
        // and walks the index of the column.
        let from = conditions.add(param(kept.upto));
        let to = conditions.add(param(i64::MAX));
        sql.push_str(if filter_sql.is_empty() {
            " WHERE "
        } else {
            " AND "
        });
        sql.push_str(&format!(
            "{column} >= {from}::bigint AND {column} <= {to}::bigint"
        ));
        if table != "messages" {
            // `first_xid` has no index (every insert updates a sender's row, and one
            // more index entry each is not worth it): a sender created at or above
            // `upto` sent a message written at or above it, so look only at those.
            sql.push_str(&format!(
                " AND from_msisdn IN (SELECT from_msisdn FROM messages \
                 WHERE insert_xid >= {from}::bigint AND insert_xid <= {to}::bigint)"
            ));
        }
    }
    sql
}

/// Keeps what a kept-count statement returned (`h`, `settled`) on top of `kept`, unless
/// the snapshot was older than the entry's.
fn keep(counts: &CountCache, key: CountKey, kept: Option<Counted>, h: i64, settled: i64) {
    if kept.is_none_or(|k| h >= k.upto) {
        counts.keep(
            key,
            Counted {
                rows: kept.map_or(0, |k| k.rows) + settled.max(0).unsigned_abs(),
                upto: h,
            },
        );
    }
}

/// Appends `condition` to a `WHERE` clause (starting it if empty).
fn and(sql: &mut String, condition: String) {
    sql.push_str(if sql.is_empty() { " WHERE " } else { " AND " });
    sql.push_str(&condition);
}

/// A stored row (its columns from `first` on) as a [`Message`]; a row that does not decode is `Internal`.
fn message_from_row(row: &Row, first: usize) -> Result<Message, StoreError> {
    let text_at = |i: usize| -> Result<Option<String>, StoreError> {
        row.try_get::<_, Option<String>>(first + i)
            .map_err(store_error)
    };
    let raw_id = text_at(0)?.unwrap_or_default();
    let corrupt = |field| {
        StoreError::internal(CorruptRow {
            message_id: raw_id.clone(),
            field,
        })
    };
    let id = decode(&raw_id).ok_or_else(|| corrupt("message_id"))?;
    let message_id = MessageId::parse(&id).map_err(|_| corrupt("message_id"))?;
    let required = |i: usize, field| text_at(i)?.ok_or_else(|| corrupt(field));
    let from = Msisdn::parse(&required(1, "from_msisdn")?).map_err(|_| corrupt("from_msisdn"))?;
    let to = Msisdn::parse(&required(2, "to_msisdn")?).map_err(|_| corrupt("to_msisdn"))?;
    let ts = Timestamp::parse(&required(3, "ts")?).map_err(|_| corrupt("ts"))?;
    let text = match text_at(4)? {
        None => None,
        Some(raw) => {
            let text = decode(&raw).ok_or_else(|| corrupt("text"))?;
            Some(Text::parse(&text).map_err(|_| corrupt("text"))?)
        }
    };
    Ok(Message::new(message_id, from, to, ts, text))
}

/// The statistics in one statement (one round trip, one snapshot): the total and the
/// sender count as kept counts (rows of `messages`, rows of `hookline_senders`; a sum
/// over the per-sender rows would read every page of that much-updated table), the top
/// senders from their index, first and last `ts` from the ends of the `ts_key` index. One
/// row per top sender (at least one row).
pub(crate) async fn stats(client: &Client, counts: &CountCache) -> Result<Stats, StoreError> {
    let all = CountKey {
        senders: false,
        needle: None,
        from: None,
        since: None,
    };
    let senders = CountKey {
        senders: true,
        ..all.clone()
    };
    let (kept_all, kept_senders) = (counts.get(&all), counts.get(&senders));
    let mut conditions = Conditions::default();
    let top_at = conditions.add(param(TOP_SENDERS as i64));
    let count_all = kept_count_sql("messages", "", kept_all, &mut conditions);
    let count_senders = kept_count_sql("hookline_senders", "", kept_senders, &mut conditions);
    let sql = format!(
        "WITH m AS ({count_all}), s AS ({count_senders}) \
         SELECT m.h, m.settled, m.seen, s.h, s.settled, s.seen, \
           (SELECT ts FROM messages ORDER BY ts_key, ts LIMIT 1), \
           (SELECT ts FROM messages ORDER BY ts_key DESC, ts DESC LIMIT 1), \
           top.from_msisdn, top.messages \
         FROM m CROSS JOIN s LEFT JOIN LATERAL (\
           SELECT from_msisdn, messages FROM hookline_senders \
           ORDER BY messages DESC, from_msisdn LIMIT {top_at}\
         ) top ON true \
         ORDER BY top.messages DESC, top.from_msisdn"
    );
    let statement = client.prepare_cached(&sql).await.map_err(store_error)?;
    let rows = client
        .query(&statement, &conditions.refs())
        .await
        .map_err(store_error)?;
    let Some(first) = rows.first() else {
        return Err(StoreError::internal(CorruptRow {
            message_id: String::new(),
            field: "stats",
        }));
    };
    let n = |i: usize| first.try_get::<_, i64>(i).map_err(store_error);
    let (h, settled, seen) = (n(0)?, n(1)?, n(2)?);
    let (senders_h, senders_settled, senders_seen) = (n(3)?, n(4)?, n(5)?);
    let count = |n: i64| n.max(0).unsigned_abs();
    let total = kept_all.map_or(0, |k| k.rows) + count(seen);
    let senders_count = kept_senders.map_or(0, |k| k.rows) + count(senders_seen);
    keep(counts, all, kept_all, h, settled);
    keep(counts, senders, kept_senders, senders_h, senders_settled);
    let mut top = Vec::with_capacity(rows.len());
    for row in &rows {
        let from: Option<String> = row.try_get(8).map_err(store_error)?;
        if let Some(from) = from {
            let n: i64 = row.try_get(9).map_err(store_error)?;
            top.push(SenderCount {
                from,
                count: count(n),
            });
        }
    }
    Ok(Stats {
        total_messages: total,
        senders_count,
        messages_per_sender: top,
        first_message_ts: first.try_get(6).map_err(store_error)?,
        last_message_ts: first.try_get(7).map_err(store_error)?,
    })
}
