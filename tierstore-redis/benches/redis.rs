//! Redis backend write throughput against the fixture's server (durable: `appendonly yes`,
//! `appendfsync always`; or `TIERSTORE_REDIS_URL`), compared with `redis-benchmark` on the
//! same server.
//!
//! - `redis_write/redis_benchmark_c<N>`: the real `redis-benchmark` (package `redis-tools`)
//!   running `SET` of 4 KiB values over N = 1, 2, 4, 8, 16, 32 connections, no pipelining,
//!   random keys: what the server itself can do.
//! - `redis_write/tierstore_c<N>`: `RedisBackend::write` of 4 KiB values to distinct new
//!   keys, N in flight (each one `EVALSHA` that sets the value and indexes the key), compared
//!   with the matching `redis-benchmark` record.
//! - `redis_list/first_page_<n>`: the first page (50 keys) of a namespace of n = 100 ...
//!   100,000 keys (a sorted set per namespace).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use redis::ConnectionAddr;
use tierstore_core::{Backend, Bytes, Key};
use tierstore_redis::RedisBackend;
use tierstore_testkit::bench::{Group, Load, Record, save_or_warn};
use tierstore_testkit::servers::process::find_program;
use tierstore_testkit::servers::redis as fixture;
use tokio::runtime::Runtime;

const GROUP: &str = "redis_write";
const VALUE_SIZE: usize = 4096;
/// Requests per `redis-benchmark` run.
const BASELINE_REQUESTS: usize = 20_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

/// Host and port of a `redis://` URL.
fn host_port(url: &str) -> (String, u16) {
    let client = redis::Client::open(url).expect("a valid Redis URL");
    match client.get_connection_info().addr() {
        ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
        other => panic!("redis-benchmark needs a plain TCP server, not {other}"),
    }
}

/// Runs `redis-benchmark` (SET of 4 KiB values, `clients` connections) and files its figures.
fn redis_benchmark(host: &str, port: u16, clients: usize) -> Record {
    let program = find_program(
        "redis-benchmark",
        "TIERSTORE_REDIS_BENCHMARK",
        &[PathBuf::from("/usr/bin/redis-benchmark")],
    )
    .unwrap_or_else(|e| panic!("{e} (Debian package `redis-tools`)"));
    let args = [
        "-h".to_owned(),
        host.to_owned(),
        "-p".to_owned(),
        port.to_string(),
        "-t".to_owned(),
        "set".to_owned(),
        "-d".to_owned(),
        VALUE_SIZE.to_string(),
        "-c".to_owned(),
        clients.to_string(),
        "-n".to_owned(),
        BASELINE_REQUESTS.to_string(),
        "-P".to_owned(),
        "1".to_owned(),
        "-r".to_owned(),
        "10000000".to_owned(),
        "--csv".to_owned(),
    ];
    let output = Command::new(&program)
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "redis-benchmark failed ({}): {stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let figures = parse_csv(&stdout).unwrap_or_else(|| panic!("unexpected output: {stdout}"));
    let record = Record {
        group: GROUP.to_owned(),
        id: format!("redis_benchmark_c{clients}"),
        concurrency: clients,
        ops_per_sec: figures.rps,
        p50_us: figures.p50_us,
        p99_us: figures.p99_us,
        baseline: None,
        note: format!(
            "redis-benchmark -t set -d {VALUE_SIZE} -c {clients} -P 1 -r: 4 KiB SETs over \
             {clients} connection(s), {BASELINE_REQUESTS} requests"
        ),
    };
    eprintln!(
        "{GROUP}/{}: {:.0} ops/s, p50 {} us, p99 {} us",
        record.id, record.ops_per_sec, record.p50_us, record.p99_us
    );
    save_or_warn(&record);
    record
}

struct Figures {
    rps: f64,
    p50_us: u64,
    p99_us: u64,
}

/// Reads the `SET` row of `redis-benchmark --csv`, by its header
/// (`"test","rps","avg_latency_ms",...,"p50_latency_ms",...,"p99_latency_ms",...` in 7.x).
fn parse_csv(csv: &str) -> Option<Figures> {
    let fields = |line: &str| -> Vec<String> {
        line.split(',').map(|f| f.trim().trim_matches('"').to_owned()).collect()
    };
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header = fields(lines.next()?);
    let row = fields(lines.find(|l| l.starts_with("\"SET"))?);
    let column = |name: &str| -> Option<f64> {
        let i = header.iter().position(|h| h == name)?;
        row.get(i)?.parse().ok()
    };
    let micros = |ms: f64| (ms * 1000.0).round() as u64;
    Some(Figures {
        rps: column("rps")?,
        p50_us: micros(column("p50_latency_ms")?),
        p99_us: micros(column("p99_latency_ms")?),
    })
}

fn bench_write(c: &mut Criterion) {
    let rt = runtime();
    let url = fixture::shared_url();
    let (host, port) = host_port(&url);
    let backend = rt
        .block_on(RedisBackend::connect(&url, &fixture::unique_prefix("bench_write")))
        .expect("connects");
    let value = Bytes::from(vec![7u8; VALUE_SIZE]);

    let mut group = Group::new(c, GROUP);
    group.brief(Duration::from_secs(3));
    for concurrency in [1, 2, 4, 8, 16, 32] {
        redis_benchmark(&host, port, concurrency);
        let load = Load::new(format!("tierstore_c{concurrency}"), concurrency)
            .baseline(format!("{GROUP}/redis_benchmark_c{concurrency}"))
            .note(format!(
                "RedisBackend::write of 4 KiB to distinct new keys, {concurrency} in flight over \
                 the backend's connections: one EVALSHA (SET + ZSCORE + INCR + ZADD + SADD)"
            ));
        let record = group.concurrent(&rt, load, |i| {
            let key = Key::new("monitors", "", &format!("c{concurrency}_k{i}")).expect("valid");
            let backend = &backend;
            let value = value.clone();
            async move { backend.write(&key, value).await.expect("write") }
        });
        eprintln!(
            "{GROUP}/{}: {:.0} ops/s, p50 {} us, p99 {} us",
            record.id, record.ops_per_sec, record.p50_us, record.p99_us
        );
    }
    group.finish();
}

fn bench_first_page(c: &mut Criterion) {
    let rt = runtime();
    let url = fixture::shared_url();
    let backend = rt
        .block_on(RedisBackend::connect(&url, &fixture::unique_prefix("bench_list")))
        .expect("connects");
    let mut group = Group::new(c, "redis_list");
    group.brief(Duration::from_secs(2));
    for size in [100, 1_000, 10_000, 100_000] {
        let namespace = tierstore_core::Namespace::new(&format!("n{size}"), "").expect("valid");
        rt.block_on(async {
            use futures::{StreamExt, TryStreamExt};
            futures::stream::iter(0..size)
                .map(|i| {
                    let key = namespace.key(&format!("k{i:06}")).expect("valid key");
                    let backend = &backend;
                    async move { backend.write(&key, Bytes::from_static(b"v")).await }
                })
                .buffer_unordered(64)
                .try_collect::<()>()
                .await
                .expect("populates the namespace");
        });
        let load = Load::new(format!("first_page_{size}"), 1)
            .note(format!("RedisBackend::list_page, first page of 50 of {size} keys"));
        group.concurrent(&rt, load, |_| {
            let (backend, namespace) = (&backend, &namespace);
            async move {
                let page = backend.list_page(namespace, None, 50).await.expect("page");
                assert_eq!(page.keys.len(), 50);
            }
        });
    }
    group.finish();
}

criterion_group!(benches, bench_write, bench_first_page);
criterion_main!(benches);
