//! `hookbench load`: N blocking keep-alive connections, one thread each, posting distinct
//! signed messages (or GETting one path) flat out or at a fixed total rate.
//!
//! # Measuring
//!
//! - **Flat out** (no `--rate`) is closed-loop: each connection sends its next request as
//!   soon as the previous answer is read, and latency is write-to-answer. Throughput is
//!   what the server sustains at that concurrency.
//! - **At a rate** it is open-loop: connection `w` of `c` has its own schedule,
//!   `start + (w/c + k) × c/rate`, and a request's latency is measured from its
//!   *scheduled* time, not from when it was actually written. A server that stalls thus
//!   pays for every request that should have been sent during the stall (no coordinated
//!   omission), as with wrk2. A connection that falls behind sends at once until it
//!   catches up — by default even past the end of the run, so every scheduled request is
//!   sent. With [`LoadConfig::stop_at_deadline`] (the suite's ingest beside reads) it
//!   stops at the end instead, and the requests it was behind by are counted as `unsent`:
//!   a load that cannot keep up then shows it in its rate and `unsent`, and ends on time.
//!
//! Requests completed are counted whatever their status; `non_2xx` counts answers outside
//! 200–299 and `errors` requests that got no answer (connect failures and I/O errors,
//! including timeouts). A connection is dropped after an error or a `Connection: close`
//! answer and reopened for the next request.

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::error::BenchError;
use crate::http::{self, Connection, Endpoint};
use crate::latency::Latencies;
use crate::messages::MessageFactory;

/// What every request of a run is.
#[derive(Debug, Clone)]
pub enum Shape {
    /// Signed POSTs of distinct messages.
    Post {
        /// Request path, normally `/webhook`.
        path: String,
        /// The HMAC key.
        secret: Vec<u8>,
        /// Makes message `i`.
        factory: MessageFactory,
    },
    /// GETs of one path (with its query).
    Get {
        /// Path and query.
        path: String,
    },
}

impl Shape {
    /// A short label: `POST /webhook` or `GET /stats`.
    pub fn label(&self) -> String {
        match self {
            Shape::Post { path, .. } => format!("POST {path}"),
            Shape::Get { path } => format!("GET {path}"),
        }
    }
}

/// One load run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The server.
    pub endpoint: Endpoint,
    /// The requests.
    pub shape: Shape,
    /// Concurrent connections (one thread each).
    pub connections: usize,
    /// How long to send for.
    pub duration: Duration,
    /// Total requests per second, or `None` for flat out.
    pub rate: Option<f64>,
    /// Connect, read and write timeout.
    pub timeout: Duration,
    /// At a rate: stop at the end of `duration` even when behind schedule, counting the
    /// requests not sent as [`LoadReport::unsent`], instead of sending them late.
    pub stop_at_deadline: bool,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// What was sent.
    pub label: String,
    /// Concurrent connections.
    pub connections: usize,
    /// The target rate, if any.
    pub rate: Option<f64>,
    /// Responses received (any status).
    pub requests: u64,
    /// From the start to the last response.
    pub elapsed: Duration,
    /// Latency of every response.
    pub latencies: Latencies,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Failed connection attempts.
    pub connect_errors: u64,
    /// Requests that got no answer after being written.
    pub io_errors: u64,
    /// At a rate with [`LoadConfig::stop_at_deadline`]: requests scheduled before the end
    /// that were never sent because their connection was behind.
    pub unsent: u64,
}

impl LoadReport {
    /// Responses per second.
    pub fn rps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }

    /// Responses with a status outside 200–299.
    pub fn non_2xx(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| !(200..300).contains(*s))
            .map(|(_, n)| n)
            .sum()
    }

    /// Connect and I/O errors.
    pub fn errors(&self) -> u64 {
        self.connect_errors + self.io_errors
    }

    /// Requests the schedule asked for: answered, failed and (with
    /// [`LoadConfig::stop_at_deadline`]) never sent. Only meaningful at a rate.
    pub fn scheduled(&self) -> u64 {
        self.requests + self.errors() + self.unsent
    }

    /// The one-line summary.
    pub fn line(&self) -> String {
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}:{n}"))
            .collect();
        let unsent = if self.unsent > 0 {
            format!(
                " unsent={} (of {} scheduled)",
                self.unsent,
                self.scheduled()
            )
        } else {
            String::new()
        };
        format!(
            "{} c={} requests={} rps={:.0} p50_ms={:.3} p99_ms={:.3} p999_ms={:.3} non2xx={} errors={} (connect={} io={}){unsent} statuses={}",
            self.label,
            self.connections,
            self.requests,
            self.rps(),
            self.latencies.percentile_ms(50.0),
            self.latencies.percentile_ms(99.0),
            self.latencies.percentile_ms(99.9),
            self.non_2xx(),
            self.errors(),
            self.connect_errors,
            self.io_errors,
            if statuses.is_empty() {
                "-".to_owned()
            } else {
                statuses.join(",")
            }
        )
    }

    /// The machine-readable summary.
    pub fn json(&self) -> serde_json::Value {
        let statuses: serde_json::Map<String, serde_json::Value> = self
            .statuses
            .iter()
            .map(|(s, n)| (s.to_string(), json!(n)))
            .collect();
        json!({
            "shape": self.label,
            "connections": self.connections,
            "rate": self.rate,
            "mode": if self.rate.is_some() { "open-loop" } else { "closed-loop" },
            "requests": self.requests,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "rps": self.rps(),
            "p50_ms": self.latencies.percentile_ms(50.0),
            "p99_ms": self.latencies.percentile_ms(99.0),
            "p999_ms": self.latencies.percentile_ms(99.9),
            "max_ms": self.latencies.percentile_ms(100.0),
            "non_2xx": self.non_2xx(),
            "errors": self.errors(),
            "connect_errors": self.connect_errors,
            "io_errors": self.io_errors,
            "unsent": self.unsent,
            "statuses": statuses,
        })
    }
}

