//! The tail: rows committed but not yet in the index file (rowid above its watermark
//! `hookline_fts_watermark.upto`, see `index.rs`), held in memory in both list orders, so
//! a read merges the indexed part (SQL) with them.
//!
//! # One snapshot for the table and the tail
//!
//! The writer adds a group's rows here *before* it commits them (and takes them out again
//! if the commit fails, before its next commit); a read starts its SQLite snapshots while
//! holding this structure's lock ([`Tail::begin`]), reading the watermark `W` (the index
//! file's snapshot starts there) and then the last rowid `R` (the database's snapshot
//! starts there, later, so it holds every row the index holds: `W <= R`). So every row
//! the snapshot holds above `W` is here, and the read uses exactly the entries with
//! `W < rowid <= R`: those in its snapshot and not in its snapshot's indexes. Entries at
//! or below `W` may still be here (another read needs them); entries above `R` are not
//! committed yet for this read, or were committed after its snapshot began. Rows above
//! what this process's writer committed (another process writing the same file) are read
//! from the snapshot into the tail by the read that first sees them.
//!
//! After the indexer commits a new watermark the entries at or below the smallest `W` of
//! any read still open are dropped ([`Tail::indexed`]); a read that starts later sees the
//! new watermark (its snapshot begins after that commit), so it never needs them.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// One row of the tail: what list order, the filters and the page need.
#[derive(Debug, Clone)]
pub(crate) struct TailRow {
    pub(crate) rowid: i64,
    pub(crate) ts_key: String,
    pub(crate) message_id: String,
    pub(crate) from: String,
    /// `text_folded`, for `q`.
    pub(crate) text_folded: Option<String>,
}

/// A tail row's place in list order, as [`TailView::first`] hands it out: its rowid and its
/// list key, shared with the tail's map (no copy of any field).
#[derive(Debug, Clone)]
pub(crate) struct TailKey {
    pub(crate) rowid: i64,
    key: Arc<str>,
}

impl TailKey {
    /// `(ts_key, message_id)`.
    pub(crate) fn key(&self) -> (&str, &str) {
        split_key(&self.key)
    }
}

/// A row as the tail keeps it: its list key and the rest in two allocations (a tail of
/// 20,000 rows kept as separate `String`s per field, in three maps, measured ~1.5 KB a
/// row).
struct Stored {
    rowid: i64,
    /// `from`, then (when the row has a text) `\0` and the folded text.
    rest: Box<str>,
}

impl Stored {
    fn from(&self) -> &str {
        self.rest.split_once('\0').map_or(&self.rest, |(f, _)| f)
    }

    fn text(&self) -> Option<&str> {
        self.rest.split_once('\0').map(|(_, t)| t)
    }
}

/// `ts_key`, `\0`, `message_id`: byte order is list order (`ts_key` holds no `\0`, and a
/// shorter key is a prefix that `\0` sorts before).
fn list_key(ts_key: &str, message_id: &str) -> String {
    let mut key = String::with_capacity(ts_key.len() + 1 + message_id.len());
    key.push_str(ts_key);
    key.push('\0');
    key.push_str(message_id);
    key
}

/// `(ts_key, message_id)` of a [`list_key`].
fn split_key(key: &str) -> (&str, &str) {
    key.split_once('\0').unwrap_or((key, ""))
}

/// `from`, `\0`, a [`list_key`]: byte order is list order within one sender.
fn sender_key(from: &str, key: &str) -> String {
    let mut k = String::with_capacity(from.len() + 1 + key.len());
    k.push_str(from);
    k.push('\0');
    k.push_str(key);
    k
}

#[derive(Default)]
struct Inner {
    /// Rows in list order without `from`, by [`list_key`].
    by_key: BTreeMap<Arc<str>, Stored>,
    /// [`sender_key`]s: list order within one sender.
    by_from: BTreeSet<Box<str>>,
    /// Rowid → list key, to drop indexed rows.
    by_rowid: BTreeMap<i64, Arc<str>>,
    /// The watermark of every open read (`W` → how many reads hold it).
    reads: BTreeMap<i64, usize>,
    /// The newest watermark the indexer committed.
    indexed: i64,
    /// The last rowid the writer committed.
    last: i64,
}

