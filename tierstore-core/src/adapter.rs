//! [`LdkBackend`]: any existing LDK store as a [`Backend`].
//!
//! One adapter serves every LDK release line the crate speaks: the type parameter `L` names
//! the line whose traits the store implements ([`Lightning03`], the default, or
//! `lightning_0_2::Lightning02` behind the `lightning-0-2` feature). Naming, capabilities,
//! error mapping and `list_all_keys` are the same for every line; only the calls into the
//! store and the pages differ, and live in [`AdaptedStore`]'s implementation for each line.

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use lightning::util::persist::{KVStore, MigratableKVStore, PageToken, PaginatedKVStore};

use crate::backend::{Backend, Capabilities, Page};
use crate::error::{Error, Operation};
use crate::key::{Key, Namespace};

/// The result of an adapted store's call, with LDK's error type (the same `bitcoin::io` error
/// in every supported LDK line).
pub(crate) type LdkFuture<T> = BoxFuture<'static, Result<T, lightning::io::Error>>;

type ListAllKeys = Arc<dyn Fn() -> LdkFuture<Vec<(String, String, String)>> + Send + Sync>;

/// Marks an [`LdkBackend`] over a store implementing lightning 0.3's traits (the default).
#[derive(Debug, Clone, Copy)]
pub struct Lightning03;

/// A store of LDK line `L`, as [`LdkBackend`] drives it.
///
/// Implemented for every store implementing that line's traits: lightning 0.3's
/// `KVStore + PaginatedKVStore` for [`Lightning03`], lightning 0.2's `KVStore` for
/// `lightning_0_2::Lightning02`. There is nothing to implement yourself.
pub trait AdaptedStore<L>: Send + Sync + 'static {
    /// The store's `read`.
    fn read(&self, key: &Key) -> LdkFuture<Vec<u8>>;
    /// The store's `write`.
    fn write(&self, key: &Key, value: Vec<u8>) -> LdkFuture<()>;
    /// The store's `remove`.
    fn remove(&self, key: &Key, lazy: bool) -> LdkFuture<()>;
    /// The store's `list`.
    fn list(&self, namespace: &Namespace) -> LdkFuture<Vec<String>>;
    /// One page of at most `limit` keys, as [`Backend::list_page`]; `backend` names the
    /// adapter in errors.
    fn list_page<'a>(
        &'a self,
        backend: &'a str,
        namespace: &'a Namespace,
        token: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Page, Error>>;
}

/// Adapts an existing LDK store into a [`Backend`], so it can fill any role of a
/// [`TierStore`](crate::TierStore) and users keep their current stores.
///
/// `LdkBackend<S>` wraps a store implementing lightning 0.3's `KVStore + PaginatedKVStore`
/// (for example lightning-persister's `FilesystemStoreV2`). With the `lightning-0-2` feature,
/// `LdkBackend<S, Lightning02>` wraps a lightning 0.2 store (ldk-node 0.7's `SqliteStore`,
/// lightning-persister 0.2's `FilesystemStore`); see `lightning_0_2` for its costs.
///
/// `list_all_keys` needs LDK's `MigratableKVStore`; enable it with
/// [`with_list_all_keys`](LdkBackend::with_list_all_keys) where the store implements it, or
/// give a function that lists the store's keys with
/// [`with_list_all_keys_from`](LdkBackend::with_list_all_keys_from).
///
/// Pages (lightning 0.3): LDK stores choose their own page size. The adapter returns at most
/// `limit` keys of one underlying page; when it stops inside a page, its token records the
/// underlying token of that page and the keys already returned from it, so the next call
/// resumes exactly there even if keys were deleted in between.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use lightning_persister::fs_store::v2::FilesystemStoreV2;
/// use tierstore_core::{LdkBackend, TierStore};
///
/// let dir = tempfile::tempdir()?;
/// let fs = FilesystemStoreV2::new(dir.path().to_path_buf())?;
/// let backend = LdkBackend::new(fs).named("fs-v2").with_list_all_keys();
/// let store = TierStore::builder(backend).build()?;
/// # Ok(()) }
/// ```
pub struct LdkBackend<S, L = Lightning03> {
    store: Arc<S>,
    name: String,
    capabilities: Capabilities,
    list_all_keys: Option<ListAllKeys>,
    // `fn() -> L`: the marker never affects `Send`/`Sync`.
    line: PhantomData<fn() -> L>,
}

impl<S> LdkBackend<S>
where
    S: KVStore + PaginatedKVStore + Send + Sync + 'static,
{
    /// Wraps `store`. `list_all_keys` is unsupported until
    /// [`with_list_all_keys`](Self::with_list_all_keys) is called.
    pub fn new(store: S) -> Self {
        Self::from_arc(Arc::new(store))
    }

    /// Wraps a shared `store`.
    pub fn from_arc(store: Arc<S>) -> Self {
        Self::wrap(store, Capabilities::default())
    }
}

