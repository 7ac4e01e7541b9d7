//! TierStore configurations an operator would choose, each against its baseline measured in
//! the same run: the bare backend that fills its primary role.
//!
//! | configuration | baseline |
//! |---|---|
//! | SQLite primary + SQLite backup | the SQLite backend, called directly |
//! | SQLite primary + S3 backup | the SQLite backend, called directly |
//! | SQLite primary + Redis ephemeral (a quarter of the writes are caches) | the SQLite backend |
//! | S3 primary | the S3 backend, called directly |
//!
//! Writes: 4 KiB values, 16 in flight, through LDK's async `KVStore`. Reads: the same keys.
//! Records go to group `configs` as `<config>__write` and `<config>__read`, which the report
//! of `cargo xtask bench` folds into one row per configuration. Redis and S3 come from the
//! testkit's fixtures (the servers `cargo xtask bench` starts).
//!
//! `cargo bench -p tierstore --all-features --bench configs`

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lightning::util::persist::KVStore;
use tierstore::{Backend, Bytes, Key, Routing, TierStore};
use tierstore_testkit::bench::{Group, Load, value_of};
use tierstore_testkit::servers::{redis, s3};
use tokio::runtime::Runtime;

const VALUE_SIZE: usize = 4096;
const CONCURRENCY: usize = 16;
/// Keys cycle over this many channel monitors.
const KEYS: u64 = 256;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

async fn sqlite(dir: &tempfile::TempDir, name: &str) -> Arc<dyn Backend> {
    let url = format!("sqlite:{}", dir.path().join(name).display());
    tierstore::open(&url).await.expect("sqlite opens")
}

async fn redis() -> Arc<dyn Backend> {
    let url = format!("{}?prefix={}", redis::shared_url(), redis::unique_prefix("bench"));
    tierstore::open(&url).await.expect("redis opens")
}

async fn s3() -> Arc<dyn Backend> {
    let env = s3::shared();
    let mut url = url::Url::parse(&format!("s3://{}/", env.bucket)).expect("valid bucket");
    url.set_path(&s3::unique_prefix("bench"));
    url.query_pairs_mut()
        .append_pair("endpoint", &env.endpoint)
        .append_pair("region", &env.region)
        .append_pair("allow_http", "true");
    tierstore::open(url.as_str()).await.expect("s3 opens")
}

fn key(i: u64) -> (&'static str, String) {
    // Every fourth write is a cache entry (routed to the ephemeral store when there is one).
    let namespace = if i % 4 == 3 { "scores" } else { "monitors" };
    (namespace, format!("k{:04}", i % KEYS))
}

/// Measures writes then reads of `store`, filing `<config>__write` / `<config>__read`.
fn measure(
    group: &mut Group<'_>,
    rt: &Runtime,
    config: &str,
    store: &TierStore,
    baseline: &str,
    note: &str,
) {
    let load = |op: &str| {
        Load::new(format!("{config}__{op}"), CONCURRENCY)
            .note(note)
            .baseline(format!("configs/{baseline}__{op}"))
    };
    group.concurrent(rt, load("write"), |i| {
        // New bytes every time: an unchanged value is no write at all for SQLite.
        let value = value_of(i, VALUE_SIZE);
        async move {
            let (namespace, key) = key(i);
            KVStore::write(store, namespace, "", &key, value).await.expect("write");
        }
    });
    group.concurrent(rt, load("read"), |i| async move {
        let (namespace, key) = key(i % KEYS);
        KVStore::read(store, namespace, "", &key).await.expect("read");
    });
}

/// Measures the bare backend, called directly: the baseline `<name>__write` / `<name>__read`.
fn measure_raw(group: &mut Group<'_>, rt: &Runtime, name: &str, backend: &dyn Backend, note: &str) {
    let keys: Vec<Key> = (0..KEYS)
        .map(|i| {
            let (namespace, key) = key(i);
            Key::new(namespace, "", &key).expect("valid key")
        })
        .collect();
    let keys = &keys;
    group.concurrent(rt, Load::new(format!("{name}__write"), CONCURRENCY).note(note), |i| {
        let value = Bytes::from(value_of(i, VALUE_SIZE));
        async move {
            backend.write(&keys[(i % KEYS) as usize], value).await.expect("write");
        }
    });
    group.concurrent(
        rt,
        Load::new(format!("{name}__read"), CONCURRENCY).note(note),
        |i| async move {
            backend.read(&keys[(i % KEYS) as usize]).await.expect("read");
        },
    );
}

fn bench_configs(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut group = Group::new(c, "configs");
    group.criterion().sample_size(10).measurement_time(Duration::from_secs(4));
    let routing = || Routing::ldk_default().with_namespace("scores", "").expect("valid namespace");

    let base = rt.block_on(sqlite(&dir, "base.db"));
    measure_raw(&mut group, &rt, "sqlite", base.as_ref(), "SQLite backend alone (baseline)");

    let store = rt.block_on(async {
        TierStore::builder(sqlite(&dir, "p1.db").await).backup(sqlite(&dir, "b1.db").await).build()
    });
    let store = store.expect("valid configuration");
    measure(
        &mut group,
        &rt,
        "sqlite+sqlite_backup",
        &store,
        "sqlite",
        "SQLite primary, SQLite backup",
    );

    let store = rt.block_on(async {
        TierStore::builder(sqlite(&dir, "p2.db").await).backup(s3().await).build()
    });
    let store = store.expect("valid configuration");
    measure(&mut group, &rt, "sqlite+s3_backup", &store, "sqlite", "SQLite primary, S3 backup");

    let store = rt.block_on(async {
        TierStore::builder(sqlite(&dir, "p3.db").await)
            .ephemeral(redis().await)
            .routing(routing())
            .build()
    });
    let store = store.expect("valid configuration");
    measure(
        &mut group,
        &rt,
        "sqlite+redis_ephemeral",
        &store,
        "sqlite",
        "SQLite primary, Redis ephemeral (1 in 4 writes)",
    );

    let base = rt.block_on(s3());
    measure_raw(&mut group, &rt, "s3", base.as_ref(), "S3 backend alone (baseline)");
    let store = TierStore::builder(rt.block_on(s3())).build().expect("valid configuration");
    measure(&mut group, &rt, "s3_primary", &store, "s3", "S3 primary, no backup");

    group.finish();
}

criterion_group!(benches, bench_configs);
criterion_main!(benches);
