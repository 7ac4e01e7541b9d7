//! A TierStore [`Backend`](tierstore_core::Backend) on Redis (or Valkey, KeyDB, Dragonfly),
//! through the [`redis`] crate's tokio [`ConnectionManager`](redis::aio::ConnectionManager),
//! which reconnects by itself after the server restarts or the network drops.
//!
//! ```no_run
//! # async fn example() -> Result<(), tierstore_core::Error> {
//! use tierstore_core::{Backend, Key, MemoryBackend, TierStore};
//! use tierstore_redis::RedisBackend;
//!
//! // Password and database from the URL; this node's keys under the prefix `node1`.
//! let redis = RedisBackend::connect("redis://:password@127.0.0.1:6380/0", "node1").await?;
//! assert_eq!(redis.to_string(), "redis://127.0.0.1:6380/0/node1");
//!
//! let key = Key::new("monitors", "", "chan1").expect("valid key");
//! redis.write(&key, vec![1; 32].into()).await?;
//! assert_eq!(redis.read(&key).await?, vec![1; 32]);
//!
//! // Or in a role of a TierStore, e.g. as the backup of a local primary.
//! let store = TierStore::builder(MemoryBackend::named("primary")).backup(redis).build()?;
//! # drop(store);
//! # Ok(()) }
//! ```
//!
//! # Data model
//!
//! Every key of a backend starts with its prefix `P` as a cluster hash tag, `{P}:`, so that
//! several nodes (or roles) share one server without seeing each other's data, and so that
//! all keys a script touches live in one cluster slot:
//!
//! | Redis key | type | holds |
//! |---|---|---|
//! | `{P}:val:<primary>/<secondary>/<key>` | string | the value (an empty value is an empty string, which exists) |
//! | `{P}:idx:<primary>/<secondary>` | sorted set | the namespace's keys, scored by creation sequence |
//! | `{P}:seq` | string | the creation counter (`INCR`) |
//! | `{P}:namespaces` | set | `<primary>/<secondary>` of every namespace holding a key |
//!
//! LDK's namespaces and keys use only `[A-Za-z0-9_-]`, so `:` and `/` separate the parts
//! unambiguously. A write and a remove are each one Lua script (`EVALSHA`, one round trip),
//! which Redis runs atomically:
//!
//! - a write sets the value and, for a key new to its namespace, adds it to the index with
//!   the next sequence and the namespace to the namespaces set; an update keeps its score,
//!   that is, its position;
//! - a remove deletes the value and its index entry, and the namespace from the set when its
//!   index is left empty; a re-created key therefore gets a new sequence and moves to the
//!   front.
//!
//! [`list_page`](tierstore_core::Backend::list_page) reads the index newest first with
//! `ZREVRANGEBYSCORE ... LIMIT`, O(log n + page). Its token is the score of the page's last
//! key, resumed from exclusively, so it stays valid when that key is deleted.
//! [`list_all_keys`](tierstore_core::Backend::list_all_keys) reads the namespaces set and
//! then every index in one pipeline; it never uses `KEYS` or `SCAN` over the whole server.
//!
//! # Durability
//!
//! What survives a crash of the *server* is decided by its configuration, not by this
//! crate. For the primary and backup roles run Redis with `appendonly yes` and
//! `appendfsync always`: a write is acknowledged only after the append-only file is fsynced,
//! and a script's effects are logged as one `MULTI`/`EXEC` block, which Redis drops whole if
//! a crash cut it off (so no torn value and no value without its index entry). With
//! `appendfsync everysec` up to a second of acknowledged writes can be lost; with RDB
//! snapshots only, everything since the last snapshot.
//!
//! [`capabilities`](tierstore_core::Backend::capabilities) reports `durable: true`, since
//! the backend cannot check the server's settings (managed services often forbid `CONFIG
//! GET`); declare a cache-only server with
//! [`RedisBackend::with_durable(false)`](RedisBackend::with_durable).
//!
//! # Errors
//!
//! A refused or dropped connection, a timeout, and a server that is `LOADING`, `BUSY`, or
//! answers `TRYAGAIN`, `CLUSTERDOWN` or `MASTERDOWN` give
//! [`Error::Transient`](tierstore_core::Error::Transient), which the retry layer retries;
//! meanwhile the connection manager reconnects in the background, so the same backend object
//! works again once the server is back. That holds from the start: `connect` succeeds while
//! the server is down (a node can start during an outage of its backup) and the connections
//! are made on first use. Anything else (wrong password, missing permission, out of memory, a
//! read-only replica) is permanent; `connect` reports it at once if the server is reachable.
//!
//! # Features
//!
//! - `tls` (default): `rediss://` URLs, through rustls with the system's root certificates.

#![deny(missing_docs)]

mod backend;
mod errors;
mod keys;
mod scripts;
#[cfg(feature = "tls")]
mod tls;

pub use backend::{DEFAULT_CONNECTIONS, RedisBackend};
