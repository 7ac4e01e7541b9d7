//! TLS: libpq's `sslmode` semantics on rustls (with the *ring* provider).
//!
//! | `sslmode` | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow`, `prefer` (default) | if the server offers it | only if root certificates were given (`sslrootcert` or the builder), as libpq does when it finds a root certificate file |
//! | `require` | always, or the connection fails | as `prefer` |
//! | `verify-ca` | always | chains to a trusted root |
//! | `verify-full` | always | chains to a trusted root and names the host |
//!
//! Trusted roots are the PEM file given as `sslrootcert` (or to the builder), or the system's
//! store (`sslrootcert=system`, and the default for `verify-ca` / `verify-full`, where libpq
//! would read `~/.postgresql/root.crt`). libpq tries plain text first under `allow`; this
//! crate tries TLS first (as `prefer`), which connects in the same cases and encrypts when it
//! can.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// libpq's `sslmode`: whether the connection is encrypted and how the server is checked.
/// See the [crate documentation](crate#tls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SslMode {
    /// Never encrypt.
    Disable,
    /// Encrypt if the server insists (tried as [`Prefer`](Self::Prefer)).
    Allow,
    /// Encrypt if the server supports it (libpq's default).
    Prefer,
    /// Always encrypt; check the certificate only against roots given explicitly.
    Require,
    /// Always encrypt; the certificate must chain to a trusted root.
    VerifyCa,
    /// Always encrypt; the certificate must chain to a trusted root and name the host.
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, \
                     verify-full"
                ));
            }
        })
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        })
    }
}

impl SslMode {
    /// What tokio-postgres is told: whether TLS is off, attempted, or required.
    pub(crate) fn negotiation(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Pg;
        match self {
            SslMode::Disable => Pg::Disable,
            SslMode::Allow | SslMode::Prefer => Pg::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Pg::Require,
        }
    }
}

/// Trusted root certificates for checking the server.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum RootCerts {
    /// The operating system's store.
    System,
    /// A PEM file of one or more certificates.
    File(PathBuf),
    /// PEM text of one or more certificates.
    Pem(Vec<u8>),
}

impl fmt::Debug for RootCerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootCerts::System => f.write_str("System"),
            RootCerts::File(path) => f.debug_tuple("File").field(path).finish(),
            RootCerts::Pem(pem) => write!(f, "Pem({} bytes)", pem.len()),
        }
    }
}

#[cfg(feature = "tls")]
pub(crate) use with_rustls::connector;

#[cfg(feature = "tls")]
mod with_rustls {
    use std::sync::Arc;

    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
    use tokio_postgres_rustls::MakeRustlsConnect;

    use super::{RootCerts, SslMode};

    /// The rustls connector for `mode`, checking the server against `roots` as the mode
    /// says. Blocking: reads certificate files.
    pub(crate) fn connector(
        mode: SslMode,
        roots: Option<&RootCerts>,
    ) -> Result<MakeRustlsConnect, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let webpki = |roots: &RootCerts| {
            WebPkiServerVerifier::builder_with_provider(
                Arc::new(load(roots)?),
                Arc::clone(&provider),
            )
            .build()
            .map_err(|e| format!("cannot use the root certificates: {e}"))
        };
        let check = match (mode, roots) {
            (SslMode::VerifyFull, roots) => {
                Check::Full(webpki(roots.unwrap_or(&RootCerts::System))?)
            }
            (SslMode::VerifyCa, roots) => {
                Check::Chain(webpki(roots.unwrap_or(&RootCerts::System))?)
            }
            // libpq checks the chain under `require` (and `prefer`) when it has root certificates.
            (_, Some(roots)) => Check::Chain(webpki(roots)?),
            (_, None) => Check::Nothing,
        };
        let verifier = Arc::new(Verifier { check, provider: Arc::clone(&provider) });
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS configuration: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }

    fn load(roots: &RootCerts) -> Result<RootCertStore, String> {
        let certs: Vec<CertificateDer<'static>> = match roots {
            RootCerts::System => {
                let found = rustls_native_certs::load_native_certs();
                if found.certs.is_empty() {
                    return Err(format!(
                        "no system root certificates could be loaded: {:?}",
                        found.errors
                    ));
                }
                found.certs
            }
            RootCerts::File(path) => {
                CertificateDer::pem_file_iter(path).and_then(|certs| certs.collect()).map_err(
                    |e| format!("cannot read root certificates from {}: {e}", path.display()),
                )?
            }
            RootCerts::Pem(pem) => CertificateDer::pem_slice_iter(pem)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("cannot parse the given root certificates: {e}"))?,
        };
        let mut store = RootCertStore::empty();
        let (added, _ignored) = store.add_parsable_certificates(certs);
        if added == 0 {
            return Err("no usable root certificate was given".to_owned());
        }
        Ok(store)
    }

    /// What is checked of the server's certificate.
    #[derive(Debug)]
    enum Check {
        /// `prefer`/`require` without root certificates, as libpq: the connection is
        /// encrypted, the certificate is not checked (the handshake's signatures still are).
        Nothing,
        /// `verify-ca`: the chain must reach a trusted root; the name is not checked.
        Chain(Arc<WebPkiServerVerifier>),
        /// `verify-full`: the chain must reach a trusted root and the certificate name the host.
        Full(Arc<WebPkiServerVerifier>),
    }

    #[derive(Debug)]
    struct Verifier {
        check: Check,
        provider: Arc<CryptoProvider>,
    }

    impl ServerCertVerifier for Verifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            match &self.check {
                Check::Nothing => Ok(ServerCertVerified::assertion()),
                Check::Full(webpki) => {
                    webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
                }
                Check::Chain(webpki) => {
                    match webpki.verify_server_cert(
                        end_entity,
                        intermediates,
                        server_name,
                        ocsp,
                        now,
                    ) {
                        Err(rustls::Error::InvalidCertificate(
                            CertificateError::NotValidForName
                            | CertificateError::NotValidForNameContext { .. },
                        )) => Ok(ServerCertVerified::assertion()),
                        other => other,
                    }
                }
            }
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
                &self.provider.signature_verification_algorithms,
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
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.provider.signature_verification_algorithms.supported_schemes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_print_and_negotiate_like_libpq() {
        use tokio_postgres::config::SslMode as Pg;
        for (text, mode, negotiation) in [
            ("disable", SslMode::Disable, Pg::Disable),
            ("allow", SslMode::Allow, Pg::Prefer),
            ("prefer", SslMode::Prefer, Pg::Prefer),
            ("require", SslMode::Require, Pg::Require),
            ("verify-ca", SslMode::VerifyCa, Pg::Require),
            ("verify-full", SslMode::VerifyFull, Pg::Require),
        ] {
            assert_eq!(text.parse::<SslMode>().unwrap(), mode);
            assert_eq!(mode.to_string(), text);
            assert_eq!(mode.negotiation(), negotiation, "{text}");
        }
        let err = "verify".parse::<SslMode>().unwrap_err();
        assert!(err.contains("verify-full"), "{err}");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn root_certificates_are_checked_when_loaded() {
        let err = connector(SslMode::VerifyFull, Some(&RootCerts::Pem(b"not a pem".to_vec())))
            .err()
            .expect("no certificate in the PEM");
        assert!(err.contains("no usable root certificate"), "{err}");
        let missing = RootCerts::File(PathBuf::from("/nonexistent/ca.pem"));
        let err = connector(SslMode::Require, Some(&missing)).err().expect("missing file");
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
        // Without roots, `require` encrypts without checking: nothing to load.
        assert!(connector(SslMode::Require, None).is_ok());
    }
}
