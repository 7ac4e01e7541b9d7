//! Backends written in Python, Kotlin or Swift: the [`ForeignBackend`] trait they implement
//! and the [`ForeignAdapter`] that makes one a TierStore [`Backend`].
//!
//! # Contract for implementors
//!
//! The same as [`Backend`]'s, in a synchronous shape: every method is called on one of the
//! bindings' blocking threads (never the caller's thread, never an async worker), possibly
//! several at once, so an implementation must be thread-safe. Mutations of one key are never
//! called concurrently and arrive in the order the store's caller issued them.
//!
//! - `read` of a missing key raises [`TierStoreError::NotFound`]; `remove` of a missing key
//!   succeeds.
//! - `list_page` returns at most `limit` keys, newest-created first (an update keeps a key's
//!   position), and a token resuming after the last one, or none at the end. Tokens are the
//!   implementation's own opaque strings.
//! - Raise [`TierStoreError::Transient`] for failures that may pass.
//!
//! # What the adapter guarantees
//!
//! - Keys are validated against LDK's rules *before* the foreign code is called: it never sees
//!   a key outside LDK's alphabet.
//! - What comes back is checked: keys outside LDK's alphabet, more keys than asked for, and
//!   unprintable or oversized tokens are errors naming the backend, never passed on.
//! - Any exception, expected or not, becomes an error naming the backend, the operation and
//!   the key. Nothing the foreign code does can panic Rust; a panic in a Rust implementation
//!   of the trait is caught as well.

use std::fmt;
use std::sync::Arc;

use tierstore::{Backend, Bytes, Error, Key, Namespace, Operation, Page, async_trait};

use crate::error::TierStoreError;

/// The longest page token the adapter accepts from a foreign backend.
pub const MAX_TOKEN_LEN: usize = 1024;

/// A key: LDK's namespace pair and the key within it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Record)]
pub struct StoreKey {
    /// The primary namespace (may be empty).
    pub primary_namespace: String,
    /// The secondary namespace (empty when the primary one is).
    pub secondary_namespace: String,
    /// The key (never empty).
    pub key: String,
}

impl From<Key> for StoreKey {
    fn from(key: Key) -> Self {
        let (primary_namespace, secondary_namespace, key) = key.into_tuple();
        StoreKey { primary_namespace, secondary_namespace, key }
    }
}

/// One page of keys, newest-created first.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KeyPage {
    /// The keys of this page.
    pub keys: Vec<String>,
    /// Pass it back to get the next page; `None` when no older key remains. Opaque.
    pub next_token: Option<String>,
}

/// A key-value store implemented in a foreign language that fills a TierStore role.
///
/// Mirrors TierStore's `Backend` contract (see the module documentation); all methods are
/// synchronous and may be called from several threads at once.
#[uniffi::export(foreign)]
pub trait ForeignBackend: Send + Sync {
    /// The backend's name in errors and logs (no credentials).
    fn name(&self) -> String;

    /// The value under the key; raises `NotFound` if there is none.
    fn read(
        &self,
        primary_namespace: String,
        secondary_namespace: String,
        key: String,
    ) -> Result<Vec<u8>, TierStoreError>;

    /// Stores `value` under the key, atomically; an update keeps the key's creation position.
    fn write(
        &self,
        primary_namespace: String,
        secondary_namespace: String,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), TierStoreError>;

    /// Removes the key; succeeds if it does not exist. With `lazy` the removal may be deferred.
    fn remove(
        &self,
        primary_namespace: String,
        secondary_namespace: String,
        key: String,
        lazy: bool,
    ) -> Result<(), TierStoreError>;

    /// Every key of the namespace pair, in any order.
    fn list(
        &self,
        primary_namespace: String,
        secondary_namespace: String,
    ) -> Result<Vec<String>, TierStoreError>;

    /// At most `limit` keys of the namespace pair, newest-created first, after the key `token`
    /// points at (from the newest when `None`).
    fn list_page(
        &self,
        primary_namespace: String,
        secondary_namespace: String,
        token: Option<String>,
        limit: u32,
    ) -> Result<KeyPage, TierStoreError>;

    /// Every key of every namespace, in any order.
    fn list_all_keys(&self) -> Result<Vec<StoreKey>, TierStoreError>;
}

/// A [`ForeignBackend`] as a TierStore [`Backend`].
pub struct ForeignAdapter {
    inner: Arc<dyn ForeignBackend>,
    name: String,
}

