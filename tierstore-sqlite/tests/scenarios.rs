//! The TierStore scenario suite with SQLite in each role. Arrangements with the filesystem
//! backend are in the `tierstore` crate's matrix.

// `__` separates the roles in module names, which the matrix parser reads.
#![allow(non_snake_case)]

use tierstore_core::MemoryBackend;
use tierstore_sqlite::SqliteBackend;
use tierstore_testkit::Subject;

async fn sqlite() -> Subject<SqliteBackend> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let backend = SqliteBackend::open(dir.path().join("tier.sqlite")).await.expect("opens");
    Subject::new(backend).with_guard(dir)
}

async fn memory() -> MemoryBackend {
    MemoryBackend::new()
}

mod primary_sqlite__backup_sqlite__ephemeral_sqlite {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: sqlite, backup: sqlite, ephemeral: sqlite);
}

mod primary_memory__backup_sqlite__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: sqlite, ephemeral: memory);
}
