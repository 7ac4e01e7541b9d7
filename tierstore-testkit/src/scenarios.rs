//! The TierStore scenario suite: routing, listing, ordering and failure handling of a
//! [`TierStore`] whose roles are filled by the backends under test.
//!
//! Every scenario takes a fresh [`Tiers`] (one backend per role) and wraps them in the
//! [fault wrappers](crate::faults) it needs. Instantiate all of them for an arrangement of
//! backends with [`scenario_tests!`](crate::scenario_tests).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use lightning::util::persist::{KVStore, MigratableKVStore, PaginatedKVStore};
use tierstore_core::{Backend, Bytes, Key, Operation, Tier, TierStore};

use crate::Subject;
use crate::faults::{Counting, Delayed, Fault, Faulty};

/// One backend per role, as handed to each scenario.
pub struct Tiers {
    /// Fills the primary role.
    pub primary: Arc<dyn Backend>,
    /// Fills the backup role.
    pub backup: Arc<dyn Backend>,
    /// Fills the ephemeral role.
    pub ephemeral: Arc<dyn Backend>,
    _guards: Vec<Box<dyn Send + Sync>>,
}

impl Tiers {
    /// Assembles the roles from subjects (keeping their guards alive).
    pub fn new<P: Backend, B: Backend, E: Backend>(
        primary: Subject<P>,
        backup: Subject<B>,
        ephemeral: Subject<E>,
    ) -> Self {
        fn role<X: Backend>(
            subject: Subject<X>,
            guards: &mut Vec<Box<dyn Send + Sync>>,
        ) -> Arc<dyn Backend> {
            let (backend, guard) = subject.into_parts();
            guards.extend(guard);
            Arc::new(backend)
        }
        let mut guards = Vec::new();
        let primary = role(primary, &mut guards);
        let backup = role(backup, &mut guards);
        let ephemeral = role(ephemeral, &mut guards);
        Tiers { primary, backup, ephemeral, _guards: guards }
    }
}

/// The TierStore under test, with shared handles on the wrappers around each role.
struct Harness {
    store: TierStore,
    primary: Wrapped,
    backup: Wrapped,
    ephemeral: Wrapped,
    _tiers: Tiers,
}

/// A role's backend inside every fault wrapper, shared with the TierStore.
type Wrapped = Arc<Faulty<Counting<Delayed<Arc<dyn Backend>>>>>;

fn wrap(backend: &Arc<dyn Backend>) -> Wrapped {
    Arc::new(Faulty::new(Counting::new(Delayed::new(Arc::clone(backend)))))
}

impl Harness {
    fn new(tiers: Tiers, page_size: usize) -> Self {
        let (primary, backup, ephemeral) =
            (wrap(&tiers.primary), wrap(&tiers.backup), wrap(&tiers.ephemeral));
        let store = TierStore::builder(Arc::clone(&primary))
            .backup(Arc::clone(&backup))
            .ephemeral(Arc::clone(&ephemeral))
            .page_size(page_size)
            .build()
            .expect("valid TierStore configuration");
        Harness { store, primary, backup, ephemeral, _tiers: tiers }
    }

    async fn write(&self, p: &str, s: &str, k: &str, value: &[u8]) {
        KVStore::write(&self.store, p, s, k, value.to_vec())
            .await
            .unwrap_or_else(|e| panic!("{}: write {p}/{s}/{k}: {e}", self.store_name()));
    }

    async fn read(&self, p: &str, s: &str, k: &str) -> Option<Vec<u8>> {
        match KVStore::read(&self.store, p, s, k).await {
            Ok(v) => Some(v),
            Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => None,
            Err(e) => panic!("{}: read {p}/{s}/{k}: {e}", self.store_name()),
        }
    }

    async fn list(&self, p: &str, s: &str) -> Vec<String> {
        let mut keys = KVStore::list(&self.store, p, s)
            .await
            .unwrap_or_else(|e| panic!("{}: list {p}/{s}: {e}", self.store_name()));
        keys.sort();
        keys
    }

