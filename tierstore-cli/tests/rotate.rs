//! `tierstore rotate`: re-seals an encrypted store under a new key; the old key then fails.

#![cfg(feature = "encryption")]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use tierstore::encrypt::{Encrypted, Keyring, RootKey};
use tierstore::{Backend, Bytes, Key, OpenOptions};

fn key_file(dir: &Path, name: &str, byte: u8) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, RootKey::from_bytes([byte; 32]).to_hex().as_bytes()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

#[test]
fn rotate_reseals_under_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let old = key_file(dir.path(), "old.key", 1);
    let new = key_file(dir.path(), "new.key", 2);
    let url = format!("encrypted:sqlite:{}", dir.path().join("backup.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let keys: Vec<Key> =
        (0..20).map(|i| Key::new("monitors", "", &format!("chan{i}")).unwrap()).collect();
    rt.block_on(async {
        let store =
            tierstore::open_with(&url, &OpenOptions::default().key_file(&old)).await.unwrap();
        for k in &keys {
            store.write(k, Bytes::from(k.to_string())).await.unwrap();
        }
    });

    let output = Command::new(env!("CARGO_BIN_EXE_tierstore"))
        .args(["rotate", "--store", &url, "--old-key-file"])
        .arg(&old)
        .arg("--new-key-file")
        .arg(&new)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("21 objects, 21 re-sealed"), "{stdout}");

    rt.block_on(async {
        let store =
            tierstore::open_with(&url, &OpenOptions::default().key_file(&new)).await.unwrap();
        for k in &keys {
            assert_eq!(store.read(k).await.unwrap(), k.to_string().as_bytes());
        }
        let err =
            tierstore::open_with(&url, &OpenOptions::default().key_file(&old)).await.unwrap_err();
        assert!(err.to_string().contains("not in the keyring"), "{err}");
        // Only the new key is needed now.
        let inner = tierstore::open(&url["encrypted:".len()..]).await.unwrap();
        let only_new = Keyring::new(RootKey::from_file(&new).unwrap());
        assert!(Encrypted::builder(inner, only_new).open().await.is_ok());
    });
}
