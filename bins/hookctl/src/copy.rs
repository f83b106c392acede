//! `hookctl copy`: copy every message from one store to another — typically an existing
//! SQLite database into PostgreSQL when a deployment scales out.
//!
//! It walks the source in list order with the keyset cursor (`GET /messages` semantics, so
//! a page costs the same at any depth) and inserts each page into the destination through
//! [`MessageStore::insert`] — the exactly-once path the server uses. Hence:
//! - **idempotent**: a message already in the destination is a `Duplicate`, left unchanged;
//!   running the copy twice copies nothing the second time;
//! - **resumable**: after every page it prints nothing but moves the progress bar; on a
//!   failure it prints the cursor of the last page fully copied, and `--after CURSOR`
//!   starts right after it (starting over is also correct, only slower);
//! - **checked**: at the end, created + duplicates must equal the rows walked and the
//!   destination must hold at least the source's total (it may hold more of its own);
//!   otherwise exit 1.
//!
//! The source is read while it may still take writes; rows added behind the cursor during
//! the copy are not copied (run it again, or stop the writers first).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use hookline_backend::{Backend, Database};
use hookline_query::{Cursor, Filter, ListQuery, MAX_LIMIT};
use hookline_store::{Inserted, MessageStore};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinSet;

use crate::error::CliError;

/// Arguments of `hookctl copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The source store: `sqlite:///relative/path`, `sqlite:////absolute/path` or
    /// `postgres://…`.
    #[arg(long)]
    from: String,
    /// The destination store, in the same forms.
    #[arg(long)]
    to: String,
    /// Resume right after this cursor (printed by an interrupted copy).
    #[arg(long)]
    after: Option<String>,
    /// Messages per page (1..=100).
    #[arg(long, default_value_t = MAX_LIMIT)]
    page: u32,
    /// No progress bar (for logs and scripts).
    #[arg(long)]
    quiet: bool,
}

/// Opens the store a `--from`/`--to` URL names, the way the server opens `DATABASE_URL`.
/// An in-memory database is refused: it would hold nothing, or be lost.
fn open(url: &str, flag: &'static str) -> Result<Backend, CliError> {
    let bad = |reason: String| CliError::BadStore { flag, reason };
    match Database::parse(url).map_err(|e| bad(e.to_string()))? {
        Database::Memory => Err(bad("an in-memory database cannot be copied".to_owned())),
        database => Backend::open(&database).map_err(|e| bad(e.to_string())),
    }
}

/// Runs `hookctl copy`.
pub fn run(args: &CopyArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let from = open(&args.from, "--from")?;
    let to = open(&args.to, "--to")?;
    let result = runtime.block_on(copy(args, from.store(), to.store()));
    from.shutdown();
    to.shutdown();
    result
}

async fn copy(
    args: &CopyArgs,
    from: Arc<dyn MessageStore>,
    to: Arc<dyn MessageStore>,
) -> Result<ExitCode, CliError> {
    let store_error = |side: &'static str| move |e| CliError::Store { side, source: e };
    // Migrate both (and fail early when either is away).
    from.check_ready().await.map_err(store_error("source"))?;
    to.check_ready().await.map_err(store_error("destination"))?;
    let first = ListQuery::first_page(Filter::default(), args.page.clamp(1, MAX_LIMIT))
        .map_err(|e| CliError::BadArgument(e.to_string()))?;
    let mut query = match &args.after {
        Some(after) => first.after(
            Cursor::decode(after)
                .map_err(|_| CliError::BadArgument("--after: invalid cursor".into()))?,
        ),
        None => first.clone(),
    };
    let source_total = from
        .stats()
        .await
        .map_err(store_error("source"))?
        .total_messages;

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(source_total)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} messages, {per_sec}, eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));

    let (mut walked, mut created, mut duplicates) = (0u64, 0u64, 0u64);
    let mut done_after: Option<String> = args.after.clone();
    loop {
        let page = match from.list(&query).await {
            Ok(page) => page,
            Err(e) => return Err(interrupted(&bar, done_after, store_error("source")(e))),
        };
        let mut inserts = JoinSet::new();
        for message in page.data {
            let to = to.clone();
            inserts.spawn(async move { to.insert(message).await });
        }
        while let Some(joined) = inserts.join_next().await {
            let inserted = match joined {
                Ok(Ok(inserted)) => inserted,
                Ok(Err(e)) => {
                    return Err(interrupted(&bar, done_after, store_error("destination")(e)));
                }
                Err(e) => return Err(interrupted(&bar, done_after, CliError::Task(e))),
            };
            walked += 1;
            match inserted {
                Inserted::Created => created += 1,
                Inserted::Duplicate => duplicates += 1,
            }
            bar.inc(1);
        }
        bar.set_message(format!("({created} new, {duplicates} already there)"));
        match page.next_cursor {
            Some(next) => {
                let cursor = Cursor::decode(&next).map_err(|_| {
                    CliError::BadArgument("the source returned a bad cursor".into())
                })?;
                done_after = Some(next);
                query = first.after(cursor);
            }
            None => break,
        }
    }
    bar.finish();

    let destination_total = to
        .stats()
        .await
        .map_err(store_error("destination"))?
        .total_messages;
    println!(
        "copied {walked} messages: {created} new, {duplicates} already in the destination; \
         source holds {source_total}, destination {destination_total}"
    );
    let complete = created + duplicates == walked
        && (args.after.is_some() || walked >= source_total)
        && destination_total >= source_total;
    if complete {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "hookctl: count check failed: the destination does not hold every source message"
        );
        Ok(ExitCode::from(1))
    }
}

/// Reports where to resume, and returns the error.
fn interrupted(bar: &ProgressBar, done_after: Option<String>, error: CliError) -> CliError {
    bar.abandon();
    match done_after {
        Some(cursor) => eprintln!("hookctl: copy interrupted; resume with --after {cursor}"),
        None => eprintln!("hookctl: copy interrupted before its first page; run it again"),
    }
    error
}
