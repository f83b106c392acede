//! `GET` and `POST /webhook/whatsapp`: Meta's WhatsApp Cloud API pointed straight at hookline.
//!
//! - `GET` is the subscription handshake: Meta sends `hub.mode=subscribe`,
//!   `hub.verify_token` and `hub.challenge`; the challenge is echoed when the token is
//!   `WHATSAPP_VERIFY_TOKEN` (constant-time).
//! - `POST` carries an envelope signed with `X-Hub-Signature-256` under the app secret
//!   (`WHATSAPP_APP_SECRET`). The checks are those of `POST /webhook`, in the same order and
//!   by the same code ([`read_signed_json`]); the envelope is mapped to messages by
//!   [`hookline_domain::whatsapp`], and every message is inserted concurrently (the SQLite
//!   writer commits them together). The answer is 200 only when every insert is durable; a
//!   retry of the same envelope stores nothing twice, because each message is keyed by its
//!   `wamid`.

use std::borrow::Cow;

use actix_web::http::header::{CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use futures_util::future::join_all;
use hookline_domain::whatsapp::parse_envelope;
use hookline_store::Inserted;

use crate::bodies::{Detail, ValidationErrors, WebhookAccepted};
use crate::errors::{ApiError, StorageFault};
use crate::routes::AppState;
use crate::routes::signed_body::{SignatureHeaders, read_signed_json};
use crate::routes::webhook::WebhookResult;

/// The only `hub.mode` the handshake accepts.
pub const SUBSCRIBE_MODE: &str = "subscribe";

/// Left in the request's extensions for the middleware's log line and metrics.
#[derive(Debug, Clone, Copy)]
pub struct WhatsappOutcome {
    /// What became of the request (`accepted`, or why not).
    pub result: WebhookResult,
    /// Messages stored by this request.
    pub created: usize,
    /// Messages already stored before (a retry, or the same `wamid` twice).
    pub duplicates: usize,
    /// Status updates acknowledged and not stored.
    pub statuses_ignored: usize,
}

/// The subscription handshake.
///
/// Meta calls it once when the callback URL is saved in the app dashboard. When `hub.mode` is
/// `subscribe` and `hub.verify_token` is `WHATSAPP_VERIFY_TOKEN` (compared in constant time),
/// the answer is `hub.challenge` itself as `text/plain`; anything else is 403.
#[utoipa::path(
    get,
    path = "/webhook/whatsapp",
    tag = "whatsapp",
    params(
        ("hub.mode" = String, Query, description = "Must be `subscribe`", example = "subscribe"),
        ("hub.verify_token" = String, Query,
            description = "Must be the configured WHATSAPP_VERIFY_TOKEN", example = "my-verify-token"),
        ("hub.challenge" = String, Query, description = "Echoed back on success",
            example = "1158201444"),
    ),
    responses(
        crate::openapi::SignedBodyRejections,
        (status = 200, description = "Verified: the challenge, echoed", body = String,
            content_type = "text/plain", example = "1158201444"),
        (status = 403, description = "Wrong mode or token, or a parameter missing", body = Detail,
            example = json!({"detail": "verification failed"})),
        (status = 503, description = "WHATSAPP_VERIFY_TOKEN is not configured", body = Detail,
            example = json!({"detail": "whatsapp verify token not configured"})),
    )
)]
pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let token = state
        .whatsapp
        .verify_token
        .as_ref()
        .ok_or(ApiError::VerifyTokenNotConfigured)?;
    let (mut mode, mut presented, mut challenge) = (None, None, None);
    // As for `GET /messages`: decoded as a form, the last of repeated parameters wins.
    for (key, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        let slot = match key.as_ref() {
            "hub.mode" => &mut mode,
            "hub.verify_token" => &mut presented,
            "hub.challenge" => &mut challenge,
            _ => continue,
        };
        *slot = Some(value);
    }
    let verified = mode.as_deref() == Some(SUBSCRIBE_MODE)
        && presented.is_some_and(|presented| token.contains(presented.as_bytes()));
    match challenge {
        Some(challenge) if verified => Ok(HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, HeaderValue::from_static("text/plain")))
            .insert_header((X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
            .body(Cow::into_owned(challenge))),
        _ => Err(ApiError::VerificationFailed),
    }
}

