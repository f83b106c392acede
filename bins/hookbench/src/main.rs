//! `hookbench` — hookline's load generator and the driver of its benchmark suite.
//!
//! # Why this binary exists
//!
//! Speed is the reason to choose hookline, so the project measures itself with
//! a tool it owns and can read: figures in `docs/PERFORMANCE.md` come from one command,
//! `make bench`, on whatever machine runs it. The load generator is deliberately plain —
//! one thread and one blocking keep-alive `TcpStream` per connection, and a hand-written
//! HTTP/1.1 client that only finds where a response ends — so that what it measures is
//! the server, not a client runtime, and so anyone can check how a figure was obtained.
//! The machine it runs on is small and shared, so absolute figures are noisy; the suite
//! therefore reports every read as a ratio to `/health/live` measured in the same run.
//!
//! # Subcommands
//!
//! - `hookbench load`: distinct, correctly signed messages (or GETs of one path) over N
//!   connections, flat out or at a total rate; prints requests, rps, p50/p99/p999, non-2xx
//!   and errors (see [`load`] for closed- versus open-loop measurement).
//! - `hookbench seed`: fills a SQLite database through `SqliteStore::insert_many`.
//! - `hookbench disk`: what a SQLite database spends its bytes on — the table, each index,
//!   the `q` trigram index, the kept counters, free pages — in bytes and bytes per message.
//! - `hookbench tail`: what each read shape costs with the tail at its bound (the indexer
//!   as far behind as inserts let it fall), store level, on a copy of a seeded database
//!   (see [`tail`]).
//! - `hookbench suite`: starts the real server on fresh databases and runs every phase of
//!   the benchmark (see [`suite`]); prints one markdown table, optionally writing it into
//!   a file between `<!-- bench-suite:begin -->` and `<!-- bench-suite:end -->`.
//!
//! What a valid message and a valid signature are comes from `hookline-domain` and
//! `hookline-signature`, the code the server runs, so the generator cannot drift from it.
//!
//! # Exit codes
//!
//! `0` success; `1` a run-time failure (server did not start, database error); `2` usage
//! or configuration errors. `load` exits 0 even when some answers were non-2xx: those are
//! figures, reported as such.

mod disk;
mod error;
mod http;
mod latency;
mod load;
mod messages;
mod seed;
mod server;
mod suite;
mod tail;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::error::BenchError;
use crate::http::Endpoint;
use crate::load::{LoadConfig, Shape, parse_duration};
use crate::messages::{MessageFactory, check_prefix};

/// The command line of `hookbench`.
#[derive(Debug, Parser)]
#[command(
    name = "hookbench",
    version,
    about = "Load generator and benchmark suite for hookline"
)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Send signed webhooks (or GETs) over N keep-alive connections and report latency.
    Load(LoadArgs),
    /// Fill a hookline SQLite database with generated messages.
    Seed(SeedArgs),
    /// Show what a hookline SQLite database spends its bytes on, per structure and message.
    Disk(DiskArgs),
    /// Time each read shape with the tail empty and at its bound (store level; adds rows).
    Tail(TailArgs),
    /// Run the whole benchmark suite against the real server binary.
    Suite(SuiteArgs),
}

/// `hookbench load`.
#[derive(Debug, Args)]
struct LoadArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    url: String,
    /// The signing secret (overrides --secret-env).
    #[arg(long)]
    secret: Option<String>,
    /// The environment variable holding the secret (its first comma-separated value).
    #[arg(long, default_value = "WEBHOOK_SECRET")]
    secret_env: String,
    /// Concurrent keep-alive connections (one thread each).
    #[arg(long, short = 'c', default_value_t = 64)]
    connections: usize,
    /// How long to send: 10s, 500ms, 2m.
    #[arg(long, short = 'd', default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Total requests per second (open loop); flat out (closed loop) when absent.
    #[arg(long)]
    rate: Option<f64>,
    /// Distinct senders in the generated messages.
    #[arg(long, default_value_t = 1000)]
    senders: u64,
    /// The message_id prefix; ids are PREFIX-NNNNNNNNN. Defaults to one unique per run.
    #[arg(long)]
    prefix: Option<String>,
    /// The path to POST to.
    #[arg(long, default_value = "/webhook", conflicts_with = "get")]
    path: String,
    /// GET this path (with its query) instead of posting messages.
    #[arg(long)]
    get: Option<String>,
    /// Connect, read and write timeout per request.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print one JSON object instead of the summary line.
    #[arg(long)]
    json: bool,
}

