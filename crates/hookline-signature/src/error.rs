//! The one error type of this crate, and the parts it names.

use core::fmt;

/// Why a verifier could not be built or a signature was refused.
///
/// The variants say which check failed, for logs only: a client is told nothing more than
/// that its signature is invalid. No variant carries secret material or body bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The secret list holds no secret at all (empty or only whitespace).
    #[error("no secret configured")]
    NoSecrets,
    /// One entry of the secret list is empty, as in `"a,,b"`.
    #[error("entry number {position} of the list is empty")]
    EmptySecret {
        /// 1-based position of the empty entry in the list.
        position: usize,
    },
    /// Neither signature header was sent.
    #[error("no signature header")]
    Missing,
    /// A signature header was sent but its value is not a well-formed signature.
    #[error("{header} header is malformed: {problem}")]
    Malformed {
        /// The header whose value is malformed.
        header: SignatureHeader,
        /// What is wrong with the value.
        problem: Malformation,
    },
    /// The signature is well-formed but no configured secret produces it for this body.
    #[error("signature does not match")]
    Mismatch,
}

/// One of the two signature headers a request may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureHeader {
    /// `X-Signature: <hex>`.
    XSignature,
    /// `X-Hub-Signature-256: sha256=<hex>`.
    XHubSignature256,
}

impl SignatureHeader {
    /// The header's name in lower case, as HTTP/2 writes it (`x-signature`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::XSignature => "x-signature",
            Self::XHubSignature256 => "x-hub-signature-256",
        }
    }
}

impl fmt::Display for SignatureHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with a malformed signature header value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Malformation {
    /// The value is empty or only whitespace, or `sha256=` has nothing after it.
    #[error("no signature digits")]
    Empty,
    /// `X-Hub-Signature-256` does not start with `sha256=`.
    #[error("missing \"sha256=\" prefix")]
    MissingPrefix,
    /// The signature is not exactly 64 characters long.
    #[error("expected 64 hex digits, got {len} bytes")]
    WrongLength {
        /// Length in bytes of the signature part, after trimming whitespace.
        len: usize,
    },
    /// The signature is 64 bytes long but not all of them are hex digits.
    #[error("not hexadecimal")]
    NotHex,
}
