//! `hookbench tail`: what a read costs when the indexer is as far behind as the store lets
//! it fall, store level (no HTTP).
//!
//! Rows above the index file's watermark — the *tail* — are answered from memory and
//! merged into every read; inserts wait once it holds [`DEFAULT_MAX_TAIL`] rows. This
//! times each read shape of the suite on a copy of a seeded database twice:
//!
//! 1. opened as the server opens it, once the indexer has caught up (tail empty);
//! 2. reopened with the indexer held back (its batch and the store's bound above the
//!    tail, its idle wait an hour), after inserting `--rows` more messages (by default
//!    [`DEFAULT_MAX_TAIL`], the most a server's tail holds before inserts wait).
//!
//! Each total of the second pass must exceed the first by exactly the inserted messages
//! that match the filter, computed here from the messages themselves: the figures are of
//! exact answers. The file is changed (rows added), so give it a copy.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hookline_query::{ListQuery, fold_case};
use hookline_sqlite::{DEFAULT_MAX_TAIL, SqliteConfig, SqliteStore};
use hookline_store::{Inserted, MessageStore};

use crate::error::BenchError;
use crate::latency::Latencies;
use crate::messages::{self, Fields, MID_RANGE, MessageFactory};
use crate::suite::thousands;

/// Messages per `insert_many` call while filling the tail.
const GROUP: u64 = 1_000;

/// How long the first pass waits for the indexer to catch up with the file as given.
const CATCH_UP: Duration = Duration::from_secs(600);

/// What to run.
#[derive(Debug, Clone)]
pub struct TailConfig {
    /// A seeded database (a copy: rows are added).
    pub database: PathBuf,
    /// Messages inserted behind the held-back indexer.
    pub rows: u64,
    /// Timed reads per shape and pass.
    pub reads: usize,
    /// Distinct senders of the inserted messages (the seed's count, so `from` matches).
    pub senders: u64,
    /// The inserted messages' id prefix (unique per run by default).
    pub prefix: String,
    /// Only the shapes whose label contains this (to profile one).
    pub only: Option<String>,
}

/// One read shape: a label, its query parameters, and which generated messages it
/// selects (for the expected change of its total).
struct Shape {
    label: String,
    params: Vec<(String, String)>,
    selects: Box<dyn Fn(&Fields) -> bool>,
}

/// A shape's figures in one pass.
struct Timed {
    total: u64,
    latencies: Latencies,
}

/// Runs both passes and returns the markdown report.
pub fn run(config: &TailConfig) -> Result<String, BenchError> {
    let path = &config.database;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| BenchError::Thread(format!("cannot start a runtime: {e}")))?;

    let store = open(path, SqliteConfig::file(path))?;
    let waited = wait_for_backlog(&store, CATCH_UP);
    let left = store.index_backlog();
    if left > 0 {
        return Err(db_error(
            path,
            format!("the indexer still had {left} rows to index after {waited:?}"),
        ));
    }
    let mut shapes = shapes(&runtime, &store, path)?;
    if let Some(only) = &config.only {
        shapes.retain(|s| s.label.contains(only.as_str()));
        if shapes.is_empty() {
            return Err(db_error(
                path,
                format!("no read shape's label contains {only:?}"),
            ));
        }
    }
    let indexed = time_all(&runtime, &store, &shapes, config.reads, path)?;
    store.shutdown();
    drop(store);

    // The indexer starts a step once `min(index_batch, max_tail)` rows wait, so the bound
    // is raised past the rows inserted: the reads then see a tail of exactly `rows` with
    // nothing indexing beside them.
    let held_back = SqliteConfig {
        index_batch: usize::MAX,
        index_idle: Duration::from_secs(3600),
        max_tail: usize::try_from(config.rows)
            .unwrap_or(usize::MAX)
            .saturating_add(1),
        ..SqliteConfig::file(path)
    };
    let store = open(path, held_back)?;
    let factory = MessageFactory::new(&config.prefix, config.senders);
    let filled = Instant::now();
    let mut inserted = Vec::new();
    let mut next = 0;
    while next < config.rows {
        let end = (next + GROUP).min(config.rows);
        let fields: Vec<Fields> = (next..end).map(|i| factory.fields(i)).collect();
        let batch = fields
            .iter()
            .map(Fields::message)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| db_error(path, e))?;
        let outcomes = store
            .insert_many(batch)
            .map_err(|e| db_error(path, format!("insert_many: {e}")))?;
        if outcomes.iter().any(|o| !matches!(o, Inserted::Created)) {
            return Err(db_error(
                path,
                format!("prefix {:?} was used before: ids exist", config.prefix),
            ));
        }
        inserted.extend(fields);
        next = end;
    }
    let fill_took = filled.elapsed();
    let backlog = store.index_backlog();
    let at_bound = time_all(&runtime, &store, &shapes, config.reads, path)?;
    let backlog_after = store.index_backlog();
    if backlog_after != backlog {
        return Err(db_error(
            path,
            format!("the indexer ran during the reads ({backlog} → {backlog_after} rows waiting)"),
        ));
    }
    store.shutdown();

    for ((shape, before), after) in shapes.iter().zip(&indexed).zip(&at_bound) {
        let matching = inserted.iter().filter(|f| (shape.selects)(f)).count() as u64;
        if after.total != before.total + matching {
            return Err(db_error(
                path,
                format!(
                    "{}: total {} with the tail, expected {} + {matching} inserted rows that match",
                    shape.label, after.total, before.total
                ),
            ));
        }
    }
    Ok(report(
        config, &shapes, &indexed, &at_bound, backlog, fill_took,
    ))
}

