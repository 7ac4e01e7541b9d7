//! SQLite write throughput, durable settings (WAL, `synchronous=FULL`), against ldk-node
//! 0.7.1's write path, and the disk's fsync rate.
//!
//! - `sqlite_write/tierstore_c<N>`: [`SqliteBackend`] writes of 4 KiB values to distinct keys
//!   with N = 1, 2, 4, 8, 16, 32 writes in flight (group commit).
//! - `sqlite_write/ldk_node_c<N>`: the baseline, ldk-node 0.7.1's `SqliteStore`
//!   write path replayed through this crate's rusqlite: SQLite's default settings (rollback
//!   journal, `synchronous=FULL`), one connection behind a mutex, one transaction per write,
//!   `INSERT OR REPLACE`, run on tokio's blocking threads. Its baseline is the real crate:
//! - `sqlite_write/ldk_node_real_c<N>`: ldk-node 0.7.1's own `SqliteStore`, timed by the
//!   program `cargo xtask bench` builds from `bench/ldk-node-sqlite` (outside the workspace),
//!   run right before the replica at each N when `TIERSTORE_LDK_NODE_BENCH` names it.
//! - `sqlite_sync/*`: one write in flight against the disk, in alternating rounds: 4 KiB
//!   written + `fdatasync` (`disk_fsync`, the disk's fsync rate); the bytes one SQLite commit
//!   of a 4 KiB value writes to the WAL, measured from SQLite, written + `fdatasync`
//!   (`disk_commit`, the I/O the commit cannot avoid); and [`SqliteBackend`] (`tierstore_c1`).
//! - `sqlite_list/first_page_<n>`: the first page of 50 keys of a namespace of n = 100 ...
//!   100,000 keys (an index range scan).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::FutureExt;
use rusqlite::Connection;
use tierstore_core::{Backend, Bytes, Key};
use tierstore_sqlite::SqliteBackend;
use tierstore_testkit::bench::{Group, Load, Op, SyncedWrites, bench_dir, interleaved};
use tokio::runtime::Runtime;

#[path = "../tests/ldk_node/mod.rs"]
mod ldk_node;

const VALUE_SIZE: usize = 4096;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

fn key(i: u64) -> Key {
    Key::new("bench", "", &format!("k{i}")).expect("valid key")
}

/// ldk-node 0.7.1's `SqliteStore` write path, as released: one connection with SQLite's
/// default settings (rollback journal, `synchronous=FULL`) behind a mutex, one autocommit
/// transaction per write on tokio's blocking threads, after taking the key's version lock.
struct LdkNodeStore {
    conn: Arc<Mutex<Connection>>,
    /// ldk-node's per-key write-version locks (`write_version_locks`).
    versions: Arc<Mutex<HashMap<String, Arc<Mutex<u64>>>>>,
    next_version: AtomicU64,
}

impl LdkNodeStore {
    fn open(path: &std::path::Path) -> LdkNodeStore {
        let conn = ldk_node::open_0_7_1(path);
        LdkNodeStore {
            conn: Arc::new(Mutex::new(conn)),
            versions: Arc::default(),
            next_version: AtomicU64::new(1),
        }
    }

    async fn write(&self, key: Key, value: Bytes) {
        let locking_key = format!("{}#{}#{}", key.primary(), key.secondary(), key.key());
        let version = self.next_version.fetch_add(1, Ordering::Relaxed);
        let lock = Arc::clone(
            self.versions.lock().expect("not poisoned").entry(locking_key.clone()).or_default(),
        );
        let (conn, versions) = (Arc::clone(&self.conn), Arc::clone(&self.versions));
        let value = value.to_vec();
        tokio::task::spawn_blocking(move || {
            {
                let mut last = lock.lock().expect("not poisoned");
                if version > *last {
                    let conn = conn.lock().expect("not poisoned");
                    ldk_node::write_0_7_1(&conn, key.primary(), key.secondary(), key.key(), &value);
                    *last = version;
                }
            }
            let mut versions = versions.lock().expect("not poisoned");
            if Arc::strong_count(&lock) == 2 {
                versions.remove(&locking_key);
            }
        })
        .await
        .expect("write task");
    }
}

/// Runs ldk-node 0.7.1's real `SqliteStore` at `concurrency` (the program `cargo xtask bench`
/// builds from `bench/ldk-node-sqlite` and names in `TIERSTORE_LDK_NODE_BENCH`), which files
/// `sqlite_write/ldk_node_real_c<concurrency>`. Skipped when the variable is not set.
fn real_ldk_node(scratch: &std::path::Path, concurrency: usize) {
    let Some(program) = std::env::var_os("TIERSTORE_LDK_NODE_BENCH") else { return };
    let status = std::process::Command::new(&program)
        .arg(bench_dir())
        .arg(scratch)
        .arg("4")
        .arg(concurrency.to_string())
        .status();
    match status {
        Ok(status) if status.success() => {}
        other => panic!("{}: {other:?}", std::path::Path::new(&program).display()),
    }
}

