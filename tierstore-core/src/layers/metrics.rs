//! [`Metered`]: operation counts, bytes, errors and latency percentiles.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use hdrhistogram::Histogram;

use crate::backend::{Backend, Capabilities, Page};
use crate::error::{Error, Operation};
use crate::key::{Key, Namespace};

/// Records every operation of the wrapped backend into a shared [`Metrics`]. Keeps the inner
/// backend's `Display` name: it observes and changes nothing.
#[derive(Debug, Clone)]
pub struct Metered<B> {
    inner: B,
    metrics: Arc<Metrics>,
}

/// Counters and latency histograms per operation, shared between a [`Metered`] backend and
/// whoever reads them.
#[derive(Debug, Default)]
pub struct Metrics {
    ops: Mutex<BTreeMap<Operation, OpRecord>>,
}

#[derive(Debug)]
struct OpRecord {
    count: u64,
    errors: u64,
    bytes: u64,
    /// Microseconds, 3 significant digits.
    latency: Histogram<u64>,
}

/// What [`Metrics::snapshot`] reports for one operation.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct OpStats {
    /// Operations finished (successful or not).
    pub count: u64,
    /// Operations that failed (a read of a missing key is not a failure).
    pub errors: u64,
    /// Value bytes written or read.
    pub bytes: u64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Slowest operation.
    pub max: Duration,
}

/// A copy of [`Metrics`] at one moment.
pub type MetricsSnapshot = BTreeMap<Operation, OpStats>;

impl Metrics {
    fn record(&self, op: Operation, elapsed: Duration, bytes: usize, failed: bool) {
        let mut ops = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        let record = ops.entry(op).or_insert_with(|| OpRecord {
            count: 0,
            errors: 0,
            bytes: 0,
            latency: latency_histogram(),
        });
        record.count += 1;
        record.errors += u64::from(failed);
        record.bytes += bytes as u64;
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX / 2).max(1);
        record.latency.saturating_record(micros);
    }

    /// Current figures per operation.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let ops = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        ops.iter()
            .map(|(op, r)| {
                let q = |q| Duration::from_micros(r.latency.value_at_quantile(q));
                let stats = OpStats {
                    count: r.count,
                    errors: r.errors,
                    bytes: r.bytes,
                    p50: q(0.5),
                    p99: q(0.99),
                    max: Duration::from_micros(r.latency.max()),
                };
                (*op, stats)
            })
            .collect()
    }
}

impl<B: Backend> Metered<B> {
    /// Wraps `inner` with fresh metrics.
    pub fn new(inner: B) -> Self {
        Metered { inner, metrics: Arc::default() }
    }

    /// Wraps `inner`, recording into existing `metrics` (e.g. several backends of one tier).
    pub fn with_metrics(inner: B, metrics: Arc<Metrics>) -> Self {
        Metered { inner, metrics }
    }

    /// The shared metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    async fn run<T>(
        &self,
        op: Operation,
        bytes_in: usize,
        bytes_out: impl Fn(&T) -> usize,
        future: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let start = Instant::now();
        let result = future.await;
        let (bytes, failed) = match &result {
            Ok(value) => (bytes_in + bytes_out(value), false),
            Err(err) => (0, !err.is_not_found()),
        };
        self.metrics.record(op, start.elapsed(), bytes, failed);
        result
    }
}

impl<B: Backend> fmt::Display for Metered<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<B: Backend> Backend for Metered<B> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        self.run(Operation::Read, 0, Vec::len, self.inner.read(key)).await
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        let len = value.len();
        self.run(Operation::Write, len, |_| 0, self.inner.write(key, value)).await
    }

    /// Recorded as one write of the batch's bytes.
    async fn write_batch(&self, entries: Vec<(Key, Bytes)>) -> Result<(), Error> {
        let len = entries.iter().map(|(_, value)| value.len()).sum();
        self.run(Operation::Write, len, |_| 0, self.inner.write_batch(entries)).await
    }

    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        self.run(Operation::Remove, 0, |_| 0, self.inner.remove(key, lazy)).await
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        self.run(Operation::List, 0, |_| 0, self.inner.list(namespace)).await
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        self.run(Operation::ListPage, 0, |_| 0, self.inner.list_page(namespace, token, limit)).await
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        self.run(Operation::ListAllKeys, 0, |_| 0, self.inner.list_all_keys()).await
    }

    fn store_address(&self) -> usize {
        self.inner.store_address()
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        self.run(Operation::ListAllKeys, 0, |_| 0, self.inner.list_namespaces()).await
    }
}

/// A histogram of latencies in microseconds, from 1 µs to one hour at 3 significant digits.
/// Explicit bounds matter: `saturating_record` clamps to the *current* upper bound rather than
/// growing an auto-resizing histogram, which would cap every latency at about 2 ms.
fn latency_histogram() -> Histogram<u64> {
    const HOUR_MICROS: u64 = 3_600_000_000;
    Histogram::new_with_bounds(1, HOUR_MICROS, 3).expect("valid bounds and precision")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryBackend;

    #[tokio::test]
    async fn counts_operations_bytes_and_errors() {
        let backend = Metered::new(MemoryBackend::new());
        let key = Key::new("ns", "", "k").unwrap();
        backend.write(&key, Bytes::from_static(&[0; 100])).await.unwrap();
        backend.read(&key).await.unwrap();
        backend.remove(&key, false).await.unwrap();
        assert!(backend.read(&key).await.unwrap_err().is_not_found());
        let snapshot = backend.metrics().snapshot();
        assert_eq!(snapshot[&Operation::Write].count, 1);
        assert_eq!(snapshot[&Operation::Write].bytes, 100);
        assert_eq!(snapshot[&Operation::Read].count, 2);
        assert_eq!(snapshot[&Operation::Read].bytes, 100);
        assert_eq!(snapshot[&Operation::Read].errors, 0, "NotFound is an answer, not a failure");
        assert!(snapshot[&Operation::Read].p99 >= snapshot[&Operation::Read].p50);
        assert_eq!(backend.to_string(), "memory");
    }

    #[test]
    fn long_latencies_are_not_capped() {
        let metrics = Metrics::default();
        metrics.record(Operation::Write, Duration::from_millis(250), 1, false);
        let stats = &metrics.snapshot()[&Operation::Write];
        assert!(stats.p99 >= Duration::from_millis(249), "{:?}", stats.p99);
        assert!(stats.p50 >= Duration::from_millis(249), "{:?}", stats.p50);
    }
}
