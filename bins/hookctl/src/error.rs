//! The one error type of `hookctl`, and how each kind maps to an exit code.

use std::process::ExitCode;

/// Everything that can stop a `hookctl` command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The environment variable that should hold the secret is unset or not Unicode.
    #[error(
        "the secret is not set (or not UTF-8): export {name}=<secret>, or pass --secret-env NAME"
    )]
    MissingSecret {
        /// Name of the variable that was read.
        name: String,
    },
    /// The variable is set but its first secret is empty.
    #[error("the secret in {name} is empty")]
    EmptySecret {
        /// Name of the variable that was read.
        name: String,
    },
    /// Reading the body from standard input failed.
    #[error("cannot read the body from stdin: {0}")]
    Stdin(#[source] std::io::Error),
    /// The message would be rejected by the server with 422.
    #[error("the message is invalid (use --no-validate to send it anyway):\n{0}")]
    InvalidMessage(String),
    /// The `--url` value is not an http(s) URL.
    #[error("invalid --url {url:?}: {reason}")]
    BadUrl {
        /// The value given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The HTTP request could not be made or its answer not read.
    #[error("request to {url} failed: {source}")]
    Request {
        /// Where the request went.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// A `--from`/`--to` store URL that cannot be opened.
    #[error("{flag}: {reason}")]
    BadStore {
        /// The flag.
        flag: &'static str,
        /// Why (never the URL itself: it may carry a password).
        reason: String,
    },
    /// A bad argument value.
    #[error("{0}")]
    BadArgument(String),
    /// A store call of `copy` failed.
    #[error("{side} store: {source}")]
    Store {
        /// `source` or `destination`.
        side: &'static str,
        /// What the store said.
        #[source]
        source: hookline_store::StoreError,
    },
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// An insert task failed.
    #[error("an insert task failed: {0}")]
    Task(#[source] tokio::task::JoinError),
    /// Serialising the message to JSON failed (not expected for string fields).
    #[error("cannot encode the message as JSON: {0}")]
    Encode(#[source] serde_json::Error),
}

impl CliError {
    /// The process exit code for this error: 2 for usage and configuration errors, 1 for
    /// failures of the request itself.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Request { .. }
            | CliError::Store { .. }
            | CliError::Runtime(_)
            | CliError::Task(_) => ExitCode::from(1),
            CliError::MissingSecret { .. }
            | CliError::EmptySecret { .. }
            | CliError::Stdin(_)
            | CliError::InvalidMessage(_)
            | CliError::BadUrl { .. }
            | CliError::BadStore { .. }
            | CliError::BadArgument(_)
            | CliError::Encode(_) => ExitCode::from(2),
        }
    }
}