fn sqlite_write(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temporary directory");
    let value = Bytes::from(vec![0x5a; VALUE_SIZE]);

    sqlite_against_the_disk(&rt, dir.path(), &value);

    let mut group = Group::new(c, "sqlite_write");
    group.brief(Duration::from_secs(4));
    for concurrency in [1, 2, 4, 8, 16, 32] {
        real_ldk_node(dir.path(), concurrency);
        let baseline = LdkNodeStore::open(&dir.path().join(format!("ldk-node-{concurrency}.db")));
        group.concurrent(
            &rt,
            Load::new(format!("ldk_node_c{concurrency}"), concurrency)
                .baseline(format!("sqlite_write/ldk_node_real_c{concurrency}"))
                .note("replica of ldk-node 0.7.1's write path: default journal, one transaction per write"),
            |i| baseline.write(key(i), value.clone()),
        );
        let path = dir.path().join(format!("tierstore-{concurrency}.db"));
        let store = rt.block_on(SqliteBackend::open(path)).expect("opens");
        group.concurrent(
            &rt,
            Load::new(format!("tierstore_c{concurrency}"), concurrency)
                .baseline(format!("sqlite_write/ldk_node_c{concurrency}"))
                .note("SqliteBackend, WAL + synchronous=FULL, group commit"),
            |i| {
                let store = &store;
                let value = value.clone();
                async move { store.write(&key(i), value).await.expect("writes") }
            },
        );
    }
    group.finish();
}

/// The WAL bytes one commit of a 4 KiB value to a distinct key writes, measured on a
/// [`SqliteBackend`] holding 2,000 such keys: the WAL is emptied (`wal_checkpoint(TRUNCATE)`),
/// 100 more keys are written one at a time, and the WAL's length is divided among them. Every
/// commit writes whole frames (a 24-byte header and a page): the table leaf, the value's
/// overflow page, both indexes' leaves, page 1 (the database grew), and an interior page when
/// a leaf splits. Returns the bytes per commit and the size of one frame.
fn commit_bytes(rt: &Runtime, dir: &std::path::Path, value: &Bytes) -> (usize, usize) {
    const WARM: u64 = 2_000;
    const MEASURED: u64 = 100;
    let path = dir.join("commit-bytes.db");
    let store = rt.block_on(SqliteBackend::open(&path)).expect("opens");
    let write = |i: u64| rt.block_on(store.write(&key(i), value.clone())).expect("writes");
    (0..WARM).for_each(write);
    let conn = Connection::open(&path).expect("opens");
    let page: i64 =
        conn.pragma_query_value(None, "page_size", |row| row.get(0)).expect("page size");
    let page = u64::try_from(page).expect("a positive page size");
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
        .expect("checkpoints");
    assert_eq!(busy, 0, "the WAL could not be emptied");
    (WARM..WARM + MEASURED).for_each(write);
    let wal = std::fs::metadata(dir.join("commit-bytes.db-wal")).expect("WAL").len();
    // SQLite checkpoints at 1,000 frames and then reuses the WAL from its start: the length
    // would no longer count the frames.
    let frame = page + 24;
    let frames = (wal - 32) / frame;
    assert!(
        (MEASURED..1_000).contains(&frames),
        "{frames} frames for {MEASURED} commits: not a WAL written from empty"
    );
    let fits = |n: u64| usize::try_from(n).expect("fits");
    (fits((wal - 32) / MEASURED), fits(frame))
}

/// A plain connection to a database [`SqliteBackend`] created, with its settings (WAL, which
/// the file keeps, and `synchronous=FULL`, which each connection sets): SQLite's own cost of a
/// commit, without the backend's writer thread.
fn bare_sqlite(rt: &Runtime, path: &std::path::Path) -> Connection {
    drop(rt.block_on(SqliteBackend::open(path)).expect("creates the schema"));
    let conn = Connection::open(path).expect("opens");
    conn.pragma_update(None, "synchronous", "FULL").expect("synchronous");
    conn
}

