//! `postgres://USER@HOST[:PORT]/DB[?table=T&sslmode=M&sslrootcert=PATH&passfile=PATH&pool_size=N]`
//! URLs (`postgresql://` alike).
//!
//! The password is never part of the URL, so a URL can be logged and put in a config file
//! safely: it comes from `PGPASSWORD` or a password file (`passfile=`, else `PGPASSFILE`,
//! else `~/.pgpass`), as libpq finds it. `table` (default ldk-node's `ldk_data`) and
//! `pool_size` are TierStore's; every other parameter (`sslmode`, `sslrootcert`, `passfile`,
//! `connect_timeout`, `application_name`, ...) is a libpq parameter passed on.

use std::sync::Arc;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tierstore_core::{Backend, Error};
use tierstore_postgres::{LDK_NODE_TABLE, PostgresBackend};

use crate::open::redact;

/// What a `postgres://` URL says, split into TierStore's settings and libpq's connection URL.
#[derive(Debug, PartialEq, Eq)]
struct PostgresUrl {
    /// The URL for libpq / tokio-postgres, without TierStore's parameters.
    connection: String,
    table: String,
    pool_size: Option<usize>,
}

fn parse(url: &str) -> Result<PostgresUrl, Error> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let authority = base.split_once("://").map_or("", |(_, rest)| rest);
    let authority = &authority[..authority.find('/').unwrap_or(authority.len())];
    if authority.rsplit_once('@').is_some_and(|(user_info, _)| user_info.contains(':')) {
        return Err(Error::config(format!(
            "{}: a password does not belong in the URL; set PGPASSWORD or use a password file \
             (passfile=PATH, PGPASSFILE or ~/.pgpass)",
            redact(url)
        )));
    }
    let mut table = LDK_NODE_TABLE.to_owned();
    let mut pool_size = None;
    let mut passed_on = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "table" => table = value.into_owned(),
            "pool_size" => {
                let size = value.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Error::config(format!("{url}: pool_size={value} (expected a positive number)"))
                })?;
                pool_size = Some(size);
            }
            _ => passed_on.push(format!(
                "{}={}",
                utf8_percent_encode(&key, NON_ALPHANUMERIC),
                utf8_percent_encode(&value, NON_ALPHANUMERIC)
            )),
        }
    }
    let connection = if passed_on.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", passed_on.join("&"))
    };
    Ok(PostgresUrl { connection, table, pool_size })
}

/// Opens the PostgreSQL backend a `postgres://` URL names.
pub(crate) async fn open(url: &str) -> Result<Arc<dyn Backend>, Error> {
    let parsed = parse(url)?;
    let mut builder = PostgresBackend::builder(&parsed.connection).table(parsed.table);
    if let Some(size) = parsed.pool_size {
        builder = builder.pool_size(size);
    }
    Ok(Arc::new(builder.connect().await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tierstore_parameters_are_taken_and_libpq_ones_passed_on() {
        let parsed = parse(
            "postgres://node@db:5433/ln?table=node.kv&sslmode=verify-full&pool_size=4\
             &sslrootcert=%2Fetc%2Fca%20file.pem",
        )
        .unwrap();
        assert_eq!(parsed.table, "node.kv");
        assert_eq!(parsed.pool_size, Some(4));
        assert_eq!(
            parsed.connection,
            "postgres://node@db:5433/ln?sslmode=verify%2Dfull&sslrootcert=%2Fetc%2Fca%20file%2Epem"
        );
        let parsed = parse("postgresql://node@db/ln").unwrap();
        assert_eq!((parsed.table.as_str(), parsed.pool_size), ("ldk_data", None));
        assert_eq!(parsed.connection, "postgresql://node@db/ln");
    }

    #[test]
    fn passwords_and_bad_pool_sizes_are_refused() {
        let err = parse("postgres://node:hunter2@db/ln").unwrap_err().to_string();
        assert!(err.contains("PGPASSWORD") && !err.contains("hunter2"), "{err}");
        let err = parse("postgres://node@db/ln?pool_size=0").unwrap_err().to_string();
        assert!(err.contains("pool_size=0"), "{err}");
    }

    #[tokio::test]
    async fn a_config_file_opens_postgres_while_the_server_is_down() {
        // Nothing listens on port 1: the backend is still built (a node starts during an
        // outage), and its first write fails with a transient error.
        let config = crate::Config::from_toml(
            "primary = \"postgres://node@127.0.0.1:1/ln?table=kv&connect_timeout=2\"",
        )
        .unwrap();
        let store = config.build().await.expect("builds during an outage");
        assert_eq!(store.primary().to_string(), "postgres://node@127.0.0.1:1/ln/kv");
        let key = tierstore_core::Key::new("monitors", "", "m").unwrap();
        let err = store.primary().write(&key, b"x".to_vec().into()).await.unwrap_err();
        assert!(err.is_transient(), "{err}");
    }
}
