//! The backend conformance suite: one `pub async fn` per behaviour of the
//! [`Backend`] contract.
//!
//! Run all of them for a backend with [`conformance_tests!`](crate::conformance_tests); each
//! becomes its own named test. Every function panics with a message naming the backend when
//! the backend breaks the contract. The only parameters are the backend's own
//! [`Capabilities`](tierstore_core::Capabilities): the creation-order resolution (how far apart
//! two creations must be to be ordered, e.g. a file system's mtime granularity), the page
//! order (newest-created first, or key order for stores that keep no creation order) and
//! whether `list_all_keys` is supported.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tierstore_core::{Backend, Bytes, Error, Key, Namespace, Page, PageOrder};

fn key(primary: &str, secondary: &str, key: &str) -> Key {
    Key::new(primary, secondary, key).expect("test keys are valid")
}

fn ns(primary: &str, secondary: &str) -> Namespace {
    Namespace::new(primary, secondary).expect("test namespaces are valid")
}

async fn put<B: Backend + ?Sized>(backend: &B, key: &Key, value: &[u8]) {
    backend
        .write(key, Bytes::copy_from_slice(value))
        .await
        .unwrap_or_else(|e| panic!("{backend}: write {key} failed: {e}"));
}

async fn get<B: Backend + ?Sized>(backend: &B, key: &Key) -> Vec<u8> {
    backend.read(key).await.unwrap_or_else(|e| panic!("{backend}: read {key} failed: {e}"))
}

async fn del<B: Backend + ?Sized>(backend: &B, key: &Key) {
    backend
        .remove(key, false)
        .await
        .unwrap_or_else(|e| panic!("{backend}: remove {key} failed: {e}"));
}

async fn list_sorted<B: Backend + ?Sized>(backend: &B, namespace: &Namespace) -> Vec<String> {
    let mut keys = backend
        .list(namespace)
        .await
        .unwrap_or_else(|e| panic!("{backend}: list {namespace} failed: {e}"));
    keys.sort();
    keys
}

/// Waits long enough that the next creation is ordered after the previous one.
async fn tick<B: Backend + ?Sized>(backend: &B) {
    let resolution = backend.capabilities().creation_order_resolution;
    if !resolution.is_zero() {
        tokio::time::sleep(resolution).await;
    }
}

/// Creates `names` in order, one tick apart.
async fn create_in_order<B: Backend + ?Sized>(
    backend: &B,
    namespace: &Namespace,
    names: &[String],
) {
    for name in names {
        tick(backend).await;
        put(backend, &namespace.key(name).expect("valid test key"), name.as_bytes()).await;
    }
}

/// Walks every page of `namespace` with `limit`, checking each page's size.
pub async fn all_pages<B: Backend + ?Sized>(
    backend: &B,
    namespace: &Namespace,
    limit: usize,
) -> Vec<Page> {
    let mut pages: Vec<Page> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = backend
            .list_page(namespace, token.as_deref(), limit)
            .await
            .unwrap_or_else(|e| panic!("{backend}: list_page {namespace} failed: {e}"));
        assert!(
            page.keys.len() <= limit,
            "{backend}: a page of {} keys exceeds the limit {limit}",
            page.keys.len()
        );
        assert!(pages.len() < 100_000, "{backend}: pagination does not end");
        let next = page.next.clone();
        pages.push(page);
        match next {
            Some(next) => token = Some(next),
            None => return pages,
        }
    }
}

/// Every key of `namespace`, in page order (newest-created first), walking pages of `limit`
/// as [`all_pages`] does.
pub async fn paged_keys<B: Backend + ?Sized>(
    backend: &B,
    namespace: &Namespace,
    limit: usize,
) -> Vec<String> {
    flatten(&all_pages(backend, namespace, limit).await)
}