fn db_error(path: &Path, reason: impl ToString) -> BenchError {
    BenchError::Database {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

fn open(path: &Path, config: SqliteConfig) -> Result<SqliteStore, BenchError> {
    SqliteStore::open(config).map_err(|e| db_error(path, e))
}

/// Polls the store's backlog until it is empty or `limit` passed; returns the time spent.
fn wait_for_backlog(store: &SqliteStore, limit: Duration) -> Duration {
    let started = Instant::now();
    while store.index_backlog() > 0 && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

/// The suite's read shapes (`suite.rs`, `read_shapes`), as store queries. The cursor
/// comes from a page with `since` in the middle of the range and is then used without
/// the filter, as the suite does.
fn shapes(
    runtime: &tokio::runtime::Runtime,
    store: &SqliteStore,
    path: &Path,
) -> Result<Vec<Shape>, BenchError> {
    let probe = query(&[("since", MID_RANGE), ("limit", "100")], path)?;
    let page = runtime
        .block_on(store.list(&probe))
        .map_err(|e| db_error(path, format!("list: {e}")))?;
    let cursor = page
        .next_cursor
        .ok_or_else(|| db_error(path, "no next_cursor (is the database seeded?)"))?;
    let sender = messages::sender(17);
    let since = hookline_domain::Timestamp::parse(MID_RANGE)
        .map_err(|e| db_error(path, e))?
        .instant();
    let after_since = move |f: &Fields| {
        hookline_domain::Timestamp::parse(&f.ts).is_ok_and(|t| t.instant() >= since)
    };
    let contains = |needle: &'static str| {
        let needle = fold_case(needle);
        Box::new(move |f: &Fields| fold_case(&f.text).contains(&needle))
    };
    let all = || Box::new(|_: &Fields| true);
    let shape =
        |label: String, params: &[(&str, &str)], selects: Box<dyn Fn(&Fields) -> bool>| Shape {
            label,
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            selects,
        };
    let from = sender.clone();
    Ok(vec![
        shape("`/messages` (first page)".to_owned(), &[], all()),
        shape(
            "`/messages?offset=100000`".to_owned(),
            &[("offset", "100000")],
            all(),
        ),
        shape(
            format!("`/messages?cursor=…` (after `{MID_RANGE}`)"),
            &[("cursor", &cursor)],
            all(),
        ),
        shape(
            format!("`/messages?from={sender}`"),
            &[("from", &sender)],
            Box::new(move |f: &Fields| f.from == from),
        ),
        shape(
            format!("`/messages?since={MID_RANGE}`"),
            &[("since", MID_RANGE)],
            Box::new(after_since),
        ),
        shape(
            "`/messages?q=invoice`".to_owned(),
            &[("q", "invoice")],
            contains("invoice"),
        ),
        shape(
            "`/messages?q=please call tomorrow invoice`".to_owned(),
            &[("q", "please call tomorrow invoice")],
            contains("please call tomorrow invoice"),
        ),
    ])
}

fn query(params: &[(&str, &str)], path: &Path) -> Result<ListQuery, BenchError> {
    ListQuery::parse(params.iter().copied())
        .map_err(|errors| db_error(path, format!("bad query {params:?}: {errors:?}")))
}

/// Times every shape: three untimed reads, then `reads` timed ones, in turn.
fn time_all(
    runtime: &tokio::runtime::Runtime,
    store: &SqliteStore,
    shapes: &[Shape],
    reads: usize,
    path: &Path,
) -> Result<Vec<Timed>, BenchError> {
    let mut out = Vec::with_capacity(shapes.len());
    for shape in shapes {
        let params: Vec<(&str, &str)> = shape
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let query = query(&params, path)?;
        let mut samples = Vec::with_capacity(reads);
        let mut total = 0;
        for i in 0..reads + 3 {
            let started = Instant::now();
            let page = runtime
                .block_on(store.list(&query))
                .map_err(|e| db_error(path, format!("{}: {e}", shape.label)))?;
            let took = started.elapsed();
            total = page.total;
            if i >= 3 {
                samples.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
            }
        }
        out.push(Timed {
            total,
            latencies: Latencies::from_samples(samples),
        });
    }
    Ok(out)
}

fn report(
    config: &TailConfig,
    shapes: &[Shape],
    indexed: &[Timed],
    at_bound: &[Timed],
    backlog: u64,
    fill_took: Duration,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "`hookbench tail` on `{}`: {} reads per shape and pass, store level (no HTTP), one \
         connection. Tail at the bound: {} rows inserted with the indexer held back ({} \
         in the tail when timed; the bound is {}), in {:.1} s. Every total with the tail \
         was checked against the inserted messages that match.\n",
        config.database.display(),
        config.reads,
        thousands(config.rows),
        thousands(backlog),
        thousands(DEFAULT_MAX_TAIL as u64),
        fill_took.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "| read | total, tail empty | p50 / p90 µs, tail empty | total, tail at the bound | \
         p50 / p90 µs, tail at the bound | p50 × |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for ((shape, a), b) in shapes.iter().zip(indexed).zip(at_bound) {
        let p = |t: &Timed, q: f64| t.latencies.percentile_us(q).unwrap_or(0);
        let ratio = f64::from(p(b, 50.0)) / f64::from(p(a, 50.0).max(1));
        let _ = writeln!(
            s,
            "| {} | {} | {} / {} | {} | {} / {} | {ratio:.2} |",
            shape.label,
            thousands(a.total),
            p(a, 50.0),
            p(a, 90.0),
            thousands(b.total),
            p(b, 50.0),
            p(b, 90.0),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a small seeded file: both passes run, every total with the tail is the total
    /// without it plus the inserted rows that match (`run` fails otherwise), and the
    /// report has a row per shape.
    #[test]
    fn both_passes_run_and_the_totals_with_the_tail_check_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        let seeded = MessageFactory::new("seed", 50);
        crate::seed::run(&path, 3_000, 1_000, &seeded, |_| {}).unwrap();
        let config = TailConfig {
            database: path.clone(),
            rows: 500,
            reads: 2,
            senders: 50,
            prefix: "tail-test".to_owned(),
            only: None,
        };
        let report = run(&config).unwrap();
        assert!(report.contains("500 rows inserted"), "{report}");
        assert!(report.contains("(500 in the tail when timed"), "{report}");
        let rows: Vec<&str> = report.lines().filter(|l| l.starts_with("| `")).collect();
        assert_eq!(rows.len(), 7, "{report}");
        assert!(
            rows[0].contains("| 3,000 |") && rows[0].contains("| 3,500 |"),
            "{report}"
        );

        // The same prefix again: its ids exist, and the run says so instead of timing.
        let again = run(&config).unwrap_err().to_string();
        assert!(again.contains("was used before"), "{again}");
    }
}
