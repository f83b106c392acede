//! Webhook signature verification for hookline: HMAC-SHA256 over the raw request body.
//!
//! # Why this crate exists
//!
//! Deciding whether a delivery is authentic is the one check that stands between the
//! internet and the message store, so it lives in one small crate that can be read,
//! reviewed and tested in isolation, and embedded by any service (or client) that speaks
//! the same scheme. The HTTP server only extracts two header values and the body bytes and
//! hands them to [`Verifier::verify`]; it knows nothing about hex, prefixes or keys.
//!
//! Two header schemes are accepted (see docs/API.md, `POST /webhook`):
//!
//! - `X-Signature: <hex>` — the HMAC as 64 hex digits, lower- or upper-case;
//! - `X-Hub-Signature-256: sha256=<hex>` — the form Meta's WhatsApp Cloud API and GitHub send.
//!   The `sha256=` prefix is matched ASCII case-insensitively (`SHA256=` is accepted too).
//!
//! Several secrets may be configured at once (key rotation); a delivery is authentic when
//! any header that was sent matches any secret.
//!
//! The same crate holds [`TokenSet`], the constant-time check of a shared token (a bearer
//! token for reads, the verify token of Meta's subscription handshake): the other secret a
//! request can carry, held and compared under the same rules.
//!
//! # Invariants
//!
//! - **Raw bytes.** The MAC is computed over the body bytes exactly as received, and header
//!   values are taken as bytes (they may be non-UTF-8). Only surrounding ASCII whitespace is
//!   trimmed from a header value. No input makes this crate panic.
//! - **Length-checked.** A signature is decoded into exactly 32 bytes before any comparison;
//!   anything that is not exactly 64 hex digits (including `sha256=` with nothing after it,
//!   the bug fixed in svix-webhooks PR #1190) is rejected as malformed and never compared.
//! - **Constant-time.** Decoded signatures are compared with [`subtle::ConstantTimeEq`], and
//!   every configured secret is checked: the loop over secrets never exits early.
//! - **Pre-keyed.** Each secret is turned into a keyed HMAC state once, when the [`Verifier`]
//!   is built; a verification clones that state, so it neither re-keys nor allocates.
//! - **Redacted.** Secrets are never printed: `Debug` shows `[redacted]`, and no
//!   [`SignatureError`] carries secret material or body bytes. They arrive as
//!   [`secrecy`] types ([`SecretString`], [`SecretSlice`]), so the caller never holds them
//!   in a plain `String`; the constructors of [`Verifier`] are the only place they are
//!   exposed, to key the HMAC states, and the wrappers zeroize their copy when dropped.
//! - **No I/O.** The crate reads no environment, files or sockets; the caller passes the
//!   secret list in.
//!
//! # Example
//!
//! ```
//! use hookline_signature::{SecretString, SignatureHeaders, Verifier, sign};
//!
//! // As read from `WEBHOOK_SECRET`: wrapped at once, exposed only inside the constructor.
//! let setting = SecretString::from("new-secret, old-secret");
//! let verifier = Verifier::from_secret_list(&setting)?;
//! let body = br#"{"message_id":"m1"}"#;
//! let signature = sign(b"old-secret", body);
//!
//! let headers = SignatureHeaders {
//!     x_signature: Some(signature.as_bytes()),
//!     ..SignatureHeaders::default()
//! };
//! assert!(verifier.verify(headers, body).is_ok());
//! assert!(verifier.verify(headers, b"tampered").is_err());
//! # Ok::<(), hookline_signature::SignatureError>(())
//! ```

mod error;
mod token;

pub use error::{Malformation, SignatureError, SignatureHeader};
pub use secrecy::{self, ExposeSecret, SecretSlice, SecretString};
pub use token::TokenSet;

use core::fmt;

use hmac::digest::Key;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// Length in bytes of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// Length in hex digits of an encoded HMAC-SHA256 tag.
const HEX_TAG_LEN: usize = 2 * TAG_LEN;