/// Entries taken out of the maps, freed by the caller once the lock is released (a batch
/// of 20,000 is a few milliseconds of `free` that reads and the writer need not wait for).
type Garbage = Vec<(Arc<str>, Option<Stored>, Option<Box<str>>)>;

impl Inner {
    /// Takes out the entries no open read can need.
    fn prune(&mut self) -> Garbage {
        let floor = self
            .reads
            .keys()
            .next()
            .copied()
            .map_or(self.indexed, |w| w.min(self.indexed));
        let mut garbage = Garbage::new();
        while let Some(entry) = self.by_rowid.first_entry() {
            if *entry.key() > floor {
                break;
            }
            let key = entry.remove();
            garbage.push(self.remove(key));
        }
        garbage
    }

    /// Takes the row with list key `key` out of `by_key` and `by_from`.
    fn remove(&mut self, key: Arc<str>) -> (Arc<str>, Option<Stored>, Option<Box<str>>) {
        let row = self.by_key.remove(&*key);
        let sender = row
            .as_ref()
            .and_then(|r| self.by_from.take(sender_key(r.from(), &key).as_str()));
        (key, row, sender)
    }

    fn add(&mut self, row: TailRow) {
        let key: Arc<str> = Arc::from(list_key(&row.ts_key, &row.message_id));
        let rest = match &row.text_folded {
            Some(text) => format!("{}\0{text}", row.from),
            None => row.from.clone(),
        };
        self.by_from
            .insert(sender_key(&row.from, &key).into_boxed_str());
        self.by_rowid.insert(row.rowid, Arc::clone(&key));
        self.by_key.insert(
            key,
            Stored {
                rowid: row.rowid,
                rest: rest.into_boxed_str(),
            },
        );
    }
}

/// The shared tail of one store.
#[derive(Default)]
pub(crate) struct Tail {
    inner: Mutex<Inner>,
    /// Notified when the indexer moves the watermark.
    progress: Condvar,
}

/// Why a group was refused: the indexer did not catch up in time.
#[derive(Debug, thiserror::Error)]
#[error(
    "the indexer is {behind} rows behind (at most {max} may wait) and did not catch up in time"
)]
pub(crate) struct IndexerBehind {
    behind: i64,
    max: i64,
}

impl std::fmt::Debug for Tail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tail").finish_non_exhaustive()
    }
}

impl Tail {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No method can panic while it holds the lock (no indexing, no unwrap), and each
        // leaves the maps consistent, so a poisoned lock still guards usable data.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts with the rows above `indexed` (read at open).
    fn load(&self, indexed: i64, rows: Vec<TailRow>) {
        let mut inner = self.lock();
        inner.indexed = indexed;
        inner.last = rows.last().map_or(indexed, |r| r.rowid);
        for row in rows {
            inner.add(row);
        }
    }

    /// The writer committed every row up to `last`.
    pub(crate) fn committed(&self, last: i64) {
        let mut inner = self.lock();
        inner.last = inner.last.max(last);
    }

    /// Committed rows above the watermark: what reads merge from memory.
    pub(crate) fn behind(&self) -> u64 {
        let inner = self.lock();
        u64::try_from(inner.last - inner.indexed).unwrap_or(0)
    }

