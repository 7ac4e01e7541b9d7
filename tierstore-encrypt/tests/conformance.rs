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

// `conformance_<backend>` modules count for (backend, alone) in `cargo xtask test`'s matrix.
mod conformance_encrypted_memory {
    use super::*;

    mod clear_names {
        use super::*;
        async fn factory() -> Encrypted<MemoryBackend> {
            memory(NameMode::Clear).await
        }
        tierstore_testkit::conformance_tests!(factory);
    }

    mod obfuscated_names {
        use super::*;
        async fn factory() -> Encrypted<MemoryBackend> {
            memory(NameMode::Obfuscated).await
        }
        tierstore_testkit::conformance_tests!(factory);
    }
}

mod conformance_encrypted_sqlite {
    use super::*;

    mod clear_names {
        use super::*;
        async fn factory() -> Subject<Encrypted<SqliteBackend>> {
            sqlite(NameMode::Clear).await
        }
        tierstore_testkit::conformance_tests!(factory);
    }

    mod obfuscated_names {
        use super::*;
        async fn factory() -> Subject<Encrypted<SqliteBackend>> {
            sqlite(NameMode::Obfuscated).await
        }
        tierstore_testkit::conformance_tests!(factory);
    }
}
