//! Read transactions: every list or stats call reads one WAL snapshot, so `total` and
//! `data` agree; a *bounded* read also runs under a fixed SQLite instruction budget, so it
//! can be answered on the caller's async task without ever holding it for long.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hookline_store::StoreError;
use rusqlite::Connection;

use crate::error::store_error;

/// Virtual-machine instructions between two progress callbacks of a bounded read.
const PROGRESS_INTERVAL: std::ffi::c_int = 1_000;

/// Progress callbacks after which a bounded read is interrupted: 100,000 instructions,
/// a few milliseconds at most. Every bounded shape of the benchmark needs a fraction of it.
const MAX_BOUNDED_STEPS: u32 = 100;

/// Runs `f` on `conn` inside one read transaction.
pub(crate) fn read_on<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if !conn.is_autocommit() {
        // Left open by a failed `ROLLBACK` on an earlier call.
        end_read(conn).map_err(store_error)?;
    }
    // Cached `BEGIN`/`ROLLBACK` statements rather than `Connection::transaction`, which
    // parses both again on every call (~4% of a list request's CPU).
    conn.prepare_cached("BEGIN")
        .and_then(|mut begin| begin.execute([]))
        .map_err(store_error)?;
    let snapshot = ReadSnapshot { conn, open: true };
    let out = f(conn)?;
    snapshot.end().map_err(store_error)?;
    Ok(out)
}

/// [`read_on`] with a hard bound on its work: SQLite interrupts the read after
/// [`MAX_BOUNDED_STEPS`] × [`PROGRESS_INTERVAL`] virtual-machine instructions, and the
/// answer is then `None` (the caller runs the read where blocking is allowed).
pub(crate) fn read_bounded<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Option<Result<T, StoreError>> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    let mut calls = 0_u32;
    // Interrupts once; after that it lets the `ROLLBACK` that ends the read run.
    let budget = move || {
        if flag.load(Ordering::Relaxed) {
            return false;
        }
        calls += 1;
        let stop = calls > MAX_BOUNDED_STEPS;
        flag.store(stop, Ordering::Relaxed);
        stop
    };
    conn.progress_handler(PROGRESS_INTERVAL, Some(budget))
        .ok()?;
    let answer = read_on(conn, f);
    let removed = conn.progress_handler(0, None::<fn() -> bool>);
    if interrupted.load(Ordering::Relaxed) || removed.is_err() {
        return None;
    }
    Some(answer)
}

/// Ends a read transaction (nothing was written; this only releases the snapshot).
fn end_read(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached("ROLLBACK")?.execute([]).map(drop)
}

/// An open read transaction, ended when dropped — also when the read fails or panics, so
/// no pooled connection keeps an old snapshot (which would stop checkpoints from ever
/// completing).
struct ReadSnapshot<'c> {
    conn: &'c Connection,
    open: bool,
}

impl ReadSnapshot<'_> {
    /// Ends the transaction, reporting a failure.
    fn end(mut self) -> rusqlite::Result<()> {
        self.open = false;
        end_read(self.conn)
    }
}

impl Drop for ReadSnapshot<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = end_read(self.conn);
        }
    }
}