    /// Waits until fewer than `max` committed rows are above the watermark, up to
    /// `timeout`.
    pub(crate) fn wait_below(&self, max: i64, timeout: Duration) -> Result<(), IndexerBehind> {
        let deadline = Instant::now() + timeout;
        let mut inner = self.lock();
        loop {
            let behind = inner.last - inner.indexed;
            if behind < max.max(1) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(IndexerBehind { behind, max });
            }
            inner = match self.progress.wait_timeout(inner, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Adds rows the writer is about to commit.
    pub(crate) fn add(&self, rows: Vec<TailRow>) {
        let mut inner = self.lock();
        for row in rows {
            inner.add(row);
        }
    }

    /// Takes out rows whose commit failed.
    pub(crate) fn discard(&self, rowids: &[i64]) {
        let mut inner = self.lock();
        for rowid in rowids {
            if let Some(key) = inner.by_rowid.remove(rowid) {
                inner.remove(key);
            }
        }
    }

    /// The indexer committed the watermark `upto`: drops what no read needs any more.
    pub(crate) fn indexed(&self, upto: i64) {
        let mut inner = self.lock();
        inner.indexed = inner.indexed.max(upto);
        let garbage = inner.prune();
        drop(inner);
        self.progress.notify_all();
        drop(garbage);
    }

    /// Starts the read transaction's snapshots on `conn` (already inside `BEGIN`, with the
    /// index file attached as `ix`) while holding the lock — the index file's first, then
    /// the database's — and registers its watermark until the view is dropped.
    pub(crate) fn begin<'t>(&'t self, conn: &Connection) -> rusqlite::Result<TailView<'t>> {
        let mut inner = self.lock();
        let w: i64 = conn
            .prepare_cached("SELECT upto FROM ix.hookline_fts_watermark WHERE id = 1")?
            .query_row([], |row| row.get(0))?;
        let r: i64 = conn
            .prepare_cached("SELECT coalesce(max(rowid), 0) FROM main.messages")?
            .query_row([], |row| row.get(0))?;
        if r > inner.last {
            // Rows this process did not write (another process on the same file, such as
            // `hookctl` reading while a server writes), or its own writer's last group
            // between its commit and `committed`: read them from this snapshot.
            let from = inner.last.max(w);
            let rows = conn
                .prepare_cached(&format!(
                    "{ROWS} FROM main.messages WHERE rowid > ?1 AND rowid <= ?2"
                ))?
                .query_map([from, r], tail_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for row in rows {
                if !inner.by_rowid.contains_key(&row.rowid) {
                    inner.add(row);
                }
            }
            inner.last = r;
        }
        *inner.reads.entry(w).or_default() += 1;
        Ok(TailView { tail: self, w, r })
    }
}

/// The filters a tail row is tested with.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TailFilter<'a> {
    pub(crate) from: Option<&'a str>,
    /// Inclusive lower bound on `ts_key`.
    pub(crate) since: Option<&'a str>,
    /// Folded needle.
    pub(crate) q: Option<&'a str>,
    /// Exclusive lower bound on `(ts_key, message_id)` (a cursor).
    pub(crate) after: Option<(&'a str, &'a str)>,
    /// Exclusive upper bound on `ts_key`.
    pub(crate) before: Option<&'a str>,
}

/// One read's view of the tail: the entries of its snapshot that its indexes lack.
pub(crate) struct TailView<'t> {
    tail: &'t Tail,
    /// The snapshot's watermark.
    w: i64,
    /// The snapshot's last rowid.
    r: i64,
}

