//! The server stops in the middle of a write load and comes back on the same data: while it
//! is down operations fail with transient errors, afterwards the same backend object works
//! again, and no acknowledged write is lost.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tierstore_core::{Backend, Key};
use tierstore_redis::RedisBackend;
use tierstore_testkit::servers::process::free_port;
use tierstore_testkit::servers::redis::{RedisServer, unique_prefix};
use tokio::sync::watch;

const WRITERS: usize = 8;

fn value(writer: usize, i: usize) -> Vec<u8> {
    format!("writer {writer} write {i}").repeat(1 + i % 7).into_bytes()
}

fn start(dir: &std::path::Path, port: u16) -> RedisServer {
    RedisServer::start_in(dir, port).unwrap_or_else(|e| panic!("redis-server on {port}: {e}"))
}

/// Writes distinct keys until told to stop; records every acknowledged write.
async fn writer(
    backend: RedisBackend,
    writer: usize,
    acknowledged: Arc<Mutex<BTreeMap<Key, Vec<u8>>>>,
    mut stop: watch::Receiver<bool>,
) -> usize {
    let mut failures = 0;
    for i in 0.. {
        if *stop.borrow_and_update() {
            break;
        }
        let key = Key::new("monitors", &format!("w{writer}"), &format!("k{i}")).unwrap();
        let value = value(writer, i);
        match backend.write(&key, value.clone().into()).await {
            Ok(()) => {
                acknowledged.lock().unwrap().insert(key, value);
            }
            Err(e) => {
                assert!(e.is_transient(), "a write during the outage is transient: {e}");
                failures += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let server = start(dir.path(), port);
    let backend = RedisBackend::connect(&server.url(), &unique_prefix("restart")).await.unwrap();

    let acknowledged = Arc::new(Mutex::new(BTreeMap::new()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            tokio::spawn(writer(backend.clone(), w, Arc::clone(&acknowledged), stop_rx.clone()))
        })
        .collect();

    // Let the load run, then take the server away under it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = acknowledged.lock().unwrap().len();
    assert!(before > 0, "no write was acknowledged before the stop");
    tokio::task::spawn_blocking(move || server.stop()).await.unwrap();

    // While it is down, every kind of operation fails, transiently.
    let probe = Key::new("monitors", "w0", "k0").unwrap();
    let err = backend.read(&probe).await.unwrap_err();
    assert!(err.is_transient(), "read while down: {err}");
    let err = backend.write(&probe, "x".into()).await.unwrap_err();
    assert!(err.is_transient(), "write while down: {err}");
    let err = backend.list_page(probe.namespace(), None, 10).await.unwrap_err();
    assert!(err.is_transient(), "list_page while down: {err}");
    let err = backend.list_all_keys().await.unwrap_err();
    assert!(err.is_transient(), "list_all_keys while down: {err}");

    // Back on the same data and port; the writers keep going through the same backend.
    let dir_path = dir.path().to_path_buf();
    let server = tokio::task::spawn_blocking(move || start(&dir_path, port)).await.unwrap();
    let resumed = acknowledged.lock().unwrap().len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while acknowledged.lock().unwrap().len() < resumed + 100 {
        assert!(tokio::time::Instant::now() < deadline, "writes did not resume after restart");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).unwrap();
    let mut failures = 0;
    for w in writers {
        failures += w.await.unwrap();
    }
    assert!(failures > 0, "the writers never saw the outage");

    // Every acknowledged write is there with its value, before and after a second restart.
    let acknowledged = acknowledged.lock().unwrap().clone();
    check_all_present(&backend, &acknowledged).await;
    tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
    let dir_path = dir.path().to_path_buf();
    let server = tokio::task::spawn_blocking(move || start(&dir_path, port)).await.unwrap();
    check_all_present_eventually(&backend, &acknowledged).await;
    tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
}

async fn check_all_present(backend: &RedisBackend, acknowledged: &BTreeMap<Key, Vec<u8>>) {
    for (key, value) in acknowledged {
        let read = backend.read(key).await.unwrap_or_else(|e| panic!("lost {key}: {e}"));
        assert_eq!(&read, value, "{key} has a different value");
    }
    let mut listed = backend.list_all_keys().await.unwrap();
    listed.sort();
    let expected: Vec<Key> = acknowledged.keys().cloned().collect();
    // Writes that failed transiently may still have landed: listed ⊇ acknowledged.
    for key in &expected {
        assert!(listed.binary_search(key).is_ok(), "{key} missing from list_all_keys");
    }
}

/// The first operations after a restart may still see the old connection fail.
async fn check_all_present_eventually(
    backend: &RedisBackend,
    acknowledged: &BTreeMap<Key, Vec<u8>>,
) {
    let probe = acknowledged.keys().next().expect("some acknowledged key");
    for _ in 0..100 {
        match backend.read(probe).await {
            Ok(_) => break,
            Err(e) if e.is_transient() => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("after restart: {e}"),
        }
    }
    check_all_present(backend, acknowledged).await;
}
