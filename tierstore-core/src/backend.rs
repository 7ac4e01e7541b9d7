//! The [`Backend`] trait: what a storage engine implements to fill a role in a
//! [`TierStore`](crate::TierStore).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::Error;
use crate::key::{Key, Namespace};

/// One page of keys, newest-created first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// Keys of the namespace, newest-created first.
    pub keys: Vec<String>,
    /// Resumes right after the last key of this page; `None` when no older key remains.
    pub next: Option<String>,
}

impl Page {
    /// A page of `keys` followed by `next`.
    pub fn new(keys: Vec<String>, next: Option<String>) -> Self {
        Page { keys, next }
    }
}

/// The order in which [`Backend::list_page`] returns a namespace's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PageOrder {
    /// Newest-created first: the contract's order, kept by every backend that records
    /// creation (SQLite, Redis, S3, memory, filesystem by modification time).
    NewestCreatedFirst,
    /// Ascending key order: for stores that keep no creation order and emulate pages by
    /// sorting their keys (lightning 0.2 stores through
    /// [`LdkBackend`](crate::LdkBackend)).
    KeyAscending,
}

/// What a backend can promise; used by TierStore, the tools and the conformance suite.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// An acknowledged write survives a crash of the process (and, for servers, of the server,
    /// as configured). `false` for the in-memory backend.
    pub durable: bool,
    /// Two keys created at least this far apart are ordered by creation in
    /// [`Backend::list_page`]. Zero for backends with a counter (SQLite, Redis, memory);
    /// the file modification time's granularity for filesystem stores.
    pub creation_order_resolution: Duration,
    /// Whether [`Backend::list_all_keys`] is implemented.
    pub list_all_keys: bool,
    /// The order of [`Backend::list_page`].
    pub page_order: PageOrder,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            durable: true,
            creation_order_resolution: Duration::ZERO,
            list_all_keys: true,
            page_order: PageOrder::NewestCreatedFirst,
        }
    }
}

impl Capabilities {
    /// Sets [`Capabilities::durable`].
    pub fn with_durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// Sets [`Capabilities::creation_order_resolution`].
    pub fn with_creation_order_resolution(mut self, resolution: Duration) -> Self {
        self.creation_order_resolution = resolution;
        self
    }

    /// Sets [`Capabilities::list_all_keys`].
    pub fn with_list_all_keys(mut self, supported: bool) -> Self {
        self.list_all_keys = supported;
        self
    }

    /// Sets [`Capabilities::page_order`].
    pub fn with_page_order(mut self, order: PageOrder) -> Self {
        self.page_order = order;
        self
    }
}

