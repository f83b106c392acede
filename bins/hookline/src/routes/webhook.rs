//! `POST /webhook`: the checks in docs/API.md's order — 413, 401, 415, 422 — then the store.

use actix_web::web;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use hookline_domain::parse_message;
use hookline_store::Inserted;

use crate::bodies::{Detail, ValidationErrors, WebhookAccepted};
use crate::errors::{ApiError, StorageFault};
use crate::routes::AppState;
use crate::routes::signed_body::{SignatureHeaders, read_signed_json};

/// What became of one webhook request: the `result` of its log line and metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookResult {
    /// Stored now.
    Created,
    /// Already stored; nothing changed.
    Duplicate,
    /// `POST /webhook/whatsapp`: every message of the envelope is durable (each created or a
    /// duplicate; see `whatsapp_messages_total`).
    Accepted,
    /// 401.
    InvalidSignature,
    /// 422.
    ValidationError,
    /// 413.
    BodyTooLarge,
    /// 415.
    UnsupportedMediaType,
    /// 503: the store failed.
    StorageUnavailable,
    /// 503: no `WEBHOOK_SECRET` (or `WHATSAPP_APP_SECRET` on `/webhook/whatsapp`).
    SecretNotConfigured,
    /// 408: the body was too slow.
    BodyTimeout,
    /// 400: the body could not be read.
    BodyUnreadable,
    /// 405: not a POST.
    MethodNotAllowed,
    /// 404 (not reachable through the `/webhook` route; here for completeness).
    NotFound,
    /// 401 or 403 of a read or handshake (not reachable through the webhook routes; here for
    /// completeness).
    NotAuthorized,
}

impl WebhookResult {
    /// The results counted by `webhook_requests_total` (docs/API.md's four), all registered at
    /// zero on start-up. The others appear in logs and under `http_requests_total` by status.
    pub const COUNTED: [Self; 4] = [
        Self::Created,
        Self::Duplicate,
        Self::InvalidSignature,
        Self::ValidationError,
    ];

    /// The results counted by `whatsapp_requests_total`, all registered at zero on start-up.
    /// What became of each message is counted by `whatsapp_messages_total`.
    pub const WHATSAPP_COUNTED: [Self; 3] = [
        Self::Accepted,
        Self::InvalidSignature,
        Self::ValidationError,
    ];

    /// The name used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Duplicate => "duplicate",
            Self::Accepted => "accepted",
            Self::InvalidSignature => "invalid_signature",
            Self::ValidationError => "validation_error",
            Self::BodyTooLarge => "body_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::StorageUnavailable => "storage_unavailable",
            Self::SecretNotConfigured => "secret_not_configured",
            Self::BodyTimeout => "body_timeout",
            Self::BodyUnreadable => "body_unreadable",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NotFound => "not_found",
            Self::NotAuthorized => "not_authorized",
        }
    }

    /// Whether `webhook_requests_total` counts this result.
    pub fn is_counted(self) -> bool {
        Self::COUNTED.contains(&self)
    }

    /// The result of a request answered with `error`.
    pub fn from_error(error: &ApiError) -> Self {
        match error {
            ApiError::BodyTooLarge => Self::BodyTooLarge,
            ApiError::InvalidSignature(_) => Self::InvalidSignature,
            ApiError::UnsupportedMediaType => Self::UnsupportedMediaType,
            ApiError::Validation(_) => Self::ValidationError,
            ApiError::NotFound => Self::NotFound,
            ApiError::SecretNotConfigured
            | ApiError::WhatsappNotConfigured
            | ApiError::VerifyTokenNotConfigured => Self::SecretNotConfigured,
            ApiError::VerificationFailed | ApiError::NotAuthenticated => Self::NotAuthorized,
            ApiError::Storage(_) => Self::StorageUnavailable,
            ApiError::BodyTimeout => Self::BodyTimeout,
            ApiError::BodyUnreadable => Self::BodyUnreadable,
            ApiError::MethodNotAllowed { .. } => Self::MethodNotAllowed,
        }
    }
}

impl From<Inserted> for WebhookResult {
    fn from(inserted: Inserted) -> Self {
        match inserted {
            Inserted::Created => Self::Created,
            Inserted::Duplicate => Self::Duplicate,
        }
    }
}

/// Left in the request's extensions for the middleware's log line and metrics.
#[derive(Debug, Clone)]
pub struct WebhookOutcome {
    /// What happened.
    pub result: WebhookResult,
    /// The `message_id`, once the body parsed.
    pub message_id: Option<String>,
}

/// Receive one signed message.
///
/// Checks, in order: body over 64 KiB → 413; signature (`X-Signature` or
/// `X-Hub-Signature-256`, HMAC-SHA256 of the raw body) missing or wrong → 401; a
/// `Content-Type` present and not JSON → 415; body invalid → 422. A valid message is stored
/// unless its `message_id` already is; either way the answer is 200 once the row is durable.
#[utoipa::path(
    post,
    path = "/webhook",
    tag = "webhook",
    params(
        ("X-Signature" = Option<String>, Header,
            description = "hex(HMAC_SHA256(key = WEBHOOK_SECRET, message = raw body)), either case",
            example = "3b0e2e3c6f1d4b1f9a7b6c4d5e8f90123456789abcdef0123456789abcdef012"),
        ("X-Hub-Signature-256" = Option<String>, Header,
            description = "Alternative to X-Signature: `sha256=` followed by the same hex digest"),
    ),
    request_body(
        content = inline(crate::openapi::WebhookPayload),
        content_type = "application/json",
        description = "At most 64 KiB. Unknown fields are ignored."
    ),
    responses(
        crate::openapi::SignedBodyRejections,
        (status = 200, description = "Stored, or already stored (idempotent)", body = WebhookAccepted),
        (status = 422, description = "Body not JSON, not an object, or fields invalid",
            body = ValidationErrors),
        (status = 503, description = "Secret not configured, or storage unavailable", body = Detail,
            example = json!({"detail": "storage unavailable"})),
    )
)]
pub async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut message_id = None;
    let outcome = accept(&req, payload, &state, &mut message_id).await;
    let result = match &outcome {
        Ok(inserted) => WebhookResult::from(*inserted),
        Err(error) => WebhookResult::from_error(error),
    };
    req.extensions_mut()
        .insert(WebhookOutcome { result, message_id });
    outcome.map(|_| HttpResponse::Ok().json(WebhookAccepted::OK))
}

async fn accept(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    message_id: &mut Option<String>,
) -> Result<Inserted, ApiError> {
    let verifier = state
        .verifier
        .as_ref()
        .ok_or(ApiError::SecretNotConfigured)?;
    let body = read_signed_json(req, payload, verifier, SignatureHeaders::Both).await?;
    let message = parse_message(&body).map_err(ApiError::Validation)?;
    *message_id = Some(message.message_id().as_str().to_owned());
    state
        .store
        .insert(message)
        .await
        .map_err(StorageFault::of("insert"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_four_spec_results_are_counted() {
        let counted: Vec<_> = WebhookResult::COUNTED.map(WebhookResult::as_str).to_vec();
        assert_eq!(
            counted,
            [
                "created",
                "duplicate",
                "invalid_signature",
                "validation_error"
            ]
        );
        assert!(!WebhookResult::StorageUnavailable.is_counted());
    }
}
