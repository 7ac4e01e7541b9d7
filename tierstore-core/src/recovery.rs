//! Opening a TierStore: replay, identity, backfill or resilver, recovery, repairer.
//!
//! # Contract
//!
//! [`TierStoreBuilder::open`](crate::TierStoreBuilder::open) returns a store whose backup
//! holds every durable key of the primary, except keys it lists in
//! [`divergences`](crate::TierStore::divergences) (which the repairer then copies). To get
//! there it:
//!
//! 1. replays the journal (a new one if the file is missing; [`Error::Journal`] if it is
//!    corrupt); mutations interrupted by the last stop become divergences;
//! 2. checks the primary's identity against the journal ([`crate::sync_record`]): a journal
//!    of another primary is refused; a primary restored from a backup takes the identity
//!    that backup mirrors;
//! 3. checks the backup's identity: the primary itself under another name, or the backup of
//!    another primary, is refused; otherwise, unless the journal shows it in sync at its
//!    current generation, the backup is **resilvered**: every durable key compared, page by
//!    page, only what differs copied (a new, empty backup is thereby backfilled);
//! 4. makes every divergence equal on the backup to the primary (the primary is
//!    authoritative: a key absent from the primary is removed from the backup), each under
//!    its key's ordering lock;
//! 5. gives the backup a new generation and notes it in the journal, then starts the
//!    background repairer.
//!
//! Without a backup, the journal notes that no backup is in sync (so the next open with one
//! resilvers it). If the backup cannot be reached in steps 3–5, `open` fails naming it under
//! [`BackupPolicy::Required`](crate::BackupPolicy::Required); under
//! [`BackupPolicy::Deferred`](crate::BackupPolicy::Deferred) it returns, with the backup
//! marked down, and the repairer runs steps 3–5 once the backup answers.
//!
//! # Crash story
//!
//! Every step is idempotent and writes its conclusion last: the primary's record before the
//! journal notes it, the resilver's copies before the backup's new generation, the backup's
//! generation before the journal's `Synced`. A crash (or `kill -9`) anywhere leaves the
//! journal showing the backup out of sync, so the next `open` runs the step again and
//! copies only what is still missing: resilver is resumable. Keys being recovered are
//! already in the journal as divergences and stay there until their copy succeeds.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::backend::Backend;
use crate::error::{Error, Tier};
use crate::journal::Journal;
use crate::key::Key;
use crate::layers::Traced;
use crate::repair::{self, Scan};
use crate::sync_record::{StoreId, SyncRecord};
use crate::tier_store::TierBackend;
use crate::tier_store::{Inner, TierStore, TierStoreBuilder};

pub(crate) async fn open(builder: TierStoreBuilder) -> Result<TierStore, Error> {
    let opened = match &builder.journal {
        Some(path) => {
            let path = path.clone();
            let opened = tokio::task::spawn_blocking(move || Journal::open(&path))
                .await
                .map_err(|e| Error::config(format!("the journal's opening task failed: {e}")))??;
            Some(opened)
        }
        None => None,
    };
    let repairer = builder.repairer.clone();
    let (journal, state) = match opened {
        Some(o) => {
            if o.fresh {
                tracing::info!(
                    target: "tierstore", journal = %o.journal.path().display(),
                    "new journal: any existing backup is compared in full before use"
                );
            } else if o.torn > 0 {
                tracing::info!(
                    target: "tierstore", journal = %o.journal.path().display(), bytes = o.torn,
                    "the journal's last write was torn by a crash; it held nothing acknowledged"
                );
            }
            (Some(Arc::new(o.journal)), Some(o.state))
        }
        None => (None, None),
    };
    let divergences = state.as_ref().map(|s| s.diverged.clone()).unwrap_or_default();
    let inner = Arc::new(Inner::new(builder, journal.clone(), divergences));

    if let (Some(journal), Some(state)) = (&journal, &state) {
        identify_primary(&inner, journal, state.primary).await?;
        inner.journal_synced.lock().unwrap_or_else(|p| p.into_inner()).clone_from(&state.synced);
        match &inner.backup {
            None => forget_backup(&inner, journal, state.synced.is_some()).await?,
            Some(_) => {
                inner.sync_pending.store(true, Ordering::Release);
                if let Err(err) = sync_backup(&inner).await {
                    let deferred = inner.policy.max_backlog().is_some();
                    if !deferred || err.tier() != Some(Tier::Backup) {
                        return Err(err);
                    }
                    tracing::warn!(
                        target: "tierstore", error = %err, backlog = inner.divergences.len(),
                        "the backup is unavailable; opening anyway (BackupPolicy::Deferred): \
                         it is brought up to date once it answers"
                    );
                    inner.backup_down.store(true, Ordering::Release);
                }
            }
        }
    }
    let store = TierStore::from_inner(Arc::clone(&inner));
    if let (Some(config), Some(_)) = (repairer, &inner.backup) {
        let task =
            crate::backlog::repairer(Arc::downgrade(&inner), Arc::clone(&inner.wake), config);
        store.set_repairer(tokio::spawn(task).abort_handle());
    }
    Ok(store)
}

