//! `hookctl send`: build one message, check it, sign it, POST it, print the answer.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use reqwest::Url;
use serde_json::{Map, Value};

use crate::error::CliError;
use crate::secret::{DEFAULT_SECRET_ENV, Secret};

/// Arguments of `hookctl send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Base URL of the server (`/webhook` is appended when the URL has no path), or the full
    /// webhook URL.
    #[arg(long, env = "HOOKLINE_URL", default_value = "http://127.0.0.1:8000")]
    url: String,
    /// The `message_id`.
    #[arg(long)]
    id: String,
    /// The sender, E.164 (`+919876543210`).
    #[arg(long)]
    from: String,
    /// The recipient, E.164 (`+14155550100`).
    #[arg(long)]
    to: String,
    /// The instant, RFC 3339 UTC ending in `Z` (`2025-01-15T10:00:00Z`).
    #[arg(long)]
    ts: String,
    /// The text; the field is left out when not given.
    #[arg(long)]
    text: Option<String>,
    /// Send the message even if it would not pass the server's validation.
    #[arg(long)]
    no_validate: bool,
    /// Which header carries the signature.
    #[arg(long, value_enum, default_value_t = Scheme::XSignature)]
    scheme: Scheme,
    /// Environment variable holding the secret (first entry of a comma-separated list).
    #[arg(long, value_name = "NAME", default_value = DEFAULT_SECRET_ENV)]
    secret_env: String,
    /// Give up on the request after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    timeout: u64,
}

/// The signature header schemes the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scheme {
    /// `X-Signature: <hex>`.
    XSignature,
    /// `X-Hub-Signature-256: sha256=<hex>` (Meta, GitHub).
    Hub,
}

/// Runs `hookctl send`: exit 0 when the server answers 2xx, 1 otherwise.
pub fn run(args: &SendArgs) -> Result<ExitCode, CliError> {
    let secret = Secret::from_env(&args.secret_env)?;
    let url = webhook_url(&args.url)?;
    let body = message_body(args)?;
    if !args.no_validate {
        validate(&body)?;
    }
    let signature = secret.sign(&body);
    let (header, value) = match args.scheme {
        Scheme::XSignature => ("X-Signature", signature),
        Scheme::Hub => ("X-Hub-Signature-256", format!("sha256={signature}")),
    };

    let request_error = |source| CliError::Request {
        url: url.to_string(),
        source,
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .build()
        .map_err(request_error)?;
    let response = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(header, value)
        .body(body)
        .send()
        .map_err(request_error)?;
    let status = response.status();
    let text = response.text().map_err(request_error)?;

    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    );
    let _ = writeln!(stdout, "{text}");
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The webhook URL: `base` itself when it names a path, else `base` + `/webhook`.
fn webhook_url(base: &str) -> Result<Url, CliError> {
    let bad = |reason: String| CliError::BadUrl {
        url: base.to_owned(),
        reason,
    };
    let mut url = Url::parse(base).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https".to_owned()));
    }
    if url.path().is_empty() || url.path() == "/" {
        url.set_path("/webhook");
    }
    Ok(url)
}

/// The JSON body of the message, with `text` present only when given.
fn message_body(args: &SendArgs) -> Result<Vec<u8>, CliError> {
    let mut object = Map::new();
    object.insert("message_id".to_owned(), Value::from(args.id.as_str()));
    object.insert("from".to_owned(), Value::from(args.from.as_str()));
    object.insert("to".to_owned(), Value::from(args.to.as_str()));
    object.insert("ts".to_owned(), Value::from(args.ts.as_str()));
    if let Some(text) = &args.text {
        object.insert("text".to_owned(), Value::from(text.as_str()));
    }
    serde_json::to_vec(&Value::Object(object)).map_err(CliError::Encode)
}

/// Checks the body with the server's own parser; lists every field error when it fails.
fn validate(body: &[u8]) -> Result<(), CliError> {
    hookline_domain::parse_message(body)
        .map(drop)
        .map_err(|errors| {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| format!("  {}: {} ({})", e.loc().join("."), e.msg(), e.kind()))
                .collect();
            CliError::InvalidMessage(lines.join("\n"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_path_is_appended_to_a_bare_base_url() {
        let url = webhook_url("http://127.0.0.1:8000").map(|u| u.to_string());
        assert_eq!(url.ok().as_deref(), Some("http://127.0.0.1:8000/webhook"));
        let url = webhook_url("http://127.0.0.1:8000/").map(|u| u.to_string());
        assert_eq!(url.ok().as_deref(), Some("http://127.0.0.1:8000/webhook"));
    }

    #[test]
    fn an_explicit_path_is_kept() {
        let url = webhook_url("http://h:1/hooks/in").map(|u| u.to_string());
        assert_eq!(url.ok().as_deref(), Some("http://h:1/hooks/in"));
    }

    #[test]
    fn a_non_http_url_is_refused() {
        assert!(matches!(
            webhook_url("ftp://h/"),
            Err(CliError::BadUrl { .. })
        ));
        assert!(matches!(
            webhook_url("not a url"),
            Err(CliError::BadUrl { .. })
        ));
    }

    #[test]
    fn validation_lists_every_bad_field() {
        let body = br#"{"message_id":"","from":"12","to":"+1","ts":"2025-01-15T10:00:00Z"}"#;
        let Err(CliError::InvalidMessage(text)) = validate(body) else {
            panic!("expected the message to be invalid");
        };
        assert!(text.contains("body.message_id"), "{text}");
        assert!(text.contains("body.from"), "{text}");
        assert!(!text.contains("body.to"), "{text}");
    }
}
