//! Errors: [`SqliteError`] for opening a store, and the one place that erases
//! `rusqlite::Error` into [`StoreError`].

use std::path::PathBuf;

use hookline_store::{BoxError, StoreError};
use rusqlite::ErrorCode;

/// Why [`SqliteStore::open`](crate::SqliteStore::open) failed. Each message names the
/// database and says what went wrong, on one line, so the server can print it as is; the
/// underlying error is also its [`source`](std::error::Error::source), so the whole cause
/// chain (down to SQLite's own error code) can be logged.
#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    /// The folder that should hold the database could not be created.
    #[error("cannot create directory {path}: {cause}")]
    CannotCreateDir {
        /// The folder.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        cause: std::io::Error,
    },
    /// The database could not be opened or configured (missing permission, not a database,
    /// locked past the busy timeout, …).
    #[error("cannot open database {path}: {cause}")]
    CannotOpen {
        /// The database, as a path or an in-memory name.
        path: String,
        /// What SQLite said.
        #[source]
        cause: BoxError,
    },
    /// The schema could not be brought to the current version.
    #[error("cannot migrate database {path}: {cause}")]
    Migration {
        /// The database.
        path: String,
        /// What went wrong.
        #[source]
        cause: BoxError,
    },
    /// The database was written by a newer hookline; this build will not touch it.
    #[error("database {path} has schema version {found}, newer than this build's {supported}")]
    SchemaTooNew {
        /// The database.
        path: String,
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The writer thread could not be started.
    #[error("cannot start the database writer thread: {cause}")]
    CannotStartWriter {
        /// What the operating system said.
        #[source]
        cause: std::io::Error,
    },
}

/// Whether an SQLite error comes from the environment (disk, locks, permissions) rather
/// than from a bug.
fn is_environmental(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::DiskFull
            | ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::SystemIoFailure
            | ErrorCode::CannotOpen
            | ErrorCode::ReadOnly
            | ErrorCode::PermissionDenied
            | ErrorCode::FileLockingProtocolFailed
            | ErrorCode::OutOfMemory
            | ErrorCode::NoLargeFileSupport
    )
}

/// Which [`StoreError`] variant an SQLite error becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Unavailable,
    NotReady,
    Internal,
}

/// Environment problems are `Unavailable`, a missing table or column is `NotReady`,
/// anything else is `Internal`.
pub(crate) fn kind_of(e: &rusqlite::Error) -> Kind {
    match e {
        rusqlite::Error::SqliteFailure(ffi, message) => {
            if is_environmental(ffi.code) {
                return Kind::Unavailable;
            }
            let schema_problem = message
                .as_deref()
                .is_some_and(|m| m.contains("no such table") || m.contains("no such column"));
            if schema_problem {
                Kind::NotReady
            } else {
                Kind::Internal
            }
        }
        _ => Kind::Internal,
    }
}

/// Builds the [`StoreError`] of `kind` around any error.
pub(crate) fn with_kind<E>(kind: Kind, e: E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    match kind {
        Kind::Unavailable => StoreError::unavailable(e),
        Kind::NotReady => StoreError::NotReady(e.to_string()),
        Kind::Internal => StoreError::internal(e),
    }
}

/// Erases a `rusqlite::Error` into a [`StoreError`] (see [`kind_of`]).
pub(crate) fn store_error(e: rusqlite::Error) -> StoreError {
    with_kind(kind_of(&e), e)
}

/// A store that was shut down, or whose writer thread is gone.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Closed {
    /// [`SqliteStore::shutdown`](crate::SqliteStore::shutdown) ran.
    #[error("the store is shut down")]
    ShutDown,
    /// The writer thread ended unexpectedly.
    #[error("the database writer thread is gone")]
    WriterGone,
    /// The indexer thread ended unexpectedly.
    #[error("the index writer thread is gone")]
    IndexerGone,
    /// A lock was poisoned by a panicking thread.
    #[error("a store lock was poisoned")]
    Poisoned,
}

/// A call handed to the runtime's blocking pool that did not come back with an answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BlockingCall {
    /// The call panicked: a bug.
    #[error("a store call on the blocking pool panicked")]
    Panicked,
    /// The runtime is shutting down and dropped the call.
    #[error("the runtime cancelled a store call on the blocking pool")]
    Cancelled,
}

/// A read allowed any effort answered nothing, which only a bounded read may do: a bug.
#[derive(Debug, thiserror::Error)]
#[error("a read with no effort bound gave no answer")]
pub(crate) struct NoAnswer;

/// A row read back from the database that is not a valid message.
#[derive(Debug, thiserror::Error)]
#[error("stored row {message_id:?} has an invalid {field}")]
pub(crate) struct CorruptRow {
    pub(crate) message_id: String,
    pub(crate) field: &'static str,
}

/// A count read back from the database (a total, a sender's or a bucket's messages, a
/// `count(*)`) that is negative: the kept tables are corrupt, so no total can be trusted.
#[derive(Debug, thiserror::Error)]
#[error("stored count {count} is negative")]
pub(crate) struct CorruptCount {
    pub(crate) count: i64,
}