    /// Every page of `p/s`; checks that all pages but the last are full.
    async fn pages(&self, p: &str, s: &str) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut token = None;
        loop {
            let response = PaginatedKVStore::list_paginated(&self.store, p, s, token)
                .await
                .unwrap_or_else(|e| panic!("{}: list_paginated {p}/{s}: {e}", self.store_name()));
            token = response.next_page_token;
            let last = token.is_none();
            if !last {
                assert_eq!(
                    response.keys.len(),
                    self.store.page_size(),
                    "{}: a page other than the last is not full",
                    self.store_name()
                );
            }
            pages.push(response.keys);
            if last {
                return pages;
            }
        }
    }

    fn store_name(&self) -> String {
        format!("{:?}", self.store)
    }
}

async fn backend_value(backend: &dyn Backend, p: &str, s: &str, k: &str) -> Option<Vec<u8>> {
    let key = Key::new(p, s, k).expect("valid key");
    match backend.read(&key).await {
        Ok(v) => Some(v),
        Err(e) if e.is_not_found() => None,
        Err(e) => panic!("{backend}: read {key}: {e}"),
    }
}

fn sorted(mut keys: Vec<String>) -> Vec<String> {
    keys.sort();
    keys
}

/// LDK's network graph and scorer go to the ephemeral store only; durable keys go to primary
/// and backup, never to the ephemeral store.
pub async fn ephemeral_keys_go_to_the_ephemeral_store(tiers: Tiers) {
    let h = Harness::new(tiers, 50);
    h.write("", "", "network_graph", b"graph").await;
    h.write("", "", "scorer", b"scores").await;
    h.write("", "", "manager", b"manager").await;
    h.write("monitors", "", "m1", b"monitor").await;

    for (k, v) in [("network_graph", &b"graph"[..]), ("scorer", b"scores")] {
        assert_eq!(backend_value(&*h.ephemeral, "", "", k).await.as_deref(), Some(v));
        assert_eq!(backend_value(&*h.primary, "", "", k).await, None, "{k} reached the primary");
        assert_eq!(backend_value(&*h.backup, "", "", k).await, None, "{k} reached the backup");
        assert_eq!(h.read("", "", k).await.as_deref(), Some(v));
    }
    for (p, k, v) in [("", "manager", &b"manager"[..]), ("monitors", "m1", b"monitor")] {
        assert_eq!(backend_value(&*h.primary, p, "", k).await.as_deref(), Some(v));
        assert_eq!(backend_value(&*h.backup, p, "", k).await.as_deref(), Some(v));
        assert_eq!(backend_value(&*h.ephemeral, p, "", k).await, None, "{k} reached ephemeral");
        assert_eq!(h.read(p, "", k).await.as_deref(), Some(v));
    }
}

/// `list("", "")` shows the durable and the ephemeral keys of the root namespace, once each,
/// and so do its pages.
pub async fn root_listing_shows_durable_and_ephemeral_keys(tiers: Tiers) {
    let h = Harness::new(tiers, 2);
    for k in ["manager", "network_graph", "output_sweeper", "scorer"] {
        h.write("", "", k, k.as_bytes()).await;
    }
    let expected = ["manager", "network_graph", "output_sweeper", "scorer"];
    assert_eq!(h.list("", "").await, expected);
    let paged: Vec<String> = h.pages("", "").await.concat();
    assert_eq!(sorted(paged), expected, "pages of the root namespace");
}

/// A copy of an ephemeral key in the primary (left from before the ephemeral store was
/// configured) is hidden from `list`, from every page, from `list_all_keys` and from reads.
pub async fn stale_primary_copies_are_hidden(tiers: Tiers) {
    let h = Harness::new(tiers, 3);
    let stale = Bytes::from_static(b"stale");
    for k in ["network_graph", "scorer"] {
        h.primary.write(&Key::new("", "", k).unwrap(), stale.clone()).await.unwrap();
    }
    for k in ["a", "b", "c", "d", "manager"] {
        h.write("", "", k, b"durable").await;
    }
    h.write("", "", "network_graph", b"live").await;

    let expected = ["a", "b", "c", "d", "manager", "network_graph"];
    assert_eq!(h.list("", "").await, expected, "list hides the stale scorer and dedups");
    let pages = h.pages("", "").await;
    let flat: Vec<String> = pages.concat();
    let unique: HashSet<&String> = flat.iter().collect();
    assert_eq!(unique.len(), flat.len(), "a key appears twice across pages: {pages:?}");
    assert_eq!(sorted(flat), expected, "pages hide stale copies");
    assert_eq!(h.read("", "", "network_graph").await.as_deref(), Some(&b"live"[..]));
    assert_eq!(h.read("", "", "scorer").await, None, "the stale scorer is not read");

    let mut all = MigratableKVStore::list_all_keys(&h.store).await.unwrap();
    all.sort();
    let root: Vec<&str> = all.iter().filter(|k| k.0.is_empty()).map(|k| k.2.as_str()).collect();
    assert_eq!(root, expected, "list_all_keys hides stale copies and lists each key once");
}

