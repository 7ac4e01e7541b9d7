//! S3 backend benchmarks against the fixture's S3 server (SeaweedFS, or
//! `TIERSTORE_S3_ENDPOINT`), each compared with the raw object_store request it is built on.
//!
//! - `s3/write_c<N>`, `s3/read_c1`, `s3/first_page_c1`: creating (N = 1, 2, 4, 8, 16, 32 in
//!   flight), reading (4 KiB values) and fetching the first page of 50 keys of a 100-key
//!   namespace, one at a time; baselines `s3/raw_put_c<N>`, `s3/raw_get_c1`, `s3/raw_list_c1`
//!   (a put, get, and a 50-object listing of the same sizes on the same server).
//! - `s3_pagination/first_page_100` and `first_page_100000`: the first page of 100 keys of a
//!   namespace of 100 and of 100,000 keys; the second's baseline is the first, so the ratio
//!   shows whether a page costs O(page).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use tierstore_core::{Backend, Bytes, Key, Namespace};
use tierstore_s3::S3Backend;
use tierstore_testkit::bench::{Group, Load};
use tierstore_testkit::servers::s3::{self, S3Env};
use tokio::runtime::Runtime;

const VALUE_SIZE: usize = 4096;
const SMALL_NAMESPACE: usize = 100;
const SMALL_PAGE: usize = 50;
const PAGE: usize = 100;
const LARGE_NAMESPACE: usize = 100_000;
const POPULATE_CONCURRENCY: usize = 64;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

fn backend(env: &S3Env, prefix: &str) -> S3Backend {
    S3Backend::builder()
        .bucket(&env.bucket)
        .prefix(prefix)
        .endpoint(&env.endpoint)
        .region(&env.region)
        .credentials(&env.access_key_id, &env.secret_access_key)
        .allow_http(true)
        .build()
        .expect("S3 backend")
}

fn raw_store(env: &S3Env) -> Arc<dyn ObjectStore> {
    Arc::new(
        AmazonS3Builder::new()
            .with_bucket_name(&env.bucket)
            .with_endpoint(&env.endpoint)
            .with_region(&env.region)
            .with_access_key_id(&env.access_key_id)
            .with_secret_access_key(&env.secret_access_key)
            .with_allow_http(true)
            .build()
            .expect("raw S3 store"),
    )
}

/// Creates `count` keys named `k<i>` in `namespace`, `concurrency` at a time.
async fn populate(backend: &S3Backend, namespace: &Namespace, count: usize, concurrency: usize) {
    let value = Bytes::from(vec![1u8; VALUE_SIZE]);
    futures::stream::iter(0..count)
        .map(|i| {
            let key = namespace.key(&format!("k{i:06}")).expect("valid key");
            let value = value.clone();
            async move { backend.write(&key, value).await }
        })
        .buffer_unordered(concurrency)
        .try_collect::<()>()
        .await
        .expect("populating the namespace");
}

