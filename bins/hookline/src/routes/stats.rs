//! `GET /stats`: totals, top senders and the first and last timestamps.

use actix_web::{HttpResponse, web};

use crate::bodies::{Detail, StatsBody};
use crate::errors::{ApiError, StorageFault};
use crate::routes::AppState;

/// Message statistics.
///
/// `messages_per_sender` lists the top 10 senders by count, descending, ties by `from`
/// ascending. `first_message_ts` / `last_message_ts` are the earliest and latest `ts` as
/// instants, returned as sent; both `null` when there are no messages.
#[utoipa::path(
    get,
    path = "/stats",
    tag = "messages",
    responses(
        (status = 200, description = "The statistics", body = StatsBody),
        (status = 503, description = "Storage unavailable", body = Detail,
            example = json!({"detail": "storage unavailable"})),
    )
)]
pub async fn stats(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let stats = state
        .store
        .stats()
        .await
        .map_err(StorageFault::of("stats"))?;
    Ok(HttpResponse::Ok().json(StatsBody::from(&stats)))
}