/// Writes key `k<i>` through `conn` in its own `BEGIN IMMEDIATE` transaction. Blocking.
fn bare_write(conn: &Mutex<Connection>, i: u64, value: &[u8]) {
    let mut conn = conn.lock().expect("not poisoned");
    let tx =
        conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).expect("begins");
    tx.prepare_cached(
        "INSERT INTO ldk_data (primary_namespace, secondary_namespace, key, value, sort_order)
         VALUES ('bench', '', ?1, ?2, ?3)",
    )
    .and_then(|mut insert| insert.execute(rusqlite::params![format!("k{i}"), value, i as i64]))
    .expect("inserts");
    tx.commit().expect("commits");
}

/// One write in flight against the disk, in alternating rounds so that the shared disk's
/// drifting load weighs on each alike: the disk's fsync rate (4 KiB), the same disk writing
/// exactly the bytes of one SQLite commit, SQLite driven by hand, and [`SqliteBackend`].
fn sqlite_against_the_disk(rt: &Runtime, dir: &std::path::Path, value: &Bytes) {
    let (bytes, frame) = commit_bytes(rt, dir, value);
    let fsync = SyncedWrites::create(dir.join("fsync-probe"), 4096, 4096).expect("probe file");
    // A region as large as the WAL at SQLite's checkpoint (1,000 frames).
    let commit =
        SyncedWrites::create(dir.join("commit-probe"), bytes, 1_000 * frame).expect("probe file");
    let store = rt.block_on(SqliteBackend::open(dir.join("sync.db"))).expect("opens");
    let bare = Mutex::new(bare_sqlite(rt, &dir.join("bare.db")));
    fn probe(probe: &SyncedWrites) -> Op<'_> {
        Box::new(move |_| {
            async move { tokio::task::block_in_place(|| probe.write()).expect("probe writes") }
                .boxed()
        })
    }
    let loads: Vec<(Load, Op<'_>)> = vec![
        (
            Load::new("disk_fsync", 1)
                .note("4 KiB written + fdatasync of one file: the disk's fsync rate"),
            probe(&fsync),
        ),
        (
            Load::new("disk_commit", 1).note(format!(
                "{bytes} bytes (the WAL frames one SQLite commit of a 4 KiB value writes, \
                 measured) written + fdatasync: the commit's unavoidable I/O"
            )),
            probe(&commit),
        ),
        (
            Load::new("bare_sqlite", 1)
                .baseline("sqlite_sync/disk_commit")
                .note("rusqlite on the calling thread, same schema and settings: BEGIN IMMEDIATE, a cached INSERT, COMMIT"),
            Box::new(|i| {
                let (bare, value) = (&bare, value.clone());
                async move { tokio::task::block_in_place(|| bare_write(bare, i, &value)) }.boxed()
            }),
        ),
        (
            Load::new("tierstore_c1", 1)
                .baseline("sqlite_sync/bare_sqlite")
                .note("SqliteBackend, 4 KiB values to distinct keys, WAL + synchronous=FULL"),
            Box::new(|i| {
                let (store, value) = (&store, value.clone());
                async move { store.write(&key(i), value).await.expect("writes") }.boxed()
            }),
        ),
    ];
    interleaved(rt, "sqlite_sync", 8, Duration::from_millis(500), loads);
}

/// First page (50 keys) of a namespace of 100 ... 100,000 keys, seeded with raw inserts.
fn sqlite_list(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("list.db");
    let store = rt.block_on(SqliteBackend::open(&path)).expect("opens");
    let mut group = Group::new(c, "sqlite_list");
    group.brief(Duration::from_secs(2));
    for size in [100_i64, 1_000, 10_000, 100_000] {
        let namespace = format!("n{size}");
        let mut conn = Connection::open(&path).expect("opens");
        let tx = conn.transaction().expect("transaction");
        for i in 0..size {
            tx.execute(
                "INSERT INTO ldk_data (primary_namespace, secondary_namespace, key, value, sort_order)
                 VALUES (?1, '', ?2, x'00', ?3)",
                rusqlite::params![namespace, format!("k{i:06}"), i + 1],
            )
            .expect("seeds");
        }
        tx.commit().expect("commits");
        let namespace = tierstore_core::Namespace::new(&namespace, "").expect("valid namespace");
        let load = Load::new(format!("first_page_{size}"), 1)
            .note(format!("SqliteBackend::list_page, first page of 50 of {size} keys"));
        group.concurrent(&rt, load, |_| {
            let (store, namespace) = (&store, &namespace);
            async move {
                let page = store.list_page(namespace, None, 50).await.expect("page");
                assert_eq!(page.keys.len(), 50);
            }
        });
    }
    group.finish();
}

criterion_group!(benches, sqlite_write, sqlite_list);
criterion_main!(benches);
