//! What a second durable copy costs: a TierStore writing to a primary and a backup against
//! each tier written alone, measured in the same run.
//!
//! - `dual_write/<tier>_c<N>`: the bare backend (`sqlite`, `fs`), called directly.
//! - `dual_write/sqlite+sqlite_backup_c<N>`, `sqlite+fs_backup_c<N>`: a TierStore with a
//!   SQLite primary and a SQLite or filesystem backup, through LDK's async `KVStore`. The
//!   baseline of each is the slower of its two tiers alone (by p50, measured just before):
//!   the design promise is that a durable write costs the slower tier, not the sum.
//!
//! 4 KiB values to distinct new keys, N = 1 and 16 writes in flight. Every store is fresh
//! (its own file or directory) so that no measurement inherits another's data.
//!
//! `cargo bench -p tierstore --bench dual_write`

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lightning::util::persist::KVStore;
use tierstore::{Backend, Bytes, Key, TierStore};
use tierstore_testkit::bench::{Group, Load, Record};
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

fn key(i: u64) -> String {
    format!("k{i}")
}

/// Writes through the bare backend: the record `<kind>_c<concurrency>`.
fn alone(
    group: &mut Group<'_>,
    rt: &Runtime,
    backend: &dyn Backend,
    kind: &str,
    c: usize,
) -> Record {
    let value = Bytes::from(vec![0x5a; VALUE_SIZE]);
    let load = Load::new(format!("{kind}_c{c}"), c).note(format!("{kind} backend alone"));
    group.concurrent(rt, load, |i| {
        let value = value.clone();
        async move {
            let key = Key::new("monitors", "", &key(i)).expect("valid key");
            backend.write(&key, value).await.expect("write");
        }
    })
}

fn bench_dual_write(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut group = Group::new(c, GROUP);
    group.brief(Duration::from_secs(3));
    let value = vec![0x5a; VALUE_SIZE];
    for concurrency in [1, 16] {
        let mut alone_p50 = std::collections::HashMap::new();
        for kind in ["sqlite", "fs"] {
            let store = rt.block_on(backend(&dir, kind, &format!("{kind}-alone-{concurrency}")));
            let record = alone(&mut group, &rt, store.as_ref(), kind, concurrency);
            alone_p50.insert(kind, record.p50_us);
        }
        for backup in ["sqlite", "fs"] {
            let store = rt.block_on(async {
                let primary = backend(&dir, "sqlite", &format!("p-{backup}-{concurrency}")).await;
                let backup_store =
                    backend(&dir, backup, &format!("b-{backup}-{concurrency}")).await;
                TierStore::builder(primary).backup(backup_store).build()
            });
            let store = store.expect("valid configuration");
            let slower = if alone_p50["sqlite"] >= alone_p50[backup] { "sqlite" } else { backup };
            let load = Load::new(format!("sqlite+{backup}_backup_c{concurrency}"), concurrency)
                .baseline(format!("{GROUP}/{slower}_c{concurrency}"))
                .note(format!(
                    "TierStore, SQLite primary + {backup} backup; baseline: the slower tier alone"
                ));
            group.concurrent(&rt, load, |i| {
                let (store, value) = (&store, value.clone());
                async move {
                    KVStore::write(store, "monitors", "", &key(i), value).await.expect("write")
                }
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_dual_write);
criterion_main!(benches);
