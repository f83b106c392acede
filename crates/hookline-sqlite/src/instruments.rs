//! What the writer and the checkpointer report to the process's `metrics` recorder, so an
//! operator sees on `/metrics` where durable writes spend their time. Without a recorder
//! installed (an embedder that does not use `metrics`) the calls cost next to nothing.
//!
//! Each is recorded once per group commit or checkpoint, never per message.

use std::time::Duration;

/// Histogram: seconds from a group's `BEGIN IMMEDIATE` to its `COMMIT` returning (the
/// inserts, the statistics upserts, any full-text batch, the fsync, and a WAL checkpoint
/// when the writer runs one), labelled `outcome="ok"` or `"failed"`.
pub const COMMIT_DURATION_SECONDS: &str = "hookline_sqlite_commit_duration_seconds";

/// Histogram: messages per group commit (a readiness probe is a group of 0).
pub const COMMIT_GROUP_SIZE: &str = "hookline_sqlite_commit_group_size";

/// Histogram: seconds per passive WAL checkpoint run by the checkpointer thread.
pub const CHECKPOINT_DURATION_SECONDS: &str = "hookline_sqlite_checkpoint_duration_seconds";

/// Histogram: seconds per catch-up of the list and full-text indexes (the writer indexing
/// the rows above the watermark in one transaction, between two group commits).
pub const INDEX_DURATION_SECONDS: &str = "hookline_sqlite_index_duration_seconds";

/// Bucket bounds for [`COMMIT_DURATION_SECONDS`], [`INDEX_DURATION_SECONDS`] and [`CHECKPOINT_DURATION_SECONDS`]:
/// 0.25 ms to 4 s, doubling (a commit normally takes 0.5–5 ms).
pub const DURATION_BUCKETS_SECONDS: [f64; 15] = [
    0.000_25, 0.000_5, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024,
    2.048, 4.096,
];

/// Bucket bounds for [`COMMIT_GROUP_SIZE`]: 1 to 256 messages, doubling (256 is the
/// default largest group).
pub const GROUP_SIZE_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// Describes every metric above to the installed recorder (help text and unit).
pub fn describe() {
    metrics::describe_histogram!(
        COMMIT_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "SQLite group commits: time from BEGIN to COMMIT returning, fsync included"
    );
    metrics::describe_histogram!(
        COMMIT_GROUP_SIZE,
        metrics::Unit::Count,
        "SQLite group commits: messages committed together (one fsync)"
    );
    metrics::describe_histogram!(
        CHECKPOINT_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "SQLite passive WAL checkpoints run by the checkpointer thread"
    );
    metrics::describe_histogram!(
        INDEX_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "SQLite index catch-ups: rows above the watermark added to the list and q indexes"
    );
}

/// One group commit: how long it took, how many messages it carried, whether it committed.
pub(crate) fn record_commit(took: Duration, messages: usize, committed: bool) {
    let outcome = if committed { "ok" } else { "failed" };
    metrics::histogram!(COMMIT_DURATION_SECONDS, "outcome" => outcome).record(took.as_secs_f64());
    metrics::histogram!(COMMIT_GROUP_SIZE).record(messages as f64);
}

/// One passive checkpoint.
pub(crate) fn record_checkpoint(took: Duration) {
    metrics::histogram!(CHECKPOINT_DURATION_SECONDS).record(took.as_secs_f64());
}

/// One index catch-up.
pub(crate) fn record_index(took: Duration) {
    metrics::histogram!(INDEX_DURATION_SECONDS).record(took.as_secs_f64());
}
