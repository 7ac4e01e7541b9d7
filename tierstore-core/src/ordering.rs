//! Per-key call-order versioning: LDK's ordering rule for writes and removes.
//!
//! LDK requires that mutations of one key take effect in the order they were *called*,
//! whenever their futures complete. [`KeyOrdering::ticket`] assigns a version at call time
//! (before the future is returned); [`Ticket::apply`] later runs the mutation under that
//! key's async lock and skips it if a newer version has already been applied. The lock covers
//! everything the mutation does (primary and backup together), so every tier sees the same
//! order, and retries made by layers below happen inside it.
//!
//! Entries live only while a ticket or guard for the key exists: memory does not grow with
//! the number of distinct keys ever written.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::key::Key;

/// The ordering state of one store (a TierStore or an [`LdkStore`](crate::LdkStore)).
#[derive(Default)]
pub(crate) struct KeyOrdering {
    next_version: AtomicU64,
    slots: Mutex<HashMap<Key, Slot>>,
}

/// A key's async lock, holding the last version whose mutation took effect (in at least one
/// store).
type Slot = Arc<tokio::sync::Mutex<u64>>;

/// A mutation's place in its key's order, taken at call time.
pub(crate) struct Ticket {
    version: u64,
    hold: Hold,
}

/// Keeps a key's slot alive; frees it when the last holder goes.
struct Hold {
    ordering: Arc<KeyOrdering>,
    key: Key,
    slot: Slot,
}

/// Whether a mutation took effect, as reported by the closure given to [`Ticket::apply`].
pub(crate) struct Applied<T> {
    /// `true` if the new state reached at least one store: older versions must now be skipped.
    pub(crate) took_effect: bool,
    /// What the caller gets.
    pub(crate) result: T,
}

/// Exclusive access to one key outside of the version order (used by repair).
pub(crate) struct KeyGuard {
    // Field order matters: the guard releases its reference to the slot before `Hold`'s drop
    // counts the remaining ones.
    _guard: tokio::sync::OwnedMutexGuard<u64>,
    _hold: Hold,
}

impl KeyOrdering {
    /// Assigns the next version to a mutation of `key`. Call this synchronously, when the
    /// caller calls `write`/`remove`, not when the future is first polled.
    pub(crate) fn ticket(self: &Arc<Self>, key: &Key) -> Ticket {
        // Version 0 is the "nothing applied yet" state of a slot.
        let version = self.next_version.fetch_add(1, Ordering::Relaxed) + 1;
        Ticket { version, hold: self.hold(key) }
    }

    /// Waits for exclusive access to `key` without taking a version: mutations called
    /// before or after keep their order, and none is skipped because of this guard.
    pub(crate) async fn lock(self: &Arc<Self>, key: &Key) -> KeyGuard {
        let hold = self.hold(key);
        let guard = Arc::clone(&hold.slot).lock_owned().await;
        KeyGuard { _guard: guard, _hold: hold }
    }

    /// Number of keys with a live entry (in-flight mutations or guards).
    pub(crate) fn live_keys(&self) -> usize {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn hold(self: &Arc<Self>, key: &Key) -> Hold {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let slot = Arc::clone(slots.entry(key.clone()).or_default());
        Hold { ordering: Arc::clone(self), key: key.clone(), slot }
    }
}

impl Ticket {
    /// The version assigned at call time.
    #[cfg(test)]
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// Runs `mutation` under the key's lock unless a newer version already took effect, in
    /// which case it is skipped and `skipped()` is returned: the caller's state was superseded
    /// by a mutation called later, which is what LDK asks for.
    pub(crate) async fn apply<T, F, Fut>(self, skipped: impl FnOnce() -> T, mutation: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Applied<T>>,
    {
        let mut applied = self.hold.slot.lock().await;
        if *applied >= self.version {
            return skipped();
        }
        let outcome = mutation().await;
        if outcome.took_effect {
            *applied = self.version;
        }
        outcome.result
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut slots = self.ordering.slots.lock().unwrap_or_else(|p| p.into_inner());
        // The map holds one reference and we hold one: nobody else needs the entry.
        if Arc::strong_count(&self.slot) == 2 {
            slots.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::new("monitors", "", "chan").unwrap()
    }

    #[tokio::test]
    async fn later_called_mutation_awaited_first_wins() {
        let ordering = Arc::new(KeyOrdering::default());
        let first = ordering.ticket(&key());
        let second = ordering.ticket(&key());
        assert!(first.version() < second.version());

        let applied = Arc::new(Mutex::new(Vec::new()));
        let run = |ticket: Ticket, value: u64| {
            let applied = Arc::clone(&applied);
            ticket.apply(
                || "skipped",
                move || async move {
                    applied.lock().unwrap().push(value);
                    Applied { took_effect: true, result: "applied" }
                },
            )
        };
        assert_eq!(run(second, 2).await, "applied");
        assert_eq!(run(first, 1).await, "skipped");
        assert_eq!(*applied.lock().unwrap(), vec![2]);
    }

    #[tokio::test]
    async fn failed_mutation_does_not_supersede_older_ones() {
        let ordering = Arc::new(KeyOrdering::default());
        let first = ordering.ticket(&key());
        let second = ordering.ticket(&key());
        let failed =
            second.apply(|| false, || async { Applied { took_effect: false, result: true } }).await;
        assert!(failed, "the failing mutation ran");
        let ran = first.apply(|| false, || async { Applied { took_effect: true, result: true } });
        assert!(ran.await, "an older mutation still applies after a newer one failed everywhere");
    }

    #[tokio::test]
    async fn entries_are_freed_when_unused() {
        let ordering = Arc::new(KeyOrdering::default());
        for i in 0..100 {
            let key = Key::new("ns", "", &format!("k{i}")).unwrap();
            let ticket = ordering.ticket(&key);
            assert_eq!(ordering.live_keys(), 1);
            ticket.apply(|| (), || async { Applied { took_effect: true, result: () } }).await;
            let guard = ordering.lock(&key).await;
            assert_eq!(ordering.live_keys(), 1);
            drop(guard);
        }
        assert_eq!(ordering.live_keys(), 0);
    }

    #[tokio::test]
    async fn guard_excludes_mutations_of_the_key() {
        let ordering = Arc::new(KeyOrdering::default());
        let guard = ordering.lock(&key()).await;
        let ticket = ordering.ticket(&key());
        let mut pending =
            Box::pin(ticket.apply(|| (), || async { Applied { took_effect: true, result: () } }));
        assert!(futures::poll!(pending.as_mut()).is_pending(), "the guard holds the key");
        drop(guard);
        pending.await;
        assert_eq!(ordering.live_keys(), 0);
    }
}
