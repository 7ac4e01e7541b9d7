//! [`TierStore`]: one LDK store over a primary, an optional backup and an optional ephemeral
//! backend.

mod builder;
mod divergence;
mod durable;
mod overlay;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures::future;
use lightning::util::persist::{PageToken, PaginatedListResponse};
use tokio::sync::Notify;

pub use builder::{DEFAULT_PAGE_SIZE, ProgressFn, TierStoreBuilder};
pub use divergence::Divergence;

use crate::backend::Backend;
use crate::backlog::BackupPolicy;
use crate::error::{Error, Operation, Tier};
use crate::journal::{Journal, JournalStats};
use crate::key::{Key, Namespace, RESERVED_NAMESPACE};
use crate::layers::Traced;
use crate::ldk::StoreOps;
use crate::ordering::{Applied, KeyOrdering, Ticket};
use crate::repair::{self, RepairReport, ResilverReport, Scan, VerifyReport};
use crate::routing::RoutingRule;
use crate::sync_record::StoreId;
pub(crate) use divergence::DivergenceLog;

/// An LDK store that routes every key to a role: durable keys to the **primary** (and, in the
/// same success path, the **backup**), rebuildable caches to the **ephemeral** store.
///
/// It implements all of LDK's persistence traits (`KVStore`, `KVStoreSync`,
/// `PaginatedKVStore`, `PaginatedKVStoreSync`, `MigratableKVStore`, `MigratableKVStoreSync`)
/// and is cheap to clone: clones share the same stores and state.
///
/// - **Durable write/remove:** primary and backup run concurrently; the call succeeds only if
///   both succeed (or, under [`BackupPolicy::Deferred`], once the primary and the journal
///   have it). If one fails, the error names the tier and the key is recorded as a
///   [`Divergence`] (in the journal, with one) until [`repair`](Self::repair), the background
///   repairer or a later successful mutation of the same key brings the tiers together again.
/// - **Reserved namespace:** [`RESERVED_NAMESPACE`] holds TierStore's own records; it never
///   appears in listings, and reads and mutations there are refused with `InvalidInput`.
/// - **Ephemeral write/remove:** the ephemeral store only.
/// - **Ordering:** mutations of one key take effect in the order they were *called*, whatever
///   order their futures complete in, in every tier.
/// - **Read:** ephemeral keys from the ephemeral store, everything else from the primary. The
///   backup is never read or listed in normal operation.
/// - **List:** the primary's keys without stale primary copies of ephemeral keys, plus the
///   ephemeral store's ephemeral keys, for namespaces that can hold them.
/// - **Paginated list:** the primary's pages, then the ephemeral keys. Every page but the last
///   is full, and no key appears twice.
///
/// ```
/// use tierstore_core::{MemoryBackend, TierStore};
/// use lightning::util::persist::KVStoreSync;
///
/// let store = TierStore::builder(MemoryBackend::named("primary"))
///     .backup(MemoryBackend::named("backup"))
///     .ephemeral(MemoryBackend::named("cache"))
///     .build()?;
///
/// KVStoreSync::write(&store, "monitors", "", "chan1", vec![1; 32])?;
/// KVStoreSync::write(&store, "", "", "network_graph", vec![2; 1024])?;
/// assert_eq!(KVStoreSync::read(&store, "monitors", "", "chan1")?, vec![1; 32]);
/// assert!(store.divergences().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TierStore {
    pub(crate) inner: Arc<Inner>,
    /// Dropped with the last clone: stops the repairer and closes the journal at once, even
    /// if a task still holds `inner` for a moment.
    _owner: Arc<Owner>,
}

/// What the last handle of a store shuts down.
pub(crate) struct Owner {
    inner: std::sync::Weak<Inner>,
    journal: Option<Arc<Journal>>,
    pub(crate) repairer: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        if let Some(repairer) = self.repairer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            repairer.abort();
        }
        if let Some(inner) = self.inner.upgrade() {
            inner.wake.notify_one();
        }
        // Writes what is queued, syncs, and releases the file's lock for the next process.
        if let Some(journal) = &self.journal {
            journal.close();
        }
    }
}

impl TierStore {
    pub(crate) fn from_inner(inner: Arc<Inner>) -> TierStore {
        let owner = Owner {
            inner: Arc::downgrade(&inner),
            journal: inner.journal.clone(),
            repairer: Default::default(),
        };
        TierStore { inner, _owner: Arc::new(owner) }
    }

