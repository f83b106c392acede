//! `hookctl send`: build one message, check it, sign it, POST it, print the answer.
//!
//! With `--whatsapp` the message goes out as Meta's WhatsApp Cloud API would deliver it: an
//! envelope holding one inbound message, signed with `X-Hub-Signature-256` under the app
//! secret (`WHATSAPP_APP_SECRET`), posted to `/webhook/whatsapp`. The envelope is checked with
//! the server's own parser, which must map it back to exactly the given fields.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use reqwest::Url;
use serde_json::{Map, Value};

use crate::error::CliError;
use crate::secret::{DEFAULT_SECRET_ENV, Secret, WHATSAPP_SECRET_ENV};

/// Arguments of `hookctl send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Base URL of the server (`/webhook`, or `/webhook/whatsapp` with `--whatsapp`, is
    /// appended when the URL has no path), or the full webhook URL.
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
    /// Which header carries the signature (with `--whatsapp`, always `hub`).
    #[arg(long, value_enum, default_value_t = Scheme::XSignature)]
    scheme: Scheme,
    /// Send a WhatsApp Cloud API envelope with this one message to `/webhook/whatsapp`,
    /// signed with `X-Hub-Signature-256` (a text message; without `--text`, an `unsupported`
    /// one). `--ts` must then be a whole second, as Meta sends Unix seconds.
    #[arg(long, conflicts_with = "scheme")]
    whatsapp: bool,
    /// Environment variable holding the secret (first entry of a comma-separated list);
    /// default `WEBHOOK_SECRET`, or `WHATSAPP_APP_SECRET` with `--whatsapp`.
    #[arg(long, value_name = "NAME")]
    secret_env: Option<String>,
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
    let default_env = if args.whatsapp {
        WHATSAPP_SECRET_ENV
    } else {
        DEFAULT_SECRET_ENV
    };
    let secret = Secret::from_env(args.secret_env.as_deref().unwrap_or(default_env))?;
    let (path, body) = if args.whatsapp {
        ("/webhook/whatsapp", whatsapp_body(args)?)
    } else {
        ("/webhook", message_body(args)?)
    };
    let url = webhook_url(&args.url, path)?;
    if !args.no_validate {
        if args.whatsapp {
            validate_envelope(&body, args)?;
        } else {
            validate(&body)?;
        }
    }
    let signature = secret.sign(&body);
    let scheme = if args.whatsapp {
        Scheme::Hub
    } else {
        args.scheme
    };
    let (header, value) = match scheme {
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

/// The webhook URL: `base` itself when it names a path, else `base` + `path`.
fn webhook_url(base: &str, path: &str) -> Result<Url, CliError> {
    let bad = |reason: String| CliError::BadUrl {
        url: base.to_owned(),
        reason,
    };
    let mut url = Url::parse(base).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https".to_owned()));
    }
    if url.path().is_empty() || url.path() == "/" {
        url.set_path(path);
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

/// A WhatsApp Cloud API envelope holding the message: `from` and `to` without their `+`,
/// `ts` as Unix seconds, `text` as a text message's body (no text: an `unsupported` message).
fn whatsapp_body(args: &SendArgs) -> Result<Vec<u8>, CliError> {
    let digits = |number: &str| number.strip_prefix('+').unwrap_or(number).to_owned();
    let seconds = unix_seconds(&args.ts, args.no_validate)?;
    let mut message = serde_json::json!({
        "from": digits(&args.from),
        "id": args.id,
        "timestamp": seconds,
        "type": "unsupported",
    });
    if let Some(text) = &args.text {
        message["type"] = "text".into();
        message["text"] = serde_json::json!({ "body": text });
    }
    let envelope = serde_json::json!({
        "object": hookline_domain::whatsapp::WHATSAPP_OBJECT,
        "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": digits(&args.to), "phone_number_id": "0"},
            "messages": [message],
        }}]}],
    });
    serde_json::to_vec(&envelope).map_err(CliError::Encode)
}

