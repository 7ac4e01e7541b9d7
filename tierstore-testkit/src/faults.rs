//! Fault-injection wrappers: backends that fail, delay or count the calls of a real backend.
//!
//! Each wraps any [`Backend`] and is itself one. Share it through an `Arc` to change its
//! behaviour while a [`TierStore`](tierstore_core::TierStore) uses it:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use tierstore_core::{Backend, Key, MemoryBackend, Operation};
//! use tierstore_testkit::faults::{Fault, Faulty};
//!
//! let backend = Arc::new(Faulty::new(MemoryBackend::new()));
//! backend.inject(Fault::on(Operation::Write).transient().times(2));
//! let key = Key::new("ns", "", "k").unwrap();
//! assert!(backend.write(&key, vec![1].into()).await.unwrap_err().is_transient());
//! assert!(backend.write(&key, vec![1].into()).await.is_err());
//! assert!(backend.write(&key, vec![1].into()).await.is_ok());
//! # });
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tierstore_core::{Backend, Bytes, Capabilities, Error, Key, Namespace, Operation, Page};

/// Which calls of a [`Fault`] fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Every matching call.
    Always,
    /// The next `n` matching calls, then none.
    Next(usize),
    /// Every matching call after the first `n` have succeeded.
    After(usize),
}

/// One injected failure rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    op: Option<Operation>,
    namespace: Option<Namespace>,
    schedule: Schedule,
    transient: bool,
    seen: usize,
}

impl Fault {
    /// Fails every call of `op`, permanently, until changed.
    pub fn on(op: Operation) -> Self {
        Fault {
            op: Some(op),
            namespace: None,
            schedule: Schedule::Always,
            transient: false,
            seen: 0,
        }
    }

    /// Fails every call of any operation.
    pub fn any_op() -> Self {
        Fault { op: None, ..Fault::on(Operation::Read) }
    }

    /// Only calls about this namespace.
    pub fn in_namespace(mut self, namespace: Namespace) -> Self {
        self.namespace = Some(namespace);
        self
    }

    /// Fails with [`Error::Transient`] instead of a permanent [`Error::Backend`].
    pub fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    /// Fails only the next `n` matching calls.
    pub fn times(mut self, n: usize) -> Self {
        self.schedule = Schedule::Next(n);
        self
    }

    /// Lets `n` matching calls through, then fails the rest.
    pub fn after(mut self, n: usize) -> Self {
        self.schedule = Schedule::After(n);
        self
    }

    fn matches(&self, op: Operation, namespace: Option<&Namespace>) -> bool {
        self.op.is_none_or(|o| o == op)
            && self.namespace.as_ref().is_none_or(|n| Some(n) == namespace)
    }

    /// Counts this call and says whether it fails.
    fn fire(&mut self) -> bool {
        self.seen += 1;
        match self.schedule {
            Schedule::Always => true,
            Schedule::Next(n) => self.seen <= n,
            Schedule::After(n) => self.seen > n,
        }
    }
}

/// Fails calls by operation and schedule ([`Fault`]); passes the rest to the inner backend.
/// Shown as `Faulty(inner)`.
pub struct Faulty<B> {
    inner: B,
    faults: Mutex<Vec<Fault>>,
    injected: AtomicUsize,
}

impl<B: Backend> Faulty<B> {
    /// Wraps `inner`, failing nothing yet.
    pub fn new(inner: B) -> Self {
        Faulty { inner, faults: Mutex::default(), injected: AtomicUsize::new(0) }
    }

    /// Adds a failure rule.
    pub fn inject(&self, fault: Fault) {
        self.faults.lock().unwrap().push(fault);
    }

    /// Removes every failure rule.
    pub fn heal(&self) {
        self.faults.lock().unwrap().clear();
    }

