//! What the conformance suite does not cover: prefixes isolate nodes sharing a server, bad
//! prefixes and URLs are refused, credentials never show, errors are classified.

mod common;

use tierstore_core::{Backend, Error, Key, Namespace};
use tierstore_redis::RedisBackend;
use tierstore_testkit::servers::redis;

const SECRET: &str = "do-not-show-this-secret-0123456789";

fn key(primary: &str, secondary: &str, key: &str) -> Key {
    Key::new(primary, secondary, key).expect("valid key")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixes_isolate_backends_on_one_server() {
    let a = common::backend("isolation_a").await;
    let b = common::backend("isolation_b").await;
    let shared = key("monitors", "", "chan");
    a.write(&shared, "from a".into()).await.unwrap();
    b.write(&shared, "from b".into()).await.unwrap();
    a.write(&key("payments", "", "only_a"), "x".into()).await.unwrap();

    assert_eq!(a.read(&shared).await.unwrap(), b"from a");
    assert_eq!(b.read(&shared).await.unwrap(), b"from b");
    assert!(b.read(&key("payments", "", "only_a")).await.unwrap_err().is_not_found());
    let payments = Namespace::new("payments", "").unwrap();
    assert!(b.list(&payments).await.unwrap().is_empty());
    assert!(b.list_page(&payments, None, 10).await.unwrap().keys.is_empty());

    let mut all_a = a.list_all_keys().await.unwrap();
    all_a.sort();
    assert_eq!(all_a, [shared.clone(), key("payments", "", "only_a")]);
    assert_eq!(b.list_all_keys().await.unwrap(), std::slice::from_ref(&shared));

    b.remove(&shared, false).await.unwrap();
    assert_eq!(a.read(&shared).await.unwrap(), b"from a", "b's remove leaves a's key");
    assert!(b.list_all_keys().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emptied_namespaces_leave_list_all_keys() {
    let backend = common::backend("emptied_namespaces").await;
    let k = key("monitor_updates", "chan1", "1");
    backend.write(&k, "u".into()).await.unwrap();
    backend.remove(&k, true).await.unwrap();
    assert!(backend.list_all_keys().await.unwrap().is_empty());
    // The root namespace ("", "") works like any other.
    let root = key("", "", "manager");
    backend.write(&root, Vec::new().into()).await.unwrap();
    assert_eq!(backend.list_all_keys().await.unwrap(), std::slice::from_ref(&root));
    assert_eq!(backend.read(&root).await.unwrap(), b"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn display_names_server_database_and_prefix() {
    let url = tokio::task::spawn_blocking(redis::shared_url).await.unwrap();
    let backend = RedisBackend::connect(&format!("{url}/2"), "node-1.primary").await.unwrap();
    let shown = backend.to_string();
    assert!(shown.starts_with("redis://") && shown.ends_with("/2/node-1.primary"), "{shown}");
    assert!(format!("{backend:?}").contains(&shown));
    assert!(backend.capabilities().durable);
    assert!(!backend.with_durable(false).capabilities().durable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_prefixes_are_refused_by_name() {
    for prefix in ["", "a:b", "{tag}", "with space", "a/b"] {
        // Refused before any connection is attempted (port 1 would fail otherwise).
        let err = RedisBackend::connect("redis://127.0.0.1:1", prefix).await.unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{prefix:?}: {err}");
        assert!(err.to_string().contains("prefix"), "{prefix:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_urls_are_configuration_errors_without_secrets() {
    for url in [format!("http://user:{SECRET}@127.0.0.1"), format!("redis://u:{SECRET}@[::1")] {
        let err = RedisBackend::connect(&url, "p").await.unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{url}: {err}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains(SECRET), "the error shows the password: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_connects_and_fails_operations_transiently_hiding_credentials() {
    let backend = RedisBackend::connect(&format!("redis://user:{SECRET}@127.0.0.1:1/0"), "p")
        .await
        .expect("a server that is down does not fail connect");
    let err = backend.read(&key("monitors", "", "chan")).await.unwrap_err();
    assert!(err.is_transient(), "a refused connection may pass: {err}");
    let text = format!("{err} {err:?} {backend} {backend:?}");
    assert!(!text.contains(SECRET), "the error shows the password: {text}");
    assert!(text.contains("redis://127.0.0.1:1/0/p"), "{text}");
    assert!(text.contains("chan"), "the error names the key: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_permanent_and_hidden() {
    let url = tokio::task::spawn_blocking(redis::shared_url).await.unwrap();
    let Some(rest) = url.strip_prefix("redis://").filter(|rest| !rest.contains('@')) else {
        return; // A server from the environment may carry its own credentials.
    };
    let url = format!("redis://nobody:{SECRET}@{rest}");
    let err = RedisBackend::connect(&url, "p").await.unwrap_err();
    assert!(!err.is_transient(), "refused credentials are permanent: {err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(SECRET), "the error shows the password: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_the_wrong_type_is_a_permanent_error_naming_the_key() {
    let prefix = redis::unique_prefix("wrong_type");
    let backend = common::backend_with_prefix(&prefix).await;
    // Another program broke the index: it is a string, not a sorted set.
    let url = tokio::task::spawn_blocking(redis::shared_url).await.unwrap();
    let client = ::redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = ::redis::cmd("SET")
        .arg(format!("{{{prefix}}}:idx:monitors/"))
        .arg("oops")
        .query_async(&mut conn)
        .await
        .unwrap();
    let k = key("monitors", "", "chan");
    let err = backend.write(&k, "v".into()).await.unwrap_err();
    assert!(!err.is_transient(), "{err}");
    assert!(err.to_string().contains("monitors/\"\"/chan"), "{err}");
    assert!(err.to_string().contains(&prefix), "{err}");
}
