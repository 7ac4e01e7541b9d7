//! [`RedisBackend`]: connecting, naming, and the [`Backend`] operations.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, RedisError};
use tierstore_core::{
    Backend, BoxError, Bytes, Capabilities, Error, Key, Namespace, Operation, Page, async_trait,
};

use crate::errors::is_transient;
use crate::keys::{KeySpace, namespace_member, parse_namespace_member, parse_token};
use crate::scripts::Lua;

/// How long one connection attempt may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request may wait for its answer. Generous, so that a 64 MiB value over a slow
/// link is not cut off; use the core timeout layer for tighter per-operation deadlines.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// Reconnection attempts per failed request (exponential backoff from 100 ms, at most
/// [`MAX_RECONNECT_DELAY`] apart): while the server is down, a request fails with a
/// transient error after about a second instead of hanging.
const RECONNECT_RETRIES: usize = 3;
const MAX_RECONNECT_DELAY: Duration = Duration::from_millis(500);
/// Connections [`RedisBackend::connect`] opens. Each is multiplexed (pipelined), but Redis
/// reads at most 16 KiB of one client's requests per event-loop turn and, with
/// `appendfsync always`, fsyncs once per turn: several connections let one fsync cover many
/// concurrent writes of a few KiB each.
pub const DEFAULT_CONNECTIONS: usize = 8;

/// A [`Backend`] on a Redis server (or anything speaking its protocol: Valkey, KeyDB,
/// Dragonfly), its keys under one prefix.
///
/// Built by [`connect`](Self::connect). Cloning is cheap: clones share a few multiplexed
/// connections ([`DEFAULT_CONNECTIONS`]), each of which reconnects by itself after the server
/// restarts or the network drops.
/// See the [crate documentation](crate) for the data model and durability.
#[derive(Clone)]
pub struct RedisBackend {
    inner: Arc<Inner>,
    durable: bool,
}

/// What clones share.
struct Inner {
    /// To make a connection anew (see [`RedisBackend::fail`]).
    client: Client,
    /// Used in turn, one request each (see [`DEFAULT_CONNECTIONS`]); each is replaced when it
    /// cannot recover by itself.
    conns: Vec<RwLock<ConnectionManager>>,
    next: AtomicUsize,
    /// `redis://host:port/db/prefix`, without credentials.
    name: String,
    keys: KeySpace,
    write: Lua,
    remove: Lua,
}

/// One request's connection: which slot it came from, to replace it if it failed.
struct Conn {
    slot: usize,
    manager: ConnectionManager,
}

impl RedisBackend {
    /// Connects to the server at `url` and keeps this node's keys under `prefix`.
    ///
    /// `url` is `redis://[[user]:password@]host[:port][/db]`, `rediss://...` for TLS (feature
    /// `tls`, on by default), or `redis+unix:///path/to/socket[?db=N]`; parameters the `redis`
    /// crate understands (e.g. `?protocol=resp3`) are passed on. `prefix` is non-empty, at
    /// most 128 bytes of `[A-Za-z0-9_.-]`: it separates nodes (or roles) sharing one server
    /// and appears in every key as a cluster hash tag.
    ///
    /// A server that cannot be reached does not fail the call: a node must be able to start
    /// during an outage of its backup. The backend is returned at once, its operations fail
    /// with transient errors until the server is back, and then the same object works (the
    /// connections are made on first use and remade after every failure).
    ///
    /// Fails with [`Error::Config`] for a bad URL or prefix, and with a permanent error if
    /// the server is reachable and refuses us (e.g. wrong password). Credentials never appear
    /// in errors, `Display` or `Debug`.
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisBackend, Error> {
        Self::connect_with(url, prefix, DEFAULT_CONNECTIONS).await
    }

