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
use crate::counts::{CountCache, CountKey, Counted};
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

/// Answers a list query in one statement, so one round trip and one snapshot: the total
/// (kept per sender, or counted — from a kept count when there is one, see `counts.rs`)
/// and the page, skipped when the offset is past the total.
pub(crate) async fn list(
    client: &Client,
    counts: &CountCache,
    query: &ListQuery,
) -> Result<Page<Message>, StoreError> {
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
        // The LIKE on the encoded text can use the trigram index; rows whose folded text
        // needed escaping are checked exactly on their bytes (see codec.rs).
        conditions.push(
            "text_folded LIKE {} AND (text_folded_bytes IS NULL OR position({} IN text_folded_bytes) > 0)",
            vec![
                param(contains_pattern(&encode(q))),
                param(q.clone().into_bytes()),
            ],
        );
    }
    let filter_sql = conditions.where_clause();

    // The total's part: `h` (the snapshot's xmin when counted, else 0), `settled` (matching
    // rows below `h`) and `seen` (matching rows counted), plus `base` added in Rust. Only
    // `from` alone is read from the per-sender counts; everything else is a kept count.
    let key = (filter.from.is_none() || since.is_some() || needle.is_some()).then(|| CountKey {
        senders: false,
        needle: needle.clone(),
        from: filter.from.clone(),
        since: since.clone(),
    });
    let kept = key.as_ref().and_then(|key| counts.get(key));
    let count_sql = if key.is_some() {
        kept_count_sql("messages", &filter_sql, kept, &mut conditions)
    } else {
        "SELECT 0::bigint AS h, 0::bigint AS settled, coalesce((SELECT \
         messages FROM hookline_senders WHERE from_msisdn = $1), 0)::bigint AS seen"
            .to_owned()
    };
    let base = kept.map_or(0, |k| k.rows);

    let mut page_sql = filter_sql;
    let cursor = match query.start() {
        PageStart::After(cursor) => Some(cursor),
        PageStart::Offset(_) => None,
    };
    if let Some(cursor) = cursor {
        let ts = conditions.add(param(cursor.ts_key().to_owned()));
        let id = conditions.add(param(encode(cursor.message_id().as_str()).into_owned()));
        and(
            &mut page_sql,
            format!("(ts_key, message_id) > ({ts}, {id})"),
        );
    }
    let offset = i64::try_from(query.offset()).unwrap_or(i64::MAX);
    let offset_at = conditions.add(param(offset));
    if cursor.is_none() {
        // Nothing to read past the total: a one-time filter, so no index walk at all.
        let base_at = conditions.add(param(i64::try_from(base).unwrap_or(i64::MAX)));
        and(
            &mut page_sql,
            format!("{base_at}::bigint + c.seen > {offset_at}::bigint"),
        );
    }
    let limit_at = conditions.add(param(i64::from(query.limit()) + 1));
    let sql = format!(
        "WITH c AS ({count_sql}) \
         SELECT c.h, c.settled, c.seen, p.message_id, p.from_msisdn, p.to_msisdn, p.ts, p.text \
         FROM c LEFT JOIN LATERAL (\
           SELECT message_id, from_msisdn, to_msisdn, ts, text, ts_key FROM messages{page_sql} \
           ORDER BY ts_key, message_id LIMIT {limit_at} OFFSET {offset_at}\
         ) p ON true ORDER BY p.ts_key, p.message_id"
    );
    let statement = client.prepare_cached(&sql).await.map_err(store_error)?;
    let rows = client
        .query(&statement, &conditions.refs())
        .await
        .map_err(store_error)?;
    let Some(first) = rows.first() else {
        return Err(StoreError::internal(CorruptRow {
            message_id: String::new(),
            field: "total",
        }));
    };
    let (h, settled, seen): (i64, i64, i64) = (first.get(0), first.get(1), first.get(2));
    let total = base + seen.max(0).unsigned_abs();
    if let Some(key) = key {
        keep(counts, key, kept, h, settled);
    }
    let mut data = Vec::with_capacity(rows.len());
    for row in &rows {
        if row
            .try_get::<_, Option<String>>(3)
            .map_err(store_error)?
            .is_some()
        {
            data.push(message_from_row(row, 3)?);
        }
    }
    let limit = usize::try_from(query.limit()).unwrap_or(usize::MAX);
    let next_cursor = if data.len() > limit {
        data.truncate(limit);
        data.last().map(|m| Cursor::after(m).encode())
    } else {
        None
    };
    Ok(Page {
        data,
        total,
        limit: query.limit(),
        offset: query.offset(),
        next_cursor,
    })
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
