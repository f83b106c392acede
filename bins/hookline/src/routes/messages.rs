//! `GET /messages`: one page of stored messages, filtered, in `ts` then `message_id` order.

use std::borrow::Cow;

use actix_web::{HttpRequest, HttpResponse, web};
use hookline_query::ListQuery;

use crate::bodies::{MessagesPage, ValidationErrors};
use crate::errors::{ApiError, StorageFault};
use crate::routes::AppState;

/// List stored messages.
///
/// The query string is decoded as a form (`+` is a space), so `from=+919876543210` sent
/// unencoded arrives as `" 919876543210"` and is read back as `+919876543210`. Repeated
/// parameters: the last wins; unknown parameters are ignored.
#[utoipa::path(
    get,
    path = "/messages",
    tag = "messages",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100,
            description = "Page size, 1–100 (default 50)", example = 50),
        ("offset" = Option<u64>, Query, minimum = 0,
            description = "Rows to skip (default 0); must be 0 or absent with `cursor`", example = 0),
        ("from" = Option<String>, Query,
            description = "Exact sender; an unencoded `+` (arriving as a space) is repaired",
            example = "+919876543210"),
        ("since" = Option<String>, Query,
            description = "RFC 3339 instant, any offset: rows with `ts >= since` as instants",
            example = "2025-01-15T09:30:00Z"),
        ("q" = Option<String>, Query,
            description = "Case-insensitive, Unicode-aware substring of `text`; `%` and `_` are literal",
            example = "hello"),
        ("cursor" = Option<String>, Query,
            description = "`next_cursor` of the previous page, with the same filters (keyset pagination)"),
    ),
    responses(
        (status = 200, description = "One page", body = MessagesPage),
        (status = 422, description = "A parameter is out of range or malformed", body = ValidationErrors,
            example = json!({"detail": [{"loc": ["query", "limit"],
                "msg": "Input should be less than or equal to 100", "type": "less_than_equal"}]})),
        (status = 503, description = "Storage unavailable", body = crate::bodies::Detail,
            example = json!({"detail": "storage unavailable"})),
    )
)]
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> =
        form_urlencoded::parse(req.query_string().as_bytes()).collect();
    let query = ListQuery::parse(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
        .map_err(ApiError::Validation)?;
    let page = state
        .store
        .list(&query)
        .await
        .map_err(StorageFault::of("list"))?;
    Ok(HttpResponse::Ok().json(MessagesPage::from(&page)))
}
