//! TLS to PostgreSQL (`sslmode`, `sslrootcert`), with rustls: what libpq does, as far as
//! tokio-postgres lets it.
//!
//! tokio-postgres 0.7 knows `sslmode=disable|prefer|require` (and whether to send its
//! `SSLRequest` at all), and hands the handshake to a connector; this crate gives it a
//! rustls one (`tokio-postgres-rustls`) whose certificate check follows libpq:
//!
//! | `sslmode` | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (default) | if the server offers it, else plain | not checked |
//! | `require` | always (refuses a server without TLS) | not checked — unless `sslrootcert` is given: then as `verify-ca` (libpq does the same when it finds a root certificate) |
//! | `verify-ca` | always | signed by a trusted root |
//! | `verify-full` | always | signed by a trusted root and issued for the host name (or IP) in the URL |
//!
//! The trusted roots are the PEM certificates of `sslrootcert=/path/ca.pem`, or without
//! it (or with libpq's `sslrootcert=system`) Mozilla's roots, built in (`webpki-roots`;
//! the runtime image has no system CA store). tokio-postgres' parser refuses
//! `verify-ca`, `verify-full` and `sslrootcert`, so [`split`] takes them out of the URL
//! (or a key=value string without quotes) first and asks it for `require`.
//!
//! Not checking a certificate (`prefer`, `require`) still encrypts, and still checks the
//! handshake's signatures with the certificate's key; it does not stop an active
//! man-in-the-middle, which is what `verify-full` is for. Unlike libpq, `prefer` does not
//! retry without TLS when the TLS handshake itself fails (only when the server declines
//! TLS). TLS is never tried over a Unix socket (the server declines it there), so
//! `require` and `verify-*` cannot use one.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::PostgresError;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Nothing (`prefer`, `require`): encrypted, not authenticated.
    Nothing,
    /// The chain to a trusted root (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    ChainAndName,
}

/// The TLS settings taken from a URL, beyond what tokio-postgres keeps itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// What `verify-ca`/`verify-full` asked for; `None` for the modes tokio-postgres parses.
    pub(crate) verify: Option<Verify>,
    /// `sslrootcert`, unless absent or `system`.
    pub(crate) root_cert: Option<PathBuf>,
}

impl TlsSettings {
    /// The check to make given the mode tokio-postgres parsed.
    pub(crate) fn effective(&self, mode: SslMode) -> Verify {
        match (self.verify, mode) {
            (Some(verify), _) => verify,
            (None, SslMode::Require) if self.root_cert.is_some() => Verify::Chain,
            _ => Verify::Nothing,
        }
    }

    /// The libpq name of the mode in effect, for logs.
    pub(crate) fn mode_name(&self, mode: SslMode) -> &'static str {
        match (self.effective(mode), mode) {
            (Verify::ChainAndName, _) => "verify-full",
            (Verify::Chain, _) => "verify-ca",
            (Verify::Nothing, SslMode::Disable) => "disable",
            (Verify::Nothing, SslMode::Require) => "require",
            _ => "prefer",
        }
    }
}

/// What [`split`] took out of a connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Extracted {
    pub(crate) tls: TlsSettings,
    /// `pool_max_size=N`: hookline's own parameter, the most pooled connections.
    pub(crate) pool_max_size: Option<usize>,
}

/// The most connections `pool_max_size` may ask for.
pub(crate) const MAX_POOL_SIZE: usize = 1000;

/// Takes what tokio-postgres' parser would refuse out of a connection string:
/// `sslmode=verify-ca|verify-full` (which becomes `require`), `sslrootcert=…`, and
/// hookline's own `pool_max_size=N`.
pub(crate) fn split(url: &str) -> Result<(Cow<'_, str>, Extracted), PostgresError> {
    let mut settings = Extracted {
        tls: TlsSettings {
            verify: None,
            root_cert: None,
        },
        pool_max_size: None,
    };
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let rewritten = if is_url {
        let Some((base, query)) = url.split_once('?') else {
            return Ok((Cow::Borrowed(url), settings));
        };
        let mut kept = Vec::new();
        let mut changed = false;
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value)?;
            if take(&mut settings, &percent_decode(key)?, &value)? {
                changed = true;
                if settings.tls.verify.is_some() && key == "sslmode" {
                    kept.push("sslmode=require");
                }
            } else {
                kept.push(pair);
            }
        }
        if !changed {
            return Ok((Cow::Borrowed(url), settings));
        }
        if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else {
        // key=value form: only the simple case (no quoting); a quoted string is left to
        // tokio-postgres, which knows disable/prefer/require only.
        if url.contains(['\'', '\\']) {
            return Ok((Cow::Borrowed(url), settings));
        }
        let mut kept = Vec::new();
        let mut changed = false;
        for word in url.split_whitespace() {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            if take(&mut settings, key, value)? {
                changed = true;
                if settings.tls.verify.is_some() && key == "sslmode" {
                    kept.push("sslmode=require");
                }
            } else {
                kept.push(word);
            }
        }
        if !changed {
            return Ok((Cow::Borrowed(url), settings));
        }
        kept.join(" ")
    };
    Ok((Cow::Owned(rewritten), settings))
}