/// `newest_first` in the order `backend` pages: as given for backends that page by creation,
/// sorted for those that keep no creation order ([`PageOrder::KeyAscending`]).
fn in_page_order<B: Backend + ?Sized>(backend: &B, newest_first: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = newest_first.iter().map(|k| (*k).to_owned()).collect();
    if backend.capabilities().page_order == PageOrder::KeyAscending {
        keys.sort();
    }
    keys
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:04}")).collect()
}

fn flatten(pages: &[Page]) -> Vec<String> {
    pages.iter().flat_map(|p| p.keys.iter().cloned()).collect()
}

/// `read` of a key that was never written is `NotFound`.
pub async fn read_missing_is_not_found<B: Backend + ?Sized>(backend: &B) {
    let err = backend.read(&key("absent", "", "nothing")).await.unwrap_err();
    assert!(err.is_not_found(), "{backend}: expected NotFound, got {err}");
    let err = backend.read(&key("", "", "nothing")).await.unwrap_err();
    assert!(err.is_not_found(), "{backend}: expected NotFound in the root namespace, got {err}");
}

/// A written value reads back byte for byte, in every namespace shape.
pub async fn write_then_read_returns_the_value<B: Backend + ?Sized>(backend: &B) {
    let keys = [key("", "", "manager"), key("monitors", "", "m1"), key("payments", "sub", "p1")];
    for (i, k) in keys.iter().enumerate() {
        let value: Vec<u8> = (0..=255u8).cycle().skip(i).take(1000 + i).collect();
        put(backend, k, &value).await;
        assert_eq!(get(backend, k).await, value, "{backend}: {k} read back differently");
    }
}

/// A second write replaces the first, also with a shorter value.
pub async fn update_replaces_the_value<B: Backend + ?Sized>(backend: &B) {
    let k = key("monitors", "", "m1");
    put(backend, &k, &[1; 5000]).await;
    put(backend, &k, &[2; 10]).await;
    assert_eq!(get(backend, &k).await, vec![2; 10], "{backend}: update did not replace");
    assert_eq!(list_sorted(backend, k.namespace()).await, ["m1"], "{backend}: update duplicated");
}

/// `remove` deletes the key; removing a missing key succeeds.
pub async fn remove_deletes_and_missing_remove_succeeds<B: Backend + ?Sized>(backend: &B) {
    let k = key("monitors", "", "m1");
    put(backend, &k, b"v").await;
    del(backend, &k).await;
    let err = backend.read(&k).await.unwrap_err();
    assert!(err.is_not_found(), "{backend}: read after remove: expected NotFound, got {err}");
    assert!(list_sorted(backend, k.namespace()).await.is_empty(), "{backend}: removed key listed");
    del(backend, &k).await;
    del(backend, &key("never", "written", "x")).await;
}

/// `list` returns every key of exactly its namespace pair, never keys of another pair.
pub async fn list_returns_exactly_its_namespace<B: Backend + ?Sized>(backend: &B) {
    let pairs = [("", ""), ("a", ""), ("a", "b"), ("a", "c"), ("ab", ""), ("b", "a")];
    for (i, (p, s)) in pairs.iter().enumerate() {
        for k in ["x", "y", "a", "b"].iter().take(1 + i % 4) {
            put(backend, &key(p, s, k), format!("{p}/{s}/{k}").as_bytes()).await;
        }
    }
    for (i, (p, s)) in pairs.iter().enumerate() {
        let mut expected: Vec<String> =
            ["x", "y", "a", "b"].iter().take(1 + i % 4).map(|k| k.to_string()).collect();
        expected.sort();
        assert_eq!(list_sorted(backend, &ns(p, s)).await, expected, "{backend}: list {p}/{s}");
        for k in &expected {
            let value = get(backend, &key(p, s, k)).await;
            assert_eq!(value, format!("{p}/{s}/{k}").as_bytes(), "{backend}: {p}/{s}/{k}");
        }
    }
}

