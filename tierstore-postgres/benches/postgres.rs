//! PostgreSQL backend benchmarks against the fixture's server (`fsync=on`,
//! `synchronous_commit=on`; or `TIERSTORE_POSTGRES_URL`), each compared with a baseline
//! measured in the same run on the same server.
//!
//! - `postgres_write/ldk_node_c1`, `ldk_node_c16`: the baseline, ldk-node's `PostgresStore`
//!   write path as first merged (`tests/ldk_node/mod.rs`, `CounterStore`): one client behind
//!   a mutex, `sort_order` from an in-process counter, one autocommitted upsert per write
//!   (its SQL, prepared on each call as its `execute(&str)` does), 4 KiB values, distinct
//!   new keys, 1 and 16 writes in flight.
//! - `postgres_write/tierstore_c1`, `tierstore_c16`: `PostgresBackend::write` of the same
//!   values, 1 and 16 in flight over its pool (16 connections, statements prepared once per
//!   connection, `sort_order` from the table's sequence).
//! - `postgres_pagination/first_page_100` and `first_page_100000`: the first page of 100 keys
//!   of a namespace of 100 and of 100,000 keys; `middle_page_100000`: a page resumed from a
//!   token half-way through the large namespace. The baseline of both large-namespace
//!   measurements is the small one, so the ratio shows whether a page costs O(page). The
//!   large namespace is filled with one `INSERT ... SELECT generate_series` (its rows take
//!   `sort_order` from the sequence, as the backend's writes do).

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tierstore_core::{Backend, Bytes, Key, Namespace};
use tierstore_postgres::PostgresBackend;
use tierstore_testkit::bench::{Group, Load};
use tierstore_testkit::servers::postgres as fixture;
use tokio::runtime::Runtime;

#[path = "../tests/ldk_node/mod.rs"]
mod ldk_node;

const VALUE_SIZE: usize = 4096;
const PAGE: usize = 100;
const SMALL_NAMESPACE: usize = 100;
const LARGE_NAMESPACE: usize = 100_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

async fn raw_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("raw connection");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

fn key(i: u64) -> Key {
    Key::new("bench", "", &format!("k{i}")).expect("valid key")
}

fn postgres_write(c: &mut Criterion) {
    let rt = runtime();
    let url = fixture::shared_url();
    let value = Bytes::from(vec![0x5a; VALUE_SIZE]);
    let mut group = Group::new(c, "postgres_write");
    group.brief(Duration::from_secs(4));
    for concurrency in [1, 16] {
        let baseline = rt.block_on(async {
            let table = fixture::unique_table(&format!("bench_ldk_{concurrency}"));
            ldk_node::CounterStore::open(raw_client(&url).await, &table).await
        });
        let record = group.concurrent(
            &rt,
            Load::new(format!("ldk_node_c{concurrency}"), concurrency).note(
                "ldk-node's PostgresStore write path: one client behind a mutex, counter \
                 sort_order, one upsert per write (prepared per call)",
            ),
            |i| {
                let (baseline, value) = (&baseline, value.clone());
                async move { baseline.write(("bench", ""), &format!("k{i}"), &value).await }
            },
        );
        report(&record);
        let table = fixture::unique_table(&format!("bench_ts_{concurrency}"));
        let store = rt.block_on(PostgresBackend::connect(&url, &table)).expect("connects");
        let record = group.concurrent(
            &rt,
            Load::new(format!("tierstore_c{concurrency}"), concurrency)
                .baseline(format!("postgres_write/ldk_node_c{concurrency}"))
                .note("PostgresBackend::write: pool of 16, sequence sort_order, one upsert"),
            |i| {
                let (store, value) = (&store, value.clone());
                async move { store.write(&key(i), value).await.expect("writes") }
            },
        );
        report(&record);
    }
    group.finish();
}

/// Fills `namespace` of `table` with `count` keys `k000000`... in one statement.
async fn fill(client: &tokio_postgres::Client, table: &str, namespace: &str, count: usize) {
    let count = count as i64;
    client
        .execute(
            &format!(
                "INSERT INTO \"{table}\" (primary_namespace, secondary_namespace, key, value)
                 SELECT $1::text, '', 'k' || lpad(i::text, 6, '0'), '\\x01'::bytea
                 FROM generate_series(0::bigint, $2::bigint - 1) AS i"
            ),
            &[&namespace, &count],
        )
        .await
        .expect("fills the namespace");
    client.batch_execute(&format!("ANALYZE \"{table}\"")).await.expect("analyze");
}

fn postgres_pagination(c: &mut Criterion) {
    let rt = runtime();
    let url = fixture::shared_url();
    let table = fixture::unique_table("bench_pages");
    let (store, middle) = rt.block_on(async {
        let store = PostgresBackend::connect(&url, &table).await.expect("connects");
        let client = raw_client(&url).await;
        fill(&client, &table, "small", SMALL_NAMESPACE).await;
        fill(&client, &table, "large", LARGE_NAMESPACE).await;
        // The token of the page that ends half-way through the large namespace.
        let large = Namespace::new("large", "").unwrap();
        let mut token = None;
        for _ in 0..LARGE_NAMESPACE / PAGE / 2 {
            let page = store.list_page(&large, token.as_deref(), PAGE).await.expect("page");
            token = page.next;
        }
        (store, token.expect("the large namespace has a middle"))
    });
    let mut group = Group::new(c, "postgres_pagination");
    group.brief(Duration::from_secs(3));
    for (id, namespace, token, baseline) in [
        ("first_page_100", "small", None, None),
        ("first_page_100000", "large", None, Some("postgres_pagination/first_page_100")),
        (
            "middle_page_100000",
            "large",
            Some(middle.as_str()),
            Some("postgres_pagination/first_page_100"),
        ),
    ] {
        let ns = Namespace::new(namespace, "").unwrap();
        let mut load = Load::new(id, 1).note(format!(
            "list_page of {PAGE} keys, newest first, {} namespace",
            if namespace == "small" { "100-key" } else { "100,000-key" }
        ));
        if let Some(baseline) = baseline {
            load = load.baseline(baseline);
        }
        let record = group.concurrent(&rt, load, |_| {
            let (store, ns) = (&store, &ns);
            async move {
                let page = store.list_page(ns, token, PAGE).await.expect("page");
                assert_eq!(page.keys.len(), PAGE);
            }
        });
        report(&record);
    }
    group.finish();
}

fn report(record: &tierstore_testkit::bench::Record) {
    eprintln!(
        "{}/{}: {:.0} ops/s, p50 {} us, p99 {} us",
        record.group, record.id, record.ops_per_sec, record.p50_us, record.p99_us
    );
}

criterion_group!(benches, postgres_write, postgres_pagination);
criterion_main!(benches);
