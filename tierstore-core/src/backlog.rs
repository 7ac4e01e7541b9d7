//! What happens when the backup fails: the [`BackupPolicy`], the bounded backlog of keys the
//! backup is behind, and the background repairer that brings it up to date.
//!
//! # Contract
//!
//! - [`BackupPolicy::Required`] (the default): a durable write fails if either tier fails.
//!   The key is recorded as a divergence (in the journal, if there is one) and repaired later.
//! - [`BackupPolicy::Deferred`]: if only the backup fails, the key joins the backlog and the
//!   write succeeds once the primary and the journal have it. While the backup is known to
//!   be down (its last failure was transient and no repair has succeeded since), writes go
//!   to the primary alone and join the backlog, so the node does not wait on a dead server;
//!   a key already in the backlog also skips the backup until it is repaired. Once the
//!   backlog holds `max_backlog` keys, a write that would add another one fails instead,
//!   naming the backup: exposure stays bounded.
//! - The repairer (on by default with [`TierStoreBuilder::open`](crate::TierStoreBuilder::open))
//!   wakes when a key diverges, copies each recorded key from primary to backup under the
//!   key's ordering lock, and retries failures with the retry layer's backoff
//!   ([`RetryConfig`]: initial delay, multiplier, cap, jitter; it never gives up). The
//!   primary is authoritative: a key absent from the primary is removed from the backup.
//!
//! # Crash story
//!
//! The backlog *is* the journal's divergence set: a deferred write is acknowledged only after
//! its `begin` record is durable, so a crash at any point leaves the key recorded (as an
//! interrupted mutation or as a divergence) and the next `open()` or the repairer copies it.
//! The per-key lock makes the repairer's copy and any mutation of the same key take effect in
//! order; the copy reads the primary's current value, so a newer mutation supersedes an older
//! pending one.

use std::sync::{Arc, Weak};

use tokio::sync::Notify;

use crate::layers::RetryConfig;
use crate::tier_store::Inner;

/// The default [`BackupPolicy::deferred`] bound: keys the backup may be behind.
pub const DEFAULT_MAX_BACKLOG: usize = 10_000;

/// What a durable write does when the backup fails. Set with
/// [`TierStoreBuilder::backup_policy`](crate::TierStoreBuilder::backup_policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BackupPolicy {
    /// A durable write fails if either tier fails (the default).
    #[default]
    Required,
    /// A backup failure defers the key to a bounded, durable backlog instead of failing the
    /// write. Needs a journal. Build with [`BackupPolicy::deferred`].
    #[non_exhaustive]
    Deferred {
        /// Writes fail once the backup is this many keys behind.
        max_backlog: usize,
    },
}

impl BackupPolicy {
    /// [`BackupPolicy::Deferred`] with a backlog of at most `max_backlog` keys (at least 1).
    pub fn deferred(max_backlog: usize) -> Self {
        BackupPolicy::Deferred { max_backlog: max_backlog.max(1) }
    }

    /// The backlog bound, for [`BackupPolicy::Deferred`].
    pub fn max_backlog(&self) -> Option<usize> {
        match self {
            BackupPolicy::Required => None,
            BackupPolicy::Deferred { max_backlog } => Some(*max_backlog),
        }
    }
}

/// Runs the background repairer of the store behind `inner` until the store is dropped.
pub(crate) async fn repairer(inner: Weak<Inner>, wake: Arc<Notify>, config: RetryConfig) {
    let mut delays = config.backoff();
    loop {
        let Some(store) = inner.upgrade() else { return };
        let idle = store.divergences.len() == 0 && !store.sync_pending();
        let outcome = if idle { None } else { Some(store.repair_pass().await) };
        drop(store);
        match outcome {
            // Nothing to do: wait for the next divergence (or for the store to go away).
            None => {
                delays = config.backoff();
                wake.notified().await;
            }
            Some(Ok(())) => delays = config.backoff(),
            Some(Err(err)) => {
                let delay = delays.next().unwrap_or(config.max_delay);
                tracing::warn!(
                    target: "tierstore", error = %err, ?delay,
                    "background repair failed; retrying"
                );
                tokio::time::sleep(delay).await;
            }
        }
    }
}