/// `hookbench seed`.
#[derive(Debug, Args)]
struct SeedArgs {
    /// The SQLite file (created with its folders if needed).
    #[arg(long)]
    database: PathBuf,
    /// Messages to insert.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Distinct senders.
    #[arg(long, default_value_t = 1000)]
    senders: u64,
    /// The message_id prefix.
    #[arg(long, default_value = "seed")]
    prefix: String,
    /// Messages per insert_many call (one transaction, one fsync).
    #[arg(long, default_value_t = 20_000)]
    group: usize,
}

/// `hookbench disk`.
#[derive(Debug, Args)]
struct DiskArgs {
    /// The SQLite file (opened read-only; a running server may keep writing it).
    #[arg(long)]
    database: PathBuf,
}

/// `hookbench tail`.
#[derive(Debug, Args)]
struct TailArgs {
    /// A seeded SQLite file, fully indexed or not; rows are added to it, so give a copy.
    #[arg(long)]
    database: PathBuf,
    /// Messages inserted behind the held-back indexer (default: the tail's bound).
    #[arg(long, default_value_t = hookline_sqlite::DEFAULT_MAX_TAIL as u64)]
    rows: u64,
    /// Timed reads per shape and pass.
    #[arg(long, default_value_t = 300)]
    reads: usize,
    /// Distinct senders of the inserted messages (the seed's, so `from` matches some).
    #[arg(long, default_value_t = 1000)]
    senders: u64,
    /// The inserted messages' id prefix (default: one unique per run).
    #[arg(long)]
    prefix: Option<String>,
    /// Only the read shapes whose label contains this text (e.g. `offset`).
    #[arg(long)]
    only: Option<String>,
}

/// `hookbench suite`.
#[derive(Debug, Args)]
struct SuiteArgs {
    /// Rows seeded for the large-database phases.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Length of each ingest and throughput phase.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Length of each read phase (default: --duration).
    #[arg(long, value_parser = parse_duration)]
    read_duration: Option<Duration>,
    /// Connections of the ingest and throughput phases.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Connections of the read phases.
    #[arg(long, default_value_t = 8)]
    read_connections: usize,
    /// Rate of the open-loop ingest (requests/s, over --connections) that runs during the
    /// reads-while-ingesting phases.
    #[arg(long, default_value_t = 10_000.0)]
    busy_rate: f64,
    /// Length of each read while ingest runs (the `/health/live` before it runs a third of
    /// this, at least 2 s).
    #[arg(long, default_value = "4s", value_parser = parse_duration)]
    busy_read_duration: Duration,
    /// Skip the reads-while-ingesting phases.
    #[arg(long)]
    no_busy_reads: bool,
    /// Distinct senders in the generated data.
    #[arg(long, default_value_t = 1000)]
    senders: u64,
    /// Messages per insert_many call while seeding.
    #[arg(long, default_value_t = 20_000)]
    group: usize,
    /// The hookline server binary [default: `hookline` beside this binary, else
    /// target/release/hookline].
    #[arg(long)]
    server: Option<PathBuf>,
    /// Folder for the databases and logs; must be on a real disk, not tmpfs
    /// [default: the system temporary folder, or ./target if that is tmpfs].
    #[arg(long)]
    workdir: Option<PathBuf>,
    /// Keep the databases and server logs afterwards.
    #[arg(long)]
    keep: bool,
    /// Skip the extra ingest row with LOG_LEVEL=WARN.
    #[arg(long)]
    no_warn_row: bool,
    /// Also measure ingest on PostgreSQL: an empty database (or schema) at this URL, which
    /// the phase fills (`make bench` starts a throw-away cluster for it).
    #[arg(long, env = "HOOKLINE_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Write the table into this markdown file between the bench-suite markers.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Load(args) => run_load(args),
        Command::Seed(args) => run_seed(args),
        Command::Disk(args) => run_disk(args),
        Command::Tail(args) => run_tail(args),
        Command::Suite(args) => run_suite(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hookbench: {error}");
            error.exit_code()
        }
    }
}

fn usage(option: &'static str, reason: impl Into<String>) -> BenchError {
    BenchError::Usage {
        option,
        reason: reason.into(),
    }
}