    pub(crate) fn set_repairer(&self, repairer: tokio::task::AbortHandle) {
        *self._owner.repairer.lock().unwrap_or_else(|p| p.into_inner()) = Some(repairer);
    }
}

// LDK's store test helpers (lightning-persister's `do_read_write_remove_list_persist` and
// friends) take `KVStoreSync + RefUnwindSafe`, and catch panics they provoke with a
// `&TierStore` held across the unwind. A TierStore is not `RefUnwindSafe` by default only
// because its trait objects (`dyn Backend`, `dyn RoutingRule`) do not promise it. It is safe
// to observe after a caught panic because no state of its own can be left half-updated:
// - every piece of shared state (divergences, ordering slots, the journal's handle) sits
//   behind a mutex whose critical sections make one map update with nothing that can panic
//   in between, and every lock is taken with `unwrap_or_else(PoisonError::into_inner)`, so
//   a poisoned lock still guards consistent data;
// - a mutation interrupted by a panic (or a dropped future) between its two tiers is
//   recorded as a divergence by its cancel guard and, with a journal, was recorded before it
//   started: the tiers may differ, but the store says so and repairs it;
// - backends are reached only through `&self` async calls that own their futures' state.
impl std::panic::RefUnwindSafe for TierStore {}
impl std::panic::UnwindSafe for TierStore {}

pub(crate) struct Inner {
    pub(crate) primary: TierBackend,
    pub(crate) backup: Option<TierBackend>,
    ephemeral: Option<TierBackend>,
    routing: Arc<dyn RoutingRule>,
    pub(crate) ordering: Arc<KeyOrdering>,
    pub(crate) divergences: DivergenceLog,
    page_size: usize,
    pub(crate) journal: Option<Arc<Journal>>,
    pub(crate) policy: BackupPolicy,
    /// Deferred policy: the backup's last failure was transient and nothing has reached it
    /// since; writes skip it.
    pub(crate) backup_down: AtomicBool,
    /// The backup's identity and generation have not been checked yet (it was unreachable
    /// when the store opened): the repairer does that first.
    pub(crate) sync_pending: AtomicBool,
    /// Wakes the background repairer.
    pub(crate) wake: Arc<Notify>,
    pub(crate) progress: Option<ProgressFn>,
    /// One backup sync (resilver) at a time.
    pub(crate) sync_lock: tokio::sync::Mutex<()>,
    /// The primary's id, once identified (with a journal).
    pub(crate) primary_id: std::sync::Mutex<Option<StoreId>>,
    /// The backup the journal shows in sync, and its generation.
    pub(crate) journal_synced: std::sync::Mutex<Option<(StoreId, u64)>>,
    /// What the last backfill or resilver did.
    pub(crate) last_resilver: std::sync::Mutex<Option<ResilverReport>>,
}

/// A backend in its role: the backend as given, and the same backend traced with its tier.
pub(crate) struct TierBackend {
    pub(crate) tier: Tier,
    pub(crate) raw: Arc<dyn Backend>,
    pub(crate) traced: Traced<Arc<dyn Backend>>,
}

impl TierBackend {
    fn new(tier: Tier, raw: Arc<dyn Backend>) -> Self {
        let traced = Traced::new(Arc::clone(&raw)).with_tier(tier);
        TierBackend { tier, raw, traced }
    }
}

/// A durable or ephemeral mutation, as sent to each tier.
#[derive(Clone)]
pub(crate) enum Mutation {
    Write(Bytes),
    Remove { lazy: bool },
}

impl Mutation {
    fn operation(&self) -> Operation {
        match self {
            Mutation::Write(_) => Operation::Write,
            Mutation::Remove { .. } => Operation::Remove,
        }
    }

    async fn send(self, tier: &TierBackend, key: &Key) -> Result<(), Error> {
        let result = match self {
            Mutation::Write(value) => tier.traced.write(key, value).await,
            Mutation::Remove { lazy } => tier.traced.remove(key, lazy).await,
        };
        result.map_err(|e| e.in_tier(tier.tier))
    }
}

impl TierStore {
    /// Starts building a TierStore around its primary backend.
    pub fn builder(primary: impl crate::IntoBackend) -> TierStoreBuilder {
        TierStoreBuilder::new(primary.into_backend())
    }

