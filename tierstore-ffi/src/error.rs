//! The one error type foreign code sees, and its mapping to and from TierStore's [`Error`].

use tierstore::{Error, Operation};

/// Every error the bindings raise, and the errors a foreign backend raises.
///
/// Each variant carries a complete message: for errors from a store it names the tier, the
/// backend and the key (`primary tier failed: my-python-store: write monitors/""/chan1: ...`).
/// A foreign backend raises [`NotFound`](Self::NotFound) for a missing key,
/// [`Transient`](Self::Transient) for a failure that may pass (TierStore's retry layer retries
/// those) and [`Backend`](Self::Backend) for anything else; any other exception it lets escape
/// arrives as [`Backend`](Self::Backend) too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TierStoreError {
    /// The key does not exist.
    #[error("{message}")]
    NotFound {
        /// What was not found, and where.
        message: String,
    },
    /// The input was rejected (a key outside LDK's alphabet, a malformed page token, a closed
    /// store, a wrong URL) before anything was written.
    #[error("{message}")]
    InvalidInput {
        /// What was wrong, naming the offending part.
        message: String,
    },
    /// A failure that may pass if the same request is sent again (connection lost, timeout).
    #[error("{message}")]
    Transient {
        /// What failed, naming the backend.
        message: String,
    },
    /// A permanent failure.
    #[error("{message}")]
    Backend {
        /// What failed, naming the backend.
        message: String,
    },
}

impl TierStoreError {
    /// The message, whichever the variant.
    pub fn message(&self) -> &str {
        match self {
            TierStoreError::NotFound { message }
            | TierStoreError::InvalidInput { message }
            | TierStoreError::Transient { message }
            | TierStoreError::Backend { message } => message,
        }
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        TierStoreError::InvalidInput { message: message.into() }
    }

    pub(crate) fn backend(message: impl Into<String>) -> Self {
        TierStoreError::Backend { message: message.into() }
    }

    /// This error, raised by the foreign backend `backend` during `op` on `target`, as a
    /// TierStore error naming that backend.
    pub(crate) fn into_core(self, backend: &str, op: Operation, target: &str) -> Error {
        match self {
            TierStoreError::NotFound { .. } => Error::not_found(backend, op, target),
            TierStoreError::InvalidInput { message } => {
                Error::invalid_input(op, format!("{backend} rejected {target}: {message}"))
            }
            TierStoreError::Transient { message } => Error::transient(backend, op, target, message),
            TierStoreError::Backend { message } => Error::backend(backend, op, target, message),
        }
    }
}

/// An exception the foreign code raised that is not a [`TierStoreError`] (a `KeyError`, a
/// `RuntimeError`, ...): a permanent backend failure, never a panic.
impl From<uniffi::UnexpectedUniFFICallbackError> for TierStoreError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TierStoreError::backend(format!("unexpected exception from foreign code: {}", err.reason))
    }
}

impl From<Error> for TierStoreError {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        if err.is_not_found() {
            TierStoreError::NotFound { message }
        } else if err.io_kind() == std::io::ErrorKind::InvalidInput {
            TierStoreError::InvalidInput { message }
        } else if err.is_transient() {
            TierStoreError::Transient { message }
        } else {
            TierStoreError::Backend { message }
        }
    }
}

/// LDK's traits (which the store's operations go through) return `lightning::io::Error`: its
/// kind picks the variant, its message is TierStore's complete one. A transient failure whose
/// kind says nothing (a foreign backend's `Transient`, a Redis reset) is found in the chain of
/// sources, where TierStore's own error still is.
impl From<lightning::io::Error> for TierStoreError {
    fn from(err: lightning::io::Error) -> Self {
        let err = std::io::Error::from(err);
        let message = err.to_string();
        match err.kind() {
            std::io::ErrorKind::NotFound => TierStoreError::NotFound { message },
            std::io::ErrorKind::InvalidInput => TierStoreError::InvalidInput { message },
            kind if tierstore::is_transient_io_kind(kind) || has_transient_source(&err) => {
                TierStoreError::Transient { message }
            }
            _ => TierStoreError::Backend { message },
        }
    }
}

/// Whether a TierStore error in `err`'s chain of sources is transient.
fn has_transient_source(err: &std::io::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> =
        err.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static));
    while let Some(current) = next {
        // TierStore's tier error holds the backend's as a `Box<Error>`, which is the
        // `dyn Error` its `source()` hands out.
        let core = current
            .downcast_ref::<Error>()
            .or_else(|| current.downcast_ref::<Box<Error>>().map(|boxed| &**boxed));
        if core.is_some_and(Error::is_transient) {
            return true;
        }
        next = current.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use tierstore::Tier;

    #[test]
    fn kinds_survive_the_ldk_error() {
        let ldk = |e: Error| TierStoreError::from(lightning::io::Error::from(e));
        let transient = Error::transient("py", Operation::Write, "a/b/c", "reset");
        assert!(matches!(ldk(transient.in_tier(Tier::Backup)), TierStoreError::Transient { .. }));
        let permanent = Error::backend("py", Operation::Write, "a/b/c", "full");
        let err = ldk(permanent.in_tier(Tier::Primary));
        assert!(matches!(err, TierStoreError::Backend { .. }), "{err:?}");
        assert_eq!(err.message(), "primary tier failed: py: write a/b/c: full");
        let missing = Error::not_found("py", Operation::Read, "a/b/c").in_tier(Tier::Primary);
        assert!(matches!(ldk(missing), TierStoreError::NotFound { .. }));
        let invalid = Error::invalid_input(Operation::Read, "key is empty");
        assert!(matches!(ldk(invalid), TierStoreError::InvalidInput { .. }));
    }

    #[test]
    fn unexpected_foreign_exceptions_are_backend_errors() {
        let err = TierStoreError::from(uniffi::UnexpectedUniFFICallbackError::new("KeyError"));
        assert!(matches!(err, TierStoreError::Backend { .. }));
        assert!(err.message().contains("KeyError"));
    }
}
