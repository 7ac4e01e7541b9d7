//! A TierStore [`Backend`](tierstore_core::Backend) on the local filesystem, on-disk
//! compatible with lightning-persister's [`FilesystemStoreV2`] in both directions.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tierstore_core::{Backend, Key};
//! use tierstore_fs::FsBackend;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = FsBackend::open(dir.path().join("ephemeral")).await?;
//! let key = Key::new("", "", "network_graph")?;
//! store.write(&key, vec![0; 1024].into()).await?;
//! assert_eq!(store.read(&key).await?.len(), 1024);
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```
//!
//! # Why it wraps lightning-persister
//!
//! The on-disk format *is* `FilesystemStoreV2`'s: `<dir>/<primary>/<secondary>/<key>` with
//! `[empty]` for empty namespaces, creation order kept in each file's modification time, page
//! tokens `<mtime ms>:<key>`. Re-implementing it would mean tracking every detail of LDK's
//! store to stay compatible; running LDK's own code guarantees it, and brings its durable
//! write path: a temporary file, fsync, rename over the key, fsync of the directory, with
//! per-key version numbers so concurrent writes land in call order. This crate adds what a
//! [`Backend`](tierstore_core::Backend) needs on top: opening off the async runtime,
//! TierStore's error context and names, `list_all_keys`, the capabilities TierStore and the
//! conformance suite read, and pages at O(page) cost.
//!
//! # Pages in O(page)
//!
//! `FilesystemStoreV2` sorts a namespace's whole directory for every page. This backend
//! scans a namespace once, on its first page, and keeps its keys in creation order in memory,
//! updated by each of its own writes and removes (one `lstat` of the key's file after the
//! mutation). Pages and tokens are exactly `FilesystemStoreV2`'s, so tokens of one resume
//! pages of the other. Nothing of the index is written to disk: the directory stays a plain
//! `FilesystemStoreV2` directory. Changes made to the directory by anyone else (another
//! process, LDK code using [`FsBackend::ldk_store`]) show in `read`, `list` and
//! `list_all_keys` at once but in pages only after [`FsBackend::rescan`] or a reopen; see
//! the `index` module for the details.
//!
//! # Limits
//!
//! - Creation order comes from file modification times, kept by the store with millisecond
//!   precision: keys created within the same few milliseconds may be paged in either order
//!   ([`Capabilities::creation_order_resolution`](tierstore_core::Capabilities)).
//! - The first page of a namespace costs a directory scan, and the index holds every key of
//!   each paged namespace in memory (about 100 bytes a key).
//! - All blocking filesystem calls run on tokio's blocking threads.
//!
//! [`FilesystemStoreV2`]: lightning_persister::fs_store::v2::FilesystemStoreV2

#![deny(missing_docs)]

mod backend;
mod index;
mod layout;

pub use backend::FsBackend;
pub use lightning_persister::fs_store::v2::FilesystemStoreV2 as LdkFilesystemStoreV2;