/// Listing a namespace that holds nothing is empty, with or without pages.
pub async fn list_of_unknown_namespace_is_empty<B: Backend + ?Sized>(backend: &B) {
    put(backend, &key("known", "", "k"), b"v").await;
    let unknown = ns("unknown", "");
    assert!(list_sorted(backend, &unknown).await.is_empty(), "{backend}: unknown ns not empty");
    let page = backend.list_page(&unknown, None, 10).await.unwrap();
    assert_eq!(page, Page::default(), "{backend}: first page of an unknown namespace");
}

/// Pages list keys newest-created first; together they hold every key exactly once.
pub async fn pages_are_newest_created_first<B: Backend + ?Sized>(backend: &B) {
    let namespace = ns("monitors", "");
    let created = names("k", 57);
    create_in_order(backend, &namespace, &created).await;
    let newest_first: Vec<&str> = created.iter().rev().map(String::as_str).collect();
    let expected = in_page_order(backend, &newest_first);
    for limit in [1, 10, 56, 57, 58, 1000] {
        let pages = all_pages(backend, &namespace, limit).await;
        assert_eq!(flatten(&pages), expected, "{backend}: creation order with limit {limit}");
        let last = pages.last().expect("at least one page");
        assert!(last.next.is_none());
    }
}

/// No page holds more than `limit` keys, and a limit larger than the namespace gives one page.
pub async fn page_limit_is_respected<B: Backend + ?Sized>(backend: &B) {
    let namespace = ns("payments", "");
    create_in_order(backend, &namespace, &names("p", 12)).await;
    let first = backend.list_page(&namespace, None, 5).await.unwrap();
    assert_eq!(first.keys.len(), 5, "{backend}: first page of 5 out of 12");
    assert!(first.next.is_some(), "{backend}: more keys remain after the first page");
    let whole = backend.list_page(&namespace, None, 12).await.unwrap();
    assert_eq!(whole.keys.len(), 12, "{backend}: one page of 12");
    let all = backend.list_page(&namespace, None, 1000).await.unwrap();
    assert_eq!(all.keys.len(), 12, "{backend}: a large limit returns everything");
    assert!(all.next.is_none(), "{backend}: nothing remains after a page holding everything");
}

/// Updating a key does not move it: pages are ordered by creation, not by last write.
pub async fn update_keeps_creation_position<B: Backend + ?Sized>(backend: &B) {
    let namespace = ns("monitors", "");
    create_in_order(backend, &namespace, &names("k", 5)).await;
    tick(backend).await;
    put(backend, &namespace.key("k0001").unwrap(), b"updated").await;
    let pages = all_pages(backend, &namespace, 2).await;
    assert_eq!(
        flatten(&pages),
        in_page_order(backend, &["k0004", "k0003", "k0002", "k0001", "k0000"]),
        "{backend}: an update moved the key"
    );
    assert_eq!(get(backend, &namespace.key("k0001").unwrap()).await, b"updated");
}

/// Removing a key and creating it again puts it at the front.
pub async fn remove_then_recreate_moves_to_front<B: Backend + ?Sized>(backend: &B) {
    let namespace = ns("monitors", "");
    create_in_order(backend, &namespace, &names("k", 4)).await;
    del(backend, &namespace.key("k0001").unwrap()).await;
    tick(backend).await;
    put(backend, &namespace.key("k0001").unwrap(), b"again").await;
    let pages = all_pages(backend, &namespace, 3).await;
    assert_eq!(
        flatten(&pages),
        in_page_order(backend, &["k0001", "k0003", "k0002", "k0000"]),
        "{backend}: a re-created key is the newest"
    );
}

