//! The inline read path (answering on the caller's task) is the store's own business and
//! invisible through [`MessageStore`](hookline_store::MessageStore): these tests call it
//! directly, and check that every answer it gives is the blocking path's and the
//! reference's, and that it declines what is not cheap.

use hookline_domain::{Message, MessageId, Msisdn, Text, Timestamp};
use hookline_query::{Filter, ListQuery, PageStart, reference};

use crate::{SqliteConfig, SqliteStore};

fn message(id: &str, from: &str, ts: &str, text: Option<&str>) -> Message {
    Message::new(
        MessageId::parse(id).unwrap(),
        Msisdn::parse(from).unwrap(),
        Msisdn::parse("+14155550100").unwrap(),
        Timestamp::parse(ts).unwrap(),
        text.map(|t| Text::parse(t).unwrap()),
    )
}

fn query(filter: Filter, limit: u32, start: PageStart) -> ListQuery {
    ListQuery::new(filter, limit, start).unwrap()
}

fn open_file(path: &std::path::Path) -> SqliteStore {
    SqliteStore::open(SqliteConfig::file(path)).unwrap()
}

/// Inserts messages `numbered(from)` up to `numbered(from + n - 1)` into the store in one
/// group and into `reference`; returns the next number.
fn insert_numbered(
    store: &SqliteStore,
    reference: &mut Vec<Message>,
    from: usize,
    n: usize,
) -> usize {
    let batch: Vec<Message> = (from..from + n).map(numbered).collect();
    store.insert_many(batch.clone()).unwrap();
    reference.extend(batch);
    from + n
}

fn numbered(n: usize) -> Message {
    let text = match n % 7 {
        0 => None,
        1 => Some(format!("order {n} kumquat")),
        2 => Some(format!("Élan vital {n}")),
        3 => Some(format!("quick test {n}")),
        _ => Some(format!("text {n}")),
    };
    message(
        &format!("id{n:05}"),
        &format!("+1555000000{}", n % 5),
        &format!(
            "2025-{:02}-{:02}T{:02}:00:00Z",
            1 + n % 12,
            1 + n % 28,
            n % 24
        ),
        text.as_deref(),
    )
}

/// The inline path answers on the caller's task only what is cheap: shapes without `q` at
/// once; a `q` once its total is kept and few rows were added since; never a `q` that must
/// test rows one by one in a sender's rows or the table, nor a deep offset into a sender.
/// Every answer it gives is `list`'s, also after rows were added.
#[test]
fn inline_reads_answer_cheap_shapes_and_q_once_its_total_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_file(&dir.path().join("app.db"));
    let reference = std::cell::RefCell::new(Vec::new());
    let mut next = 0;
    let mut add = |n: usize| next = insert_numbered(&store, &mut reference.borrow_mut(), next, n);
    add(3000);
    let with = |from: Option<&str>, q: Option<&str>, offset: u64| {
        let filter = Filter {
            from: from.map(str::to_owned),
            since: None,
            q: q.map(str::to_owned),
        };
        query(filter, 20, PageStart::Offset(offset))
    };
    let answered_now = |q: &ListQuery| {
        store.inner.list_inline(q).map(|page| {
            let page = page.unwrap();
            assert_eq!(page, reference::list(&reference.borrow(), q), "{q:?}");
            page
        })
    };
    assert!(answered_now(&with(None, None, 0)).is_some());
    assert!(answered_now(&with(None, None, 2500)).is_some());
    assert!(answered_now(&with(Some("+15550000003"), None, 100)).is_some());
    assert!(
        answered_now(&with(Some("+15550000003"), None, 2500)).is_none(),
        "a deep offset into one sender walks its index entries"
    );
    assert!(store.inner.stats_inline().is_some());

    let kumquat = with(None, Some("KUMQUAT"), 0);
    assert!(
        answered_now(&kumquat).is_none(),
        "the total of a new q needs a full count"
    );
    assert_eq!(
        store.inner.list(&kumquat).unwrap(),
        reference::list(&reference.borrow(), &kumquat)
    );
    let kept = answered_now(&kumquat).expect("answered from the kept total");
    add(300);
    let caught_up = answered_now(&kumquat).expect("300 new rows are caught up at once");
    assert!(
        caught_up.total > kept.total,
        "the new matching rows are counted"
    );
    add(2500);
    assert!(
        answered_now(&kumquat).is_none(),
        "2,500 new rows are more than a bounded read catches up"
    );
    assert_eq!(
        store.inner.list(&kumquat).unwrap(),
        reference::list(&reference.borrow(), &kumquat)
    );
    assert!(answered_now(&kumquat).is_some());

    assert!(answered_now(&with(Some("+15550000003"), Some("kumquat"), 0)).is_none());
    assert!(
        answered_now(&with(None, Some("qu"), 0)).is_none(),
        "no trigram: a scan"
    );
}

/// A bounded read that runs past its instruction budget is interrupted and declined, and
/// the store still answers it in full with `list`. Here a kept `q` total makes the page
/// look cheap (the estimate assumes matches spread evenly: 1,500 in 30,000 rows, so ~420
/// rows to test for a page of 20), but every match is among the newest rows, so the walk
/// from the oldest row would test 28,500 of them.
#[test]
fn a_bounded_read_past_its_budget_is_declined_not_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_file(&dir.path().join("app.db"));
    let rows: Vec<Message> = (0..30_000)
        .map(|n| {
            let text = if n >= 28_500 {
                "zebra crossing"
            } else {
                "plain text"
            };
            message(
                &format!("b{n:05}"),
                "+15550000001",
                &format!(
                    "2025-01-01T{:02}:{:02}:{:02}Z",
                    n / 3600,
                    n / 60 % 60,
                    n % 60
                ),
                Some(text),
            )
        })
        .collect();
    for chunk in rows.chunks(5_000) {
        store.insert_many(chunk.to_vec()).unwrap();
    }
    let zebra = query(
        Filter {
            from: None,
            since: None,
            q: Some("zebra".to_owned()),
        },
        20,
        PageStart::Offset(0),
    );
    let page = store.inner.list(&zebra).unwrap();
    assert_eq!(page.total, 1_500);
    assert_eq!(page.data[0].message_id().as_str(), "b28500");
    assert!(
        store.inner.list_inline(&zebra).is_none(),
        "the walk runs past the budget and is declined"
    );
    // A cheap read on the same store is still answered at once.
    let first = query(Filter::default(), 20, PageStart::Offset(0));
    assert_eq!(
        store.inner.list_inline(&first).unwrap().unwrap(),
        store.inner.list(&first).unwrap()
    );
}