    /// The primary backend.
    pub fn primary(&self) -> &Arc<dyn Backend> {
        &self.inner.primary.raw
    }

    /// The backup backend, if configured.
    pub fn backup(&self) -> Option<&Arc<dyn Backend>> {
        self.inner.backup.as_ref().map(|t| &t.raw)
    }

    /// The ephemeral backend, if configured.
    pub fn ephemeral(&self) -> Option<&Arc<dyn Backend>> {
        self.inner.ephemeral.as_ref().map(|t| &t.raw)
    }

    /// The routing rule deciding which keys are ephemeral.
    pub fn routing(&self) -> &Arc<dyn RoutingRule> {
        &self.inner.routing
    }

    /// The number of keys per page of `list_paginated`.
    pub fn page_size(&self) -> usize {
        self.inner.page_size
    }

    /// Whether `key` goes to the ephemeral store (false without an ephemeral store).
    pub fn is_ephemeral(&self, key: &Key) -> bool {
        self.inner.ephemeral_tier(key).is_some()
    }

    /// Durable keys whose primary and backup copies may differ, oldest first. With a
    /// journal, this survives restarts.
    pub fn divergences(&self) -> Vec<Divergence> {
        self.inner.divergences.snapshot()
    }

    /// How many keys the backup is behind (or may differ on): the divergences. Under
    /// [`BackupPolicy::Deferred`] this is the backlog the repairer drains.
    pub fn backlog(&self) -> usize {
        self.inner.divergences.len()
    }

    /// The policy for a failing backup.
    pub fn backup_policy(&self) -> BackupPolicy {
        self.inner.policy
    }

    /// The journal's counters (records, frames, fsyncs), if the store has a journal.
    pub fn journal_stats(&self) -> Option<JournalStats> {
        self.inner.journal.as_ref().map(|j| j.stats())
    }

    /// What the last backfill or resilver of the backup did (by [`TierStoreBuilder::open`] or
    /// the repairer), if one ran since the store opened.
    pub fn last_resilver(&self) -> Option<ResilverReport> {
        self.inner.last_resilver.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The journal's path, if the store has a journal.
    pub fn journal_path(&self) -> Option<&std::path::Path> {
        self.inner.journal.as_ref().map(|j| j.path())
    }

    /// Number of keys with mutations in flight (their ordering entries). Zero when idle:
    /// ordering state does not grow with the number of keys ever written.
    pub fn in_flight_keys(&self) -> usize {
        self.inner.ordering.live_keys()
    }

    /// Makes the backup equal the primary for every key recorded in
    /// [`divergences`](Self::divergences), each under its key's lock so concurrent mutations
    /// keep their order (a key absent from the primary is removed from the backup). Repaired
    /// keys leave the record; keys that fail again stay in it and are listed in the report.
    ///
    /// If the backup was unreachable when the store opened, its identity is checked (and it
    /// is resilvered if it missed writes) first; that failing is an error.
    pub async fn repair(&self) -> Result<RepairReport, Error> {
        if self.inner.backup.is_none() {
            return Ok(RepairReport::default());
        }
        if self.inner.sync_pending() {
            crate::recovery::sync_backup(&self.inner).await?;
        }
        Ok(self.inner.repair_divergences().await)
    }

    /// Compares every durable key of the primary with the backup (values included), a page
    /// at a time. Without a backup there is nothing to compare and the report is empty.
    pub async fn verify(&self) -> Result<VerifyReport, Error> {
        let inner = &self.inner;
        let Some(backup) = &inner.backup else {
            return Ok(VerifyReport::default());
        };
        let durable = |key: &Key| inner.ephemeral_tier(key).is_none();
        repair::verify_with(&inner.primary.traced, &backup.traced, Scan::new().include(&durable))
            .await
    }

    fn mutation(
        &self,
        op: Operation,
        primary: &str,
        secondary: &str,
        key: &str,
        mutation: Mutation,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        // Validate and take the ticket now, at call time: this fixes the mutation's order.
        let checked =
            user_key(op, primary, secondary, key).map(|key| (inner.ordering.ticket(&key), key));
        async move {
            let (ticket, key) = checked?;
            inner.mutate(ticket, key, mutation).await
        }
    }
}

impl Inner {
    pub(crate) fn new(
        builder: TierStoreBuilder,
        journal: Option<Arc<Journal>>,
        divergences: HashMap<Key, Divergence>,
    ) -> Self {
        Inner {
            primary: TierBackend::new(Tier::Primary, builder.primary),
            backup: builder.backup.map(|b| TierBackend::new(Tier::Backup, b)),
            ephemeral: builder.ephemeral.map(|e| TierBackend::new(Tier::Ephemeral, e)),
            routing: builder.routing,
            ordering: Default::default(),
            divergences: DivergenceLog::new(journal.clone(), divergences),
            page_size: builder.page_size,
            journal,
            policy: builder.policy,
            backup_down: AtomicBool::new(false),
            sync_pending: AtomicBool::new(false),
            wake: Arc::new(Notify::new()),
            progress: builder.progress,
            sync_lock: tokio::sync::Mutex::new(()),
            primary_id: Default::default(),
            journal_synced: Default::default(),
            last_resilver: Default::default(),
        }
    }