/// `write_batch` stores every entry as if written one by one: new keys are created in the
/// batch's order (checked where the backend orders creations exactly), an existing key keeps
/// its place, a key given twice ends with its last value, and an empty batch is a no-op.
pub async fn write_batch_stores_every_entry_in_order<B: Backend + ?Sized>(backend: &B) {
    let namespace = ns("monitors", "batch");
    let k = |name: &str| namespace.key(name).expect("valid test key");
    put(backend, &k("k0001"), b"old").await;
    tick(backend).await;
    let entries: Vec<(Key, Bytes)> =
        [("k0003", "a"), ("k0001", "updated"), ("k0000", "b"), ("k0002", "c"), ("k0000", "b2")]
            .into_iter()
            .map(|(name, value)| (k(name), Bytes::from(value)))
            .collect();
    backend.write_batch(entries).await.unwrap_or_else(|e| panic!("{backend}: write_batch: {e}"));
    backend.write_batch(Vec::new()).await.unwrap_or_else(|e| panic!("{backend}: empty: {e}"));
    for (name, value) in [("k0000", "b2"), ("k0001", "updated"), ("k0002", "c"), ("k0003", "a")] {
        assert_eq!(get(backend, &k(name)).await, value.as_bytes(), "{backend}: {name}");
    }
    let listed = flatten(&all_pages(backend, &namespace, 3).await);
    if backend.capabilities().creation_order_resolution.is_zero() {
        let expected = in_page_order(backend, &["k0002", "k0000", "k0003", "k0001"]);
        assert_eq!(listed, expected, "{backend}: creation order of a batch");
    } else {
        let mut sorted = listed.clone();
        sorted.sort();
        assert_eq!(sorted, ["k0000", "k0001", "k0002", "k0003"], "{backend}: {listed:?}");
    }
}

/// A token still resumes right after its entry when that entry was deleted in between, and
/// keys deleted ahead of the cursor are simply skipped.
pub async fn token_survives_deletion_of_its_entry<B: Backend + ?Sized>(backend: &B) {
    let namespace = ns("monitors", "");
    let created = names("k", 10);
    create_in_order(backend, &namespace, &created).await;
    let newest_first: Vec<&str> = created.iter().rev().map(String::as_str).collect();
    let order = in_page_order(backend, &newest_first);
    let first = backend.list_page(&namespace, None, 3).await.unwrap();
    assert_eq!(first.keys, order[..3], "{backend}: first page");
    let token = first.next.expect("more pages");
    // Delete the entry the token points at, and one key further ahead.
    del(backend, &namespace.key(&order[2]).unwrap()).await;
    del(backend, &namespace.key(&order[4]).unwrap()).await;
    let mut rest = Vec::new();
    let mut token = Some(token);
    while let Some(t) = token {
        let page = backend
            .list_page(&namespace, Some(&t), 3)
            .await
            .unwrap_or_else(|e| panic!("{backend}: resuming after a deleted entry failed: {e}"));
        rest.extend(page.keys);
        token = page.next;
    }
    let expected: Vec<&String> = order[3..].iter().filter(|k| **k != order[4]).collect();
    assert_eq!(rest.iter().collect::<Vec<_>>(), expected, "{backend}: resume after deleted entry");
}

/// Pages of one namespace never show another namespace's keys.
pub async fn pages_are_scoped_to_their_namespace<B: Backend + ?Sized>(backend: &B) {
    let a = ns("a", "");
    let ab = ns("a", "b");
    let b = ns("b", "");
    create_in_order(backend, &a, &names("a", 4)).await;
    create_in_order(backend, &ab, &names("ab", 3)).await;
    create_in_order(backend, &b, &names("b", 2)).await;
    for (namespace, n, prefix) in [(&a, 4, "a"), (&ab, 3, "ab"), (&b, 2, "b")] {
        let mut keys = paged_keys(backend, namespace, 2).await;
        keys.sort();
        assert_eq!(keys, names(prefix, n), "{backend}: pages of {namespace}");
    }
}

/// A malformed token is `InvalidInput`, never a panic and never another namespace's keys.
pub async fn malformed_token_is_invalid_input<B: Backend + ?Sized>(backend: &B) {
    let namespace = ns("monitors", "");
    create_in_order(backend, &namespace, &names("k", 3)).await;
    let long = "z".repeat(10_000);
    for token in ["", "not a token", "\u{0}\u{1}", "🦀🦀🦀", "-1", "::::", long.as_str()] {
        match backend.list_page(&namespace, Some(token), 10).await {
            Err(Error::InvalidInput { .. }) => {}
            other => panic!("{backend}: token {token:?}: expected InvalidInput, got {other:?}"),
        }
    }
}