/// Step 2: the primary's id, agreed between its sync record and the journal.
async fn identify_primary(
    inner: &Inner,
    journal: &Journal,
    known: Option<StoreId>,
) -> Result<(), Error> {
    let primary = &inner.primary;
    let record = SyncRecord::read(&primary.traced).await.map_err(|e| e.in_tier(Tier::Primary))?;
    let id = match record {
        // A copy of a backup's files (restored by hand): it takes the identity it mirrors.
        Some(r) if !r.is_primary() => {
            tracing::info!(
                target: "tierstore", primary = %primary.raw, store = %r.primary,
                "the primary holds a backup's sync record (restored from it): adopting the \
                 identity of the primary that backup mirrors"
            );
            let adopted = SyncRecord { store: r.primary, primary: r.primary, generation: 0 };
            adopted.write(&primary.traced).await.map_err(|e| e.in_tier(Tier::Primary))?;
            r.primary
        }
        Some(r) => r.store,
        None => {
            if let Some(known) = known {
                return Err(Error::config(format!(
                    "the journal {} belongs to primary {known}, but the primary {} has no \
                     TierStore identity (a new or wiped store?). If the primary was restored \
                     from its backup, restore it with `tierstore restore` (or \
                     repair::restore), which carries the identity over; if it was replaced on \
                     purpose, move the journal away (the backup is then compared in full)",
                    journal.path().display(),
                    primary.raw
                )));
            }
            let id = StoreId::random();
            let record = SyncRecord { store: id, primary: id, generation: 0 };
            record.write(&primary.traced).await.map_err(|e| e.in_tier(Tier::Primary))?;
            id
        }
    };
    match known {
        Some(known) if known != id => Err(Error::config(format!(
            "the journal {} belongs to primary {known}, not to {} (whose id is {id}); give each \
             store its own journal, or move this one away if the primary was replaced on purpose",
            journal.path().display(),
            primary.raw
        ))),
        Some(_) => Ok(()),
        None => journal.set_primary(id).await,
    }?;
    *inner.primary_id.lock().unwrap_or_else(|p| p.into_inner()) = Some(id);
    Ok(())
}

/// Opened without a backup: whatever backup comes next must be resilvered.
async fn forget_backup(inner: &Inner, journal: &Journal, was_synced: bool) -> Result<(), Error> {
    if was_synced {
        tracing::info!(
            target: "tierstore", journal = %journal.path().display(),
            "opened without the backup it synced with: that backup is resilvered when it returns"
        );
        journal.set_synced(None).await?;
    }
    for divergence in inner.divergences.snapshot() {
        inner.divergences.resolved(&divergence.key);
    }
    Ok(())
}

