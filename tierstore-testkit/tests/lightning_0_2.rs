//! lightning 0.2 (ldk-node 0.7) on both sides of TierStore (feature `lightning-0-2`):
//!
//! - lightning-persister 0.2's `FilesystemStore` through `LdkBackend::from_0_2` passes the
//!   conformance suite (pages emulated, in key order) and fills every role of the scenario
//!   suite (`ldk02fs` in the module names, which `cargo xtask test`'s matrix reads);
//! - TierStore's lightning 0.2 traits keep the semantics of its 0.3 traits: validation before
//!   any backend is touched, routing, call order, the merged root listing, `list_all_keys`,
//!   sync calls from every kind of thread, and lightning 0.2's own migration helper.

// `__` separates the roles in module names, which the matrix parser reads.
#![allow(non_snake_case)]

use std::sync::Arc;
use std::time::Duration;

use lightning_persister_0_2::fs_store::FilesystemStore;
use tierstore_core::lightning_0_2::Lightning02;
use tierstore_core::lightning_0_2::lightning::io::ErrorKind;
use tierstore_core::lightning_0_2::lightning::util::persist::{
    KVStore, KVStoreSync, MigratableKVStore, migrate_kv_store_data,
};
use tierstore_core::{
    Backend, Capabilities, Key, LdkBackend, LdkStore, MemoryBackend, Operation, PageOrder,
    TierStore,
};
use tierstore_testkit::Subject;
use tierstore_testkit::faults::{Counting, Delayed};

type Fs02Backend = LdkBackend<FilesystemStore, Lightning02>;

const MS: Duration = Duration::from_millis(1);

async fn filesystem_0_2() -> Subject<Fs02Backend> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = FilesystemStore::new(dir.path().join("store"));
    let backend = LdkBackend::from_0_2(store).named("ldk02:FilesystemStore").with_list_all_keys();
    Subject::new(backend).with_guard(dir)
}

async fn memory() -> MemoryBackend {
    MemoryBackend::new()
}

mod conformance_ldk02fs {
    tierstore_testkit::conformance_tests!(super::filesystem_0_2);
}

mod primary_ldk02fs__backup_memory__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: filesystem_0_2, backup: memory, ephemeral: memory);
}

