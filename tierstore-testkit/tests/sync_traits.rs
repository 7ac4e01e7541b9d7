//! LDK's synchronous traits on TierStore work wherever LDK calls them: from a plain thread,
//! inside a multi-threaded tokio runtime and inside a current-thread runtime. The primary is
//! delayed with tokio timers, so each call needs a working runtime underneath to finish.

use std::sync::Arc;
use std::time::Duration;

use lightning::util::persist::{
    KVStoreSync, MigratableKVStoreSync, PageToken, PaginatedKVStoreSync,
};
use tierstore_core::{MemoryBackend, Operation, TierStore};
use tierstore_testkit::faults::Delayed;

fn store() -> TierStore {
    let primary = Arc::new(Delayed::new(MemoryBackend::named("primary")));
    for op in [Operation::Write, Operation::Read, Operation::List, Operation::ListPage] {
        primary.delay(op, Duration::from_millis(2));
    }
    TierStore::builder(primary)
        .backup(MemoryBackend::named("backup"))
        .ephemeral(MemoryBackend::named("ephemeral"))
        .page_size(3)
        .build()
        .expect("valid configuration")
}

/// Every sync trait method, with checked results.
fn exercise(store: &TierStore) {
    for i in 0..7 {
        KVStoreSync::write(store, "monitors", "", &format!("m{i}"), vec![i]).unwrap();
    }
    KVStoreSync::write(store, "", "", "network_graph", vec![0xee; 64]).unwrap();
    assert_eq!(KVStoreSync::read(store, "monitors", "", "m3").unwrap(), [3]);
    assert_eq!(KVStoreSync::read(store, "", "", "network_graph").unwrap().len(), 64);
    let err = KVStoreSync::read(store, "monitors", "", "absent").unwrap_err();
    assert_eq!(err.kind(), lightning::io::ErrorKind::NotFound);
    let mut listed = KVStoreSync::list(store, "monitors", "").unwrap();
    listed.sort();
    assert_eq!(listed, (0..7).map(|i| format!("m{i}")).collect::<Vec<_>>());

    let mut paged = Vec::new();
    let mut token: Option<PageToken> = None;
    loop {
        let page =
            PaginatedKVStoreSync::list_paginated(store, "monitors", "", token.take()).unwrap();
        paged.extend(page.keys);
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]);

    KVStoreSync::remove(store, "monitors", "", "m0", false).unwrap();
    let mut all = MigratableKVStoreSync::list_all_keys(store).unwrap();
    all.sort();
    assert_eq!(all.len(), 7, "six monitors and the network graph: {all:?}");
    assert!(all.contains(&(String::new(), String::new(), "network_graph".to_owned())));
    assert!(!all.iter().any(|(_, _, key)| key == "m0"));
}

#[test]
fn from_a_plain_thread() {
    exercise(&store());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_multi_thread_runtime() {
    exercise(&store());
}

#[tokio::test(flavor = "current_thread")]
async fn inside_a_current_thread_runtime() {
    exercise(&store());
}

#[test]
fn from_many_threads_at_once() {
    let store = store();
    std::thread::scope(|scope| {
        for t in 0..4u8 {
            let store = &store;
            scope.spawn(move || {
                for i in 0..10u8 {
                    let key = format!("t{t}k{i}");
                    KVStoreSync::write(store, "threads", "", &key, vec![t, i]).unwrap();
                    assert_eq!(KVStoreSync::read(store, "threads", "", &key).unwrap(), [t, i]);
                }
            });
        }
    });
    assert_eq!(KVStoreSync::list(&store, "threads", "").unwrap().len(), 40);
}
