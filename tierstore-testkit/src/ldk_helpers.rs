//! lightning-persister's store test helpers (`do_read_write_remove_list_persist`,
//! `do_test_data_migration` and its async twin), rewritten for any store — lightning-persister
//! keeps its own `#[cfg(test)]`, so other crates cannot call them.
//!
//! The bounds are LDK's: `KVStoreSync + RefUnwindSafe`, `MigratableKVStoreSync`. One
//! difference, on purpose: where LDK's helper expects its filesystem store to *panic* on a
//! key LDK's rules refuse, these expect an `InvalidInput` error and no panic (TierStore's
//! contract: bad input is an error, never a panic). The `catch_unwind` stays, so a panic is
//! caught and reported as a failure.

use std::panic::RefUnwindSafe;

use lightning::util::persist::{
    KVSTORE_NAMESPACE_KEY_ALPHABET, KVSTORE_NAMESPACE_KEY_MAX_LEN, KVStore, KVStoreSync,
    MigratableKVStore, MigratableKVStoreSync, migrate_kv_store_data, migrate_kv_store_data_async,
};

/// Writes, reads, lists and removes, including the longest allowed names and names LDK's
/// rules refuse (lightning-persister's `do_read_write_remove_list_persist`).
pub fn do_read_write_remove_list_persist<K: KVStoreSync + RefUnwindSafe>(kv_store: &K) {
    let data = vec![42u8; 32];
    let (primary_namespace, secondary_namespace, key) = ("testspace", "testsubspace", "testkey");

    kv_store.write(primary_namespace, secondary_namespace, key, data.clone()).unwrap();

    // An empty primary namespace with an empty secondary one is allowed, but not an empty
    // primary with a non-empty secondary, and not an empty key.
    kv_store.write("", "", key, data.clone()).unwrap();
    let refused = |result: std::thread::Result<Result<(), lightning::io::Error>>| match result {
        Ok(Err(e)) => assert_eq!(e.kind(), lightning::io::ErrorKind::InvalidInput, "{e}"),
        Ok(Ok(())) => panic!("an invalid key was accepted"),
        Err(_) => panic!("an invalid key made the store panic"),
    };
    refused(std::panic::catch_unwind(|| {
        kv_store.write("", secondary_namespace, key, data.clone())
    }));
    refused(std::panic::catch_unwind(|| {
        kv_store.write(primary_namespace, secondary_namespace, "", data.clone())
    }));

    let listed = kv_store.list(primary_namespace, secondary_namespace).unwrap();
    assert_eq!(listed, vec![key.to_owned()]);
    assert_eq!(kv_store.read(primary_namespace, secondary_namespace, key).unwrap(), data);
    kv_store.remove(primary_namespace, secondary_namespace, key, false).unwrap();
    assert!(kv_store.list(primary_namespace, secondary_namespace).unwrap().is_empty());

    // Names of KVSTORE_NAMESPACE_KEY_MAX_LEN characters work.
    let max = "A".repeat(KVSTORE_NAMESPACE_KEY_MAX_LEN);
    kv_store.write(&max, &max, &max, data.clone()).unwrap();
    assert_eq!(kv_store.list(&max, &max).unwrap(), vec![max.clone()]);
    assert_eq!(kv_store.read(&max, &max, &max).unwrap(), data);
    kv_store.remove(&max, &max, &max, false).unwrap();
    assert!(kv_store.list(&max, &max).unwrap().is_empty());
}

/// lightning-persister's test keys: three namespaces by three sub-namespaces by three keys.
pub fn data_migration_test_keys() -> Vec<(String, String, String)> {
    let mut keys = Vec::new();
    let char_at = |i: usize| KVSTORE_NAMESPACE_KEY_ALPHABET.chars().nth(i).expect("in range");
    for i in 0..3 {
        let primary = if i == 0 { String::new() } else { format!("testspace{}", char_at(i)) };
        for j in 0..3 {
            let secondary = if i == 0 || j == 0 {
                String::new()
            } else {
                format!("testsubspace{}", char_at(j))
            };
            for k in 0..3 {
                keys.push((primary.clone(), secondary.clone(), format!("testkey{}", char_at(k))));
            }
        }
    }
    keys
}

/// Fills `source`, migrates it into `target` with LDK's `migrate_kv_store_data`, and checks
/// every key (lightning-persister's `do_test_data_migration`).
pub fn do_test_data_migration<S: MigratableKVStoreSync, T: MigratableKVStoreSync>(
    source: &mut S,
    target: &mut T,
) {
    let data = vec![42u8; 32];
    let mut expected = data_migration_test_keys();
    for (p, s, k) in &expected {
        source.write(p, s, k, data.clone()).unwrap();
    }
    expected.sort();
    expected.dedup();
    let mut listed = source.list_all_keys().unwrap();
    listed.sort();
    assert_eq!(listed, expected);

    migrate_kv_store_data(source, target).unwrap();

    let mut listed = target.list_all_keys().unwrap();
    listed.sort();
    assert_eq!(listed, expected);
    for (p, s, k) in &expected {
        assert_eq!(target.read(p, s, k).unwrap(), data);
    }
}

/// The async twin (lightning-persister's `do_test_data_migration_async`).
pub async fn do_test_data_migration_async<S: MigratableKVStore, T: MigratableKVStore>(
    source: &S,
    target: &T,
) {
    let data = vec![42u8; 32];
    let mut expected = data_migration_test_keys();
    for (p, s, k) in &expected {
        KVStore::write(source, p, s, k, data.clone()).await.unwrap();
    }
    expected.sort();
    expected.dedup();
    let mut listed = MigratableKVStore::list_all_keys(source).await.unwrap();
    listed.sort();
    assert_eq!(listed, expected);

    migrate_kv_store_data_async(source, target).await.unwrap();

    let mut listed = MigratableKVStore::list_all_keys(target).await.unwrap();
    listed.sort();
    assert_eq!(listed, expected);
    for (p, s, k) in &expected {
        assert_eq!(KVStore::read(target, p, s, k).await.unwrap(), data);
    }
}
