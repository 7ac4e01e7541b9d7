//! The store foreign code holds: LDK's operations, verify, repair and close, each a blocking
//! call run on the bindings' runtime.

use std::sync::RwLock;

use lightning::util::persist::{KVStore, MigratableKVStore, PageToken, PaginatedKVStore};
use tierstore::repair::{self, Scan};
use tierstore::{Key, TierStore as CoreStore};

use crate::error::TierStoreError;
use crate::foreign::{KeyPage, StoreKey};
use crate::runtime::run;

/// A TierStore: one LDK store over a primary, an optional backup and an optional ephemeral
/// store. Built by [`TierStoreBuilder`](crate::TierStoreBuilder).
///
/// Every method blocks until the operation is done and may be called from any thread.
/// Mutations of one key take effect in the order in which they were called.
#[derive(uniffi::Object)]
pub struct TierStore {
    store: RwLock<Option<CoreStore>>,
}

/// The differences between the primary and the backup (durable keys only).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerifyReport {
    /// Keys present in both tiers and compared.
    pub compared: u64,
    /// Keys in the primary but not in the backup (the first ones).
    pub missing: Vec<StoreKey>,
    /// Keys in the backup but not in the primary (the first ones).
    pub extra: Vec<StoreKey>,
    /// Keys whose values differ (the first ones).
    pub different: Vec<StoreKey>,
    /// How many keys are missing in all.
    pub missing_total: u64,
    /// How many keys are extra in all.
    pub extra_total: u64,
    /// How many keys differ in all.
    pub different_total: u64,
    /// Whether the backup holds exactly the primary's durable keys and values.
    pub consistent: bool,
}

/// What [`TierStore::repair`] did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RepairReport {
    /// Keys recorded as divergent (a failed backup write) and now repaired.
    pub repaired: Vec<StoreKey>,
    /// Keys recorded as divergent that could not be repaired, with the error.
    pub failed: Vec<String>,
    /// Keys copied from the primary to the backup by the full comparison.
    pub copied: u64,
    /// Keys removed from the backup because the primary does not hold them.
    pub removed: u64,
}

impl TierStore {
    pub(crate) fn new(store: CoreStore) -> Self {
        TierStore { store: RwLock::new(Some(store)) }
    }

    /// A handle to the open store, or an error once it is closed.
    fn open_store(&self) -> Result<CoreStore, TierStoreError> {
        self.store
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .ok_or_else(|| TierStoreError::invalid_input("the TierStore is closed"))
    }
}

#[uniffi::export]
impl TierStore {
    /// The value under the key; raises `NotFound` if there is none.
    pub fn read(
        &self,
        primary_namespace: String,
        secondary_namespace: String,
        key: String,
    ) -> Result<Vec<u8>, TierStoreError> {
        let store = self.open_store()?;
        run(KVStore::read(&store, &primary_namespace, &secondary_namespace, &key))
    }

    /// Stores `value` under the key (primary and backup together, or the ephemeral store for
    /// ephemeral keys).
    pub fn write(
        &self,
        primary_namespace: String,
        secondary_namespace: String,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), TierStoreError> {
        let store = self.open_store()?;
        // The future is created here, on the calling thread: that fixes the write's place in
        // the key's order before anything else runs.
        run(KVStore::write(&store, &primary_namespace, &secondary_namespace, &key, value))
    }

    /// Removes the key; succeeds if it does not exist.
    pub fn remove(
        &self,
        primary_namespace: String,
        secondary_namespace: String,
        key: String,
        lazy: bool,
    ) -> Result<(), TierStoreError> {
        let store = self.open_store()?;
        run(KVStore::remove(&store, &primary_namespace, &secondary_namespace, &key, lazy))
    }

    /// Every key of the namespace pair, in any order.
    pub fn list(
        &self,
        primary_namespace: String,
        secondary_namespace: String,
    ) -> Result<Vec<String>, TierStoreError> {
        let store = self.open_store()?;
        run(KVStore::list(&store, &primary_namespace, &secondary_namespace))
    }

