//! Settings from the environment (README.md, "Configuration"), parsed once at start-up.
//!
//! The `config` crate gathers the eight variables (with their defaults); every value is then
//! parsed here into a typed [`Settings`]. A value that does not parse is a [`ConfigError`]
//! naming its variable, so start-up can stop with one clear line and exit code 2.
//!
//! Only these variables are handed to `config` (not the whole environment): an unrelated
//! variable holding non-UTF-8 bytes must not stop the server.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use hookline_signature::{SecretString, SignatureError, TokenSet, Verifier};
use serde::Deserialize;

/// The variables this server reads, in the order of README.md's table.
pub const VARIABLES: [&str; 8] = [
    "WEBHOOK_SECRET",
    "DATABASE_URL",
    "READ_TOKEN",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_VERIFY_TOKEN",
    "LOG_LEVEL",
    "HOST",
    "PORT",
];

/// `DATABASE_URL` when unset: `./data/app.db`, relative to the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:///data/app.db";
/// `LOG_LEVEL` when unset.
pub const DEFAULT_LOG_LEVEL: &str = "INFO";
/// `HOST` when unset.
pub const DEFAULT_HOST: &str = "0.0.0.0";
/// `PORT` when unset.
pub const DEFAULT_PORT: u16 = 8000;

/// The validated settings the server runs with.
#[derive(Debug)]
pub struct Settings {
    /// The signature verifier, or `None` when `WEBHOOK_SECRET` is unset or blank (the server
    /// then runs, but is not ready and refuses webhooks with 503).
    pub verifier: Option<Verifier>,
    /// The bearer tokens `GET /messages` and `GET /stats` require; `None` (`READ_TOKEN`
    /// unset or blank): reads are open.
    pub read_tokens: Option<TokenSet>,
    /// The Meta app secret(s) that sign `POST /webhook/whatsapp`; `None` when
    /// `WHATSAPP_APP_SECRET` is unset or blank (that route then answers 503).
    pub whatsapp_verifier: Option<Verifier>,
    /// The verify token of Meta's subscription handshake (`GET /webhook/whatsapp`); `None`
    /// when `WHATSAPP_VERIFY_TOKEN` is unset or blank (the handshake then answers 503).
    pub whatsapp_verify_token: Option<TokenSet>,
    /// Where the messages are stored.
    pub database: DatabaseLocation,
    /// The least severe level written to the log.
    pub log_level: LogLevel,
    /// The host to listen on, as given (an IP address or a resolvable name).
    pub host: String,
    /// The port to listen on; `0` asks the operating system for a free one.
    pub port: u16,
}

/// Where the database lives, from `DATABASE_URL` (parsed by `hookline-backend`, which
/// `hookctl copy` shares).
pub use hookline_backend::Database as DatabaseLocation;

/// The `LOG_LEVEL` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Everything, including diagnostics.
    Debug,
    /// Requests and lifecycle events (the default).
    Info,
    /// Warnings and errors.
    Warn,
    /// Errors only (rejected signatures, storage faults, 5xx).
    Error,
}

impl LogLevel {
    /// Reads a level, case-insensitively: `DEBUG`, `INFO`, `WARN` (or `WARNING`), `ERROR`
    /// (or `CRITICAL`, Python's highest level, which means the same here).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_uppercase().as_str() {
            "DEBUG" => Some(Self::Debug),
            "INFO" => Some(Self::Info),
            "WARN" | "WARNING" => Some(Self::Warn),
            "ERROR" | "CRITICAL" => Some(Self::Error),
            _ => None,
        }
    }

    /// The name as written in the configuration table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }
}

