//! The TierStore scenario suite over the backends tierstore-core ships.
//!
//! Module names follow `primary_<p>__backup_<b>__ephemeral_<e>` (`ldkfs`: lightning-persister's
//! `FilesystemStoreV2` through the LDK adapter); `cargo xtask test` builds its matrix from them.

// `__` separates the roles in module names, which the matrix parser reads.
#![allow(non_snake_case)]

use lightning_persister::fs_store::v2::FilesystemStoreV2;
use tierstore_core::{LdkBackend, MemoryBackend};
use tierstore_testkit::Subject;

async fn memory() -> MemoryBackend {
    MemoryBackend::new()
}

async fn filesystem_v2() -> Subject<LdkBackend<FilesystemStoreV2>> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = FilesystemStoreV2::new(dir.path().join("store")).expect("fresh directory");
    Subject::new(LdkBackend::new(store).named("ldk:FilesystemStoreV2").with_list_all_keys())
        .with_guard(dir)
}

mod primary_memory__backup_memory__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: memory, ephemeral: memory);
}

mod primary_ldkfs__backup_memory__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: filesystem_v2, backup: memory, ephemeral: memory);
}

mod primary_memory__backup_ldkfs__ephemeral_ldkfs {
    use super::*;
    tierstore_testkit::scenario_tests!(
        primary: memory,
        backup: filesystem_v2,
        ephemeral: filesystem_v2,
    );
}
