//! `GET /metrics`: the Prometheus text exposition.

use actix_web::{HttpResponse, web};

use crate::routes::AppState;

/// The Prometheus text format content type.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Metrics in the Prometheus text format: `http_requests_total{path,status}`,
/// `webhook_requests_total{result}`, `request_latency_ms` (histogram) and
/// `storage_errors_total{operation}`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", body = String,
            content_type = "text/plain; version=0.0.4",
            example = "# TYPE webhook_requests_total counter\nwebhook_requests_total{result=\"created\"} 3\n"),
    )
)]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(PROMETHEUS_CONTENT_TYPE)
        .body(state.metrics.render())
}