fn run_load(args: LoadArgs) -> Result<(), BenchError> {
    let endpoint = Endpoint::parse(&args.url).map_err(|r| usage("--url", r))?;
    if args.connections == 0 {
        return Err(usage("--connections", "must be at least 1"));
    }
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err(usage(
            "--rate",
            "must be a positive number of requests per second",
        ));
    }
    let shape = match args.get {
        Some(path) => {
            if !path.starts_with('/') || path.contains([' ', '\r', '\n']) {
                return Err(usage(
                    "--get",
                    "expected a path starting with / and no spaces",
                ));
            }
            Shape::Get { path }
        }
        None => {
            if !args.path.starts_with('/') || args.path.contains([' ', '\r', '\n']) {
                return Err(usage(
                    "--path",
                    "expected a path starting with / and no spaces",
                ));
            }
            let secret = match args.secret {
                Some(s) => s,
                None => std::env::var(&args.secret_env)
                    .ok()
                    .and_then(|v| v.split(',').next().map(str::to_owned))
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| BenchError::MissingSecret {
                        name: args.secret_env.clone(),
                    })?,
            };
            let prefix = prefix_or_unique(args.prefix, "load")?;
            Shape::Post {
                path: args.path,
                secret: secret.into_bytes(),
                factory: MessageFactory::new(&prefix, args.senders),
            }
        }
    };
    let report = load::run(&LoadConfig {
        endpoint,
        shape,
        connections: args.connections,
        duration: args.duration,
        rate: args.rate,
        timeout: args.timeout,
        stop_at_deadline: false,
    })?;
    if args.json {
        println!("{}", report.json());
    } else {
        println!("{}", report.line());
    }
    Ok(())
}

fn run_seed(args: SeedArgs) -> Result<(), BenchError> {
    check_prefix(&args.prefix).map_err(|r| usage("--prefix", r))?;
    let factory = MessageFactory::new(&args.prefix, args.senders);
    let report = seed::run(&args.database, args.rows, args.group, &factory, |_| {})?;
    println!(
        "seeded rows={} created={} seconds={:.2} rows_per_sec={:.0} database={}",
        report.rows,
        report.created,
        report.elapsed.as_secs_f64(),
        report.rows_per_sec(),
        args.database.display()
    );
    Ok(())
}

/// `prefix`, checked, or `KIND-PID-NANOS`: ids no earlier run used.
fn prefix_or_unique(prefix: Option<String>, kind: &str) -> Result<String, BenchError> {
    let prefix = prefix.unwrap_or_else(|| {
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        format!("{kind}-{}-{}", std::process::id(), nanos % 1_000_000_000)
    });
    check_prefix(&prefix).map_err(|r| usage("--prefix", r))?;
    Ok(prefix)
}

fn run_tail(args: TailArgs) -> Result<(), BenchError> {
    if args.reads == 0 {
        return Err(usage("--reads", "must be at least 1"));
    }
    let config = tail::TailConfig {
        database: args.database,
        rows: args.rows,
        reads: args.reads,
        senders: args.senders,
        prefix: prefix_or_unique(args.prefix, "tail")?,
        only: args.only,
    };
    print!("{}", tail::run(&config)?);
    Ok(())
}

fn run_disk(args: DiskArgs) -> Result<(), BenchError> {
    let usage = disk::measure(&args.database)?;
    println!("`{}`: {}\n", args.database.display(), disk::summary(&usage));
    print!("{}", disk::table(&usage));
    Ok(())
}

fn run_suite(args: SuiteArgs) -> Result<(), BenchError> {
    let server = match args.server {
        Some(s) => s,
        None => default_server(),
    };
    let workdir = match args.workdir {
        Some(w) => w,
        None => {
            let tmp = std::env::temp_dir();
            if suite::is_memory_fs(&tmp) {
                PathBuf::from("target")
            } else {
                tmp
            }
        }
    };
    if suite::is_memory_fs(&workdir) {
        return Err(usage(
            "--workdir",
            format!(
                "{} is on a memory filesystem; the suite measures the real disk",
                workdir.display()
            ),
        ));
    }
    if args.connections == 0 || args.read_connections == 0 {
        return Err(usage("--connections", "must be at least 1"));
    }
    if !(args.busy_rate.is_finite() && args.busy_rate > 0.0) {
        return Err(usage(
            "--busy-rate",
            "must be a positive number of requests per second",
        ));
    }
    let command = std::env::args()
        .map(|a| {
            if a.is_empty() || a.contains([' ', '\'', '"']) {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let config = suite::SuiteConfig {
        rows: args.rows,
        duration: args.duration,
        read_duration: args.read_duration.unwrap_or(args.duration),
        connections: args.connections,
        read_connections: args.read_connections,
        busy_rate: (!args.no_busy_reads).then_some(args.busy_rate),
        busy_read_duration: args.busy_read_duration,
        senders: args.senders,
        group: args.group,
        server,
        workdir,
        keep: args.keep,
        no_warn_row: args.no_warn_row,
        postgres_url: args.postgres_url.clone().filter(|u| !u.trim().is_empty()),
        command,
    };
    let section = suite::run(&config)?;
    println!("{section}");
    if let Some(out) = &args.out {
        suite::write_section(out, &section)?;
        eprintln!("hookbench suite: wrote the section into {}", out.display());
    }
    Ok(())
}

/// `hookline` beside this executable (both built by cargo into one folder), else
/// `target/release/hookline`.
fn default_server() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hookline")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("target/release/hookline"))
}
