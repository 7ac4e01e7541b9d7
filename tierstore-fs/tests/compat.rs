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
