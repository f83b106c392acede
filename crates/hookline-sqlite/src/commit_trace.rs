//! Opt-in commit tracing for performance work: with `HOOKLINE_SQLITE_TRACE=<ms>` in the
//! environment, the writer prints every group whose commit took `<ms>` or longer to
//! stderr (rows, time in statements, time in commit, bytes read and written by the
//! writer thread, WAL size), and a histogram of commit times at shutdown. Off by default.

use std::time::Duration;

/// Per-thread read/write syscall byte counters (`rchar`, `wchar` of
/// `/proc/thread-self/io`); zero where unavailable.
pub(crate) fn thread_io() -> (u64, u64) {
    let Ok(text) = std::fs::read_to_string("/proc/thread-self/io") else {
        return (0, 0);
    };
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (field("rchar:"), field("wchar:"))
}

/// The threshold from the environment, when tracing is on.
pub(crate) fn threshold() -> Option<Duration> {
    let v = std::env::var("HOOKLINE_SQLITE_TRACE").ok()?;
    Some(Duration::from_millis(v.parse().unwrap_or(50)))
}

/// Upper bounds of the histogram buckets, in milliseconds.
const BOUNDS_MS: [f64; 12] = [
    0.5,
    1.0,
    2.0,
    4.0,
    8.0,
    16.0,
    32.0,
    64.0,
    128.0,
    256.0,
    1024.0,
    f64::INFINITY,
];

/// Commit-time histogram.
#[derive(Default)]
pub(crate) struct Histogram {
    counts: [u64; BOUNDS_MS.len()],
    rows: u64,
    total: Duration,
}

impl Histogram {
    pub(crate) fn record(&mut self, d: Duration, rows: usize) {
        let ms = d.as_secs_f64() * 1000.0;
        let i = BOUNDS_MS.iter().position(|b| ms <= *b).unwrap_or(0);
        self.counts[i] += 1;
        self.rows += rows as u64;
        self.total += d;
    }

    pub(crate) fn print(&self, name: &str) {
        let n: u64 = self.counts.iter().sum();
        eprintln!(
            "[hookline-sqlite] {name}: {n} commits, {} rows, {:.1} rows/commit, {:.3} ms mean",
            self.rows,
            self.rows as f64 / n.max(1) as f64,
            self.total.as_secs_f64() * 1000.0 / n.max(1) as f64
        );
        for (b, c) in BOUNDS_MS.iter().zip(self.counts) {
            if c > 0 {
                eprintln!("[hookline-sqlite]   <= {b:>6} ms: {c}");
            }
        }
    }
}
