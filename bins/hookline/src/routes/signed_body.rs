//! Reading a signed JSON body, shared by `POST /webhook` and `POST /webhook/whatsapp`: the
//! checks of docs/API.md in their order — 413 (size, also while reading), 401 (signature over
//! the raw bytes), 415 (content type) — before anything is parsed.

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::{self, Bytes, BytesMut};
use futures_core::Stream;
use hookline_signature::Verifier;

use crate::errors::ApiError;

/// The largest body accepted: 64 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How long a client may take to send the body once its headers are in.
pub const BODY_READ_DEADLINE: Duration = Duration::from_secs(5);

/// Which signature headers a route reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureHeaders {
    /// `X-Signature` or `X-Hub-Signature-256` (`POST /webhook`).
    Both,
    /// `X-Hub-Signature-256` only, the one header Meta sends (`POST /webhook/whatsapp`): an
    /// `X-Signature` there is ignored, so the route is signed exactly as Meta signs it.
    HubOnly,
}

/// Reads the body (413, 408, 400), checks its signature under `verifier` (401) and the
/// request's `Content-Type` (415), in that order; the raw bytes, ready to parse.
///
/// # Errors
///
/// The [`ApiError`] of the first check that fails.
pub async fn read_signed_json(
    req: &HttpRequest,
    payload: web::Payload,
    verifier: &Verifier,
    accepted: SignatureHeaders,
) -> Result<Bytes, ApiError> {
    let body = read_body(req, payload).await?;
    let header = |name: &str| req.headers().get(name).map(|v| v.as_bytes());
    let headers = hookline_signature::SignatureHeaders {
        x_signature: match accepted {
            SignatureHeaders::Both => header("x-signature"),
            SignatureHeaders::HubOnly => None,
        },
        x_hub_signature_256: header("x-hub-signature-256"),
    };
    verifier
        .verify(headers, &body)
        .map_err(ApiError::InvalidSignature)?;
    if !req
        .headers()
        .get_all(CONTENT_TYPE)
        .all(|value| is_json_media_type(value.as_bytes()))
    {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(body)
}

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`] (by `Content-Length` before
/// reading anything, or while reading a chunked body) and giving up after
/// [`BODY_READ_DEADLINE`].
pub async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(ApiError::BodyTooLarge);
    }
    let capacity = declared.map_or(1024, |len| len as usize);
    let read = async move {
        let mut body = BytesMut::with_capacity(capacity);
        while let Some(chunk) = poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
            let chunk = chunk.map_err(|_| ApiError::BodyUnreadable)?;
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ApiError::BodyTooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    actix_web::rt::time::timeout(BODY_READ_DEADLINE, read)
        .await
        .map_err(|_| ApiError::BodyTimeout)?
}

/// `application/json` (any parameters) or `application/<anything>+json`, case-insensitive.
pub fn is_json_media_type(value: &[u8]) -> bool {
    let Ok(value) = std::str::from_utf8(value) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some(subtype) = essence.strip_prefix("application/") else {
        return false;
    };
    let valid_token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    subtype == "json" || subtype.strip_suffix("+json").is_some_and(valid_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types_are_recognised() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            " application/json ;charset=UTF-8",
            "application/vnd.api+json",
            "application/merge-patch+json",
        ] {
            assert!(is_json_media_type(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            "text/plain",
            "application/xml",
            "application/+json",
            "application/jsonx",
            "text/json",
            "multipart/form-data",
            "application/x-www-form-urlencoded",
        ] {
            assert!(!is_json_media_type(bad.as_bytes()), "{bad}");
        }
        assert!(!is_json_media_type(&[0xff, 0xfe]));
    }
}
