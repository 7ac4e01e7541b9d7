//! The server goes away and comes back, on a private server of this test's own:
//!
//! - a backend created while the server is down works once it is up, without a new object;
//! - the postmaster is killed in the middle of a write load and restarted on the same data:
//!   while it is down operations fail with transient errors, afterwards the same backend
//!   works again, no acknowledged write is lost, and the creation order carries on;
//! - two backends with separate pools (as two processes would) write one table and keep a
//!   single creation order.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tierstore_core::{Backend, Error, Key, Namespace};
use tierstore_postgres::PostgresBackend;
use tierstore_testkit::conformance::paged_keys;
use tierstore_testkit::servers::postgres::{PostgresServer, unique_table};
use tierstore_testkit::servers::process::free_port;
use tokio::sync::watch;

const WRITERS: usize = 8;

async fn start(dir: &Path, port: u16) -> PostgresServer {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        PostgresServer::start_in(&dir, port).unwrap_or_else(|e| panic!("PostgreSQL on {port}: {e}"))
    })
    .await
    .unwrap()
}

async fn kill(server: PostgresServer) {
    tokio::task::spawn_blocking(move || server.kill()).await.unwrap();
}

async fn stop(server: PostgresServer) {
    tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
}

fn value(writer: usize, i: usize) -> Vec<u8> {
    format!("writer {writer} write {i}").repeat(1 + i % 7).into_bytes()
}

