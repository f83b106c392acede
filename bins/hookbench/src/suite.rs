//! `hookbench suite`: the reproducible benchmark behind `make bench`.
//!
//! Phases, each against the real release server started by [`RunningServer`]:
//! 1. an empty database: `/health/live` flat out at 64 connections, then signed ingest at
//!    64 connections (default `LOG_LEVEL=INFO`: per-request logs are part of the product);
//! 2. another empty database with `LOG_LEVEL=WARN`: the same ingest, to show what the
//!    request log costs (skip with `--no-warn-row`);
//! 3. a third database seeded to `--rows` rows with [`crate::seed`], and what its file
//!    spends its bytes on ([`crate::disk`]); the server's start-up
//!    time on it (spawn → `/health/ready` 200); then, *at exactly that size*, `/health/live`
//!    and every read shape at 8 connections, each read's p50 divided by that
//!    `/health/live` p50 (same server, same client, same concurrency, same minute) — a
//!    rare phrase among them; then `q` needles the server was never asked (so no count or
//!    match is kept for them), each requested once: five four-word phrases in ~0.04% of
//!    the rows (≤ 20 ms each) and five parts of a word in ~58% (≤ 150 ms each);
//! 4. ingest at 64 connections into that database; the server is stopped and the file
//!    measured again ([`crate::disk`]);
//! 5. reads while ingest runs (skip with `--no-busy-reads`): the server restarted on that
//!    database, and for every read shape of phase 3, an open-loop ingest at `--busy-rate`
//!    (10,000/s) over 64 connections, and beside it `/health/live` then the read at 8
//!    connections, the read's p50 divided by that `/health/live` p50 as in phase 3. The
//!    ingest stops with the read even when behind schedule, counting what it did not send,
//!    and gets its own row (achieved rate, p99, unsent), so a read is only "met" while the
//!    ingest really ran at the rate. The database grows by the rate × the phase's length
//!    (~0.5M rows), and each row gives its size at the start;
//! 6. with `--postgres-url` (what `make bench` passes, on a throw-away cluster with
//!    `fsync` on): ingest at 64 connections into an empty PostgreSQL database — one
//!    replica, so comparable with phase 1; the row has no target (the targets are SQLite's).
//!
//! The peak RSS is the largest `VmHWM` of the server processes. Every phase uses the
//! in-process load generator of [`crate::load`] (closed loop, except the ingest of phase 5),
//! so client and server share the machine's cores, as they did for the reference figures
//! the targets came with.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hookline_sqlite::DiskUsage;

use crate::disk;
use crate::error::BenchError;
use crate::http::Endpoint;
use crate::load::{self, LoadConfig, LoadReport, Shape};
use crate::messages::{self, MID_RANGE, MessageFactory};
use crate::seed;
use crate::server::{RunningServer, ServerSpec};

/// The marker lines around the suite's section of the `--out` file.
pub const BEGIN: &str = "<!-- bench-suite:begin -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- bench-suite:end -->";

/// The targets of docs/PERFORMANCE.md, "Targets".
const INGEST_RPS: f64 = 20_000.0;
const INGEST_P99_MS: f64 = 20.0;
const READ_RATIO: f64 = 5.0;
const PEAK_RSS_MIB: f64 = 100.0;
const STARTUP_S: f64 = 1.0;
/// A `q` in at most 1% of the rows, never asked before (issue 9).
const FIRST_RARE_MS: f64 = 20.0;
/// A `q` in about half of the rows, never asked before (issue 9).
const FIRST_HALF_MS: f64 = 150.0;
/// The share of its scheduled requests an open-loop ingest must send for the reads beside
/// it to count as "while ingest runs at the rate".
const BUSY_SENT_SHARE: f64 = 0.99;
/// How long the ingest of phase 5 runs before its `/health/live` starts, and after the
/// read is due to end (the read's own connections and last answers take a moment).
const BUSY_LEAD: Duration = Duration::from_millis(500);
/// See [`BUSY_LEAD`].
const BUSY_TAIL: Duration = Duration::from_millis(250);

/// How long `/health/live` runs right before a read of `read` length: a third of it, at
/// least 2 s (no longer than the read).
fn adjacent_live(read: Duration) -> Duration {
    (read / 3).max(Duration::from_secs(2)).min(read)
}

/// Whether an open-loop ingest ran at its rate: it sent at least [`BUSY_SENT_SHARE`] of
/// the requests its schedule asked for, and every one was answered with a 2xx.
fn kept_up(ingest: &LoadReport) -> bool {
    ingest.requests as f64 >= BUSY_SENT_SHARE * ingest.scheduled() as f64
        && ingest.non_2xx() == 0
        && ingest.errors() == 0
}

