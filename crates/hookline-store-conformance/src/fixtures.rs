//! Building messages and reading a store back, for the checks.

use hookline_domain::{Message, MessageId, Msisdn, Text, Timestamp};
use hookline_query::{Filter, ListQuery, MAX_LIMIT, PageStart};

use hookline_store::StoreError;

use crate::Subject;

/// A message from known-valid parts (to is `+14155550100`). Panics on an invalid part: it is
/// for tests.
pub fn message(id: &str, from: &str, ts: &str, text: Option<&str>) -> Message {
    Message::new(
        MessageId::parse(id).unwrap_or_else(|_| part("message_id", id)),
        Msisdn::parse(from).unwrap_or_else(|_| part("from", from)),
        Msisdn::parse("+14155550100").unwrap_or_else(|_| part("to", "+14155550100")),
        Timestamp::parse(ts).unwrap_or_else(|_| part("ts", ts)),
        text.map(|t| Text::parse(t).unwrap_or_else(|_| part("text", t))),
    )
}

fn part<T>(what: &str, value: &str) -> T {
    panic!("fixture {what} {value:?} is invalid")
}

/// The value of a store call, or a panic naming the call.
pub fn stored<T>(result: Result<T, StoreError>, call: &str) -> T {
    result.unwrap_or_else(|e| panic!("store.{call} failed: {e} ({e:?})"))
}

/// A valid query. Panics when `limit` or the offset is out of range.
pub(crate) fn query(filter: Filter, limit: u32, start: PageStart) -> ListQuery {
    ListQuery::new(filter, limit, start).unwrap_or_else(|e| panic!("fixture query: {e}"))
}

/// Every row matching `filter`, read by an offset walk with the largest page.
pub fn all_rows(store: &Subject, filter: &Filter) -> Vec<Message> {
    let mut rows = Vec::new();
    loop {
        let q = query(
            filter.clone(),
            MAX_LIMIT,
            PageStart::Offset(rows.len() as u64),
        );
        let page = stored(store.list(&q), "list");
        let done = page.data.len() < MAX_LIMIT as usize;
        rows.extend(page.data);
        if done {
            return rows;
        }
    }
}

/// The `message_id`s of `rows`, in order.
pub(crate) fn ids(rows: &[Message]) -> Vec<&str> {
    rows.iter().map(|m| m.message_id().as_str()).collect()
}
