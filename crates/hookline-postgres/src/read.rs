//! The read side: every list shape and the statistics, each in one `REPEATABLE READ`,
//! read-only transaction, so `total` and `data` come from one snapshot.

use deadpool_postgres::Transaction;
use hookline_domain::{Message, MessageId, Msisdn, Text, Timestamp};
use hookline_query::Cursor;
use hookline_query::{ListQuery, Page, PageStart, SenderCount, Stats, TOP_SENDERS};
use hookline_store::StoreError;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::codec::{contains_pattern, decode, encode};
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

/// Answers a list query inside `tx`.
pub(crate) async fn list(
    tx: &Transaction<'_>,
    query: &ListQuery,
) -> Result<Page<Message>, StoreError> {
    let filter = query.filter();
    let mut conditions = Conditions::default();
    if let Some(from) = &filter.from {
        conditions.push("from_msisdn = {}", vec![param(from.clone())]);
    }
    if let Some(since) = filter.since {
        conditions.push("ts_key >= {}", vec![param(since.sort_key())]);
    }
    if let Some(q) = filter.q_folded() {
        // The LIKE on the encoded text can use the trigram index; rows whose folded text
        // needed escaping are checked exactly on their bytes (see codec.rs).
        conditions.push(
            "text_folded LIKE {} AND (text_folded_bytes IS NULL OR position({} IN text_folded_bytes) > 0)",
            vec![
                param(contains_pattern(&encode(&q))),
                param(q.into_bytes()),
            ],
        );
    }
    let total = count(tx, filter.from.as_deref(), &conditions).await?;

    let offset = query.offset();
    let cursor = match query.start() {
        PageStart::After(cursor) => Some(cursor),
        PageStart::Offset(_) => None,
    };
    let mut rows = if cursor.is_none() && offset >= total {
        Vec::new()
    } else {
        if let Some(cursor) = cursor {
            conditions.push(
                "(ts_key, message_id) > ({}, {})",
                vec![
                    param(cursor.ts_key().to_owned()),
                    param(encode(cursor.message_id().as_str()).into_owned()),
                ],
            );
        }
        let limit = i64::from(query.limit()) + 1;
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let mut sql = format!(
            "SELECT message_id, from_msisdn, to_msisdn, ts, text FROM messages{} ORDER BY ts_key, message_id",
            conditions.where_clause()
        );
        conditions.params.push(param(limit));
        sql.push_str(&format!(" LIMIT ${}", conditions.params.len()));
        if offset > 0 {
            conditions.params.push(param(offset));
            sql.push_str(&format!(" OFFSET ${}", conditions.params.len()));
        }
        let statement = tx.prepare_cached(&sql).await.map_err(store_error)?;
        tx.query(&statement, &conditions.refs())
            .await
            .map_err(store_error)?
            .iter()
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?
    };
    let limit = usize::try_from(query.limit()).unwrap_or(usize::MAX);
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|m| Cursor::after(m).encode())
    } else {
        None
    };
    Ok(Page {
        data: rows,
        total,
        limit: query.limit(),
        offset: query.offset(),
        next_cursor,
    })
}

/// How many rows match: from the per-sender counts when there is no filter or only
/// `from`, otherwise counted.
async fn count(
    tx: &Transaction<'_>,
    from: Option<&str>,
    conditions: &Conditions,
) -> Result<u64, StoreError> {
    let kept = match (from, conditions.sql.len()) {
        (None, 0) => Some("SELECT coalesce(sum(messages), 0)::bigint FROM hookline_senders"),
        (Some(_), 1) => Some(
            "SELECT coalesce((SELECT messages FROM hookline_senders WHERE from_msisdn = $1), 0)",
        ),
        _ => None,
    };
    let sql = kept.map_or_else(
        || format!("SELECT count(*) FROM messages{}", conditions.where_clause()),
        str::to_owned,
    );
    let statement = tx.prepare_cached(&sql).await.map_err(store_error)?;
    let n: i64 = tx
        .query_one(&statement, &conditions.refs())
        .await
        .map_err(store_error)?
        .get(0);
    Ok(n.max(0).unsigned_abs())
}

/// A stored row as a [`Message`]; a row that does not decode is `Internal`.
fn message_from_row(row: &Row) -> Result<Message, StoreError> {
    let text_at = |i: usize| -> Result<Option<String>, StoreError> {
        row.try_get::<_, Option<String>>(i).map_err(store_error)
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

/// The statistics inside `tx`: totals as sums over the per-sender counts, the top senders
/// from their index, first and last `ts` from the `ts_key` index.
pub(crate) async fn stats(tx: &Transaction<'_>) -> Result<Stats, StoreError> {
    let totals = tx
        .query_one(
            "SELECT coalesce(sum(messages), 0)::bigint, count(*) FROM hookline_senders",
            &[],
        )
        .await
        .map_err(store_error)?;
    let (total, senders): (i64, i64) = (totals.get(0), totals.get(1));
    let top = tx
        .query(
            "SELECT from_msisdn, messages FROM hookline_senders
             ORDER BY messages DESC, from_msisdn LIMIT $1",
            &[&(TOP_SENDERS as i64)],
        )
        .await
        .map_err(store_error)?
        .iter()
        .map(|row| SenderCount {
            from: row.get(0),
            count: row.get::<_, i64>(1).max(0).unsigned_abs(),
        })
        .collect();
    let edge = |order: &'static str| async move {
        tx.query_opt(
            &format!("SELECT ts FROM messages ORDER BY {order} LIMIT 1"),
            &[],
        )
        .await
        .map_err(store_error)
        .map(|row| row.map(|r| r.get::<_, String>(0)))
    };
    let first = edge("ts_key, ts").await?;
    let last = edge("ts_key DESC, ts DESC").await?;
    Ok(Stats {
        total_messages: total.max(0).unsigned_abs(),
        senders_count: senders.max(0).unsigned_abs(),
        messages_per_sender: top,
        first_message_ts: first,
        last_message_ts: last,
    })
}