/// Steps 3–5 (also run by the repairer when the backup was unreachable at open).
pub(crate) async fn sync_backup(inner: &Inner) -> Result<(), Error> {
    let Some(backup) = &inner.backup else { return Ok(()) };
    let Some(journal) = &inner.journal else {
        inner.sync_pending.store(false, Ordering::Release);
        return Ok(());
    };
    let _one_at_a_time = inner.sync_lock.lock().await;
    if !inner.sync_pending() {
        return Ok(());
    }
    let primary_id =
        inner.primary_id.lock().unwrap_or_else(|p| p.into_inner()).expect("identified");
    let synced = *inner.journal_synced.lock().unwrap_or_else(|p| p.into_inner());
    let record = SyncRecord::read(&backup.traced).await.map_err(|e| e.in_tier(Tier::Backup))?;
    let backup_id = match record {
        Some(r) if r.store == primary_id => {
            return Err(Error::config(format!(
                "the backup ({}) is the primary store itself (both show store id {primary_id}); \
                 it must be a second, independent store",
                backup.raw
            )));
        }
        Some(r) if r.primary != primary_id => {
            return Err(Error::config(format!(
                "the backup ({}) holds the backup of another primary (store id {}), not of this \
                 one ({primary_id}); it is never overwritten. Point `backup` at an empty store, \
                 or, if this primary was restored from that backup, restore it with \
                 `tierstore restore` (or repair::restore), which carries the identity over",
                backup.raw, r.primary
            )));
        }
        Some(r) => r,
        None => SyncRecord { store: StoreId::random(), primary: primary_id, generation: 0 },
    };
    let in_sync = synced == Some((backup_id.store, backup_id.generation)) && record.is_some();
    if !in_sync {
        resilver(inner, record.is_none()).await?;
    }
    let report = inner.repair_divergences().await;
    if let Some((key, reason)) = report.failed.into_iter().next() {
        return Err(
            Error::backend(&backup.raw, crate::Operation::Write, key, reason).in_tier(Tier::Backup)
        );
    }
    let next = SyncRecord { generation: backup_id.generation + 1, ..backup_id };
    next.write(&backup.traced).await.map_err(|e| e.in_tier(Tier::Backup))?;
    journal.set_synced(Some((next.store, next.generation))).await?;
    *inner.journal_synced.lock().unwrap_or_else(|p| p.into_inner()) =
        Some((next.store, next.generation));
    inner.sync_pending.store(false, Ordering::Release);
    inner.backup_down.store(false, Ordering::Release);
    Ok(())
}

/// Makes the backup equal the primary for every durable key, copying only differences,
/// each key under its ordering lock.
async fn resilver(inner: &Inner, new_backup: bool) -> Result<(), Error> {
    let backup = inner.backup.as_ref().expect("called with a backup");
    let what = if new_backup { "backfilling" } else { "resilvering" };
    tracing::info!(
        target: "tierstore", primary = %inner.primary.raw, backup = %backup.raw,
        "{what} the backup: comparing every durable key, copying only the differences"
    );
    let durable = |key: &Key| inner.is_durable(key);
    let progress = |p: &repair::Progress| {
        tracing::info!(
            target: "tierstore", namespace = %p.namespace, namespaces_done = p.namespaces_done,
            namespaces = p.namespaces, scanned = p.scanned, copied = p.copied,
            removed = p.removed, "{what} the backup"
        );
        if let Some(callback) = &inner.progress {
            callback(p);
        }
    };
    let scan = Scan::new().include(&durable).progress(&progress);
    let (source, target) = (InTier::new(&inner.primary), InTier::new(backup));
    let (source, target) = (&source, &target);
    let report = repair::resilver_with(source, target, scan, |key, candidate| async move {
        let _guard = inner.ordering.lock(&key).await;
        repair::fix(source, target, &key, candidate).await
    })
    .await?;
    tracing::info!(
        target: "tierstore", backup = %backup.raw, scanned = report.scanned,
        copied = report.copied, removed = report.removed, bytes = report.bytes,
        "{what} finished"
    );
    *inner.last_resilver.lock().unwrap_or_else(|p| p.into_inner()) = Some(report);
    Ok(())
}

/// A tier's backend whose errors name the tier, so that a failure during a resilver says
/// whether the primary or the backup failed.
struct InTier(Tier, Traced<Arc<dyn Backend>>);

impl InTier {
    fn new(tier: &TierBackend) -> Self {
        InTier(tier.tier, tier.traced.clone())
    }
}

impl std::fmt::Display for InTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.1.fmt(f)
    }
}

#[async_trait::async_trait]
impl Backend for InTier {
    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        self.1.read(key).await.map_err(|e| e.in_tier(self.0))
    }
    async fn write(&self, key: &Key, value: bytes::Bytes) -> Result<(), Error> {
        self.1.write(key, value).await.map_err(|e| e.in_tier(self.0))
    }
    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        self.1.remove(key, lazy).await.map_err(|e| e.in_tier(self.0))
    }
    async fn list(&self, namespace: &crate::Namespace) -> Result<Vec<String>, Error> {
        self.1.list(namespace).await.map_err(|e| e.in_tier(self.0))
    }
    async fn list_page(
        &self,
        namespace: &crate::Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<crate::Page, Error> {
        let page = self.1.list_page(namespace, token, limit).await;
        page.map_err(|e| e.in_tier(self.0))
    }
    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        self.1.list_all_keys().await.map_err(|e| e.in_tier(self.0))
    }
    fn store_address(&self) -> usize {
        self.1.store_address()
    }
    async fn list_namespaces(&self) -> Result<Vec<crate::Namespace>, Error> {
        self.1.list_namespaces().await.map_err(|e| e.in_tier(self.0))
    }
}