/// How long the ingest beside one read of phase 5 runs.
fn busy_ingest_duration(read: Duration) -> Duration {
    BUSY_LEAD + adjacent_live(read) + read + BUSY_TAIL
}

/// Settings of one suite run.
#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// Rows seeded before the large-database phases.
    pub rows: u64,
    /// Length of every ingest and throughput phase.
    pub duration: Duration,
    /// Length of every read phase.
    pub read_duration: Duration,
    /// Connections of the ingest and throughput phases.
    pub connections: usize,
    /// Connections of the read phases.
    pub read_connections: usize,
    /// The rate of the ingest that runs during the reads of phase 5; `None` skips them.
    pub busy_rate: Option<f64>,
    /// Length of each read of phase 5.
    pub busy_read_duration: Duration,
    /// Senders in the generated data.
    pub senders: u64,
    /// Messages per `insert_many` call while seeding.
    pub group: usize,
    /// The server binary.
    pub server: PathBuf,
    /// Where the databases and logs go (a fresh folder is made inside).
    pub workdir: PathBuf,
    /// Keep that folder afterwards.
    pub keep: bool,
    /// Skip the `LOG_LEVEL=WARN` ingest row.
    pub no_warn_row: bool,
    /// An empty PostgreSQL database for the PostgreSQL ingest row.
    pub postgres_url: Option<String>,
    /// The command line, for the record.
    pub command: String,
}

/// One line of the table.
#[derive(Debug, Clone)]
struct Row {
    phase: String,
    load: Option<LoadReport>,
    /// Throughput figure for rows without a load (seeding).
    rps: Option<f64>,
    ratio: Option<f64>,
    target: String,
    met: Option<bool>,
}

impl Row {
    fn info(phase: String, load: LoadReport) -> Self {
        Self {
            phase,
            load: Some(load),
            rps: None,
            ratio: None,
            target: "–".to_owned(),
            met: None,
        }
    }

    fn ingest(phase: String, load: LoadReport) -> Self {
        let met = load.rps() >= INGEST_RPS
            && load.latencies.percentile_ms(99.0) <= INGEST_P99_MS
            && load.non_2xx() == 0
            && load.errors() == 0;
        Self {
            phase,
            load: Some(load),
            rps: None,
            ratio: None,
            target: format!("≥ {INGEST_RPS:.0}/s, p99 ≤ {INGEST_P99_MS} ms, all 2xx"),
            met: Some(met),
        }
    }

    fn read(phase: String, load: LoadReport, live_p50_ms: f64) -> Self {
        let ratio = if live_p50_ms > 0.0 {
            load.latencies.percentile_ms(50.0) / live_p50_ms
        } else {
            f64::INFINITY
        };
        let met = ratio <= READ_RATIO && load.non_2xx() == 0 && load.errors() == 0;
        Self {
            phase,
            load: Some(load),
            rps: None,
            ratio: Some(ratio),
            target: format!("p50 ≤ {READ_RATIO}× live, all 2xx"),
            met: Some(met),
        }
    }

    fn figure(phase: String, target: String, met: Option<bool>) -> Self {
        Self {
            phase,
            load: None,
            rps: None,
            ratio: None,
            target,
            met,
        }
    }
}

/// The running state of a suite: its rows and where it works.
struct Suite<'a> {
    config: &'a SuiteConfig,
    dir: PathBuf,
    secret: String,
    rows: Vec<Row>,
    peak_rss_kib: Vec<(String, u64)>,
    /// What the large database's file holds, as (when, measurement).
    disk: Vec<(String, DiskUsage)>,
}

/// A temporary folder removed on drop unless kept.
struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Runs the suite; prints progress to stderr and returns the markdown section.
pub fn run(config: &SuiteConfig) -> Result<String, BenchError> {
    if !config.server.is_file() {
        return Err(BenchError::Usage {
            option: "--server",
            reason: format!(
                "{} is not a file: build it with `cargo build --release -p hookline`",
                config.server.display()
            ),
        });
    }
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let dir = config
        .workdir
        .join(format!("hookbench-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| BenchError::File {
        what: "cannot create",
        path: dir.clone(),
        source,
    })?;
    let dir = std::fs::canonicalize(&dir).map_err(|source| BenchError::File {
        what: "cannot resolve",
        path: dir.clone(),
        source,
    })?;
    let work = WorkDir {
        path: dir.clone(),
        keep: config.keep,
    };
    eprintln!(
        "hookbench suite: working in {} ({})",
        dir.display(),
        filesystem_of(&dir)
    );
    let mut suite = Suite {
        config,
        dir,
        secret: format!("bench-{stamp}"),
        rows: Vec::new(),
        peak_rss_kib: Vec::new(),
        disk: Vec::new(),
    };
    let started = std::time::Instant::now();
    suite.empty_database("INFO")?;
    if !config.no_warn_row {
        suite.empty_database("WARN")?;
    }
    suite.large_database()?;
    if let Some(url) = &config.postgres_url {
        suite.postgres(url)?;
    }
    let section = suite.render(started.elapsed());
    drop(work);
    Ok(section)
}

