//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]` attributes and the
//! body types of [`crate::bodies`], so it describes what the code actually does.

use utoipa::OpenApi;

use crate::bodies::{
    Detail, Liveness, MessageItem, MessagesPage, Readiness, SenderCountItem, StatsBody,
    ValidationErrors, ValidationIssue, WebhookAccepted,
};
use crate::routes::webhook::WebhookPayload;
use crate::routes::{health, messages, metrics, stats, webhook};

/// The API description served at `GET /openapi.json` and rendered at `GET /docs`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hookline",
        description = "Webhook ingest: signed messages in, paged and searchable messages out.\n\n\
            Every `POST /webhook` must carry `X-Signature: hex(HMAC_SHA256(WEBHOOK_SECRET, raw body))` \
            (or `X-Hub-Signature-256: sha256=<hex>`). Unknown paths answer 404 \
            `{\"detail\":\"Not Found\"}`, wrong methods 405 `{\"detail\":\"Method Not Allowed\"}`. \
            Every response carries `X-Request-ID`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        webhook::receive,
        messages::list,
        stats::stats,
        health::live,
        health::ready,
        metrics::metrics,
    ),
    components(schemas(
        WebhookPayload,
        WebhookAccepted,
        Detail,
        ValidationErrors,
        ValidationIssue,
        MessagesPage,
        MessageItem,
        StatsBody,
        SenderCountItem,
        Liveness,
        Readiness,
    )),
    tags(
        (name = "webhook", description = "Signed message ingest"),
        (name = "messages", description = "Reading what was stored"),
        (name = "health", description = "Liveness and readiness probes"),
        (name = "operations", description = "Prometheus metrics"),
    )
)]
pub struct ApiDoc;

/// The document as JSON bytes.
pub fn openapi_json() -> Vec<u8> {
    // Serializing a document of plain data cannot fail; an empty body would be the only
    // (visible) consequence if it ever did.
    serde_json::to_vec(&ApiDoc::openapi()).unwrap_or_default()
}
