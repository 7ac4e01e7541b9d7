//! [`FsBackend`]: lightning-persister's `FilesystemStoreV2` as a [`Backend`], with the
//! listing index.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lightning::util::persist::KVStoreSync;
use lightning_persister::fs_store::v2::FilesystemStoreV2;
use tierstore_core::{
    Backend, Bytes, Capabilities, Error, Key, LdkBackend, Namespace, Operation, Page, async_trait,
};

use crate::index::ListingIndex;
use crate::layout;

/// The granularity of creation order: `FilesystemStoreV2` orders by modification time in
/// milliseconds, and the kernel's file timestamps advance in clock ticks (up to 10 ms).
const MTIME_RESOLUTION: Duration = Duration::from_millis(15);

/// A [`Backend`] storing each key in its own file under a directory, in
/// `FilesystemStoreV2`'s layout. See the [crate documentation](crate).
#[derive(Clone)]
pub struct FsBackend {
    /// Reads and listings other than pages, through LDK's own code.
    inner: Arc<LdkBackend<FilesystemStoreV2>>,
    index: Arc<ListingIndex>,
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

    /// Wraps a `FilesystemStoreV2` the caller already has. Pages see the writes made through
    /// the returned backend; see [`ldk_store`](Self::ldk_store) for writes made around it.
    pub fn from_store(store: FilesystemStoreV2, dir: PathBuf) -> FsBackend {
        let name = format!("file:{}", dir.display());
        let capabilities = Capabilities::default().with_creation_order_resolution(MTIME_RESOLUTION);
        let inner =
            LdkBackend::new(store).named(name).with_list_all_keys().with_capabilities(capabilities);
        let index = Arc::new(ListingIndex::new(dir.clone()));
        FsBackend { inner: Arc::new(inner), index, dir }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lightning-persister store underneath, for LDK code that wants it directly.
    ///
    /// Writes and removes made through it (like those of another process) bypass this
    /// backend's listing index: pages do not show them until [`rescan`](Self::rescan).
    pub fn ldk_store(&self) -> &Arc<FilesystemStoreV2> {
        self.inner.store()
    }

    /// Forgets the listing index, so that the next page of each namespace scans its directory
    /// again: for after the directory was changed other than through this backend.
    pub fn rescan(&self) {
        self.index.forget();
    }

    /// Runs `mutation` on a blocking thread, then takes the key's file into the index.
    async fn mutate<F>(&self, op: Operation, key: &Key, mutation: F) -> Result<(), Error>
    where
        F: FnOnce(&FilesystemStoreV2) -> Result<(), lightning::io::Error> + Send + 'static,
    {
        let (store, index, target) =
            (Arc::clone(self.inner.store()), Arc::clone(&self.index), key.clone());
        let result = tokio::task::spawn_blocking(move || {
            let result = mutation(&store);
            index.after_mutation(&target);
            result
        })
        .await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::from_io(self, op, key, io::Error::from(e))),
            Err(join) => Err(Error::backend(self, op, key, join)),
        }
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
        let owned = key.clone();
        self.mutate(Operation::Write, key, move |store| {
            KVStoreSync::write(store, owned.primary(), owned.secondary(), owned.key(), value.into())
        })
        .await
    }

    /// One file at a time, in order: each is its own atomic rename and fsync.
    async fn write_batch(&self, entries: Vec<(Key, Bytes)>) -> Result<(), Error> {
        tierstore_core::write_each(self, entries).await
    }

    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        let owned = key.clone();
        self.mutate(Operation::Remove, key, move |store| {
            KVStoreSync::remove(store, owned.primary(), owned.secondary(), owned.key(), lazy)
        })
        .await
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
        let after = token
            .map(|token| {
                layout::parse_token(namespace, token).map_err(|why| {
                    Error::invalid_input(
                        Operation::ListPage,
                        format!("{self}: page token {token:?} for namespace {namespace}: {why}"),
                    )
                })
            })
            .transpose()?;
        if limit == 0 {
            return Ok(Page::new(Vec::new(), token.map(str::to_owned)));
        }
        let (keys, next) = self
            .index
            .page(namespace, after.as_ref(), limit)
            .await
            .map_err(|e| Error::from_io(self, Operation::ListPage, namespace, e))?;
        Ok(Page::new(keys, next.as_ref().map(layout::format_token)))
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
