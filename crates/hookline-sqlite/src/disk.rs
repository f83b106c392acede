//! What a database file spends its bytes on: [`disk_usage`] opens the file read-only and
//! measures every b-tree with SQLite's `dbstat` virtual table (compiled into the bundled
//! SQLite of `libsqlite3-sys`: `SQLITE_ENABLE_DBSTAT_VTAB`), then groups the b-trees by
//! the structure of the schema they belong to — the `messages` table, each of its
//! indexes, the trigram index of `q` (FTS5's shadow tables) and the kept statistics.
//!
//! The parts account for every page of the database: the b-trees' pages, the free pages
//! and, in a file of more than 1 GiB, SQLite's lock-byte page (never used for data). What
//! is left over is [`DiskUsage::unexplained_bytes`], zero for a hookline database
//! (auto-vacuum, whose pointer-map pages would land there, is off).
//!
//! Everything is read in one read transaction, so the counts are of one snapshot even
//! while a server writes the database. The file's own size is what is on disk; with a
//! server running it can differ from the snapshot's size until the WAL is checkpointed,
//! which is why both are kept ([`DiskUsage::file_bytes`], [`DiskUsage::database_bytes`]).
//!
//! `dbstat` reads every page of the file, so measuring costs a read of the whole database
//! (about a second per GB from the page cache).

use std::path::{Path, PathBuf};
use std::time::Duration;

use hookline_store::BoxError;
use rusqlite::{Connection, OpenFlags};

/// The offset of SQLite's lock-byte page (`PENDING_BYTE`): the page holding it is never
/// used, in files larger than this.
const PENDING_BYTE: u64 = 0x4000_0000;

/// Which structure of the schema a group of b-trees is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartKind {
    /// The `messages` table itself (its rowid b-tree: every column of every row).
    Messages,
    /// The unique index behind `message_id TEXT PRIMARY KEY` (`sqlite_autoindex_messages_1`).
    MessageIdIndex,
    /// Another index of `messages` (the index file's `hookline_by_ts` and
    /// `hookline_by_from`; `messages_by_ts` and `messages_by_from` before schema version 6),
    /// by name.
    Index(String),
    /// The trigram index of `q`: FTS5's shadow tables `messages_fts_*`.
    QIndex,
    /// The word-boundary gram index of `q` (index file layout 2): `messages_grams_*`.
    GramIndex,
    /// The kept statistics: the `hookline_*` tables and their indexes (totals, senders,
    /// day/hour/minute buckets, the full-text watermark).
    Counters,
    /// `sqlite_schema`, the list of tables and indexes.
    Schema,
    /// Anything else in the file (e.g. `sqlite_stat1` left by an old version), by name.
    Other(String),
}

impl PartKind {
    /// The structure a b-tree named `name` (as `dbstat` names it) belongs to.
    fn of(name: &str) -> PartKind {
        if name == "messages" {
            PartKind::Messages
        } else if name.starts_with("sqlite_autoindex_messages_") {
            PartKind::MessageIdIndex
        } else if name.starts_with("messages_fts") {
            PartKind::QIndex
        } else if name.starts_with("messages_grams") {
            PartKind::GramIndex
        } else if name.starts_with("messages_") || name.starts_with("hookline_by_") {
            PartKind::Index(name.to_owned())
        } else if name.starts_with("hookline_") {
            PartKind::Counters
        } else if name == "sqlite_schema" || name == "sqlite_master" {
            PartKind::Schema
        } else {
            PartKind::Other(name.to_owned())
        }
    }

    /// A short plain-text label: `messages table`, `message_id index`, `index hookline_by_ts`,
    /// `q index (FTS5)`, `q gram index (FTS5)`, `counters`, `schema`, or the object's name.
    pub fn label(&self) -> String {
        match self {
            PartKind::Messages => "messages table".to_owned(),
            PartKind::MessageIdIndex => "message_id index".to_owned(),
            PartKind::Index(name) => format!("index {name}"),
            PartKind::QIndex => "q index (FTS5)".to_owned(),
            PartKind::GramIndex => "q gram index (FTS5)".to_owned(),
            PartKind::Counters => "counters".to_owned(),
            PartKind::Schema => "schema".to_owned(),
            PartKind::Other(name) => name.clone(),
        }
    }
}

