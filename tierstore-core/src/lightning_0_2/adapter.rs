//! lightning 0.2 stores in [`LdkBackend`]: the calls into the store and emulated pages.

use std::sync::Arc;

use futures::future::BoxFuture;
use lightning_0_2::util::persist::{KVStore, MigratableKVStore};

use crate::LdkBackend;
use crate::adapter::{AdaptedStore, LdkFuture, io_error};
use crate::backend::{Capabilities, Page, PageOrder};
use crate::error::{Error, Operation};
use crate::key::{Key, Namespace};

/// Marks an [`LdkBackend`] over a store implementing lightning 0.2's traits.
#[derive(Debug, Clone, Copy)]
pub struct Lightning02;

impl<S> LdkBackend<S, Lightning02>
where
    S: KVStore + Send + Sync + 'static,
{
    /// Wraps a lightning 0.2 `store` (ldk-node 0.7's `SqliteStore`, lightning-persister 0.2's
    /// `FilesystemStore`, ...). Pages are emulated, in ascending key order (see
    /// [`lightning_0_2`](crate::lightning_0_2)); `list_all_keys` is unsupported until
    /// [`with_list_all_keys`](Self::with_list_all_keys) or
    /// [`with_list_all_keys_from`](Self::with_list_all_keys_from) is called.
    pub fn from_0_2(store: S) -> Self {
        Self::from_arc_0_2(Arc::new(store))
    }

    /// Wraps a shared lightning 0.2 `store`.
    pub fn from_arc_0_2(store: Arc<S>) -> Self {
        Self::wrap(store, Capabilities::default().with_page_order(PageOrder::KeyAscending))
    }
}

impl<S> LdkBackend<S, Lightning02>
where
    S: KVStore + MigratableKVStore + Send + Sync + 'static,
{
    /// Enables `list_all_keys` through the store's lightning 0.2 `MigratableKVStore`
    /// implementation (synchronous: it runs on tokio's blocking pool).
    pub fn with_list_all_keys(self) -> Self {
        let store = Arc::clone(self.store());
        self.with_list_all_keys_from(move || store.list_all_keys())
    }
}

impl<S> AdaptedStore<Lightning02> for S
where
    S: KVStore + Send + Sync + 'static,
{
    fn read(&self, key: &Key) -> LdkFuture<Vec<u8>> {
        KVStore::read(self, key.primary(), key.secondary(), key.key())
    }

    fn write(&self, key: &Key, value: Vec<u8>) -> LdkFuture<()> {
        KVStore::write(self, key.primary(), key.secondary(), key.key(), value)
    }

    fn remove(&self, key: &Key, lazy: bool) -> LdkFuture<()> {
        KVStore::remove(self, key.primary(), key.secondary(), key.key(), lazy)
    }

    fn list(&self, namespace: &Namespace) -> LdkFuture<Vec<String>> {
        KVStore::list(self, namespace.primary(), namespace.secondary())
    }

    fn list_page<'a>(
        &'a self,
        backend: &'a str,
        namespace: &'a Namespace,
        token: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Page, Error>> {
        Box::pin(async move {
            let after = token.map(|t| decode_token(backend, namespace, t)).transpose()?;
            let mut keys = KVStore::list(self, namespace.primary(), namespace.secondary())
                .await
                .map_err(|e| io_error(backend, Operation::ListPage, namespace, e))?;
            Ok(emulated_page(&mut keys, after.as_deref(), limit))
        })
    }
}

/// The token of an emulated page: the last key returned, which the next page starts after.
const TOKEN_PREFIX: &str = "after:";

fn decode_token(backend: &str, namespace: &Namespace, token: &str) -> Result<String, Error> {
    token
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|key| namespace.key(key).ok())
        .map(|key| key.key().to_owned())
        .ok_or_else(|| {
            Error::invalid_input(
                Operation::ListPage,
                format!("{backend}: malformed page token {token:?} for {namespace}"),
            )
        })
}

/// The `limit` keys after `after`, in ascending key order, from every key of the namespace.
fn emulated_page(keys: &mut [String], after: Option<&str>, limit: usize) -> Page {
    keys.sort_unstable();
    let start = after.map_or(0, |after| keys.partition_point(|k| k.as_str() <= after));
    let end = keys.len().min(start.saturating_add(limit));
    let page = keys[start..end].to_vec();
    // Resume after the last key returned; with nothing returned (`limit` 0), where we were.
    let resume = page.last().map(String::as_str).or(after);
    let next = match resume {
        Some(resume) if end < keys.len() => Some(format!("{TOKEN_PREFIX}{resume}")),
        _ => None,
    };
    Page { keys: page, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|k| (*k).to_owned()).collect()
    }

    #[test]
    fn emulated_pages_walk_every_key_once_in_key_order() {
        let all = keys(&["d", "a", "c", "b", "e"]);
        let first = emulated_page(&mut all.clone(), None, 2);
        assert_eq!(first.keys, ["a", "b"]);
        assert_eq!(first.next.as_deref(), Some("after:b"));
        // The token's key was deleted meanwhile: resume after it all the same.
        let mut without_b = keys(&["a", "c", "d", "e"]);
        let second = emulated_page(&mut without_b, Some("b"), 2);
        assert_eq!(second.keys, ["c", "d"]);
        let last = emulated_page(&mut all.clone(), Some("d"), 2);
        assert_eq!((last.keys, last.next), (keys(&["e"]), None));
        let exact = emulated_page(&mut all.clone(), Some("c"), 2);
        assert_eq!((exact.keys, exact.next), (keys(&["d", "e"]), None), "no empty last page");
        assert_eq!(emulated_page(&mut [], None, 3), Page::default());
    }

    #[test]
    fn malformed_tokens_are_invalid_input() {
        let ns = Namespace::new("monitors", "").unwrap();
        assert_eq!(decode_token("b", &ns, "after:k-1_A").unwrap(), "k-1_A");
        for bad in ["", "k1", "after:", "after:a b", "after::", "-1", "after:🦀"] {
            let err = decode_token("b", &ns, bad).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{bad:?}: {err}");
            assert!(err.to_string().contains("malformed page token"), "{err}");
        }
    }
}
