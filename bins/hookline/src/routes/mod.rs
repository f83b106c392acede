//! The routes, the state they share, and the answers for unknown paths and wrong methods.
//!
//! Each route is a `web::resource` whose default service answers 405 with FastAPI's body
//! and an `Allow` header; the app's default service answers 404 `{"detail":"Not Found"}`.

pub mod health;
pub mod messages;
pub mod metrics;
pub mod read_token;
pub mod signed_body;
pub mod stats;
pub mod webhook;
pub mod whatsapp;

use std::sync::Arc;

use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::web::{self, Bytes};
use actix_web::{HttpResponse, Route};
use hookline_signature::{TokenSet, Verifier};
use hookline_store::MessageStore;
use metrics_exporter_prometheus::PrometheusHandle;
use slog::Logger;
use utoipa_swagger_ui::SwaggerUi;

use crate::errors::ApiError;

/// What every handler shares: built once at start-up, read-only afterwards.
pub struct AppState {
    /// The message store chosen at start-up; handlers await it directly.
    pub store: Arc<dyn MessageStore>,
    /// The signature verifier; `None` when `WEBHOOK_SECRET` is not set.
    pub verifier: Option<Verifier>,
    /// `READ_TOKEN`: the bearer tokens reads require; `None`: reads are open.
    pub read_tokens: Option<TokenSet>,
    /// What `/webhook/whatsapp` needs; each part `None` when not configured.
    pub whatsapp: WhatsappCredentials,
    /// Renders the Prometheus text for `/metrics`.
    pub metrics: PrometheusHandle,
    /// The root logger.
    pub log: Logger,
    /// The OpenAPI document, serialized once.
    pub openapi_json: Bytes,
}

/// `WHATSAPP_APP_SECRET` and `WHATSAPP_VERIFY_TOKEN`, as configured.
#[derive(Debug, Default)]
pub struct WhatsappCredentials {
    /// Verifies `X-Hub-Signature-256` of `POST /webhook/whatsapp`.
    pub verifier: Option<Verifier>,
    /// The verify token of `GET /webhook/whatsapp` (the subscription handshake).
    pub verify_token: Option<TokenSet>,
}

/// Registers every route of the contract.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhook")
            .route(web::post().to(webhook::receive))
            .default_service(only("POST")),
    )
    .service(
        web::resource("/webhook/whatsapp")
            .route(web::get().to(whatsapp::verify))
            .route(web::post().to(whatsapp::receive))
            .default_service(only("GET, POST")),
    )
    .service(get("/messages", web::get().to(messages::list)))
    .service(get("/stats", web::get().to(stats::stats)))
    .service(get("/health/live", web::get().to(health::live)))
    .service(get("/health/ready", web::get().to(health::ready)))
    .service(get("/metrics", web::get().to(metrics::metrics)))
    .service(get("/openapi.json", web::get().to(openapi_json)))
    .service(get("/docs", web::get().to(docs_redirect)))
    .service(
        SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::from("/openapi.json")),
    );
}

fn get(path: &str, route: Route) -> actix_web::Resource {
    web::resource(path)
        .route(route)
        .default_service(only("GET"))
}

/// A service answering 405 for a resource that accepts only `allow`.
fn only(allow: &'static str) -> Route {
    web::to(move || async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow }) })
}

/// The app's default service: 404 `{"detail":"Not Found"}`.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// The OpenAPI 3 document of every route.
async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .body(state.openapi_json.clone())
}

/// `/docs` → `/docs/`, where Swagger UI's relative asset paths resolve.
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((LOCATION, "/docs/"))
        .finish()
}
