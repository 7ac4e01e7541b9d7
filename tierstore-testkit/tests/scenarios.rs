//! The TierStore scenario suite over the backends tierstore-core ships.

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

mod all_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: memory, ephemeral: memory);
}

mod ldk_store_primary {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: filesystem_v2, backup: memory, ephemeral: memory);
}

mod ldk_store_backup_and_ephemeral {
    use super::*;
    tierstore_testkit::scenario_tests!(
        primary: memory,
        backup: filesystem_v2,
        ephemeral: filesystem_v2,
    );
}
