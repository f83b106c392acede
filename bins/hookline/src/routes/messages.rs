//! `GET /messages`: one page of stored messages, filtered, in `ts` then `message_id` order.

use std::borrow::Cow;

use actix_web::{HttpRequest, HttpResponse, web};
use hookline_query::ListQuery;

use crate::bodies::{Detail, MessagesPage, ValidationErrors};
use crate::errors::{ApiError, StorageFault};
use crate::routes::AppState;
use crate::routes::read_token::ReadAccess;

/// List stored messages.
///
/// The query string is decoded as a form (`+` is a space), so `from=+919876543210` sent
/// unencoded arrives as `" 919876543210"` and is read back as `+919876543210`. Repeated
/// parameters: the last wins; unknown parameters are ignored.
#[utoipa::path(
    get,
    path = "/messages",
    tag = "messages",
    params(crate::openapi::ListParams),
    security((), ("read_token" = [])),
    responses(
        (status = 200, description = "One page", body = MessagesPage),
        (status = 422, description = "A parameter is out of range or malformed", body = ValidationErrors,
            example = json!({"detail": [{"loc": ["query", "limit"],
                "msg": "Input should be less than or equal to 100", "type": "less_than_equal"}]})),
        (status = 401, description = "READ_TOKEN is set and no valid bearer token was sent",
            body = Detail, headers(("WWW-Authenticate" = String, description = "`Bearer`")),
            example = json!({"detail": "not authenticated"})),
        (status = 503, description = "Storage unavailable", body = Detail,
            example = json!({"detail": "storage unavailable"})),
    )
)]
pub async fn list(
    _: ReadAccess,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
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
