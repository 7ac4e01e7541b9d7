//! [`PostgresBackend`]: the table's readiness, naming, and the [`Backend`] operations.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use deadpool_postgres::{Object, Pool, PoolError};
use tierstore_core::{
    Backend, BoxError, Bytes, Capabilities, Error, Key, Namespace, Operation, Page, async_trait,
};
use tokio::sync::OnceCell;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

use crate::builder::PostgresBuilder;
use crate::errors::{is_transient, pool_is_transient};
use crate::schema::{self, SchemaError, Statements, Table};

/// A [`Backend`] in one PostgreSQL table, table-compatible with ldk-node's `PostgresStore`,
/// on a pool of connections. See the [crate documentation](crate) for the data model, the
/// creation order, durability and faults.
///
/// Built by [`connect`](Self::connect) or [`builder`](Self::builder). Cloning is cheap: clones
/// share the pool. `Display` and `Debug` show `postgres://user@host:port/db/table`, never a
/// password.
#[derive(Clone)]
pub struct PostgresBackend {
    inner: Arc<Inner>,
}

struct Inner {
    /// `postgres://user@host:port/db/table`.
    name: String,
    pool: Pool,
    table: Table,
    statements: Statements,
    /// Set once the table is known to be usable (created, or checked and adopted).
    ready: OnceCell<()>,
    /// `fsync` and `synchronous_commit` were found on (assumed until the table is checked).
    durable: AtomicBool,
    /// Scrubbed from error messages, should a library ever include it.
    password: Option<String>,
}

impl PostgresBackend {
    /// Connects to the database `conn_str` names and keeps the data in `table` (ldk-node's is
    /// [`LDK_NODE_TABLE`](crate::LDK_NODE_TABLE)), with the default pool and TLS settings.
    ///
    /// `conn_str` is a libpq connection string, `key=value ...` or
    /// `postgres://user[:password]@host[:port]/dbname?param=value...`; `sslmode`,
    /// `sslrootcert` and `passfile` are understood as libpq does. Without a password in it,
    /// the password comes from `PGPASSWORD`, else the password file. See
    /// [`PostgresBuilder::connect`] for what fails and what is deferred while the server is
    /// unreachable.
    pub async fn connect(conn_str: &str, table: &str) -> Result<PostgresBackend, Error> {
        Self::builder(conn_str).table(table).connect().await
    }

    /// Options for connecting: table, pool size, TLS, password. See [`PostgresBuilder`].
    pub fn builder(conn_str: &str) -> PostgresBuilder {
        PostgresBuilder::new(conn_str)
    }

    /// The table's name, as given.
    pub fn table(&self) -> &str {
        &self.inner.table.name
    }

    pub(crate) async fn open(
        pool: Pool,
        name: String,
        table: Table,
        password: Option<String>,
    ) -> Result<PostgresBackend, Error> {
        let inner = Inner {
            name,
            pool,
            statements: Statements::new(&table),
            table,
            ready: OnceCell::new(),
            durable: AtomicBool::new(true),
            password,
        };
        let backend = PostgresBackend { inner: Arc::new(inner) };
        match backend.ready(Operation::Open, &backend.inner.table.name).await {
            Ok(()) => Ok(backend),
            Err(e) if e.is_transient() => {
                tracing::warn!(
                    backend = %backend, error = %e,
                    "PostgreSQL unreachable; the table will be checked by the first operation"
                );
                Ok(backend)
            }
            Err(Error::Backend { source, .. }) if source.is::<Refusal>() => {
                Err(Error::config(format!("{backend}: {source}")))
            }
            Err(e) => Err(e),
        }
    }

    /// Creates or checks the table once; until that succeeds, every operation tries again.
    async fn ready(&self, op: Operation, target: &str) -> Result<(), Error> {
        self.inner
            .ready
            .get_or_try_init(|| async {
                let mut client =
                    self.inner.pool.get().await.map_err(|e| self.pool_fail(op, target, e))?;
                let prepared = async {
                    let tx = client.build_transaction().start().await?;
                    let facts = schema::prepare(&tx, &self.inner.table).await?;
                    tx.commit().await?;
                    Ok::<_, SchemaError>(facts)
                };
                match prepared.await {
                    Ok(facts) => {
                        self.inner.durable.store(facts.durable, Ordering::Relaxed);
                        Ok(())
                    }
                    Err(SchemaError::Postgres(e)) => Err(self.fail(op, target, e)),
                    Err(SchemaError::Refused(reason)) => {
                        Err(Error::backend(self, op, target, Refusal(reason)))
                    }
                }
            })
            .await
            .map(|_| ())
    }