    /// [`connect`](Self::connect) with `connections` connections (at least one) instead of
    /// [`DEFAULT_CONNECTIONS`]. Requests take them in turn; each connection pipelines the
    /// requests sent on it.
    pub async fn connect_with(
        url: &str,
        prefix: &str,
        connections: usize,
    ) -> Result<RedisBackend, Error> {
        let keys = KeySpace::new(prefix)?;
        let client = Client::open(url).map_err(|e| {
            Error::config(format!("redis: cannot use the URL {}: {e}", redact(url)))
        })?;
        let info = client.get_connection_info().clone();
        let name = display_name(&info, prefix);
        let password = info.redis_settings().password().map(str::to_owned);
        #[cfg(feature = "tls")]
        if matches!(info.addr(), ConnectionAddr::TcpTls { .. }) {
            crate::tls::ensure_crypto_provider();
        }
        let open_error = |e: RedisError| {
            let source = scrub(e, password.as_deref());
            Error::backend(&name, Operation::Open, &name, source)
        };
        // One attempt, to refuse what no retry can fix (credentials, a missing database)
        // now rather than at the first write; an unreachable server is only logged.
        let probe = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(CONNECTION_TIMEOUT));
        match client.get_multiplexed_async_connection_with_config(&probe).await {
            Ok(_) => {}
            Err(e) if is_transient(&e) => {
                let e = scrub(e, password.as_deref());
                tracing::info!(backend = %name, error = %e, "redis unreachable; connecting on first use");
            }
            Err(e) => return Err(open_error(e)),
        }
        let conns = (0..connections.max(1))
            .map(|_| lazy_manager(&client).map(RwLock::new))
            .collect::<Result<_, _>>()
            .map_err(open_error)?;
        let inner = Inner {
            client,
            conns,
            next: AtomicUsize::new(0),
            name,
            keys,
            write: Lua::write(),
            remove: Lua::remove(),
        };
        Ok(RedisBackend { inner: Arc::new(inner), durable: true })
    }

    /// Declares whether acknowledged writes survive a server crash, as reported by
    /// [`Backend::capabilities`]. `true` by default, which is right for a server with
    /// `appendonly yes` and `appendfsync always`; set `false` for a cache-only server
    /// (no AOF, or `appendfsync everysec`/`no`), e.g. one that holds only the ephemeral role.
    pub fn with_durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// Maps a Redis error met on connection `conn` to a transient or permanent [`Error`]
    /// naming this backend.
    ///
    /// The connection manager reconnects by itself after an I/O error only; a transient
    /// error of another kind met while connecting (the server answering `LOADING` to the
    /// handshake after a restart, say) would stay its answer for good. So after any other
    /// transient error the connection is replaced by a fresh lazy one, which connects on
    /// the next request; requests still running on the old one finish on it.
    fn fail(
        &self,
        conn: &Conn,
        op: Operation,
        target: impl fmt::Display,
        err: RedisError,
    ) -> Error {
        tracing::debug!(backend = %self, %op, %target, error = %err, "redis request failed");
        if !is_transient(&err) {
            return Error::backend(self, op, target, err);
        }
        if !err.is_io_error() {
            match lazy_manager(&self.inner.client) {
                Ok(fresh) => {
                    *self.inner.conns[conn.slot].write().unwrap_or_else(PoisonError::into_inner) =
                        fresh
                }
                Err(e) => tracing::warn!(backend = %self, error = %e, "cannot remake a connection"),
            }
        }
        Error::transient(self, op, target, err)
    }

    /// A handle on the next connection in turn (an `Arc` clone).
    fn conn(&self) -> Conn {
        let conns = &self.inner.conns;
        let slot = self.inner.next.fetch_add(1, Ordering::Relaxed) % conns.len();
        let manager = conns[slot].read().unwrap_or_else(PoisonError::into_inner).clone();
        Conn { slot, manager }
    }

    async fn page(&self, namespace: &Namespace, max: String, limit: usize) -> Result<Page, Error> {
        // One more than asked, to learn whether an older key remains.
        let count = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        let mut conn = self.conn();
        let entries: Vec<(String, f64)> = redis::cmd("ZREVRANGEBYSCORE")
            .arg(self.inner.keys.index(namespace))
            .arg(max)
            .arg("-inf")
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(count)
            .query_async(&mut conn.manager)
            .await
            .map_err(|e| self.fail(&conn, Operation::ListPage, namespace, e))?;
        let more = entries.len() > limit;
        let mut keys = Vec::with_capacity(entries.len().min(limit));
        let mut last = None;
        for (key, score) in entries.into_iter().take(limit) {
            keys.push(key);
            last = Some(score);
        }
        // Scores are sequences from INCR: integers, exact in an f64 up to 2^53.
        let next = last.filter(|_| more).map(|score| format!("{}", score as u64));
        Ok(Page::new(keys, next))
    }
}

