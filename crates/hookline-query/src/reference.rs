//! The reference semantics: the exact answer to every query over a plain slice of messages.
//! The oracle every storage backend is tested against — obviously correct, not fast.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use hookline_domain::Message;

use crate::{
    Cursor, Filter, ListQuery, Page, PageStart, SenderCount, Stats, TOP_SENDERS, fold_case,
};

/// The list order: `ts` instant ascending, then `message_id` ascending.
pub fn order(a: &Message, b: &Message) -> Ordering {
    a.ts()
        .instant()
        .cmp(&b.ts().instant())
        .then_with(|| a.message_id().cmp(b.message_id()))
}

/// Whether `message` passes every filter: exact `from`; `ts` at or after `since` as instants;
/// the folded `text` contains the folded `q` (a message without text never matches a
/// non-empty `q`; an empty `q` restricts nothing).
pub fn matches(filter: &Filter, message: &Message) -> bool {
    let from_ok = filter
        .from
        .as_deref()
        .is_none_or(|from| message.from().as_str() == from);
    let since_ok = filter
        .since
        .is_none_or(|since| message.ts().instant() >= since);
    let q_ok = filter.q_folded().is_none_or(|q| {
        message
            .text()
            .is_some_and(|text| fold_case(text.as_str()).contains(&q))
    });
    from_ok && since_ok && q_ok
}

/// Whether `message` comes strictly after the position `cursor` names.
pub fn is_after(cursor: &Cursor, message: &Message) -> bool {
    let key = message.ts().instant().sort_key();
    (key.as_str(), message.message_id()) > (cursor.ts_key(), cursor.message_id())
}

/// The page `query` selects from `messages` (whose `message_id`s are distinct).
///
/// The filtered rows in [`order`]; an offset page skips `offset` of them, a cursor page starts
/// strictly after the cursor's position; then `limit` rows. `next_cursor` names the last row
/// of the page when another filtered row follows it.
pub fn list(messages: &[Message], query: &ListQuery) -> Page<Message> {
    let mut filtered: Vec<&Message> = messages
        .iter()
        .filter(|m| matches(query.filter(), m))
        .collect();
    filtered.sort_by(|a, b| order(a, b));
    let total = filtered.len();

    let rest: Vec<&Message> = match query.start() {
        PageStart::Offset(o) => {
            let skip = usize::try_from(*o).unwrap_or(usize::MAX);
            filtered.iter().skip(skip).copied().collect()
        }
        PageStart::After(cursor) => filtered
            .iter()
            .filter(|m| is_after(cursor, m))
            .copied()
            .collect(),
    };
    let limit = usize::try_from(query.limit()).unwrap_or(usize::MAX);
    let data: Vec<Message> = rest.iter().take(limit).map(|m| (*m).clone()).collect();
    let next_cursor = match data.last() {
        Some(last) if rest.len() > data.len() => Some(Cursor::after(last).encode()),
        _ => None,
    };
    Page {
        data,
        total: total as u64,
        limit: query.limit(),
        offset: query.offset(),
        next_cursor,
    }
}

/// The statistics of `messages` (whose `message_id`s are distinct).
pub fn stats(messages: &[Message]) -> Stats {
    let mut per_sender: BTreeMap<&str, u64> = BTreeMap::new();
    for m in messages {
        *per_sender.entry(m.from().as_str()).or_default() += 1;
    }
    let mut counts: Vec<SenderCount> = per_sender
        .iter()
        .map(|(from, count)| SenderCount {
            from: (*from).to_owned(),
            count: *count,
        })
        .collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.from.cmp(&b.from)));
    counts.truncate(TOP_SENDERS);

    // `Timestamp` orders by instant, then by text.
    let first = messages.iter().map(Message::ts).min();
    let last = messages.iter().map(Message::ts).max();
    Stats {
        total_messages: messages.len() as u64,
        senders_count: per_sender.len() as u64,
        messages_per_sender: counts,
        first_message_ts: first.map(|ts| ts.as_str().to_owned()),
        last_message_ts: last.map(|ts| ts.as_str().to_owned()),
    }
}