impl ForeignAdapter {
    /// Wraps `inner`, asking it for its name once (on the calling thread).
    pub fn new(inner: Arc<dyn ForeignBackend>) -> Self {
        let name = sanitize_name(&inner.name());
        ForeignAdapter { inner, name }
    }

    /// Calls `f` with the foreign object on a blocking thread, turning exceptions and panics
    /// into errors naming the backend, the operation and `target`.
    async fn call<T, F>(&self, op: Operation, target: String, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&dyn ForeignBackend) -> Result<T, TierStoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        // Foreign code blocks (it may take a lock, do I/O, wait for Python's GIL): never on an
        // async worker.
        match tokio::task::spawn_blocking(move || f(&*inner)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(err.into_core(&self.name, op, &target)),
            Err(join) => Err(Error::backend(
                &self.name,
                op,
                target,
                if join.is_panic() { "the foreign backend panicked" } else { "call cancelled" },
            )),
        }
    }

    /// An error for something the foreign backend returned that breaks the contract.
    fn broken(&self, op: Operation, target: &dyn fmt::Display, what: String) -> Error {
        Error::backend(&self.name, op, target, format!("foreign backend returned {what}"))
    }

    /// Checks that every listed key is a valid key of `namespace`.
    fn check_keys(
        &self,
        op: Operation,
        namespace: &Namespace,
        keys: &[String],
    ) -> Result<(), Error> {
        for key in keys {
            if let Err(err) = namespace.key(key) {
                return Err(self.broken(op, namespace, format!("an invalid key {key:?}: {err}")));
            }
        }
        Ok(())
    }
}

/// A name fit for messages: printable, bounded, never empty.
fn sanitize_name(name: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    if name.is_empty() { "foreign backend".to_string() } else { name }
}

impl fmt::Display for ForeignAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Debug for ForeignAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ForeignAdapter({})", self.name)
    }
}

fn parts(key: &Key) -> (String, String, String) {
    key.clone().into_tuple()
}

#[async_trait]
impl Backend for ForeignAdapter {
    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        let (p, s, k) = parts(key);
        self.call(Operation::Read, key.to_string(), move |b| b.read(p, s, k)).await
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        let (p, s, k) = parts(key);
        self.call(Operation::Write, key.to_string(), move |b| b.write(p, s, k, value.to_vec()))
            .await
    }

    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        let (p, s, k) = parts(key);
        self.call(Operation::Remove, key.to_string(), move |b| b.remove(p, s, k, lazy)).await
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        let (p, s) = (namespace.primary().to_string(), namespace.secondary().to_string());
        let keys = self.call(Operation::List, namespace.to_string(), move |b| b.list(p, s)).await?;
        self.check_keys(Operation::List, namespace, &keys)?;
        Ok(keys)
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        let op = Operation::ListPage;
        let (p, s) = (namespace.primary().to_string(), namespace.secondary().to_string());
        let token = token.map(str::to_string);
        let asked = u32::try_from(limit).unwrap_or(u32::MAX);
        let page =
            self.call(op, namespace.to_string(), move |b| b.list_page(p, s, token, asked)).await?;
        if page.keys.len() > asked as usize {
            let what = format!("{} keys for a page of at most {asked}", page.keys.len());
            return Err(self.broken(op, namespace, what));
        }
        self.check_keys(op, namespace, &page.keys)?;
        if let Some(next) = &page.next_token
            && (next.is_empty() || next.len() > MAX_TOKEN_LEN || next.chars().any(char::is_control))
        {
            let shown: String = next.chars().take(64).collect();
            let what = format!(
                "a malformed page token {shown:?} (tokens are 1 to {MAX_TOKEN_LEN} bytes of \
                 printable text)"
            );
            return Err(self.broken(op, namespace, what));
        }
        Ok(Page::new(page.keys, page.next_token))
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        let op = Operation::ListAllKeys;
        let keys = self.call(op, "all keys".to_string(), |b| b.list_all_keys()).await?;
        keys.into_iter()
            .map(|k| {
                Key::new(&k.primary_namespace, &k.secondary_namespace, &k.key).map_err(|err| {
                    let what = format!(
                        "an invalid key ({:?}, {:?}, {:?}): {err}",
                        k.primary_namespace, k.secondary_namespace, k.key
                    );
                    self.broken(op, &"all keys", what)
                })
            })
            .collect()
    }
}