    /// How many calls failed because of an injected fault.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    fn check(
        &self,
        op: Operation,
        target: &dyn fmt::Display,
        ns: Option<&Namespace>,
    ) -> Result<(), Error> {
        let mut faults = self.faults.lock().unwrap();
        let mut transient = None;
        for fault in faults.iter_mut().filter(|f| f.matches(op, ns)) {
            if fault.fire() && transient.is_none() {
                transient = Some(fault.transient);
            }
        }
        match transient {
            None => Ok(()),
            Some(is_transient) => {
                self.injected.fetch_add(1, Ordering::SeqCst);
                let source = format!(
                    "injected {} fault",
                    if is_transient { "transient" } else { "permanent" }
                );
                Err(if is_transient {
                    Error::transient(self, op, target, source)
                } else {
                    Error::backend(self, op, target, source)
                })
            }
        }
    }
}

impl<B: Backend> fmt::Display for Faulty<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Faulty({})", self.inner)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<B: Backend> Backend for Faulty<B> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        self.check(Operation::Read, key, Some(key.namespace()))?;
        self.inner.read(key).await
    }
    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        self.check(Operation::Write, key, Some(key.namespace()))?;
        self.inner.write(key, value).await
    }
    /// One entry at a time through [`write`](Backend::write), so that faults, delays and
    /// counts apply per key as for single writes.
    async fn write_batch(&self, entries: Vec<(Key, Bytes)>) -> Result<(), Error> {
        tierstore_core::write_each(self, entries).await
    }
    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        self.check(Operation::Remove, key, Some(key.namespace()))?;
        self.inner.remove(key, lazy).await
    }
    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        self.check(Operation::List, namespace, Some(namespace))?;
        self.inner.list(namespace).await
    }
    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        self.check(Operation::ListPage, namespace, Some(namespace))?;
        self.inner.list_page(namespace, token, limit).await
    }
    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        self.check(Operation::ListAllKeys, &"*", None)?;
        self.inner.list_all_keys().await
    }

    fn store_address(&self) -> usize {
        self.inner.store_address()
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        self.check(Operation::ListAllKeys, &"*", None)?;
        self.inner.list_namespaces().await
    }
}

/// Delays calls before passing them on, to reorder completions. Delays are set per
/// operation and optionally per key; per-key delays win. Shown as `Delayed(inner)`.
pub struct Delayed<B> {
    inner: B,
    by_op: Mutex<HashMap<Operation, Duration>>,
    by_key: Mutex<HashMap<(Operation, Key), Duration>>,
}

impl<B: Backend> Delayed<B> {
    /// Wraps `inner` without delays.
    pub fn new(inner: B) -> Self {
        Delayed { inner, by_op: Mutex::default(), by_key: Mutex::default() }
    }

    /// Delays every call of `op` by `delay` (zero removes the delay).
    pub fn delay(&self, op: Operation, delay: Duration) {
        self.by_op.lock().unwrap().insert(op, delay);
    }

    /// Delays calls of `op` about `key` by `delay`.
    pub fn delay_key(&self, op: Operation, key: &Key, delay: Duration) {
        self.by_key.lock().unwrap().insert((op, key.clone()), delay);
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    async fn wait(&self, op: Operation, key: Option<&Key>) {
        let by_key = key.and_then(|k| self.by_key.lock().unwrap().get(&(op, k.clone())).copied());
        let delay = by_key.or_else(|| self.by_op.lock().unwrap().get(&op).copied());
        if let Some(delay) = delay.filter(|d| !d.is_zero()) {
            tokio::time::sleep(delay).await;
        }
    }
}

impl<B: Backend> fmt::Display for Delayed<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Delayed({})", self.inner)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<B: Backend> Backend for Delayed<B> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        self.wait(Operation::Read, Some(key)).await;
        self.inner.read(key).await
    }
    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        self.wait(Operation::Write, Some(key)).await;
        self.inner.write(key, value).await
    }
    /// One entry at a time through [`write`](Backend::write), so that faults, delays and
    /// counts apply per key as for single writes.
    async fn write_batch(&self, entries: Vec<(Key, Bytes)>) -> Result<(), Error> {
        tierstore_core::write_each(self, entries).await
    }
    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        self.wait(Operation::Remove, Some(key)).await;
        self.inner.remove(key, lazy).await
    }
    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        self.wait(Operation::List, None).await;
        self.inner.list(namespace).await
    }
    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        self.wait(Operation::ListPage, None).await;
        self.inner.list_page(namespace, token, limit).await
    }
    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        self.wait(Operation::ListAllKeys, None).await;
        self.inner.list_all_keys().await
    }

    fn store_address(&self) -> usize {
        self.inner.store_address()
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        self.wait(Operation::ListAllKeys, None).await;
        self.inner.list_namespaces().await
    }
}

