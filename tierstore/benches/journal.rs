//! The journal's cost and the backfill rate (issue 11).
//!
//! Group `journal`:
//!
//! | record | what | baseline |
//! |---|---|---|
//! | `sqlite+sqlite_backup__c1` / `__c16` | SQLite primary + SQLite backup, no journal, 4 KiB writes, 1 / 16 in flight | — |
//! | `sqlite+sqlite_backup+journal__c1` / `__c16` | the same with the journal | the row without |
//! | `hand_journal__c1` / `__c16` | a journal by hand: a 48-byte record written into a preallocated file and `fdatasync`ed on a blocking thread, then both bare SQLite backends written at once | — |
//! | `backfill_sqlite` / `backfill_s3` | `open()` backfilling 10,000 keys of 4 KiB into an empty SQLite / S3 backup (ops/s = keys/s) | — |
//!
//! Goals: with the journal, at least 0.85x the throughput at 16 in flight, and p50 at 1 in
//! flight within the disk's fsync p50 (`disk/fsync`, measured here too) of the row without.
//! The hand-made journal shows what one record and its `fdatasync` cost this disk before two
//! SQLite writes, without TierStore: the journaled row against it is TierStore's own cost.
//!
//! `cargo bench -p tierstore --all-features --bench journal`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use futures::{FutureExt, StreamExt, TryStreamExt};
use lightning::util::persist::KVStore;
use tierstore::s3::S3Backend;
use tierstore::{Backend, Bytes, Key, TierStore};
use tierstore_testkit::bench::{
    Group, Load, Op, Record, fsync_rate, interleaved, save_or_warn, value_of,
};
use tierstore_testkit::servers::s3;
use tokio::runtime::Runtime;

const VALUE_SIZE: usize = 4096;
const KEYS: u64 = 256;
const BACKFILL_KEYS: usize = 10_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

async fn sqlite(path: &std::path::Path) -> Arc<dyn Backend> {
    tierstore::open(&format!("sqlite:{}", path.display())).await.expect("sqlite opens")
}

fn s3_backup() -> Arc<dyn Backend> {
    let env = s3::shared();
    let backend = S3Backend::builder()
        .bucket(&env.bucket)
        .prefix(s3::unique_prefix("bench-backfill"))
        .endpoint(&env.endpoint)
        .region(&env.region)
        .credentials(&env.access_key_id, &env.secret_access_key)
        .allow_http(true)
        .build()
        .expect("s3 backend");
    Arc::new(backend)
}

/// Writes through a TierStore's LDK `KVStore`, over [`KEYS`] keys (updates, like monitors),
/// each with new bytes.
fn writes(store: TierStore) -> Op<'static> {
    Box::new(move |i| {
        let (store, value) = (store.clone(), value_of(i, VALUE_SIZE));
        async move {
            let key = format!("k{:04}", i % KEYS);
            KVStore::write(&store, "monitors", "", &key, value).await.expect("write");
        }
        .boxed()
    })
}

/// A journal by hand: a record written into a preallocated file and `fdatasync`ed on a
/// blocking thread, then both bare backends written at once (as TierStore does, without its
/// group commit, records or routing; concurrent writes each sync, and the kernel merges
/// the flushes it can).
fn hand_journal(
    path: &std::path::Path,
    primary: Arc<dyn Backend>,
    backup: Arc<dyn Backend>,
) -> Op<'static> {
    use std::os::unix::fs::FileExt;
    const SPACE: u64 = 4 << 20;
    const RECORD: u64 = 48;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(path)
        .expect("journal file");
    file.write_all_at(&vec![0; SPACE as usize], 0).expect("preallocate");
    file.sync_all().expect("sync");
    let file = Arc::new(file);
    Box::new(move |i| {
        let (file, primary, backup) =
            (Arc::clone(&file), Arc::clone(&primary), Arc::clone(&backup));
        let value = Bytes::from(value_of(i, VALUE_SIZE));
        async move {
            let at = (i * RECORD) % (SPACE - RECORD);
            tokio::task::spawn_blocking(move || {
                file.write_all_at(&[7; RECORD as usize], at)?;
                file.sync_data()
            })
            .await
            .expect("joins")
            .expect("journal record");
            let key = Key::new("monitors", "", &format!("k{:04}", i % KEYS)).expect("valid");
            let (a, b) =
                futures::join!(primary.write(&key, value.clone()), backup.write(&key, value));
            a.and(b).expect("write");
        }
        .boxed()
    })
}

