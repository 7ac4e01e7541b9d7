//! The encryption layer's cost: encrypted against plain, 4 KiB and 1 MiB values.
//!
//! - `encrypt_envelope/{seal,open}/<size>`: the envelope alone (cipher, AAD, one copy).
//! - `encrypt_memory/{plain,encrypted}_{write,read}/<size>`: the in-memory backend, so the
//!   difference is the layer itself (sealing, opening, copies); throughput in bytes/s.
//! - `encrypt_s3/{plain,encrypted}_write/<size>`: writes to the S3 test server (SeaweedFS from
//!   `cargo xtask services`, or `TIERSTORE_S3_ENDPOINT`): what an operator pays per backup
//!   write. Goal: under 5 % added latency; at least 1 GiB/s sealing 1 MiB values.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tierstore_core::{Backend, Bytes, Key, MemoryBackend};
use tierstore_encrypt::{Encrypted, Keyring, RootKey, envelope};
use tierstore_s3::S3Backend;
use tierstore_testkit::servers::s3;
use tokio::runtime::Runtime;

const SIZES: [usize; 2] = [4 * 1024, 1024 * 1024];

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

fn keys() -> Keyring {
    Keyring::new(RootKey::from_bytes([3; 32]))
}

fn label(size: usize) -> String {
    if size >= 1024 * 1024 { format!("{}MiB", size >> 20) } else { format!("{}KiB", size >> 10) }
}

fn bench_memory(c: &mut Criterion) {
    let rt = runtime();
    let plain = MemoryBackend::new();
    let encrypted =
        rt.block_on(Encrypted::builder(MemoryBackend::new(), keys()).open()).expect("opens");
    let key = Key::new("monitors", "", "bench").expect("valid");
    let mut group = c.benchmark_group("encrypt_memory");
    for size in SIZES {
        let value = Bytes::from(vec![0x5au8; size]);
        group.throughput(Throughput::Bytes(size as u64));
        let id = |name: &str| BenchmarkId::new(name, label(size));
        group.bench_function(id("plain_write"), |b| {
            b.to_async(&rt).iter(|| plain.write(&key, value.clone()))
        });
        group.bench_function(id("encrypted_write"), |b| {
            b.to_async(&rt).iter(|| encrypted.write(&key, value.clone()))
        });
        rt.block_on(plain.write(&key, value.clone())).unwrap();
        rt.block_on(encrypted.write(&key, value.clone())).unwrap();
        group.bench_function(id("plain_read"), |b| b.to_async(&rt).iter(|| plain.read(&key)));
        group.bench_function(id("encrypted_read"), |b| {
            b.to_async(&rt).iter(|| encrypted.read(&key))
        });
    }
    group.finish();
}

/// Sealing and opening alone, without a backend or async runtime: the cipher's throughput.
fn bench_envelope(c: &mut Criterion) {
    let root = RootKey::from_bytes([3; 32]);
    let keyring = keys();
    let key = Key::new("monitors", "", "bench").expect("valid");
    let mut group = c.benchmark_group("encrypt_envelope");
    for size in SIZES {
        let value = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("seal", label(size)), |b| {
            b.iter(|| envelope::seal_with_nonce(&root, [1; 24], &[2; 16], &key, 7, &value))
        });
        let sealed = envelope::seal_with_nonce(&root, [1; 24], &[2; 16], &key, 7, &value);
        group.bench_function(BenchmarkId::new("open", label(size)), |b| {
            b.iter(|| envelope::open_with(&keyring, &[2; 16], &key, sealed.clone()).expect("opens"))
        });
    }
    group.finish();
}

fn s3_backend(env: &s3::S3Env, prefix: &str) -> S3Backend {
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

fn bench_s3(c: &mut Criterion) {
    let rt = runtime();
    let env = s3::shared();
    let plain = s3_backend(&env, &s3::unique_prefix("bench-plain"));
    let encrypted = rt
        .block_on(
            Encrypted::builder(s3_backend(&env, &s3::unique_prefix("bench-enc")), keys()).open(),
        )
        .expect("opens");
    let key = Key::new("monitors", "", "bench").expect("valid");
    let mut group = c.benchmark_group("encrypt_s3");
    group.sample_size(30).measurement_time(Duration::from_secs(8));
    for size in SIZES {
        let value = Bytes::from(vec![0x5au8; size]);
        group.throughput(Throughput::Bytes(size as u64));
        let id = |name: &str| BenchmarkId::new(name, label(size));
        group.bench_function(id("plain_write"), |b| {
            b.to_async(&rt).iter(|| plain.write(&key, value.clone()))
        });
        group.bench_function(id("encrypted_write"), |b| {
            b.to_async(&rt).iter(|| encrypted.write(&key, value.clone()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_envelope, bench_memory, bench_s3);
criterion_main!(benches);
