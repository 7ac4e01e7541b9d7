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

/// A foreign backend that itself uses another store from its callbacks (which run on the
/// bindings' blocking threads): the nested blocking call must not deadlock or panic.
struct Nested {
    inner: Arc<TierStore>,
}

impl tierstore_ffi::ForeignBackend for Nested {
    fn name(&self) -> String {
        "nested".into()
    }
    fn read(&self, p: String, s: String, k: String) -> Result<Vec<u8>, TierStoreError> {
        self.inner.read(p, s, k)
    }
    fn write(&self, p: String, s: String, k: String, v: Vec<u8>) -> Result<(), TierStoreError> {
        self.inner.write(p, s, k, v)
    }
    fn remove(&self, p: String, s: String, k: String, lazy: bool) -> Result<(), TierStoreError> {
        self.inner.remove(p, s, k, lazy)
    }
    fn list(&self, p: String, s: String) -> Result<Vec<String>, TierStoreError> {
        self.inner.list(p, s)
    }
    fn list_page(
        &self,
        p: String,
        s: String,
        token: Option<String>,
        _limit: u32,
    ) -> Result<tierstore_ffi::KeyPage, TierStoreError> {
        self.inner.list_page(p, s, token)
    }
    fn list_all_keys(&self) -> Result<Vec<tierstore_ffi::StoreKey>, TierStoreError> {
        self.inner.list_all_keys()
    }
}

#[test]
fn a_foreign_backend_may_call_a_store_itself() {
    let dir = tempfile::tempdir().unwrap();
    let inner = sqlite_store(&dir);
    let outer = TierStoreBuilder::new()
        .primary_backend(Arc::new(Nested { inner: Arc::clone(&inner) }))
        .build()
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let outer = &outer;
            s.spawn(move || (0..10).for_each(|i| round_trip(outer, &format!("n{t}k{i}"))));
        }
    });
    assert_eq!(inner.list("ns".into(), "".into()).unwrap().len(), 40);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async { round_trip(&outer, "from-runtime") });
}