/// What one connection's thread brings back.
#[derive(Debug, Default)]
struct WorkerTally {
    samples: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    connect_errors: u64,
    io_errors: u64,
    unsent: u64,
    last_answer: Option<Instant>,
}

/// Runs the load and gathers the report.
pub fn run(config: &LoadConfig) -> Result<LoadReport, BenchError> {
    let connections = config.connections.max(1);
    let shape = Arc::new(config.shape.clone());
    // Everyone connects first; the clock starts when all are ready.
    let barrier = Arc::new(Barrier::new(connections + 1));
    let start_slot = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut handles = Vec::with_capacity(connections);
    for w in 0..connections {
        let shape = Arc::clone(&shape);
        let barrier = Arc::clone(&barrier);
        let start_slot = Arc::clone(&start_slot);
        let config = config.clone();
        let handle = std::thread::Builder::new()
            .name(format!("load-{w}"))
            .spawn(move || worker(&config, &shape, w, connections, &barrier, &start_slot));
        match handle {
            Ok(h) => handles.push(h),
            Err(e) => {
                // The threads already started wait at the barrier forever otherwise.
                return Err(BenchError::Thread(format!(
                    "cannot start connection thread {w}: {e}"
                )));
            }
        }
    }
    let start = Instant::now();
    let _ = start_slot.set(start);
    barrier.wait();

    let mut samples = Vec::new();
    let mut report = LoadReport {
        label: config.shape.label(),
        connections,
        rate: config.rate,
        requests: 0,
        elapsed: Duration::ZERO,
        latencies: Latencies::default(),
        statuses: BTreeMap::new(),
        connect_errors: 0,
        io_errors: 0,
        unsent: 0,
    };
    let mut last = start;
    for h in handles {
        let tally = h
            .join()
            .map_err(|_| BenchError::Thread("a connection thread panicked".to_owned()))?;
        samples.extend_from_slice(&tally.samples);
        for (s, n) in tally.statuses {
            *report.statuses.entry(s).or_default() += n;
        }
        report.connect_errors += tally.connect_errors;
        report.io_errors += tally.io_errors;
        report.unsent += tally.unsent;
        if let Some(t) = tally.last_answer {
            last = last.max(t);
        }
    }
    report.requests = samples.len() as u64;
    report.elapsed = last.duration_since(start);
    report.latencies = Latencies::from_samples(samples);
    Ok(report)
}

/// One connection's loop.
fn worker(
    config: &LoadConfig,
    shape: &Shape,
    w: usize,
    connections: usize,
    barrier: &Barrier,
    start_slot: &std::sync::OnceLock<Instant>,
) -> WorkerTally {
    let mut tally = WorkerTally::default();
    let mut conn: Option<Connection> = match config.endpoint.connect(config.timeout) {
        Ok(c) => Some(c),
        Err(_) => {
            tally.connect_errors += 1;
            None
        }
    };
    barrier.wait();
    let start = start_slot.get().copied().unwrap_or_else(Instant::now);
    let deadline = start + config.duration;
    let interval = config
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(connections as f64 / r));
    let offset = interval.map(|i| i.mul_f64(w as f64 / connections as f64));

    let authority = config.endpoint.authority().to_owned();
    let mut request = Vec::with_capacity(1024);
    let mut body = Vec::with_capacity(512);
    if let Shape::Get { path } = shape {
        http::write_get(&mut request, &authority, path);
    }
    let mut k: u64 = 0;
    loop {
        let scheduled = match (interval, offset) {
            (Some(i), Some(o)) => {
                let at = start + o + i.mul_f64(k as f64);
                let now = Instant::now();
                if at >= deadline {
                    break;
                }
                if config.stop_at_deadline && now >= deadline {
                    // Behind at the end: this and every later slot before the deadline.
                    tally.unsent += slots_before(deadline - (start + o), i).saturating_sub(k);
                    break;
                }
                if at > now {
                    std::thread::sleep(at - now);
                }
                at
            }
            _ => {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                now
            }
        };
        let index = k * connections as u64 + w as u64;
        k += 1;
        if let Shape::Post {
            path,
            secret,
            factory,
        } = shape
        {
            factory.body(index, &mut body);
            let signature = hookline_signature::sign(secret, &body);
            request.clear();
            http::write_signed_post(&mut request, &authority, path, &signature, &body);
        }
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match config.endpoint.connect(config.timeout) {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    tally.connect_errors += 1;
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            },
        };
        match c.roundtrip(&request) {
            Ok(head) => {
                let now = Instant::now();
                let us = now.duration_since(scheduled).as_micros();
                tally.samples.push(u32::try_from(us).unwrap_or(u32::MAX));
                *tally.statuses.entry(head.status).or_default() += 1;
                tally.last_answer = Some(now);
                if head.close {
                    conn = None;
                }
            }
            Err(_) => {
                tally.io_errors += 1;
                conn = None;
            }
        }
    }
    tally
}

