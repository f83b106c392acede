//! Ingest experiments: grows one database file step by step and measures durable inserts
//! with 64 producers at each size, so that changes can be compared A/B on the same data.
//!
//! `cargo bench -p hookline-sqlite --bench ingest`. Environment:
//! - `HOOKLINE_BENCH_DB` (required): the database file; kept between runs, so a seeded
//!   file can be copied and reused;
//! - `HOOKLINE_BENCH_SEED` (default 0): rows to add before measuring, in groups of
//!   `HOOKLINE_BENCH_SEED_BATCH` (default 20000) rows per transaction;
//! - `HOOKLINE_BENCH_INSERTS` (default 64000) and `HOOKLINE_BENCH_ROUNDS` (default 1):
//!   the measured runs.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{Rng, Times, block, env_usize, insert_run, ms, random_message};
use hookline_domain::Message;
use hookline_sqlite::{SqliteConfig, SqliteStore};
use hookline_store::MessageStore;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Some(path) = std::env::var_os("HOOKLINE_BENCH_DB") else {
        eprintln!("set HOOKLINE_BENCH_DB");
        return;
    };
    let seed_rows = env_usize("HOOKLINE_BENCH_SEED", 0);
    let seed_batch = env_usize("HOOKLINE_BENCH_SEED_BATCH", 20_000).max(1);
    let inserts = env_usize("HOOKLINE_BENCH_INSERTS", 64_000);
    let rounds = env_usize("HOOKLINE_BENCH_ROUNDS", 1);
    let opened = Instant::now();
    let store = Arc::new(SqliteStore::open(SqliteConfig::file(&path)).expect("open"));
    let before = block(store.stats()).expect("stats").total_messages;
    eprintln!(
        "opened {} ({before} rows) in {:.1} s",
        std::path::Path::new(&path).display(),
        opened.elapsed().as_secs_f64()
    );
    if seed_rows > 0 {
        let start = Instant::now();
        let mut rng = Rng(before ^ 0x5eed);
        let mut left = seed_rows;
        while left > 0 {
            let n = left.min(seed_batch);
            let batch: Vec<Message> = (0..n)
                .map(|_| random_message(&mut rng, Times::Random))
                .collect();
            store.insert_many(batch).expect("seed");
            left -= n;
        }
        eprintln!(
            "seeded {seed_rows} rows in {seed_batch}-row groups in {:.1} s",
            start.elapsed().as_secs_f64()
        );
    }
    for round in 0..rounds {
        let rows = block(store.stats()).expect("stats").total_messages;
        let seed = rows ^ (round as u64) ^ 0xabcd;
        let (rate, p50, p99) = insert_run(&store, inserts, seed, false);
        println!(
            "insert at {rows} rows: {rate:.0} msg/s (p50 {} ms, p99 {} ms)",
            ms(p50),
            ms(p99)
        );
    }
}