impl<S> LdkBackend<S>
where
    S: KVStore + PaginatedKVStore + MigratableKVStore + Send + Sync + 'static,
{
    /// Enables `list_all_keys` through the store's `MigratableKVStore` implementation.
    pub fn with_list_all_keys(self) -> Self {
        let store = Arc::clone(&self.store);
        self.with_list_all_keys_fn(Arc::new(move || Box::pin(store.list_all_keys())))
    }
}

impl<S, L> LdkBackend<S, L> {
    /// Wraps `store` with the given default capabilities, `list_all_keys` unsupported.
    pub(crate) fn wrap(store: Arc<S>, capabilities: Capabilities) -> Self {
        let type_name = std::any::type_name::<S>();
        let type_name = type_name.split('<').next().unwrap_or(type_name);
        let type_name = type_name.rsplit("::").next().unwrap_or("store");
        LdkBackend {
            store,
            name: format!("ldk:{type_name}"),
            capabilities: capabilities.with_list_all_keys(false),
            list_all_keys: None,
            line: PhantomData,
        }
    }

    /// Names the backend in errors, logs and metrics (default `ldk:<type>`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Declares what the store can promise, e.g. the creation-order resolution of a store that
    /// orders by file modification time. `list_all_keys` and the page order stay the
    /// adapter's: they follow from how it is built and from the store's LDK line.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        let list_all = self.list_all_keys.is_some();
        let order = self.capabilities.page_order;
        self.capabilities = capabilities.with_list_all_keys(list_all).with_page_order(order);
        self
    }

    /// Enables `list_all_keys` through `list`, a function returning every
    /// `(primary_namespace, secondary_namespace, key)` of the store, for stores that do not
    /// implement `MigratableKVStore` (ldk-node 0.7's `SqliteStore`, for example, whose keys
    /// one `SELECT` on its table lists). `list` may block: it runs on tokio's blocking pool.
    pub fn with_list_all_keys_from<F>(self, list: F) -> Self
    where
        F: Fn() -> Result<Vec<(String, String, String)>, lightning::io::Error>
            + Send
            + Sync
            + 'static,
    {
        let list = Arc::new(list);
        self.with_list_all_keys_fn(Arc::new(move || {
            let list = Arc::clone(&list);
            Box::pin(async move {
                tokio::task::spawn_blocking(move || list()).await.unwrap_or_else(|e| {
                    Err(io::Error::other(format!("listing every key failed: {e}")).into())
                })
            })
        }))
    }

    pub(crate) fn with_list_all_keys_fn(mut self, list: ListAllKeys) -> Self {
        self.list_all_keys = Some(list);
        self.capabilities = self.capabilities.with_list_all_keys(true);
        self
    }

    /// The wrapped store.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    fn io_error(
        &self,
        op: Operation,
        target: impl fmt::Display,
        err: lightning::io::Error,
    ) -> Error {
        io_error(&self.name, op, target, err)
    }
}

/// Maps an LDK store's error to [`Error`], naming the backend and the target.
pub(crate) fn io_error(
    backend: &str,
    op: Operation,
    target: impl fmt::Display,
    err: lightning::io::Error,
) -> Error {
    Error::from_io(backend, op, target, io::Error::from(err))
}

impl<S, L> fmt::Display for LdkBackend<S, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The adapter's page token: the underlying token of the page being read, and the keys
/// already returned from that page.
struct AdapterToken {
    inner: Option<String>,
    returned: HashSet<String>,
}

impl AdapterToken {
    /// `<len>:<inner><key>,<key>...` where `<len>` is the byte length of the inner token, or
    /// `-` when there is none. Keys never contain `,` (LDK's alphabet).
    fn encode(&self) -> String {
        let mut out = match &self.inner {
            Some(inner) => format!("{}:{inner}", inner.len()),
            None => "-:".to_owned(),
        };
        let mut returned: Vec<&str> = self.returned.iter().map(String::as_str).collect();
        returned.sort_unstable();
        out.push_str(&returned.join(","));
        out
    }

    fn decode(token: &str) -> Option<AdapterToken> {
        let (len, rest) = token.split_once(':')?;
        let (inner, keys) = if len == "-" {
            (None, rest)
        } else {
            let len: usize = len.parse().ok()?;
            let inner = rest.get(..len)?;
            (Some(inner.to_owned()), rest.get(len..)?)
        };
        let returned =
            keys.split(',').filter(|k| !k.is_empty()).map(str::to_owned).collect::<HashSet<_>>();
        Some(AdapterToken { inner, returned })
    }
}

