//! Which PostgreSQL and pool errors may pass.

use std::error::Error as _;
use std::io;

use deadpool_postgres::PoolError;
use tierstore_core::is_transient_io_kind;
use tokio_postgres::error::SqlState;

/// Whether sending the same request again may succeed.
///
/// Transient: no connection (refused, reset, closed, timed out: the pool opens a new one on
/// the next request), the server starting up or shutting down (`57P01`–`57P03`), too many
/// connections or out of resources (class `53`), connection exceptions (class `08`), a
/// cancelled statement, serialization failures, deadlocks and lock timeouts.
///
/// Permanent: everything that needs an operator — authentication (class `28`), a missing
/// database or table, permissions, a TLS certificate that does not check out, a server
/// without TLS under `sslmode=require`.
pub(crate) fn is_transient(err: &tokio_postgres::Error) -> bool {
    if let Some(db) = err.as_db_error() {
        return transient_state(db.code());
    }
    if err.is_closed() {
        return true;
    }
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return is_transient_io_kind(io.kind()) || io.kind() == io::ErrorKind::UnexpectedEof;
        }
        source = cause.source();
    }
    false
}

fn transient_state(code: &SqlState) -> bool {
    let code = code.code();
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            // admin_shutdown, crash_shutdown, cannot_connect_now, idle_session_timeout
            "57P01" | "57P02" | "57P03" | "57P05"
            // query_canceled, serialization_failure, deadlock_detected, lock_not_available
            | "57014" | "40001" | "40P01" | "55P03"
        )
}

/// Whether a pool error may pass: timeouts waiting for or creating a connection, and
/// transient errors of the connection the pool tried to open.
pub(crate) fn pool_is_transient(err: &PoolError) -> bool {
    match err {
        PoolError::Timeout(_) => true,
        PoolError::Backend(e) => is_transient(e),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_states_are_classified() {
        for transient in [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::CONNECTION_FAILURE,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
        ] {
            assert!(transient_state(&transient), "{transient:?}");
        }
        for permanent in [
            SqlState::INVALID_PASSWORD,
            SqlState::INVALID_CATALOG_NAME,
            SqlState::UNDEFINED_TABLE,
            SqlState::INSUFFICIENT_PRIVILEGE,
            SqlState::DATABASE_DROPPED,
        ] {
            assert!(!transient_state(&permanent), "{permanent:?}");
        }
    }
}
