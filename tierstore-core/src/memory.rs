//! [`MemoryBackend`]: an in-process backend for tests, caches and benchmarks.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::RwLock;

use async_trait::async_trait;
use bytes::Bytes;

use crate::backend::{Backend, Capabilities, Page};
use crate::error::{Error, Operation};
use crate::key::{Key, Namespace};

/// An in-memory [`Backend`]. Not durable: everything is lost with the process.
///
/// Creation order comes from a counter; each namespace keeps its keys in a `BTreeMap`
/// ordered by creation sequence, so a page costs O(log n + page).
///
/// ```
/// # tokio_test_block_on(async {
/// use tierstore_core::{Backend, Key, MemoryBackend};
///
/// let backend = MemoryBackend::new();
/// let key = Key::new("monitors", "", "chan1").unwrap();
/// backend.write(&key, vec![1, 2, 3].into()).await.unwrap();
/// assert_eq!(backend.read(&key).await.unwrap(), vec![1, 2, 3]);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Default)]
pub struct MemoryBackend {
    name: String,
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    next_seq: u64,
    namespaces: HashMap<Namespace, NamespaceState>,
}

#[derive(Default)]
struct NamespaceState {
    /// key -> (value, creation sequence)
    values: HashMap<String, (Bytes, u64)>,
    /// creation sequence -> key
    order: BTreeMap<u64, String>,
}

impl MemoryBackend {
    /// An empty store named `memory`.
    pub fn new() -> Self {
        Self::named("memory")
    }

    /// An empty store with a name for errors and logs (e.g. `memory:backup`).
    pub fn named(name: impl Into<String>) -> Self {
        MemoryBackend { name: name.into(), state: RwLock::default() }
    }

    /// Number of keys stored, over all namespaces.
    pub fn len(&self) -> usize {
        self.read_state().namespaces.values().map(|ns| ns.values.len()).sum()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` half-updated: every mutation
        // below completes its map updates without calling out. Recover from poisoning.
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Display for MemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("name", &self.name)
            .field("keys", &self.len())
            .finish()
    }
}

fn parse_token(name: &str, namespace: &Namespace, token: &str) -> Result<u64, Error> {
    token.strip_prefix('m').and_then(|seq| seq.parse::<u64>().ok()).ok_or_else(|| {
        Error::invalid_input(
            Operation::ListPage,
            format!("{name}: malformed page token {token:?} for namespace {namespace}"),
        )
    })
}

#[async_trait]
impl Backend for MemoryBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities::default().with_durable(false)
    }

    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        let state = self.read_state();
        state
            .namespaces
            .get(key.namespace())
            .and_then(|ns| ns.values.get(key.key()))
            .map(|(value, _)| value.to_vec())
            .ok_or_else(|| Error::not_found(&self.name, Operation::Read, key))
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        let mut state = self.write_state();
        let seq = state.next_seq;
        let ns = state.namespaces.entry(key.namespace().clone()).or_default();
        match ns.values.get_mut(key.key()) {
            // An update keeps the creation position.
            Some(entry) => entry.0 = value,
            None => {
                ns.values.insert(key.key().to_owned(), (value, seq));
                ns.order.insert(seq, key.key().to_owned());
                state.next_seq += 1;
            }
        }
        Ok(())
    }

    async fn remove(&self, key: &Key, _lazy: bool) -> Result<(), Error> {
        let mut state = self.write_state();
        if let Some(ns) = state.namespaces.get_mut(key.namespace()) {
            if let Some((_, seq)) = ns.values.remove(key.key()) {
                ns.order.remove(&seq);
            }
            if ns.values.is_empty() {
                state.namespaces.remove(key.namespace());
            }
        }
        Ok(())
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        let state = self.read_state();
        Ok(state
            .namespaces
            .get(namespace)
            .map(|ns| ns.order.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        let before = match token {
            Some(token) => parse_token(&self.name, namespace, token)?,
            None => u64::MAX,
        };
        let state = self.read_state();
        let Some(ns) = state.namespaces.get(namespace) else {
            return Ok(Page::default());
        };
        // Take one more than asked to learn whether anything older remains.
        let mut entries = ns.order.range(..before).rev().take(limit.saturating_add(1));
        let mut keys = Vec::with_capacity(limit.min(1024));
        let mut last = None;
        for (seq, key) in entries.by_ref().take(limit) {
            keys.push(key.clone());
            last = Some(*seq);
        }
        let more = entries.next().is_some();
        let next = match (more, last) {
            (true, Some(seq)) => Some(format!("m{seq}")),
            _ => None,
        };
        Ok(Page { keys, next })
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        let state = self.read_state();
        let mut all = Vec::new();
        for (namespace, ns) in &state.namespaces {
            for key in ns.values.keys() {
                let key = namespace.key(key).map_err(|e| {
                    Error::backend(&self.name, Operation::ListAllKeys, namespace, e)
                })?;
                all.push(key);
            }
        }
        Ok(all)
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        Ok(self.read_state().namespaces.keys().cloned().collect())
    }
}
