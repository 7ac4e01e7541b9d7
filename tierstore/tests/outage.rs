//! Backup outages under load: the Redis or S3 server holding the backup is stopped while
//! writes go on, and started again on the same data.
//!
//! - `BackupPolicy::Deferred`: writes keep succeeding, the backlog grows, the store reopens
//!   (a process restart) while the server is still down, and once it is back the backlog
//!   drains to 0 and `verify()` is consistent.
//! - `BackupPolicy::Required`: writes fail naming the backup; once it is back, `repair()`
//!   makes the tiers consistent.
//! - A node starting during the outage: its backup backend is made afresh while the server
//!   is down (through `tierstore::open` for Redis). `Deferred` opens and writes; `Required`
//!   refuses to open, naming the backup.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use lightning::util::persist::KVStore;
use tierstore::layers::RetryConfig;
use tierstore::{Backend, BackupPolicy, TierStore};
use tierstore_testkit::crash::Params;
use tierstore_testkit::servers::process::free_port;
use tierstore_testkit::servers::redis::{RedisServer, unique_prefix};
use tierstore_testkit::servers::s3::{S3Server, S3Setup};

/// A backup server that can be stopped and started again on the same data.
enum Server {
    Redis { dir: std::path::PathBuf, port: u16, running: Option<RedisServer> },
    S3 { setup: Box<S3Setup>, running: Option<Box<S3Server>> },
}

impl Server {
    async fn redis(dir: &Path) -> Server {
        let (dir, port) = (dir.join("redis"), free_port().unwrap());
        let start = dir.clone();
        let server = tokio::task::spawn_blocking(move || RedisServer::start_in(&start, port))
            .await
            .unwrap()
            .expect("redis-server starts");
        Server::Redis { dir, port, running: Some(server) }
    }

    async fn s3(dir: &Path) -> Server {
        let dir = dir.join("s3");
        let server = tokio::task::spawn_blocking(move || {
            let server = S3Server::start_in(&dir).expect("SeaweedFS starts");
            server.create_bucket("outage").expect("bucket");
            server
        })
        .await
        .unwrap();
        Server::S3 { setup: Box::new(server.setup()), running: Some(Box::new(server)) }
    }

    fn params(&self) -> Params {
        match self {
            Server::Redis { running, .. } => [
                ("redis".to_owned(), running.as_ref().unwrap().url()),
                ("prefix".to_owned(), unique_prefix("outage")),
            ]
            .into(),
            Server::S3 { running, .. } => {
                let s = running.as_ref().unwrap();
                [
                    ("endpoint".to_owned(), s.endpoint().to_owned()),
                    ("region".to_owned(), s.region().to_owned()),
                    ("key_id".to_owned(), s.access_key_id().to_owned()),
                    ("secret".to_owned(), s.secret_access_key().to_owned()),
                    ("bucket".to_owned(), "outage".to_owned()),
                    ("prefix".to_owned(), unique_prefix("outage")),
                ]
                .into()
            }
        }
    }

    async fn backend(&self, params: &Params) -> Arc<dyn Backend> {
        match self {
            Server::Redis { .. } => support::redis(params).await,
            Server::S3 { .. } => support::s3(params),
        }
    }

    /// A backend made the way a starting node makes it: from its URL, for Redis through the
    /// facade's `open`.
    async fn fresh_backend(&self, params: &Params) -> Arc<dyn Backend> {
        match self {
            Server::Redis { port, .. } => {
                let url = format!("redis://127.0.0.1:{port}?prefix={}", params["prefix"]);
                tierstore::open(&url).await.unwrap_or_else(|e| panic!("open {url}: {e}"))
            }
            Server::S3 { .. } => support::s3(params),
        }
    }

    async fn stop(&mut self) {
        match self {
            Server::Redis { running, .. } => {
                let server = running.take().unwrap();
                tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
            }
            Server::S3 { running, .. } => {
                let server = running.take().unwrap();
                tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
            }
        }
    }

    async fn start(&mut self) {
        match self {
            Server::Redis { dir, port, running } => {
                let (dir, port) = (dir.clone(), *port);
                let server = tokio::task::spawn_blocking(move || RedisServer::start_in(&dir, port));
                *running = Some(server.await.unwrap().expect("redis-server restarts"));
            }
            Server::S3 { setup, running } => {
                let setup = setup.clone();
                let server = tokio::task::spawn_blocking(move || S3Server::start_with(&setup));
                *running = Some(Box::new(server.await.unwrap().expect("SeaweedFS restarts")));
            }
        }
    }
}

fn quick() -> RetryConfig {
    RetryConfig::default()
        .initial_delay(Duration::from_millis(50))
        .max_delay(Duration::from_millis(500))
}

async fn open(
    dir: &Path,
    backup: Arc<dyn Backend>,
    policy: BackupPolicy,
) -> Result<TierStore, tierstore::Error> {
    TierStore::builder(support::sqlite(&dir.join("primary.db")).await)
        .backup(backup)
        .journal(dir.join("journal"))
        .backup_policy(policy)
        .background_repair(Some(quick()))
        .open()
        .await
}

/// Writers on distinct keys until told to stop; every write must succeed.
fn load(
    store: &TierStore,
    stop: &Arc<AtomicBool>,
    acked: &Arc<AtomicU64>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..4)
        .map(|w| {
            let (store, stop, acked) = (store.clone(), Arc::clone(stop), Arc::clone(acked));
            tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("w{w}k{}", i % 500);
                    KVStore::write(&store, "monitors", "", &key, vec![i as u8; 512])
                        .await
                        .unwrap_or_else(|e| panic!("a deferred write failed: {e}"));
                    acked.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        })
        .collect()
}

