//! A TierStore [`Backend`] on the local filesystem, on-disk compatible with
//! lightning-persister's [`FilesystemStoreV2`] in both directions.
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
//! [`Backend`] needs on top: opening off the async runtime, TierStore's error context and
//! names, `list_all_keys`, and the capabilities TierStore and the conformance suite read.
//!
//! # Limits
//!
//! - Creation order comes from file modification times, kept by the store with millisecond
//!   precision: keys created within the same few milliseconds may be paged in either order
//!   ([`Capabilities::creation_order_resolution`]).
//! - A page costs a directory scan (O(keys in the namespace)): the filesystem has no index
//!   by modification time. Namespaces of an LDK node are small except the ones TierStore's
//!   ephemeral role holds, which are listed rarely.
//! - All blocking filesystem calls run on tokio's blocking threads (lightning-persister's
//!   `tokio` feature).

#![deny(missing_docs)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lightning_persister::fs_store::v2::FilesystemStoreV2;
use tierstore_core::{
    Backend, Bytes, Capabilities, Error, Key, LdkBackend, Namespace, Operation, Page, async_trait,
};

pub use lightning_persister::fs_store::v2::FilesystemStoreV2 as LdkFilesystemStoreV2;

/// The granularity of creation order: `FilesystemStoreV2` orders by modification time in
/// milliseconds, and the kernel's file timestamps advance in clock ticks (up to 10 ms).
const MTIME_RESOLUTION: Duration = Duration::from_millis(15);

/// A [`Backend`] storing each key in its own file under a directory, in
/// [`FilesystemStoreV2`]'s layout. See the [crate documentation](crate).
#[derive(Clone)]
pub struct FsBackend {
    inner: Arc<LdkBackend<FilesystemStoreV2>>,
    dir: PathBuf,
}

impl FsBackend {
    /// Opens the store in `dir` (created on the first write). Refuses a directory that holds
    /// files where `FilesystemStoreV2` keeps namespace directories, such as one written by
    /// lightning-persister's v1 `FilesystemStore`.
    pub async fn open(dir: impl AsRef<Path>) -> Result<FsBackend, Error> {
        let dir = dir.as_ref().to_path_buf();
        let name = format!("file:{}", dir.display());
        let opening = dir.clone();
        // `FilesystemStoreV2::new` scans the directory: a blocking call.
        let store = tokio::task::spawn_blocking(move || FilesystemStoreV2::new(opening))
            .await
            .map_err(|e| Error::backend(&name, Operation::Open, dir.display(), e))?
            .map_err(|e| Error::backend(&name, Operation::Open, dir.display(), e.to_string()))?;
        Ok(Self::from_store(store, dir))
    }

    /// Wraps a `FilesystemStoreV2` the caller already has (e.g. shared with LDK code).
    pub fn from_store(store: FilesystemStoreV2, dir: PathBuf) -> FsBackend {
        let name = format!("file:{}", dir.display());
        let capabilities = Capabilities::default().with_creation_order_resolution(MTIME_RESOLUTION);
        let inner =
            LdkBackend::new(store).named(name).with_list_all_keys().with_capabilities(capabilities);
        FsBackend { inner: Arc::new(inner), dir }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lightning-persister store underneath, for LDK code that wants it directly.
    pub fn ldk_store(&self) -> &Arc<FilesystemStoreV2> {
        self.inner.store()
    }
}

impl fmt::Display for FsBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl fmt::Debug for FsBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FsBackend").field("dir", &self.dir).finish_non_exhaustive()
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl Backend for FsBackend {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        self.inner.read(key).await
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        self.inner.write(key, value).await
    }

    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        self.inner.remove(key, lazy).await
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        self.inner.list(namespace).await
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        self.inner.list_page(namespace, token, limit).await
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        self.inner.list_all_keys().await
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        self.inner.list_namespaces().await
    }

    fn store_address(&self) -> usize {
        self.inner.store_address()
    }
}