mod primary_memory__backup_ldk02fs__ephemeral_ldk02fs {
    use super::*;
    tierstore_testkit::scenario_tests!(
        primary: memory,
        backup: filesystem_0_2,
        ephemeral: filesystem_0_2,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapter_declares_key_order_and_names_the_store() {
    let subject = filesystem_0_2().await;
    let backend = subject.backend();
    assert_eq!(backend.capabilities().page_order, PageOrder::KeyAscending);
    assert!(backend.capabilities().list_all_keys);
    // Declared capabilities cannot claim a creation order the emulated pages do not have.
    let dir = tempfile::tempdir().unwrap();
    let store = FilesystemStore::new(dir.path().join("declared"));
    let declared = LdkBackend::from_0_2(store)
        .with_capabilities(Capabilities::default().with_creation_order_resolution(MS));
    assert_eq!(declared.capabilities().page_order, PageOrder::KeyAscending);
    assert_eq!(declared.capabilities().creation_order_resolution, MS);

    let bare = LdkBackend::from_0_2(FilesystemStore::new(dir.path().join("bare")));
    assert_eq!(bare.to_string(), "ldk:FilesystemStore");
    let err = bare.list_all_keys().await.unwrap_err();
    assert!(err.to_string().contains("with_list_all_keys_from"), "{err}");

    // A store without `MigratableKVStore` lists its keys through a function of the caller's.
    let store = Arc::new(FilesystemStore::new(dir.path().join("listed")));
    KVStoreSync::write(&*store, "payments", "", "p1", vec![1]).unwrap();
    let lister = Arc::clone(&store);
    let backend = LdkBackend::from_arc_0_2(store)
        .with_list_all_keys_from(move || MigratableKVStore::list_all_keys(&*lister));
    let keys = backend.list_all_keys().await.unwrap();
    assert_eq!(keys, [Key::new("payments", "", "p1").unwrap()]);
}

/// A TierStore whose tiers are counted, with a primary that can be delayed per key.
struct Tiers {
    store: TierStore,
    primary: Arc<Counting<Delayed<MemoryBackend>>>,
    backup: Arc<Counting<MemoryBackend>>,
    ephemeral: Arc<Counting<MemoryBackend>>,
}

fn tiers() -> Tiers {
    let primary = Arc::new(Counting::new(Delayed::new(MemoryBackend::named("primary"))));
    let backup = Arc::new(Counting::new(MemoryBackend::named("backup")));
    let ephemeral = Arc::new(Counting::new(MemoryBackend::named("cache")));
    let store = TierStore::builder(Arc::clone(&primary))
        .backup(Arc::clone(&backup))
        .ephemeral(Arc::clone(&ephemeral))
        .build()
        .expect("valid configuration");
    Tiers { store, primary, backup, ephemeral }
}

async fn value(backend: &dyn Backend, p: &str, s: &str, k: &str) -> Option<Vec<u8>> {
    match backend.read(&Key::new(p, s, k).unwrap()).await {
        Ok(v) => Some(v),
        Err(e) if e.is_not_found() => None,
        Err(e) => panic!("{backend}: read {p}/{s}/{k}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_keys_are_refused_before_any_tier_is_touched() {
    let t = tiers();
    for (p, s, k) in [("monitors", "", "bad key"), ("", "orphan", "k"), ("monitors", "", "")] {
        let err = KVStore::write(&t.store, p, s, k, vec![1]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{p}/{s}/{k}: {err}");
        let err = KVStoreSync::remove(&t.store, p, s, k, false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{p}/{s}/{k}: {err}");
        let err = KVStore::read(&t.store, p, s, k).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{p}/{s}/{k}: {err}");
    }
    let message = KVStoreSync::write(&t.store, "mon itors", "", "k", vec![]).unwrap_err();
    assert!(message.to_string().contains("mon itors"), "names the bad part: {message}");
    assert_eq!(t.primary.total() + t.backup.total() + t.ephemeral.total(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_and_the_root_listing_match_the_0_3_traits() {
    let t = tiers();
    // What ldk-node 0.7 writes in the root namespace, through lightning 0.2's traits.
    for key in ["manager", "node_metrics", "network_graph", "scorer"] {
        KVStore::write(&t.store, "", "", key, key.as_bytes().to_vec()).await.unwrap();
    }
    KVStoreSync::write(&t.store, "bdk_wallet", "", "descriptor", vec![7]).unwrap();

    for key in ["manager", "node_metrics"] {
        for tier in [&*t.primary as &dyn Backend, &*t.backup] {
            assert_eq!(value(tier, "", "", key).await.as_deref(), Some(key.as_bytes()));
        }
        assert_eq!(value(&*t.ephemeral, "", "", key).await, None, "{key} is durable");
    }
    for key in ["network_graph", "scorer"] {
        assert_eq!(value(&*t.ephemeral, "", "", key).await.as_deref(), Some(key.as_bytes()));
        assert_eq!(value(&*t.primary, "", "", key).await, None, "{key} is ephemeral");
        assert_eq!(value(&*t.backup, "", "", key).await, None, "{key} is ephemeral");
        assert_eq!(KVStoreSync::read(&t.store, "", "", key).unwrap(), key.as_bytes());
    }

    let mut root = KVStore::list(&t.store, "", "").await.unwrap();
    root.sort();
    assert_eq!(root, ["manager", "network_graph", "node_metrics", "scorer"]);
    assert_eq!(KVStoreSync::list(&t.store, "bdk_wallet", "").unwrap(), ["descriptor"]);

    let mut all = MigratableKVStore::list_all_keys(&t.store).unwrap();
    all.sort();
    let all: Vec<String> = all.into_iter().map(|(p, _, k)| format!("{p}/{k}")).collect();
    assert_eq!(
        all,
        ["/manager", "/network_graph", "/node_metrics", "/scorer", "bdk_wallet/descriptor"]
    );
    assert!(t.store.verify().await.unwrap().is_consistent());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutations_take_effect_in_call_order() {
    let t = tiers();
    let key = Key::new("monitors", "", "m").unwrap();
    // The first-called write is slow in the primary; the second is awaited first.
    t.primary.inner().delay_key(Operation::Write, &key, Duration::from_millis(150));
    let first = KVStore::write(&t.store, "monitors", "", "m", b"v1".to_vec());
    let second = KVStore::write(&t.store, "monitors", "", "m", b"v2".to_vec());
    second.await.unwrap();
    first.await.unwrap();
    for tier in [&*t.primary as &dyn Backend, &*t.backup] {
        assert_eq!(value(tier, "monitors", "", "m").await.as_deref(), Some(&b"v2"[..]));
    }

    let write = KVStore::write(&t.store, "monitors", "", "m", b"v3".to_vec());
    let remove = KVStore::remove(&t.store, "monitors", "", "m", false);
    remove.await.unwrap();
    write.await.unwrap();
    assert_eq!(value(&*t.primary, "monitors", "", "m").await, None, "the later remove wins");
    assert_eq!(value(&*t.backup, "monitors", "", "m").await, None, "in the backup too");
}

/// Every lightning 0.2 sync method, with checked results.
fn exercise_sync(store: &TierStore) {
    for i in 0..5 {
        KVStoreSync::write(store, "monitors", "", &format!("m{i}"), vec![i]).unwrap();
    }
    KVStoreSync::write(store, "", "", "scorer", vec![9; 16]).unwrap();
    assert_eq!(KVStoreSync::read(store, "monitors", "", "m3").unwrap(), [3]);
    let err = KVStoreSync::read(store, "monitors", "", "absent").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    KVStoreSync::remove(store, "monitors", "", "m0", false).unwrap();
    let mut listed = KVStoreSync::list(store, "monitors", "").unwrap();
    listed.sort();
    assert_eq!(listed, ["m1", "m2", "m3", "m4"]);
    assert_eq!(MigratableKVStore::list_all_keys(store).unwrap().len(), 5);
}

fn delayed_store() -> TierStore {
    let primary = Arc::new(Delayed::new(MemoryBackend::named("primary")));
    for op in [Operation::Write, Operation::Read, Operation::List] {
        primary.delay(op, Duration::from_millis(2));
    }
    TierStore::builder(primary)
        .backup(MemoryBackend::named("backup"))
        .ephemeral(MemoryBackend::named("cache"))
        .build()
        .expect("valid configuration")
}

#[test]
fn sync_traits_from_a_plain_thread() {
    exercise_sync(&delayed_store());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_traits_inside_a_multi_thread_runtime() {
    exercise_sync(&delayed_store());
}

#[tokio::test(flavor = "current_thread")]
async fn sync_traits_inside_a_current_thread_runtime() {
    exercise_sync(&delayed_store());
}

#[test]
fn lightning_0_2_migrates_a_filesystem_store_into_tierstore_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut source = FilesystemStore::new(dir.path().join("source"));
    for (p, s, k) in [("", "", "manager"), ("", "", "network_graph"), ("monitors", "", "c1")] {
        KVStoreSync::write(&source, p, s, k, k.as_bytes().to_vec()).unwrap();
    }
    KVStoreSync::write(&source, "payments", "sub", "p1", vec![]).unwrap();

    let mut store = TierStore::builder(MemoryBackend::named("primary"))
        .backup(MemoryBackend::named("backup"))
        .ephemeral(MemoryBackend::named("cache"))
        .build()
        .unwrap();
    migrate_kv_store_data(&mut source, &mut store).unwrap();
    assert_eq!(KVStoreSync::read(&store, "monitors", "", "c1").unwrap(), b"c1");
    assert_eq!(KVStoreSync::read(&store, "payments", "sub", "p1").unwrap(), b"");
    assert_eq!(store.ephemeral().unwrap().to_string(), "cache");
    let graph = Key::new("", "", "network_graph").unwrap();
    assert!(store.is_ephemeral(&graph));

    let mut back = LdkStore::new(MemoryBackend::named("copy"));
    migrate_kv_store_data(&mut store, &mut back).unwrap();
    let mut copied = MigratableKVStore::list_all_keys(&back).unwrap();
    copied.sort();
    let mut original = MigratableKVStore::list_all_keys(&source).unwrap();
    original.sort();
    assert_eq!(copied, original);
    assert_eq!(back.backend().len(), 4);
}
