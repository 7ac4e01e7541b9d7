//! The record of durable keys whose primary and backup copies may differ, kept in memory and,
//! with a journal, in the journal (so that it survives restarts).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::error::{Operation, Tier};
use crate::journal::Journal;
use crate::key::Key;

/// A durable key whose primary and backup copies may differ, because one half of a mutation
/// failed (or was deferred, or the caller dropped the future, or the process stopped before
/// both halves finished).
///
/// [`TierStore::repair`](crate::TierStore::repair) (and the background repairer) makes the
/// backup equal the primary again for every recorded key; a later mutation of the key that
/// succeeds in both tiers also clears the record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Divergence {
    /// The key whose copies may differ.
    pub key: Key,
    /// The tier that did not apply (or may not have applied) the mutation.
    pub tier: Tier,
    /// The mutation: [`Operation::Write`] or [`Operation::Remove`].
    pub operation: Operation,
    /// Why: the tier's error, that the write was deferred, or that it was interrupted.
    pub reason: String,
    /// When it was recorded (to the millisecond, as the journal keeps it).
    pub at: SystemTime,
}

/// The latest divergence per key, mirrored to the journal when there is one.
#[derive(Default)]
pub(crate) struct DivergenceLog {
    entries: Mutex<HashMap<Key, Divergence>>,
    journal: Option<Arc<Journal>>,
}

impl DivergenceLog {
    /// A log that starts with `entries` and writes its changes to `journal`.
    pub(crate) fn new(journal: Option<Arc<Journal>>, entries: HashMap<Key, Divergence>) -> Self {
        DivergenceLog { entries: Mutex::new(entries), journal }
    }

    /// Records that `key`'s tiers may differ (closing journal mutation `id`, if not 0).
    pub(crate) fn record(
        &self,
        id: u64,
        key: &Key,
        tier: Tier,
        operation: Operation,
        reason: String,
    ) {
        tracing::warn!(
            target: "tierstore",
            %key, %tier, %operation, %reason,
            "primary and backup diverged; the key is recorded until repaired"
        );
        let at = crate::journal::truncate_to_millis(SystemTime::now());
        let divergence = Divergence { key: key.clone(), tier, operation, reason, at };
        if let Some(journal) = &self.journal {
            journal.diverged(id, &divergence);
        }
        self.lock().insert(key.clone(), divergence);
    }

    /// Both tiers now agree on `key`.
    pub(crate) fn resolved(&self, key: &Key) {
        let mut entries = self.lock();
        if !entries.is_empty()
            && entries.remove(key).is_some()
            && let Some(journal) = &self.journal
        {
            journal.resolved(key);
        }
    }

    pub(crate) fn contains(&self, key: &Key) -> bool {
        let entries = self.lock();
        !entries.is_empty() && entries.contains_key(key)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(crate) fn snapshot(&self) -> Vec<Divergence> {
        let mut all: Vec<_> = self.lock().values().cloned().collect();
        all.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.key.cmp(&b.key)));
        all
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Divergence>> {
        // Each method makes one map update with nothing that can panic in between: a poisoned
        // lock still guards a consistent map.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
