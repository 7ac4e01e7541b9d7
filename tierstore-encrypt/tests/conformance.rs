//! The whole Backend contract through the encryption layer, with clear and obfuscated names,
//! on the in-memory backend and on SQLite.

use tierstore_core::MemoryBackend;
use tierstore_encrypt::{Encrypted, Keyring, NameMode, RootKey};
use tierstore_sqlite::SqliteBackend;
use tierstore_testkit::Subject;

fn keys() -> Keyring {
    Keyring::new(RootKey::from_bytes([42; 32]))
}

async fn memory(names: NameMode) -> Encrypted<MemoryBackend> {
    Encrypted::builder(MemoryBackend::new(), keys()).names(names).open().await.expect("opens")
}

async fn sqlite(names: NameMode) -> Subject<Encrypted<SqliteBackend>> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let backend = SqliteBackend::open(dir.path().join("test.sqlite")).await.expect("opens");
    let layer = Encrypted::builder(backend, keys()).names(names).open().await.expect("opens");
    Subject::new(layer).with_guard(dir)
}

mod conformance_encrypted_memory_clear {
    async fn factory() -> super::Encrypted<super::MemoryBackend> {
        super::memory(super::NameMode::Clear).await
    }
    tierstore_testkit::conformance_tests!(factory);
}

mod conformance_encrypted_memory_obfuscated {
    async fn factory() -> super::Encrypted<super::MemoryBackend> {
        super::memory(super::NameMode::Obfuscated).await
    }
    tierstore_testkit::conformance_tests!(factory);
}

mod conformance_encrypted_sqlite_obfuscated {
    async fn factory() -> super::Subject<super::Encrypted<super::SqliteBackend>> {
        super::sqlite(super::NameMode::Obfuscated).await
    }
    tierstore_testkit::conformance_tests!(factory);
}

mod conformance_encrypted_sqlite_clear {
    async fn factory() -> super::Subject<super::Encrypted<super::SqliteBackend>> {
        super::sqlite(super::NameMode::Clear).await
    }
    tierstore_testkit::conformance_tests!(factory);
}