impl Suite<'_> {
    fn spec(&self, name: &str, log_level: &str) -> ServerSpec {
        ServerSpec {
            binary: self.config.server.clone(),
            secret: self.secret.clone(),
            database: self.dir.join(format!("{name}.db")),
            database_url: None,
            log_level: log_level.to_owned(),
            log: self.dir.join(format!("{name}.log")),
        }
    }

    fn load(
        &self,
        endpoint: &Endpoint,
        shape: Shape,
        connections: usize,
        duration: Duration,
    ) -> Result<LoadReport, BenchError> {
        let report = load::run(&LoadConfig {
            endpoint: endpoint.clone(),
            shape,
            connections,
            duration,
            rate: None,
            timeout: Duration::from_secs(30),
            stop_at_deadline: false,
        })?;
        eprintln!("  {}", report.line());
        Ok(report)
    }

    fn ingest_shape(&self, prefix: &str) -> Shape {
        Shape::Post {
            path: "/webhook".to_owned(),
            secret: self.secret.clone().into_bytes(),
            factory: MessageFactory::new(prefix, self.config.senders),
        }
    }

    fn record_rss(&mut self, name: &str, server: &RunningServer) {
        if let Some(kib) = server.peak_rss_kib() {
            self.peak_rss_kib.push((name.to_owned(), kib));
        }
    }

    /// Phase 1 (INFO) or the extra WARN row: a fresh empty database.
    fn empty_database(&mut self, log_level: &str) -> Result<(), BenchError> {
        let name = format!("empty-{}", log_level.to_ascii_lowercase());
        eprintln!("phase: empty database, LOG_LEVEL={log_level}");
        let server = RunningServer::start(&self.spec(&name, log_level))?;
        let c = self.config.connections;
        let d = self.config.duration;
        if log_level == "INFO" {
            let live = self.load(
                server.endpoint(),
                Shape::Get {
                    path: "/health/live".to_owned(),
                },
                c,
                d,
            )?;
            self.rows
                .push(Row::info(format!("`GET /health/live`, {c} conn"), live));
        }
        let ingest = self.load(server.endpoint(), self.ingest_shape(&name), c, d)?;
        let phase = if log_level == "INFO" {
            format!("ingest, empty db, {c} conn")
        } else {
            format!("ingest, empty db, {c} conn, `LOG_LEVEL={log_level}` (extra)")
        };
        self.rows.push(Row::ingest(phase, ingest));
        self.record_rss(&name, &server);
        server.stop()
    }

    /// Phase 5: ingest into an empty PostgreSQL database, one replica.
    fn postgres(&mut self, url: &str) -> Result<(), BenchError> {
        eprintln!("phase: PostgreSQL, empty database");
        let spec = ServerSpec {
            database_url: Some(url.to_owned()),
            ..self.spec("postgres", "INFO")
        };
        let server = RunningServer::start(&spec)?;
        let c = self.config.connections;
        let ingest = self.load(
            server.endpoint(),
            self.ingest_shape("postgres"),
            c,
            self.config.duration,
        )?;
        let mut row = Row::ingest(
            format!("ingest, PostgreSQL (empty, one replica), {c} conn (extra)"),
            ingest,
        );
        row.target = "–".to_owned();
        row.met = None;
        self.rows.push(row);
        server.stop()
    }

    /// Phases 3–4: seed, start-up, reads at that size, then ingest.
    fn large_database(&mut self) -> Result<(), BenchError> {
        let rows = self.config.rows;
        let spec = self.spec("large", "INFO");
        eprintln!(
            "phase: seeding {} rows into {}",
            thousands(rows),
            spec.database.display()
        );
        let factory = MessageFactory::new("seed", self.config.senders);
        let mut next_note = 0;
        let seeded = seed::run(&spec.database, rows, self.config.group, &factory, |done| {
            if done >= next_note {
                eprintln!("  seeded {}", thousands(done));
                next_note += (rows / 10).max(1);
            }
        })?;
        eprintln!(
            "  seeded {} rows in {:.1} s ({:.0} rows/s)",
            thousands(seeded.rows),
            seeded.elapsed.as_secs_f64(),
            seeded.rows_per_sec()
        );
        let mut seed_row = Row::figure(
            format!(
                "seed {} rows with `insert_many`, {} per call (no server)",
                thousands(seeded.rows),
                thousands(self.config.group as u64)
            ),
            "–".to_owned(),
            None,
        );
        seed_row.rps = Some(seeded.rows_per_sec());
        self.rows.push(seed_row);
        self.measure_disk(
            &spec.database,
            format!("as seeded ({} rows, no server yet)", thousands(rows)),
        )?;

        eprintln!("phase: server on the {}-row database", thousands(rows));
        let server = RunningServer::start(&spec)?;
        let startup = server.startup().as_secs_f64();
        self.rows.push(Row::figure(
            format!(
                "start-up on the {}-row db (spawn → `/health/ready` 200): **{:.3} s**",
                thousands(rows),
                startup
            ),
            format!("≤ {STARTUP_S} s"),
            Some(startup <= STARTUP_S),
        ));

        let rc = self.config.read_connections;
        let rd = self.config.read_duration;
        let live = self.load(
            server.endpoint(),
            Shape::Get {
                path: "/health/live".to_owned(),
            },
            rc,
            rd,
        )?;
        self.rows.push(Row::info(
            format!(
                "`GET /health/live`, {rc} conn, {}-row db, before all reads",
                thousands(rows)
            ),
            live,
        ));

        // Each read is compared with `/health/live` measured right before it, on the same
        // server and connections: the machine's speed drifts over a run (see
        // docs/PERFORMANCE.md), and a ratio should compare two moments of the same machine.
        let adjacent = adjacent_live(rd);
        for (label, path) in read_shapes(server.endpoint())? {
            let before = self.load(
                server.endpoint(),
                Shape::Get {
                    path: "/health/live".to_owned(),
                },
                rc,
                adjacent,
            )?;
            let before_p50 = before.latencies.percentile_ms(50.0);
            let report = self.load(server.endpoint(), Shape::Get { path }, rc, rd)?;
            self.rows.push(Row::read(
                format!("{label}, {rc} conn (live p50 just before: {before_p50:.3} ms)"),
                report,
                before_p50,
            ));
        }

        self.first_time_q(server.endpoint())?;

        let c = self.config.connections;
        let ingest = self.load(
            server.endpoint(),
            self.ingest_shape("ingest"),
            c,
            self.config.duration,
        )?;
        self.rows.push(Row::ingest(
            format!("ingest, {}-row db, {c} conn", thousands(rows)),
            ingest,
        ));
        self.record_rss("large", &server);
        server.stop()?;
        self.measure_disk(
            &spec.database,
            format!(
                "after the ingest into the {}-row db (server stopped)",
                thousands(rows)
            ),
        )?;

        if let Some(rate) = self.config.busy_rate {
            eprintln!(
                "phase: reads while ingest runs at {}/s, server restarted on the same database",
                thousands(rate.round() as u64)
            );
            let server = RunningServer::start(&spec)?;
            self.busy_reads(server.endpoint(), rate)?;
            self.record_rss("large-busy", &server);
            server.stop()?;
        }
        Ok(())
    }

    /// Measures the database file (read-only) and keeps the table for the section.
    fn measure_disk(&mut self, path: &Path, when: String) -> Result<(), BenchError> {
        let started = std::time::Instant::now();
        let usage = disk::measure(path)?;
        eprintln!(
            "  disk: {} bytes for {} messages ({:.0} B/message), measured in {:.1} s",
            thousands(usage.database_bytes),
            thousands(usage.messages),
            usage.database_bytes as f64 / usage.messages.max(1) as f64,
            started.elapsed().as_secs_f64()
        );
        self.disk.push((when, usage));
        Ok(())
    }

    /// Phase 5: every read shape while an open-loop ingest at `rate` runs beside it, each
    /// read compared with `/health/live` measured under that same ingest right before it.
    fn busy_reads(&mut self, endpoint: &Endpoint, rate: f64) -> Result<(), BenchError> {
        let rc = self.config.read_connections;
        let c = self.config.connections;
        let rd = self.config.busy_read_duration;
        // As in phase 3: `/health/live` for a third of the read, at least 2 s. The ingest
        // starts first and ends after the read, so both run inside it.
        let adjacent = adjacent_live(rd);
        let rate_label = thousands(rate.round() as u64);
        for (i, (label, path)) in read_shapes(endpoint)?.into_iter().enumerate() {
            let rows_at_start = total_messages(endpoint)?;
            let ingest_config = LoadConfig {
                endpoint: endpoint.clone(),
                shape: self.ingest_shape(&format!("busy{i}")),
                connections: c,
                duration: busy_ingest_duration(rd),
                rate: Some(rate),
                timeout: Duration::from_secs(30),
                stop_at_deadline: true,
            };
            let ingest = std::thread::Builder::new()
                .name("busy-ingest".to_owned())
                .spawn(move || load::run(&ingest_config))
                .map_err(|e| BenchError::Thread(format!("cannot start the ingest: {e}")))?;
            std::thread::sleep(BUSY_LEAD);
            let before = self.load(
                endpoint,
                Shape::Get {
                    path: "/health/live".to_owned(),
                },
                rc,
                adjacent,
            )?;
            let before_p50 = before.latencies.percentile_ms(50.0);
            let read = self.load(endpoint, Shape::Get { path }, rc, rd)?;
            let ingest = ingest
                .join()
                .map_err(|_| BenchError::Thread("the ingest thread panicked".to_owned()))??;
            eprintln!("  beside it: {}", ingest.line());

            let scheduled = ingest.scheduled();
            let kept_up = kept_up(&ingest);
            let mut read_row = Row::read(
                format!(
                    "{label}, {rc} conn, **while ingest runs at {rate_label}/s** ({} rows at \
                     start; live p50 just before, same ingest: {before_p50:.3} ms){}",
                    thousands(rows_at_start),
                    if kept_up {
                        ""
                    } else {
                        " — **the ingest fell behind** (next row), so this is not a read \
                         at that rate"
                    }
                ),
                read,
                before_p50,
            );
            read_row.target = format!("p50 ≤ {READ_RATIO}× live, all 2xx, ingest kept up");
            read_row.met = read_row.met.map(|m| m && kept_up);
            self.rows.push(read_row);

            let sent = if ingest.unsent > 0 {
                format!(
                    "; **behind schedule: {} of {} requests not sent**",
                    thousands(ingest.unsent),
                    thousands(scheduled)
                )
            } else {
                String::new()
            };
            let mut ingest_row = Row::info(
                format!(
                    "↳ the ingest beside that read and its live: open loop at {rate_label}/s, {c} \
                     conn, {} s, latency from each request's scheduled time{sent}",
                    fmt_secs(busy_ingest_duration(rd))
                ),
                ingest,
            );
            ingest_row.target = format!(
                "≥ {:.0}% of its requests sent, all 2xx",
                BUSY_SENT_SHARE * 100.0
            );
            ingest_row.met = Some(kept_up);
            self.rows.push(ingest_row);
        }
        Ok(())
    }

    /// `q` needles the server has never been asked (so no count is kept for them), each
    /// requested once: rare phrases (four words in an order no other phase asks, ~0.04%
    /// of the seeded rows) and needles in about half of the rows (parts of one word).
    fn first_time_q(&mut self, endpoint: &Endpoint) -> Result<(), BenchError> {
        let shapes: [(&str, &[&str], f64); 2] = [
            (
                "a four-word phrase in ~0.04% of rows",
                &[
                    "refund status hello order",
                    "order hello status refund",
                    "cancel invoice thanks shipped",
                    "please tomorrow call delivered",
                    "status shipped refund thanks",
                ],
                FIRST_RARE_MS,
            ),
            (
                "part of a word, in ~58% of rows",
                &["tatus", "nvoic", "hippe", "ancel", "omorro"],
                FIRST_HALF_MS,
            ),
        ];
        for (label, needles, target) in shapes {
            let mut took = Vec::new();
            for needle in needles {
                let path = format!("/messages?q={}", needle.replace(' ', "%20"));
                let started = std::time::Instant::now();
                let (status, _) =
                    endpoint
                        .get(&path, Duration::from_secs(30))
                        .map_err(|source| BenchError::Request {
                            path: path.clone(),
                            source,
                        })?;
                if status != 200 {
                    return Err(BenchError::Answer {
                        path,
                        reason: format!("status {status}"),
                    });
                }
                took.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            let max = took.iter().copied().fold(0.0, f64::max);
            let mut sorted = took.clone();
            sorted.sort_by(f64::total_cmp);
            let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
            self.rows.push(Row::figure(
                format!(
                    "`GET /messages?q=…` never asked before, {label}: {} needles once each, \
                     median **{median:.1} ms**, max {max:.1} ms",
                    took.len()
                ),
                format!("each ≤ {target} ms"),
                Some(max <= target),
            ));
        }
        Ok(())
    }

    /// The markdown section (markers included).
    fn render(&self, took: Duration) -> String {
        let config = self.config;
        let mut s = String::new();
        let _ = writeln!(s, "{BEGIN}");
        let _ = writeln!(s, "## Benchmark suite (`make bench`)\n");
        let _ = writeln!(
            s,
            "Written by `hookbench suite`; everything between the `bench-suite` markers is \
             replaced on every run.\n"
        );
        let now = time::OffsetDateTime::now_utc();
        let _ = writeln!(
            s,
            "- **Date**: {}-{:02}-{:02} {:02}:{:02} UTC (suite took {:.0} s)",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            took.as_secs_f64()
        );
        let _ = writeln!(s, "- **Command**: `{}`", config.command);
        let _ = writeln!(s, "- **Machine**: {}", machine_info());
        let _ = writeln!(
            s,
            "- **Disk**: databases and server logs in a fresh folder under `{}` ({})",
            config.workdir.display(),
            filesystem_of(&self.dir)
        );
        let _ = writeln!(
            s,
            "- **Server**: `{}` (release), `LOG_LEVEL=INFO` (one JSON log line per request, \
             written to a file on that disk) unless the row says otherwise",
            config.server.display()
        );
        let _ = writeln!(
            s,
            "- **Client**: `hookbench load` in the same process tree on the same cores: one \
             thread per keep-alive connection, closed loop (the next request leaves when the \
             answer is read); latency is request written → whole answer read. Ingest and \
             throughput phases {} s each, reads {} s each at {} connections; ingest posts \
             distinct, correctly signed messages from {} senders.",
            fmt_secs(config.duration),
            fmt_secs(config.read_duration),
            config.read_connections,
            thousands(config.senders)
        );
        let _ = writeln!(
            s,
            "- **× live**: a read's p50 divided by the p50 of `/health/live` measured on the \
             same server, at the same concurrency, right before that read (for a third of the \
             read's duration, at least 2 s; shown in the row). The baseline row is a longer \
             `/health/live` phase before all the reads. The reads run on the database at \
             exactly the seeded size, before the large-database ingest."
        );
        if let Some(rate) = config.busy_rate {
            let rd = config.busy_read_duration;
            let _ = writeln!(
                s,
                "- **While ingest runs**: the rows marked so come last, on the large database \
                 after its ingest, the server restarted on it. For each read shape an \
                 open-loop ingest of distinct signed messages at {}/s over {} connections \
                 (each connection on its own schedule, latency from the scheduled time) runs \
                 from {} ms before `/health/live` ({} s) and the read ({} s, both at {} \
                 connections) to {} ms after; the ratio is to that `/health/live`. The ingest \
                 stops on time even when behind, counting what it could not send; its row \
                 (↳) shows the rate it achieved and its p99, and the read is met only if the \
                 ingest sent ≥ {:.0}% of its requests, all 2xx. The database grows by the \
                 ingest (~{} rows per shape).",
                thousands(rate.round() as u64),
                config.connections,
                BUSY_LEAD.as_millis(),
                fmt_secs(adjacent_live(rd)),
                fmt_secs(rd),
                config.read_connections,
                BUSY_TAIL.as_millis(),
                BUSY_SENT_SHARE * 100.0,
                thousands((rate * busy_ingest_duration(rd).as_secs_f64()).round() as u64)
            );
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "| phase | requests | rps | p50 ms | p99 ms | p999 ms | × live p50 | non-2xx / errors | target | met |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
        let dash = "–";
        for row in &self.rows {
            let (requests, rps, p50, p99, p999, bad) = match &row.load {
                Some(l) => (
                    thousands(l.requests),
                    thousands(l.rps().round() as u64),
                    format!("{:.3}", l.latencies.percentile_ms(50.0)),
                    format!("{:.3}", l.latencies.percentile_ms(99.0)),
                    format!("{:.3}", l.latencies.percentile_ms(99.9)),
                    format!("{} / {}", l.non_2xx(), l.errors()),
                ),
                None => (
                    dash.to_owned(),
                    row.rps
                        .map_or(dash.to_owned(), |r| thousands(r.round() as u64)),
                    dash.to_owned(),
                    dash.to_owned(),
                    dash.to_owned(),
                    dash.to_owned(),
                ),
            };
            let ratio = row.ratio.map_or(dash.to_owned(), |r| format!("{r:.2}"));
            let _ = writeln!(
                s,
                "| {} | {requests} | {rps} | {p50} | {p99} | {p999} | {ratio} | {bad} | {} | {} |",
                row.phase,
                row.target,
                met(row.met)
            );
        }
        let peak = self.peak_rss_kib.iter().map(|(_, k)| *k).max();
        let peak_mib = peak.map(|k| k as f64 / 1024.0);
        let per_server: Vec<String> = self
            .peak_rss_kib
            .iter()
            .map(|(n, k)| format!("{n} {:.1}", *k as f64 / 1024.0))
            .collect();
        let _ = writeln!(
            s,
            "| peak RSS of the server (max `VmHWM`; per process, MiB: {}): **{}** | – | – | – | – | – | – | – | ≤ {PEAK_RSS_MIB} MiB | {} |",
            if per_server.is_empty() {
                "unavailable".to_owned()
            } else {
                per_server.join(", ")
            },
            peak_mib.map_or("unknown".to_owned(), |m| format!("{m:.1} MiB")),
            met(peak_mib.map(|m| m <= PEAK_RSS_MIB))
        );
        if !self.disk.is_empty() {
            let _ = writeln!(
                s,
                "\n### Disk bytes per message\n\nThe large database's file, measured \
                 read-only with SQLite's `dbstat` (`hookbench disk --database FILE`; \
                 `hookline_sqlite::disk_usage`). The two `q` indexes are FTS5's shadow tables \
                 (`messages_fts_*` of the trigrams, `messages_grams_*` of the word-boundary \
                 grams), the counters the kept statistics (`hookline_*`: totals, senders, day/hour/minute \
                 buckets, full-text watermark).\n"
            );
            for (when, usage) in &self.disk {
                let _ = writeln!(
                    s,
                    "**{when}**: {}\n\n{}",
                    disk::summary(usage),
                    disk::table(usage)
                );
            }
        }
        let _ = writeln!(s, "{END}");
        s
    }
}

/// `total_messages` of `/stats`: the database's size at a moment of the run.
fn total_messages(endpoint: &Endpoint) -> Result<u64, BenchError> {
    let path = "/stats";
    let (status, body) = endpoint
        .get(path, Duration::from_secs(30))
        .map_err(|source| BenchError::Request {
            path: path.to_owned(),
            source,
        })?;
    let answer = |reason: String| BenchError::Answer {
        path: path.to_owned(),
        reason,
    };
    if status != 200 {
        return Err(answer(format!("status {status}")));
    }
    let stats: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| answer(format!("not JSON: {e}")))?;
    stats
        .get("total_messages")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| answer("no total_messages".to_owned()))
}

