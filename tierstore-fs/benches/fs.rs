//! Filesystem backend against lightning-persister's `FilesystemStoreV2` used directly.
//!
//! - `fs_write/tierstore_c<N>`, `fs_v2_c<N>`: 4 KiB values to distinct keys, N = 1, 2, 4, 8,
//!   16, 32 writes in flight. Both fsync each file and its directory; the difference is
//!   TierStore's adapter.
//! - `fs_list/first_page_<n>`, `fs_v2_first_page_<n>`: the first page (50 keys, LDK's page
//!   size) of a namespace of n = 100 ... 100,000 keys, one at a time. [`FsBackend`] serves it
//!   from its listing index (built by the namespace's first page, before the measurement;
//!   `first_scan_<n>` times that scan once); `FilesystemStoreV2` sorts the directory for every
//!   page. The namespaces are seeded with plain files whose modification times are 1 ms
//!   apart: only listing is measured.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use lightning::util::persist::{KVStore, PaginatedKVStore};
use lightning_persister::fs_store::v2::FilesystemStoreV2;
use tierstore_core::{Backend, Bytes, Key, Namespace};
use tierstore_fs::FsBackend;
use tierstore_testkit::bench::{Group, Load, Record, save_or_warn};

const VALUE_SIZE: usize = 4096;

fn fs_write(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let value = Bytes::from(vec![0x5a; VALUE_SIZE]);
    let mut group = Group::new(c, "fs_write");
    group.brief(Duration::from_secs(4));
    for concurrency in [1, 2, 4, 8, 16, 32] {
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

/// Namespace sizes of the listing benchmark.
const SIZES: [usize; 5] = [100, 1_000, 10_000, 20_000, 100_000];
/// `FilesystemStoreV2`'s page size.
const PAGE: usize = 50;

/// Creates `count` keys in `namespace` under `root` as `FilesystemStoreV2` lays them out, with
/// modification times 1 ms apart (oldest first).
fn seed(root: &Path, namespace: &str, count: usize) {
    let dir = root.join(namespace).join("[empty]");
    std::fs::create_dir_all(&dir).expect("namespace directory");
    let start = SystemTime::now() - Duration::from_secs(3600);
    for i in 0..count {
        let path = dir.join(format!("k{i:06}"));
        let file = std::fs::File::create(&path).expect("key file");
        let mtime = start + Duration::from_millis(i as u64);
        file.set_times(std::fs::FileTimes::new().set_modified(mtime)).expect("mtime");
    }
}

fn fs_list(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut group = Group::new(c, "fs_list");
    group.brief(Duration::from_secs(2));
    group.criterion().sampling_mode(SamplingMode::Flat);
    for size in SIZES {
        let namespace_name = format!("n{size}");
        seed(dir.path(), &namespace_name, size);
        let ldk = FilesystemStoreV2::new(dir.path().to_path_buf()).expect("opens");
        group.concurrent(
            &rt,
            Load::new(format!("fs_v2_first_page_{size}"), 1)
                .note(format!("FilesystemStoreV2::list_paginated, first page of {size} keys")),
            |_| {
                let ldk = &ldk;
                let namespace = &namespace_name;
                async move {
                    let page = PaginatedKVStore::list_paginated(ldk, namespace, "", None)
                        .await
                        .expect("lists");
                    assert_eq!(page.keys.len(), PAGE.min(size));
                }
            },
        );
        let backend = rt.block_on(FsBackend::open(dir.path())).expect("opens");
        let namespace = Namespace::new(&namespace_name, "").expect("valid namespace");
        let started = Instant::now();
        rt.block_on(backend.list_page(&namespace, None, PAGE)).expect("first scan");
        let scan = started.elapsed();
        save_or_warn(&Record {
            group: "fs_list".to_owned(),
            id: format!("first_scan_{size}"),
            concurrency: 1,
            ops_per_sec: 1.0 / scan.as_secs_f64(),
            p50_us: u64::try_from(scan.as_micros()).unwrap_or(u64::MAX),
            p99_us: u64::try_from(scan.as_micros()).unwrap_or(u64::MAX),
            baseline: None,
            note: format!("FsBackend: the one scan that indexes a namespace of {size} keys"),
        });
        group.concurrent(
            &rt,
            Load::new(format!("first_page_{size}"), 1)
                .baseline(format!("fs_list/fs_v2_first_page_{size}"))
                .note(format!("FsBackend::list_page from its index, first page of {size} keys")),
            |_| {
                let backend = &backend;
                let namespace = &namespace;
                async move {
                    let page = backend.list_page(namespace, None, PAGE).await.expect("lists");
                    assert_eq!(page.keys.len(), PAGE.min(size));
                }
            },
        );
    }
    group.finish();
}

criterion_group!(benches, fs_write, fs_list);
criterion_main!(benches);