/// The prefix of an `X-Hub-Signature-256` value, matched ASCII case-insensitively.
const HUB_PREFIX: &[u8] = b"sha256=";

type HmacSha256 = Hmac<Sha256>;

/// The raw values of the signature headers of one request, as the server received them.
///
/// `None` means the header was not sent. Values are raw bytes and need not be UTF-8;
/// surrounding ASCII whitespace is ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignatureHeaders<'a> {
    /// The `X-Signature` header: the HMAC as 64 hex digits, either case.
    pub x_signature: Option<&'a [u8]>,
    /// The `X-Hub-Signature-256` header: `sha256=` followed by 64 hex digits.
    pub x_hub_signature_256: Option<&'a [u8]>,
}

/// Checks webhook signatures against one or more secrets.
///
/// Built once at start-up from the `WEBHOOK_SECRET` setting (a [`SecretString`]) and shared
/// by every request (it is `Clone`, `Send` and `Sync`). It always holds at least one
/// secret. Its `Debug` output shows one `[redacted]` per secret and nothing else.
#[derive(Clone, Debug)]
pub struct Verifier {
    /// One pre-keyed HMAC state per secret, in configuration order; never empty.
    keys: Vec<KeyedMac>,
}

/// An HMAC-SHA256 state already keyed with one secret; `Debug` prints `[redacted]`.
#[derive(Clone)]
struct KeyedMac(HmacSha256);

impl fmt::Debug for KeyedMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Verifier {
    /// Builds a verifier from a comma-separated secret list, as in `WEBHOOK_SECRET`.
    ///
    /// ASCII whitespace around each entry is trimmed (`" a , b "` is the two secrets `a` and
    /// `b`); any other byte, including non-ASCII whitespace, is part of the secret. A secret
    /// therefore cannot contain a comma or begin or end with ASCII whitespace.
    ///
    /// # Errors
    ///
    /// [`SignatureError::NoSecrets`] when the list is empty or only whitespace (a caller may
    /// read that as "not configured"), and [`SignatureError::EmptySecret`] when one entry is
    /// empty (`"a,,b"`, `"a,"`).
    pub fn from_secret_list(list: &SecretString) -> Result<Self, SignatureError> {
        let list = list.expose_secret();
        if list.trim_ascii().is_empty() {
            return Err(SignatureError::NoSecrets);
        }
        Self::from_keys(list.split(',').map(|entry| entry.trim_ascii().as_bytes()))
    }

    /// Builds a verifier from secrets given one by one, taken byte for byte (no trimming).
    ///
    /// # Errors
    ///
    /// [`SignatureError::NoSecrets`] when there is no secret, and
    /// [`SignatureError::EmptySecret`] when one of them is empty.
    pub fn new(secrets: impl IntoIterator<Item = SecretString>) -> Result<Self, SignatureError> {
        let secrets: Vec<SecretString> = secrets.into_iter().collect();
        Self::from_keys(secrets.iter().map(|s| s.expose_secret().as_bytes()))
    }

    /// Like [`Verifier::new`], for secrets that are arbitrary bytes rather than text.
    ///
    /// # Errors
    ///
    /// As [`Verifier::new`].
    pub fn from_secret_bytes(
        secrets: impl IntoIterator<Item = SecretSlice<u8>>,
    ) -> Result<Self, SignatureError> {
        let secrets: Vec<SecretSlice<u8>> = secrets.into_iter().collect();
        Self::from_keys(secrets.iter().map(ExposeSecret::expose_secret))
    }