/// A setting that stops start-up. `Display` is one line that names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable holds bytes that are not UTF-8.
    #[error("{variable} is not valid UTF-8")]
    NotUnicode {
        /// The variable.
        variable: &'static str,
    },
    /// `PORT` is not an integer in 0..=65535.
    #[error("PORT must be an integer between 0 and 65535, got {value:?}")]
    Port {
        /// The value, truncated for the log.
        value: String,
    },
    /// `HOST` is neither an IP address nor a name that resolves.
    #[error("HOST must be an IP address or a resolvable host name, got {value:?}")]
    Host {
        /// The value, truncated for the log.
        value: String,
    },
    /// `LOG_LEVEL` is not one of the known levels.
    #[error("LOG_LEVEL must be one of DEBUG, INFO, WARN, ERROR, got {value:?}")]
    LogLevel {
        /// The value, truncated for the log.
        value: String,
    },
    /// `DATABASE_URL` is not a SQLite URL this server understands. The value itself is not
    /// repeated: a URL may carry credentials.
    #[error(
        "DATABASE_URL must be sqlite:///relative/path, sqlite:////absolute/path, \
         sqlite::memory: or postgres://… ({reason})"
    )]
    DatabaseUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// `WEBHOOK_SECRET`, `WHATSAPP_APP_SECRET` or `READ_TOKEN` is a list with an empty entry
    /// (`"a,,b"`). The secret is never shown.
    #[error("{variable} is malformed: {source}")]
    Secret {
        /// The variable.
        variable: &'static str,
        /// What is wrong with the list.
        source: SignatureError,
    },
    /// The `config` crate itself failed.
    #[error("cannot read the configuration: {0}")]
    Source(#[from] config::ConfigError),
}

impl ConfigError {
    /// The environment variable at fault, for the structured log line.
    pub fn variable(&self) -> Option<&'static str> {
        match self {
            Self::NotUnicode { variable } => Some(variable),
            Self::Port { .. } => Some("PORT"),
            Self::Host { .. } => Some("HOST"),
            Self::LogLevel { .. } => Some("LOG_LEVEL"),
            Self::DatabaseUrl { .. } => Some("DATABASE_URL"),
            Self::Secret { variable, .. } => Some(variable),
            Self::Source(_) => None,
        }
    }
}

/// The raw values as `config` assembles them (variable names lower-cased).
#[derive(Debug, Deserialize)]
struct RawSettings {
    /// Wrapped as it is read: from here to [`Verifier::from_secret_list`] the secret is only
    /// ever a [`SecretString`] (redacted `Debug`, zeroized on drop).
    #[serde(default, deserialize_with = "secret")]
    webhook_secret: Option<SecretString>,
    #[serde(default, deserialize_with = "secret")]
    read_token: Option<SecretString>,
    #[serde(default, deserialize_with = "secret")]
    whatsapp_app_secret: Option<SecretString>,
    #[serde(default, deserialize_with = "secret")]
    whatsapp_verify_token: Option<SecretString>,
    database_url: String,
    log_level: String,
    host: String,
    port: String,
}

impl Settings {
    /// Reads the settings from the process environment.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first variable that is malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut vars = HashMap::new();
        for variable in VARIABLES {
            if let Some(value) = std::env::var_os(variable) {
                let value = value
                    .into_string()
                    .map_err(|_| ConfigError::NotUnicode { variable })?;
                vars.insert(variable.to_owned(), value);
            }
        }
        Self::from_vars(vars)
    }

    /// Reads the settings from the given variables (as if they were the environment).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first variable that is malformed.
    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        let raw: RawSettings = config::Config::builder()
            .set_default("database_url", DEFAULT_DATABASE_URL)?
            .set_default("log_level", DEFAULT_LOG_LEVEL)?
            .set_default("host", DEFAULT_HOST)?
            .set_default("port", DEFAULT_PORT.to_string())?
            .add_source(
                config::Environment::default()
                    .source(Some(vars))
                    .try_parsing(false),
            )
            .build()?
            .try_deserialize()?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawSettings) -> Result<Self, ConfigError> {
        let port = raw
            .port
            .trim()
            .parse::<u16>()
            .map_err(|_| ConfigError::Port {
                value: shorten(&raw.port),
            })?;
        let host = raw.host.trim().to_owned();
        if host.is_empty() || (host.parse::<IpAddr>().is_err() && resolve(&host, port).is_none()) {
            return Err(ConfigError::Host {
                value: shorten(&raw.host),
            });
        }
        let log_level = LogLevel::parse(&raw.log_level).ok_or_else(|| ConfigError::LogLevel {
            value: shorten(&raw.log_level),
        })?;
        let database = parse_database_url(&raw.database_url)?;
        // An unset or blank secret means "not configured": the server runs but is not ready.
        let verifier = optional_secret(
            "WEBHOOK_SECRET",
            raw.webhook_secret.as_ref(),
            Verifier::from_secret_list,
        )?;
        let read_tokens =
            optional_secret("READ_TOKEN", raw.read_token.as_ref(), TokenSet::from_list)?;
        let whatsapp_verifier = optional_secret(
            "WHATSAPP_APP_SECRET",
            raw.whatsapp_app_secret.as_ref(),
            Verifier::from_secret_list,
        )?;
        let whatsapp_verify_token = optional_secret(
            "WHATSAPP_VERIFY_TOKEN",
            raw.whatsapp_verify_token.as_ref(),
            TokenSet::single,
        )?;
        Ok(Self {
            verifier,
            read_tokens,
            whatsapp_verifier,
            whatsapp_verify_token,
            database,
            log_level,
            host,
            port,
        })
    }

    /// The address to bind: `HOST` and `PORT` resolved.
    pub fn bind_addresses(&self) -> Vec<SocketAddr> {
        match self.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, self.port)],
            Err(_) => resolve(&self.host, self.port).unwrap_or_default(),
        }
    }
}