async fn eventually(what: &str, timeout: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn deferred_outage(mut server: Server, dir: &Path) {
    let params = server.params();
    let backup = server.backend(&params).await;
    let store = open(dir, Arc::clone(&backup), BackupPolicy::deferred(100_000)).await.unwrap();
    let (stop, acked) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let writers = load(&store, &stop, &acked);
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.stop().await;
    let at_stop = acked.load(Ordering::Relaxed);
    eventually("writes go on during the outage", Duration::from_secs(60), async || {
        acked.load(Ordering::Relaxed) > at_stop + 200 && store.backlog() > 0
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let backlog = store.backlog();
    assert!(backlog > 0);
    drop(store);

    // A process restart while the server is still down: Deferred opens, the backlog is kept.
    let store = open(dir, backup.clone(), BackupPolicy::deferred(100_000)).await.unwrap();
    assert!(store.backlog() >= backlog, "{} < {backlog}", store.backlog());
    KVStore::write(&store, "monitors", "", "written_while_down", vec![7]).await.unwrap();
    // Required refuses to open without its backup, naming it.
    drop(store);
    let err = open(dir, backup.clone(), BackupPolicy::Required).await.unwrap_err().to_string();
    assert!(err.contains("backup tier failed") && err.contains(&backup.to_string()), "{err}");
    let store = open(dir, backup.clone(), BackupPolicy::deferred(100_000)).await.unwrap();

    server.start().await;
    eventually("the backlog drains", Duration::from_secs(120), async || store.backlog() == 0).await;
    let report = store.verify().await.unwrap();
    assert!(report.is_consistent(), "{report:?}");
    assert!(report.compared >= backlog, "every key of the backlog is compared: {report:?}");
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "outage ({backup}): {} writes acknowledged, backlog peaked at {backlog} keys, drained to 0\n",
            acked.load(Ordering::Relaxed)
        )
        .as_bytes(),
    );
    server.stop().await;
}

async fn required_outage(mut server: Server, dir: &Path) {
    let params = server.params();
    let backup = server.backend(&params).await;
    let store = open(dir, Arc::clone(&backup), BackupPolicy::Required).await.unwrap();
    for i in 0..50 {
        KVStore::write(&store, "monitors", "", &format!("k{i}"), vec![1; 256]).await.unwrap();
    }
    server.stop().await;
    for i in 0..5 {
        let err = KVStore::write(&store, "monitors", "", &format!("k{i}"), vec![2; 256])
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("backup tier failed") && err.contains(&backup.to_string()), "{err}");
    }
    assert_eq!(store.backlog(), 5);
    server.start().await;
    eventually("repair succeeds", Duration::from_secs(120), async || {
        store.repair().await.is_ok_and(|r| r.failed.is_empty()) && store.backlog() == 0
    })
    .await;
    assert!(store.verify().await.unwrap().is_consistent());
    server.stop().await;
}

/// The node stops, the backup's server goes down, and the node starts again with a backup
/// backend made while the server is down.
async fn start_during_outage(mut server: Server, dir: &Path) {
    let params = server.params();
    let backup = server.backend(&params).await;
    let store = open(dir, backup, BackupPolicy::Required).await.unwrap();
    for i in 0..50 {
        KVStore::write(&store, "monitors", "", &format!("k{i}"), vec![1; 256]).await.unwrap();
    }
    drop(store);
    server.stop().await;

    let backup = tokio::time::timeout(Duration::from_secs(30), server.fresh_backend(&params))
        .await
        .expect("making the backend does not wait for its server");
    let err = open(dir, backup.clone(), BackupPolicy::Required).await.unwrap_err().to_string();
    assert!(err.contains(&backup.to_string()), "Required names the backup: {err}");

    let store = open(dir, backup.clone(), BackupPolicy::deferred(100_000)).await.unwrap();
    for i in 0..100 {
        KVStore::write(&store, "monitors", "", &format!("k{i}"), vec![2; 256]).await.unwrap();
    }
    KVStore::remove(&store, "monitors", "", "k0", false).await.unwrap();
    let backlog = store.backlog();
    assert!(backlog >= 100, "every write while down is behind on the backup: {backlog}");

    server.start().await;
    eventually("the backlog drains", Duration::from_secs(120), async || store.backlog() == 0).await;
    let report = store.verify().await.unwrap();
    assert!(report.is_consistent(), "{report:?}");
    assert_eq!(
        backup.read(&tierstore::Key::new("monitors", "", "k99").unwrap()).await.unwrap(),
        vec![2; 256]
    );
    let removed = backup.read(&tierstore::Key::new("monitors", "", "k0").unwrap()).await;
    assert!(removed.unwrap_err().is_not_found(), "the remove reached the backup");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_backup_made_while_down_opens_deferred_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    start_during_outage(Server::redis(dir.path()).await, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_backup_made_while_down_opens_deferred_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    start_during_outage(Server::s3(dir.path()).await, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_deferred() {
    let dir = tempfile::tempdir().unwrap();
    deferred_outage(Server::redis(dir.path()).await, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_required() {
    let dir = tempfile::tempdir().unwrap();
    required_outage(Server::redis(dir.path()).await, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_outage_deferred() {
    let dir = tempfile::tempdir().unwrap();
    deferred_outage(Server::s3(dir.path()).await, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_outage_required() {
    let dir = tempfile::tempdir().unwrap();
    required_outage(Server::s3(dir.path()).await, dir.path()).await;
}
