//! `GET /stats`: totals, top senders and the first and last timestamps.

use actix_web::{HttpResponse, web};

use crate::bodies::{Detail, StatsBody};
use crate::errors::{ApiError, StorageFault};
use crate::routes::AppState;
use crate::routes::read_token::ReadAccess;

/// Message statistics.
///
/// `messages_per_sender` lists the top 10 senders by count, descending, ties by `from`
/// ascending. `first_message_ts` / `last_message_ts` are the earliest and latest `ts` as
/// instants, returned as sent; both `null` when there are no messages.
#[utoipa::path(
    get,
    path = "/stats",
    tag = "messages",
    security((), ("read_token" = [])),
    responses(
        (status = 200, description = "The statistics", body = StatsBody),
        (status = 401, description = "READ_TOKEN is set and no valid bearer token was sent",
            body = Detail, headers(("WWW-Authenticate" = String, description = "`Bearer`")),
            example = json!({"detail": "not authenticated"})),
        (status = 503, description = "Storage unavailable", body = Detail,
            example = json!({"detail": "storage unavailable"})),
    )
)]
pub async fn stats(_: ReadAccess, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let stats = state
        .store
        .stats()
        .await
        .map_err(StorageFault::of("stats"))?;
    Ok(HttpResponse::Ok().json(StatsBody::from(&stats)))
}