/// Reads an optional string into a [`SecretString`] as soon as `config` hands it over.
fn secret<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SecretString>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.map(SecretString::from))
}

/// An optional secret setting: unset or blank is `None` ("not configured"), a malformed
/// list (`"a,,b"`) an error naming `variable`.
fn optional_secret<T>(
    variable: &'static str,
    value: Option<&SecretString>,
    build: impl FnOnce(&SecretString) -> Result<T, SignatureError>,
) -> Result<Option<T>, ConfigError> {
    match value.map(build) {
        None | Some(Err(SignatureError::NoSecrets)) => Ok(None),
        Some(Err(source)) => Err(ConfigError::Secret { variable, source }),
        Some(Ok(built)) => Ok(Some(built)),
    }
}

fn resolve(host: &str, port: u16) -> Option<Vec<SocketAddr>> {
    let addrs: Vec<_> = (host, port).to_socket_addrs().ok()?.collect();
    (!addrs.is_empty()).then_some(addrs)
}

/// A value cut to a length that fits one log line.
fn shorten(value: &str) -> String {
    const MAX_CHARS: usize = 64;
    if value.chars().count() <= MAX_CHARS {
        value.to_owned()
    } else {
        let mut short: String = value.chars().take(MAX_CHARS).collect();
        short.push('…');
        short
    }
}

