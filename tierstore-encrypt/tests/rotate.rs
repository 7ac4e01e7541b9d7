//! Key rotation: old values stay readable, new writes use the new key, `rotate` re-seals
//! everything (resumably, even after kill -9), and a retired key then fails cleanly.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tierstore_core::{Backend, Bytes, Key, MemoryBackend};
use tierstore_encrypt::{Encrypted, Keyring, NameMode, RootKey, envelope};
use tierstore_sqlite::SqliteBackend;

fn old_key() -> RootKey {
    RootKey::from_bytes([1; 32])
}
fn new_key() -> RootKey {
    RootKey::from_bytes([2; 32])
}
fn both() -> Keyring {
    Keyring::with_previous(new_key(), [old_key()]).unwrap()
}

/// Every stored object's key id, by stored key (metadata included).
async fn key_ids<B: Backend>(inner: &B) -> BTreeMap<Key, String> {
    let mut ids = BTreeMap::new();
    for stored in inner.list_all_keys().await.unwrap() {
        let raw = inner.read(&stored).await.unwrap();
        ids.insert(stored, envelope::key_id(&raw).unwrap().to_string());
    }
    ids
}

#[tokio::test]
async fn rotation_reseals_everything_and_retires_the_old_key() {
    let inner = Arc::new(MemoryBackend::new());
    let old = Encrypted::builder(inner.clone(), Keyring::new(old_key())).open().await.unwrap();
    let long = "l".repeat(110);
    let keys: Vec<Key> = (0..50)
        .map(|i| {
            Key::new("monitors", "", &if i == 7 { long.clone() } else { format!("chan{i}") })
                .unwrap()
        })
        .collect();
    for k in &keys {
        old.write(k, Bytes::from(k.to_string())).await.unwrap();
    }
    let k0 = &keys[0];
    let replay = inner.read(&old.stored_key(k0)).await.unwrap();
    let order_before = old.list_page(k0.namespace(), None, 100).await.unwrap().keys;

    let store = Encrypted::builder(inner.clone(), both()).open().await.unwrap();
    assert_eq!(store.read(k0).await.unwrap(), k0.to_string().as_bytes(), "old readable");
    let fresh = Key::new("monitors", "", "fresh").unwrap();
    store.write(&fresh, Bytes::from_static(b"new")).await.unwrap();
    let raw = inner.read(&store.stored_key(&fresh)).await.unwrap();
    assert_eq!(envelope::key_id(&raw).unwrap(), new_key().id(), "new writes use the new key");

    let mut calls = 0;
    let report = store.rotate(|_| calls += 1).await.unwrap();
    assert_eq!(report.scanned, 52, "metadata, 50 old keys, 1 new");
    assert_eq!(report.rewritten, 51, "metadata and the 50 old keys");
    assert_eq!(calls, 52);
    let new_id = new_key().id().to_string();
    assert!(key_ids(&*inner).await.values().all(|id| *id == new_id));
    assert_eq!(store.rotate(|_| {}).await.unwrap().rewritten, 0, "a second run has nothing to do");

    // Retired: the new key alone reads everything, keeps the order...
    let retired = Encrypted::builder(inner.clone(), Keyring::new(new_key())).open().await.unwrap();
    for k in &keys {
        assert_eq!(retired.read(k).await.unwrap(), k.to_string().as_bytes());
    }
    let mut order_after = retired.list_page(k0.namespace(), None, 100).await.unwrap().keys;
    assert_eq!(order_after.remove(0), "fresh");
    assert_eq!(order_after, order_before, "rotation keeps creation order");
    // ... and an object still sealed with the retired key fails cleanly, naming its id.
    inner.write(&retired.stored_key(k0), Bytes::from(replay)).await.unwrap();
    let err = retired.read(k0).await.unwrap_err();
    assert_eq!(err.io_kind(), std::io::ErrorKind::InvalidData);
    let msg = err.to_string();
    assert!(
        msg.contains(&old_key().id().to_string()) && msg.contains("not in the keyring"),
        "{msg}"
    );
    // The old key alone no longer opens the store at all.
    assert!(Encrypted::builder(inner, Keyring::new(old_key())).open().await.is_err());
}

const CHILD: &str = "TIERSTORE_ENCRYPT_ROTATE_CHILD";
const KEYS: usize = 600;

async fn sqlite(dir: &Path, keys: Keyring) -> Encrypted<SqliteBackend> {
    let backend = SqliteBackend::open(dir.join("backup.sqlite")).await.unwrap();
    Encrypted::builder(backend, keys).names(NameMode::Obfuscated).open().await.unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

/// Parent and child in one test: the child rotates slowly and reports progress; the parent
/// kills it (SIGKILL) mid-way, then reruns the rotation, which completes.
#[test]
fn rotate_killed_with_sigkill_then_rerun_completes() {
    if let Ok(dir) = std::env::var(CHILD) {
        runtime().block_on(async {
            let store = sqlite(Path::new(&dir), both()).await;
            store
                .rotate(|p| {
                    println!("progress {}", p.rewritten);
                    std::thread::sleep(Duration::from_millis(2));
                })
                .await
                .unwrap();
        });
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let keys: Vec<Key> =
        (0..KEYS).map(|i| Key::new("monitors", "", &format!("chan{i:04}")).unwrap()).collect();
    rt.block_on(async {
        let store = sqlite(dir.path(), Keyring::new(old_key())).await;
        for chunk in keys.chunks(50) {
            futures::future::join_all(
                chunk.iter().map(|k| store.write(k, Bytes::from(format!("value of {k}")))),
            )
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        }
    });

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "rotate_killed_with_sigkill_then_rerun_completes",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = 0;
    for line in lines.by_ref() {
        if let Some(n) = line.unwrap().strip_prefix("progress ") {
            seen = n.parse::<usize>().unwrap();
            if seen >= KEYS / 3 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert!(seen >= KEYS / 3, "the child rotated {seen} keys before exiting");

    rt.block_on(async {
        let store = sqlite(dir.path(), both()).await;
        let ids = key_ids(store.inner()).await;
        let old_left = ids.values().filter(|id| **id == old_key().id().to_string()).count();
        assert!(
            old_left > 0 && old_left < KEYS,
            "killed mid-way: {old_left} objects left under the old key"
        );
        let report = store.rotate(|_| {}).await.unwrap();
        assert_eq!(report.rewritten as usize, old_left, "the rerun re-seals exactly what was left");
        drop(store);
        let retired = sqlite(dir.path(), Keyring::new(new_key())).await;
        for k in &keys {
            assert_eq!(retired.read(k).await.unwrap(), format!("value of {k}").as_bytes());
        }
    });
}
