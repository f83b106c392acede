//! The message store a `DATABASE_URL` names, for every program that opens one from a URL:
//! the server and `hookctl copy`.
//!
//! [`Database::parse`] reads the URL forms of the contract (`sqlite:///relative`,
//! `sqlite:////absolute`, `sqlite::memory:`, `postgres://…`/`postgresql://…`);
//! [`Backend::open`] opens the store it names and hands it out as `Arc<dyn MessageStore>`,
//! keeping the concrete store for the one thing only it knows: how to shut down (SQLite
//! commits what is queued and stops its writer; PostgreSQL closes its pool).
//!
//! Invariant: this crate writes no SQL and knows no HTTP; it only chooses between the
//! storage crates.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use hookline_postgres::{PostgresConfig, PostgresError, PostgresStore};
use hookline_sqlite::{Location, SqliteConfig, SqliteError, SqliteStore};
use hookline_store::MessageStore;

/// Where the messages live, from a `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file; relative paths are relative to the working directory.
    File(PathBuf),
    /// A throw-away in-memory SQLite database (`sqlite::memory:`).
    Memory,
    /// A PostgreSQL database (`postgres://…` or `postgresql://…`), which any number of
    /// replicas may share. Its `Display` and `Debug` never show the password.
    Postgres(Box<PostgresConfig>),
}

/// Why a `DATABASE_URL` names no database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UrlError(String);

impl Database {
    /// Parses a `DATABASE_URL` (SQLAlchemy's SQLite forms, or a libpq URL):
    /// - `sqlite:///relative/path` and `sqlite:////absolute/path` — a file;
    /// - `sqlite::memory:`, `sqlite://` and `sqlite:///:memory:` — an in-memory database;
    /// - `postgres://…` / `postgresql://…` — PostgreSQL.
    ///
    /// # Errors
    ///
    /// [`UrlError`] for another scheme, an empty path, or a malformed PostgreSQL URL.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let url = url.trim();
        let error = |reason: &str| UrlError(reason.to_owned());
        let Some((scheme, rest)) = url.split_once(':') else {
            return Err(error("no scheme"));
        };
        if scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql") {
            return PostgresConfig::from_url(url)
                .map(|config| Self::Postgres(Box::new(config)))
                .map_err(|e| error(&e.to_string()));
        }
        if !scheme.eq_ignore_ascii_case("sqlite") {
            let scheme: String = scheme.chars().take(32).collect();
            return Err(error(&format!("unsupported scheme {scheme:?}")));
        }
        match rest {
            ":memory:" | "//" | "///:memory:" => Ok(Self::Memory),
            _ => match rest.strip_prefix("///") {
                Some("") => Err(error("the path is empty")),
                Some(path) => Ok(Self::File(PathBuf::from(path))),
                None => Err(error("expected three slashes after \"sqlite:\"")),
            },
        }
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Memory => f.write_str(":memory:"),
            Self::Postgres(config) => write!(f, "{config}"),
        }
    }
}

/// Why the named store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The SQLite file could not be created, opened or migrated.
    #[error(transparent)]
    Sqlite(#[from] SqliteError),
    /// The PostgreSQL settings were refused (PostgreSQL itself is connected to lazily).
    #[error(transparent)]
    Postgres(#[from] PostgresError),
}

/// An open store, kept as its concrete type for its shutdown.
#[derive(Clone)]
pub enum Backend {
    /// The embedded SQLite store.
    Sqlite(Arc<SqliteStore>),
    /// The shared PostgreSQL store.
    Postgres(Arc<PostgresStore>),
}

impl Backend {
    /// Opens (SQLite: and migrates) the store `database` names, with default settings.
    ///
    /// # Errors
    ///
    /// [`OpenError`] when the store cannot be opened.
    pub fn open(database: &Database) -> Result<Self, OpenError> {
        let sqlite = |location| -> Result<Self, OpenError> {
            Ok(Self::Sqlite(Arc::new(SqliteStore::open(SqliteConfig {
                location,
                ..SqliteConfig::default()
            })?)))
        };
        match database {
            Database::File(path) => sqlite(Location::File(path.clone())),
            Database::Memory => sqlite(Location::Memory),
            Database::Postgres(config) => {
                Ok(Self::Postgres(Arc::new(PostgresStore::open(config)?)))
            }
        }
    }

    /// The store, as every caller uses it.
    pub fn store(&self) -> Arc<dyn MessageStore> {
        match self {
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    /// SQLite: commits what is queued and stops the writer; PostgreSQL: closes the pool.
    /// Blocks while SQLite's last group commits.
    pub fn shutdown(&self) {
        match self {
            Self::Sqlite(store) => store.shutdown(),
            Self::Postgres(store) => store.close(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_forms_parse_to_files_and_memory() {
        let parse = |url: &str| Database::parse(url).ok();
        assert_eq!(
            parse("sqlite:///data/app.db"),
            Some(Database::File("data/app.db".into()))
        );
        assert_eq!(
            parse("sqlite:////data/app.db"),
            Some(Database::File("/data/app.db".into()))
        );
        assert_eq!(parse("sqlite::memory:"), Some(Database::Memory));
        assert_eq!(parse("sqlite://"), Some(Database::Memory));
        assert_eq!(parse("sqlite:///"), None);
        assert_eq!(parse("mysql://u@h/db"), None);
        assert!(matches!(
            parse("postgres://u@localhost/db"),
            Some(Database::Postgres(_))
        ));
    }
}