/// One structure's share of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Which structure.
    pub kind: PartKind,
    /// The b-trees it is made of, by name, sorted.
    pub objects: Vec<String>,
    /// Their pages (interior, leaf and overflow).
    pub pages: u64,
    /// `pages` × the page size.
    pub bytes: u64,
}

/// Where the bytes of a database file go; see [`disk_usage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskUsage {
    /// The file measured.
    pub path: PathBuf,
    /// Its index file (see [`INDEX_SUFFIX`](crate::INDEX_SUFFIX)), measured with it when it
    /// exists: its b-trees are among [`parts`](Self::parts), its pages, free pages and
    /// sizes are added to the totals below.
    pub index_path: Option<PathBuf>,
    /// Rows of `messages`, counted.
    pub messages: u64,
    /// `PRAGMA page_size`.
    pub page_size: u64,
    /// `PRAGMA page_count` × the page size: the database as the snapshot sees it.
    pub database_bytes: u64,
    /// The main file's size on disk.
    pub file_bytes: u64,
    /// The `-wal` file's size on disk (0 when there is none).
    pub wal_bytes: u64,
    /// Every structure with at least one page, in [`PartKind`] order.
    pub parts: Vec<Part>,
    /// Pages on the freelist (`PRAGMA freelist_count`) × the page size.
    pub free_bytes: u64,
    /// SQLite's lock-byte page: one unused page in a file of more than 1 GiB, else 0.
    pub lock_byte_page_bytes: u64,
}

impl DiskUsage {
    /// The bytes of all [`parts`](Self::parts).
    pub fn parts_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.bytes).sum()
    }

    /// What the parts, the free pages and the lock-byte page leave of
    /// [`database_bytes`](Self::database_bytes); zero for a hookline database. Negative
    /// would mean pages counted twice.
    pub fn unexplained_bytes(&self) -> i128 {
        i128::from(self.database_bytes)
            - i128::from(self.parts_bytes())
            - i128::from(self.free_bytes)
            - i128::from(self.lock_byte_page_bytes)
    }

    /// The part of one kind, if the file has it.
    pub fn part(&self, kind: &PartKind) -> Option<&Part> {
        self.parts.iter().find(|p| &p.kind == kind)
    }
}

/// Why [`disk_usage`] failed.
#[derive(Debug, thiserror::Error)]
pub enum DiskUsageError {
    /// The file could not be opened read-only (missing, not a database, no permission).
    #[error("cannot open database {path} read-only: {cause}")]
    CannotOpen {
        /// The database.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        cause: BoxError,
    },
    /// A query failed (not a hookline database, a locked file, an I/O error).
    #[error("cannot measure database {path}: {cause}")]
    Measure {
        /// The database.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        cause: BoxError,
    },
    /// The size of the file (or its WAL) could not be read.
    #[error("cannot read the size of {path}: {cause}")]
    FileSize {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        cause: std::io::Error,
    },
}

/// Measures the hookline database at `path` and its index file: bytes per structure, free
/// pages, sizes and the number of messages. Opens the file read-only (it is never created or written;
/// a running server may keep writing it) and reads every page once. Like any reader of a
/// WAL database, the connection may leave an empty `-wal` and a `-shm` file beside it.
pub fn disk_usage(path: &Path) -> Result<DiskUsage, DiskUsageError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|cause| DiskUsageError::CannotOpen {
        path: path.to_owned(),
        cause: Box::new(cause),
    })?;
    let mut usage = measure(&conn, path).map_err(|cause| DiskUsageError::Measure {
        path: path.to_owned(),
        cause: Box::new(cause),
    })?;
    drop(conn);
    let (file, wal) = sizes(path)?;
    usage.file_bytes = file;
    usage.wal_bytes = wal;
    let mut index = path.as_os_str().to_owned();
    index.push(crate::INDEX_SUFFIX);
    let index = PathBuf::from(index);
    if file_size(&index)?.is_some() {
        let conn = Connection::open_with_flags(
            &index,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|cause| DiskUsageError::CannotOpen {
            path: index.clone(),
            cause: Box::new(cause),
        })?;
        let of_index = measure(&conn, &index).map_err(|cause| DiskUsageError::Measure {
            path: index.clone(),
            cause: Box::new(cause),
        })?;
        let (file, wal) = sizes(&index)?;
        usage.database_bytes += of_index.database_bytes;
        usage.free_bytes += of_index.free_bytes;
        usage.lock_byte_page_bytes += of_index.lock_byte_page_bytes;
        usage.file_bytes += file;
        usage.wal_bytes += wal;
        for part in of_index.parts {
            match usage.parts.iter_mut().find(|p| p.kind == part.kind) {
                Some(mine) => {
                    mine.objects.extend(part.objects);
                    mine.objects.sort();
                    mine.pages += part.pages;
                    mine.bytes += part.bytes;
                }
                None => usage.parts.push(part),
            }
        }
        usage.parts.sort_by(|a, b| a.kind.cmp(&b.kind));
        usage.index_path = Some(index);
    }
    Ok(usage)
}

