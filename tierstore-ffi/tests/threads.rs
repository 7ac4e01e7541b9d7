//! The blocking store API from every kind of thread: a plain thread, inside a current-thread
//! runtime, inside a multi-threaded runtime, and from a foreign backend's own callback.

use std::sync::Arc;

use tierstore_ffi::{TierStore, TierStoreBuilder, TierStoreError};

fn sqlite_store(dir: &tempfile::TempDir) -> Arc<TierStore> {
    TierStoreBuilder::new()
        .primary_url(format!("sqlite:{}", dir.path().join("p.db").display()))
        .backup_url("memory:backup".into())
        .build()
        .unwrap()
}

fn round_trip(store: &TierStore, key: &str) {
    store.write("ns".into(), "".into(), key.into(), key.as_bytes().to_vec()).unwrap();
    assert_eq!(store.read("ns".into(), "".into(), key.into()).unwrap(), key.as_bytes());
}

#[test]
fn from_plain_threads() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = &store;
            s.spawn(move || (0..25).for_each(|i| round_trip(store, &format!("t{t}k{i}"))));
        }
    });
    assert_eq!(store.list("ns".into(), "".into()).unwrap().len(), 100);
    assert!(store.verify().unwrap().consistent);
}

#[test]
fn inside_a_current_thread_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async { round_trip(&store, "current") });
    // And while that runtime has a task of its own pending.
    rt.block_on(async {
        let task = tokio::spawn(async { 7 });
        round_trip(&store, "current2");
        assert_eq!(task.await.unwrap(), 7);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_multi_thread_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { round_trip(&store, &format!("mt{t}")) })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.list("ns".into(), "".into()).unwrap().len(), 8);
}

#[test]
fn closing_is_final_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir);
    round_trip(&store, "k");
    store.close().unwrap();
    store.close().unwrap();
    let err = store.read("ns".into(), "".into(), "k".into()).unwrap_err();
    assert!(matches!(err, TierStoreError::InvalidInput { .. }), "{err:?}");
    assert!(store.describe().contains("closed"));
}

#[test]
fn a_journaled_store_reopens_after_close() {
    let dir = tempfile::tempdir().unwrap();
    let build = || {
        TierStoreBuilder::new()
            .primary_url(format!("sqlite:{}", dir.path().join("p.db").display()))
            .backup_url(format!("sqlite:{}", dir.path().join("b.db").display()))
            .journal(dir.path().join("journal").display().to_string())
            .build()
            .unwrap()
    };
    let store = build();
    round_trip(&store, "journaled");
    store.close().unwrap();
    // The journal's lock was released by close: a second open succeeds.
    let store = build();
    assert_eq!(store.read("ns".into(), "".into(), "journaled".into()).unwrap(), b"journaled");
    store.close().unwrap();
}
