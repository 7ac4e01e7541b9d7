//! lightning 0.2 (ldk-node 0.7) on both sides of TierStore, behind the `lightning-0-2` feature.
//!
//! ldk-node 0.7's `Builder::build_with_store` takes any store implementing lightning 0.2's
//! `KVStore + KVStoreSync`. This module lets TierStore be that store, and lets ldk-node's own
//! stores fill its roles:
//!
//! - **Traits.** [`TierStore`](crate::TierStore) and [`LdkStore`](crate::LdkStore) implement
//!   lightning 0.2's `KVStore`, `KVStoreSync` and `MigratableKVStore` through the same
//!   operations as the 0.3 traits (the default path, unchanged): keys validated before any
//!   backend is touched, mutations ordered by call time, ephemeral routing, the merged list of
//!   the root namespace. lightning 0.2 has no paginated traits, and its `MigratableKVStore` is
//!   synchronous.
//! - **Stores as tiers.** [`LdkBackend::from_0_2`](crate::LdkBackend::from_0_2) adapts any
//!   lightning 0.2 `KVStore` (ldk-node 0.7's `SqliteStore`, lightning-persister 0.2's
//!   `FilesystemStore`) into a [`Backend`](crate::Backend): the same adapter as for 0.3
//!   stores, marked [`Lightning02`].
//!
//! # Pages of a lightning 0.2 store
//!
//! lightning 0.2 stores cannot list a page and keep no creation order. The adapter emulates
//! pages: each page lists the whole namespace, sorts it, and returns the `limit` keys after
//! the token (the last key returned, so it resumes correctly even if that key was deleted).
//! Pages are therefore in **ascending key order**, not newest-created first
//! ([`PageOrder::KeyAscending`](crate::PageOrder::KeyAscending)), and each page costs
//! O(n log n) for a namespace of n keys: walking a namespace of n keys in pages of p costs
//! O(n²/p · log n). LDK and ldk-node 0.7 never paginate (lightning 0.2 has no pagination), so
//! this cost is paid only by TierStore's own 0.3 `list_paginated` and by repair tools walking
//! such a store.
//!
//! # `list_all_keys`
//!
//! [`LdkBackend::with_list_all_keys`](crate::LdkBackend::with_list_all_keys) uses the store's
//! lightning 0.2 `MigratableKVStore` (lightning-persister 0.2's `FilesystemStore` has it) on
//! tokio's blocking pool, since that trait is synchronous. ldk-node 0.7.1's `SqliteStore` and
//! `VssStore` do not implement it: give the adapter a function that lists the keys with
//! [`with_list_all_keys_from`](crate::LdkBackend::with_list_all_keys_from).
//!
//! The adapter needs a tokio runtime (the sync traits provide one): lightning 0.2 stores call
//! `tokio::task::spawn_blocking` themselves.

mod adapter;
mod traits;

pub use adapter::Lightning02;

/// The lightning 0.2 crate this module speaks (renamed `lightning_0_2` in this crate's
/// manifest), so callers can name its traits without a second rename.
pub use lightning_0_2 as lightning;