    pub(crate) fn sync_pending(&self) -> bool {
        self.sync_pending.load(Ordering::Acquire)
    }

    /// Whether `key` is durable: it lives in primary and backup.
    pub(crate) fn is_durable(&self, key: &Key) -> bool {
        self.ephemeral_tier(key).is_none()
    }

    /// Copies every recorded divergence from primary to backup, each under its key's lock.
    pub(crate) async fn repair_divergences(&self) -> RepairReport {
        let mut report = RepairReport::default();
        let Some(backup) = &self.backup else { return report };
        for divergence in self.divergences.snapshot() {
            let key = &divergence.key;
            let _guard = self.ordering.lock(key).await;
            match repair::copy_key(&self.primary.traced, &backup.traced, key).await {
                Ok(()) => {
                    self.divergences.resolved(key);
                    self.backup_down.store(false, Ordering::Release);
                    report.repaired.push(key.clone());
                }
                Err(err) => report.failed.push((key.clone(), err.to_string())),
            }
        }
        if !report.repaired.is_empty() || !report.failed.is_empty() {
            tracing::info!(
                target: "tierstore", repaired = report.repaired.len(),
                failed = report.failed.len(), backlog = self.divergences.len(),
                "repaired divergent keys"
            );
        }
        report
    }

    /// One pass of the background repairer: the pending sync, then every divergence.
    pub(crate) async fn repair_pass(&self) -> Result<(), Error> {
        if self.sync_pending() {
            crate::recovery::sync_backup(self).await?;
        }
        let report = self.repair_divergences().await;
        match (report.failed.into_iter().next(), &self.backup) {
            (Some((key, reason)), Some(backup)) => {
                Err(Error::backend(&backup.raw, Operation::Write, key, reason)
                    .in_tier(Tier::Backup))
            }
            _ => Ok(()),
        }
    }

    /// The ephemeral store if `key` belongs there.
    fn ephemeral_tier(&self, key: &Key) -> Option<&TierBackend> {
        self.ephemeral.as_ref().filter(|_| self.routing.is_ephemeral(key))
    }

    /// The ephemeral store if `namespace` can hold ephemeral keys.
    fn ephemeral_for(&self, namespace: &Namespace) -> Option<&TierBackend> {
        self.ephemeral.as_ref().filter(|_| self.routing.may_hold_ephemeral(namespace))
    }

