//! A TierStore [`Backend`](tierstore_core::Backend) on PostgreSQL, table-compatible with
//! ldk-node's `PostgresStore`: an operator who already runs that database puts a TierStore in
//! front of it (as primary, or as the off-host backup of a local SQLite primary) without
//! migrating a byte.
//!
//! ```no_run
//! # async fn example() -> Result<(), tierstore_core::Error> {
//! use tierstore_core::{Backend, Key, TierStore};
//! use tierstore_postgres::{LDK_NODE_TABLE, PostgresBackend};
//!
//! // The password comes from PGPASSWORD or ~/.pgpass (or the string, as libpq allows).
//! let pg = PostgresBackend::connect("postgres://node@db.internal/lightning", LDK_NODE_TABLE)
//!     .await?;
//! assert_eq!(pg.to_string(), "postgres://node@db.internal:5432/lightning/ldk_data");
//!
//! let key = Key::new("monitors", "", "chan1").expect("valid key");
//! pg.write(&key, vec![1; 32].into()).await?;
//! assert_eq!(pg.read(&key).await?, vec![1; 32]);
//!
//! let store = TierStore::builder(pg).build()?;
//! # drop(store);
//! # Ok(()) }
//! ```
//!
//! # Data model
//!
//! One table (default [`LDK_NODE_TABLE`], `ldk_data`), laid out exactly as ldk-node's
//! `PostgresStore` (schema version 1, kept in the table's comment): columns
//! `primary_namespace`, `secondary_namespace`, `key` (the primary key), `value BYTEA` and
//! `sort_order BIGINT`, and the index `idx_<table>_paginated` on `(primary_namespace,
//! secondary_namespace, sort_order DESC, key ASC)`. The table name is validated and quoted.
//!
//! **Creation order comes from the database.** `sort_order`'s default is the next value of a
//! sequence (ldk-node's `BIGSERIAL`): a new key takes it, an update keeps its key's value, a
//! removed and re-created key takes a new one and moves to the front. Two processes, or a
//! restarted one, draw from the same sequence, so they neither reorder nor collide; no
//! counter lives in this process. A table an early ldk-node created with a counter of its own
//! (`DEFAULT 0`) is given such a sequence when it is first opened (see `schema.rs`).
//!
//! Pages are read newest first through the index, O(page): `ORDER BY sort_order DESC, key ASC
//! LIMIT n+1`, resumed after the position `sort_order:key` of the last key (the token), so a
//! page stays correct after that key is deleted. A table written by ldk-node opens as it is
//! and keeps its order; a table written here is read by ldk-node's SQL in the same order; a
//! newer schema version is refused with an error saying so.
//!
//! # Durability
//!
//! Each write and remove is one autocommitted statement (`INSERT ... ON CONFLICT DO UPDATE`,
//! `DELETE`): atomic, and acknowledged once PostgreSQL has committed it, which with its
//! defaults (`fsync=on`, `synchronous_commit=on`) means its WAL record is flushed. Preparing
//! the table reads both settings for this session; if either is off, a warning is logged and
//! [`capabilities`](tierstore_core::Backend::capabilities) reports `durable: false`.
//!
//! # Concurrency
//!
//! Operations take connections from a pool ([deadpool-postgres](deadpool_postgres), up to
//! [`DEFAULT_POOL_SIZE`] by default, opened on demand): there is no client mutex, and
//! concurrent writes on separate connections commit together, sharing PostgreSQL's WAL
//! flushes (its group commit). Statements are prepared once per connection (deadpool's
//! statement cache). deadpool-postgres was chosen over bb8 because it is built for
//! tokio-postgres — its recycling checks `is_closed` without a round trip and it caches
//! prepared statements per connection, which bb8-postgres leaves to the caller — and because
//! building a pool opens no connection, so a backend can be created while the server is down.
//!
//! # Faults
//!
//! A refused, dropped or timed-out connection, a server starting up or shutting down, too
//! many connections, serialization failures and deadlocks are
//! [`Error::Transient`](tierstore_core::Error::Transient); the pool discards dead
//! connections and opens new ones, so the same backend works again once the server is back.
//! [`connect`](PostgresBackend::connect) itself succeeds while the server is unreachable (a
//! node must start during an outage): the table is then created or checked by the first
//! operation that reaches the server. Authentication, permission and certificate failures,
//! and a table that must not be used, are permanent.
//!
//! Passwords never appear in `Display`, `Debug`, errors or logs: the backend's name is
//! `postgres://user@host:port/db/table`.
//!
//! # TLS
//!
//! libpq's `sslmode` (`disable`, `allow`, `prefer` — the default —, `require`, `verify-ca`,
//! `verify-full`) and `sslrootcert` (a PEM file, or `system`), in the connection string or
//! through [`PostgresBuilder`], on rustls with the *ring* provider; see [`SslMode`].
//!
//! | `sslmode` | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow`, `prefer` | if the server offers it | only against root certificates given explicitly (as libpq with a root file) |
//! | `require` | always | as `prefer` |
//! | `verify-ca` | always | chains to a trusted root (given, else the system's) |
//! | `verify-full` | always | chains to a trusted root and names the host |
//!
//! # Features
//!
//! - `tls` (default): rustls. Without it only `sslmode=disable` connects.

#![deny(missing_docs)]

mod backend;
mod builder;
mod conninfo;
mod errors;
mod password;
mod schema;
mod tls;

pub use backend::PostgresBackend;
pub use builder::{DEFAULT_POOL_SIZE, PostgresBuilder};
pub use schema::LDK_NODE_TABLE;
pub use tls::SslMode;