/// Counts calls per operation (made, not necessarily successful). Shown as `Counting(inner)`.
pub struct Counting<B> {
    inner: B,
    counts: Mutex<HashMap<Operation, usize>>,
}

impl<B: Backend> Counting<B> {
    /// Wraps `inner` with all counts at zero.
    pub fn new(inner: B) -> Self {
        Counting { inner, counts: Mutex::default() }
    }

    /// Calls of `op` so far.
    pub fn count(&self, op: Operation) -> usize {
        self.counts.lock().unwrap().get(&op).copied().unwrap_or(0)
    }

    /// Calls of every operation so far.
    pub fn total(&self) -> usize {
        self.counts.lock().unwrap().values().sum()
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    fn hit(&self, op: Operation) {
        *self.counts.lock().unwrap().entry(op).or_default() += 1;
    }
}

impl<B: Backend> fmt::Display for Counting<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<B: Backend> Backend for Counting<B> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        self.hit(Operation::Read);
        self.inner.read(key).await
    }
    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        self.hit(Operation::Write);
        self.inner.write(key, value).await
    }
    /// One entry at a time through [`write`](Backend::write), so that faults, delays and
    /// counts apply per key as for single writes.
    async fn write_batch(&self, entries: Vec<(Key, Bytes)>) -> Result<(), Error> {
        tierstore_core::write_each(self, entries).await
    }
    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        self.hit(Operation::Remove);
        self.inner.remove(key, lazy).await
    }
    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        self.hit(Operation::List);
        self.inner.list(namespace).await
    }
    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        self.hit(Operation::ListPage);
        self.inner.list_page(namespace, token, limit).await
    }
    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        self.hit(Operation::ListAllKeys);
        self.inner.list_all_keys().await
    }

    fn store_address(&self) -> usize {
        self.inner.store_address()
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        self.hit(Operation::ListAllKeys);
        self.inner.list_namespaces().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tierstore_core::MemoryBackend;

    #[tokio::test]
    async fn schedules_fail_the_right_calls() {
        let backend = Faulty::new(MemoryBackend::new());
        let key = Key::new("ns", "", "k").unwrap();
        backend.inject(Fault::on(Operation::Write).after(2));
        assert!(backend.write(&key, Bytes::new()).await.is_ok());
        assert!(backend.write(&key, Bytes::new()).await.is_ok());
        let err = backend.write(&key, Bytes::new()).await.unwrap_err();
        assert!(!err.is_transient());
        assert!(err.to_string().contains("Faulty(memory): write ns/\"\"/k"), "{err}");
        assert!(backend.read(&key).await.is_ok(), "other operations pass");
        assert_eq!(backend.injected(), 1);
        backend.heal();
        assert!(backend.write(&key, Bytes::new()).await.is_ok());

        let other = Namespace::new("other", "").unwrap();
        backend.inject(Fault::on(Operation::List).in_namespace(other.clone()));
        assert!(backend.list(&other).await.is_err());
        assert!(backend.list(key.namespace()).await.is_ok());
    }

    #[tokio::test]
    async fn delays_and_counts() {
        let backend = Counting::new(Delayed::new(MemoryBackend::new()));
        let key = Key::new("ns", "", "k").unwrap();
        backend.inner().delay(Operation::Write, Duration::from_millis(30));
        let start = std::time::Instant::now();
        backend.write(&key, Bytes::new()).await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(30));
        backend.read(&key).await.unwrap();
        assert_eq!(backend.count(Operation::Write), 1);
        assert_eq!(backend.count(Operation::Read), 1);
        assert_eq!(backend.total(), 2);
    }
}