    async fn mutate(&self, ticket: Ticket, key: Key, mutation: Mutation) -> Result<(), Error> {
        ticket
            .apply(
                || Ok(()),
                || async {
                    match self.ephemeral_tier(&key) {
                        Some(ephemeral) => {
                            let result = mutation.send(ephemeral, &key).await;
                            Applied { took_effect: result.is_ok(), result }
                        }
                        None => self.mutate_durable(&key, mutation).await,
                    }
                },
            )
            .await
    }

    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        let tier = self.ephemeral_tier(key).unwrap_or(&self.primary);
        tier.traced.read(key).await.map_err(|e| e.in_tier(tier.tier))
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        let primary = async {
            self.primary.traced.list(namespace).await.map_err(|e| e.in_tier(Tier::Primary))
        };
        let Some(ephemeral) = self.ephemeral_for(namespace) else {
            return primary.await;
        };
        let ephemeral = async {
            ephemeral.traced.list(namespace).await.map_err(|e| e.in_tier(Tier::Ephemeral))
        };
        let (primary, ephemeral) = future::try_join(primary, ephemeral).await?;
        let is_ephemeral = |k: &String| {
            namespace.key(k).map(|key| self.routing.is_ephemeral(&key)).unwrap_or(false)
        };
        // Stale primary copies of ephemeral keys are hidden; only live ephemeral keys count.
        let mut keys: Vec<String> = primary.into_iter().filter(|k| !is_ephemeral(k)).collect();
        keys.extend(ephemeral.into_iter().filter(is_ephemeral));
        Ok(keys)
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        let primary = async {
            self.primary.traced.list_all_keys().await.map_err(|e| e.in_tier(Tier::Primary))
        };
        let Some(ephemeral) = &self.ephemeral else {
            let mut keys = primary.await?;
            keys.retain(|k| !k.is_reserved());
            return Ok(keys);
        };
        let ephemeral = async {
            ephemeral.traced.list_all_keys().await.map_err(|e| e.in_tier(Tier::Ephemeral))
        };
        let (primary, ephemeral) = future::try_join(primary, ephemeral).await?;
        let mut keys: Vec<Key> =
            primary.into_iter().filter(|k| !self.routing.is_ephemeral(k)).collect();
        keys.extend(ephemeral.into_iter().filter(|k| self.routing.is_ephemeral(k)));
        keys.retain(|k| !k.is_reserved());
        Ok(keys)
    }
}

/// Validates a key from LDK: its rules, and not TierStore's reserved namespace.
fn user_key(op: Operation, primary: &str, secondary: &str, key: &str) -> Result<Key, Error> {
    let key = Key::new(primary, secondary, key).map_err(|e| e.for_op(op))?;
    if key.is_reserved() {
        return Err(reserved(op));
    }
    Ok(key)
}

fn user_namespace(op: Operation, primary: &str, secondary: &str) -> Result<Namespace, Error> {
    let namespace = Namespace::new(primary, secondary).map_err(|e| e.for_op(op))?;
    if namespace.is_reserved() {
        return Err(reserved(op));
    }
    Ok(namespace)
}

fn reserved(op: Operation) -> Error {
    Error::invalid_input(
        op,
        format!("primary namespace {RESERVED_NAMESPACE:?} is reserved for TierStore's own records"),
    )
}

impl StoreOps for TierStore {
    fn read_op(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, Error>> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        let key = user_key(Operation::Read, primary, secondary, key);
        async move { inner.read(&key?).await }
    }

    fn write_op(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        self.mutation(Operation::Write, primary, secondary, key, Mutation::Write(value.into()))
    }

    fn remove_op(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        lazy: bool,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        self.mutation(Operation::Remove, primary, secondary, key, Mutation::Remove { lazy })
    }

    fn list_op(
        &self,
        primary: &str,
        secondary: &str,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        let namespace = user_namespace(Operation::List, primary, secondary);
        async move { inner.list(&namespace?).await }
    }

    fn list_paginated_op(
        &self,
        primary: &str,
        secondary: &str,
        token: Option<PageToken>,
    ) -> impl Future<Output = Result<PaginatedListResponse, Error>> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        let namespace = user_namespace(Operation::ListPage, primary, secondary);
        async move { overlay::list_paginated(&inner, &namespace?, token).await }
    }

    fn list_all_keys_op(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, String, String)>, Error>> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        async move { Ok(inner.list_all_keys().await?.into_iter().map(Key::into_tuple).collect()) }
    }
}

crate::ldk::impl_ldk_traits!(TierStore);

impl std::fmt::Debug for TierStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = |t: &Option<TierBackend>| t.as_ref().map(|t| t.raw.to_string());
        f.debug_struct("TierStore")
            .field("primary", &self.inner.primary.raw.to_string())
            .field("backup", &name(&self.inner.backup))
            .field("ephemeral", &name(&self.inner.ephemeral))
            .field("routing", &self.inner.routing)
            .field("page_size", &self.inner.page_size)
            .field("journal", &self.journal_path())
            .field("backup_policy", &self.inner.policy)
            .finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The repairer holds only a weak reference: wake it so that it notices and stops.
        self.wake.notify_one();
    }
}
