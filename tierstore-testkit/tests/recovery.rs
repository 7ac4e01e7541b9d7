//! Recovery across restarts, in one process: stores are in-memory backends shared between
//! successive `open()`s (what a restart sees of a durable store), with fault wrappers to fail
//! the backup. The kill -9 tests (`tierstore/tests/crash.rs`) prove the same on real
//! backends and real crashes.

use std::sync::Arc;
use std::time::Duration;

use lightning::util::persist::{KVStore, MigratableKVStore, PaginatedKVStore};
use tierstore_core::key::RESERVED_NAMESPACE;
use tierstore_core::layers::RetryConfig;
use tierstore_core::{
    Backend, BackupPolicy, Error, Key, MemoryBackend, Operation, TierStore, repair,
};
use tierstore_testkit::faults::{Counting, Fault, Faulty};

type Shared = Arc<MemoryBackend>;
type Failing = Arc<Faulty<Shared>>;

fn stores() -> (Shared, Failing, tempfile::TempDir) {
    let primary = Arc::new(MemoryBackend::named("primary"));
    let backup = Arc::new(Faulty::new(Arc::new(MemoryBackend::named("backup"))));
    (primary, backup, tempfile::tempdir().unwrap())
}

fn quick_repair() -> RetryConfig {
    RetryConfig::default()
        .initial_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(50))
}

async fn open(primary: &Shared, backup: &Failing, dir: &tempfile::TempDir) -> TierStore {
    TierStore::builder(Arc::clone(primary))
        .backup(Arc::clone(backup))
        .journal(dir.path().join("journal"))
        .background_repair(None)
        .open()
        .await
        .expect("opens")
}

async fn value(backend: &dyn Backend, key: &str) -> Option<Vec<u8>> {
    match backend.read(&Key::new("monitors", "", key).unwrap()).await {
        Ok(v) => Some(v),
        Err(e) if e.is_not_found() => None,
        Err(e) => panic!("{e}"),
    }
}

async fn write(store: &TierStore, key: &str, value: &[u8]) -> Result<(), lightning::io::Error> {
    KVStore::write(store, "monitors", "", key, value.to_vec()).await
}

async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..400 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting: {what}");
}

#[tokio::test]
async fn divergences_survive_a_restart_and_open_repairs_them() {
    let (primary, backup, dir) = stores();
    let store = open(&primary, &backup, &dir).await;
    write(&store, "m", b"v1").await.unwrap();
    backup.inject(Fault::on(Operation::Write));
    let err = write(&store, "m", b"v2").await.unwrap_err();
    assert!(err.to_string().contains("backup tier failed"), "{err}");
    assert_eq!(store.divergences().len(), 1);
    drop(store);

    // The divergence is in the journal: a new process knows it before repairing it.
    backup.heal();
    let store = TierStore::builder(Arc::clone(&primary))
        .backup(Arc::clone(&backup))
        .journal(dir.path().join("journal"))
        .background_repair(None)
        .open()
        .await
        .unwrap();
    assert!(store.divergences().is_empty(), "open() recovered it: {:?}", store.divergences());
    assert_eq!(value(backup.as_ref(), "m").await.as_deref(), Some(&b"v2"[..]));
    assert!(store.verify().await.unwrap().is_consistent());
}

#[tokio::test]
async fn a_failed_repair_stays_recorded_across_restarts() {
    let (primary, backup, dir) = stores();
    let store = open(&primary, &backup, &dir).await;
    backup.inject(Fault::on(Operation::Remove));
    write(&store, "m", b"v1").await.unwrap();
    KVStore::remove(&store, "monitors", "", "m", false).await.unwrap_err();
    let report = store.repair().await.unwrap();
    assert_eq!(report.failed.len(), 1);
    drop(store);
    // Still failing: Required refuses to open, naming the backup.
    let err = TierStore::builder(Arc::clone(&primary))
        .backup(Arc::clone(&backup))
        .journal(dir.path().join("journal"))
        .open()
        .await
        .unwrap_err();
    assert_eq!(err.tier(), Some(tierstore_core::Tier::Backup), "{err}");
    assert!(err.to_string().contains("Faulty(backup)"), "names the backup: {err}");
    backup.heal();
    let store = open(&primary, &backup, &dir).await;
    assert!(store.divergences().is_empty());
    assert_eq!(value(backup.as_ref(), "m").await, None, "removed from the backup too");
}

