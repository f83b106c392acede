//! Reading the signing secret from the environment, the way the server reads it.

use hookline_signature::{ExposeSecret, SecretString};

use crate::error::CliError;

/// The environment variable read by default, the same one the server reads.
pub const DEFAULT_SECRET_ENV: &str = "WEBHOOK_SECRET";

/// The variable `send --whatsapp` reads by default: the server's Meta app secret.
pub const WHATSAPP_SECRET_ENV: &str = "WHATSAPP_APP_SECRET";

/// A signing secret, held in a [`SecretString`] (zeroized on drop) and exposed only to
/// compute a signature. `Debug` never shows it.
pub struct Secret(SecretString);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Secret {
    /// Reads the secret from the environment variable `name`.
    ///
    /// The server accepts a comma-separated list of secrets (key rotation) with ASCII
    /// whitespace trimmed around each; any of them verifies. A client needs one, so the
    /// first entry is used, trimmed the same way. With a single secret this is the value
    /// itself, byte for byte.
    pub fn from_env(name: &str) -> Result<Self, CliError> {
        let value =
            std::env::var(name)
                .map(SecretString::from)
                .map_err(|_| CliError::MissingSecret {
                    name: name.to_owned(),
                })?;
        Self::from_list(name, value.expose_secret())
    }

    /// The first secret of a comma-separated list; `name` is only for the error message.
    fn from_list(name: &str, list: &str) -> Result<Self, CliError> {
        let first = list.split(',').next().unwrap_or_default().trim_ascii();
        if first.is_empty() {
            return Err(CliError::EmptySecret {
                name: name.to_owned(),
            });
        }
        Ok(Self(SecretString::from(first)))
    }

    /// The lower-case hex HMAC-SHA256 of `body`: the value of `X-Signature`.
    pub fn sign(&self, body: &[u8]) -> String {
        hookline_signature::sign(self.0.expose_secret().as_bytes(), body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_entry_of_a_rotation_list_is_used_trimmed() {
        let secret = Secret::from_list("S", " new , old").unwrap();
        assert_eq!(secret.0.expose_secret(), "new");
    }

    #[test]
    fn empty_first_entry_is_refused() {
        assert!(matches!(
            Secret::from_list("S", " ,old"),
            Err(CliError::EmptySecret { .. })
        ));
        assert!(matches!(
            Secret::from_list("S", ""),
            Err(CliError::EmptySecret { .. })
        ));
    }

    #[test]
    fn debug_is_redacted() {
        let secret = Secret(SecretString::from("hunter2"));
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
