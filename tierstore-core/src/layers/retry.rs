//! [`Retry`]: exponential backoff with jitter on transient errors.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;

use crate::backend::{Backend, Capabilities, Page};
use crate::error::{Error, Operation};
use crate::key::{Key, Namespace};

/// When and how often [`Retry`] retries.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Delay before the first retry.
    pub initial_delay: Duration,
    /// Upper bound of any one delay.
    pub max_delay: Duration,
    /// Factor between successive delays.
    pub multiplier: f32,
    /// Attempts in total, the first one included (1 disables retrying).
    pub max_attempts: usize,
    /// No retry starts once this much time has passed since the first attempt.
    pub max_elapsed: Option<Duration>,
    /// Randomizes each delay (full jitter) so that many clients do not retry in lockstep.
    pub jitter: bool,
}

impl Default for RetryConfig {
    /// 5 attempts, 50 ms doubling up to 2 s, with jitter, within 10 s.
    fn default() -> Self {
        RetryConfig {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            multiplier: 2.0,
            max_attempts: 5,
            max_elapsed: Some(Duration::from_secs(10)),
            jitter: true,
        }
    }
}

impl RetryConfig {
    /// Sets [`RetryConfig::initial_delay`].
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets [`RetryConfig::max_delay`].
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets [`RetryConfig::multiplier`].
    pub fn multiplier(mut self, multiplier: f32) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// Sets [`RetryConfig::max_attempts`].
    pub fn max_attempts(mut self, attempts: usize) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets [`RetryConfig::max_elapsed`].
    pub fn max_elapsed(mut self, elapsed: Option<Duration>) -> Self {
        self.max_elapsed = elapsed;
        self
    }

    /// Sets [`RetryConfig::jitter`].
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same delays without the attempt limit, for a retrier that never gives up (the
    /// background repairer): after the cap is reached, every delay is at most `max_delay`.
    pub(crate) fn backoff(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        let builder = ExponentialBuilder::new()
            .with_min_delay(self.initial_delay)
            .with_max_delay(self.max_delay)
            .with_factor(self.multiplier)
            .without_max_times();
        let builder = if self.jitter { builder.with_jitter() } else { builder };
        builder.build()
    }

    fn delays(&self) -> impl Iterator<Item = Duration> {
        let builder = ExponentialBuilder::new()
            .with_min_delay(self.initial_delay)
            .with_max_delay(self.max_delay)
            .with_factor(self.multiplier)
            .with_max_times(self.max_attempts.saturating_sub(1));
        let builder = if self.jitter { builder.with_jitter() } else { builder };
        builder.build()
    }
}

/// Retries operations that fail with a transient error ([`Error::is_transient`]); permanent
/// errors and `NotFound` return at once. Shown as `Retry(inner)`.
#[derive(Debug, Clone)]
pub struct Retry<B> {
    inner: B,
    config: RetryConfig,
}

impl<B: Backend> Retry<B> {
    /// Wraps `inner`.
    pub fn new(inner: B, config: RetryConfig) -> Self {
        Retry { inner, config }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    async fn run<T, F, Fut>(&self, op: Operation, mut attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let start = Instant::now();
        let mut delays = self.config.delays();
        let mut attempts = 1;
        loop {
            let err = match attempt().await {
                Ok(value) => return Ok(value),
                Err(err) if !err.is_transient() => return Err(err),
                Err(err) => err,
            };
            let Some(delay) = delays.next() else { return Err(err) };
            if self.config.max_elapsed.is_some_and(|max| start.elapsed() + delay > max) {
                return Err(err);
            }
            tracing::warn!(
                target: "tierstore", backend = %self.inner, %op, attempt = attempts,
                ?delay, error = %err, "transient failure; retrying"
            );
            tokio::time::sleep(delay).await;
            attempts += 1;
        }
    }
}

impl<B: Backend> fmt::Display for Retry<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Retry({})", self.inner)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<B: Backend> Backend for Retry<B> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        self.run(Operation::Read, || self.inner.read(key)).await
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        self.run(Operation::Write, || self.inner.write(key, value.clone())).await
    }

    /// A transient failure retries the whole batch: entries already stored are written again
    /// with the same values, which keeps their places.
    async fn write_batch(&self, entries: Vec<(Key, Bytes)>) -> Result<(), Error> {
        self.run(Operation::Write, || self.inner.write_batch(entries.clone())).await
    }

    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        self.run(Operation::Remove, || self.inner.remove(key, lazy)).await
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        self.run(Operation::List, || self.inner.list(namespace)).await
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        self.run(Operation::ListPage, || self.inner.list_page(namespace, token, limit)).await
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        self.run(Operation::ListAllKeys, || self.inner.list_all_keys()).await
    }

    fn store_address(&self) -> usize {
        self.inner.store_address()
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        self.run(Operation::ListAllKeys, || self.inner.list_namespaces()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stop_after_max_attempts() {
        let config = RetryConfig::default()
            .initial_delay(Duration::from_millis(10))
            .max_delay(Duration::from_millis(35))
            .multiplier(2.0)
            .max_attempts(5)
            .jitter(false);
        let delays: Vec<_> = config.delays().collect();
        assert_eq!(
            delays,
            [10, 20, 35, 35].map(Duration::from_millis),
            "4 retries after the first attempt, capped at max_delay"
        );
        assert_eq!(RetryConfig::default().max_attempts(1).delays().count(), 0);
    }
}
