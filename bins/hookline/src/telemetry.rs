//! Logs and metrics: the JSON logger on stdout and the Prometheus recorder.
//!
//! Every log line is one JSON object with `ts`, `level` and `msg`; request lines add the
//! fields of [`crate::middleware`]. Lines are written by a background thread (slog-async,
//! blocking when its queue is full, so no line is dropped), once per burst
//! (`log_batch.rs`), and flushed when the [`LogGuard`] is dropped at exit.
//!
//! Metric names, their help texts and the latency buckets are declared here, once.

use std::io;
use std::time::Duration;

use hookline_sqlite::instruments;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use slog::{Drain, FnValue, Level, Logger, PushFnValue, Record, o};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use crate::config::LogLevel;
use crate::log_batch::{Batched, Counting, Queued};
use crate::routes::webhook::WebhookResult;

/// `ts` of every log line: RFC 3339 in UTC with milliseconds.
const TS_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Counter of every response, by route template and status code.
pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
/// Counter of webhook outcomes, by `result`.
pub const WEBHOOK_REQUESTS_TOTAL: &str = "webhook_requests_total";
/// Counter of `POST /webhook/whatsapp` requests, by `result` (`accepted`,
/// `invalid_signature`, `validation_error`).
pub const WHATSAPP_REQUESTS_TOTAL: &str = "whatsapp_requests_total";
/// Counter of the messages of WhatsApp envelopes, by `result` (`created`, `duplicate`).
pub const WHATSAPP_MESSAGES_TOTAL: &str = "whatsapp_messages_total";
/// Histogram of request latency in milliseconds.
pub const REQUEST_LATENCY_MS: &str = "request_latency_ms";
/// Counter of storage faults, by store operation.
pub const STORAGE_ERRORS_TOTAL: &str = "storage_errors_total";

/// Upper bounds of the latency buckets, in milliseconds: fine enough below one millisecond,
/// where most requests land, and up to the 5 s body-read deadline.
pub const LATENCY_BUCKETS_MS: [f64; 16] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0,
    5000.0,
];

/// The `http_requests_total` label for requests that matched no route, so clients cannot
/// create a series per URL.
pub const UNMATCHED_PATH: &str = "unmatched";

/// Keeps the log writer thread alive; dropping it writes out every queued line.
pub struct LogGuard {
    _guard: slog_async::AsyncGuard,
}

/// The current time as written in `ts`.
pub fn now_ts() -> String {
    OffsetDateTime::now_utc()
        .format(TS_FORMAT)
        .unwrap_or_default()
}

/// The `level` of a log line: `DEBUG`, `INFO`, `WARN` or `ERROR`.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::Critical | Level::Error => "ERROR",
        Level::Warning => "WARN",
        Level::Info => "INFO",
        Level::Debug | Level::Trace => "DEBUG",
    }
}

fn slog_level(level: LogLevel) -> Level {
    match level {
        LogLevel::Debug => Level::Debug,
        LogLevel::Info => Level::Info,
        LogLevel::Warn => Level::Warning,
        LogLevel::Error => Level::Error,
    }
}

/// The root logger: JSON lines on stdout at `level` and above.
pub fn init_logger(level: LogLevel) -> (Logger, LogGuard) {
    logger_to(io::stdout(), level)
}

/// The logger of [`init_logger`], writing its JSON lines to `out` instead of stdout (tests
/// running the server in their own process read its lines this way).
pub fn logger_to<W: io::Write + Send + 'static>(out: W, level: LogLevel) -> (Logger, LogGuard) {
    let queued = Queued::default();
    // `set_flush` marks the end of each record for `Batched`, which writes out only at the
    // end of the last one queued.
    let json = slog_json::Json::new(Batched::new(out, queued.clone()))
        .set_newlines(true)
        .set_flush(true)
        // `o!` serializes its pairs last to first: this order writes `ts`, `level`, `msg`.
        .add_key_value(o!(
            "msg" => PushFnValue(|record: &Record, ser| ser.emit(record.msg())),
            "level" => FnValue(|record: &Record| level_name(record.level())),
            "ts" => FnValue(|_: &Record| now_ts()),
        ))
        .build();
    let json = Counting::back(json, queued.clone()).ignore_res();
    let (drain, guard) = slog_async::Async::new(json)
        .chan_size(8192)
        .overflow_strategy(slog_async::OverflowStrategy::Block)
        .thread_name("hookline-log".to_owned())
        .build_with_guard();
    let drain = Counting::front(drain, queued)
        .filter_level(slog_level(level))
        .ignore_res();
    (Logger::root(drain, o!()), LogGuard { _guard: guard })
}

/// Writes one JSON line to stdout without a logger, for errors found before the logger
/// exists (a malformed `LOG_LEVEL`, say).
pub fn write_early_error(msg: &str, fields: serde_json::Map<String, serde_json::Value>) {
    use std::io::Write;

    let mut line = serde_json::Map::new();
    line.insert("ts".into(), now_ts().into());
    line.insert("level".into(), "ERROR".into());
    line.insert("msg".into(), msg.into());
    line.extend(fields);
    let mut out = io::stdout().lock();
    // Nothing sensible is left to do if stdout is gone.
    let _ = writeln!(out, "{}", serde_json::Value::Object(line));
    let _ = out.flush();
}