/// The read shapes timed at size, as (label, path). The cursor is obtained by fetching a
/// page with `since` in the middle of the range and taking its `next_cursor`; the cursor
/// names a position only, so the timed request uses it without the filter: a page deep in
/// the whole set.
fn read_shapes(endpoint: &Endpoint) -> Result<Vec<(String, String)>, BenchError> {
    let probe = format!("/messages?since={MID_RANGE}&limit=100");
    let (status, body) = endpoint
        .get(&probe, Duration::from_secs(30))
        .map_err(|source| BenchError::Request {
            path: probe.clone(),
            source,
        })?;
    let answer = |reason: String| BenchError::Answer {
        path: probe.clone(),
        reason,
    };
    if status != 200 {
        return Err(answer(format!("status {status}")));
    }
    let page: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| answer(format!("not JSON: {e}")))?;
    let cursor = page
        .get("next_cursor")
        .and_then(|c| c.as_str())
        .ok_or_else(|| answer("no next_cursor (is the database seeded?)".to_owned()))?;
    if !cursor
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(answer(format!("cursor {cursor:?} is not URL-safe")));
    }
    let sender = messages::sender(17);
    let encoded_sender = sender.replace('+', "%2B");
    Ok(vec![
        ("`GET /stats`".to_owned(), "/stats".to_owned()),
        (
            "`GET /messages` (first page)".to_owned(),
            "/messages".to_owned(),
        ),
        (
            "`GET /messages?offset=100000`".to_owned(),
            "/messages?offset=100000".to_owned(),
        ),
        (
            format!("`GET /messages?cursor=…` (page after `{MID_RANGE}`)"),
            format!("/messages?cursor={cursor}"),
        ),
        (
            format!("`GET /messages?from={encoded_sender}`"),
            format!("/messages?from={encoded_sender}"),
        ),
        (
            format!("`GET /messages?since={MID_RANGE}`"),
            format!("/messages?since={MID_RANGE}"),
        ),
        (
            "`GET /messages?q=invoice`".to_owned(),
            "/messages?q=invoice".to_owned(),
        ),
        (
            "`GET /messages?q=please call tomorrow invoice` (~0.04% of rows)".to_owned(),
            "/messages?q=please%20call%20tomorrow%20invoice".to_owned(),
        ),
    ])
}