    /// One page of the namespace pair's keys, newest-created first; pass `next_token` back for
    /// the next page. Tokens are opaque.
    pub fn list_page(
        &self,
        primary_namespace: String,
        secondary_namespace: String,
        token: Option<String>,
    ) -> Result<KeyPage, TierStoreError> {
        let store = self.open_store()?;
        let page = run(PaginatedKVStore::list_paginated(
            &store,
            &primary_namespace,
            &secondary_namespace,
            token.map(PageToken::new),
        ))?;
        Ok(KeyPage {
            keys: page.keys,
            next_token: page.next_page_token.map(|t| t.as_str().to_string()),
        })
    }

    /// Every key of the store (primary and ephemeral), in any order.
    pub fn list_all_keys(&self) -> Result<Vec<StoreKey>, TierStoreError> {
        let store = self.open_store()?;
        let keys = run(MigratableKVStore::list_all_keys(&store))?;
        Ok(keys
            .into_iter()
            .map(|(primary_namespace, secondary_namespace, key)| StoreKey {
                primary_namespace,
                secondary_namespace,
                key,
            })
            .collect())
    }

    /// Compares every durable key of the primary with the backup, values included. Without
    /// a backup the report is empty and consistent.
    pub fn verify(&self) -> Result<VerifyReport, TierStoreError> {
        let store = self.open_store()?;
        let report = run(async move { store.verify().await })?;
        let keys = |keys: Vec<Key>| keys.into_iter().map(StoreKey::from).collect();
        Ok(VerifyReport {
            compared: report.compared as u64,
            consistent: report.is_consistent(),
            missing: keys(report.missing),
            extra: keys(report.extra),
            different: keys(report.different),
            missing_total: report.missing_total,
            extra_total: report.extra_total,
            different_total: report.different_total,
        })
    }

    /// Makes the backup equal the primary: first the keys recorded as divergent (each under
    /// its key's lock), then a full comparison that copies what differs and removes what the
    /// primary does not hold (durable keys only). The full comparison does not take the keys'
    /// locks: run it while the store is idle, as after finding differences with
    /// [`verify`](Self::verify).
    pub fn repair(&self) -> Result<RepairReport, TierStoreError> {
        let store = self.open_store()?;
        run(async move {
            let divergent = store.repair().await?;
            let mut report = RepairReport {
                repaired: divergent.repaired.into_iter().map(StoreKey::from).collect(),
                failed: divergent.failed.into_iter().map(|(k, e)| format!("{k}: {e}")).collect(),
                copied: 0,
                removed: 0,
            };
            if let Some(backup) = store.backup() {
                let durable = |key: &Key| !store.is_ephemeral(key);
                let resilvered =
                    repair::resilver(store.primary(), backup, Scan::new().include(&durable))
                        .await?;
                report.copied = resilvered.copied;
                report.removed = resilvered.removed;
            }
            Ok::<_, tierstore::Error>(report)
        })
    }

    /// Closes the store: the journal (if any) is flushed and released, and every later call
    /// raises `InvalidInput`. Operations already running finish first. Closing twice is fine.
    pub fn close(&self) -> Result<(), TierStoreError> {
        let store = self.store.write().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(store) = store {
            // Dropping the last handle syncs the journal: blocking work, off the caller's
            // runtime (if it has one) and off the bindings' async workers.
            run(async move {
                tokio::task::spawn_blocking(move || drop(store)).await.map_err(|_| {
                    TierStoreError::backend(
                        "closing the TierStore panicked (a bug: please report it)",
                    )
                })
            })?;
        }
        Ok(())
    }

    /// How the store is built, e.g. `TierStore { primary: sqlite:/…, backup: …, … }`.
    pub fn describe(&self) -> String {
        match self.open_store() {
            Ok(store) => format!("{store:?}"),
            Err(_) => "TierStore (closed)".to_string(),
        }
    }
}