fn bench_s3(c: &mut Criterion) {
    let rt = runtime();
    let env = s3::shared();
    let raw = raw_store(&env);
    let raw_prefix = s3::unique_prefix("bench_raw");
    let backend = backend(&env, &s3::unique_prefix("bench_s3"));
    let value = Bytes::from(vec![7u8; VALUE_SIZE]);
    let namespace = Namespace::new("monitors", "").expect("valid namespace");

    // Fixtures: one value to read, and 100 objects / keys to list.
    let read_key = Key::new("", "", "manager").expect("valid key");
    let raw_read = Path::from(format!("{raw_prefix}/read"));
    let raw_list_dir = Path::from(format!("{raw_prefix}/list"));
    rt.block_on(async {
        backend.write(&read_key, value.clone()).await.expect("seed read key");
        raw.put(&raw_read, PutPayload::from_bytes(value.clone())).await.expect("seed raw get");
        for i in 0..SMALL_NAMESPACE {
            let path = raw_list_dir.clone().join(format!("o{i:06}"));
            raw.put(&path, PutPayload::from_bytes(Bytes::new())).await.expect("seed raw list");
        }
        populate(&backend, &namespace, SMALL_NAMESPACE, 16).await;
    });

    let mut group = Group::new(c, "s3");
    group.brief(Duration::from_secs(3));
    for c in [1, 2, 4, 8, 16, 32] {
        group.concurrent(
            &rt,
            Load::new(format!("raw_put_c{c}"), c).note("object_store put of a 4 KiB object"),
            |i| {
                let raw = Arc::clone(&raw);
                let path = Path::from(format!("{raw_prefix}/put/c{c}/o{i}"));
                let value = value.clone();
                async move {
                    raw.put(&path, PutPayload::from_bytes(value)).await.expect("raw put");
                }
            },
        );
        group.concurrent(
            &rt,
            Load::new(format!("write_c{c}"), c)
                .baseline(format!("s3/raw_put_c{c}"))
                .note("creation of a 4 KiB key: conditional put of the value + index entry"),
            |i| {
                let key = Key::new("payments", "", &format!("c{c}p{i}")).expect("valid key");
                let backend = &backend;
                let value = value.clone();
                async move { backend.write(&key, value).await.expect("write") }
            },
        );
    }
    group.concurrent(&rt, Load::new("raw_get_c1", 1).note("object_store get of 4 KiB"), |_| {
        let raw = Arc::clone(&raw);
        let path = raw_read.clone();
        async move {
            raw.get(&path).await.expect("raw get").bytes().await.expect("raw body");
        }
    });
    group.concurrent(
        &rt,
        Load::new("read_c1", 1).baseline("s3/raw_get_c1").note("read of a 4 KiB key"),
        |_| {
            let backend = &backend;
            let key = &read_key;
            async move {
                backend.read(key).await.expect("read");
            }
        },
    );
    group.concurrent(
        &rt,
        Load::new("raw_list_c1", 1).note("object_store listing of the first 50 of 100 objects"),
        |_| {
            let raw = Arc::clone(&raw);
            let dir = raw_list_dir.clone();
            async move {
                let listed: Vec<_> =
                    raw.list(Some(&dir)).take(SMALL_PAGE).try_collect().await.expect("raw list");
                assert_eq!(listed.len(), SMALL_PAGE);
            }
        },
    );
    group.concurrent(
        &rt,
        Load::new("first_page_c1", 1)
            .baseline("s3/raw_list_c1")
            .note("first page of 50 keys of a 100-key namespace"),
        |_| {
            let backend = &backend;
            let namespace = &namespace;
            async move {
                let page = backend.list_page(namespace, None, SMALL_PAGE).await.expect("page");
                assert_eq!(page.keys.len(), SMALL_PAGE);
            }
        },
    );
    group.finish();
}

fn bench_pagination(c: &mut Criterion) {
    let rt = runtime();
    let env = s3::shared();
    let small = backend(&env, &s3::unique_prefix("bench_page_small"));
    let large = backend(&env, &s3::unique_prefix("bench_page_large"));
    let namespace = Namespace::new("monitor_updates", "chan").expect("valid namespace");
    rt.block_on(async {
        populate(&small, &namespace, SMALL_NAMESPACE, 16).await;
        let start = Instant::now();
        populate(&large, &namespace, LARGE_NAMESPACE, POPULATE_CONCURRENCY).await;
        eprintln!(
            "s3_pagination: created {LARGE_NAMESPACE} keys (value + index entry each) in {:.1?}",
            start.elapsed()
        );
    });

    let mut group = Group::new(c, "s3_pagination");
    group.brief(Duration::from_secs(3));
    for (id, backend, keys) in [
        ("first_page_100", &small, SMALL_NAMESPACE),
        ("first_page_100000", &large, LARGE_NAMESPACE),
    ] {
        let mut load = Load::new(id, 1).note(format!("first page of {PAGE} keys of {keys}"));
        if keys != SMALL_NAMESPACE {
            load = load.baseline("s3_pagination/first_page_100");
        }
        group.concurrent(&rt, load, |_| {
            let namespace = &namespace;
            async move {
                let page = backend.list_page(namespace, None, PAGE).await.expect("page");
                assert_eq!(page.keys.len(), PAGE);
            }
        });
    }
    group.finish();
}

criterion_group!(benches, bench_s3, bench_pagination);
criterion_main!(benches);
