//! Test data and the insert driver shared by the benchmarks.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use hookline_domain::{Message, MessageId, Msisdn, Text, Timestamp};
use hookline_sqlite::SqliteStore;
use hookline_store::MessageStore;
use time::OffsetDateTime;

pub const PRODUCERS: usize = 64;
pub const SENDERS: u64 = 1000;
/// The word the `q` benchmark searches for; about 1 text in 100 contains it.
pub const NEEDLE: &str = "kumquat";
pub const WORDS: &[&str] = &[
    "hello", "order", "shipped", "thanks", "payment", "received", "please", "confirm", "delivery",
    "tomorrow", "invoice", "Élan", "Straße", "café", "meeting", "call", "me", "back", "when",
    "free", "price", "offer", "today", "only", "ticket", "booked", "ok", "see", "you", "soon",
    "address", "changed", "reminder", "account", "verified", "code",
];

/// splitmix64: small, fast, good enough for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// 2025-01-01T00:00:00Z.
pub const YEAR_START: i64 = 1_735_689_600;

/// How message timestamps are drawn.
#[derive(Clone, Copy)]
pub enum Times {
    /// Uniformly over 2025: the worst case for every index keyed by time.
    Random,
    /// Near the arrival time, as webhooks are delivered: the `n`-th message of a producer
    /// is a few seconds after 2026-01-01 plus `n / 100` seconds.
    Arrival(u64),
}

pub fn random_message(rng: &mut Rng, times: Times) -> Message {
    let id = format!("{:016x}{:08x}", rng.next(), rng.below(1 << 32));
    let from = format!("+91{:010}", 9_000_000_000 + rng.below(SENDERS));
    let offset = match times {
        Times::Random => rng.below(365 * 86_400),
        Times::Arrival(n) => 365 * 86_400 + n / 100 + rng.below(3),
    };
    let secs = YEAR_START + i64::try_from(offset).unwrap_or(0);
    let t = OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let fraction = match rng.below(3) {
        0 => format!(".{:03}", rng.below(1000)),
        _ => String::new(),
    };
    let ts = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let text = if rng.below(20) == 0 {
        None
    } else {
        let n = 3 + rng.below(8);
        let mut words: Vec<&str> = (0..n)
            .map(|_| WORDS[usize::try_from(rng.below(WORDS.len() as u64)).unwrap_or(0)])
            .collect();
        if rng.below(100) == 0 {
            words.push(NEEDLE);
        }
        Some(words.join(" "))
    };
    Message::new(
        MessageId::parse(&id).expect("id"),
        Msisdn::parse(&from).expect("from"),
        Msisdn::parse("+14155550100").expect("to"),
        Timestamp::parse(&ts).expect("ts"),
        text.map(|t| Text::parse(&t).expect("text")),
    )
}

/// Runs a store call to completion on one shared multi-threaded tokio runtime, as the
/// server's handlers would await it.
pub fn block<F: std::future::Future>(call: F) -> F::Output {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime")
        })
        .block_on(call)
}

/// A `usize` from the environment, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// Inserts `total` fresh messages from [`PRODUCERS`] threads; returns (msgs/s, p50, p99).
pub fn insert_run(
    store: &Arc<SqliteStore>,
    total: usize,
    seed: u64,
    arrival: bool,
) -> (f64, Duration, Duration) {
    let per = total.div_ceil(PRODUCERS);
    // Build the messages first, so the timing is the store's.
    let batches: Vec<Vec<Message>> = (0..PRODUCERS)
        .map(|p| {
            let mut rng = Rng(seed ^ (p as u64 + 1).wrapping_mul(0x1234_5678_9ABC));
            (0..per)
                .map(|n| {
                    let times = if arrival {
                        Times::Arrival(n as u64)
                    } else {
                        Times::Random
                    };
                    random_message(&mut rng, times)
                })
                .collect()
        })
        .collect();
    let start = Instant::now();
    let threads: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let store = Arc::clone(store);
            std::thread::spawn(move || {
                let mut latencies = Vec::with_capacity(batch.len());
                for m in batch {
                    let t = Instant::now();
                    block(store.insert(m)).expect("insert");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("producer thread"))
        .collect();
    let elapsed = start.elapsed();
    latencies.sort();
    (
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    )
}
