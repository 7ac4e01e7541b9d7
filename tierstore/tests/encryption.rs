//! `encrypted:` URLs and the `[encryption]` section.

#![cfg(feature = "encryption")]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use tierstore::{Backend, Bytes, Config, Error, Key, OpenOptions, open_with};

fn key_file(dir: &std::path::Path, name: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "{}", "ab".repeat(32)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[tokio::test]
async fn encrypted_url_opens_with_a_key_file_and_encrypts() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "backup.key", 0o600);
    let url = format!("encrypted:sqlite:{}/backup.db", dir.path().display());
    let options = OpenOptions::default().key_file(&key);
    let store = open_with(&url, &options).await.unwrap();
    assert!(store.to_string().starts_with("Encrypted(sqlite:"), "{store}");
    let k = Key::new("monitors", "", "chan1").unwrap();
    store.write(&k, Bytes::from_static(b"monitor bytes")).await.unwrap();
    drop(store);
    let reopened = open_with(&url, &options).await.unwrap();
    assert_eq!(reopened.read(&k).await.unwrap(), b"monitor bytes");
    // The inner store, opened plainly, holds no plaintext name or value.
    let raw = tierstore::open(&url["encrypted:".len()..]).await.unwrap();
    for stored in raw.list_all_keys().await.unwrap() {
        assert!(!stored.to_string().contains("chan1"), "{stored}");
        let value = raw.read(&stored).await.unwrap();
        assert!(!value.windows(7).any(|w| w == b"monitor"), "{stored}");
    }
    // The journal goes beside the inner file.
    assert_eq!(
        tierstore::default_journal_path(&url).unwrap(),
        Some(dir.path().join("backup.db.journal"))
    );
}

#[tokio::test]
async fn encrypted_url_without_a_key_is_a_config_error() {
    let err = open_with("encrypted:memory:", &OpenOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");
    assert!(err.to_string().contains("needs its root key"), "{err}");
}

#[tokio::test]
async fn key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "loose.key", 0o644);
    let err =
        open_with("encrypted:memory:", &OpenOptions::default().key_file(&key)).await.unwrap_err();
    assert!(err.to_string().contains("mode 0644"), "{err}");
}

#[tokio::test]
async fn key_file_for_a_plain_store_is_harmless() {
    let options = OpenOptions::default().key_file("/nonexistent/key");
    let store = open_with("memory:plain", &options).await.unwrap();
    assert_eq!(store.to_string(), "memory:plain");
}

#[tokio::test]
async fn config_encryption_section_keys_encrypted_roles() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "backup.key", 0o600);
    let config = Config::from_toml(&format!(
        r#"
        primary = "memory:primary"
        backup = "encrypted:sqlite:{dir}/backup.db"
        journal = false

        [encryption]
        key_file = "{key}"
        names = "clear"
        "#,
        dir = dir.path().display(),
        key = key.display()
    ))
    .unwrap();
    let store = config.build().await.unwrap();
    assert!(store.backup().unwrap().to_string().contains("Encrypted(sqlite:"));
    let raw = tierstore::open(&format!("sqlite:{}/backup.db", dir.path().display())).await.unwrap();
    let names = tierstore::encrypt::Encrypted::builder(
        raw,
        tierstore::encrypt::Keyring::new(tierstore::encrypt::RootKey::from_file(&key).unwrap()),
    )
    .open()
    .await
    .unwrap()
    .name_mode();
    assert_eq!(names, tierstore::encrypt::NameMode::Clear);

    let missing = Config::from_toml(&format!(
        "primary = \"memory:\"\nbackup = \"encrypted:sqlite:{}/b2.db\"\njournal = false",
        dir.path().display()
    ))
    .unwrap();
    let err = missing.build().await.unwrap_err();
    assert!(err.to_string().contains("needs its root key"), "{err}");
}