#[tokio::test]
async fn deferred_writes_succeed_the_backlog_is_bounded_and_drains() {
    let (primary, backup, dir) = stores();
    let store = TierStore::builder(Arc::clone(&primary))
        .backup(Arc::clone(&backup))
        .journal(dir.path().join("journal"))
        .backup_policy(BackupPolicy::deferred(5))
        .background_repair(None)
        .open()
        .await
        .unwrap();
    backup.inject(Fault::any_op().transient());
    for i in 0..5 {
        write(&store, &format!("k{i}"), b"v").await.unwrap();
    }
    assert_eq!(store.backlog(), 5);
    let err = write(&store, "k5", b"v").await.unwrap_err().to_string();
    assert!(err.contains("backup tier failed") && err.contains("5 keys behind"), "{err}");
    assert_eq!(value(primary.as_ref(), "k5").await, None, "a refused write reaches no tier");
    // A key already behind can still be updated: it does not grow the backlog.
    write(&store, "k0", b"v2").await.unwrap();
    assert_eq!(store.backlog(), 5);
    drop(store);

    // Restart while the backup is still down: Deferred opens, Required does not.
    let store = TierStore::builder(Arc::clone(&primary))
        .backup(Arc::clone(&backup))
        .journal(dir.path().join("journal"))
        .backup_policy(BackupPolicy::deferred(5))
        .background_repair(Some(quick_repair()))
        .open()
        .await
        .unwrap();
    assert_eq!(store.backlog(), 5);
    backup.heal();
    eventually("the backlog drains", async || store.backlog() == 0).await;
    assert_eq!(value(backup.as_ref(), "k0").await.as_deref(), Some(&b"v2"[..]));
    assert!(store.verify().await.unwrap().is_consistent());
    write(&store, "k5", b"v").await.unwrap();
    assert_eq!(store.backlog(), 0);
}

#[tokio::test]
async fn open_backfills_a_new_backup_and_resilvers_a_stale_one() {
    let (primary, backup, dir) = stores();
    let journal = dir.path().join("journal");
    // A node without a backup.
    let store = TierStore::builder(Arc::clone(&primary)).journal(&journal).open().await.unwrap();
    for i in 0..100 {
        write(&store, &format!("k{i}"), format!("v{i}").as_bytes()).await.unwrap();
    }
    drop(store);
    // It gains a backup: backfilled.
    let store = open(&primary, &backup, &dir).await;
    let backfill = store.last_resilver().expect("a backfill ran");
    assert_eq!((backfill.copied, backfill.removed), (100, 0), "{backfill:?}");
    assert!(store.verify().await.unwrap().is_consistent());
    drop(store);
    // Reopened with the same backup: in sync, nothing compared.
    let store = open(&primary, &backup, &dir).await;
    assert!(store.last_resilver().is_none());
    drop(store);
    // Runs without it and writes more: resilvered, only the difference copied.
    let store = TierStore::builder(Arc::clone(&primary)).journal(&journal).open().await.unwrap();
    for i in 95..110 {
        write(&store, &format!("k{i}"), b"new").await.unwrap();
    }
    KVStore::remove(&store, "monitors", "", "k0", false).await.unwrap();
    drop(store);
    let store = open(&primary, &backup, &dir).await;
    let resilver = store.last_resilver().expect("a resilver ran");
    assert_eq!((resilver.copied, resilver.removed), (15, 1), "{resilver:?}");
    assert!(store.verify().await.unwrap().is_consistent());
}

#[tokio::test]
async fn a_lost_journal_means_a_full_comparison_and_a_corrupt_one_is_refused() {
    let (primary, backup, dir) = stores();
    let journal = dir.path().join("journal");
    let store = open(&primary, &backup, &dir).await;
    for i in 0..20 {
        write(&store, &format!("k{i}"), b"v").await.unwrap();
    }
    drop(store);

    // A truncated tail (a torn last write) is dropped; the store opens.
    let len = std::fs::metadata(&journal).unwrap().len();
    let file = std::fs::OpenOptions::new().append(true).open(&journal).unwrap();
    file.set_len(len + 7).unwrap(); // garbage after the last frame
    drop(file);
    open(&primary, &backup, &dir).await;

    // Flipped bytes inside the file: refused, with the way out.
    let mut bytes = std::fs::read(&journal).unwrap();
    assert!(bytes.len() > 60, "{} bytes", bytes.len());
    bytes.extend_from_within(22..); // a second copy of the frames
    bytes[30] ^= 0xff;
    std::fs::write(&journal, &bytes).unwrap();
    let err = TierStore::builder(Arc::clone(&primary))
        .backup(Arc::clone(&backup))
        .journal(&journal)
        .open()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Journal { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("corrupt") && message.contains("resilver"), "{message}");

    // A missing journal: the backup is compared in full, nothing needs copying.
    std::fs::remove_file(&journal).unwrap();
    let store = open(&primary, &backup, &dir).await;
    let resilver = store.last_resilver().expect("a full comparison ran");
    assert_eq!((resilver.scanned, resilver.copied), (20, 0), "{resilver:?}");
}

