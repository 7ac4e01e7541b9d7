use super::*;
use crate::memory::MemoryBackend;

fn key(ns: &str, k: &str) -> Key {
    Key::new(ns, "", k).unwrap()
}

async fn put(b: &MemoryBackend, ns: &str, k: &str, v: &[u8]) {
    b.write(&key(ns, k), v.to_vec().into()).await.unwrap();
}

#[tokio::test]
async fn verify_counts_and_lists_differences_page_by_page() {
    let (source, target) = (MemoryBackend::new(), MemoryBackend::new());
    for i in 0..50 {
        put(&source, "a", &format!("k{i}"), b"v").await;
        if i % 10 != 0 {
            put(&target, "a", &format!("k{i}"), if i == 7 { b"x" } else { b"v" }).await;
        }
    }
    put(&target, "b", "stray", b"s").await;
    // TierStore's own records never count.
    source.write(&SyncRecord::key(), vec![1].into()).await.unwrap();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let progress = |_: &Progress| {
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let scan = Scan::new().page_size(7).max_listed(3).progress(&progress);
    let report = verify_with(&source, &target, scan).await.unwrap();
    assert_eq!(report.missing_total, 5);
    assert_eq!(report.missing.len(), 3, "listed up to max_listed");
    assert_eq!(report.different, vec![key("a", "k7")]);
    assert_eq!(report.extra, vec![key("b", "stray")]);
    assert_eq!(report.compared, 45);
    assert!(!report.is_consistent());
    assert!(calls.load(std::sync::atomic::Ordering::Relaxed) >= 8, "a report per page");
}

#[tokio::test]
async fn resilver_copies_only_differences_and_is_idempotent() {
    let (source, target) = (MemoryBackend::new(), MemoryBackend::new());
    for i in 0..100 {
        put(&source, "a", &format!("k{i}"), format!("v{i}").as_bytes()).await;
    }
    for i in 0..90 {
        let v = if i == 3 { "old".to_owned() } else { format!("v{i}") };
        put(&target, "a", &format!("k{i}"), v.as_bytes()).await;
    }
    put(&target, "gone", "x", b"x").await;
    let report = resilver(&source, &target, Scan::new().page_size(9)).await.unwrap();
    assert_eq!((report.copied, report.removed, report.unchanged), (11, 1, 89), "{report:?}");
    assert!(verify(&source, &target, |_| true).await.unwrap().is_consistent());
    let again = resilver(&source, &target, Scan::new()).await.unwrap();
    assert_eq!((again.copied, again.removed, again.unchanged), (0, 0, 100));
}

#[tokio::test]
async fn copy_all_keeps_creation_order_and_restore_adopts_identity() {
    let (backup, primary) = (MemoryBackend::new(), MemoryBackend::new());
    for i in 0..25 {
        put(&backup, "a", &format!("k{}", (i * 7) % 25), b"v").await;
    }
    let mirrored = crate::sync_record::StoreId::random();
    let record = SyncRecord {
        store: crate::sync_record::StoreId::random(),
        primary: mirrored,
        generation: 4,
    };
    record.write(&backup).await.unwrap();
    let scan = Scan::new().page_size(4);
    let report = restore(&backup, &primary, scan, false, &|_, _| {}).await.unwrap();
    assert_eq!(report.keys, 25);
    let ns = Namespace::new("a", "").unwrap();
    let primary_order = primary.list_page(&ns, None, 100).await.unwrap().keys;
    let backup_order = backup.list_page(&ns, None, 100).await.unwrap().keys;
    assert_eq!(primary_order, backup_order);
    let identity = SyncRecord::read(&primary).await.unwrap().unwrap();
    assert_eq!((identity.store, identity.primary), (mirrored, mirrored));
    // A second restore into the now non-empty primary is refused without force.
    let err = restore(&backup, &primary, scan, false, &|_, _| {}).await.unwrap_err();
    assert!(err.to_string().contains("is not empty"), "{err}");
    assert_eq!(count_keys(&primary, Scan::new()).await.unwrap(), 25);
}