impl TailView<'_> {
    /// A view of nothing, for reads that cannot see a tail (tests of one layer).
    #[cfg(test)]
    pub(crate) fn none(tail: &Tail) -> TailView<'_> {
        *tail.lock().reads.entry(i64::MAX).or_default() += 1;
        TailView {
            tail,
            w: i64::MAX,
            r: i64::MAX,
        }
    }

    /// Whether the row at list key `key` belongs to this read and passes `f`.
    fn keeps(&self, key: &str, row: &Stored, f: &TailFilter<'_>) -> bool {
        let (ts_key, message_id) = split_key(key);
        row.rowid > self.w
            && row.rowid <= self.r
            && f.from.is_none_or(|from| row.from() == from)
            && f.since.is_none_or(|s| ts_key >= s)
            && f.before.is_none_or(|b| ts_key < b)
            && f.after.is_none_or(|after| (ts_key, message_id) > after)
            && f.q
                .is_none_or(|q| row.text().is_some_and(|t| t.contains(q)))
    }

    /// The first `limit` matching rows in list order (`(ts_key, message_id)`), as keys.
    pub(crate) fn first(&self, f: &TailFilter<'_>, limit: usize) -> Vec<TailKey> {
        let mut out = Vec::new();
        if limit > 0 {
            self.scan(f, |key, row| {
                out.push(TailKey {
                    rowid: row.rowid,
                    key: Arc::clone(key),
                });
                out.len() < limit
            });
        }
        out
    }

    /// How many rows match.
    pub(crate) fn count(&self, f: &TailFilter<'_>) -> u64 {
        let mut n = 0_u64;
        self.scan(f, |_, _| {
            n += 1;
            true
        });
        n
    }

    /// Calls `visit` with each matching row (and its list key) in list order while it
    /// returns `true`.
    fn scan(&self, f: &TailFilter<'_>, mut visit: impl FnMut(&Arc<str>, &Stored) -> bool) {
        if self.r <= self.w {
            return;
        }
        let inner = self.tail.lock();
        // Where the walk starts: after the cursor, or at `since`.
        let lower = match (f.since, f.after) {
            (_, Some((k, i))) => Bound::Excluded(list_key(k, i)),
            (Some(s), None) => Bound::Included(s.to_owned()),
            (None, None) => Bound::Unbounded,
        };
        let past_end = |key: &str| f.before.is_some_and(|b| split_key(key).0 >= b);
        if let Some(from) = f.from {
            let start = match &lower {
                Bound::Excluded(k) => Bound::Excluded(sender_key(from, k)),
                Bound::Included(k) => Bound::Included(sender_key(from, k)),
                Bound::Unbounded => Bound::Included(sender_key(from, "")),
            };
            let prefix = sender_key(from, "");
            let range = inner
                .by_from
                .range::<str, _>((start.as_ref().map(String::as_str), Bound::Unbounded));
            for entry in range {
                let Some(key) = entry.strip_prefix(prefix.as_str()) else {
                    break;
                };
                if past_end(key) {
                    break;
                }
                if let Some((key, row)) = inner.by_key.get_key_value(key)
                    && self.keeps(key, row, f)
                    && !visit(key, row)
                {
                    break;
                }
            }
        } else {
            let range = inner
                .by_key
                .range::<str, _>((lower.as_ref().map(String::as_str), Bound::Unbounded));
            for (key, row) in range {
                if past_end(key) {
                    break;
                }
                if self.keeps(key, row, f) && !visit(key, row) {
                    break;
                }
            }
        }
    }
}

impl Drop for TailView<'_> {
    fn drop(&mut self) {
        let mut inner = self.tail.lock();
        if let Some(n) = inner.reads.get_mut(&self.w) {
            *n -= 1;
            if *n == 0 {
                inner.reads.remove(&self.w);
            }
        }
        let garbage = inner.prune();
        drop(inner);
        drop(garbage);
    }
}

/// Fills `tail` with the rows above the watermark, read on the indexer's connection `conn`
/// (the index file as `main`, the database as `data`) at open: whatever the last run
/// committed and had not indexed yet, at most
/// [`SqliteConfig::max_tail`](crate::SqliteConfig::max_tail) rows (`index::open` indexes
/// the rest first).
pub(crate) fn load(conn: &Connection, tail: &Tail) -> rusqlite::Result<()> {
    let upto = crate::index::upto(conn)?;
    let mut stmt = conn.prepare(&format!(
        "{ROWS} FROM data.messages WHERE rowid > ?1 ORDER BY rowid"
    ))?;
    let rows = stmt
        .query_map([upto], tail_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tail.load(upto, rows);
    Ok(())
}

/// The columns of a [`TailRow`], in [`tail_row`] order (the indexer reads its rows with
/// them too).
pub(crate) const ROWS: &str =
    "SELECT rowid, ts_key, message_id, from_msisdn, coalesce(text_folded, text)";

/// A [`TailRow`] from [`ROWS`].
pub(crate) fn tail_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TailRow> {
    Ok(TailRow {
        rowid: r.get(0)?,
        ts_key: r.get(1)?,
        message_id: r.get(2)?,
        from: r.get(3)?,
        text_folded: r.get(4)?,
    })
}
