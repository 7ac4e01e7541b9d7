//! [`TierStore`]: one LDK store over a primary, an optional backup and an optional ephemeral
//! backend.

mod builder;
mod divergence;
mod overlay;

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures::future;
use lightning::util::persist::{PageToken, PaginatedListResponse};

pub use builder::{DEFAULT_PAGE_SIZE, TierStoreBuilder};
pub use divergence::Divergence;

use crate::backend::Backend;
use crate::error::{Error, Operation, Tier};
use crate::key::{Key, Namespace};
use crate::layers::Traced;
use crate::ldk::StoreOps;
use crate::ordering::{Applied, KeyOrdering, Ticket};
use crate::repair::{self, RepairReport, VerifyReport};
use crate::routing::RoutingRule;
use divergence::DivergenceLog;

/// An LDK store that routes every key to a role: durable keys to the **primary** (and, in the
/// same success path, the **backup**), rebuildable caches to the **ephemeral** store.
///
/// It implements all of LDK's persistence traits (`KVStore`, `KVStoreSync`,
/// `PaginatedKVStore`, `PaginatedKVStoreSync`, `MigratableKVStore`, `MigratableKVStoreSync`)
/// and is cheap to clone: clones share the same stores and state.
///
/// - **Durable write/remove:** primary and backup run concurrently; the call succeeds only if
///   both succeed. If one fails, the error names the tier and the key is recorded as a
///   [`Divergence`] until [`repair`](Self::repair) (or a later successful mutation of the same
///   key) brings the tiers together again.
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
    inner: Arc<Inner>,
}

struct Inner {
    primary: TierBackend,
    backup: Option<TierBackend>,
    ephemeral: Option<TierBackend>,
    routing: Arc<dyn RoutingRule>,
    ordering: Arc<KeyOrdering>,
    divergences: DivergenceLog,
    page_size: usize,
}

/// A backend in its role: the backend as given, and the same backend traced with its tier.
struct TierBackend {
    tier: Tier,
    raw: Arc<dyn Backend>,
    traced: Traced<Arc<dyn Backend>>,
}

impl TierBackend {
    fn new(tier: Tier, raw: Arc<dyn Backend>) -> Self {
        let traced = Traced::new(Arc::clone(&raw)).with_tier(tier);
        TierBackend { tier, raw, traced }
    }
}

/// A durable or ephemeral mutation, as sent to each tier.
#[derive(Clone)]
enum Mutation {
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

    /// Durable keys whose primary and backup copies may differ, oldest first.
    pub fn divergences(&self) -> Vec<Divergence> {
        self.inner.divergences.snapshot()
    }

    /// Number of keys with mutations in flight (their ordering entries). Zero when idle:
    /// ordering state does not grow with the number of keys ever written.
    pub fn in_flight_keys(&self) -> usize {
        self.inner.ordering.live_keys()
    }

    /// Makes the backup equal the primary for every key recorded in
    /// [`divergences`](Self::divergences), each under its key's lock so concurrent mutations
    /// keep their order. Repaired keys leave the record; keys that fail again stay in it and
    /// are listed in the report.
    pub async fn repair(&self) -> Result<RepairReport, Error> {
        let inner = &self.inner;
        let Some(backup) = &inner.backup else {
            return Ok(RepairReport::default());
        };
        let mut report = RepairReport::default();
        for divergence in inner.divergences.snapshot() {
            let key = &divergence.key;
            let _guard = inner.ordering.lock(key).await;
            match repair::copy_key(&inner.primary.traced, &backup.traced, key).await {
                Ok(()) => {
                    inner.divergences.resolved(key);
                    report.repaired.push(key.clone());
                }
                Err(err) => report.failed.push((key.clone(), err.to_string())),
            }
        }
        Ok(report)
    }

    /// Compares every durable key of the primary with the backup (values included). Without a
    /// backup there is nothing to compare and the report is empty.
    pub async fn verify(&self) -> Result<VerifyReport, Error> {
        let inner = &self.inner;
        let Some(backup) = &inner.backup else {
            return Ok(VerifyReport::default());
        };
        repair::verify(&inner.primary.traced, &backup.traced, |key| {
            inner.ephemeral_tier(key).is_none()
        })
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
        let checked = Key::new(primary, secondary, key)
            .map_err(|e| e.for_op(op))
            .map(|key| (inner.ordering.ticket(&key), key));
        async move {
            let (ticket, key) = checked?;
            inner.mutate(ticket, key, mutation).await
        }
    }
}

impl Inner {
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

    async fn mutate_durable(&self, key: &Key, mutation: Mutation) -> Applied<Result<(), Error>> {
        let Some(backup) = &self.backup else {
            let result = mutation.send(&self.primary, key).await;
            return Applied { took_effect: result.is_ok(), result };
        };
        let op = mutation.operation();
        // If the caller drops this future between the two halves, the tiers may differ.
        let cancelled = CancelGuard { log: &self.divergences, key, op, armed: true };
        let (primary, backup) =
            future::join(mutation.clone().send(&self.primary, key), mutation.send(backup, key))
                .await;
        cancelled.disarm();
        match (primary, backup) {
            (Ok(()), Ok(())) => {
                self.divergences.resolved(key);
                Applied { took_effect: true, result: Ok(()) }
            }
            (Err(err), Ok(())) | (Ok(()), Err(err)) => {
                let tier = err.tier().unwrap_or(Tier::Backup);
                self.divergences.record(key, tier, op, err.to_string());
                Applied { took_effect: true, result: Err(err) }
            }
            (Err(primary_err), Err(backup_err)) => {
                // Neither tier took the mutation: they still agree with each other.
                tracing::warn!(
                    target: "tierstore", %key, %op, error = %backup_err,
                    "the backup failed as well as the primary"
                );
                Applied { took_effect: false, result: Err(primary_err) }
            }
        }
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
            return primary.await;
        };
        let ephemeral = async {
            ephemeral.traced.list_all_keys().await.map_err(|e| e.in_tier(Tier::Ephemeral))
        };
        let (primary, ephemeral) = future::try_join(primary, ephemeral).await?;
        let mut keys: Vec<Key> =
            primary.into_iter().filter(|k| !self.routing.is_ephemeral(k)).collect();
        keys.extend(ephemeral.into_iter().filter(|k| self.routing.is_ephemeral(k)));
        Ok(keys)
    }
}

/// Records a divergence if a durable mutation is dropped between its two halves.
struct CancelGuard<'a> {
    log: &'a DivergenceLog,
    key: &'a Key,
    op: Operation,
    armed: bool,
}

impl CancelGuard<'_> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for CancelGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.log.record(
                self.key,
                Tier::Backup,
                self.op,
                "the caller dropped the operation before both tiers finished".to_owned(),
            );
        }
    }
}

impl StoreOps for TierStore {
    fn read_op(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, Error>> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        let key = Key::new(primary, secondary, key).map_err(|e| e.for_op(Operation::Read));
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
        let namespace = Namespace::new(primary, secondary).map_err(|e| e.for_op(Operation::List));
        async move { inner.list(&namespace?).await }
    }

    fn list_paginated_op(
        &self,
        primary: &str,
        secondary: &str,
        token: Option<PageToken>,
    ) -> impl Future<Output = Result<PaginatedListResponse, Error>> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        let namespace =
            Namespace::new(primary, secondary).map_err(|e| e.for_op(Operation::ListPage));
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
            .finish()
    }
}