#[async_trait]
impl<S, L> Backend for LdkBackend<S, L>
where
    S: AdaptedStore<L>,
    L: 'static,
{
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn store_address(&self) -> usize {
        // Two adapters over one shared store (`from_arc` of the same `Arc`) are one store.
        Arc::as_ptr(&self.store).cast::<()>() as usize
    }

    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        self.store.read(key).await.map_err(|e| self.io_error(Operation::Read, key, e))
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        self.store
            .write(key, value.into())
            .await
            .map_err(|e| self.io_error(Operation::Write, key, e))
    }

    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        self.store.remove(key, lazy).await.map_err(|e| self.io_error(Operation::Remove, key, e))
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        self.store.list(namespace).await.map_err(|e| self.io_error(Operation::List, namespace, e))
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        self.store.list_page(&self.name, namespace, token, limit).await
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        let Some(list_all_keys) = &self.list_all_keys else {
            return Err(Error::Unsupported {
                backend: self.name.clone(),
                op: Operation::ListAllKeys,
                reason: "the adapted store was not given MigratableKVStore support \
                         (LdkBackend::with_list_all_keys or with_list_all_keys_from)"
                    .to_owned(),
            });
        };
        let keys =
            list_all_keys().await.map_err(|e| self.io_error(Operation::ListAllKeys, "*", e))?;
        keys.into_iter()
            .map(|(p, s, k)| {
                Key::new(&p, &s, &k).map_err(|e| {
                    Error::backend(&self.name, Operation::ListAllKeys, format!("{p}/{s}/{k}"), e)
                })
            })
            .collect()
    }
}

impl<S> AdaptedStore<Lightning03> for S
where
    S: KVStore + PaginatedKVStore + Send + Sync + 'static,
{
    fn read(&self, key: &Key) -> LdkFuture<Vec<u8>> {
        Box::pin(KVStore::read(self, key.primary(), key.secondary(), key.key()))
    }

    fn write(&self, key: &Key, value: Vec<u8>) -> LdkFuture<()> {
        Box::pin(KVStore::write(self, key.primary(), key.secondary(), key.key(), value))
    }

    fn remove(&self, key: &Key, lazy: bool) -> LdkFuture<()> {
        Box::pin(KVStore::remove(self, key.primary(), key.secondary(), key.key(), lazy))
    }

    fn list(&self, namespace: &Namespace) -> LdkFuture<Vec<String>> {
        Box::pin(KVStore::list(self, namespace.primary(), namespace.secondary()))
    }

    fn list_page<'a>(
        &'a self,
        backend: &'a str,
        namespace: &'a Namespace,
        token: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Page, Error>> {
        Box::pin(list_page(self, backend, namespace, token, limit))
    }
}

/// A page of a lightning 0.3 store: at most `limit` keys of one underlying page.
async fn list_page<S: PaginatedKVStore>(
    store: &S,
    backend: &str,
    namespace: &Namespace,
    token: Option<&str>,
    limit: usize,
) -> Result<Page, Error> {
    let position = match token {
        None => AdapterToken { inner: None, returned: HashSet::new() },
        Some(token) => AdapterToken::decode(token).ok_or_else(|| {
            Error::invalid_input(
                Operation::ListPage,
                format!("{backend}: malformed page token {token:?} for {namespace}"),
            )
        })?,
    };
    let response = PaginatedKVStore::list_paginated(
        store,
        namespace.primary(),
        namespace.secondary(),
        position.inner.clone().map(PageToken::new),
    )
    .await
    .map_err(|e| io_error(backend, Operation::ListPage, namespace, e))?;

    let mut remaining: Vec<String> =
        response.keys.into_iter().filter(|k| !position.returned.contains(k)).collect();
    if remaining.len() > limit {
        // Stop inside this underlying page: remember what it already gave.
        remaining.truncate(limit);
        let mut returned = position.returned;
        returned.extend(remaining.iter().cloned());
        let next = AdapterToken { inner: position.inner, returned }.encode();
        return Ok(Page { keys: remaining, next: Some(next) });
    }
    let next = response
        .next_page_token
        .map(|t| AdapterToken { inner: Some(t.as_str().to_owned()), returned: HashSet::new() })
        .map(|t| t.encode());
    Ok(Page { keys: remaining, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_inner_tokens_with_separators() {
        for inner in [None, Some("0000001700000000:key".to_owned()), Some(",:,".to_owned())] {
            let returned: HashSet<String> = ["a".to_owned(), "b-c".to_owned()].into();
            let token = AdapterToken { inner: inner.clone(), returned: returned.clone() };
            let decoded = AdapterToken::decode(&token.encode()).unwrap();
            assert_eq!(decoded.inner, inner);
            assert_eq!(decoded.returned, returned);
        }
        for bad in ["", "x", "5:ab", "-", "99999999999999999999999:x"] {
            assert!(AdapterToken::decode(bad).is_none(), "{bad:?}");
        }
    }
}
