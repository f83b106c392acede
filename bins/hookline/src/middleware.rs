//! The one middleware every request passes: request id, access log line, metrics.
//!
//! - **Request id**: a sane incoming `X-Request-ID` (1 to 128 visible ASCII characters) is
//!   kept, anything else is replaced by a UUID v4; it is echoed in the response header.
//! - **Log**: one JSON line per request with `request_id`, `method`, `path` (the raw path,
//!   without the query string, which may hold search text), `status`, `latency_ms`; for
//!   `/webhook` also `message_id` (`null` until the body parsed), `dup` and `result`; for
//!   `POST /webhook/whatsapp` `result`, `messages_stored`, `duplicates` and `statuses_ignored`.
//!   A rejected signature (with `signature_problem`: missing, malformed or not matching —
//!   never the values) and every 5xx are logged at `ERROR`, the rest at `INFO`.
//!   A storage fault gets a line of its own with its cause chain.
//! - **Metrics**: `http_requests_total{path,status}` with the route *template* (or
//!   `unmatched`), `request_latency_ms`, `webhook_requests_total{result}` (`/webhook` only),
//!   `whatsapp_requests_total{result}` and `whatsapp_messages_total{result}`.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use slog::{Key, Record, Serializer};

use crate::errors::ApiError;
use crate::routes::AppState;
use crate::routes::health::ReadinessFault;
use crate::routes::webhook::{WebhookOutcome, WebhookResult};
use crate::routes::whatsapp::WhatsappOutcome;
use crate::telemetry::{
    HTTP_REQUESTS_TOTAL, REQUEST_LATENCY_MS, STORAGE_ERRORS_TOTAL, UNMATCHED_PATH,
    WEBHOOK_REQUESTS_TOTAL, WHATSAPP_MESSAGES_TOTAL, WHATSAPP_REQUESTS_TOTAL,
};

/// The request id header, in and out.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id taken from a client.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The longest raw path written to a log line; longer paths are cut.
const MAX_LOGGED_PATH_CHARS: usize = 512;

/// The request id of the current request, in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's `X-Request-ID` when it is 1 to 128 visible ASCII characters (0x21–0x7E),
/// otherwise a fresh UUID v4.
pub fn request_id(incoming: Option<&HeaderValue>) -> String {
    match incoming.map(HeaderValue::as_bytes) {
        Some(id) if is_sane_request_id(id) => String::from_utf8_lossy(id).into_owned(),
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

fn is_sane_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len()) && id.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// The middleware function, for `actix_web::middleware::from_fn`.
///
/// # Errors
///
/// Only what actix's routing itself returns, which it does not for any request: handler
/// errors arrive here as responses and are logged and counted like any other.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let id = request_id(req.headers().get(REQUEST_ID_HEADER));
    let method = req.method().as_str().to_owned();
    let path = truncate(req.path(), MAX_LOGGED_PATH_CHARS);
    let log = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.log.clone());
    req.extensions_mut().insert(RequestId(id.clone()));

    // The app's routing answers every request with a response (handler errors included);
    // an `Err` here would come from actix itself and is passed on untouched. (Holding a clone
    // of the request across this call to build a response from it is not allowed: routing
    // needs the only reference.)
    let mut res = next.call(req).await?.map_into_boxed_body();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }

    let status = res.status();
    let template = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED_PATH.to_owned());
    let api_error = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>());
    let webhook = (template == "/webhook").then(|| {
        res.request()
            .extensions()
            .get::<WebhookOutcome>()
            .cloned()
            .unwrap_or_else(|| WebhookOutcome {
                result: api_error
                    .map_or(WebhookResult::MethodNotAllowed, WebhookResult::from_error),
                message_id: None,
            })
    });

    // Left by `POST /webhook/whatsapp` on every request it handled.
    let whatsapp = res.request().extensions().get::<WhatsappOutcome>().copied();

    metrics::counter!(HTTP_REQUESTS_TOTAL,
        "path" => template,
        "status" => status.as_u16().to_string())
    .increment(1);
    metrics::histogram!(REQUEST_LATENCY_MS).record(latency_ms);
    if let Some(outcome) = webhook.as_ref().filter(|o| o.result.is_counted()) {
        metrics::counter!(WEBHOOK_REQUESTS_TOTAL, "result" => outcome.result.as_str()).increment(1);
    }
    if let Some(outcome) = &whatsapp {
        if WebhookResult::WHATSAPP_COUNTED.contains(&outcome.result) {
            metrics::counter!(WHATSAPP_REQUESTS_TOTAL, "result" => outcome.result.as_str())
                .increment(1);
        }
        for (result, count) in [
            (WebhookResult::Created, outcome.created),
            (WebhookResult::Duplicate, outcome.duplicates),
        ] {
            if count > 0 {
                metrics::counter!(WHATSAPP_MESSAGES_TOTAL, "result" => result.as_str())
                    .increment(count as u64);
            }
        }
    }

    let fault = match api_error {
        Some(ApiError::Storage(fault)) => Some((fault.operation, fault.cause_chain())),
        _ => res
            .response()
            .extensions()
            .get::<ReadinessFault>()
            .map(|ReadinessFault(fault)| (fault.operation, fault.cause_chain())),
    };

    if let Some((operation, _)) = &fault {
        metrics::counter!(STORAGE_ERRORS_TOTAL, "operation" => *operation).increment(1);
    }
    if let Some(log) = log {
        if let Some((operation, chain)) = &fault {
            slog::error!(log, "storage fault";
                "request_id" => &id, "operation" => *operation, "error" => chain);
        }
        let signature_problem = match api_error {
            Some(ApiError::InvalidSignature(problem)) => Some(problem.to_string()),
            _ => None,
        };
        let line = RequestLine {
            request_id: &id,
            method: &method,
            path: &path,
            status,
            latency_ms,
            webhook: webhook.as_ref(),
            whatsapp: whatsapp.as_ref(),
            signature_problem: signature_problem.as_deref(),
        };
        let rejected_signature = webhook
            .as_ref()
            .map(|o| o.result)
            .or(whatsapp.map(|o| o.result))
            == Some(WebhookResult::InvalidSignature);
        if rejected_signature || status.is_server_error() {
            slog::error!(log, "request"; line);
        } else {
            slog::info!(log, "request"; line);
        }
    }
    Ok(res)
}

