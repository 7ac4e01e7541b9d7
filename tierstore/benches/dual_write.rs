//! What a second durable copy costs: a TierStore writing to a primary and a backup against
//! each tier written alone, measured in alternating rounds.
//!
//! For N = 1 and 16 writes in flight, 4 KiB values to distinct new keys:
//!
//! - `dual_write/sqlite_c<N>`, `fs_c<N>`: the bare backend, called directly.
//! - `dual_write/two_sqlite_joined_c<N>`, `sqlite_fs_joined_c<N>`: two bare backends written
//!   at once by hand (`join` of the two writes): what a dual write costs the disk, without
//!   TierStore. With one write in flight its p50 is that of the slower of two concurrent
//!   writes, which is above the p50 of one tier alone whenever latency varies.
//! - `dual_write/disk_fsync_c1`, `disk_fsync_pair_c1`: the disk alone: 4 KiB written and
//!   `fdatasync`ed in one file, and in two files at once (each on its own blocking thread):
//!   what one disk charges for two flushes instead of one, the floor of any dual write to it.
//! - `dual_write/sqlite+sqlite_backup_c<N>`, `sqlite+fs_backup_c<N>`: a TierStore with a
//!   SQLite primary and a SQLite or filesystem backup, through LDK's async `KVStore`, against
//!   the slower tier alone (the filesystem, two fsyncs a write, for the second).
//!
//! The loads run in turns of half a second, eight rounds after a warm-up, so that a change of
//! the machine's load during the run (other processes' I/O) weighs on all of them alike.
//! Every store is fresh (its own file or directory).
//!
//! `cargo bench -p tierstore --bench dual_write`

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::FutureExt;
use lightning::util::persist::KVStore;
use tierstore::{Backend, Bytes, Key, TierStore};
use tierstore_testkit::bench::{Load, Op, SyncedWrites, interleaved};
use tokio::runtime::Runtime;

const GROUP: &str = "dual_write";
const VALUE_SIZE: usize = 4096;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

/// A fresh backend of `kind` (`sqlite` or `fs`) named `name` under `dir`.
async fn backend(dir: &tempfile::TempDir, kind: &str, name: &str) -> Arc<dyn Backend> {
    let path = dir.path().join(name);
    let url = match kind {
        "sqlite" => format!("sqlite:{}.db", path.display()),
        _ => format!("file:{}", path.display()),
    };
    tierstore::open(&url).await.expect("backend opens")
}

fn key(i: u64) -> Key {
    Key::new("monitors", "", &format!("k{i}")).expect("valid key")
}

/// Writes through one bare backend.
fn alone(backend: Arc<dyn Backend>, value: Bytes) -> Op<'static> {
    Box::new(move |i| {
        let (backend, value) = (Arc::clone(&backend), value.clone());
        async move { backend.write(&key(i), value).await.expect("write") }.boxed()
    })
}

/// Writes 4 KiB and `fdatasync`s, in each of `probes` at once, on blocking threads.
fn synced(probes: Vec<Arc<SyncedWrites>>) -> Op<'static> {
    Box::new(move |_| {
        let writes: Vec<_> = probes
            .iter()
            .map(|probe| {
                let probe = Arc::clone(probe);
                tokio::task::spawn_blocking(move || probe.write())
            })
            .collect();
        async move {
            for written in futures::future::join_all(writes).await {
                written.expect("probe task").expect("probe writes");
            }
        }
        .boxed()
    })
}

/// Writes to two bare backends at once.
fn joined(a: Arc<dyn Backend>, b: Arc<dyn Backend>, value: Bytes) -> Op<'static> {
    Box::new(move |i| {
        let (a, b, value) = (Arc::clone(&a), Arc::clone(&b), value.clone());
        async move {
            let key = key(i);
            let (x, y) = futures::join!(a.write(&key, value.clone()), b.write(&key, value));
            x.and(y).expect("write");
        }
        .boxed()
    })
}

/// Writes through a TierStore's LDK `KVStore`.
fn tiered(store: TierStore, value: Bytes) -> Op<'static> {
    Box::new(move |i| {
        let (store, value) = (store.clone(), value.to_vec());
        async move {
            let name = format!("k{i}");
            KVStore::write(&store, "monitors", "", &name, value).await.expect("write");
        }
        .boxed()
    })
}

fn bench_dual_write(_: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temporary directory");
    let value = Bytes::from(vec![0x5a; VALUE_SIZE]);
    for c in [1, 16] {
        let open =
            |kind: &str, name: &str| rt.block_on(backend(&dir, kind, &format!("{name}-{c}")));
        let store = |backup: &str| {
            let builder = TierStore::builder(open("sqlite", &format!("p-{backup}")));
            builder.backup(open(backup, &format!("b-{backup}"))).build().expect("configuration")
        };
        let load = |id: &str, note: &str| Load::new(format!("{id}_c{c}"), c).note(note);
        let mut loads: Vec<(Load, Op<'static>)> = vec![
            (load("sqlite", "SQLite backend alone"), alone(open("sqlite", "alone"), value.clone())),
            (load("fs", "filesystem backend alone"), alone(open("fs", "alone"), value.clone())),
            (
                load("two_sqlite_joined", "two SQLite backends written at once by hand (join)")
                    .baseline(format!("{GROUP}/sqlite_c{c}")),
                joined(open("sqlite", "j1"), open("sqlite", "j2"), value.clone()),
            ),
            (
                load("sqlite_fs_joined", "SQLite and filesystem backends written at once by hand")
                    .baseline(format!("{GROUP}/fs_c{c}")),
                joined(open("sqlite", "j3"), open("fs", "j4"), value.clone()),
            ),
            (
                load("sqlite+sqlite_backup", "TierStore, SQLite primary + SQLite backup")
                    .baseline(format!("{GROUP}/sqlite_c{c}")),
                tiered(store("sqlite"), value.clone()),
            ),
            (
                load("sqlite+fs_backup", "TierStore, SQLite primary + filesystem backup")
                    .baseline(format!("{GROUP}/fs_c{c}")),
                tiered(store("fs"), value.clone()),
            ),
        ];
        if c == 1 {
            let probe = |name: &str| {
                let path = dir.path().join(name);
                Arc::new(SyncedWrites::create(path, 4096, 4096).expect("probe file"))
            };
            loads.push((
                load("disk_fsync", "4 KiB written + fdatasync, one file"),
                synced(vec![probe("one")]),
            ));
            loads.push((
                load("disk_fsync_pair", "4 KiB written + fdatasync in two files at once")
                    .baseline(format!("{GROUP}/disk_fsync_c1")),
                synced(vec![probe("a"), probe("b")]),
            ));
        }
        interleaved(&rt, GROUP, 8, Duration::from_millis(500), loads);
    }
}

criterion_group!(benches, bench_dual_write);
criterion_main!(benches);
