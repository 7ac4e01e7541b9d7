//! [`Traced`]: a `tracing` span and event per operation.

use std::fmt;
use std::future::Future;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use tracing::Instrument;

use crate::backend::{Backend, Capabilities, Page};
use crate::error::{Error, Operation, Tier};
use crate::key::{Key, Namespace};

/// Runs each operation in a `tierstore.op` span (fields `op`, `backend`, `tier`, `target`) and
/// emits one event when it ends: `debug` on success and for `NotFound`, `warn` on failure,
/// with the elapsed time and the bytes moved. The library never installs a subscriber.
///
/// Keeps the inner backend's `Display` name: it observes and changes nothing.
/// [`TierStore`](crate::TierStore) wraps each of its tiers in one.
#[derive(Debug, Clone)]
pub struct Traced<B> {
    inner: B,
    tier: Option<Tier>,
}

impl<B: Backend> Traced<B> {
    /// Wraps `inner`.
    pub fn new(inner: B) -> Self {
        Traced { inner, tier: None }
    }

    /// Names the tier the backend fills, in every span.
    pub fn with_tier(mut self, tier: Tier) -> Self {
        self.tier = Some(tier);
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
        bytes_in: usize,
        bytes_out: impl Fn(&T) -> usize,
        future: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let tier = self.tier.map(|t| t.to_string());
        let span = tracing::debug_span!(
            target: "tierstore", "tierstore.op",
            %op, backend = %self.inner, tier = tier.as_deref().unwrap_or("-"), %target
        );
        async {
            let start = Instant::now();
            let result = future.await;
            let elapsed = start.elapsed();
            match &result {
                Ok(value) => tracing::debug!(
                    target: "tierstore", ?elapsed, bytes = bytes_in + bytes_out(value), "ok"
                ),
                Err(err) if err.is_not_found() => {
                    tracing::debug!(target: "tierstore", ?elapsed, "not found")
                }
                Err(err) => tracing::warn!(target: "tierstore", ?elapsed, error = %err, "failed"),
            }
            result
        }
        .instrument(span)
        .await
    }
}

impl<B: Backend> fmt::Display for Traced<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<B: Backend> Backend for Traced<B> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        self.run(Operation::Read, key, 0, Vec::len, self.inner.read(key)).await
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        let len = value.len();
        self.run(Operation::Write, key, len, |_| 0, self.inner.write(key, value)).await
    }

    /// One span for the batch, named after its first key.
    async fn write_batch(&self, entries: Vec<(Key, Bytes)>) -> Result<(), Error> {
        let Some((first, _)) = entries.first() else { return Ok(()) };
        let first = first.clone();
        let len = entries.iter().map(|(_, value)| value.len()).sum();
        self.run(Operation::Write, &first, len, |_| 0, self.inner.write_batch(entries)).await
    }

    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        self.run(Operation::Remove, key, 0, |_| 0, self.inner.remove(key, lazy)).await
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        self.run(Operation::List, namespace, 0, |_| 0, self.inner.list(namespace)).await
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        let page = self.inner.list_page(namespace, token, limit);
        self.run(Operation::ListPage, namespace, 0, |_| 0, page).await
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        self.run(Operation::ListAllKeys, &"*", 0, |_| 0, self.inner.list_all_keys()).await
    }

    fn store_address(&self) -> usize {
        self.inner.store_address()
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        self.run(Operation::ListAllKeys, &"*", 0, |_| 0, self.inner.list_namespaces()).await
    }
}
