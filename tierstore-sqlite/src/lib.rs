//! A TierStore [`Backend`](tierstore_core::Backend) on SQLite: durable, fast under
//! concurrency, and schema-compatible with ldk-node's `SqliteStore`.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tierstore_core::{Backend, Key};
//! use tierstore_sqlite::SqliteBackend;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = SqliteBackend::open(dir.path().join("node.sqlite")).await?;
//! let key = Key::new("monitors", "", "chan1")?;
//! store.write(&key, b"monitor".to_vec().into()).await?;
//! assert_eq!(store.read(&key).await?, b"monitor");
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
//!
//! # Data model
//!
//! One table (default `ldk_data`), exactly ldk-node's `SqliteStore` schema version 3:
//! `(primary_namespace, secondary_namespace, key)` is the primary key, `value` a BLOB, and
//! `sort_order` the creation position: a new key gets its namespace's highest `sort_order`
//! plus one, an update keeps it. The index `idx_<table>_paginated` on
//! `(primary_namespace, secondary_namespace, sort_order DESC, key ASC)` serves pages
//! newest-created first at O(page) cost; a page token is the position `sort_order:key` of the
//! page's last key, so it resumes correctly after that key is deleted. `PRAGMA user_version`
//! is 3. A database written by ldk-node (file `ldk_node_data.sqlite`, table `ldk_node_data`:
//! [`SqliteOptions::table_name`]) opens as it is, version-2 databases are migrated, and a
//! newer version is refused with an error rather than misread.
//!
//! # Durability
//!
//! By default the database is in WAL mode with `synchronous=FULL`: a write is acknowledged
//! after its transaction is fsynced. [`Synchronous::Normal`] and [`Synchronous::Off`] trade
//! that away explicitly (see their docs). New database files are created with mode 0600.
//!
//! # Concurrency
//!
//! One dedicated thread owns the only writing connection and **group-commits**: writes that
//! arrive while a transaction commits are applied together in the next one, with one fsync
//! for the whole group, and each caller is answered after that commit. Reads run on tokio's
//! blocking threads, each on its own read connection, and never wait behind a write's fsync.
//! No call blocks an async worker thread.

#![deny(missing_docs)]

mod backend;
mod options;
mod readers;
mod schema;
mod writer;

pub use backend::SqliteBackend;
pub use options::{JournalMode, SqliteOptions, Synchronous};
