//! SQLite write throughput, durable settings (WAL, `synchronous=FULL`), against ldk-node's
//! write path on the same schema and settings, and the disk's fsync rate.
//!
//! - `sqlite_write/tierstore_c1`, `tierstore_c16`: [`SqliteBackend`] writes of 4 KiB values
//!   to distinct keys with 1 and 16 writes in flight (group commit).
//! - `sqlite_write/ldk_node_c1`, `ldk_node_c16`: the baseline, ldk-node's `SqliteStore` write
//!   path: one connection behind a mutex, one transaction (one fsync) per write, run on
//!   tokio's blocking threads, same table, index and upsert.
//! - `disk/fsync`: 4 KiB write + fdatasync of one file, the physical reference.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rusqlite::Connection;
use tierstore_core::{Backend, Bytes, Key};
use tierstore_sqlite::SqliteBackend;
use tierstore_testkit::bench::{Group, Load, fsync_rate, save_or_warn};
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

/// ldk-node's `SqliteStore`: one connection guarded by a mutex, autocommit (one transaction
/// per write).
struct LdkNodeStore {
    conn: Arc<Mutex<Connection>>,
}

impl LdkNodeStore {
    fn open(path: &std::path::Path) -> LdkNodeStore {
        let conn = Connection::open(path).expect("opens");
        conn.pragma_update(None, "journal_mode", "WAL").expect("WAL");
        conn.pragma_update(None, "synchronous", "FULL").expect("synchronous");
        ldk_node::create_v3(&conn);
        LdkNodeStore { conn: Arc::new(Mutex::new(conn)) }
    }

    async fn write(&self, key: Key, value: Bytes) {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().expect("not poisoned");
            ldk_node::write(&conn, key.primary(), key.secondary(), key.key(), &value);
        })
        .await
        .expect("write task");
    }
}

fn sqlite_write(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temporary directory");
    let value = Bytes::from(vec![0x5a; VALUE_SIZE]);

    match fsync_rate(dir.path(), 200) {
        Ok(record) => save_or_warn(&record),
        Err(e) => eprintln!("fsync probe failed: {e}"),
    }

    let mut group = Group::new(c, "sqlite_write");
    group.brief(Duration::from_secs(4));
    for concurrency in [1, 16] {
        let baseline = LdkNodeStore::open(&dir.path().join(format!("ldk-node-{concurrency}.db")));
        group.concurrent(
            &rt,
            Load::new(format!("ldk_node_c{concurrency}"), concurrency)
                .note("ldk-node write path: mutex-guarded connection, one transaction per write"),
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

criterion_group!(benches, sqlite_write);
criterion_main!(benches);
