//! Every error a handler can answer with, and its HTTP status and body — in one place.
//!
//! Handlers return `Result<_, ApiError>`; actix turns the error into a response through
//! [`ResponseError`]. The request middleware finds the same `ApiError` on the response to
//! log storage faults (with their cause chain) and to name the webhook result.
//! No variant carries message text or secrets.

use std::error::Error as _;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use hookline_domain::{FieldError, Message};
use hookline_signature::SignatureError;
use hookline_store::{Inserted, MessageStore, StoreError};

use crate::bodies::{Detail, ValidationErrors};

/// A request that could not be served, as the client will see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is over the 64 KiB limit → 413.
    #[error("request body too large")]
    BodyTooLarge,
    /// The signature is missing, malformed or wrong → 401. The reason is for the log only.
    #[error("invalid signature")]
    InvalidSignature(#[source] SignatureError),
    /// A `Content-Type` that is present and not JSON → 415.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body or the query string is invalid → 422, FastAPI's shape.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// `WEBHOOK_SECRET` is not set → 503.
    #[error("webhook secret not configured")]
    SecretNotConfigured,
    /// The store failed → 503 `storage unavailable`. The cause is for the log only.
    #[error("storage unavailable")]
    Storage(#[source] StorageFault),
    /// The body did not arrive within the deadline → 408.
    #[error("request timeout")]
    BodyTimeout,
    /// The body could not be read (broken chunked encoding, say) → 400.
    #[error("invalid request body")]
    BodyUnreadable,
    /// No route has this path → 404, FastAPI's body.
    #[error("Not Found")]
    NotFound,
    /// The route exists but not for this method → 405, FastAPI's body and an `Allow` header.
    #[error("Method Not Allowed")]
    MethodNotAllowed {
        /// The methods the route accepts, for the `Allow` header.
        allow: &'static str,
    },
}

/// Why a store call failed: the store said so, or its blocking thread could not run.
#[derive(Debug, thiserror::Error)]
pub enum StorageFault {
    /// The store returned an error.
    #[error("store call {operation} failed")]
    Store {
        /// The store call: `insert`, `list`, `stats` or `check_ready`.
        operation: &'static str,
        /// What the store said.
        source: StoreError,
    },
    /// The blocking thread pool refused the call or the call panicked.
    #[error("store call {operation} failed: the blocking thread pool could not run it")]
    Pool {
        /// The store call.
        operation: &'static str,
    },
}

impl StorageFault {
    /// The store call that failed.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Store { operation, .. } | Self::Pool { operation } => operation,
        }
    }

    /// The message and every source below it, joined with `: `, for the log.
    pub fn cause_chain(&self) -> String {
        let mut chain = self.to_string();
        let mut source = self.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        chain
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidSignature(_) => StatusCode::UNAUTHORIZED,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::SecretNotConfigured | Self::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::BodyUnreadable => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::Validation(errors) => response.json(ValidationErrors::new(errors)),
            Self::MethodNotAllowed { allow } => response
                .insert_header((ALLOW, HeaderValue::from_static(allow)))
                .json(Detail {
                    detail: "Method Not Allowed",
                }),
            Self::BodyTimeout => response.force_close().json(Detail {
                detail: "request timeout",
            }),
            other => response.json(Detail {
                detail: other.detail(),
            }),
        }
    }
}

impl ApiError {
    /// The `detail` string of the error body (for errors whose body is a plain message).
    pub fn detail(&self) -> &'static str {
        match self {
            Self::BodyTooLarge => "request body too large",
            Self::InvalidSignature(_) => "invalid signature",
            Self::UnsupportedMediaType => "unsupported media type",
            Self::Validation(_) => "validation failed",
            Self::SecretNotConfigured => "webhook secret not configured",
            Self::Storage(_) => "storage unavailable",
            Self::BodyTimeout => "request timeout",
            Self::BodyUnreadable => "invalid request body",
            Self::NotFound => "Not Found",
            Self::MethodNotAllowed { .. } => "Method Not Allowed",
        }
    }
}