    /// A connection, once the table is ready.
    async fn client(&self, op: Operation, target: &str) -> Result<Object, Error> {
        self.ready(op, target).await?;
        self.inner.pool.get().await.map_err(|e| self.pool_fail(op, target, e))
    }

    /// Runs `sql` (prepared once per connection) with `params`, returning its rows.
    async fn query(
        &self,
        op: Operation,
        target: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        let (client, statement) = self.prepared(op, target, sql).await?;
        client.query(&statement, params).await.map_err(|e| self.fail(op, target, e))
    }

    /// Runs `sql` (prepared once per connection) with `params`, returning the rows affected.
    async fn execute(
        &self,
        op: Operation,
        target: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Error> {
        let (client, statement) = self.prepared(op, target, sql).await?;
        client.execute(&statement, params).await.map_err(|e| self.fail(op, target, e))
    }

    /// A connection and `sql` prepared on it (once per connection: deadpool's cache).
    async fn prepared(
        &self,
        op: Operation,
        target: &str,
        sql: &str,
    ) -> Result<(Object, Statement), Error> {
        let client = self.client(op, target).await?;
        let statement = client.prepare_cached(sql).await.map_err(|e| self.fail(op, target, e))?;
        Ok((client, statement))
    }

    /// Maps a PostgreSQL error to a transient or permanent [`Error`] naming this backend.
    fn fail(&self, op: Operation, target: &str, err: tokio_postgres::Error) -> Error {
        tracing::debug!(backend = %self, %op, %target, error = %err, "postgres request failed");
        let transient = is_transient(&err);
        let source = self.scrub(err);
        if transient {
            Error::transient(self, op, target, source)
        } else {
            Error::backend(self, op, target, source)
        }
    }

    fn pool_fail(&self, op: Operation, target: &str, err: PoolError) -> Error {
        match err {
            PoolError::Backend(e) => self.fail(op, target, e),
            other if pool_is_transient(&other) => {
                Error::transient(self, op, target, other.to_string())
            }
            other => Error::backend(self, op, target, other.to_string()),
        }
    }

    /// The error as a boxed source whose message shows its causes (tokio-postgres shows the
    /// server's message only there), stripped of the password should it ever appear.
    fn scrub(&self, err: tokio_postgres::Error) -> BoxError {
        let mut text = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(inner) = cause {
            text.push_str(&format!(": {inner}"));
            cause = inner.source();
        }
        if let Some(secret) = self.inner.password.as_deref().filter(|s| !s.is_empty()) {
            text = text.replace(secret, "***");
        }
        Box::new(Described { text, err })
    }

    /// The row of a page, checked: a key outside LDK's alphabet means the table was changed
    /// by something else.
    fn corrupt(&self, op: Operation, target: &str, what: impl fmt::Display) -> Error {
        Error::backend(self, op, target, format!("corrupt row: {what}"))
    }
}

/// A PostgreSQL error with its causes in its message; the original stays the source.
#[derive(Debug)]
struct Described {
    text: String,
    err: tokio_postgres::Error,
}

impl fmt::Display for Described {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Described {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.err)
    }
}

/// A table this crate must not use (newer schema version, another shape).
#[derive(Debug)]
struct Refusal(String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// A page token: the position `sort_order:key` of the page's last key. Positions stay valid
/// after that key is deleted.
fn format_token(sort_order: i64, key: &str) -> String {
    format!("{sort_order}:{key}")
}

fn parse_token(namespace: &Namespace, token: &str) -> Option<(i64, String)> {
    let (sort_order, key) = token.split_once(':')?;
    let sort_order = sort_order.parse::<i64>().ok().filter(|s| *s >= 0)?;
    namespace.key(key).ok()?;
    Some((sort_order, key.to_owned()))
}

impl fmt::Display for PostgresBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.name)
    }
}