/// Parses a `DATABASE_URL` in SQLAlchemy's SQLite form.
///
/// - `sqlite:///relative/path` — the path is what follows `sqlite:///`;
/// - `sqlite:////absolute/path` — so an absolute path has four slashes;
/// - `sqlite::memory:`, `sqlite://` and `sqlite:///:memory:` — an in-memory database;
/// - `postgres://…` or `postgresql://…` — a libpq connection URL (PostgreSQL).
///
/// # Errors
///
/// [`ConfigError::DatabaseUrl`] for any other scheme, an empty path or a PostgreSQL URL
/// that does not parse.
pub fn parse_database_url(url: &str) -> Result<DatabaseLocation, ConfigError> {
    DatabaseLocation::parse(url).map_err(|e| ConfigError::DatabaseUrl {
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_vars(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn defaults_match_the_spec_table() {
        let s = settings(&[]).unwrap();
        assert!(s.verifier.is_none());
        assert!(s.read_tokens.is_none());
        assert!(s.whatsapp_verifier.is_none());
        assert!(s.whatsapp_verify_token.is_none());
        assert_eq!(s.database, DatabaseLocation::File("data/app.db".into()));
        assert_eq!(s.log_level, LogLevel::Info);
        assert_eq!(s.host, "0.0.0.0");
        assert_eq!(s.port, 8000);
    }

    #[test]
    fn database_url_follows_sqlalchemy() {
        let parse = |url: &str| parse_database_url(url).ok();
        let file = |p: &str| Some(DatabaseLocation::File(p.into()));
        assert_eq!(parse("sqlite:///data/app.db"), file("data/app.db"));
        assert_eq!(parse("sqlite:////data/app.db"), file("/data/app.db"));
        assert_eq!(parse("sqlite::memory:"), Some(DatabaseLocation::Memory));
        assert_eq!(parse("sqlite://"), Some(DatabaseLocation::Memory));
        assert!(matches!(
            parse("postgres://u:p@db:5432/hookline?sslmode=disable"),
            Some(DatabaseLocation::Postgres(_))
        ));
        assert!(matches!(
            parse("postgres://u:p@db:5432/hookline?sslmode=verify-full&sslrootcert=/etc/ca.pem"),
            Some(DatabaseLocation::Postgres(_))
        ));
        assert!(matches!(
            parse("postgresql:///hookline?host=/run/postgresql"),
            Some(DatabaseLocation::Postgres(_))
        ));
        for bad in [
            "mysql://x",
            "postgres://db/x?sslmode=bogus",
            "postgres://db:notaport/x",
            "sqlite:///",
            "sqlite:/x",
            "app.db",
            "",
        ] {
            assert!(parse_database_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_bad_setting_names_its_variable() {
        for (pairs, variable) in [
            (vec![("PORT", "abc")], "PORT"),
            (vec![("PORT", "70000")], "PORT"),
            (vec![("LOG_LEVEL", "loud")], "LOG_LEVEL"),
            (vec![("DATABASE_URL", "mysql://u:p@h/db")], "DATABASE_URL"),
            (vec![("WEBHOOK_SECRET", "a,,b")], "WEBHOOK_SECRET"),
            (vec![("READ_TOKEN", "a,,b")], "READ_TOKEN"),
            (vec![("WHATSAPP_APP_SECRET", "a,")], "WHATSAPP_APP_SECRET"),
            (vec![("HOST", "")], "HOST"),
        ] {
            let err = settings(&pairs).unwrap_err();
            assert_eq!(err.variable(), Some(variable));
            assert!(err.to_string().contains(variable), "{err}");
        }
    }

    #[test]
    fn database_url_errors_do_not_repeat_credentials() {
        let err = settings(&[("DATABASE_URL", "mysql://user:hunter2@db/x")]).unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        let err = settings(&[("DATABASE_URL", "postgres://user:hunter2@db:x/x")]).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let ok = settings(&[("DATABASE_URL", "postgres://user:hunter2@db/x")]).unwrap();
        assert!(!ok.database.to_string().contains("hunter2"));
        assert!(!format!("{ok:?}").contains("hunter2"));
    }

    #[test]
    fn a_blank_secret_means_not_configured_and_lists_are_accepted() {
        assert!(
            settings(&[("WEBHOOK_SECRET", "  ")])
                .unwrap()
                .verifier
                .is_none()
        );
        let s = settings(&[("WEBHOOK_SECRET", "new,old")]).unwrap();
        assert_eq!(s.verifier.map(|v| v.secret_count()), Some(2));
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let s = settings(&[
            ("WEBHOOK_SECRET", "hunter2,top-secret"),
            ("READ_TOKEN", "read-me"),
            ("WHATSAPP_APP_SECRET", "app-secret"),
            ("WHATSAPP_VERIFY_TOKEN", "verify-me"),
        ])
        .unwrap();
        let debug = format!("{s:?}");
        for secret in [
            "hunter2",
            "top-secret",
            "read-me",
            "app-secret",
            "verify-me",
        ] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("[redacted]"), "{debug}");
    }

    #[test]
    fn log_level_is_case_insensitive() {
        assert_eq!(LogLevel::parse("debug"), Some(LogLevel::Debug));
        assert_eq!(LogLevel::parse("Warning"), Some(LogLevel::Warn));
        assert_eq!(LogLevel::parse("ERROR"), Some(LogLevel::Error));
        assert_eq!(LogLevel::parse("verbose"), None);
    }
}
