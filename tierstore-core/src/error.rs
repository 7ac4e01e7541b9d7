//! The one public error type, and its mapping to [`std::io::Error`] for the LDK traits.

use std::fmt;
use std::io;
use std::time::Duration;

/// A boxed error from a backend's own library (rusqlite, redis, object_store, ...).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Which operation failed. Shown in every error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Operation {
    /// Reading one value.
    Read,
    /// Writing one value.
    Write,
    /// Removing one key.
    Remove,
    /// Listing a namespace.
    List,
    /// Fetching one page of a namespace.
    ListPage,
    /// Listing every key of a store.
    ListAllKeys,
    /// Opening or configuring a store.
    Open,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Read => "read",
            Operation::Write => "write",
            Operation::Remove => "remove",
            Operation::List => "list",
            Operation::ListPage => "list_page",
            Operation::ListAllKeys => "list_all_keys",
            Operation::Open => "open",
        })
    }
}

/// The role a backend fills in a [`TierStore`](crate::TierStore).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// The authoritative store for durable keys.
    Primary,
    /// The second durable copy, written together with the primary.
    Backup,
    /// The store for rebuildable caches (network graph, scorer).
    Ephemeral,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Primary => "primary",
            Tier::Backup => "backup",
            Tier::Ephemeral => "ephemeral",
        })
    }
}

/// Every error TierStore and its backends return.
///
/// Each variant carries the context an operator needs to act on it: the backend (its
/// `Display` name, e.g. `Retry(sqlite:/var/lib/node/primary.db)`), the operation, the key or
/// namespace, and — once it has passed through a [`TierStore`](crate::TierStore) — the tier.
///
/// The `Display` text is complete on its own (LDK only logs the message of an
/// [`io::Error`]); [`std::error::Error::source`] still exposes the underlying cause for
/// programmatic inspection.
///
/// Backends choose between [`Error::Transient`] (connection lost, throttled, timed out: the
/// same request may succeed later, and the [retry layer](crate::layers::Retry) will retry it)
/// and [`Error::Backend`] (anything else).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller's input was rejected before any backend was touched.
    #[error("invalid input to {op}: {reason}")]
    InvalidInput {
        /// The operation that was refused.
        op: Operation,
        /// What was wrong, naming the offending part.
        reason: String,
    },

    /// The key does not exist.
    #[error("{backend}: {op} {key}: not found")]
    NotFound {
        /// The backend that was asked.
        backend: String,
        /// The operation.
        op: Operation,
        /// The key, as `primary/secondary/key`.
        key: String,
    },

    /// A failure that may go away if the same request is sent again.
    #[error("{backend}: {op} {target}: transient failure: {source}")]
    Transient {
        /// The backend that failed.
        backend: String,
        /// The operation.
        op: Operation,
        /// The key or namespace the operation was about.
        target: String,
        /// The backend library's error.
        #[source]
        source: BoxError,
    },

    /// The operation did not finish within its deadline (see [`crate::layers::Timeout`]).
    /// Treated as transient.
    #[error("{backend}: {op} {target}: timed out after {after:?}")]
    Timeout {
        /// The backend that did not answer.
        backend: String,
        /// The operation.
        op: Operation,
        /// The key or namespace the operation was about.
        target: String,
        /// The deadline that passed.
        after: Duration,
    },

    /// A permanent failure of a backend: retrying the same request will not help.
    #[error("{backend}: {op} {target}: {source}")]
    Backend {
        /// The backend that failed.
        backend: String,
        /// The operation.
        op: Operation,
        /// The key or namespace the operation was about.
        target: String,
        /// The backend library's error.
        #[source]
        source: BoxError,
    },

    /// The backend cannot do this at all (e.g. `list_all_keys` on an adapted store that does
    /// not implement LDK's `MigratableKVStore`).
    #[error("{backend}: {op} is not supported: {reason}")]
    Unsupported {
        /// The backend.
        backend: String,
        /// The operation.
        op: Operation,
        /// Why not.
        reason: String,
    },

    /// A failure in one tier of a [`TierStore`](crate::TierStore).
    #[error("{tier} tier failed: {source}")]
    Tier {
        /// The tier that failed.
        tier: Tier,
        /// What failed there.
        #[source]
        source: Box<Error>,
    },

    /// A store or TierStore was configured wrongly.
    #[error("configuration error: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },

    /// TierStore's journal (the local record of keys whose tiers may differ) cannot be used.
    #[error("journal {path}: {reason}")]
    Journal {
        /// The journal file.
        path: String,
        /// What is wrong and, where there is one, the way out.
        reason: String,
    },
}