/// Two durable writes of one key: the later-called one wins, in primary and backup, even if
/// its future is awaited first or the first write is slow.
pub async fn durable_writes_keep_call_order(tiers: Tiers) {
    let h = Harness::new(tiers, 50);
    let first = KVStore::write(&h.store, "monitors", "", "m", b"v1".to_vec());
    let second = KVStore::write(&h.store, "monitors", "", "m", b"v2".to_vec());
    second.await.unwrap();
    first.await.unwrap();
    assert_eq!(h.read("monitors", "", "m").await.as_deref(), Some(&b"v2"[..]));

    // The first-called write is slow in the primary; both run concurrently.
    let key = Key::new("monitors", "", "m").unwrap();
    h.primary.inner().inner().delay_key(Operation::Write, &key, Duration::from_millis(150));
    let slow = KVStore::write(&h.store, "monitors", "", "m", b"v3".to_vec());
    let fast = KVStore::write(&h.store, "monitors", "", "m", b"v4".to_vec());
    let (a, b) = futures::join!(fast, slow);
    a.unwrap();
    b.unwrap();
    for tier in [&h.primary, &h.backup] {
        let value = backend_value(&**tier, "monitors", "", "m").await;
        assert_eq!(value.as_deref(), Some(&b"v4"[..]), "{tier} holds an older write");
    }
}

/// Two ephemeral writes of one key keep their call order too.
pub async fn ephemeral_writes_keep_call_order(tiers: Tiers) {
    let h = Harness::new(tiers, 50);
    let first = KVStore::write(&h.store, "", "", "network_graph", b"g1".to_vec());
    let second = KVStore::write(&h.store, "", "", "network_graph", b"g2".to_vec());
    second.await.unwrap();
    first.await.unwrap();
    assert_eq!(h.read("", "", "network_graph").await.as_deref(), Some(&b"g2"[..]));
    let value = backend_value(&*h.ephemeral, "", "", "network_graph").await;
    assert_eq!(value.as_deref(), Some(&b"g2"[..]));
}

/// Removes are ordered with writes: whatever is called last wins.
pub async fn removes_keep_call_order(tiers: Tiers) {
    let h = Harness::new(tiers, 50);
    h.write("monitors", "", "m", b"v1").await;
    // remove, then write: the write wins although the remove is awaited last.
    let remove = KVStore::remove(&h.store, "monitors", "", "m", false);
    let write = KVStore::write(&h.store, "monitors", "", "m", b"v2".to_vec());
    write.await.unwrap();
    remove.await.unwrap();
    assert_eq!(h.read("monitors", "", "m").await.as_deref(), Some(&b"v2"[..]));
    // write, then remove: the key is gone although the write is awaited last.
    let write = KVStore::write(&h.store, "monitors", "", "m", b"v3".to_vec());
    let remove = KVStore::remove(&h.store, "monitors", "", "m", false);
    remove.await.unwrap();
    write.await.unwrap();
    assert_eq!(h.read("monitors", "", "m").await, None);
    assert_eq!(backend_value(&*h.backup, "monitors", "", "m").await, None);
    // The same for an ephemeral key.
    h.write("", "", "scorer", b"s1").await;
    let write = KVStore::write(&h.store, "", "", "scorer", b"s2".to_vec());
    let remove = KVStore::remove(&h.store, "", "", "scorer", true);
    remove.await.unwrap();
    write.await.unwrap();
    assert_eq!(h.read("", "", "scorer").await, None);
    assert_eq!(h.store.in_flight_keys(), 0, "ordering entries are freed");
}