/// A connection manager that connects on its first request, not now: creating one never
/// waits for the server.
fn lazy_manager(client: &Client) -> Result<ConnectionManager, RedisError> {
    ConnectionManager::new_lazy_with_config(client.clone(), manager_config())
}

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(RECONNECT_RETRIES)
        .set_max_delay(MAX_RECONNECT_DELAY)
}

/// `redis://host:port/db/prefix` (`rediss://` with TLS, `redis+unix://path/db/prefix` on a
/// socket): where the data is, without credentials.
fn display_name(info: &ConnectionInfo, prefix: &str) -> String {
    let db = info.redis_settings().db();
    match info.addr() {
        ConnectionAddr::Tcp(host, port) => format!("redis://{host}:{port}/{db}/{prefix}"),
        ConnectionAddr::TcpTls { host, port, .. } => {
            format!("rediss://{host}:{port}/{db}/{prefix}")
        }
        ConnectionAddr::Unix(path) => format!("redis+unix://{}/{db}/{prefix}", path.display()),
        other => format!("redis://{other}/{db}/{prefix}"),
    }
}

/// `url` with the password of its user info replaced by `***`, for error messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "(unparsable)".to_owned() };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            // Without a `:`, the one part may be a password: hide it whole.
            let shown = user_info
                .split_once(':')
                .map_or("***".to_owned(), |(user, _)| format!("{user}:***"));
            format!("{scheme}://{shown}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

/// The error as a boxed source, its text stripped of `password` should the library ever
/// include it.
fn scrub(err: RedisError, password: Option<&str>) -> BoxError {
    match password {
        Some(secret) if !secret.is_empty() && err.to_string().contains(secret) => {
            err.to_string().replace(secret, "***").into()
        }
        _ => err.into(),
    }
}

impl fmt::Display for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.name)
    }
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackend")
            .field("name", &self.inner.name)
            .field("connections", &self.inner.conns.len())
            .field("durable", &self.durable)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Backend for RedisBackend {
    fn capabilities(&self) -> Capabilities {
        // Creation order comes from a server-side counter: no resolution limit.
        Capabilities::default().with_durable(self.durable)
    }

    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        let mut conn = self.conn();
        let value: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.inner.keys.value(key))
            .query_async(&mut conn.manager)
            .await
            .map_err(|e| self.fail(&conn, Operation::Read, key, e))?;
        value.ok_or_else(|| Error::not_found(self, Operation::Read, key))
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        let keys = &self.inner.keys;
        let namespace = key.namespace();
        let (value_key, index, sequence, namespaces) =
            (keys.value(key), keys.index(namespace), keys.sequence(), keys.namespaces());
        let member = namespace_member(namespace);
        let mut conn = self.conn();
        self.inner
            .write
            .run::<i64, _>(
                &mut conn.manager,
                &[&value_key, &index, &sequence, &namespaces],
                &[&value, key.key().as_bytes(), member.as_bytes()],
            )
            .await
            .map_err(|e| self.fail(&conn, Operation::Write, key, e))?;
        Ok(())
    }

    /// Removes at once, `lazy` or not: it is one round trip either way.
    async fn remove(&self, key: &Key, _lazy: bool) -> Result<(), Error> {
        let keys = &self.inner.keys;
        let namespace = key.namespace();
        let (value_key, index, namespaces) =
            (keys.value(key), keys.index(namespace), keys.namespaces());
        let member = namespace_member(namespace);
        let mut conn = self.conn();
        self.inner
            .remove
            .run::<i64, _>(
                &mut conn.manager,
                &[&value_key, &index, &namespaces],
                &[key.key().as_bytes(), member.as_bytes()],
            )
            .await
            .map_err(|e| self.fail(&conn, Operation::Remove, key, e))?;
        Ok(())
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        let mut conn = self.conn();
        redis::cmd("ZRANGE")
            .arg(self.inner.keys.index(namespace))
            .arg(0)
            .arg(-1)
            .query_async(&mut conn.manager)
            .await
            .map_err(|e| self.fail(&conn, Operation::List, namespace, e))
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        // Newest first: scores below the token's, exclusive, so the token's own key (deleted
        // or not) is never repeated.
        let max = match token {
            None => "+inf".to_owned(),
            Some(token) => match parse_token(token) {
                Some(sequence) => format!("({sequence}"),
                None => {
                    return Err(Error::invalid_input(
                        Operation::ListPage,
                        format!("{self}: malformed page token `{token}` for {namespace}"),
                    ));
                }
            },
        };
        if limit == 0 {
            return Ok(Page::default());
        }
        self.page(namespace, max, limit).await
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        let op = Operation::ListAllKeys;
        let mut conn = self.conn();
        let members: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.inner.keys.namespaces())
            .query_async(&mut conn.manager)
            .await
            .map_err(|e| self.fail(&conn, op, "*", e))?;
        members
            .iter()
            .map(|member| {
                parse_namespace_member(member).ok_or_else(|| {
                    Error::backend(self, op, "*", format!("corrupt namespace entry {member:?}"))
                })
            })
            .collect()
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        let op = Operation::ListAllKeys;
        let mut conn = self.conn();
        let namespaces = self.list_namespaces().await?;
        if namespaces.is_empty() {
            // Redis refuses an empty pipeline.
            return Ok(Vec::new());
        }
        // Every namespace's index in one round trip.
        let mut pipe = redis::pipe();
        for namespace in &namespaces {
            pipe.cmd("ZRANGE").arg(self.inner.keys.index(namespace)).arg(0).arg(-1);
        }
        let listed: Vec<Vec<String>> =
            pipe.query_async(&mut conn.manager).await.map_err(|e| self.fail(&conn, op, "*", e))?;
        let mut all = Vec::new();
        for (namespace, keys) in namespaces.iter().zip(listed) {
            for key in keys {
                // Keys were validated on the way in; one that fails now is corruption.
                let key = namespace
                    .key(&key)
                    .map_err(|e| Error::backend(self, op, format!("{namespace}/{key}"), e))?;
                all.push(key);
            }
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_passwords_only() {
        assert_eq!(redact("redis://user:secret@host:6379/0"), "redis://user:***@host:6379/0");
        assert_eq!(redact("rediss://:secret@host/1?x=y"), "rediss://:***@host/1?x=y");
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
        assert_eq!(redact("redis://a:b@c@host"), "redis://a:***@host");
        assert_eq!(redact("redis://secret@host"), "redis://***@host");
        assert_eq!(redact("nonsense"), "(unparsable)");
    }

    #[test]
    fn names_show_address_database_and_prefix() {
        let info = |url: &str| Client::open(url).unwrap().get_connection_info().clone();
        assert_eq!(
            display_name(&info("redis://u:secret@127.0.0.1:7000/3"), "node"),
            "redis://127.0.0.1:7000/3/node"
        );
        assert_eq!(display_name(&info("redis://localhost"), "p"), "redis://localhost:6379/0/p");
    }

    #[test]
    fn scrubbed_errors_hide_the_password() {
        let err = RedisError::from((redis::ErrorKind::Client, "bad", "secret inside".to_owned()));
        assert!(!scrub(err.clone(), Some("secret")).to_string().contains("secret"));
        assert!(scrub(err, None).to_string().contains("secret"));
    }
}
