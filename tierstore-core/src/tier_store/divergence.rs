//! The record of durable mutations that reached one of primary and backup but not the other.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::error::{Operation, Tier};
use crate::key::Key;

/// A durable key whose primary and backup copies may differ, because one half of a mutation
/// failed (or the caller dropped the future before both halves finished).
///
/// [`TierStore::repair`](crate::TierStore::repair) makes the backup equal the primary again
/// for every recorded key; a later mutation of the key that succeeds in both tiers also clears
/// the record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Divergence {
    /// The key whose copies may differ.
    pub key: Key,
    /// The tier that did not apply (or may not have applied) the mutation.
    pub tier: Tier,
    /// The mutation: [`Operation::Write`] or [`Operation::Remove`].
    pub operation: Operation,
    /// Why: the tier's error, or that the caller cancelled the operation.
    pub reason: String,
    /// When it was recorded.
    pub at: SystemTime,
}

/// The latest divergence per key.
#[derive(Default)]
pub(crate) struct DivergenceLog {
    entries: Mutex<HashMap<Key, Divergence>>,
}

impl DivergenceLog {
    pub(crate) fn record(&self, key: &Key, tier: Tier, operation: Operation, reason: String) {
        tracing::warn!(
            target: "tierstore",
            %key, %tier, %operation, %reason,
            "primary and backup diverged; run repair to copy the primary's state to the backup"
        );
        let divergence =
            Divergence { key: key.clone(), tier, operation, reason, at: SystemTime::now() };
        self.lock().insert(key.clone(), divergence);
    }

    /// Both tiers now agree on `key`.
    pub(crate) fn resolved(&self, key: &Key) {
        let mut entries = self.lock();
        if !entries.is_empty() {
            entries.remove(key);
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<Divergence> {
        let mut all: Vec<_> = self.lock().values().cloned().collect();
        all.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.key.cmp(&b.key)));
        all
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Divergence>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
