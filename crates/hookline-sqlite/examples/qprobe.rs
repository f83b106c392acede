//! `q` latency probe on an existing database (e.g. one made by `hookbench seed`), store
//! level, no HTTP: for each needle, the first read on a freshly opened store (nothing
//! kept) and the median of repeated reads.
//!
//! `cargo run --release -p hookline-sqlite --example qprobe -- DB RUNS NEEDLE...`

use std::time::{Duration, Instant};

use hookline_query::{Filter, ListQuery, PageStart};
use hookline_sqlite::{SqliteConfig, SqliteStore};
use hookline_store::MessageStore;

/// CPU time of every thread of this process so far (the machine is shared: wall time
/// includes waiting for a core).
fn cpu() -> Duration {
    let mut ns = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            ns += stat
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(ns)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let db = &args[0];
    let runs: usize = args[1].parse().expect("runs");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    for needle in &args[2..] {
        let store = SqliteStore::open(SqliteConfig::file(db)).expect("open");
        if std::env::var_os("QPROBE_WARM").is_some() {
            // Anything a store keeps across needles (not the needle's own count).
            let warm = ListQuery::new(
                Filter {
                    q: Some("zq warm-up xj".to_owned()),
                    ..Filter::default()
                },
                50,
                PageStart::Offset(0),
            )
            .expect("query");
            runtime.block_on(store.list(&warm)).expect("list");
        }
        let query = ListQuery::new(
            Filter {
                q: Some(needle.clone()),
                ..Filter::default()
            },
            50,
            PageStart::Offset(0),
        )
        .expect("query");
        let (t, c) = (Instant::now(), cpu());
        let page = runtime.block_on(store.list(&query)).expect("list");
        let (first, first_cpu) = (t.elapsed(), cpu().saturating_sub(c));
        let c = cpu();
        let mut samples: Vec<Duration> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                runtime.block_on(store.list(&query)).expect("list");
                t.elapsed()
            })
            .collect();
        let repeat_cpu = cpu().saturating_sub(c) / u32::try_from(runs.max(1)).unwrap_or(1);
        samples.sort();
        let median = samples.get(samples.len() / 2).copied().unwrap_or_default();
        println!(
            "q={needle:?} total={} rows={} first_ms={:.2} first_cpu_ms={:.2} repeat_median_ms={:.3} repeat_cpu_ms={:.3}",
            page.total,
            page.data.len(),
            ms(first),
            ms(first_cpu),
            ms(median),
            ms(repeat_cpu)
        );
    }
}