/// Runs a blocking store call on actix's blocking thread pool, off the async workers.
///
/// # Errors
///
/// [`ApiError::Storage`] when the store fails or the pool cannot run the call.
pub async fn run_store_call<T, F>(operation: &'static str, call: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    match actix_web::web::block(call).await {
        Ok(answer) => store_answer(operation, answer),
        Err(_) => Err(ApiError::Storage(StorageFault::Pool { operation })),
    }
}

/// A read the store may answer on the async worker: `now` is its `*_now` answer (bounded,
/// no waiting — see [`MessageStore::list_now`]); without one, `call` runs on the blocking
/// pool as in [`run_store_call`]. Skipping the hand-off to a blocking thread measured
/// 15–25% of a cheap read's CPU.
///
/// # Errors
///
/// [`ApiError::Storage`] when the store fails or the pool cannot run the call.
pub async fn read_store<T, F>(
    operation: &'static str,
    now: Option<Result<T, StoreError>>,
    call: F,
) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    match now {
        Some(answer) => store_answer(operation, answer),
        None => run_store_call(operation, call).await,
    }
}

/// Inserts `message`, waiting for the durable outcome without holding a blocking thread
/// when the store can queue it ([`MessageStore::insert_queued`]); otherwise on the blocking
/// pool as in [`run_store_call`]. Not parking a blocking thread per in-flight insert saves
/// a thread hand-off per request.
///
/// # Errors
///
/// [`ApiError::Storage`] when the store fails, drops the insert without an outcome, or the
/// pool cannot run the call.
pub async fn insert_message(
    store: &Arc<dyn MessageStore>,
    message: Message,
) -> Result<Inserted, ApiError> {
    let (tell, outcome) = tokio::sync::oneshot::channel();
    let done = Box::new(move |inserted| {
        // The request may be gone (client disconnected): nobody to tell.
        let _ = tell.send(inserted);
    });
    match store.insert_queued(message, done) {
        Ok(()) => match outcome.await {
            Ok(inserted) => store_answer("insert", inserted),
            Err(_) => store_answer(
                "insert",
                Err(StoreError::unavailable(
                    "the store dropped the insert without an outcome",
                )),
            ),
        },
        Err(message) => {
            let store = Arc::clone(store);
            run_store_call("insert", move || store.insert(*message)).await
        }
    }
}

/// A store call's result, its error named for the response and the log.
fn store_answer<T>(operation: &'static str, answer: Result<T, StoreError>) -> Result<T, ApiError> {
    answer.map_err(|source| ApiError::Storage(StorageFault::Store { operation, source }))
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;

    use super::*;

    fn body_of(e: &ApiError) -> serde_json::Value {
        let bytes = e.error_response().into_body().try_into_bytes().unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn every_plain_error_has_the_spec_body() {
        for (e, status, detail) in [
            (ApiError::BodyTooLarge, 413, "request body too large"),
            (
                ApiError::InvalidSignature(SignatureError::Missing),
                401,
                "invalid signature",
            ),
            (
                ApiError::SecretNotConfigured,
                503,
                "webhook secret not configured",
            ),
            (ApiError::NotFound, 404, "Not Found"),
            (
                ApiError::MethodNotAllowed { allow: "POST" },
                405,
                "Method Not Allowed",
            ),
            (
                ApiError::Storage(StorageFault::Pool {
                    operation: "insert",
                }),
                503,
                "storage unavailable",
            ),
        ] {
            assert_eq!(e.status_code().as_u16(), status);
            assert_eq!(body_of(&e), serde_json::json!({ "detail": detail }));
        }
    }

    #[test]
    fn a_storage_fault_keeps_its_cause_chain_for_the_log() {
        let fault = StorageFault::Store {
            operation: "insert",
            source: StoreError::unavailable(std::io::Error::other("disk full")),
        };
        assert_eq!(
            fault.cause_chain(),
            "store call insert failed: storage unavailable: disk full"
        );
    }
}