fn met(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "–",
    }
}

fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `nproc`, CPU model, memory and kernel, from `/proc`.
pub fn machine_info() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_owned(), |(_, m)| m.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or("unknown".to_owned(), |kib| {
            format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or("unknown".to_owned(), |k| k.trim().to_owned());
    format!("{cpus} CPUs ({model}), MemTotal {mem}, Linux {kernel}")
}

/// The filesystem type of the mount holding `path`, from `/proc/mounts`.
pub fn filesystem_of(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mut best: Option<(usize, String, String)> = None;
    for line in mounts.lines() {
        let mut fields = line.split_whitespace();
        let (Some(dev), Some(point), Some(fs)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if path.starts_with(point) && best.as_ref().is_none_or(|(len, _, _)| point.len() >= *len) {
            best = Some((point.len(), fs.to_owned(), dev.to_owned()));
        }
    }
    best.map_or("filesystem unknown".to_owned(), |(_, fs, dev)| {
        format!("{fs} on {dev}")
    })
}

/// Whether `path` is on a memory filesystem (the suite must measure the real disk).
pub fn is_memory_fs(path: &Path) -> bool {
    let fs = filesystem_of(path);
    fs.starts_with("tmpfs ") || fs.starts_with("ramfs ")
}

/// `existing` with the section between [`BEGIN`] and [`END`] replaced by `section` (which
/// carries the markers), or with `section` appended when the markers are absent.
pub fn replace_section(existing: &str, section: &str) -> String {
    if let Some(begin) = existing.find(BEGIN)
        && let Some(end_rel) = existing[begin..].find(END)
    {
        let mut end = begin + end_rel + END.len();
        if existing[end..].starts_with('\n') {
            end += 1;
        }
        return format!("{}{section}{}", &existing[..begin], &existing[end..]);
    }
    let mut out = existing.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(section);
    out
}

/// Writes `section` into the file at `path` (see [`replace_section`]), atomically.
pub fn write_section(path: &Path, section: &str) -> Result<(), BenchError> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(BenchError::File {
                what: "cannot read",
                path: path.to_owned(),
                source,
            });
        }
    };
    let updated = replace_section(&existing, section);
    let tmp = path.with_extension("md.hookbench-tmp");
    std::fs::write(&tmp, updated)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| BenchError::File {
            what: "cannot write",
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECTION: &str = "<!-- bench-suite:begin -->\nnew\n<!-- bench-suite:end -->\n";

    #[test]
    fn the_section_is_replaced_in_place() {
        let doc = "# Perf\n\nintro\n\n<!-- bench-suite:begin -->\nold\nold\n<!-- bench-suite:end -->\n\n## After\n";
        assert_eq!(
            replace_section(doc, SECTION),
            "# Perf\n\nintro\n\n<!-- bench-suite:begin -->\nnew\n<!-- bench-suite:end -->\n\n## After\n"
        );
    }

    #[test]
    fn the_section_is_appended_when_the_markers_are_absent() {
        assert_eq!(
            replace_section("# Perf\ntext", SECTION),
            format!("# Perf\ntext\n\n{SECTION}")
        );
        assert_eq!(replace_section("", SECTION), SECTION);
        // A begin marker without an end marker is left alone and the section appended.
        let broken = "a\n<!-- bench-suite:begin -->\n";
        assert!(replace_section(broken, SECTION).starts_with(broken));
    }

    #[test]
    fn an_ingest_kept_up_when_it_sent_its_schedule_with_2xx_answers() {
        let report = |requests: u64, unsent: u64, status: u16, io_errors: u64| LoadReport {
            label: "POST /webhook".to_owned(),
            connections: 64,
            rate: Some(10_000.0),
            requests,
            elapsed: Duration::from_secs(7),
            latencies: crate::latency::Latencies::default(),
            statuses: std::collections::BTreeMap::from([(status, requests)]),
            connect_errors: 0,
            io_errors,
            unsent,
        };
        assert!(kept_up(&report(67_500, 0, 200, 0)));
        assert!(kept_up(&report(67_000, 500, 200, 0)), "within 1%");
        assert!(!kept_up(&report(60_000, 7_500, 200, 0)), "behind schedule");
        assert!(!kept_up(&report(67_500, 0, 503, 0)), "not 2xx");
        assert!(!kept_up(&report(67_499, 0, 200, 1)), "an error");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }

    #[test]
    fn machine_info_names_cpus_memory_and_kernel() {
        let info = machine_info();
        assert!(info.contains("CPUs") && info.contains("MemTotal") && info.contains("Linux"));
    }
}