fn bench_journal(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temporary directory");
    let d = dir.path();
    let mut group = Group::new(c, "journal");
    group.criterion().sample_size(10).measurement_time(Duration::from_secs(4));

    if let Err(e) = fsync_rate(d, 200) {
        eprintln!("fsync probe failed: {e}");
    }
    let plain = rt.block_on(async {
        TierStore::builder(sqlite(&d.join("p1.db")).await)
            .backup(sqlite(&d.join("b1.db")).await)
            .build()
    });
    let plain = plain.expect("valid configuration");
    let journaled = rt.block_on(async {
        TierStore::builder(sqlite(&d.join("p2.db")).await)
            .backup(sqlite(&d.join("b2.db")).await)
            .journal(d.join("p2.db.journal"))
            .open()
            .await
    });
    let journaled = journaled.expect("valid configuration");
    // Both stores in alternating rounds: a drifting machine load hits both alike.
    for c in [1, 16] {
        let note = |what: &str| format!("{what}, 4 KiB writes, {c} in flight");
        let (primary, backup) = rt.block_on(async {
            (
                sqlite(&d.join(format!("p3-{c}.db"))).await,
                sqlite(&d.join(format!("b3-{c}.db"))).await,
            )
        });
        let loads: Vec<(Load, Op<'static>)> = vec![
            (
                Load::new(format!("sqlite+sqlite_backup__c{c}"), c)
                    .note(note("SQLite primary + SQLite backup, no journal")),
                writes(plain.clone()),
            ),
            (
                Load::new(format!("sqlite+sqlite_backup+journal__c{c}"), c)
                    .baseline(format!("journal/sqlite+sqlite_backup__c{c}"))
                    .note(note("the same with the journal")),
                writes(journaled.clone()),
            ),
            (
                Load::new(format!("hand_journal__c{c}"), c).note(note(
                    "by hand: a 48-byte record fdatasynced on a blocking thread (no group \
                     commit), then both bare SQLite backends at once",
                )),
                hand_journal(&d.join(format!("hand-{c}.journal")), primary, backup),
            ),
        ];
        interleaved(&rt, "journal", 8, Duration::from_millis(500), loads);
    }
    if let Some(stats) = journaled.journal_stats() {
        eprintln!(
            "journal: {} records in {} frames and {} fsyncs ({:.1} records per fsync)",
            stats.records,
            stats.frames,
            stats.syncs,
            stats.records as f64 / stats.syncs.max(1) as f64
        );
    }
    drop((plain, journaled));

    // Backfill: a primary with 10,000 keys gains an empty backup.
    let primary_path = d.join("backfill-primary.db");
    rt.block_on(async {
        let store = TierStore::builder(sqlite(&primary_path).await).build().expect("valid");
        futures::stream::iter(0..BACKFILL_KEYS)
            .map(|i| {
                let store = &store;
                async move {
                    let key = format!("p{i:05}");
                    KVStore::write(store, "payments", "", &key, vec![1; VALUE_SIZE]).await
                }
            })
            .buffer_unordered(32)
            .try_collect::<Vec<()>>()
            .await
            .expect("fill the primary");
    });
    group.criterion().sampling_mode(SamplingMode::Flat).sample_size(10);
    for target in ["sqlite", "s3"] {
        let mut round = 0;
        let mut keys_per_sec = Vec::new();
        group.criterion().bench_function(format!("backfill_{target}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    let elapsed = rt.block_on(async {
                        let backup = match target {
                            "sqlite" => sqlite(&d.join(format!("backfill-{round}.db"))).await,
                            _ => s3_backup(),
                        };
                        let primary = sqlite(&primary_path).await;
                        let start = Instant::now();
                        let store = TierStore::builder(primary)
                            .backup(backup)
                            .journal(d.join(format!("backfill-{target}-{round}.journal")))
                            .background_repair(None)
                            .open()
                            .await
                            .expect("backfill");
                        let elapsed = start.elapsed();
                        let copied = store.last_resilver().map_or(0, |r| r.copied);
                        assert_eq!(copied, BACKFILL_KEYS as u64, "every key backfilled");
                        elapsed
                    });
                    keys_per_sec.push(BACKFILL_KEYS as f64 / elapsed.as_secs_f64());
                    total += elapsed;
                }
                total
            })
        });
        if keys_per_sec.is_empty() {
            continue; // filtered out: nothing measured, nothing to file
        }
        keys_per_sec.sort_by(f64::total_cmp);
        let median = keys_per_sec.get(keys_per_sec.len() / 2).copied().unwrap_or(f64::NAN);
        save_or_warn(&Record {
            group: "journal".to_owned(),
            id: format!("backfill_{target}"),
            concurrency: tierstore::repair::DEFAULT_CONCURRENCY,
            ops_per_sec: median,
            p50_us: (1e6 / median) as u64,
            p99_us: (1e6 / keys_per_sec.first().copied().unwrap_or(f64::NAN)) as u64,
            baseline: None,
            note: format!(
                "open() backfilling {BACKFILL_KEYS} keys of 4 KiB into an empty {target} backup: keys/s (median of {} runs)",
                keys_per_sec.len()
            ),
        });
    }
    group.finish();
}

criterion_group!(benches, bench_journal);
criterion_main!(benches);