/// Retries `op` while it fails transiently (the first requests after a restart may meet
/// connections the server dropped), for up to 30 s.
async fn eventually<T, F, Fut>(what: &str, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match op().await {
            Ok(value) => return value,
            Err(e) if e.is_transient() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_created_during_an_outage_works_once_the_server_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let server = start(dir.path(), port).await;
    let url = server.url();
    // A table of a newer version, to be refused once the server can be seen.
    let newer = unique_table("newer");
    let client = common::raw_client_at(&url).await;
    client
        .batch_execute(&format!(
            "CREATE TABLE \"{newer}\" (primary_namespace TEXT, secondary_namespace TEXT, \
             key TEXT, value BYTEA, sort_order BIGSERIAL); COMMENT ON TABLE \"{newer}\" IS '7'"
        ))
        .await
        .unwrap();
    drop(client);
    stop(server).await;

    let table = unique_table("outage");
    let started = Instant::now();
    let backend = PostgresBackend::connect(&url, &table).await.expect("connect during an outage");
    let refused_later = PostgresBackend::connect(&url, &newer).await.expect("cannot see it yet");
    assert!(started.elapsed() < Duration::from_secs(15), "connect took {:?}", started.elapsed());

    let k = Key::new("monitors", "", "chan").unwrap();
    let err = backend.read(&k).await.unwrap_err();
    assert!(err.is_transient(), "read while down: {err}");
    assert!(err.to_string().contains(&table), "the error names the backend: {err}");
    let err = backend.write(&k, b"v".to_vec().into()).await.unwrap_err();
    assert!(err.is_transient(), "write while down: {err}");
    let err = backend.list_page(k.namespace(), None, 10).await.unwrap_err();
    assert!(err.is_transient(), "list_page while down: {err}");

    let server = start(dir.path(), port).await;
    eventually("write after the outage", || backend.write(&k, b"v".to_vec().into())).await;
    assert_eq!(backend.read(&k).await.unwrap(), b"v");
    assert!(backend.capabilities().durable, "the fixture runs with fsync and synchronous_commit");

    let err = eventually("the newer table is seen", || async {
        match refused_later.read(&k).await {
            Err(e) if !e.is_transient() => Ok(e),
            Err(e) => Err(e),
            Ok(_) => panic!("a table of version 7 was used"),
        }
    })
    .await;
    assert!(err.to_string().contains("schema version 7"), "{err}");
    stop(server).await;
}

/// Writes distinct keys until told to stop; records every acknowledged write.
async fn writer(
    backend: PostgresBackend,
    writer: usize,
    acknowledged: Arc<Mutex<BTreeMap<Key, Vec<u8>>>>,
    mut stop: watch::Receiver<bool>,
) -> usize {
    let mut failures = 0;
    for i in 0.. {
        if *stop.borrow_and_update() {
            break;
        }
        let key = Key::new("monitors", &format!("w{writer}"), &format!("k{i:05}")).unwrap();
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
async fn acknowledged_writes_survive_a_killed_postmaster() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let server = start(dir.path(), port).await;
    let backend = PostgresBackend::connect(&server.url(), &unique_table("restart")).await.unwrap();

    let acknowledged = Arc::new(Mutex::new(BTreeMap::new()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            tokio::spawn(writer(backend.clone(), w, Arc::clone(&acknowledged), stop_rx.clone()))
        })
        .collect();

    // Let the load run, then kill the postmaster under it.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!acknowledged.lock().unwrap().is_empty(), "no write was acknowledged before the kill");
    kill(server).await;

    // While it is down, every kind of operation fails, transiently.
    let probe = Key::new("monitors", "w0", "k00000").unwrap();
    let err = backend.read(&probe).await.unwrap_err();
    assert!(err.is_transient(), "read while down: {err}");
    let err = backend.list_all_keys().await.unwrap_err();
    assert!(err.is_transient(), "list_all_keys while down: {err}");

    // Back on the same data (crash recovery from the WAL); the writers go on.
    let server = start(dir.path(), port).await;
    let resumed = acknowledged.lock().unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < resumed + 100 {
        assert!(Instant::now() < deadline, "writes did not resume after the restart");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).unwrap();
    let mut failures = 0;
    for w in writers {
        failures += w.await.unwrap();
    }
    assert!(failures > 0, "the writers never saw the outage");

    let acknowledged = acknowledged.lock().unwrap().clone();
    check_all_present(&backend, &acknowledged).await;

    // A second crash, then a key created afterwards is the newest of its namespace: the
    // sequence survived both.
    kill(server).await;
    let server = start(dir.path(), port).await;
    let ns = Namespace::new("monitors", "w3").unwrap();
    let newest = ns.key("after_restart").unwrap();
    eventually("write after the second restart", || backend.write(&newest, b"n".to_vec().into()))
        .await;
    check_all_present(&backend, &acknowledged).await;
    let order = paged_keys(&backend, &ns, 100).await;
    assert_eq!(order[0], "after_restart");
    let written: Vec<String> =
        acknowledged.keys().filter(|k| k.namespace() == &ns).map(|k| k.key().to_owned()).collect();
    let mut expected = written.clone();
    expected.reverse(); // k00000.. were written in order by one writer
    let listed: Vec<String> = order.into_iter().skip(1).filter(|k| written.contains(k)).collect();
    assert_eq!(listed, expected, "one writer's keys are listed newest first");
    stop(server).await;
}

async fn check_all_present(backend: &PostgresBackend, acknowledged: &BTreeMap<Key, Vec<u8>>) {
    for (key, value) in acknowledged {
        let read = eventually(&format!("read {key}"), || backend.read(key)).await;
        assert_eq!(&read, value, "{key} has a different value");
    }
    let listed = eventually("list_all_keys", || backend.list_all_keys()).await;
    // Writes that failed transiently may still have landed: listed ⊇ acknowledged.
    for key in acknowledged.keys() {
        assert!(listed.contains(key), "{key} missing from list_all_keys");
    }
}

#[test]
fn two_backends_with_separate_pools_keep_one_creation_order() {
    const PER_WRITER: usize = 150;
    let table = unique_table("two_writers");
    let url = tierstore_testkit::servers::postgres::shared_url();
    // Each writer has its own runtime, thread and pool, as a process of its own would.
    let writers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let (url, table) = (url.clone(), table.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Runtime::new().unwrap();
                rt.block_on(async {
                    let backend = PostgresBackend::connect(&url, &table).await.unwrap();
                    for i in 0..PER_WRITER {
                        let key = Key::new("shared", "", &format!("{name}{i:03}")).unwrap();
                        backend.write(&key, name.as_bytes().to_vec().into()).await.unwrap();
                    }
                })
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer thread");
    }

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // A third backend, as a restarted process: its new key is the newest.
        let backend = PostgresBackend::connect(&url, &table).await.unwrap();
        let ns = Namespace::new("shared", "").unwrap();
        backend.write(&ns.key("later").unwrap(), b"l".to_vec().into()).await.unwrap();
        let order = paged_keys(&backend, &ns, 37).await;
        assert_eq!(order.len(), 2 * PER_WRITER + 1);
        assert_eq!(order[0], "later");
        for name in ["a", "b"] {
            let mine: Vec<&String> = order.iter().filter(|k| k.starts_with(name)).collect();
            let expected: Vec<String> =
                (0..PER_WRITER).rev().map(|i| format!("{name}{i:03}")).collect();
            assert_eq!(
                mine,
                expected.iter().collect::<Vec<_>>(),
                "writer {name}'s keys, newest first"
            );
        }
        let client = common::raw_client_at(&url).await;
        let row = client
            .query_one(
                &format!("SELECT COUNT(*), COUNT(DISTINCT sort_order) FROM \"{table}\""),
                &[],
            )
            .await
            .unwrap();
        let (rows, distinct): (i64, i64) = (row.get(0), row.get(1));
        assert_eq!(rows, distinct, "no two rows share a sort_order");
    });
}
