//! The redb backend in TierStore roles: the scenario suite, and an LDK write that lands in the
//! database and survives reopening it.

// `__` separates the roles in module names, which `cargo xtask test`'s matrix reads.
#![allow(non_snake_case)]

use tierstore_core::MemoryBackend;
use tierstore_example_redb::RedbBackend;
use tierstore_testkit::Subject;

async fn redb() -> Subject<RedbBackend> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let backend = RedbBackend::open(dir.path().join("tier.redb")).await.expect("opens");
    Subject::new(backend).with_guard(dir)
}

async fn memory() -> MemoryBackend {
    MemoryBackend::new()
}

mod primary_redb__backup_memory__ephemeral_memory {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: redb, backup: memory, ephemeral: memory);
}

mod primary_memory__backup_redb__ephemeral_redb {
    use super::*;
    tierstore_testkit::scenario_tests!(primary: memory, backup: redb, ephemeral: redb);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_writes_survive_reopening_the_database() {
    use lightning::util::persist::KVStore;
    use tierstore_core::TierStore;

    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("node.redb");
    {
        let store = TierStore::builder(RedbBackend::open(&path).await.expect("opens"))
            .build()
            .expect("builds");
        KVStore::write(&store, "monitors", "", "chan1", vec![7; 1000]).await.expect("write");
        KVStore::write(&store, "monitors", "", "chan2", vec![8; 10]).await.expect("write");
        KVStore::remove(&store, "monitors", "", "chan2", false).await.expect("remove");
    }
    let reopened = TierStore::builder(RedbBackend::open(&path).await.expect("reopens"))
        .build()
        .expect("builds");
    let value = KVStore::read(&reopened, "monitors", "", "chan1").await.expect("read");
    assert_eq!(value, vec![7; 1000]);
    let keys = KVStore::list(&reopened, "monitors", "").await.expect("list");
    assert_eq!(keys, ["chan1"]);
}