impl Error {
    /// A permanent backend failure.
    pub fn backend(
        backend: impl fmt::Display,
        op: Operation,
        target: impl fmt::Display,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::Backend {
            backend: backend.to_string(),
            op,
            target: target.to_string(),
            source: source.into(),
        }
    }

    /// A transient backend failure (the retry layer retries these).
    pub fn transient(
        backend: impl fmt::Display,
        op: Operation,
        target: impl fmt::Display,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::Transient {
            backend: backend.to_string(),
            op,
            target: target.to_string(),
            source: source.into(),
        }
    }

    /// The key does not exist.
    pub fn not_found(backend: impl fmt::Display, op: Operation, key: impl fmt::Display) -> Self {
        Error::NotFound { backend: backend.to_string(), op, key: key.to_string() }
    }

    /// Input rejected before any backend was touched.
    pub fn invalid_input(op: Operation, reason: impl Into<String>) -> Self {
        Error::InvalidInput { op, reason: reason.into() }
    }

    /// A configuration error.
    pub fn config(reason: impl Into<String>) -> Self {
        Error::Config { reason: reason.into() }
    }

    /// A journal error.
    pub fn journal(path: &std::path::Path, reason: impl Into<String>) -> Self {
        Error::Journal { path: path.display().to_string(), reason: reason.into() }
    }

    /// Maps an [`io::Error`] from a backend, classifying it as transient or permanent by its
    /// kind and keeping `NotFound` and `InvalidInput` as such.
    pub fn from_io(
        backend: impl fmt::Display,
        op: Operation,
        target: impl fmt::Display,
        err: io::Error,
    ) -> Self {
        match err.kind() {
            io::ErrorKind::NotFound => Error::not_found(backend, op, target),
            io::ErrorKind::InvalidInput => {
                Error::invalid_input(op, format!("{backend} rejected {target}: {err}"))
            }
            kind if is_transient_io_kind(kind) => Error::transient(backend, op, target, err),
            _ => Error::backend(backend, op, target, err),
        }
    }

    /// Wraps this error with the tier it happened in. Wrapping twice keeps the innermost tier.
    pub fn in_tier(self, tier: Tier) -> Self {
        match self {
            Error::Tier { .. } | Error::InvalidInput { .. } => self,
            other => Error::Tier { tier, source: Box::new(other) },
        }
    }

    /// Whether retrying the same request may succeed (connection, timeout, throttling).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transient { .. } | Error::Timeout { .. } => true,
            Error::Tier { source, .. } => source.is_transient(),
            _ => false,
        }
    }

    /// Whether the key was not found.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::NotFound { .. } => true,
            Error::Tier { source, .. } => source.is_not_found(),
            _ => false,
        }
    }

    /// The tier this error happened in, if it passed through a TierStore.
    pub fn tier(&self) -> Option<Tier> {
        match self {
            Error::Tier { tier, .. } => Some(*tier),
            _ => None,
        }
    }

    /// The name of the backend that produced this error, if a backend did.
    pub fn backend_name(&self) -> Option<&str> {
        match self {
            Error::NotFound { backend, .. }
            | Error::Transient { backend, .. }
            | Error::Timeout { backend, .. }
            | Error::Backend { backend, .. }
            | Error::Unsupported { backend, .. } => Some(backend),
            Error::Tier { source, .. } => source.backend_name(),
            Error::InvalidInput { .. } | Error::Config { .. } | Error::Journal { .. } => None,
        }
    }

    /// The [`io::ErrorKind`] this error maps to for the LDK traits.
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            Error::InvalidInput { .. } | Error::Config { .. } => io::ErrorKind::InvalidInput,
            Error::NotFound { .. } => io::ErrorKind::NotFound,
            Error::Timeout { .. } => io::ErrorKind::TimedOut,
            Error::Unsupported { .. } => io::ErrorKind::Unsupported,
            Error::Journal { .. } => io::ErrorKind::Other,
            Error::Transient { source, .. } | Error::Backend { source, .. } => source
                .downcast_ref::<io::Error>()
                .map(io::Error::kind)
                .unwrap_or(io::ErrorKind::Other),
            Error::Tier { source, .. } => source.io_kind(),
        }
    }
}