/// How many slots `k ≥ 0` of a connection's schedule, `k × interval` after its first,
/// fall before `span` has passed since that first slot.
fn slots_before(span: Duration, interval: Duration) -> u64 {
    if interval.is_zero() {
        return 0;
    }
    (span.as_secs_f64() / interval.as_secs_f64()).ceil() as u64
}

/// Parses `10s`, `500ms`, `2m`, `1.5s` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 10s, 500ms or 2m"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("{s:?} is not a positive duration"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        for bad in ["", "s", "-1s", "0", "ten"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn report_counts_non_2xx_and_rates() {
        let report = LoadReport {
            label: "GET /".to_owned(),
            connections: 2,
            rate: None,
            requests: 4,
            elapsed: Duration::from_secs(2),
            latencies: Latencies::from_samples(vec![1000, 2000, 3000, 4000]),
            statuses: BTreeMap::from([(200, 2), (204, 1), (503, 1)]),
            connect_errors: 1,
            io_errors: 2,
            unsent: 0,
        };
        assert_eq!(report.non_2xx(), 1);
        assert_eq!(report.errors(), 3);
        assert_eq!(report.rps(), 2.0);
        let json = report.json();
        assert_eq!(json["p50_ms"], 2.0);
        assert_eq!(json["statuses"]["503"], 1);
        assert!(report.line().contains("non2xx=1 errors=3"));
        assert!(!report.line().contains("unsent"));
        assert_eq!(report.scheduled(), 7);
    }

    /// A server that answers every request `delay` late, one connection at a time each.
    fn slow_server(delay: Duration) -> Endpoint {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                std::thread::spawn(move || {
                    let Ok(read_half) = stream.try_clone() else {
                        return;
                    };
                    let mut reader = BufReader::new(read_half);
                    let mut out = stream;
                    let mut line = String::new();
                    loop {
                        // A GET has no body: the request ends with its empty line.
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        std::thread::sleep(delay);
                        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                        if out.write_all(answer).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Endpoint::parse(&format!("http://{addr}")).unwrap()
    }

    fn slow_config(duration: Duration, stop_at_deadline: bool) -> LoadConfig {
        LoadConfig {
            endpoint: slow_server(Duration::from_millis(50)),
            shape: Shape::Get {
                path: "/".to_owned(),
            },
            connections: 1,
            duration,
            rate: Some(100.0),
            timeout: Duration::from_secs(5),
            stop_at_deadline,
        }
    }

    #[test]
    fn behind_schedule_a_load_stopping_at_its_deadline_counts_what_it_did_not_send() {
        // One request every 10 ms for 400 ms (40), answered 50 ms late: about 8 get sent.
        let started = Instant::now();
        let report = run(&slow_config(Duration::from_millis(400), true)).unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(700),
            "it ran late"
        );
        assert_eq!(report.scheduled(), 40, "{}", report.line());
        assert!((4..=10).contains(&report.requests), "{}", report.line());
        assert_eq!(report.unsent, 40 - report.requests);
        assert!(report.rps() < 30.0, "{}", report.line());
        assert!(report.line().contains(" unsent="));
        // Latency counts from the scheduled time: the last requests waited hundreds of ms.
        assert!(report.latencies.percentile_ms(100.0) > 200.0);
    }

    #[test]
    fn behind_schedule_a_load_by_default_sends_everything_late() {
        // 10 requests scheduled over 100 ms, 50 ms each: all sent, the last ~0.5 s in.
        let report = run(&slow_config(Duration::from_millis(100), false)).unwrap();
        assert_eq!(report.requests, 10, "{}", report.line());
        assert_eq!(report.unsent, 0);
        assert!(report.elapsed >= Duration::from_millis(450));
    }

    #[test]
    fn slots_of_a_schedule() {
        let ms = Duration::from_millis;
        assert_eq!(slots_before(ms(10), ms(5)), 2); // 0 and 5 ms; 10 ms is not before
        assert_eq!(slots_before(ms(11), ms(5)), 3);
        assert_eq!(slots_before(ms(0), ms(5)), 0);
        assert_eq!(slots_before(ms(10), Duration::ZERO), 0);
    }
}
