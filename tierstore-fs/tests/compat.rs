//! On-disk compatibility with lightning-persister's `FilesystemStoreV2`, both ways: a
//! directory written by one is read, listed and paginated identically by the other.

use std::time::Duration;

use lightning::util::persist::{KVStoreSync, PageToken, PaginatedKVStoreSync};
use lightning_persister::fs_store::v2::FilesystemStoreV2;
use tierstore_core::{Backend, Key, Namespace};
use tierstore_fs::FsBackend;
use tierstore_testkit::conformance::paged_keys;

/// Namespaces exercising the layout: both empty, secondary empty, both set.
const NAMESPACES: [(&str, &str); 3] = [("", ""), ("monitors", ""), ("payments", "archive")];
/// More than one of FilesystemStoreV2's fixed pages (50 keys).
const KEYS: usize = 60;

fn key_name(i: usize) -> String {
    format!("key{i:03}")
}

fn value(ns: usize, i: usize, updated: bool) -> Vec<u8> {
    format!("{ns}-{i}-{updated}").into_bytes()
}

/// Every key of a namespace through LDK's own pagination.
fn ldk_pages(store: &FilesystemStoreV2, primary: &str, secondary: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let page = PaginatedKVStoreSync::list_paginated(store, primary, secondary, token.take())
            .expect("LDK lists a page");
        keys.extend(page.keys);
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => return keys,
        }
    }
}

/// Keys are created a few milliseconds apart so that modification times order them.
async fn pause() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

#[tokio::test]
async fn lightning_persister_reads_what_fs_backend_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let backend = FsBackend::open(&path).await.unwrap();
    for (n, (primary, secondary)) in NAMESPACES.iter().enumerate() {
        for i in 0..KEYS {
            let key = Key::new(primary, secondary, &key_name(i)).unwrap();
            backend.write(&key, value(n, i, false).into()).await.unwrap();
            pause().await;
        }
        // Updates keep their place; removed keys disappear.
        let updated = Key::new(primary, secondary, &key_name(7)).unwrap();
        backend.write(&updated, value(n, 7, true).into()).await.unwrap();
        backend.remove(&Key::new(primary, secondary, &key_name(9)).unwrap(), false).await.unwrap();
    }
    let expected: Vec<Vec<String>> = {
        let mut all = Vec::new();
        for (primary, secondary) in NAMESPACES {
            let ns = Namespace::new(primary, secondary).unwrap();
            all.push(paged_keys(&backend, &ns, 7).await);
        }
        all
    };
    drop(backend);

    let ldk = FilesystemStoreV2::new(path).expect("LDK opens the directory");
    for (n, (primary, secondary)) in NAMESPACES.iter().enumerate() {
        let pages = ldk_pages(&ldk, primary, secondary);
        assert_eq!(pages, expected[n], "same pages in {primary:?}/{secondary:?}");
        assert_eq!(pages.len(), KEYS - 1);
        assert_eq!(pages[0], key_name(KEYS - 1), "newest first");
        assert_eq!(pages.last().unwrap(), &key_name(0));
        let mut listed = KVStoreSync::list(&ldk, primary, secondary).unwrap();
        listed.sort();
        let mut paged = pages.clone();
        paged.sort();
        assert_eq!(listed, paged);
        for i in (0..KEYS).filter(|&i| i != 9) {
            let read = KVStoreSync::read(&ldk, primary, secondary, &key_name(i)).unwrap();
            assert_eq!(read, value(n, i, i == 7), "{primary}/{secondary}/{}", key_name(i));
        }
    }
}