/// `ts` as the string of Unix seconds Meta sends. An RFC 3339 instant that is not a whole
/// second after 1970 is refused, unless `--no-validate` (then `ts` is sent as given).
fn unix_seconds(ts: &str, no_validate: bool) -> Result<String, CliError> {
    let nanos = hookline_domain::Timestamp::parse(ts)
        .map(|t| t.instant().unix_nanos())
        .ok()
        .filter(|nanos| *nanos >= 0 && nanos % 1_000_000_000 == 0);
    match nanos {
        Some(nanos) => Ok((nanos / 1_000_000_000).to_string()),
        None if no_validate => Ok(ts.to_owned()),
        None => Err(CliError::InvalidMessage(format!(
            "  ts: with --whatsapp it must be a whole second after 1970 in UTC \
             (2025-01-15T10:00:00Z), got {ts:?}"
        ))),
    }
}

/// Checks the body with the server's own parser; lists every field error when it fails.
fn validate(body: &[u8]) -> Result<(), CliError> {
    hookline_domain::parse_message(body)
        .map(drop)
        .map_err(invalid)
}

/// Checks the envelope with the server's own parser, which must give back exactly the message
/// of `args` (a `from` that is not E.164, say, would be stored differently or refused).
fn validate_envelope(body: &[u8], args: &SendArgs) -> Result<(), CliError> {
    let envelope = hookline_domain::whatsapp::parse_envelope(body).map_err(invalid)?;
    let expected = message_body(args)?;
    let expected = hookline_domain::parse_message(&expected).map_err(invalid)?;
    match envelope.messages() {
        [mapped]
            if mapped.message_id() == expected.message_id()
                && mapped.from() == expected.from()
                && mapped.to() == expected.to()
                && mapped.ts().instant() == expected.ts().instant()
                && mapped.text() == expected.text() =>
        {
            Ok(())
        }
        _ => Err(CliError::InvalidMessage(
            "  the envelope would not be stored as these fields (from and to must be E.164)"
                .to_owned(),
        )),
    }
}

/// Every field error, one line each.
fn invalid(errors: Vec<hookline_domain::FieldError>) -> CliError {
    let lines: Vec<String> = errors
        .iter()
        .map(|e| format!("  {}: {} ({})", e.loc().join("."), e.msg(), e.kind()))
        .collect();
    CliError::InvalidMessage(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_path_is_appended_to_a_bare_base_url() {
        let url = webhook_url("http://127.0.0.1:8000", "/webhook").map(|u| u.to_string());
        assert_eq!(url.ok().as_deref(), Some("http://127.0.0.1:8000/webhook"));
        let url = webhook_url("http://127.0.0.1:8000/", "/webhook").map(|u| u.to_string());
        assert_eq!(url.ok().as_deref(), Some("http://127.0.0.1:8000/webhook"));
    }

    #[test]
    fn an_explicit_path_is_kept() {
        let url = webhook_url("http://h:1/hooks/in", "/webhook").map(|u| u.to_string());
        assert_eq!(url.ok().as_deref(), Some("http://h:1/hooks/in"));
    }

    #[test]
    fn a_non_http_url_is_refused() {
        assert!(matches!(
            webhook_url("ftp://h/", "/webhook"),
            Err(CliError::BadUrl { .. })
        ));
        assert!(matches!(
            webhook_url("not a url", "/webhook"),
            Err(CliError::BadUrl { .. })
        ));
    }

    #[test]
    fn whatsapp_timestamps_are_whole_unix_seconds() {
        assert_eq!(
            unix_seconds("2023-01-26T10:00:00Z", false).ok().as_deref(),
            Some("1674727200")
        );
        for bad in [
            "2023-01-26T10:00:00.5Z",
            "1969-12-31T23:59:59Z",
            "yesterday",
        ] {
            assert!(unix_seconds(bad, false).is_err(), "{bad}");
        }
        assert_eq!(
            unix_seconds("yesterday", true).ok().as_deref(),
            Some("yesterday")
        );
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
