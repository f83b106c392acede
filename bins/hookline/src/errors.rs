//! Every error a handler can answer with, and its HTTP status and body — in one place.
//!
//! Handlers return `Result<_, ApiError>`; actix turns the error into a response through
//! [`ResponseError`]. The request middleware finds the same `ApiError` on the response to
//! log storage faults (with their cause chain) and to name the webhook result.
//! No variant carries message text or secrets.

use std::error::Error as _;

use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, HeaderValue, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};
use hookline_domain::FieldError;
use hookline_signature::SignatureError;
use hookline_store::StoreError;

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
    /// `WHATSAPP_APP_SECRET` is not set → 503 on `POST /webhook/whatsapp`.
    #[error("whatsapp not configured")]
    WhatsappNotConfigured,
    /// `WHATSAPP_VERIFY_TOKEN` is not set → 503 on the subscription handshake.
    #[error("whatsapp verify token not configured")]
    VerifyTokenNotConfigured,
    /// The subscription handshake's mode or token is wrong or missing → 403.
    #[error("verification failed")]
    VerificationFailed,
    /// `READ_TOKEN` is set and the request carries none of its tokens as a bearer token →
    /// 401 with `WWW-Authenticate: Bearer`.
    #[error("not authenticated")]
    NotAuthenticated,
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

/// A store call that failed, named for the response and the log.
#[derive(Debug, thiserror::Error)]
#[error("store call {operation} failed")]
pub struct StorageFault {
    /// The store call: `insert`, `list`, `stats` or `check_ready`.
    pub operation: &'static str,
    /// What the store said.
    #[source]
    pub source: StoreError,
}

impl StorageFault {
    /// A `map_err` adapter: the store's error on `operation` as an [`ApiError::Storage`].
    pub fn of(operation: &'static str) -> impl FnOnce(StoreError) -> ApiError {
        move |source| ApiError::Storage(StorageFault { operation, source })
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
            Self::SecretNotConfigured
            | Self::WhatsappNotConfigured
            | Self::VerifyTokenNotConfigured
            | Self::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::VerificationFailed => StatusCode::FORBIDDEN,
            Self::NotAuthenticated => StatusCode::UNAUTHORIZED,
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
            Self::NotAuthenticated => response
                .insert_header((WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")))
                .json(Detail {
                    detail: "not authenticated",
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
            Self::WhatsappNotConfigured => "whatsapp not configured",
            Self::VerifyTokenNotConfigured => "whatsapp verify token not configured",
            Self::VerificationFailed => "verification failed",
            Self::NotAuthenticated => "not authenticated",
            Self::Storage(_) => "storage unavailable",
            Self::BodyTimeout => "request timeout",
            Self::BodyUnreadable => "invalid request body",
            Self::NotFound => "Not Found",
            Self::MethodNotAllowed { .. } => "Method Not Allowed",
        }
    }
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
                ApiError::WhatsappNotConfigured,
                503,
                "whatsapp not configured",
            ),
            (
                ApiError::VerifyTokenNotConfigured,
                503,
                "whatsapp verify token not configured",
            ),
            (ApiError::VerificationFailed, 403, "verification failed"),
            (ApiError::NotAuthenticated, 401, "not authenticated"),
            (
                ApiError::MethodNotAllowed { allow: "POST" },
                405,
                "Method Not Allowed",
            ),
            (
                ApiError::Storage(StorageFault {
                    operation: "insert",
                    source: StoreError::unavailable(std::io::Error::other("disk full")),
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
        let fault = StorageFault {
            operation: "insert",
            source: StoreError::unavailable(std::io::Error::other("disk full")),
        };
        assert_eq!(
            fault.cause_chain(),
            "store call insert failed: storage unavailable: disk full"
        );
    }
}
