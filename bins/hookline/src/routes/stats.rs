//! `GET /stats`: totals, top senders and the first and last timestamps.

use actix_web::{HttpResponse, web};

use crate::bodies::{Detail, StatsBody};
use crate::errors::{ApiError, read_store};
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
    let now = state.store.stats_now();
    let store = state.store.clone();
    let stats = read_store("stats", now, move || store.stats()).await?;
    Ok(HttpResponse::Ok().json(StatsBody::from(&stats)))
}
