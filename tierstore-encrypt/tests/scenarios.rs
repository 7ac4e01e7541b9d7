//! The TierStore scenario suite with an encrypted backup (obfuscated names), on memory and
//! SQLite.

// `__` separates the roles in module names, which the matrix parser reads.
#![allow(non_snake_case)]

use tierstore_core::MemoryBackend;
use tierstore_encrypt::{Encrypted, Keyring, RootKey};
use tierstore_sqlite::SqliteBackend;
use tierstore_testkit::Subject;

async fn memory() -> MemoryBackend {
    MemoryBackend::new()
}

async fn encrypted_memory() -> Encrypted<MemoryBackend> {
    Encrypted::builder(MemoryBackend::new(), Keyring::new(RootKey::from_bytes([9; 32])))
        .open()
        .await
        .expect("opens")
}

async fn encrypted_sqlite() -> Subject<Encrypted<SqliteBackend>> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let backend = SqliteBackend::open(dir.path().join("backup.sqlite")).await.expect("opens");
    let layer = Encrypted::builder(backend, Keyring::new(RootKey::from_bytes([9; 32])))
        .open()
        .await
        .expect("opens");
    Subject::new(layer).with_guard(dir)
}

mod primary_memory__backup_encrypted_memory__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: encrypted_memory, ephemeral: memory);
}

mod primary_memory__backup_encrypted_sqlite__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: encrypted_sqlite, ephemeral: memory);
}