#[tokio::test]
async fn fs_backend_reads_what_lightning_persister_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let ldk = FilesystemStoreV2::new(path.clone()).unwrap();
    for (n, (primary, secondary)) in NAMESPACES.iter().enumerate() {
        for i in 0..KEYS {
            KVStoreSync::write(&ldk, primary, secondary, &key_name(i), value(n, i, false)).unwrap();
            pause().await;
        }
        KVStoreSync::write(&ldk, primary, secondary, &key_name(3), value(n, 3, true)).unwrap();
        KVStoreSync::remove(&ldk, primary, secondary, &key_name(5), false).unwrap();
    }
    let expected: Vec<Vec<String>> =
        NAMESPACES.iter().map(|(p, s)| ldk_pages(&ldk, p, s)).collect();
    drop(ldk);

    let backend = FsBackend::open(&path).await.expect("opens LDK's directory");
    for (n, (primary, secondary)) in NAMESPACES.iter().enumerate() {
        let ns = Namespace::new(primary, secondary).unwrap();
        for limit in [1, 13, 50, 100] {
            assert_eq!(paged_keys(&backend, &ns, limit).await, expected[n], "limit {limit}");
        }
        assert_eq!(expected[n][0], key_name(KEYS - 1));
        assert_eq!(backend.list(&ns).await.unwrap().len(), KEYS - 1);
        for i in (0..KEYS).filter(|&i| i != 5) {
            let read = backend.read(&ns.key(&key_name(i)).unwrap()).await.unwrap();
            assert_eq!(read, value(n, i, i == 3));
        }
    }
    assert_eq!(backend.list_all_keys().await.unwrap().len(), NAMESPACES.len() * (KEYS - 1));
}

#[tokio::test]
async fn refuses_a_v1_directory() {
    let dir = tempfile::tempdir().unwrap();
    // lightning-persister's v1 layout keeps keys of the empty namespace at the top level.
    std::fs::write(dir.path().join("manager"), b"v1 data").unwrap();
    let err = FsBackend::open(dir.path()).await.expect_err("v1 data must not be opened as v2");
    let message = err.to_string();
    assert!(message.contains("file:") && message.contains("manager"), "{message}");
}

/// Every page of `namespace` at LDK's page size, keys and tokens, through [`FsBackend`].
async fn backend_pages(backend: &FsBackend, ns: &Namespace) -> Vec<(Vec<String>, Option<String>)> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = backend.list_page(ns, token.as_deref(), LDK_PAGE).await.expect("a page");
        let next = page.next.clone();
        pages.push((page.keys, page.next));
        match next {
            Some(next) => token = Some(next),
            None => return pages,
        }
    }
}

/// Every page of `namespace`, keys and tokens, through LDK's own (scanning) pagination.
fn scanned_pages(store: &FilesystemStoreV2, ns: &Namespace) -> Vec<(Vec<String>, Option<String>)> {
    let mut pages = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let page = PaginatedKVStoreSync::list_paginated(store, ns.primary(), ns.secondary(), token)
            .expect("LDK lists a page");
        let next = page.next_page_token.as_ref().map(|t| t.as_str().to_owned());
        pages.push((page.keys, next));
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => return pages,
        }
    }
}

/// `FilesystemStoreV2`'s fixed page size.
const LDK_PAGE: usize = 50;

#[tokio::test]
async fn pages_stay_those_of_a_scan_while_the_backend_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let backend = FsBackend::open(&path).await.unwrap();
    let ns = Namespace::new("payments", "").unwrap();
    let key = |i: usize| ns.key(&key_name(i)).unwrap();
    for i in 0..120 {
        backend.write(&key(i), value(0, i, false).into()).await.unwrap();
        if i % 3 == 0 {
            pause().await;
        }
    }
    let scanner = FilesystemStoreV2::new(path.clone()).unwrap();
    // The first page indexes the namespace.
    assert_eq!(backend_pages(&backend, &ns).await, scanned_pages(&scanner, &ns));

    // New keys, updates (keep their place), removes, and a re-creation (moves to the front).
    for i in 120..170 {
        backend.write(&key(i), value(0, i, false).into()).await.unwrap();
    }
    for i in [3, 60, 119] {
        backend.write(&key(i), value(0, i, true).into()).await.unwrap();
    }
    for i in [0, 50, 51, 52, 169] {
        backend.remove(&key(i), i % 2 == 0).await.unwrap();
    }
    pause().await;
    backend.write(&key(50), value(0, 50, true).into()).await.unwrap();
    let pages = backend_pages(&backend, &ns).await;
    assert_eq!(pages, scanned_pages(&scanner, &ns), "same keys and tokens as a scan");
    assert_eq!(pages[0].0[0], key_name(50), "a re-created key is the newest");
    assert_eq!(pages.iter().map(|(keys, _)| keys.len()).sum::<usize>(), 170 - 4);
}

