//! [`Timeout`]: a deadline per operation.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::backend::{Backend, Capabilities, Page};
use crate::error::{Error, Operation};
use crate::key::{Key, Namespace};

/// Fails an operation that takes longer than its deadline with [`Error::Timeout`] (transient,
/// so an outer [`Retry`](super::Retry) retries it). Shown as `Timeout(inner)`.
///
/// Mutations get their own deadline ([`with_mutation_timeout`](Self::with_mutation_timeout)):
/// writing a 64 MiB network graph to object storage takes longer than reading a monitor.
///
/// A timed-out mutation's outcome is unknown: the backend may still apply it. Backends with a
/// single ordered channel (the SQLite writer thread, one Redis connection) apply requests in
/// order anyway; over a connection pool (object storage) a late request can land after a
/// newer one, so keep mutation deadlines well above the backend's normal latency.
#[derive(Debug, Clone)]
pub struct Timeout<B> {
    inner: B,
    timeout: Duration,
    mutation_timeout: Duration,
}

impl<B: Backend> Timeout<B> {
    /// Wraps `inner` with one deadline for every operation.
    pub fn new(inner: B, timeout: Duration) -> Self {
        Timeout { inner, timeout, mutation_timeout: timeout }
    }

    /// Sets a separate deadline for writes and removes.
    pub fn with_mutation_timeout(mut self, timeout: Duration) -> Self {
        self.mutation_timeout = timeout;
        self
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    async fn run<T>(
        &self,
        op: Operation,
        target: &(dyn fmt::Display + Sync),
        future: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let after = match op {
            Operation::Write | Operation::Remove => self.mutation_timeout,
            _ => self.timeout,
        };
        self.run_for(after, op, target, future).await
    }

    /// `future` under the deadline `after`.
    async fn run_for<T>(
        &self,
        after: Duration,
        op: Operation,
        target: &(dyn fmt::Display + Sync),
        future: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        tokio::time::timeout(after, future).await.unwrap_or_else(|_| {
            Err(Error::Timeout {
                backend: self.inner.to_string(),
                op,
                target: target.to_string(),
                after,
            })
        })
    }
}

impl<B: Backend> fmt::Display for Timeout<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timeout({})", self.inner)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<B: Backend> Backend for Timeout<B> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        self.run(Operation::Read, key, self.inner.read(key)).await
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        self.run(Operation::Write, key, self.inner.write(key, value)).await
    }

    /// The batch gets the mutation deadline once per entry: a page of a copy is not held to
    /// the deadline of a single write.
    async fn write_batch(&self, entries: Vec<(Key, Bytes)>) -> Result<(), Error> {
        let Some((first, _)) = entries.first() else { return Ok(()) };
        let first = first.clone();
        let count = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        let after = self.mutation_timeout.saturating_mul(count);
        self.run_for(after, Operation::Write, &first, self.inner.write_batch(entries)).await
    }

    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        self.run(Operation::Remove, key, self.inner.remove(key, lazy)).await
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        self.run(Operation::List, namespace, self.inner.list(namespace)).await
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        self.run(Operation::ListPage, namespace, self.inner.list_page(namespace, token, limit))
            .await
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        self.run(Operation::ListAllKeys, &"*", self.inner.list_all_keys()).await
    }

    fn store_address(&self) -> usize {
        self.inner.store_address()
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        self.run(Operation::ListAllKeys, &"*", self.inner.list_namespaces()).await
    }
}