    /// Keys one HMAC state per secret, refusing an empty secret or an empty list.
    fn from_keys<'a>(secrets: impl Iterator<Item = &'a [u8]>) -> Result<Self, SignatureError> {
        let keys = secrets
            .enumerate()
            .map(|(index, secret)| match secret {
                [] => Err(SignatureError::EmptySecret {
                    position: index + 1,
                }),
                secret => Ok(KeyedMac(keyed_mac(secret))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(SignatureError::NoSecrets);
        }
        Ok(Self { keys })
    }

    /// How many secrets this verifier accepts (at least one).
    pub fn secret_count(&self) -> usize {
        self.keys.len()
    }

    /// Verifies the raw `body` against the signature headers of its request.
    ///
    /// `x_signature` is the raw value of `X-Signature` (64 hex digits, lower- or upper-case);
    /// `x_hub_signature_256` the raw value of `X-Hub-Signature-256` (`sha256=` and 64 hex
    /// digits; the prefix is matched case-insensitively). Surrounding ASCII whitespace is
    /// ignored. The request is authentic when any header that was sent matches any secret;
    /// a malformed header does not spoil a matching one.
    ///
    /// Every secret is checked against every well-formed header, with constant-time
    /// comparisons and no early exit. Malformed headers are rejected before any MAC is
    /// computed.
    ///
    /// # Errors
    ///
    /// - [`SignatureError::Missing`] when neither header was sent;
    /// - otherwise, the failure of `X-Signature` if it was sent, else that of
    ///   `X-Hub-Signature-256`: [`SignatureError::Malformed`] when its value is not a
    ///   well-formed signature, [`SignatureError::Mismatch`] when it is but no secret
    ///   produced it.
    ///
    /// Every error means the same thing to the client (401); the variants exist for logs.
    pub fn verify(&self, headers: SignatureHeaders<'_>, body: &[u8]) -> Result<(), SignatureError> {
        let plain = headers.x_signature.map(|value| {
            decode_hex_tag(value).map_err(|problem| SignatureError::Malformed {
                header: SignatureHeader::XSignature,
                problem,
            })
        });
        let hub = headers.x_hub_signature_256.map(|value| {
            decode_hub_tag(value).map_err(|problem| SignatureError::Malformed {
                header: SignatureHeader::XHubSignature256,
                problem,
            })
        });

        let tags = [&plain, &hub].map(|parsed| match parsed {
            Some(Ok(tag)) => Some(tag),
            _ => None,
        });
        if tags.iter().any(Option::is_some) {
            let mut matched = Choice::from(0);
            for key in &self.keys {
                let expected = key.0.clone().chain_update(body).finalize().into_bytes();
                for tag in tags.iter().flatten() {
                    matched |= expected.as_slice().ct_eq(tag.as_slice());
                }
            }
            if bool::from(matched) {
                return Ok(());
            }
        }

        Err(match (plain, hub) {
            (Some(Err(error)), _) | (None, Some(Err(error))) => error,
            (Some(Ok(_)), _) | (None, Some(Ok(_))) => SignatureError::Mismatch,
            (None, None) => SignatureError::Missing,
        })
    }
}

/// Lower-case hex HMAC-SHA256 of `body` under `secret`: the value of `X-Signature`.
///
/// For clients and tests; `X-Hub-Signature-256` is `sha256=` followed by the same string.
/// Any secret is accepted here, even an empty one, though a [`Verifier`] refuses those.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    hex::encode(keyed_mac(secret).chain_update(body).finalize().into_bytes())
}

/// An HMAC-SHA256 state keyed with `secret`.
///
/// HMAC accepts keys of any length, but its slice constructor is fallible in the `digest`
/// API. To stay panic-free without an unreachable error path, the key is brought to the
/// block size here exactly as RFC 2104 prescribes (a key longer than the 64-byte block is
/// replaced by its SHA-256 hash, then the key is zero-padded to the block) and handed to
/// the infallible fixed-size constructor. The RFC 4231 vectors in the tests, which include
/// 131-byte keys, pin this down.
fn keyed_mac(secret: &[u8]) -> HmacSha256 {
    let mut block = Key::<HmacSha256>::default();
    if secret.len() > block.len() {
        let hashed = Sha256::digest(secret);
        block[..hashed.len()].copy_from_slice(&hashed);
    } else {
        block[..secret.len()].copy_from_slice(secret);
    }
    HmacSha256::new(&block)
}

