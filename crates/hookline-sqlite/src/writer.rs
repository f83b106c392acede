//! The writer thread: the only owner of the write connection, committing queued inserts
//! in groups (one transaction, one fsync per group).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};

use hookline_domain::Message;
use hookline_query::fold_case;
use hookline_store::{Inserted, StoreError};
use rusqlite::{Connection, TransactionBehavior, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::buckets::Buckets;
use crate::error::{kind_of, with_kind};
use crate::instruments;
use crate::tail::{Tail, TailRow};

/// The answer a caller waits for: one outcome per message it sent.
pub(crate) type Outcomes = Result<Vec<Inserted>, StoreError>;

/// Where a job's outcome goes.
pub(crate) enum Reply {
    /// A thread blocked on the other end of a channel (seeding, the readiness probe).
    Blocking(SyncSender<Outcomes>),
    /// An async caller awaiting the other end ([`MessageStore::insert`](hookline_store::MessageStore::insert)).
    Async(tokio::sync::oneshot::Sender<Outcomes>),
}

impl Reply {
    /// Delivers the outcome; a caller that gave up waiting is no reason to stop.
    pub(crate) fn send(self, outcomes: Outcomes) {
        match self {
            Self::Blocking(channel) => {
                let _ = channel.send(outcomes);
            }
            Self::Async(channel) => {
                let _ = channel.send(outcomes);
            }
        }
    }
}

/// One unit of work: messages from one caller and where to send the outcome. A job without
/// messages is a write probe: its group dirties a page and commits even if nothing else
/// changed, so its answer says whether the database can take writes right now.
pub(crate) struct Job {
    pub(crate) messages: Vec<Message>,
    pub(crate) reply: Reply,
}

/// Commits between two nudges of the checkpointer.
const COMMITS_PER_CHECKPOINT: u32 = 16;

/// What the writer works with besides its connection and queue.
pub(crate) struct Writer {
    /// The most messages in one group.
    pub(crate) max_batch: usize,
    /// The most rows the tail may hold before a group waits for the indexer.
    pub(crate) max_tail: i64,
    /// How long a group waits for the indexer before it fails.
    pub(crate) busy_timeout: std::time::Duration,
    pub(crate) checkpointer: Option<Checkpointer>,
    pub(crate) write_failing: Arc<AtomicBool>,
    pub(crate) tail: Arc<Tail>,
    /// Wakes the indexer after a commit.
    pub(crate) indexer: SyncSender<()>,
}

/// Runs until every sender is dropped and the queue is empty: takes the first queued job,
/// adds jobs already waiting up to `max_batch` messages, commits them together, answers,
/// and nudges the indexer (`index.rs`). While the tail holds `max_tail` rows or more the
/// next group waits for the indexer (up to `busy_timeout`, then it fails as
/// `Unavailable`): ingest slows to the indexer's pace rather than the tail growing.
///
/// With a `checkpointer`, the WAL is copied back into the database by another thread
/// (nudged every few commits) instead of inside this thread's commits; on the way out the
/// writer stops it and truncates the WAL itself.
pub(crate) fn run(mut conn: Connection, jobs: Receiver<Job>, writer: Writer) {
    let Writer {
        max_batch,
        max_tail,
        busy_timeout,
        checkpointer,
        write_failing,
        tail,
        indexer,
    } = writer;
    let max_batch = max_batch.max(1);
    let mut commits = 0_u32;
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        let mut size = group[0].messages.len();
        while size < max_batch {
            match jobs.try_recv() {
                Ok(job) => {
                    size += job.messages.len();
                    group.push(job);
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let mut added = Vec::new();
        let written = match tail.wait_below(max_tail, busy_timeout) {
            Ok(()) => {
                let started = std::time::Instant::now();
                let written = write_group(&mut conn, &group, &tail, &mut added);
                instruments::record_commit(started.elapsed(), size, written.is_ok());
                written
            }
            Err(behind) => Err(GroupError::IndexerBehind(behind)),
        };
        commits = commits.wrapping_add(1);
        if let Some(c) = &checkpointer
            && commits.is_multiple_of(COMMITS_PER_CHECKPOINT)
        {
            c.nudge();
        }
        // Readiness reads this: set while commits fail (disk full, I/O), cleared by the next
        // commit that succeeds, a probe's included.
        write_failing.store(written.is_err(), Ordering::SeqCst);
        match written {
            Ok(outcomes) => {
                if let Some(last) = added.last() {
                    tail.committed(*last);
                    // A full slot means a nudge is already pending.
                    let _ = indexer.try_send(());
                }
                let mut outcomes = outcomes.into_iter();
                for job in group {
                    let mine: Vec<Inserted> = outcomes.by_ref().take(job.messages.len()).collect();
                    job.reply.send(Ok(mine));
                }
            }
            Err(e) => {
                roll_back(&conn);
                tail.discard(&added);
                let kind = match &e {
                    GroupError::Sqlite(e) => kind_of(e),
                    GroupError::IndexerBehind(_) => crate::error::Kind::Unavailable,
                };
                let shared = Arc::new(e);
                for job in group {
                    let err = with_kind(kind, GroupFailed(Arc::clone(&shared)));
                    job.reply.send(Err(err));
                }
            }
        }
    }
    // The indexer indexes what is left and stops.
    drop(indexer);
    if let Some(c) = checkpointer {
        c.stop();
        // Everything is committed; fold the WAL back so the file stands alone.
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    }
}

/// A thread that runs passive WAL checkpoints on its own connection, so the writer's
/// commits only append to the WAL and never wait for pages to be copied back.
pub(crate) struct Checkpointer {
    nudges: SyncSender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    /// Starts the thread; it checkpoints when nudged, and at least every 200 ms.
    pub(crate) fn start(conn: Connection) -> std::io::Result<Self> {
        let (nudges, wake) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("hookline-ckpt".to_owned())
            .spawn(move || {
                use std::sync::mpsc::RecvTimeoutError;
                // Runs until the writer drops its end (`Disconnected`).
                while let Ok(()) | Err(RecvTimeoutError::Timeout) =
                    wake.recv_timeout(std::time::Duration::from_millis(200))
                {
                    // A failure (busy, I/O) is retried at the next nudge.
                    let started = std::time::Instant::now();
                    let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
                    instruments::record_checkpoint(started.elapsed());
                }
            })?;
        Ok(Self { nudges, thread })
    }

    fn nudge(&self) {
        // A full slot means a nudge is already pending.
        let _ = self.nudges.try_send(());
    }

    fn stop(self) {
        drop(self.nudges);
        let _ = self.thread.join();
    }
}

/// The failure of a whole group, shared by every caller in it (the transaction is rolled
/// back, so none of the group's rows is stored).
#[derive(Debug, thiserror::Error)]
#[error("the group commit failed: {0}")]
struct GroupFailed(Arc<GroupError>);

/// Why a group failed.
#[derive(Debug, thiserror::Error)]
enum GroupError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    IndexerBehind(#[from] crate::tail::IndexerBehind),
}

/// Leaves the connection outside any transaction after a failure.
fn roll_back(conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// Inserts every message of the group in one transaction and keeps the statistics tables
/// in step. Returns the outcome of each message in order. The created rows (in no index
/// yet) go into `tail` before the commit, their rowids into `added`, for
/// the caller to take out again if the commit fails.
fn write_group(
    conn: &mut Connection,
    group: &[Job],
    tail: &Tail,
    added: &mut Vec<i64>,
) -> Result<Vec<Inserted>, GroupError> {
    let created_at = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"));
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(group.iter().map(|j| j.messages.len()).sum());
    let mut delta = Delta::default();
    let mut rows = Vec::new();
    if group.iter().any(|job| job.messages.is_empty()) {
        // A probe: rewrite the totals row as it is, so the commit must write a page.
        tx.prepare_cached("UPDATE hookline_totals SET messages = messages WHERE id = 1")?
            .execute([])?;
    }
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO messages
                 (message_id, from_msisdn, to_msisdn, ts, text, created_at, ts_key, text_folded)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (message_id) DO NOTHING",
        )?;
        for message in group.iter().flat_map(|j| j.messages.iter()) {
            let key = message.ts().instant().sort_key();
            let text = message.text().map(|t| t.as_str());
            let folded = text.map(fold_case);
            // Stored only where folding changed the text (see `schema.rs`, version 6).
            let stored_folded = folded.as_deref().filter(|f| Some(*f) != text);
            let changed = insert.execute(params![
                message.message_id().as_str(),
                message.from().as_str(),
                message.to().as_str(),
                message.ts().as_str(),
                text,
                created_at,
                key,
                stored_folded,
            ])?;
            if changed == 1 {
                rows.push(TailRow {
                    rowid: tx.last_insert_rowid(),
                    ts_key: key.clone(),
                    message_id: message.message_id().as_str().to_owned(),
                    from: message.from().as_str().to_owned(),
                    text_folded: folded,
                });
                delta.add(message, key);
                outcomes.push(Inserted::Created);
            } else {
                outcomes.push(Inserted::Duplicate);
            }
        }
    }
    delta.apply(&tx)?;
    added.extend(rows.iter().map(|r| r.rowid));
    tail.add(rows);
    tx.commit()?;
    Ok(outcomes)
}

/// What one group adds to the statistics tables.
#[derive(Default)]
struct Delta<'a> {
    messages: i64,
    senders: HashMap<&'a str, i64>,
    days: HashMap<String, i64>,
    hours: HashMap<String, i64>,
    minutes: HashMap<String, i64>,
    /// Smallest (key, ts) and largest (key, ts) created.
    first: Option<(String, &'a str)>,
    last: Option<(String, &'a str)>,
}

impl<'a> Delta<'a> {
    fn add(&mut self, message: &'a Message, key: String) {
        self.messages += 1;
        *self.senders.entry(message.from().as_str()).or_default() += 1;
        {
            let b = Buckets::of(&key);
            *self.days.entry(b.day.to_owned()).or_default() += 1;
            *self.hours.entry(b.hour.to_owned()).or_default() += 1;
            *self.minutes.entry(b.minute.to_owned()).or_default() += 1;
        }
        let ts = message.ts().as_str();
        let candidate = (key, ts);
        if self.first.as_ref().is_none_or(|f| candidate < *f) {
            self.first = Some(candidate.clone());
        }
        if self.last.as_ref().is_none_or(|l| candidate > *l) {
            self.last = Some(candidate);
        }
    }

    fn apply(&self, tx: &Connection) -> rusqlite::Result<()> {
        if self.messages == 0 {
            return Ok(());
        }
        let mut new_senders = 0_i64;
        {
            // One upsert per sender; the count it leaves equals this group's only for a
            // sender seen for the first time.
            let mut add = tx.prepare_cached(
                "INSERT INTO hookline_senders (from_msisdn, messages) VALUES (?1, ?2)
                 ON CONFLICT (from_msisdn) DO UPDATE SET messages = messages + excluded.messages
                 RETURNING messages",
            )?;
            for (from, n) in &self.senders {
                let now: i64 = add.query_row(params![from, n], |r| r.get(0))?;
                if now == *n {
                    new_senders += 1;
                }
            }
        }
        for (sql, counts) in [
            (
                "INSERT INTO hookline_days (day, messages) VALUES (?1, ?2)
                 ON CONFLICT (day) DO UPDATE SET messages = messages + excluded.messages",
                &self.days,
            ),
            (
                "INSERT INTO hookline_hours (hour, messages) VALUES (?1, ?2)
                 ON CONFLICT (hour) DO UPDATE SET messages = messages + excluded.messages",
                &self.hours,
            ),
            (
                "INSERT INTO hookline_minutes (minute, messages) VALUES (?1, ?2)
                 ON CONFLICT (minute) DO UPDATE SET messages = messages + excluded.messages",
                &self.minutes,
            ),
        ] {
            let mut add = tx.prepare_cached(sql)?;
            for (bucket, n) in counts {
                add.execute(params![bucket, n])?;
            }
        }
        tx.prepare_cached(
            "UPDATE hookline_totals SET messages = messages + ?1, senders = senders + ?2
             WHERE id = 1",
        )?
        .execute(params![self.messages, new_senders])?;
        if let Some((key, ts)) = &self.first {
            tx.prepare_cached(
                "UPDATE hookline_totals SET first_key = ?1, first_ts = ?2
                 WHERE id = 1 AND (first_key IS NULL OR first_key > ?1
                                   OR (first_key = ?1 AND first_ts > ?2))",
            )?
            .execute(params![key, ts])?;
        }
        if let Some((key, ts)) = &self.last {
            tx.prepare_cached(
                "UPDATE hookline_totals SET last_key = ?1, last_ts = ?2
                 WHERE id = 1 AND (last_key IS NULL OR last_key < ?1
                                   OR (last_key = ?1 AND last_ts < ?2))",
            )?
            .execute(params![key, ts])?;
        }
        Ok(())
    }
}