/// A failing backup fails the durable write, names the backup tier, and records the key;
/// repair then brings the backup up to date.
pub async fn backup_failure_fails_the_write_and_is_recorded(tiers: Tiers) {
    let h = Harness::new(tiers, 50);
    h.write("monitors", "", "m", b"v1").await;
    h.backup.inject(Fault::on(Operation::Write));
    let err = KVStore::write(&h.store, "monitors", "", "m", b"v2".to_vec()).await.unwrap_err();
    assert!(err.to_string().contains("backup tier failed"), "error names the tier: {err}");
    let divergences = h.store.divergences();
    assert_eq!(divergences.len(), 1, "{divergences:?}");
    assert_eq!(divergences[0].key, Key::new("monitors", "", "m").unwrap());
    assert_eq!(divergences[0].tier, Tier::Backup);
    assert_eq!(backend_value(&*h.primary, "monitors", "", "m").await.as_deref(), Some(&b"v2"[..]));
    assert_eq!(backend_value(&*h.backup, "monitors", "", "m").await.as_deref(), Some(&b"v1"[..]));
    assert!(!h.store.verify().await.unwrap().is_consistent(), "verify sees the difference");

    h.backup.heal();
    let report = h.store.repair().await.unwrap();
    assert_eq!(report.repaired.len(), 1);
    assert!(h.store.divergences().is_empty());
    assert_eq!(backend_value(&*h.backup, "monitors", "", "m").await.as_deref(), Some(&b"v2"[..]));
    assert!(h.store.verify().await.unwrap().is_consistent());
}

/// A failing primary fails the durable write too, names the primary tier, and is recorded.
pub async fn primary_failure_fails_the_write_and_is_recorded(tiers: Tiers) {
    let h = Harness::new(tiers, 50);
    h.primary.inject(Fault::on(Operation::Remove));
    h.write("payments", "", "p", b"v1").await;
    let err = KVStore::remove(&h.store, "payments", "", "p", false).await.unwrap_err();
    assert!(err.to_string().contains("primary tier failed"), "error names the tier: {err}");
    let divergences = h.store.divergences();
    assert_eq!(divergences.len(), 1, "{divergences:?}");
    assert_eq!(divergences[0].tier, Tier::Primary);
    assert_eq!(divergences[0].operation, Operation::Remove);
    // A later mutation that reaches both tiers clears the record.
    h.primary.heal();
    h.write("payments", "", "p", b"v2").await;
    assert!(h.store.divergences().is_empty());
    assert!(h.store.verify().await.unwrap().is_consistent());
}

/// Reads, lists, pages and `list_all_keys` never touch the backup.
pub async fn backup_is_never_read_or_listed(tiers: Tiers) {
    let h = Harness::new(tiers, 2);
    for k in ["a", "b", "c"] {
        h.write("monitors", "", k, b"v").await;
    }
    h.write("", "", "network_graph", b"g").await;
    let _ = h.read("monitors", "", "a").await;
    let _ = h.read("monitors", "", "missing").await;
    let _ = h.list("monitors", "").await;
    let _ = h.list("", "").await;
    let _ = h.pages("monitors", "").await;
    let _ = MigratableKVStore::list_all_keys(&h.store).await.unwrap();
    let counting = h.backup.inner();
    for op in [Operation::Read, Operation::List, Operation::ListPage, Operation::ListAllKeys] {
        assert_eq!(counting.count(op), 0, "the backup was asked to {op}");
    }
    assert_eq!(counting.count(Operation::Write), 3, "the backup got every durable write");
}

