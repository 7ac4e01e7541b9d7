//! TierStore's own cost per operation: the same operations against the raw `MemoryBackend`
//! (baseline), a TierStore with only a primary, and a TierStore with primary + backup, all
//! measured in one run.
//!
//! `cargo bench -p tierstore-core --bench overhead` (or `cargo xtask bench`, whose report
//! reads criterion's estimates of the `overhead_*` groups).

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use lightning::util::persist::{KVStore, PaginatedKVStore};
use tierstore_core::{Backend, Bytes, Key, MemoryBackend, Namespace, TierStore};
use tokio::runtime::Runtime;

const VALUE_SIZE: usize = 4096;
const KEYS: usize = 10_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

fn key_name(i: usize) -> String {
    format!("k{i:06}")
}

/// A TierStore, with or without a backup, and its primary for seeding.
fn tierstore(backup: bool) -> (TierStore, Arc<MemoryBackend>) {
    let primary = Arc::new(MemoryBackend::named("primary"));
    let mut builder = TierStore::builder(Arc::clone(&primary));
    if backup {
        builder = builder.backup(MemoryBackend::named("backup"));
    }
    (builder.build().expect("valid configuration"), primary)
}

fn seed(rt: &Runtime, backend: &dyn Backend) {
    rt.block_on(async {
        for i in 0..KEYS {
            let key = Key::new("monitors", "", &key_name(i)).unwrap();
            backend.write(&key, Bytes::from(vec![1u8; VALUE_SIZE])).await.unwrap();
        }
    });
}

fn bench_write(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("overhead_write");
    let value = vec![7u8; VALUE_SIZE];
    let raw = MemoryBackend::new();
    let key = Key::new("monitors", "", "chan").unwrap();
    group.bench_function("raw_memory", |b| {
        b.to_async(&rt).iter(|| raw.write(&key, Bytes::from(value.clone())))
    });
    for backup in [false, true] {
        let (store, _) = tierstore(backup);
        let id = BenchmarkId::new("tierstore", if backup { "primary+backup" } else { "primary" });
        group.bench_function(id, |b| {
            b.to_async(&rt).iter(|| KVStore::write(&store, "monitors", "", "chan", value.clone()))
        });
    }
    group.finish();
}

fn bench_read(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("overhead_read");
    let raw = MemoryBackend::new();
    seed(&rt, &raw);
    let key = Key::new("monitors", "", &key_name(KEYS / 2)).unwrap();
    group.bench_function("raw_memory", |b| b.to_async(&rt).iter(|| raw.read(&key)));
    for backup in [false, true] {
        let (store, primary) = tierstore(backup);
        seed(&rt, &*primary);
        let id = BenchmarkId::new("tierstore", if backup { "primary+backup" } else { "primary" });
        let name = key_name(KEYS / 2);
        group.bench_function(id, |b| {
            b.to_async(&rt).iter(|| KVStore::read(&store, "monitors", "", &name))
        });
    }
    group.finish();
}

fn bench_list_page(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("overhead_list_page");
    let raw = MemoryBackend::new();
    seed(&rt, &raw);
    let namespace = Namespace::new("monitors", "").unwrap();
    let page_size = tierstore_core::DEFAULT_PAGE_SIZE;
    group.bench_function("raw_memory", |b| {
        b.to_async(&rt).iter(|| raw.list_page(&namespace, None, page_size))
    });
    for backup in [false, true] {
        let (store, primary) = tierstore(backup);
        seed(&rt, &*primary);
        let id = BenchmarkId::new("tierstore", if backup { "primary+backup" } else { "primary" });
        group.bench_function(id, |b| {
            b.to_async(&rt).iter(|| PaginatedKVStore::list_paginated(&store, "monitors", "", None))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_write, bench_read, bench_list_page);
criterion_main!(benches);
