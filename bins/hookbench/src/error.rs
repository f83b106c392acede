//! The one error type of `hookbench`, and how each kind maps to an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::http::HttpError;

/// Everything that can stop a `hookbench` command.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A command-line value that clap accepted but that makes no sense.
    #[error("invalid {option}: {reason}")]
    Usage {
        /// The option, e.g. `--url`.
        option: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The variable that should hold the secret is unset, empty or not UTF-8.
    #[error("the secret is not set: export {name}=<secret>, or pass --secret S")]
    MissingSecret {
        /// Name of the variable that was read.
        name: String,
    },
    /// A file or folder could not be read or written.
    #[error("{what} {path}: {source}")]
    File {
        /// What was being done, e.g. "cannot write".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Opening or writing the SQLite database failed.
    #[error("database {path}: {reason}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A worker thread could not be started or died.
    #[error("worker thread: {0}")]
    Thread(String),
    /// The server binary could not be started, or stopped too early.
    #[error("server {binary}: {reason}")]
    Server {
        /// The binary.
        binary: PathBuf,
        /// What went wrong (with the tail of its log when there is one).
        reason: String,
    },
    /// A single request the suite depends on (a cursor, `/stats`) failed.
    #[error("request {path}: {source}")]
    Request {
        /// The path requested.
        path: String,
        /// The cause.
        #[source]
        source: HttpError,
    },
    /// A response the suite depends on had an unexpected status or shape.
    #[error("unexpected answer to {path}: {reason}")]
    Answer {
        /// The path requested.
        path: String,
        /// What was wrong.
        reason: String,
    },
}

impl BenchError {
    /// `2` for usage and configuration errors, `1` for everything that failed at run time.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            BenchError::Usage { .. } | BenchError::MissingSecret { .. } => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        }
    }
}