/// An empty value is stored and read back as empty, and is listed.
pub async fn empty_value_round_trips<B: Backend + ?Sized>(backend: &B) {
    let k = key("events", "", "empty");
    put(backend, &k, &[]).await;
    assert!(get(backend, &k).await.is_empty(), "{backend}: empty value");
    assert_eq!(list_sorted(backend, k.namespace()).await, ["empty"]);
}

/// A 64 MiB value (a large network graph) is stored and read back intact.
pub async fn large_value_round_trips<B: Backend + ?Sized>(backend: &B) {
    const SIZE: usize = 64 * 1024 * 1024;
    let k = key("", "", "network_graph");
    let mut value = vec![0u8; SIZE];
    for (i, chunk) in value.chunks_mut(4096).enumerate() {
        chunk.fill((i % 251) as u8);
    }
    let value = Bytes::from(value);
    backend.write(&k, value.clone()).await.unwrap_or_else(|e| panic!("{backend}: 64 MiB: {e}"));
    let read = get(backend, &k).await;
    assert_eq!(read.len(), SIZE, "{backend}: 64 MiB value length");
    assert!(read == value, "{backend}: 64 MiB value content differs");
}

/// A lazy remove succeeds and takes effect (possibly after a while).
pub async fn lazy_remove_takes_effect<B: Backend + ?Sized>(backend: &B) {
    let k = key("monitor_updates", "chan", "u1");
    put(backend, &k, b"v").await;
    backend.remove(&k, true).await.unwrap_or_else(|e| panic!("{backend}: lazy remove: {e}"));
    backend.remove(&key("x", "", "absent"), true).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let gone = matches!(backend.read(&k).await, Err(e) if e.is_not_found());
        let listed = list_sorted(backend, k.namespace()).await;
        if gone && listed.is_empty() {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{backend}: lazy remove never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A write after a lazy remove of the same key wins over the pending removal.
pub async fn write_after_lazy_remove_wins<B: Backend + ?Sized>(backend: &B) {
    let k = key("monitor_updates", "chan", "u2");
    put(backend, &k, b"old").await;
    backend.remove(&k, true).await.unwrap();
    put(backend, &k, b"new").await;
    // Give a deferred removal every chance to run.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(backend, &k).await, b"new", "{backend}: the pending lazy remove won");
    assert_eq!(list_sorted(backend, k.namespace()).await, ["u2"]);
}

/// `list_all_keys` returns every key of every namespace, each once (or, where the backend
/// declares it unsupported, says so).
pub async fn list_all_keys_returns_every_key_once<B: Backend + ?Sized>(backend: &B) {
    let mut expected = vec![
        key("", "", "manager"),
        key("", "", "network_graph"),
        key("monitors", "", "m1"),
        key("monitors", "", "m2"),
        key("monitor_updates", "m1", "1"),
        key("payments", "", "p"),
    ];
    for k in &expected {
        put(backend, k, b"v").await;
    }
    put(backend, &key("gone", "", "g"), b"v").await;
    del(backend, &key("gone", "", "g")).await;
    if !backend.capabilities().list_all_keys {
        let err = backend.list_all_keys().await.unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{backend}: {err}");
        return;
    }
    let mut all = backend.list_all_keys().await.unwrap_or_else(|e| panic!("{backend}: {e}"));
    all.sort();
    expected.sort();
    assert_eq!(all, expected, "{backend}: list_all_keys");
}

/// Many concurrent writes and removes of distinct keys all take effect.
pub async fn concurrent_mutations_of_distinct_keys_all_land<B: Backend + ?Sized>(backend: &B) {
    let namespace = ns("monitors", "");
    let keys: Vec<Key> = names("c", 64).iter().map(|n| namespace.key(n).unwrap()).collect();
    join_all(keys.iter().map(|k| put(backend, k, k.key().as_bytes()))).await;
    join_all(keys.iter().step_by(2).map(|k| del(backend, k))).await;
    let expected: Vec<String> =
        keys.iter().skip(1).step_by(2).map(|k| k.key().to_owned()).collect();
    assert_eq!(list_sorted(backend, &namespace).await, expected, "{backend}: concurrent mutations");
    let values = join_all(keys.iter().skip(1).step_by(2).map(|k| get(backend, k))).await;
    for (k, v) in keys.iter().skip(1).step_by(2).zip(values) {
        assert_eq!(v, k.key().as_bytes(), "{backend}: value of {k}");
    }
}

/// While one key is rewritten again and again, readers see whole values only.
pub async fn reads_never_see_a_torn_value<B: Backend + ?Sized>(backend: &B) {
    const SIZE: usize = 512 * 1024;
    let k = key("", "", "manager");
    put(backend, &k, &[0; SIZE]).await;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = async {
        for round in 1..=20u8 {
            put(backend, &k, &vec![round; SIZE + usize::from(round)]).await;
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let reader = async {
        let mut reads = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) || reads == 0 {
            let value = get(backend, &k).await;
            let first = value[0];
            assert_eq!(value.len(), SIZE + usize::from(first), "{backend}: torn length");
            assert!(value.iter().all(|b| *b == first), "{backend}: torn value");
            reads += 1;
            tokio::task::yield_now().await;
        }
    };
    futures::join!(writer, reader);
}

/// Errors name the backend and the key. Through layers, the error names the engine that
/// produced it (`mem` inside `Retry(Timeout(mem))`).
pub async fn errors_name_backend_and_key<B: Backend + ?Sized>(backend: &B) {
    let k = key("monitors", "", "missing_key_42");
    let err = backend.read(&k).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("missing_key_42"), "{backend}: error does not name the key: {msg}");
    let named = err.backend_name().unwrap_or_else(|| panic!("{backend}: no backend in {msg}"));
    assert!(!named.is_empty(), "{backend}: empty backend name in {msg}");
    assert!(msg.contains(named), "{backend}: the message does not show the backend: {msg}");
    assert!(
        backend.to_string().contains(named),
        "{backend}: the error names {named:?}, which is not part of this backend"
    );
}

/// Instantiates the whole conformance suite for a backend, each case as its own named
/// `#[tokio::test]` (multi-threaded runtime, two workers).
///
/// `$factory` is an async function (or path to one) returning the backend to test, or a
/// [`Subject`](crate::Subject) that also keeps a temporary directory or server alive. It is
/// called once per case, so every case gets a fresh, isolated store.
///
/// The calling crate needs `tokio` (features `macros`, `rt-multi-thread`) as a
/// dev-dependency.
///
/// ```
/// async fn memory() -> tierstore_core::MemoryBackend {
///     tierstore_core::MemoryBackend::new()
/// }
///
/// mod conformance_memory {
///     tierstore_testkit::conformance_tests!(super::memory);
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@cases $factory;
            read_missing_is_not_found,
            write_then_read_returns_the_value,
            update_replaces_the_value,
            remove_deletes_and_missing_remove_succeeds,
            list_returns_exactly_its_namespace,
            list_of_unknown_namespace_is_empty,
            pages_are_newest_created_first,
            page_limit_is_respected,
            update_keeps_creation_position,
            remove_then_recreate_moves_to_front,
            write_batch_stores_every_entry_in_order,
            token_survives_deletion_of_its_entry,
            pages_are_scoped_to_their_namespace,
            malformed_token_is_invalid_input,
            empty_value_round_trips,
            large_value_round_trips,
            lazy_remove_takes_effect,
            write_after_lazy_remove_wins,
            list_all_keys_returns_every_key_once,
            concurrent_mutations_of_distinct_keys_all_land,
            reads_never_see_a_torn_value,
            errors_name_backend_and_key,
        );
    };
    (@cases $factory:expr; $($case:ident,)*) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let subject = $crate::Subject::from($factory().await);
                $crate::conformance::$case(subject.backend()).await;
            }
        )*
    };
}