/// A key-value storage engine that can fill a role (primary, backup, ephemeral) in a
/// [`TierStore`](crate::TierStore).
///
/// Keys and namespaces arrive validated ([`Key`], [`Namespace`]): a backend never sees input
/// outside LDK's alphabet and may use other characters for its own bookkeeping.
///
/// A backend does **not** order concurrent mutations of one key: TierStore (or
/// [`LdkStore`](crate::LdkStore)) calls at most one mutation per key at a time, in the order
/// the caller issued them. Mutations of different keys, and reads, may run concurrently.
///
/// `Display` names the backend in errors, logs and metrics; wrappers show how they are built,
/// e.g. `Retry(Timeout(sqlite:/var/lib/node/primary.db))`. It must not show credentials.
///
/// # Contract
///
/// The [conformance suite](https://docs.rs/tierstore-testkit) checks every point:
///
/// - [`read`](Self::read) of a missing key is [`Error::NotFound`]; [`remove`](Self::remove)
///   of a missing key succeeds.
/// - A [`write`](Self::write) is atomic: a reader sees the old value or the new one, never a
///   mix, and a crash never leaves a torn value. Values range from empty to at least 64 MiB.
/// - [`list`](Self::list) returns every key of exactly that namespace pair, nothing from
///   others, in any order.
/// - [`list_page`](Self::list_page) returns at most `limit` keys, newest-created first. An
///   update keeps a key's position; remove then re-create moves it to the front. (A store
///   that keeps no creation order declares [`PageOrder::KeyAscending`] in its
///   [`Capabilities`] and pages in key order instead.) `next`
///   resumes right after the last returned key even if that key has since been deleted, and
///   is `None` once no older key remains (it may be `Some` before an empty last page only if
///   the backend cannot tell). A page may hold fewer than `limit` keys before the end; callers
///   loop. Tokens are opaque and scoped to their namespace pair; a malformed token is
///   [`Error::InvalidInput`], never a panic. Fetching a page costs O(page), not O(keys in the
///   namespace), wherever the engine allows it.
/// - [`list_all_keys`](Self::list_all_keys) returns every key of every namespace once.
/// - Errors carry the backend's name and the key; failures that may pass (connection lost,
///   timeout, throttling) are [`Error::Transient`] so the retry layer can tell them apart.
/// - No method blocks the async runtime's thread: blocking I/O runs on a blocking thread or a
///   dedicated thread.
#[async_trait]
pub trait Backend: fmt::Display + Send + Sync + 'static {
    /// What this backend can promise.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Returns the value stored under `key`, or [`Error::NotFound`].
    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error>;

    /// Stores `value` under `key`, atomically, creating the namespace as needed. An update
    /// keeps the key's creation position.
    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error>;

    /// Removes `key`; succeeds if it does not exist. With `lazy`, the backend may defer the
    /// removal (e.g. batch it), so a later [`list`](Self::list) may still show the key for a
    /// while; a later write of the same key must win over the pending removal.
    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error>;

    /// Stores every entry, in order, as if each were given to [`write`](Self::write) after
    /// the previous one returned: keys new to the store are created in the order of
    /// `entries`, and a key given twice ends with its last value.
    ///
    /// The batch as a whole is not atomic: on an error, the entries before the one that
    /// failed may be stored, the later ones are not. The repair tools copy through it a page
    /// at a time. The default writes the entries one by one; engines that can commit many
    /// writes at once (SQLite: one transaction, one fsync) override it.
    async fn write_batch(&self, entries: Vec<(Key, Bytes)>) -> Result<(), Error> {
        write_each(self, entries).await
    }

    /// Every key of `namespace`, in any order.
    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error>;

    /// One page of at most `limit` keys of `namespace`, newest-created first, starting after
    /// the entry `token` points at (from the newest key when `None`).
    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error>;

    /// Every key of every namespace, in any order.
    async fn list_all_keys(&self) -> Result<Vec<Key>, Error>;

    /// The address of the object that holds this backend's data in this process, to tell
    /// whether two handles reach one store: wrappers (layers, `Arc`, `Box`) return their
    /// inner backend's, [`LdkBackend`](crate::LdkBackend) its adapted store's. The default,
    /// the backend's own address, is right for any backend that owns its data. Two equal
    /// addresses mean one store; different ones prove nothing (a store reached under two
    /// names), which is what a journaled TierStore's sync records settle.
    fn store_address(&self) -> usize {
        (self as *const Self).cast::<()>() as usize
    }

    /// Every namespace pair holding at least one key, in any order (a namespace emptied
    /// meanwhile may still be listed).
    ///
    /// The repair tools walk a store namespace by namespace, a page at a time, so that they
    /// never hold every key in memory. The default collects [`list_all_keys`](Self::list_all_keys)
    /// and keeps the distinct namespaces, which holds every key once; engines that can list
    /// namespaces directly (an SQL `DISTINCT`, a Redis set) override it.
    async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        let mut namespaces: Vec<Namespace> =
            self.list_all_keys().await?.into_iter().map(|k| k.namespace().clone()).collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        Ok(namespaces)
    }
}

/// Writes `entries` in order through [`Backend::write`], stopping at the first error: the
/// default [`Backend::write_batch`], for implementations that override it only to state that
/// they write one entry at a time (wrappers whose behaviour is per key).
pub async fn write_each<B: Backend + ?Sized>(
    backend: &B,
    entries: Vec<(Key, Bytes)>,
) -> Result<(), Error> {
    for (key, value) in entries {
        backend.write(&key, value).await?;
    }
    Ok(())
}

/// A dynamically typed backend debug-prints as its `Display` name (which shows how it is
/// built and never credentials), so `Result<Arc<dyn Backend>, _>` works with `unwrap_err`.
impl fmt::Debug for dyn Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Backend({self})")
    }
}

macro_rules! forward_backend {
    ($ptr:ident) => {
        #[async_trait]
        #[deny(clippy::missing_trait_methods)]
        impl<B: Backend + ?Sized> Backend for $ptr<B> {
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
                (**self).read(key).await
            }
            async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
                (**self).write(key, value).await
            }
            async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
                (**self).remove(key, lazy).await
            }
            async fn write_batch(&self, entries: Vec<(Key, Bytes)>) -> Result<(), Error> {
                (**self).write_batch(entries).await
            }
            async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
                (**self).list(namespace).await
            }
            async fn list_page(
                &self,
                namespace: &Namespace,
                token: Option<&str>,
                limit: usize,
            ) -> Result<Page, Error> {
                (**self).list_page(namespace, token, limit).await
            }
            async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
                (**self).list_all_keys().await
            }
            async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
                (**self).list_namespaces().await
            }
            fn store_address(&self) -> usize {
                (**self).store_address()
            }
        }
    };
}

forward_backend!(Arc);
forward_backend!(Box);

/// Turns any backend into the shared, dynamically typed form TierStore holds.
///
/// Implemented for every [`Backend`]; an `Arc<dyn Backend>` is kept as it is instead of being
/// wrapped again.
pub trait IntoBackend {
    /// The backend as an `Arc<dyn Backend>`.
    fn into_backend(self) -> Arc<dyn Backend>;
}

impl<B: Backend> IntoBackend for B {
    fn into_backend(self) -> Arc<dyn Backend> {
        // An `Arc<dyn Backend>` is itself a `Backend`; unwrap it rather than nesting pointers.
        let mut slot = Some(self);
        if let Some(arc) =
            (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<Arc<dyn Backend>>>()
        {
            return arc.take().expect("slot was just filled");
        }
        Arc::new(slot.take().expect("slot was just filled"))
    }
}
