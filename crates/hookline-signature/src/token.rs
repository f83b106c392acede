//! [`TokenSet`]: shared tokens (bearer tokens, a verify token) checked in constant time.

use core::fmt;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::SignatureError;

/// One or more tokens a client may present, e.g. `READ_TOKEN` (a comma-separated list during
/// a rotation) or the verify token of Meta's subscription handshake.
///
/// Only the SHA-256 digest of each token is kept. [`TokenSet::contains`] hashes the candidate
/// and compares digests with [`subtle::ConstantTimeEq`], against every token without an early
/// exit, so neither the position of the first differing byte nor the length of a token shows
/// in the time taken. `Debug` prints one `[redacted]` per token.
#[derive(Clone)]
pub struct TokenSet {
    /// SHA-256 of each token, in configuration order; never empty.
    digests: Vec<[u8; 32]>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.digests.iter().map(|_| format_args!("[redacted]")))
            .finish()
    }
}

impl TokenSet {
    /// Builds the set from a comma-separated list, with the rules of
    /// [`Verifier::from_secret_list`](crate::Verifier::from_secret_list): ASCII whitespace
    /// around each entry is trimmed, so a token cannot contain a comma.
    ///
    /// # Errors
    ///
    /// [`SignatureError::NoSecrets`] when the list is empty or only whitespace (a caller may
    /// read that as "not configured"), [`SignatureError::EmptySecret`] when one entry is empty
    /// (`"a,,b"`).
    pub fn from_list(list: &SecretString) -> Result<Self, SignatureError> {
        let list = list.expose_secret();
        if list.trim_ascii().is_empty() {
            return Err(SignatureError::NoSecrets);
        }
        let digests = list
            .split(',')
            .enumerate()
            .map(|(index, entry)| match entry.trim_ascii() {
                "" => Err(SignatureError::EmptySecret {
                    position: index + 1,
                }),
                token => Ok(digest(token.as_bytes())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { digests })
    }

    /// Builds a set of exactly one token: the whole value with surrounding ASCII whitespace
    /// trimmed (commas are part of it).
    ///
    /// # Errors
    ///
    /// [`SignatureError::NoSecrets`] when the value is empty or only whitespace.
    pub fn single(token: &SecretString) -> Result<Self, SignatureError> {
        match token.expose_secret().trim_ascii() {
            "" => Err(SignatureError::NoSecrets),
            token => Ok(Self {
                digests: vec![digest(token.as_bytes())],
            }),
        }
    }

    /// How many tokens are accepted (at least one).
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// Always `false`: a set holds at least one token (for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `candidate`, byte for byte, is one of the tokens. Constant-time in the tokens.
    pub fn contains(&self, candidate: &[u8]) -> bool {
        let candidate = digest(candidate);
        let mut matched = Choice::from(0);
        for token in &self.digests {
            matched |= token.ct_eq(&candidate);
        }
        bool::from(matched)
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(value: &str) -> Result<TokenSet, SignatureError> {
        TokenSet::from_list(&SecretString::from(value))
    }

    #[test]
    fn every_token_of_a_rotation_list_is_accepted_and_nothing_else() {
        let set = list(" new , old").unwrap();
        assert_eq!(set.len(), 2);
        for token in ["new", "old"] {
            assert!(set.contains(token.as_bytes()), "{token}");
        }
        for other in ["", "ne", "new ", " new", "new,old", "NEW", "old2"] {
            assert!(!set.contains(other.as_bytes()), "{other:?}");
        }
    }

    #[test]
    fn a_blank_list_is_not_configured_and_an_empty_entry_is_an_error() {
        assert_eq!(list(" ").unwrap_err(), SignatureError::NoSecrets);
        assert_eq!(
            list("a,,b").unwrap_err(),
            SignatureError::EmptySecret { position: 2 }
        );
        assert_eq!(
            list("a,").unwrap_err(),
            SignatureError::EmptySecret { position: 2 }
        );
    }

    #[test]
    fn a_single_token_keeps_its_commas() {
        let set = TokenSet::single(&SecretString::from(" a,b ")).unwrap();
        assert!(set.contains(b"a,b"));
        assert!(!set.contains(b"a"));
        assert_eq!(
            TokenSet::single(&SecretString::from("  ")).unwrap_err(),
            SignatureError::NoSecrets
        );
    }

    #[test]
    fn debug_shows_no_token() {
        let debug = format!("{:?}", list("hunter2,top-secret").unwrap());
        assert_eq!(debug, "[[redacted], [redacted]]");
    }
}
