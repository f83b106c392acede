//! `hookbench disk`: what a hookline SQLite database spends its bytes on, per structure
//! and per message, as a markdown table (the suite puts the same table in its section).
//!
//! The measuring itself is `hookline_sqlite::disk_usage` (SQL stays in that crate); this
//! module only words and formats it.

use std::fmt::Write as _;
use std::path::Path;

use hookline_sqlite::{DiskUsage, Part, PartKind};

use crate::error::BenchError;
use crate::suite::thousands;

/// Measures the database at `path` (read-only).
pub fn measure(path: &Path) -> Result<DiskUsage, BenchError> {
    hookline_sqlite::disk_usage(path).map_err(|e| BenchError::Database {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// The first column of a part: its label, with the b-trees it sums when that is not
/// obvious from the label.
fn structure(part: &Part) -> String {
    let single = |name: &str| part.objects.len() == 1 && part.objects[0] == name;
    match &part.kind {
        PartKind::Messages if single("messages") => "table `messages`".to_owned(),
        PartKind::Index(name) if single(name) => format!("index `{name}`"),
        PartKind::Other(name) if single(name) => format!("`{name}`"),
        kind => {
            let names: Vec<String> = part.objects.iter().map(|o| format!("`{o}`")).collect();
            format!("{} ({})", kind.label(), names.join(", "))
        }
    }
}

/// `1234567` → `1,234,567 (1.2 MiB)`.
fn bytes(n: u64) -> String {
    let mib = n as f64 / (1024.0 * 1024.0);
    if mib >= 0.1 {
        format!("{} ({mib:.1} MiB)", thousands(n))
    } else {
        format!("{} ({:.1} KiB)", thousands(n), n as f64 / 1024.0)
    }
}

/// One line: the messages, the page size, the pages, and the index file when there is one.
pub fn summary(usage: &DiskUsage) -> String {
    let index = usage
        .index_path
        .as_ref()
        .map(|p| format!(" (with its index file `{}`)", p.display()))
        .unwrap_or_default();
    format!(
        "**{}** messages, page size {} B, {} pages{index}",
        thousands(usage.messages),
        usage.page_size,
        thousands(usage.database_bytes / usage.page_size.max(1)),
    )
}

/// The table: one row per structure, then the free pages, the lock-byte page and anything
/// unexplained (when not zero), then the whole database; followed by a note when the file
/// on disk is not (yet) the database the snapshot saw.
pub fn table(usage: &DiskUsage) -> String {
    let mut s = String::new();
    let per_message = |b: f64| {
        if usage.messages > 0 {
            format!("{:.1}", b / usage.messages as f64)
        } else {
            "–".to_owned()
        }
    };
    let share = |b: f64| {
        if usage.database_bytes > 0 {
            format!("{:.1}%", 100.0 * b / usage.database_bytes as f64)
        } else {
            "–".to_owned()
        }
    };
    let _ = writeln!(s, "| structure | bytes | bytes per message | share |");
    let _ = writeln!(s, "|---|---:|---:|---:|");
    let mut row = |label: String, b: u64| {
        let _ = writeln!(
            s,
            "| {label} | {} | {} | {} |",
            bytes(b),
            per_message(b as f64),
            share(b as f64)
        );
    };
    for part in &usage.parts {
        row(structure(part), part.bytes);
    }
    row("free pages".to_owned(), usage.free_bytes);
    if usage.lock_byte_page_bytes > 0 {
        row(
            "SQLite's lock-byte page (unused, at 1 GiB)".to_owned(),
            usage.lock_byte_page_bytes,
        );
    }
    let unexplained = usage.unexplained_bytes();
    if unexplained != 0 {
        let _ = writeln!(
            s,
            "| **unexplained** (pages in no b-tree and not free) | {unexplained} | {} | {} |",
            per_message(unexplained as f64),
            share(unexplained as f64)
        );
    }
    let _ = writeln!(
        s,
        "| **database** (page count × page size) | **{}** | **{}** | 100% |",
        bytes(usage.database_bytes),
        per_message(usage.database_bytes as f64)
    );
    if usage.file_bytes != usage.database_bytes || usage.wal_bytes > 0 {
        let _ = writeln!(
            s,
            "\nOn disk: the file is {} and its WAL {} (a writer still has it open, or its \
             WAL is not checkpointed yet).",
            bytes(usage.file_bytes),
            bytes(usage.wal_bytes)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn usage() -> DiskUsage {
        let page = 4096;
        let part = |kind: PartKind, objects: &[&str], pages: u64| Part {
            kind,
            objects: objects.iter().map(|o| (*o).to_owned()).collect(),
            pages,
            bytes: pages * page,
        };
        DiskUsage {
            path: PathBuf::from("/tmp/app.db"),
            index_path: None,
            messages: 1000,
            page_size: page,
            database_bytes: 100 * page,
            file_bytes: 100 * page,
            wal_bytes: 0,
            parts: vec![
                part(PartKind::Messages, &["messages"], 50),
                part(
                    PartKind::MessageIdIndex,
                    &["sqlite_autoindex_messages_1"],
                    10,
                ),
                part(
                    PartKind::Index("messages_by_ts".to_owned()),
                    &["messages_by_ts"],
                    10,
                ),
                part(
                    PartKind::QIndex,
                    &[
                        "messages_fts_config",
                        "messages_fts_data",
                        "messages_fts_idx",
                    ],
                    25,
                ),
                part(PartKind::Counters, &["hookline_days", "hookline_totals"], 2),
                part(PartKind::Schema, &["sqlite_schema"], 1),
            ],
            free_bytes: 2 * page,
            lock_byte_page_bytes: 0,
        }
    }

    #[test]
    fn the_table_has_a_row_per_structure_and_the_total() {
        let t = table(&usage());
        assert_eq!(
            summary(&usage()),
            "**1,000** messages, page size 4096 B, 100 pages"
        );
        assert!(t.contains("| table `messages` | 204,800 (0.2 MiB) | 204.8 | 50.0% |"));
        assert!(t.contains("| index `messages_by_ts` | 40,960 (40.0 KiB) | 41.0 | 10.0% |"));
        assert!(t.contains(
            "q index (FTS5) (`messages_fts_config`, `messages_fts_data`, `messages_fts_idx`)"
        ));
        assert!(
            t.contains("| free pages | 8,192 (8.0 KiB) | 8.2 | 2.0% |"),
            "{t}"
        );
        assert!(t.contains("| **database** (page count × page size) | **409,600 (0.4 MiB)**"));
        assert!(!t.contains("unexplained"));
        assert!(!t.contains("On disk"));
    }

    #[test]
    fn the_table_shows_what_is_unexplained_and_an_open_wal() {
        let mut u = usage();
        u.database_bytes += 4096;
        u.wal_bytes = 8192;
        let t = table(&u);
        assert!(t.contains("| **unexplained** (pages in no b-tree and not free) | 4096 |"));
        assert!(t.contains("On disk: the file is 409,600 (0.4 MiB) and its WAL 8,192 (8.0 KiB)"));
    }
}