/// The [`io::ErrorKind`]s that describe a condition which may pass (a lost connection, a busy
/// resource, a deadline) rather than a wrong request or a broken store.
pub fn is_transient_io_kind(kind: io::ErrorKind) -> bool {
    use io::ErrorKind::*;
    matches!(
        kind,
        TimedOut
            | ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | NotConnected
            | BrokenPipe
            | WouldBlock
            | Interrupted
            | ResourceBusy
            | NetworkDown
            | NetworkUnreachable
            | HostUnreachable
            | AddrNotAvailable
    )
}

impl From<Error> for io::Error {
    fn from(err: Error) -> Self {
        io::Error::new(err.io_kind(), err)
    }
}

/// LDK's traits return `lightning::io::Error` (from `bitcoin-io`), whose `Display` shows the
/// *`Debug`* form of the error inside. This wrapper makes that form the readable message.
struct LdkMessage(Error);

impl fmt::Debug for LdkMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for LdkMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for LdkMessage {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

impl From<Error> for lightning::io::Error {
    fn from(err: Error) -> Self {
        io::Error::new(err.io_kind(), LdkMessage(err)).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_context_is_kept_and_shown() {
        let err = Error::transient("redis://127.0.0.1:1/x", Operation::Write, "a/b/c", "reset")
            .in_tier(Tier::Backup);
        assert_eq!(err.tier(), Some(Tier::Backup));
        assert!(err.is_transient());
        assert_eq!(err.backend_name(), Some("redis://127.0.0.1:1/x"));
        let msg = err.to_string();
        assert!(msg.starts_with("backup tier failed: redis://127.0.0.1:1/x: write a/b/c"), "{msg}");
        // Wrapping again does not hide the first tier.
        assert_eq!(err.in_tier(Tier::Primary).tier(), Some(Tier::Backup));
    }

    #[test]
    fn io_kinds_map_both_ways() {
        let nf = Error::from_io("fs", Operation::Read, "a/b/c", io::ErrorKind::NotFound.into());
        assert!(nf.is_not_found());
        assert_eq!(io::Error::from(nf).kind(), io::ErrorKind::NotFound);

        let reset =
            Error::from_io("fs", Operation::Write, "a/b/c", io::ErrorKind::ConnectionReset.into());
        assert!(reset.is_transient());
        assert_eq!(io::Error::from(reset).kind(), io::ErrorKind::ConnectionReset);

        let perm =
            Error::from_io("fs", Operation::Write, "a/b/c", io::ErrorKind::PermissionDenied.into());
        assert!(!perm.is_transient());
        assert_eq!(io::Error::from(perm).kind(), io::ErrorKind::PermissionDenied);

        let timeout = Error::Timeout {
            backend: "s3".into(),
            op: Operation::Read,
            target: "a/b/c".into(),
            after: Duration::from_secs(1),
        };
        assert!(timeout.is_transient());
        assert_eq!(io::Error::from(timeout.in_tier(Tier::Primary)).kind(), io::ErrorKind::TimedOut);

        let invalid = Error::invalid_input(Operation::Write, "key is empty");
        assert_eq!(io::Error::from(invalid).kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn ldk_io_errors_read_well() {
        let err = Error::not_found("sqlite:a.db", Operation::Read, "monitors/\"\"/x");
        let ldk = lightning::io::Error::from(err.in_tier(Tier::Primary));
        assert_eq!(ldk.kind(), lightning::io::ErrorKind::NotFound);
        assert!(
            ldk.to_string()
                .ends_with("primary tier failed: sqlite:a.db: read monitors/\"\"/x: not found"),
            "{ldk}"
        );
    }
}
