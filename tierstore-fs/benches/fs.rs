//! Filesystem write throughput: [`FsBackend`] against lightning-persister's
//! `FilesystemStoreV2` used directly, 4 KiB values to distinct keys, with 1 and 16 writes in
//! flight. Both fsync each file and its directory; the difference is TierStore's adapter.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lightning::util::persist::KVStore;
use lightning_persister::fs_store::v2::FilesystemStoreV2;
use tierstore_core::{Backend, Bytes, Key};
use tierstore_fs::FsBackend;
use tierstore_testkit::bench::{Group, Load};

const VALUE_SIZE: usize = 4096;

fn fs_write(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let value = Bytes::from(vec![0x5a; VALUE_SIZE]);
    let mut group = Group::new(c, "fs_write");
    group.brief(Duration::from_secs(4));
    for concurrency in [1, 16] {
        let ldk =
            FilesystemStoreV2::new(dir.path().join(format!("v2-{concurrency}"))).expect("opens");
        group.concurrent(
            &rt,
            Load::new(format!("fs_v2_c{concurrency}"), concurrency)
                .note("lightning-persister FilesystemStoreV2, KVStore::write"),
            |i| {
                let (ldk, value) = (&ldk, value.to_vec());
                async move {
                    let key = format!("k{i}");
                    KVStore::write(ldk, "bench", "", &key, value).await.expect("writes")
                }
            },
        );
        let backend = rt
            .block_on(FsBackend::open(dir.path().join(format!("tierstore-{concurrency}"))))
            .expect("opens");
        group.concurrent(
            &rt,
            Load::new(format!("tierstore_c{concurrency}"), concurrency)
                .baseline(format!("fs_write/fs_v2_c{concurrency}"))
                .note("FsBackend (FilesystemStoreV2 through the LDK adapter)"),
            |i| {
                let backend = &backend;
                let value = value.clone();
                async move {
                    let key = Key::new("bench", "", &format!("k{i}")).expect("valid key");
                    backend.write(&key, value).await.expect("writes")
                }
            },
        );
    }
    group.finish();
}

criterion_group!(benches, fs_write);
criterion_main!(benches);
