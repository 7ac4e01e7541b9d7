//! Tiered, pluggable persistence for LDK nodes.
//!
//! A [`TierStore`] is one LDK store (it implements all six of LDK's persistence traits) that
//! routes each key to a role:
//!
//! - **primary** (required): the authoritative copy of everything durable — channel
//!   monitors, the channel manager, payments, events;
//! - **backup** (optional): a second durable copy, written in the same success path as the
//!   primary;
//! - **ephemeral** (optional): rebuildable caches — the network graph and the scorer.
//!
//! Each role is filled by a [`Backend`]: this crate provides [`MemoryBackend`] and
//! [`LdkBackend`] (any existing LDK store); SQLite, filesystem, Redis and object storage live
//! in their own crates, and anyone can implement the trait.
//!
//! ```
//! use lightning::util::persist::KVStoreSync;
//! use tierstore_core::{MemoryBackend, TierStore};
//!
//! let store = TierStore::builder(MemoryBackend::named("primary"))
//!     .backup(MemoryBackend::named("backup"))
//!     .ephemeral(MemoryBackend::named("cache"))
//!     .build()?;
//!
//! // Durable: written to primary and backup together.
//! KVStoreSync::write(&store, "monitors", "", "chan1", vec![1; 32])?;
//! // Ephemeral: LDK's network graph goes to the cache only.
//! KVStoreSync::write(&store, "", "", "network_graph", vec![2; 4096])?;
//!
//! assert_eq!(store.backup().unwrap().to_string(), "backup");
//! assert!(store.divergences().is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Crate map: [`key`] validation, the [`Backend`] trait, [`routing`] rules, per-key
//! ordering, the pagination overlay inside [`TierStore`], [`layers`] (retry, timeout,
//! tracing, metrics), [`repair`] tools, and recovery across crashes: the journal, the
//! [`sync_record`] of each tier, [`recovery`] when a store opens, and the [`BackupPolicy`]
//! with its background repairer.
//!
//! With the `lightning-0-2` feature, `lightning_0_2` adds lightning 0.2's traits to
//! [`TierStore`] and [`LdkStore`] and lets lightning 0.2 stores fill any role (ldk-node 0.7).

#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

mod adapter;
mod backend;
mod backlog;
mod error;
mod journal;
pub mod key;
pub mod layers;
mod ldk;
mod ldk_store;
#[cfg(feature = "lightning-0-2")]
pub mod lightning_0_2;
mod memory;
mod ordering;
pub mod recovery;
pub mod repair;
pub mod routing;
mod sync;
pub mod sync_record;
mod tier_store;

pub use adapter::{AdaptedStore, LdkBackend, Lightning03};
pub use backend::{Backend, Capabilities, IntoBackend, Page, PageOrder, write_each};
pub use backlog::{BackupPolicy, DEFAULT_MAX_BACKLOG};
pub use error::{BoxError, Error, Operation, Tier, is_transient_io_kind};
pub use journal::JournalStats;
pub use key::{Key, KeyError, Namespace};
pub use ldk_store::LdkStore;
pub use memory::MemoryBackend;
pub use routing::{Routing, RoutingRule};
pub use tier_store::{DEFAULT_PAGE_SIZE, Divergence, ProgressFn, TierStore, TierStoreBuilder};

/// Re-exported so backends and tests name the same `bytes` and `async_trait` versions.
pub use async_trait::async_trait;
pub use bytes::Bytes;