#[tokio::test]
async fn writes_during_the_first_scan_are_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let backend = FsBackend::open(&path).await.unwrap();
    let ns = Namespace::new("monitor_updates", "chan").unwrap();
    for i in 0..400 {
        backend.write(&ns.key(&key_name(i)).unwrap(), vec![1].into()).await.unwrap();
    }
    let writes = futures::future::join_all((400..600).map(|i| {
        let (backend, ns) = (backend.clone(), ns.clone());
        tokio::spawn(async move {
            let key = ns.key(&key_name(i)).unwrap();
            backend.write(&key, vec![2].into()).await.unwrap();
            if i % 5 == 0 {
                backend.remove(&ns.key(&key_name(i - 400)).unwrap(), false).await.unwrap();
            }
        })
    }));
    let pages = futures::future::join_all((0..4).map(|_| backend.list_page(&ns, None, 10)));
    let (writes, pages) = tokio::join!(writes, pages);
    writes.into_iter().for_each(|w| w.expect("writer task"));
    pages.into_iter().for_each(|p| assert_eq!(p.expect("a page").keys.len(), 10));

    let scanner = FilesystemStoreV2::new(path).unwrap();
    let pages = backend_pages(&backend, &ns).await;
    assert_eq!(pages, scanned_pages(&scanner, &ns));
    assert_eq!(pages.iter().map(|(keys, _)| keys.len()).sum::<usize>(), 600 - 40);
}

#[tokio::test]
async fn tokens_resume_pages_of_the_other_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let backend = FsBackend::open(&path).await.unwrap();
    let ns = Namespace::new("payments", "").unwrap();
    for i in 0..130 {
        backend.write(&ns.key(&key_name(i)).unwrap(), vec![0].into()).await.unwrap();
    }
    let ldk = FilesystemStoreV2::new(path).unwrap();
    let first = PaginatedKVStoreSync::list_paginated(&ldk, "payments", "", None).unwrap();
    let ldk_token = first.next_page_token.unwrap();
    let ours = backend.list_page(&ns, Some(ldk_token.as_str()), LDK_PAGE).await.unwrap();
    let theirs =
        PaginatedKVStoreSync::list_paginated(&ldk, "payments", "", Some(ldk_token)).unwrap();
    assert_eq!(ours.keys, theirs.keys, "LDK's token resumes our pages");
    let our_token = ours.next.unwrap();
    let theirs = PaginatedKVStoreSync::list_paginated(
        &ldk,
        "payments",
        "",
        Some(PageToken::new(our_token.clone())),
    )
    .unwrap();
    let ours = backend.list_page(&ns, Some(&our_token), LDK_PAGE).await.unwrap();
    assert_eq!(theirs.keys, ours.keys, "our token resumes LDK's pages");
    assert_eq!(ours.keys.len(), 30);
}

#[tokio::test]
async fn changes_made_around_the_backend_show_in_pages_after_a_rescan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let backend = FsBackend::open(&path).await.unwrap();
    let ns = Namespace::new("payments", "").unwrap();
    backend.write(&ns.key("mine").unwrap(), vec![0].into()).await.unwrap();
    assert_eq!(backend.list_page(&ns, None, 10).await.unwrap().keys, ["mine"]);

    // Another writer on the same directory: reads and lists see it, pages not yet.
    let other = FilesystemStoreV2::new(path).unwrap();
    pause().await;
    KVStoreSync::write(&other, "payments", "", "theirs", vec![1]).unwrap();
    assert_eq!(backend.read(&ns.key("theirs").unwrap()).await.unwrap(), [1]);
    assert_eq!(backend.list(&ns).await.unwrap().len(), 2);
    assert_eq!(backend.list_page(&ns, None, 10).await.unwrap().keys, ["mine"]);

    backend.rescan();
    assert_eq!(backend.list_page(&ns, None, 10).await.unwrap().keys, ["theirs", "mine"]);
}

#[tokio::test]
async fn malformed_tokens_are_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let backend = FsBackend::open(dir.path()).await.unwrap();
    let ns = Namespace::new("payments", "").unwrap();
    for token in ["", "12:k", "0001700000000123", "000170000000012x:k", "0001700000000123:a b"] {
        let err = backend.list_page(&ns, Some(token), 10).await.expect_err(token);
        assert_eq!(err.io_kind(), std::io::ErrorKind::InvalidInput, "{token:?}: {err}");
        assert!(err.to_string().contains("page token"), "{err}");
    }
}
