//! TLS (`rediss://`) through rustls.

/// Makes sure rustls has a process-wide crypto provider, installing *ring* if none is.
///
/// The `redis` crate builds its TLS configuration from rustls' process default. rustls
/// chooses one by itself only when exactly one provider is compiled in; in an application
/// that also links another provider (e.g. `aws-lc-rs` through an HTTP client), there is
/// none until someone installs one, and connecting would panic. An application's own choice,
/// installed earlier, is kept.
pub(crate) fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: a provider is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
