use std::sync::Arc;

use super::*;
use crate::error::Tier;

fn key(i: usize) -> Key {
    Key::new("monitors", "", &format!("k{i}")).unwrap()
}

fn divergence(key: &Key) -> Divergence {
    Divergence {
        key: key.clone(),
        tier: Tier::Backup,
        operation: Operation::Write,
        reason: "backup unreachable".into(),
        at: record::truncate_to_millis(std::time::SystemTime::now()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_begins_share_fsyncs_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let opened = Journal::open(&path).unwrap();
    assert!(opened.fresh);
    let journal = Arc::new(opened.journal);
    let begins = futures::future::join_all((0..64).map(|i| {
        let journal = Arc::clone(&journal);
        async move { journal.begin(&key(i), Operation::Write).await.unwrap() }
    }))
    .await;
    let stats = journal.stats();
    assert_eq!(stats.records, 64);
    assert!(stats.syncs < 64, "64 concurrent begins took {} fsyncs", stats.syncs);
    // Half end, one diverges, the rest stay open as if the process stopped here.
    for id in &begins[..32] {
        journal.end(*id);
    }
    journal.diverged(begins[40], &divergence(&key(40)));
    drop(journal);

    let reopened = Journal::open(&path).unwrap();
    assert!(!reopened.fresh);
    // 31 interrupted + 1 diverged.
    assert_eq!(reopened.state.diverged.len(), 32);
    assert!(reopened.state.diverged.contains_key(&key(63)));
    assert!(!reopened.state.diverged.contains_key(&key(0)));
    assert_eq!(reopened.state.diverged[&key(40)].reason, "backup unreachable");
    // New ids never reuse old ones.
    let id = reopened.journal.begin(&key(0), Operation::Remove).await.unwrap();
    assert!(id > *begins.iter().max().unwrap());
}

#[tokio::test]
async fn a_second_open_of_the_same_journal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let first = Journal::open(&path).unwrap();
    let err = Journal::open(&path).err().expect("second open must fail").to_string();
    assert!(err.contains("in use by another process"), "{err}");
    drop(first);
    Journal::open(&path).unwrap();
}

#[tokio::test]
async fn compaction_keeps_the_state_and_bounds_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    const COMPACT_AT: u64 = 64 << 10;
    let journal = Journal::open_with(&path, COMPACT_AT).unwrap().journal;
    let store = StoreId::random();
    journal.set_primary(store).await.unwrap();
    journal.diverged(0, &divergence(&key(1)));
    // Enough begin/end pairs to pass the compaction threshold several times.
    let long = Key::new(&"p".repeat(100), &"s".repeat(100), &"k".repeat(100)).unwrap();
    for _ in 0..(3 * COMPACT_AT as usize / 340) {
        let id = journal.begin(&long, Operation::Write).await.unwrap();
        journal.end(id);
    }
    let stats = journal.stats();
    assert!(stats.compactions >= 2, "{stats:?}");
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len < 2 * COMPACT_AT, "the file is {len} bytes");
    drop(journal);
    let state = Journal::open(&path).unwrap().state;
    assert_eq!(state.primary, Some(store));
    assert_eq!(state.diverged.keys().collect::<Vec<_>>(), vec![&key(1)]);
    assert!(state.open.is_empty() || state.diverged.contains_key(&long));
}

#[tokio::test]
async fn sync_state_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/journal");
    let journal = Journal::open(&path).unwrap().journal;
    let backup = StoreId::random();
    journal.set_synced(Some((backup, 7))).await.unwrap();
    drop(journal);
    let opened = Journal::open(&path).unwrap();
    assert_eq!(opened.state.synced, Some((backup, 7)));
    opened.journal.set_synced(None).await.unwrap();
    drop(opened);
    assert_eq!(Journal::open(&path).unwrap().state.synced, None);
}