/// Records `key=value` if it is one tokio-postgres does not parse; `true` if it was.
fn take(settings: &mut Extracted, key: &str, value: &str) -> Result<bool, PostgresError> {
    let tls = &mut settings.tls;
    match (key, value) {
        ("sslmode", "verify-ca") => tls.verify = Some(Verify::Chain),
        ("sslmode", "verify-full") => tls.verify = Some(Verify::ChainAndName),
        ("sslmode", _) => {
            // A later plain mode overrides an earlier verify-* (the last one wins, as in
            // libpq); tokio-postgres reads the plain one.
            tls.verify = None;
            return Ok(false);
        }
        ("sslrootcert", "system" | "") => tls.root_cert = None,
        ("sslrootcert", path) => tls.root_cert = Some(PathBuf::from(path)),
        ("pool_max_size", n) => {
            let n = n
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_POOL_SIZE).contains(n))
                .ok_or(PostgresError::Unsupported(
                    "pool_max_size must be a whole number from 1 to 1000",
                ))?;
            settings.pool_max_size = Some(n);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `%XX` decoding of a URL component (libpq's URLs are percent-encoded).
fn percent_decode(s: &str) -> Result<Cow<'_, str>, PostgresError> {
    if !s.contains('%') {
        return Ok(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(PostgresError::Unsupported(
                    "bad percent-encoding in the connection URL",
                ))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| PostgresError::Unsupported("bad percent-encoding in the connection URL"))
}

/// The rustls connector for these settings. Reads `sslrootcert` (at start-up).
///
/// # Errors
///
/// [`PostgresError::Tls`] when the root certificate file cannot be read or holds no
/// certificate.
pub(crate) fn connector(
    settings: &TlsSettings,
    mode: SslMode,
) -> Result<MakeRustlsConnect, PostgresError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verify = settings.effective(mode);
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::Nothing => Arc::new(NoCertificateCheck(provider.clone())),
        Verify::Chain | Verify::ChainAndName => {
            let roots = roots(settings.root_cert.as_ref())?;
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| PostgresError::Tls(format!("cannot build the verifier: {e}")))?;
            if verify == Verify::Chain {
                Arc::new(ChainOnly(webpki))
            } else {
                webpki
            }
        }
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PostgresError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The roots from `path` (PEM), or Mozilla's.
fn roots(path: Option<&PathBuf>) -> Result<Arc<RootCertStore>, PostgresError> {
    let mut roots = RootCertStore::empty();
    let Some(path) = path else {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(Arc::new(roots));
    };
    let unreadable = |e: &dyn std::fmt::Display| {
        PostgresError::Tls(format!("sslrootcert {}: {e}", path.display()))
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(&e))?;
    let (added, _ignored) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(unreadable(&"no usable certificate in the file"));
    }
    Ok(Arc::new(roots))
}

/// `prefer`/`require`: any certificate, but the handshake still proves the server holds
/// the certificate's key.
#[derive(Debug)]
struct NoCertificateCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCertificateCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the full check, except that a certificate issued for another name passes
/// (webpki checks the name only once the chain is valid).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> (String, TlsSettings) {
        let (rest, settings) = split(url).unwrap();
        (rest.into_owned(), settings.tls)
    }

    #[test]
    fn the_pool_size_is_taken_out_and_checked() {
        let (rest, extracted) = split("postgres://db/x?pool_max_size=4&sslmode=disable").unwrap();
        assert_eq!(rest, "postgres://db/x?sslmode=disable");
        assert_eq!(extracted.pool_max_size, Some(4));
        let (rest, extracted) = split("host=db pool_max_size=16").unwrap();
        assert_eq!(rest, "host=db");
        assert_eq!(extracted.pool_max_size, Some(16));
        for bad in ["0", "1001", "-1", "x", ""] {
            assert!(
                split(&format!("postgres://db/x?pool_max_size={bad}")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn modes_tokio_postgres_parses_are_left_alone() {
        for url in [
            "postgres://u@db/x",
            "postgres://u@db/x?sslmode=require",
            "postgres://u@db/x?sslmode=disable&application_name=a",
            "host=db sslmode=prefer",
        ] {
            let (rest, s) = settings(url);
            assert_eq!(rest, url);
            assert_eq!(s.verify, None);
            assert_eq!(s.root_cert, None);
        }
    }

    #[test]
    fn verify_modes_and_the_root_certificate_are_taken_out() {
        let (rest, s) = settings(
            "postgres://u@db/x?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=2",
        );
        assert_eq!(rest, "postgres://u@db/x?sslmode=require&connect_timeout=2");
        assert_eq!(s.verify, Some(Verify::ChainAndName));
        assert_eq!(s.root_cert, Some(PathBuf::from("/etc/ca.pem")));

        let (rest, s) = settings("postgresql://u@db/x?sslrootcert=/ca.pem");
        assert_eq!(rest, "postgresql://u@db/x");
        assert_eq!(s.effective(SslMode::Prefer), Verify::Nothing);
        assert_eq!(s.effective(SslMode::Require), Verify::Chain);

        let (rest, s) = settings("host=db sslmode=verify-ca  sslrootcert=system user=u");
        assert_eq!(rest, "host=db sslmode=require user=u");
        assert_eq!(s.verify, Some(Verify::Chain));
        assert_eq!(s.root_cert, None);

        // The last sslmode wins.
        let (_, s) = settings("postgres://db/x?sslmode=verify-full&sslmode=disable");
        assert_eq!(s.verify, None);
    }

    #[test]
    fn a_missing_root_certificate_is_an_error_at_start_up() {
        let (_, s) = settings("postgres://db/x?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem");
        let err = connector(&s, SslMode::Require).err().unwrap().to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }
}