/// An error and every [`source`](std::error::Error::source) below it, joined with `: `, for
/// the `cause` field of a log line: `"a: b: c"`.
///
/// Many errors already end their message with their source's (`"cannot open database x:
/// disk I/O error"` over `"disk I/O error"`): a cause whose text its parent's message
/// already ends with is not repeated, but the walk goes on below it.
pub fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut parent = chain.clone();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !parent.ends_with(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        parent = text;
        source = cause.source();
    }
    chain
}

/// Why the metrics recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct MetricsError(#[from] metrics_exporter_prometheus::BuildError);

/// Installs the global Prometheus recorder, declares every metric and registers the
/// webhook results at zero. Call once per process.
///
/// # Errors
///
/// [`MetricsError`] when a recorder is already installed.
pub fn init_metrics() -> Result<PrometheusHandle, MetricsError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(REQUEST_LATENCY_MS.to_owned()),
            &LATENCY_BUCKETS_MS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(instruments::COMMIT_DURATION_SECONDS.to_owned()),
            &instruments::DURATION_BUCKETS_SECONDS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(instruments::CHECKPOINT_DURATION_SECONDS.to_owned()),
            &instruments::DURATION_BUCKETS_SECONDS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(instruments::INDEX_DURATION_SECONDS.to_owned()),
            &instruments::DURATION_BUCKETS_SECONDS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(instruments::COMMIT_GROUP_SIZE.to_owned()),
            &instruments::GROUP_SIZE_BUCKETS,
        )?
        .install_recorder()?;
    instruments::describe();

    metrics::describe_counter!(
        HTTP_REQUESTS_TOTAL,
        "HTTP responses sent, by route template and status code"
    );
    metrics::describe_counter!(
        WEBHOOK_REQUESTS_TOTAL,
        "POST /webhook outcomes: created, duplicate, invalid_signature, validation_error"
    );
    metrics::describe_histogram!(
        REQUEST_LATENCY_MS,
        metrics::Unit::Milliseconds,
        "Time from request received to response ready, in milliseconds"
    );
    metrics::describe_counter!(
        STORAGE_ERRORS_TOTAL,
        "Store calls that failed (each answered 503), by operation"
    );
    metrics::describe_counter!(
        WHATSAPP_REQUESTS_TOTAL,
        "POST /webhook/whatsapp outcomes: accepted, invalid_signature, validation_error"
    );
    metrics::describe_counter!(
        WHATSAPP_MESSAGES_TOTAL,
        "Messages of accepted WhatsApp envelopes: created (stored now) or duplicate"
    );
    for result in WebhookResult::COUNTED {
        metrics::counter!(WEBHOOK_REQUESTS_TOTAL, "result" => result.as_str()).absolute(0);
    }
    for result in WebhookResult::WHATSAPP_COUNTED {
        metrics::counter!(WHATSAPP_REQUESTS_TOTAL, "result" => result.as_str()).absolute(0);
    }
    for result in [WebhookResult::Created, WebhookResult::Duplicate] {
        metrics::counter!(WHATSAPP_MESSAGES_TOTAL, "result" => result.as_str()).absolute(0);
    }

    // Without the HTTP listener feature nothing drains the histogram buckets between
    // scrapes; do it here so memory stays flat when no one scrapes.
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("hookline-metrics".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
    // Without the thread, rendering still drains the buckets; only idle memory grows.
    drop(spawned);
    Ok(handle)
}

#[cfg(test)]
mod cause_chain_tests {
    use std::fmt;

    use super::cause_chain;

    /// An error with a message and an optional source.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    fn chain(layers: &[&'static str]) -> Layer {
        layers
            .iter()
            .rev()
            .fold(None, |below, msg| Some(Layer(msg, below.map(Box::new))))
            .unwrap_or(Layer("", None))
    }

    #[test]
    fn every_source_is_joined_outermost_first() {
        assert_eq!(cause_chain(&chain(&["a", "b", "c"])), "a: b: c");
        assert_eq!(cause_chain(&chain(&["alone"])), "alone");
    }

    #[test]
    fn a_cause_its_parent_already_quotes_is_not_repeated_but_the_walk_goes_on() {
        let e = chain(&[
            "DATABASE_URL: cannot open database x: unable to open database file",
            "cannot open database x: unable to open database file",
            "unable to open database file",
            "Error code 14: Unable to open the database file",
        ]);
        assert_eq!(
            cause_chain(&e),
            "DATABASE_URL: cannot open database x: unable to open database file: \
             Error code 14: Unable to open the database file"
        );
    }

    #[test]
    fn a_database_that_is_not_sqlite_is_logged_down_to_sqlites_error_code() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        std::fs::write(&path, [0x5a_u8; 4096]).unwrap();
        let opened = hookline_backend::Backend::open(&hookline_backend::Database::File(path));
        let Err(e) = opened.map(|_| ()) else {
            panic!("a file of garbage opened as a database");
        };
        let chain = cause_chain(&crate::server::ServerError::from(e));
        assert!(chain.starts_with("DATABASE_URL: cannot "), "{chain}");
        assert!(chain.contains("not a database: Error code 26"), "{chain}");
    }
}
