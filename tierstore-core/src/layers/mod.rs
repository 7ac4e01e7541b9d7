//! Layers: backends that wrap a backend to add one cross-cutting behaviour.
//!
//! Each layer is itself a [`Backend`], so they compose: `Retry(Timeout(backend))` retries
//! operations that time out. Layers that change behaviour ([`Retry`], [`Timeout`]) show
//! themselves in the backend's `Display` name; the instrumentation layers ([`Traced`],
//! [`Metered`]) only observe and keep the inner name, so error messages stay readable.
//!
//! Inside a [`TierStore`](crate::TierStore), layers run below the per-key ordering: a retried
//! mutation is retried while its key's lock is held, so the call order still holds.
//!
//! ```
//! use std::time::Duration;
//! use tierstore_core::layers::{BackendExt, RetryConfig};
//! use tierstore_core::MemoryBackend;
//!
//! let backend = MemoryBackend::named("mem")
//!     .with_timeout(Duration::from_secs(5))
//!     .with_retry(RetryConfig::default());
//! assert_eq!(backend.to_string(), "Retry(Timeout(mem))");
//! ```

mod metrics;
mod retry;
mod timeout;
mod trace;

pub use metrics::{Metered, Metrics, MetricsSnapshot, OpStats};
pub use retry::{Retry, RetryConfig};
pub use timeout::Timeout;
pub use trace::Traced;

use std::time::Duration;

use crate::backend::Backend;
use crate::error::Tier;

/// Wraps a backend in layers; implemented for every [`Backend`].
pub trait BackendExt: Backend + Sized {
    /// Retries transient failures with exponential backoff and jitter.
    fn with_retry(self, config: RetryConfig) -> Retry<Self> {
        Retry::new(self, config)
    }

    /// Fails any operation that takes longer than `timeout` with [`Error::Timeout`](crate::Error::Timeout).
    fn with_timeout(self, timeout: Duration) -> Timeout<Self> {
        Timeout::new(self, timeout)
    }

    /// Emits a `tracing` span per operation, naming the backend and the tier.
    fn traced(self, tier: Option<Tier>) -> Traced<Self> {
        let traced = Traced::new(self);
        match tier {
            Some(tier) => traced.with_tier(tier),
            None => traced,
        }
    }

    /// Counts operations, bytes, errors and latencies.
    fn metered(self) -> Metered<Self> {
        Metered::new(self)
    }
}

impl<B: Backend> BackendExt for B {}