/// Decodes an `X-Signature` value: exactly 64 hex digits of either case, with optional
/// ASCII whitespace around them.
fn decode_hex_tag(value: &[u8]) -> Result<[u8; TAG_LEN], Malformation> {
    decode_digits(value.trim_ascii())
}

/// Decodes exactly 64 hex digits of either case, and nothing else, into a tag.
///
/// The length is checked first, so a tag of the wrong size is never decoded or compared.
fn decode_digits(digits: &[u8]) -> Result<[u8; TAG_LEN], Malformation> {
    match digits.len() {
        0 => Err(Malformation::Empty),
        HEX_TAG_LEN => {
            let mut tag = [0; TAG_LEN];
            hex::decode_to_slice(digits, &mut tag).map_err(|_| Malformation::NotHex)?;
            Ok(tag)
        }
        len => Err(Malformation::WrongLength { len }),
    }
}

/// Decodes an `X-Hub-Signature-256` value: `sha256=` (any ASCII case) immediately followed
/// by 64 hex digits, with optional ASCII whitespace around the whole value (not inside it).
fn decode_hub_tag(value: &[u8]) -> Result<[u8; TAG_LEN], Malformation> {
    let value = value.trim_ascii();
    if value.is_empty() {
        return Err(Malformation::Empty);
    }
    match value.split_at_checked(HUB_PREFIX.len()) {
        Some((prefix, digits)) if prefix.eq_ignore_ascii_case(HUB_PREFIX) => decode_digits(digits),
        _ => Err(Malformation::MissingPrefix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_mac_agrees_with_the_slice_constructor_around_the_block_size() {
        for len in [1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000] {
            let secret: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let reference = HmacSha256::new_from_slice(&secret)
                .unwrap()
                .chain_update(b"body")
                .finalize()
                .into_bytes();
            let ours = keyed_mac(&secret)
                .chain_update(b"body")
                .finalize()
                .into_bytes();
            assert_eq!(ours, reference, "key length {len}");
        }
    }

    #[test]
    fn hex_tag_accepts_lower_upper_and_mixed_case() {
        let lower = "ab".repeat(32);
        let upper = "AB".repeat(32);
        let mixed = "aB".repeat(32);
        for value in [&lower, &upper, &mixed] {
            assert_eq!(decode_hex_tag(value.as_bytes()), Ok([0xab; TAG_LEN]));
        }
    }

    #[test]
    fn hex_tag_reports_each_malformation() {
        assert_eq!(decode_hex_tag(b""), Err(Malformation::Empty));
        assert_eq!(decode_hex_tag(b" \t "), Err(Malformation::Empty));
        assert_eq!(
            decode_hex_tag(b"123"),
            Err(Malformation::WrongLength { len: 3 })
        );
        let not_hex = "g".repeat(64);
        assert_eq!(
            decode_hex_tag(not_hex.as_bytes()),
            Err(Malformation::NotHex)
        );
    }

    #[test]
    fn hub_tag_needs_the_prefix_in_any_case() {
        let digits = "01".repeat(32);
        for prefix in ["sha256=", "SHA256=", "Sha256="] {
            let value = format!("{prefix}{digits}");
            assert_eq!(decode_hub_tag(value.as_bytes()), Ok([0x01; TAG_LEN]));
        }
        assert_eq!(
            decode_hub_tag(digits.as_bytes()),
            Err(Malformation::MissingPrefix)
        );
        assert_eq!(decode_hub_tag(b"sha256"), Err(Malformation::MissingPrefix));
        assert_eq!(decode_hub_tag(b"sha256="), Err(Malformation::Empty));
    }

    #[test]
    fn hub_prefix_check_is_safe_on_multibyte_input() {
        // Slicing at the prefix length must not care about UTF-8 boundaries.
        let value = "sha25é=".as_bytes();
        assert_eq!(decode_hub_tag(value), Err(Malformation::MissingPrefix));
        assert_eq!(decode_hub_tag(&[0xff; 7]), Err(Malformation::MissingPrefix));
    }
}
