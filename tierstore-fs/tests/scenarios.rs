//! The TierStore scenario suite with the filesystem backend in each role. Arrangements with
//! SQLite are in the `tierstore` crate's matrix.

// `__` separates the roles in module names, which the matrix parser reads.
#![allow(non_snake_case)]

use tierstore_core::MemoryBackend;
use tierstore_fs::FsBackend;
use tierstore_testkit::Subject;

async fn fs() -> Subject<FsBackend> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let backend = FsBackend::open(dir.path().join("store")).await.expect("opens");
    Subject::new(backend).with_guard(dir)
}

async fn memory() -> MemoryBackend {
    MemoryBackend::new()
}

mod primary_fs__backup_fs__ephemeral_fs {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: fs, backup: fs, ephemeral: fs);
}

mod primary_memory__backup_memory__ephemeral_fs {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: memory, ephemeral: fs);
}