/// The sizes of a database file and of its `-wal` (0 for a file that does not exist).
fn sizes(path: &Path) -> Result<(u64, u64), DiskUsageError> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    Ok((
        file_size(path)?.unwrap_or(0),
        file_size(Path::new(&wal))?.unwrap_or(0),
    ))
}

/// The size of a file, `None` when it does not exist.
fn file_size(path: &Path) -> Result<Option<u64>, DiskUsageError> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some(m.len())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(cause) => Err(DiskUsageError::FileSize {
            path: path.to_owned(),
            cause,
        }),
    }
}

/// Everything but the file sizes, in one read transaction.
fn measure(conn: &Connection, path: &Path) -> rusqlite::Result<DiskUsage> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // A deferred transaction whose first statement reads: one snapshot for all below.
    conn.execute_batch("BEGIN")?;
    let page_size = unsigned(conn.query_row("PRAGMA page_size", [], |r| r.get(0))?);
    // The index file has no `messages`: its rows are the database's.
    let has_messages: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE name = 'messages'",
        [],
        |r| r.get(0),
    )?;
    let messages = if has_messages > 0 {
        unsigned(conn.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?)
    } else {
        0
    };
    let page_count = unsigned(conn.query_row("PRAGMA page_count", [], |r| r.get(0))?);
    let free_pages = unsigned(conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?);
    // One row per b-tree: `pageno` is its number of pages and `pgsize` their bytes.
    let mut stmt =
        conn.prepare("SELECT name, pageno, pgsize FROM dbstat WHERE aggregate = TRUE")?;
    let trees = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                unsigned(r.get(1)?),
                unsigned(r.get(2)?),
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    drop(stmt);
    conn.execute_batch("COMMIT")?;

    let mut parts: Vec<Part> = Vec::new();
    for (name, pages, bytes) in trees {
        if pages == 0 {
            // A virtual table (`messages_fts` itself) has a schema row but no b-tree.
            continue;
        }
        let kind = PartKind::of(&name);
        match parts.iter_mut().find(|p| p.kind == kind) {
            Some(part) => {
                part.objects.push(name);
                part.pages += pages;
                part.bytes += bytes;
            }
            None => parts.push(Part {
                kind,
                objects: vec![name],
                pages,
                bytes,
            }),
        }
    }
    for part in &mut parts {
        part.objects.sort();
    }
    parts.sort_by(|a, b| a.kind.cmp(&b.kind));

    let database_bytes = page_count * page_size;
    let lock_byte_page_bytes = if database_bytes > PENDING_BYTE {
        page_size
    } else {
        0
    };
    Ok(DiskUsage {
        path: path.to_owned(),
        index_path: None,
        messages,
        page_size,
        database_bytes,
        file_bytes: 0,
        wal_bytes: 0,
        parts,
        free_bytes: free_pages * page_size,
        lock_byte_page_bytes,
    })
}

