//! `GET /health/live` and `GET /health/ready`.

use actix_web::{HttpResponse, web};
use hookline_store::StoreError;

use crate::bodies::{Liveness, Readiness};
use crate::errors::{ApiError, StorageFault};
use crate::routes::AppState;

/// Liveness: 200 while the process runs.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    responses((status = 200, description = "The process runs", body = Liveness)),
)]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Liveness { status: "alive" })
}

/// Readiness: 200 only when the secret is set, the database answers and its schema is in
/// place; otherwise 503 with the reason.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    responses(
        (status = 200, description = "Ready to take webhooks", body = Readiness,
            example = json!({"status": "ready"})),
        (status = 503, description = "Not ready, and why", body = Readiness,
            example = json!({"status": "not ready", "reason": "webhook secret not configured"})),
    )
)]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let not_ready = |reason| {
        HttpResponse::ServiceUnavailable().json(Readiness {
            status: "not ready",
            reason: Some(reason),
        })
    };
    if state.verifier.is_none() {
        return Ok(not_ready("webhook secret not configured"));
    }
    match state
        .store
        .check_ready()
        .await
        .map_err(StorageFault::of("check_ready"))
    {
        Ok(()) => Ok(HttpResponse::Ok().json(Readiness {
            status: "ready",
            reason: None,
        })),
        Err(ApiError::Storage(fault)) => {
            let reason = match &fault {
                StorageFault {
                    source: StoreError::NotReady(_),
                    ..
                } => "database schema not ready",
                _ => "database unavailable",
            };
            // Answer 503 with the reason, but keep the fault on the response so the
            // middleware logs its cause chain like any other storage fault.
            let mut response = not_ready(reason);
            response.extensions_mut().insert(ReadinessFault(fault));
            Ok(response)
        }
        Err(other) => Err(other),
    }
}

/// The storage fault behind a 503 from `/health/ready`, for the request middleware.
#[derive(Debug)]
pub struct ReadinessFault(pub StorageFault);