/// At most `max` characters of `s`.
fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => s[..cut].to_owned(),
        None => s.to_owned(),
    }
}

/// The fields of one request's log line.
struct RequestLine<'a> {
    request_id: &'a str,
    method: &'a str,
    path: &'a str,
    status: StatusCode,
    latency_ms: f64,
    webhook: Option<&'a WebhookOutcome>,
    whatsapp: Option<&'a WhatsappOutcome>,
    /// Why a signature was refused (`no signature header`, `signature does not match`, …).
    signature_problem: Option<&'a str>,
}

impl slog::KV for RequestLine<'_> {
    fn serialize(&self, _: &Record<'_>, s: &mut dyn Serializer) -> slog::Result {
        s.emit_str(Key::from("request_id"), self.request_id)?;
        s.emit_str(Key::from("method"), self.method)?;
        s.emit_str(Key::from("path"), self.path)?;
        s.emit_u16(Key::from("status"), self.status.as_u16())?;
        s.emit_f64(
            Key::from("latency_ms"),
            (self.latency_ms * 1000.0).round() / 1000.0,
        )?;
        if let Some(outcome) = self.webhook {
            match &outcome.message_id {
                Some(id) => s.emit_str(Key::from("message_id"), id)?,
                None => s.emit_none(Key::from("message_id"))?,
            }
            s.emit_bool(Key::from("dup"), outcome.result == WebhookResult::Duplicate)?;
            s.emit_str(Key::from("result"), outcome.result.as_str())?;
        }
        if let Some(outcome) = self.whatsapp {
            s.emit_str(Key::from("result"), outcome.result.as_str())?;
            s.emit_usize(Key::from("messages_stored"), outcome.created)?;
            s.emit_usize(Key::from("duplicates"), outcome.duplicates)?;
            s.emit_usize(Key::from("statuses_ignored"), outcome.statuses_ignored)?;
        }
        if let Some(problem) = self.signature_problem {
            s.emit_str(Key::from("signature_problem"), problem)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_request_id_is_kept_and_others_replaced() {
        let keep = HeaderValue::from_static("abc-123_XYZ");
        assert_eq!(request_id(Some(&keep)), "abc-123_XYZ");
        let max = "a".repeat(128);
        assert_eq!(request_id(Some(&HeaderValue::from_str(&max).unwrap())), max);
        for bad in [
            "a".repeat(129),
            "has space".to_owned(),
            String::new(),
            "tab\there".to_owned(),
        ] {
            let value = HeaderValue::from_str(&bad).unwrap();
            let id = request_id(Some(&value));
            assert_ne!(id, bad);
            assert!(uuid::Uuid::parse_str(&id).is_ok());
        }
        assert!(uuid::Uuid::parse_str(&request_id(None)).is_ok());
        let non_ascii = HeaderValue::from_bytes("é".as_bytes()).unwrap();
        assert!(uuid::Uuid::parse_str(&request_id(Some(&non_ascii))).is_ok());
    }

    #[test]
    fn long_paths_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("/ééé", 2), "/é");
        assert_eq!(truncate("/a", 10), "/a");
    }
}
