//! [`LdkBackend`]: any existing LDK store as a [`Backend`].

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use lightning::util::persist::{KVStore, MigratableKVStore, PageToken, PaginatedKVStore};

use crate::backend::{Backend, Capabilities, Page};
use crate::error::{Error, Operation};
use crate::key::{Key, Namespace};

type ListAllKeys = Arc<
    dyn Fn() -> BoxFuture<'static, Result<Vec<(String, String, String)>, lightning::io::Error>>
        + Send
        + Sync,
>;

/// Adapts a store implementing LDK's `KVStore + PaginatedKVStore` (for example
/// lightning-persister's `FilesystemStoreV2`, or ldk-node's stores) into a [`Backend`], so it
/// can fill any role of a [`TierStore`](crate::TierStore) and users keep their current stores.
///
/// `list_all_keys` needs LDK's `MigratableKVStore`; enable it with
/// [`with_list_all_keys`](LdkBackend::with_list_all_keys) where the store implements it.
///
/// Pages: LDK stores choose their own page size. The adapter returns at most `limit` keys of
/// one underlying page; when it stops inside a page, its token records the underlying token
/// of that page and the keys already returned from it, so the next call resumes exactly there
/// even if keys were deleted in between.
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
pub struct LdkBackend<S> {
    store: Arc<S>,
    name: String,
    capabilities: Capabilities,
    list_all_keys: Option<ListAllKeys>,
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
        let type_name = std::any::type_name::<S>().rsplit("::").next().unwrap_or("store");
        LdkBackend {
            store,
            name: format!("ldk:{type_name}"),
            capabilities: Capabilities::default().with_list_all_keys(false),
            list_all_keys: None,
        }
    }

    /// Names the backend in errors, logs and metrics (default `ldk:<type>`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Declares what the store can promise, e.g. the creation-order resolution of a store that
    /// orders by file modification time.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        let list_all = self.list_all_keys.is_some();
        self.capabilities = capabilities.with_list_all_keys(list_all);
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
        Error::from_io(&self.name, op, target, io::Error::from(err))
    }
}

impl<S> LdkBackend<S>
where
    S: KVStore + PaginatedKVStore + MigratableKVStore + Send + Sync + 'static,
{
    /// Enables `list_all_keys` through the store's `MigratableKVStore` implementation.
    pub fn with_list_all_keys(mut self) -> Self {
        let store = Arc::clone(&self.store);
        self.list_all_keys = Some(Arc::new(move || Box::pin(store.list_all_keys())));
        self.capabilities = self.capabilities.with_list_all_keys(true);
        self
    }
}

impl<S> fmt::Display for LdkBackend<S> {
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
impl<S> Backend for LdkBackend<S>
where
    S: KVStore + PaginatedKVStore + Send + Sync + 'static,
{
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn store_address(&self) -> usize {
        // Two adapters over one shared store (`from_arc` of the same `Arc`) are one store.
        Arc::as_ptr(&self.store).cast::<()>() as usize
    }

    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        KVStore::read(&*self.store, key.primary(), key.secondary(), key.key())
            .await
            .map_err(|e| self.io_error(Operation::Read, key, e))
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        KVStore::write(&*self.store, key.primary(), key.secondary(), key.key(), value.into())
            .await
            .map_err(|e| self.io_error(Operation::Write, key, e))
    }

    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        KVStore::remove(&*self.store, key.primary(), key.secondary(), key.key(), lazy)
            .await
            .map_err(|e| self.io_error(Operation::Remove, key, e))
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        KVStore::list(&*self.store, namespace.primary(), namespace.secondary())
            .await
            .map_err(|e| self.io_error(Operation::List, namespace, e))
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        let position = match token {
            None => AdapterToken { inner: None, returned: HashSet::new() },
            Some(token) => AdapterToken::decode(token).ok_or_else(|| {
                Error::invalid_input(
                    Operation::ListPage,
                    format!("{}: malformed page token {token:?} for {namespace}", self.name),
                )
            })?,
        };
        let response = PaginatedKVStore::list_paginated(
            &*self.store,
            namespace.primary(),
            namespace.secondary(),
            position.inner.clone().map(PageToken::new),
        )
        .await
        .map_err(|e| self.io_error(Operation::ListPage, namespace, e))?;

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

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        let Some(list_all_keys) = &self.list_all_keys else {
            return Err(Error::Unsupported {
                backend: self.name.clone(),
                op: Operation::ListAllKeys,
                reason: "the adapted store was not given MigratableKVStore support \
                         (LdkBackend::with_list_all_keys)"
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