#[tokio::test]
async fn the_sync_record_is_invisible_to_ldk() {
    let (primary, backup, dir) = stores();
    let store = open(&primary, &backup, &dir).await;
    write(&store, "m", b"v").await.unwrap();
    let reserved = Key::new(RESERVED_NAMESPACE, "", "sync").unwrap();
    assert!(primary.read(&reserved).await.is_ok(), "the primary holds its record");
    assert!(backup.read(&reserved).await.is_ok(), "the backup holds its record");

    let all = MigratableKVStore::list_all_keys(&store).await.unwrap();
    assert_eq!(all, vec![("monitors".to_owned(), String::new(), "m".to_owned())]);
    for result in [
        KVStore::list(&store, RESERVED_NAMESPACE, "").await.map(|_| ()),
        PaginatedKVStore::list_paginated(&store, RESERVED_NAMESPACE, "", None).await.map(|_| ()),
        KVStore::read(&store, RESERVED_NAMESPACE, "", "sync").await.map(|_| ()),
        KVStore::write(&store, RESERVED_NAMESPACE, "", "x", vec![1]).await,
        KVStore::remove(&store, RESERVED_NAMESPACE, "", "sync", false).await,
    ] {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), lightning::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("reserved"), "{err}");
    }
    let report = store.verify().await.unwrap();
    assert!(report.is_consistent(), "the records differ, yet verify ignores them: {report:?}");
    assert_eq!(report.compared, 1);
}

#[tokio::test]
async fn identity_decides_never_names() {
    // One store under two handles: refused once the journal sees the same id twice.
    let (primary, _, dir) = stores();
    let alias = Arc::new(Alias(Arc::clone(&primary)));
    let err = TierStore::builder(Arc::clone(&primary))
        .backup(Arc::clone(&alias))
        .journal(dir.path().join("journal"))
        .open()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is the primary store itself"), "{err}");
    // Without a journal, only the same object is refused; equal names are not.
    let named = |n| Arc::new(MemoryBackend::named(n));
    TierStore::builder(named("same")).backup(named("same")).build().unwrap();
    let err = TierStore::builder(Arc::clone(&primary)).backup(Arc::clone(&primary)).build();
    assert!(err.unwrap_err().to_string().contains("is the primary store itself"));
    let layered = Arc::new(Counting::new(Arc::clone(&primary)));
    let err = TierStore::builder(Arc::clone(&primary)).backup(layered).build();
    assert!(err.unwrap_err().to_string().contains("is the primary store itself"));

    // Another node's backup is never overwritten...
    let (a_primary, backup, a_dir) = stores();
    let a = open(&a_primary, &backup, &a_dir).await;
    write(&a, "m", b"node a").await.unwrap();
    drop(a);
    let (b_primary, _, b_dir) = stores();
    let err = TierStore::builder(Arc::clone(&b_primary))
        .backup(Arc::clone(&backup))
        .journal(b_dir.path().join("journal"))
        .open()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("backup of another primary"), "{err}");
    assert_eq!(value(backup.as_ref(), "m").await.as_deref(), Some(&b"node a"[..]));

    // ...but a primary restored from it carries its identity over, journal lost or not.
    let restored = Arc::new(MemoryBackend::named("restored"));
    repair::restore(backup.as_ref(), restored.as_ref(), repair::Scan::new(), false, &|_, _| {})
        .await
        .unwrap();
    let store = open(&restored, &backup, &tempfile::tempdir().unwrap()).await;
    assert_eq!(KVStore::read(&store, "monitors", "", "m").await.unwrap(), b"node a");
    assert!(store.verify().await.unwrap().is_consistent());
    drop(store);
    let store = open(&restored, &backup, &a_dir).await;
    assert!(store.verify().await.unwrap().is_consistent());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_journal_fsyncs() {
    let (primary, backup, dir) = stores();
    let store = open(&primary, &backup, &dir).await;
    let before = store.journal_stats().unwrap();
    let writes = (0..64).map(|i| {
        let store = store.clone();
        async move { KVStore::write(&store, "monitors", "", &format!("k{i}"), vec![i; 64]).await }
    });
    futures::future::try_join_all(writes).await.unwrap();
    let after = store.journal_stats().unwrap();
    let syncs = after.syncs - before.syncs;
    assert!(syncs < 64, "64 concurrent writes took {syncs} journal fsyncs");
    assert!(store.verify().await.unwrap().is_consistent());
}

/// The same store under another name, as a second URL for one bucket would be: nothing in
/// this process can tell (it does not forward `store_address`).
struct Alias(Shared);

impl std::fmt::Display for Alias {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("alias")
    }
}

#[tierstore_core::async_trait]
impl Backend for Alias {
    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        self.0.read(key).await
    }
    async fn write(&self, key: &Key, value: tierstore_core::Bytes) -> Result<(), Error> {
        self.0.write(key, value).await
    }
    async fn remove(&self, key: &Key, lazy: bool) -> Result<(), Error> {
        self.0.remove(key, lazy).await
    }
    async fn list(&self, namespace: &tierstore_core::Namespace) -> Result<Vec<String>, Error> {
        self.0.list(namespace).await
    }
    async fn list_page(
        &self,
        namespace: &tierstore_core::Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<tierstore_core::Page, Error> {
        self.0.list_page(namespace, token, limit).await
    }
    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        self.0.list_all_keys().await
    }
}
