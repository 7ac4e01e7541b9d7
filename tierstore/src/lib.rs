//! TierStore: tiered, pluggable persistence for LDK nodes.
//!
//! This is the crate to depend on. It re-exports [`tierstore_core`] (the [`TierStore`], the
//! [`Backend`] trait, layers, routing) and each backend enabled by a cargo feature:
//!
//! | feature | module | backend |
//! |---|---|---|
//! | `sqlite` (default) | [`sqlite`] | SQLite, schema-compatible with ldk-node |
//! | `fs` (default) | [`fs`] | filesystem, compatible with lightning-persister's `FilesystemStoreV2` |
//! | `redis` | `redis` | Redis |
//! | `s3` (`aws-sdk`) | `s3` | object storage over `object_store` (or the AWS SDK) |
//! | `postgres` | `postgres` | PostgreSQL, table-compatible with ldk-node |
//! | `lightning-0-2` | `lightning_0_2` | lightning 0.2's traits, lightning 0.2 stores as tiers (ldk-node 0.7) |
//!
//! Backends are chosen in code, by URL with [`open`], or in a TOML [`Config`].
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tierstore::{sqlite::SqliteBackend, fs::FsBackend, TierStore};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = TierStore::builder(SqliteBackend::open(dir.path().join("primary.db")).await?)
//!     .backup(SqliteBackend::open(dir.path().join("backup.db")).await?)
//!     .ephemeral(FsBackend::open(dir.path().join("cache")).await?)
//!     .build()?;
//! # Ok::<(), tierstore::Error>(()) }).unwrap();
//! ```

#![deny(missing_docs)]

mod config;
mod open;
#[cfg(feature = "postgres")]
mod postgres_url;
#[cfg(feature = "s3")]
mod s3_url;

pub use config::{
    Config, EncryptionSection, JournalSetting, RetrySection, RoutingConfig, TimeoutSection,
    default_journal_path,
};
pub use open::{OpenOptions, local_path, open, open_with};
pub use tierstore_core::*;

/// The SQLite backend (feature `sqlite`).
#[cfg(feature = "sqlite")]
pub mod sqlite {
    pub use tierstore_sqlite::*;
}

/// The filesystem backend (feature `fs`).
#[cfg(feature = "fs")]
pub mod fs {
    pub use tierstore_fs::*;
}

/// The Redis backend (feature `redis`).
#[cfg(feature = "redis")]
pub mod redis {
    pub use tierstore_redis::*;
}

/// The object-storage backend (feature `s3`).
#[cfg(feature = "s3")]
pub mod s3 {
    pub use tierstore_s3::*;
}

/// The encryption layer: `Encrypted`, keys, rotation (feature `encryption`).
#[cfg(feature = "encryption")]
pub mod encrypt {
    pub use tierstore_encrypt::*;
}

/// The PostgreSQL backend (feature `postgres`).
#[cfg(feature = "postgres")]
pub mod postgres {
    pub use tierstore_postgres::*;
}

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "sqlite", feature = "fs"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
