//! A backend made while its server is down: `connect` succeeds, operations fail with
//! transient errors, and the same object works once the server is up; credentials the
//! server refuses are a permanent error as soon as it is reachable.

use std::time::Duration;

use tierstore_core::{Backend, Key};
use tierstore_redis::RedisBackend;
use tierstore_testkit::servers::process::free_port;
use tierstore_testkit::servers::redis::RedisServer;

fn key(name: &str) -> Key {
    Key::new("monitors", "", name).expect("valid key")
}

async fn start(dir: &std::path::Path, port: u16) -> RedisServer {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || RedisServer::start_in(&dir, port))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("redis-server on {port}: {e}"))
}

/// Retries `op` until it succeeds, asserting that every failure on the way is transient: each
/// connection that failed while the server was down may fail once more before it reconnects.
async fn eventually<T, F: Future<Output = Result<T, tierstore_core::Error>>>(
    mut op: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match op().await {
            Ok(done) => return done,
            Err(e) => {
                assert!(e.is_transient(), "only transient failures while reconnecting: {e}");
                assert!(tokio::time::Instant::now() < deadline, "never reconnected: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_made_while_the_server_is_down_connects_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let url = format!("redis://127.0.0.1:{port}");

    // No server yet: connect returns, every kind of operation fails transiently.
    let backend =
        tokio::time::timeout(Duration::from_secs(10), RedisBackend::connect(&url, "down"))
            .await
            .expect("connect does not wait for the server")
            .expect("connect succeeds while the server is down");
    let k = key("chan");
    let err = backend.read(&k).await.unwrap_err();
    assert!(err.is_transient(), "read while down: {err}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")), "names the backend: {err}");
    let err = backend.write(&k, "x".into()).await.unwrap_err();
    assert!(err.is_transient(), "write while down: {err}");
    let err = backend.remove(&k, false).await.unwrap_err();
    assert!(err.is_transient(), "remove while down: {err}");
    let err = backend.list_page(k.namespace(), None, 10).await.unwrap_err();
    assert!(err.is_transient(), "list_page while down: {err}");
    let err = backend.list_all_keys().await.unwrap_err();
    assert!(err.is_transient(), "list_all_keys while down: {err}");

    // The server comes up: the same object (and its clones) work, on every connection.
    let server = start(dir.path(), port).await;
    eventually(|| backend.write(&k, "after".into())).await;
    let clone = backend.clone();
    let connections = tierstore_redis::DEFAULT_CONNECTIONS;
    for i in 0..2 * connections {
        let k = key(&format!("k{i}"));
        eventually(|| clone.write(&k, "v".into())).await;
        assert_eq!(eventually(|| clone.read(&k)).await, b"v");
    }
    // By now every connection is up: no more failures.
    assert_eq!(backend.read(&k).await.unwrap(), b"after");
    assert_eq!(backend.list_all_keys().await.unwrap().len(), 1 + 2 * connections);
    tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_are_permanent_once_the_server_is_reachable() {
    const SECRET: &str = "not-the-password-0123456789";
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let backend = RedisBackend::connect(&format!("redis://:{SECRET}@127.0.0.1:{port}"), "auth")
        .await
        .expect("connect succeeds while the server is down");

    // The server comes up requiring another password.
    let server = start(dir.path(), port).await;
    let client = redis::Client::open(server.url()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("the-real-password")
        .query_async(&mut admin)
        .await
        .unwrap();

    let err = backend.write(&key("chan"), "x".into()).await.unwrap_err();
    assert!(!err.is_transient(), "refused credentials are permanent: {err}");
    let err = backend.read(&key("chan")).await.unwrap_err();
    assert!(!err.is_transient(), "and stay so: {err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(SECRET), "the error shows the password: {text}");
    tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
}
