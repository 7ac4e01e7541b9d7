//! lightning-persister's store test helpers, run against TierStore (with and without a
//! journal): a TierStore is `KVStoreSync + RefUnwindSafe`, as those helpers require.

use std::sync::Arc;

use tierstore_core::{MemoryBackend, TierStore};
use tierstore_testkit::ldk_helpers;

fn memory_store() -> TierStore {
    TierStore::builder(MemoryBackend::named("primary"))
        .backup(MemoryBackend::named("backup"))
        .ephemeral(MemoryBackend::named("cache"))
        .build()
        .unwrap()
}

#[test]
fn read_write_remove_list_persist() {
    let store = memory_store();
    ldk_helpers::do_read_write_remove_list_persist(&store);
    assert!(store.divergences().is_empty());
}

#[test]
fn read_write_remove_list_persist_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (primary, backup) =
        (Arc::new(MemoryBackend::named("primary")), Arc::new(MemoryBackend::named("backup")));
    let store = rt
        .block_on(
            TierStore::builder(Arc::clone(&primary))
                .backup(Arc::clone(&backup))
                .journal(dir.path().join("journal"))
                .open(),
        )
        .unwrap();
    ldk_helpers::do_read_write_remove_list_persist(&store);
    assert!(rt.block_on(store.verify()).unwrap().is_consistent());
}

#[test]
fn data_migration_between_tierstores() {
    let (mut source, mut target) = (memory_store(), memory_store());
    ldk_helpers::do_test_data_migration(&mut source, &mut target);
    assert!(target.divergences().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_migration_between_tierstores_async() {
    let (source, target) = (memory_store(), memory_store());
    ldk_helpers::do_test_data_migration_async(&source, &target).await;
    assert!(target.verify().await.unwrap().is_consistent());
}