/// Receive one signed WhatsApp Cloud API envelope.
///
/// Checks, in order: body over 64 KiB → 413; `X-Hub-Signature-256` (HMAC-SHA256 of the raw
/// body under `WHATSAPP_APP_SECRET`) missing or wrong → 401 (`X-Signature` is not read here);
/// a `Content-Type` present and not JSON → 415; envelope invalid → 422 with `loc` pointing
/// into it. Every message of `entry[].changes[].value.messages[]` is then stored unless its
/// `id` already is; the answer is 200 once all of them are durable, 503 if any insert failed
/// (Meta retries the whole envelope; nothing is stored twice). Status updates and other
/// change fields are acknowledged and not stored.
#[utoipa::path(
    post,
    path = "/webhook/whatsapp",
    tag = "whatsapp",
    params(
        // Optional in the schema, like /webhook's headers: without it the answer is the
        // documented 401, not a refusal of the request's shape.
        ("X-Hub-Signature-256" = Option<String>, Header,
            description = "`sha256=` followed by hex(HMAC_SHA256(key = WHATSAPP_APP_SECRET, message = raw body)); missing → 401",
            example = "sha256=3b0e2e3c6f1d4b1f9a7b6c4d5e8f90123456789abcdef0123456789abcdef012"),
    ),
    request_body(
        content = inline(crate::openapi::WhatsappEnvelope),
        content_type = "application/json",
        description = "Meta's webhook envelope, at most 64 KiB. Unknown fields are ignored."
    ),
    responses(
        crate::openapi::SignedBodyRejections,
        (status = 200, description = "Every message durable (stored now or before)", body = WebhookAccepted),
        (status = 422, description = "Not an envelope; `loc` points into it", body = ValidationErrors,
            example = json!({"detail": [{"loc": ["body", "entry", 0, "changes", 0, "value", "messages", 0, "from"],
                "msg": "Value error, must be 1 to 15 ASCII digits, optionally after one '+'",
                "type": "value_error"}]})),
        (status = 503, description = "WHATSAPP_APP_SECRET not configured, or storage unavailable",
            body = Detail, example = json!({"detail": "whatsapp not configured"})),
    )
)]
pub async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut outcome = WhatsappOutcome {
        result: WebhookResult::Accepted,
        created: 0,
        duplicates: 0,
        statuses_ignored: 0,
    };
    let answer = accept(&req, payload, &state, &mut outcome).await;
    if let Err(error) = &answer {
        outcome.result = WebhookResult::from_error(error);
    }
    req.extensions_mut().insert(outcome);
    answer.map(|()| HttpResponse::Ok().json(WebhookAccepted::OK))
}

async fn accept(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    outcome: &mut WhatsappOutcome,
) -> Result<(), ApiError> {
    let verifier = state
        .whatsapp
        .verifier
        .as_ref()
        .ok_or(ApiError::WhatsappNotConfigured)?;
    let body = read_signed_json(req, payload, verifier, SignatureHeaders::HubOnly).await?;
    let envelope = parse_envelope(&body).map_err(ApiError::Validation)?;
    outcome.statuses_ignored = envelope.ignored().statuses;
    // All at once: the SQLite writer groups concurrent inserts into one commit. Every insert
    // runs to its end (no early exit on the first fault), so the counts are what is stored.
    let inserted = join_all(
        envelope
            .into_messages()
            .into_iter()
            .map(|message| state.store.insert(message)),
    )
    .await;
    let mut fault = None;
    for result in inserted {
        match result {
            Ok(Inserted::Created) => outcome.created += 1,
            Ok(Inserted::Duplicate) => outcome.duplicates += 1,
            Err(error) => {
                fault.get_or_insert(error);
            }
        }
    }
    match fault {
        None => Ok(()),
        Some(error) => Err(StorageFault::of("insert")(error)),
    }
}