/// A count SQLite returns as a signed integer (never negative for sizes and counts).
fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use hookline_domain::{Message, MessageId, Msisdn, Text, Timestamp};

    use super::*;
    use crate::{SqliteConfig, SqliteStore};

    fn message(n: u64) -> Message {
        Message::new(
            MessageId::parse(&format!("disk-{n:05}")).unwrap(),
            Msisdn::parse(&format!("+1555000000{}", n % 7)).unwrap(),
            Msisdn::parse("+14155550100").unwrap(),
            Timestamp::parse(&format!(
                "2025-{:02}-{:02}T{:02}:{:02}:00Z",
                1 + n % 12,
                1 + n % 28,
                n % 24,
                n % 60
            ))
            .unwrap(),
            (!n.is_multiple_of(5))
                .then(|| Text::parse(&format!("order {n} shipped, invoice")).unwrap()),
        )
    }

    #[test]
    fn the_parts_of_a_closed_database_add_up_to_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.db");
        let store = SqliteStore::open(SqliteConfig::file(&path)).unwrap();
        // Closing the store indexes every row, so the index file holds them all.
        for group in 0..5u64 {
            store
                .insert_many((group * 500..(group + 1) * 500).map(message).collect())
                .unwrap();
        }
        store.shutdown();
        drop(store);

        let usage = disk_usage(&path).unwrap();
        assert_eq!(usage.messages, 2_500);
        assert_eq!(usage.unexplained_bytes(), 0, "{usage:#?}");
        let mut index = path.as_os_str().to_owned();
        index.push(crate::INDEX_SUFFIX);
        assert_eq!(usage.index_path, Some(PathBuf::from(index)));
        // Closed: the WAL was checkpointed and truncated, the file is the database.
        assert_eq!(usage.wal_bytes, 0, "{usage:#?}");
        assert_eq!(usage.file_bytes, usage.database_bytes, "{usage:#?}");
        assert_eq!(
            usage.parts_bytes() + usage.free_bytes + usage.lock_byte_page_bytes,
            usage.file_bytes
        );
        assert_eq!(usage.lock_byte_page_bytes, 0);
        for part in &usage.parts {
            assert_eq!(part.bytes, part.pages * usage.page_size, "{part:?}");
            assert!(
                !matches!(part.kind, PartKind::Other(_)),
                "unexpected object {part:?}"
            );
        }
        for kind in [
            PartKind::Messages,
            PartKind::MessageIdIndex,
            PartKind::Index("hookline_by_ts".to_owned()),
            PartKind::Index("hookline_by_from".to_owned()),
            PartKind::QIndex,
            PartKind::GramIndex,
            PartKind::Counters,
            PartKind::Schema,
        ] {
            assert!(usage.part(&kind).is_some(), "no {kind:?} in {usage:#?}");
        }
        let q = usage.part(&PartKind::QIndex).unwrap();
        assert!(q.objects.iter().all(|o| o.starts_with("messages_fts_")));
        assert!(q.objects.contains(&"messages_fts_data".to_owned()));
        let counters = usage.part(&PartKind::Counters).unwrap();
        assert!(counters.objects.contains(&"hookline_totals".to_owned()));
        assert!(
            counters
                .objects
                .contains(&"hookline_senders_by_count".to_owned())
        );
    }

    #[test]
    fn a_database_being_written_is_measured_from_one_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("open.db");
        let store = SqliteStore::open(SqliteConfig::file(&path)).unwrap();
        store.insert_many((0..300).map(message).collect()).unwrap();
        let usage = disk_usage(&path).unwrap();
        assert_eq!(usage.messages, 300);
        assert_eq!(usage.unexplained_bytes(), 0, "{usage:#?}");
        store.shutdown();
    }

    #[test]
    fn a_missing_file_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.db");
        let error = disk_usage(&path).unwrap_err();
        assert!(
            matches!(error, DiskUsageError::CannotOpen { .. }),
            "{error}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn objects_are_grouped_by_structure() {
        assert_eq!(PartKind::of("messages"), PartKind::Messages);
        assert_eq!(
            PartKind::of("sqlite_autoindex_messages_1"),
            PartKind::MessageIdIndex
        );
        assert_eq!(
            PartKind::of("messages_by_ts"),
            PartKind::Index("messages_by_ts".to_owned())
        );
        assert_eq!(PartKind::of("messages_fts_data"), PartKind::QIndex);
        assert_eq!(PartKind::of("messages_fts_idx"), PartKind::QIndex);
        assert_eq!(PartKind::of("messages_grams_data"), PartKind::GramIndex);
        assert_eq!(PartKind::of("hookline_minutes"), PartKind::Counters);
        assert_eq!(PartKind::of("sqlite_schema"), PartKind::Schema);
        assert_eq!(
            PartKind::of("sqlite_stat1"),
            PartKind::Other("sqlite_stat1".to_owned())
        );
    }
}