/// An ephemeral store whose listing fails breaks only the listings of namespaces that can
/// hold ephemeral keys.
pub async fn failing_ephemeral_list_breaks_only_its_namespaces(tiers: Tiers) {
    let h = Harness::new(tiers, 2);
    for k in ["a", "b", "c"] {
        h.write("monitors", "", k, b"v").await;
    }
    h.write("", "", "manager", b"m").await;
    h.ephemeral.inject(Fault::on(Operation::List));
    h.ephemeral.inject(Fault::on(Operation::ListPage));
    h.ephemeral.inject(Fault::on(Operation::ListAllKeys));
    assert_eq!(h.list("monitors", "").await, ["a", "b", "c"]);
    assert_eq!(sorted(h.pages("monitors", "").await.concat()), ["a", "b", "c"]);
    let err = KVStore::list(&h.store, "", "").await.unwrap_err();
    assert!(err.to_string().contains("ephemeral tier failed"), "{err}");
    let mut token = None;
    let err = loop {
        match PaginatedKVStore::list_paginated(&h.store, "", "", token).await {
            Ok(page) => token = Some(page.next_page_token.expect("the ephemeral phase must fail")),
            Err(err) => break err,
        }
    };
    assert!(err.to_string().contains("ephemeral tier failed"), "{err}");
}

/// Over many durable and ephemeral keys, every page but the last is full, no key appears
/// twice, and every key appears; a malformed token is `InvalidInput`.
pub async fn paginated_overlay_is_full_unique_and_complete(tiers: Tiers) {
    let h = Harness::new(tiers, 7);
    let durable: Vec<String> = (0..30).map(|i| format!("d{i:02}")).collect();
    for k in &durable {
        h.write("", "", k, b"v").await;
    }
    h.write("", "", "network_graph", b"g").await;
    h.write("", "", "scorer", b"s").await;
    let pages = h.pages("", "").await;
    let flat = pages.concat();
    let unique: HashSet<&String> = flat.iter().collect();
    assert_eq!(unique.len(), flat.len(), "duplicates across pages: {pages:?}");
    let mut expected = durable.clone();
    expected.extend(["network_graph".to_owned(), "scorer".to_owned()]);
    expected.sort();
    assert_eq!(sorted(flat), expected);
    // Ephemeral keys come after all the primary's keys.
    let flat = pages.concat();
    let tail: HashSet<&str> = flat[flat.len() - 2..].iter().map(String::as_str).collect();
    assert_eq!(tail, HashSet::from(["network_graph", "scorer"]), "ephemeral keys come last");
    let bad = lightning::util::persist::PageToken::new("garbage".into());
    let err = PaginatedKVStore::list_paginated(&h.store, "", "", Some(bad)).await.unwrap_err();
    assert_eq!(err.kind(), lightning::io::ErrorKind::InvalidInput);
}

/// Instantiates the whole scenario suite for one arrangement of backends, each scenario as
/// its own named `#[tokio::test]`.
///
/// Each argument is an async function returning the backend for that role (or a
/// [`Subject`](crate::Subject)); they are called once per scenario, so every scenario starts
/// from empty stores. The calling crate needs `tokio` (features `macros`,
/// `rt-multi-thread`) as a dev-dependency.
///
/// ```
/// async fn memory() -> tierstore_core::MemoryBackend {
///     tierstore_core::MemoryBackend::new()
/// }
///
/// #[allow(non_snake_case)]
/// mod primary_memory__backup_memory__ephemeral_memory {
///     use super::memory;
///     tierstore_testkit::scenario_tests!(primary: memory, backup: memory, ephemeral: memory);
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! scenario_tests {
    (primary: $primary:expr, backup: $backup:expr, ephemeral: $ephemeral:expr $(,)?) => {
        $crate::scenario_tests!(@cases $primary, $backup, $ephemeral;
            ephemeral_keys_go_to_the_ephemeral_store,
            root_listing_shows_durable_and_ephemeral_keys,
            stale_primary_copies_are_hidden,
            durable_writes_keep_call_order,
            ephemeral_writes_keep_call_order,
            removes_keep_call_order,
            backup_failure_fails_the_write_and_is_recorded,
            primary_failure_fails_the_write_and_is_recorded,
            backup_is_never_read_or_listed,
            failing_ephemeral_list_breaks_only_its_namespaces,
            paginated_overlay_is_full_unique_and_complete,
        );
    };
    (@cases $primary:expr, $backup:expr, $ephemeral:expr; $($case:ident,)*) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let tiers = $crate::scenarios::Tiers::new(
                    $crate::Subject::from($primary().await),
                    $crate::Subject::from($backup().await),
                    $crate::Subject::from($ephemeral().await),
                );
                $crate::scenarios::$case(tiers).await;
            }
        )*
    };
}
