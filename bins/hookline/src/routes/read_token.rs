//! `READ_TOKEN`: the bearer token `GET /messages` and `GET /stats` require when it is set.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};

use crate::errors::ApiError;
use crate::routes::AppState;

/// Proof that a read may proceed: `READ_TOKEN` is unset, or the request's
/// `Authorization: Bearer <token>` names one of its tokens (compared in constant time).
/// As an extractor it runs before the query is read, so a client without the token learns
/// nothing from a 422 either; otherwise [`ApiError::NotAuthenticated`] (401,
/// `WWW-Authenticate: Bearer`).
#[derive(Debug, Clone, Copy)]
pub struct ReadAccess;

impl FromRequest for ReadAccess {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let tokens = req
            .app_data::<web::Data<AppState>>()
            .and_then(|state| state.read_tokens.as_ref());
        let Some(tokens) = tokens else {
            return ready(Ok(Self));
        };
        let presented = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| bearer_token(value.as_bytes()));
        ready(match presented {
            Some(token) if tokens.contains(token) => Ok(Self),
            _ => Err(ApiError::NotAuthenticated),
        })
    }
}

/// The token of an `Authorization: Bearer <token>` value (the scheme is case-insensitive,
/// RFC 9110 §11.1); `None` for any other scheme or an empty token.
pub fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    let (scheme, token) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"bearer") || !token.first()?.is_ascii_whitespace() {
        return None;
    }
    Some(token.trim_ascii()).filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_token_is_read() {
        assert_eq!(bearer_token(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"bearer  abc "), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"BEARER\tabc"), Some(&b"abc"[..]));
        for bad in [
            &b"Bearer"[..],
            b"Bearer ",
            b"Bearerabc",
            b"Basic YWJjOmRlZg==",
            b"abc",
            b"",
        ] {
            assert_eq!(
                bearer_token(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
