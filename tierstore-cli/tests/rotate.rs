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

/// `--key-file` reaches every command: an encrypted backup is resilvered, verified, listed and
/// restored from; without the key, or with another one, the commands fail and say why.
#[test]
fn key_file_works_for_resilver_verify_ls_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = key_file(d, "backup.key", 7);
    let wrong = key_file(d, "wrong.key", 8);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tierstore")).current_dir(d).args(args).output().unwrap()
    };
    let ok = |args: &[&str]| {
        let out = run(args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{args:?}: {text}{}", String::from_utf8_lossy(&out.stderr));
        text
    };
    for i in 0..5 {
        ok(&["put", "sqlite:primary.db", &format!("monitors//chan{i}"), "--value", "secret-v"]);
    }
    let key = key.to_str().unwrap();
    let backup = "encrypted:sqlite:backup.db";
    let resilver =
        ok(&["--key-file", key, "resilver", "--primary", "sqlite:primary.db", "--backup", backup]);
    assert!(resilver.contains("5 copied"), "{resilver}");
    ok(&["--key-file", key, "verify", "--primary", "sqlite:primary.db", "--backup", backup]);
    let listed = ok(&["--key-file", key, "ls", backup, "monitors"]);
    assert!(listed.contains("chan4"), "{listed}");
    // Nothing readable in the raw backup.
    let raw = std::fs::read(d.join("backup.db")).unwrap();
    assert!(!raw.windows(8).any(|w| w == b"secret-v"), "a value in clear in the backup");
    assert!(!raw.windows(5).any(|w| w == b"chan4"), "a key name in clear in the backup");

    // Without the key, or with another key: refused, nothing restored.
    let no_key = run(&["restore", "--from", backup, "--to", "sqlite:restored.db"]);
    assert!(!no_key.status.success());
    let wrong = run(&[
        "--key-file",
        wrong.to_str().unwrap(),
        "restore",
        "--from",
        backup,
        "--to",
        "sqlite:restored.db",
    ]);
    assert!(!wrong.status.success());
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(!err.contains("panicked"), "{err}");

    ok(&["--key-file", key, "restore", "--from", backup, "--to", "sqlite:restored.db"]);
    let value = ok(&["get", "sqlite:restored.db", "monitors//chan3"]);
    assert_eq!(value.trim_end(), "secret-v");
}

/// `keygen` writes a key file only its owner can read, which `--key-file` then uses; it never
/// overwrites a file, and two keys differ.
#[test]
fn keygen_writes_a_private_key_file_and_never_overwrites_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    let tierstore = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tierstore"));
        command.current_dir(dir.path());
        command
    };
    let keygen = |path: &Path| tierstore().arg("keygen").arg(path).output().unwrap();

    let first = keygen(&path);
    let stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(first.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&first.stderr));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a key file is readable by its owner only");
    let key = RootKey::from_file(&path).unwrap();
    assert!(stdout.contains(&key.id().to_string()), "{stdout}");
    assert!(!stdout.contains(key.to_hex().as_str()), "the key itself is never printed");

    let before = std::fs::read(&path).unwrap();
    let again = keygen(&path);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "the existing key is untouched");

    let other = dir.path().join("other.key");
    assert!(keygen(&other).status.success());
    assert_ne!(RootKey::from_file(&other).unwrap().id(), key.id());

    // The new key seals and opens through `--key-file`; the other key cannot read it.
    let url = "encrypted:sqlite:backup.db";
    let put = tierstore()
        .arg("--key-file")
        .arg(&path)
        .args(["put", url, "monitors//chan1", "--value", "state"])
        .output()
        .unwrap();
    assert!(put.status.success(), "{}", String::from_utf8_lossy(&put.stderr));
    let get = |key: &Path| {
        tierstore()
            .arg("--key-file")
            .arg(key)
            .args(["get", url, "monitors//chan1"])
            .output()
            .unwrap()
    };
    let read = get(&path);
    assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
    assert_eq!(read.stdout, b"state");
    assert!(!get(&other).status.success());
}
