//! The encryption layer's cost: encrypted against plain, 4 KiB and 1 MiB values.
//!
//! - `encrypt_envelope/{seal,open}/<size>`: the envelope alone (cipher, AAD, one copy).
//! - `encrypt_memory/{plain,encrypted}_{write,read}/<size>`: the in-memory backend, so the
//!   difference is the layer itself (sealing, opening, copies); throughput in bytes/s.
//! - `encrypt_s3/{plain,encrypted}_write/<size>`: writes to the S3 test server (SeaweedFS from
//!   `cargo xtask services`, or `TIERSTORE_S3_ENDPOINT`): what an operator pays per backup
//!   write. Goal: under 5 % added latency; at least 1 GiB/s sealing 1 MiB values. The values
//!   are random bytes: SeaweedFS compresses what compresses well, so a constant plain value
//!   would be stored smaller than its (random-looking) ciphertext and flatter the plain row.
//!
//! For the report (`cargo xtask bench`), records in group `encrypt`: `seal_1MiB` and
//! `open_1MiB` (envelopes per second, GiB/s in `extra`), and `s3_{plain,encrypted}_write_<size>`
//! measured in alternating rounds, the encrypted row against the plain one.

use std::time::{Duration, Instant};

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::FutureExt;
use tierstore_core::{Backend, Bytes, Key, MemoryBackend};
use tierstore_encrypt::{Encrypted, Keyring, RootKey, envelope};
use tierstore_s3::S3Backend;
use tierstore_testkit::bench::{Load, Op, Record, interleaved, value_of};
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
    file_cipher_throughput(&root, &keyring, &key);
}

/// A timed operation: its name, the operation, and the record it is compared with.
type Case<'a> = (&'a str, &'a dyn Fn(), Option<&'a str>);

/// Files `encrypt/seal_1MiB` and `encrypt/open_1MiB`: the median of several timed batches.
fn file_cipher_throughput(root: &RootKey, keyring: &Keyring, key: &Key) {
    const SIZE: usize = 1 << 20;
    const BATCH: u32 = 50;
    let value = vec![0x5au8; SIZE];
    let sealed = envelope::seal_with_nonce(root, [1; 24], &[2; 16], key, 7, &value);
    let seal = || {
        std::hint::black_box(envelope::seal_with_nonce(root, [1; 24], &[2; 16], key, 7, &value));
    };
    let open = || {
        std::hint::black_box(envelope::open_with(keyring, &[2; 16], key, sealed.clone()))
            .expect("opens");
    };
    // The same cipher from RustCrypto alone (in place, no envelope): the crate this layer's
    // output is checked against, for scale.
    let reference = chacha20poly1305::XChaCha20Poly1305::new(&[3; 32].into());
    let buffer = std::cell::RefCell::new(value.clone());
    let rustcrypto = || {
        let mut buffer = buffer.borrow_mut();
        std::hint::black_box(
            reference
                .encrypt_inout_detached(&[1; 24].into(), b"aad", (&mut buffer[..]).into())
                .expect("seals"),
        );
    };
    let cases: [Case<'_>; 3] = [
        ("seal", &seal, Some("encrypt/rustcrypto_seal_1MiB")),
        ("open", &open, None),
        ("rustcrypto_seal", &rustcrypto, None),
    ];
    for (what, op, baseline) in cases {
        let mut per_op: Vec<Duration> = (0..11)
            .map(|_| {
                let start = Instant::now();
                (0..BATCH).for_each(|_| op());
                start.elapsed() / BATCH
            })
            .collect();
        per_op.sort();
        let median = per_op[per_op.len() / 2].as_secs_f64();
        let record = Record {
            group: "encrypt".to_owned(),
            id: format!("{what}_1MiB"),
            concurrency: 1,
            ops_per_sec: 1.0 / median,
            p50_us: (median * 1e6) as u64,
            p99_us: (per_op[per_op.len() - 1].as_secs_f64() * 1e6) as u64,
            baseline: baseline.map(str::to_owned),
            note: match what {
                "rustcrypto_seal" => "RustCrypto chacha20poly1305's XChaCha20-Poly1305 sealing \
                                      1 MiB in place (one core; GiB/s in extra)"
                    .to_owned(),
                _ => format!("{what} one 1 MiB envelope (one core; GiB/s in extra)"),
            },
        };
        let gib_per_s = SIZE as f64 / median / f64::from(1u32 << 30);
        eprintln!("encrypt/{what}_1MiB: {gib_per_s:.2} GiB/s");
        if let Err(e) = record.save_with_extra(&[("gib_per_s", gib_per_s)]) {
            eprintln!("tierstore bench: could not save encrypt/{what}_1MiB: {e}");
        }
    }
}

/// `value` written to `key` of `backend`, once per operation.
fn writes<'a>(backend: &'a dyn Backend, key: &'a Key, value: Bytes) -> Op<'a> {
    Box::new(move |_| {
        let value = value.clone();
        async move { backend.write(key, value).await.expect("write") }.boxed()
    })
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
        let value = Bytes::from(value_of(1, size));
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

    // For the report: plain and encrypted in short alternating rounds, so that the server's
    // drift (its latency moves by tens of percent within seconds) hits both alike.
    for size in SIZES {
        let value = Bytes::from(value_of(1, size));
        let name = |what: &str| format!("s3_{what}_write_{}", label(size));
        let note = format!("one {} write at a time to the S3 test server", label(size));
        interleaved(
            &rt,
            "encrypt",
            40,
            Duration::from_millis(150),
            vec![
                (
                    Load::new(name("plain"), 1).note(note.clone()),
                    writes(&plain, &key, value.clone()),
                ),
                (
                    Load::new(name("encrypted"), 1)
                        .baseline(format!("encrypt/{}", name("plain")))
                        .note(format!("{note}, through the encryption layer")),
                    writes(&encrypted, &key, value.clone()),
                ),
            ],
        );
    }
}

criterion_group!(benches, bench_envelope, bench_memory, bench_s3);
criterion_main!(benches);
