//! Store benchmark: durable inserts/s with 64 producer threads on an empty database and on
//! a seeded one, then the latency of every list shape and of stats.
//!
//! `cargo bench -p hookline-sqlite`. Environment overrides:
//! - `HOOKLINE_BENCH_ROWS` (default 1000000): rows seeded before the read benchmarks;
//! - `HOOKLINE_BENCH_INSERTS` (default 64000): messages inserted in each throughput run;
//! - `HOOKLINE_BENCH_RUNS` (default 200): runs per read shape;
//! - `HOOKLINE_BENCH_DIR` (default the system temp folder): where the database file goes
//!   (put it on the real disk, not tmpfs, or fsync costs nothing).

use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::{
    NEEDLE, PRODUCERS, Rng, Times, block, env_usize, insert_run, ms, percentile, random_message,
};
use hookline_domain::Message;
use hookline_query::{Cursor, Filter, ListQuery, PageStart};
use hookline_sqlite::{SqliteConfig, SqliteStore};
use hookline_store::MessageStore;

/// Seeds `rows` random messages in big transactions.
fn seed(store: &SqliteStore, rows: usize) -> Duration {
    let start = Instant::now();
    let mut rng = Rng(42);
    let mut left = rows;
    while left > 0 {
        let n = left.min(20_000);
        let batch: Vec<Message> = (0..n)
            .map(|_| random_message(&mut rng, Times::Random))
            .collect();
        store.insert_many(batch).expect("seed");
        left -= n;
    }
    start.elapsed()
}

fn time_runs(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    f(); // warm the cache and the statement cache
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs us with no work to do.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rows = env_usize("HOOKLINE_BENCH_ROWS", 1_000_000);
    let inserts = env_usize("HOOKLINE_BENCH_INSERTS", 64_000);
    let runs = env_usize("HOOKLINE_BENCH_RUNS", 200);
    let base = std::env::var_os("HOOKLINE_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(&base).expect("bench dir");
    let path = dir.path().join("bench.db");
    let store = Arc::new(SqliteStore::open(SqliteConfig::file(&path)).expect("open"));

    let mut table: Vec<(String, String)> = Vec::new();
    let mut insert_phase = |label: &str, seed: u64, arrival: bool| {
        let (rate, p50, p99) = insert_run(&store, inserts, seed, arrival);
        let rows = block(store.stats()).expect("stats").total_messages - inserts as u64;
        let ts = if arrival {
            "ts ≈ arrival time"
        } else {
            "ts random over a year"
        };
        let name = format!("insert, {label} ({rows} rows), {PRODUCERS} producers, {ts}");
        let result = format!("{rate:.0} msg/s (p50 {} ms, p99 {} ms)", ms(p50), ms(p99));
        eprintln!("{name}: {result}");
        table.push((name, result));
    };
    insert_phase("empty db", 7, false);
    insert_phase("small db", 8, true);

    let seed_rows = rows.saturating_sub(3 * inserts);
    let seeded = seed(&store, seed_rows);
    eprintln!("seeded {seed_rows} rows in {:.1} s", seeded.as_secs_f64());

    insert_phase("seeded db", 99, false);
    insert_phase("seeded db", 100, true);
    let total = block(store.stats()).expect("stats").total_messages;

    let query =
        |filter: Filter, start: PageStart| ListQuery::new(filter, 50, start).expect("query");
    let deep = block(store.list(&query(Filter::default(), PageStart::Offset(total / 2))))
        .expect("deep page");
    let cursor = Cursor::decode(deep.next_cursor.as_deref().unwrap_or_default()).expect("cursor");
    let sender = Filter {
        from: Some(format!("+91{:010}", 9_000_000_000_u64 + 17)),
        ..Filter::default()
    };
    let since = Filter {
        since: Some(
            hookline_domain::Instant::parse_rfc3339("2025-07-01T12:34:56+02:00").expect("since"),
        ),
        ..Filter::default()
    };
    let q = Filter {
        q: Some(NEEDLE.to_owned()),
        ..Filter::default()
    };
    let shapes: Vec<(&str, ListQuery)> = vec![
        (
            "list: first page",
            query(Filter::default(), PageStart::Offset(0)),
        ),
        (
            "list: offset 100000",
            query(Filter::default(), PageStart::Offset(100_000)),
        ),
        (
            "list: cursor page at the middle",
            query(Filter::default(), PageStart::After(cursor)),
        ),
        (
            "list: from (one of 1000 senders)",
            query(sender.clone(), PageStart::Offset(0)),
        ),
        (
            "list: from, offset 500",
            query(sender, PageStart::Offset(500)),
        ),
        (
            "list: since (mid-year)",
            query(since.clone(), PageStart::Offset(0)),
        ),
        (
            "list: since, offset 100000",
            query(since, PageStart::Offset(100_000)),
        ),
        ("list: q (1% of texts)", query(q, PageStart::Offset(0))),
    ];
    let (p50, p99) = time_runs(runs, || {
        block(store.stats()).expect("stats");
    });
    let mut reads = vec![("stats".to_owned(), p50, p99, total)];
    for (name, q) in &shapes {
        let mut matched = 0;
        let (p50, p99) = time_runs(runs, || {
            matched = block(store.list(q)).expect("list").total;
        });
        reads.push(((*name).to_owned(), p50, p99, matched));
        eprintln!("{name:<52} p50 {} ms", ms(p50));
    }

    println!();
    println!(
        "hookline-sqlite store benchmark: file database in {}",
        base.display()
    );
    println!("rows at read time: {total}; {runs} runs per read shape; limit 50");
    println!();
    println!("| measurement | result |");
    println!("|---|---|");
    for (name, result) in &table {
        println!("| {name} | {} |", result.trim());
    }
    println!(
        "| seed (bulk, 20000-row transactions) | {} rows in {:.1} s |",
        seed_rows,
        seeded.as_secs_f64()
    );
    println!();
    println!("| read at {total} rows | total matched | median ms | p99 ms |");
    println!("|---|---|---|---|");
    for (name, p50, p99, matched) in reads {
        println!("| {name} | {matched} | {} | {} |", ms(p50), ms(p99));
    }
    drop(store);
}
