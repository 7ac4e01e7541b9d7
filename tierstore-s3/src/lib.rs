//! TierStore backend for object storage: S3 and S3-compatible servers, or an
//! [`object_store`] store (GCS, Azure, memory).
//!
//! - [`ObjectStoreBackend`] works over an `Arc<dyn object_store::ObjectStore>` with conditional
//!   puts and user metadata.
//! - [`S3Backend`] is the common case: a bucket, configured with [`S3Backend::builder`].
//! - `AwsS3Backend` (feature `aws-sdk`) is the same backend over the AWS SDK's client.
//!
//! All of them share one data model (below), written once over a small internal client
//! trait, so data written with one client reads back with the other.
//!
//! # Layout
//!
//! ```text
//! <prefix>/data/ns.<primary>.<secondary>/<key>          the value; its creation stamp in
//!                                                       user metadata (tierstore-stamp)
//! <prefix>/idx/ns.<primary>.<secondary>/<stamp>.<key>   empty index entry
//! ```
//!
//! The stamp is the creation time inverted (`u64::MAX - nanoseconds`), so S3's ascending
//! listing yields the newest key first: a page is one `ListObjectsV2` with `start-after` the
//! page token (the last entry returned), O(page) whatever the namespace's size. A creation
//! is told from an update by a conditional put (`If-None-Match: *`); an update keeps the
//! stamp, and so the key's position, and is itself conditional (`If-Match`). Values above
//! 8 MiB are uploaded in parts and appear whole or not at all.
//!
//! # After a crash
//!
//! A value is written before its index entry and removed after it, so an interrupted write
//! or removal can only leave a value without an index entry. That key reads back but is
//! absent from `list` and `list_page` alike (both read the index), is reported by
//! `list_all_keys` (so migrations copy every readable value), and is repaired by its next
//! write, which re-creates the index entry at the key's original creation stamp, or removed
//! by its next remove. No state lists a key that cannot be read.
//!
//! Creation order is by wall clock (strictly increasing within a process); it is exact as
//! long as the clock does not step back between runs.
//!
//! # Errors
//!
//! Connection failures, timeouts, throttling and 5xx answers are
//! [`Error::Transient`](tierstore_core::Error::Transient); everything else is
//! [`Error::Backend`](tierstore_core::Error::Backend), naming the backend (`s3://bucket/prefix`)
//! and the key. A missing bucket is never mistaken for a missing key. Credentials appear in
//! no `Display`, `Debug`, error or log.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use tierstore_core::{Backend, Key};
//! use tierstore_s3::ObjectStoreBackend;
//!
//! let store = Arc::new(object_store::memory::InMemory::new());
//! let backend = ObjectStoreBackend::new(store, "node1");
//! let key = Key::new("monitors", "", "chan1").unwrap();
//! backend.write(&key, vec![1, 2, 3].into()).await.unwrap();
//! assert_eq!(backend.read(&key).await.unwrap(), vec![1, 2, 3]);
//! let page = backend.list_page(key.namespace(), None, 10).await.unwrap();
//! assert_eq!(page.keys, ["chan1"]);
//! # });
//! ```

#![deny(missing_docs)]

#[macro_use]
mod backend_impl;

#[cfg(feature = "aws-sdk")]
mod aws;
#[cfg(feature = "aws-sdk")]
mod aws_client;
mod client;
mod credentials;
mod engine;
mod layout;
mod object_store_backend;
mod object_store_client;
mod s3;

#[cfg(feature = "aws-sdk")]
pub use aws::AwsS3Backend;
pub use object_store_backend::ObjectStoreBackend;
pub use s3::{S3Backend, S3BackendBuilder};

/// The object_store crate this backend is built with, for constructing stores.
pub use object_store;
