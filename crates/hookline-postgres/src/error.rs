//! Errors: [`PostgresError`] for a bad configuration, and the one place that erases
//! `tokio_postgres::Error` and the pool's errors into [`StoreError`].

use deadpool_postgres::PoolError;
use hookline_store::StoreError;
use tokio_postgres::error::SqlState;

/// Why a [`PostgresConfig`](crate::PostgresConfig) could not be built. Never repeats the
/// URL: it may carry a password.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    /// The URL does not parse as a libpq connection string.
    #[error("not a PostgreSQL connection URL: {0}")]
    Url(#[source] tokio_postgres::Error),
    /// The URL asks for something this build does not do.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The TLS settings cannot be used (e.g. `sslrootcert` names no readable PEM file).
    #[error("PostgreSQL TLS: {0}")]
    Tls(String),
    /// The connection pool could not be built.
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
}

/// A migration that cannot go on.
#[derive(Debug, thiserror::Error)]
#[error("schema version {found} is newer than this build's {supported}")]
pub(crate) struct SchemaTooNew {
    pub(crate) found: i32,
    pub(crate) supported: i32,
}

/// A stored row that does not decode into a message.
#[derive(Debug, thiserror::Error)]
#[error("stored row {message_id:?} has an invalid {field}")]
pub(crate) struct CorruptRow {
    pub(crate) message_id: String,
    pub(crate) field: &'static str,
}

/// Erases a database error: the environment's problems (connection refused, closed or
/// reset, server shutting down or starting, statement or lock timeout, too many
/// connections, disk full, serialization failures) are `Unavailable`; a missing table is
/// `NotReady`; anything else — a bug here — is `Internal`.
pub(crate) fn store_error(e: tokio_postgres::Error) -> StoreError {
    let Some(code) = e.code() else {
        // No SQLSTATE: an I/O error, a closed connection, a timeout while connecting.
        return StoreError::unavailable(e);
    };
    let class = &code.code()[..2];
    if matches!(
        class,
        // connection exception, insufficient resources, program limit, operator
        // intervention (shutdown, cancel, statement_timeout), system error,
        // transaction rollback (serialization, deadlock), object not in prerequisite
        // state (lock_not_available)
        "08" | "53" | "54" | "57" | "58" | "40" | "55"
    ) || *code == SqlState::READ_ONLY_SQL_TRANSACTION
    {
        StoreError::unavailable(e)
    } else if *code == SqlState::UNDEFINED_TABLE || *code == SqlState::UNDEFINED_COLUMN {
        StoreError::NotReady(format!("database schema missing: {e}"))
    } else {
        StoreError::internal(e)
    }
}

/// Erases a pool error: waiting, connecting and a closed pool are all `Unavailable`.
pub(crate) fn pool_error(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => store_error(e),
        other => StoreError::unavailable(other),
    }
}
