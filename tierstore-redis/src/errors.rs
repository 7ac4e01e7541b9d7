//! Which Redis errors may pass.

use redis::{ErrorKind, RedisError, ServerErrorKind};

/// Whether sending the same request again may succeed: the connection was refused, dropped
/// or timed out (the connection manager reconnects in the background), or the server is
/// temporarily unable to serve (`LOADING` its data after a restart, `BUSY` running a slow
/// script, `TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN` during a failover).
///
/// Everything else — authentication, permissions (`NOPERM`), `WRONGTYPE`, out of memory,
/// a read-only replica — needs an operator and is permanent.
pub(crate) fn is_transient(err: &RedisError) -> bool {
    if err.is_io_error()
        || err.is_connection_refusal()
        || err.is_connection_dropped()
        || err.is_timeout()
    {
        return true;
    }
    match err.kind() {
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
            | ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::MasterDown,
        ) => true,
        _ => matches!(
            err.code(),
            Some("BUSY" | "LOADING" | "TRYAGAIN" | "CLUSTERDOWN" | "MASTERDOWN")
        ),
    }
}