impl fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.inner.pool.status();
        f.debug_struct("PostgresBackend")
            .field("name", &self.inner.name)
            .field("pool_size", &status.max_size)
            .field("connections", &status.size)
            .field("ready", &self.inner.ready.initialized())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    fn capabilities(&self) -> Capabilities {
        // Creation order comes from a database sequence: no resolution limit.
        Capabilities::default().with_durable(self.inner.durable.load(Ordering::Relaxed))
    }

    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        let op = Operation::Read;
        let target = key.to_string();
        let ns = key.namespace();
        let rows = self
            .query(
                op,
                &target,
                &self.inner.statements.read,
                &[&ns.primary(), &ns.secondary(), &key.key()],
            )
            .await?;
        let row = rows.first().ok_or_else(|| Error::not_found(self, op, key))?;
        // ldk-node's column is nullable; a NULL value reads as empty.
        let value: Option<Vec<u8>> = row.try_get(0).map_err(|e| self.fail(op, &target, e))?;
        Ok(value.unwrap_or_default())
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        let ns = key.namespace();
        let value: &[u8] = &value;
        self.execute(
            Operation::Write,
            &key.to_string(),
            &self.inner.statements.write,
            &[&ns.primary(), &ns.secondary(), &key.key(), &value],
        )
        .await?;
        Ok(())
    }

    /// Removes at once, `lazy` or not: it is one statement either way.
    async fn remove(&self, key: &Key, _lazy: bool) -> Result<(), Error> {
        let ns = key.namespace();
        self.execute(
            Operation::Remove,
            &key.to_string(),
            &self.inner.statements.remove,
            &[&ns.primary(), &ns.secondary(), &key.key()],
        )
        .await?;
        Ok(())
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        let op = Operation::List;
        let target = namespace.to_string();
        let rows = self
            .query(
                op,
                &target,
                &self.inner.statements.list,
                &[&namespace.primary(), &namespace.secondary()],
            )
            .await?;
        rows.iter().map(|row| row.try_get(0).map_err(|e| self.fail(op, &target, e))).collect()
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        let op = Operation::ListPage;
        let target = namespace.to_string();
        let after = match token {
            None => None,
            Some(token) => Some(parse_token(namespace, token).ok_or_else(|| {
                Error::invalid_input(
                    op,
                    format!("{self}: malformed page token `{token}` for {namespace}"),
                )
            })?),
        };
        if limit == 0 {
            return Ok(Page::default());
        }
        // One more than asked, to learn whether an older key remains.
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        let (p, s) = (namespace.primary(), namespace.secondary());
        let statements = &self.inner.statements;
        let rows = match &after {
            None => self.query(op, &target, &statements.first_page, &[&p, &s, &fetch]).await?,
            Some((sort_order, key)) => {
                self.query(op, &target, &statements.next_page, &[&p, &s, sort_order, key, &fetch])
                    .await?
            }
        };
        let more = rows.len() > limit;
        let mut keys = Vec::with_capacity(rows.len().min(limit));
        let mut last = None;
        for row in rows.iter().take(limit) {
            let key: String = row.try_get(0).map_err(|e| self.fail(op, &target, e))?;
            let sort_order: i64 = row.try_get(1).map_err(|e| self.fail(op, &target, e))?;
            last = Some(format_token(sort_order, &key));
            keys.push(key);
        }
        Ok(Page::new(keys, last.filter(|_| more)))
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        let op = Operation::ListAllKeys;
        let rows = self.query(op, "*", &self.inner.statements.list_all, &[]).await?;
        rows.iter()
            .map(|row| {
                let (p, s, k): (String, String, String) = (
                    row.try_get(0).map_err(|e| self.fail(op, "*", e))?,
                    row.try_get(1).map_err(|e| self.fail(op, "*", e))?,
                    row.try_get(2).map_err(|e| self.fail(op, "*", e))?,
                );
                Key::new(&p, &s, &k).map_err(|e| self.corrupt(op, &format!("{p}/{s}/{k}"), e))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_garbage() {
        let ns = Namespace::new("monitors", "").unwrap();
        let token = format_token(42, "chan_1");
        assert_eq!(parse_token(&ns, &token), Some((42, "chan_1".to_owned())));
        for bad in
            ["", "42", ":chan", "x:chan", "-1:chan", "42:", "42:bad key", "99999999999999999999:k"]
        {
            assert_eq!(parse_token(&ns, bad), None, "{bad:?}");
        }
    }
}
