//! A real ldk-node 0.7.1 node on a TierStore: ldk-node's own `SqliteStore` as primary through
//! the lightning 0.2 adapter, our filesystem backend (or S3) as backup, our filesystem backend
//! as ephemeral store, and a local Esplora stub instead of a chain.
//!
//! One life of the node: build, start, derive addresses, read the node id, stop. Then the
//! durable keys are in primary and backup and equal, the network graph and scorer only in the
//! ephemeral tier; the primary is deleted and restored from the backup with
//! `tierstore_core::repair::copy_all`; the node built again on the restored store has the same
//! node id and continues the wallet's address index; and ldk-node's own `Builder::build()`
//! opens the primary file directly, without TierStore.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::esplora::EsploraStub;
use ldk_node::bitcoin::{Address, Network};
use ldk_node::io::sqlite_store::{KV_TABLE_NAME, SQLITE_DB_FILE_NAME, SqliteStore};
use ldk_node::lightning::util::persist::KVStoreSync;
use ldk_node::{Builder, Node};
use tierstore_core::lightning_0_2::Lightning02;
use tierstore_core::{Backend, Key, LdkBackend, TierStore, repair};
use tierstore_fs::FsBackend;
use tierstore_ldk_node::{build_node, sqlite_keys};
use tierstore_s3::S3Backend;
use tierstore_testkit::servers::s3;
use tokio::runtime::Runtime;

const SEED: [u8; 64] = [42; 64];

/// Where the backup lives; opened afresh for each life of the node.
enum BackupAt {
    Dir(PathBuf),
    S3 { prefix: String },
}

impl BackupAt {
    fn open(&self, rt: &Runtime) -> Arc<dyn Backend> {
        match self {
            BackupAt::Dir(dir) => Arc::new(rt.block_on(FsBackend::open(dir)).expect("backup dir")),
            BackupAt::S3 { prefix } => {
                // A plain thread: the fixture may block while it starts a server.
                let env = s3::shared();
                let backend = S3Backend::builder()
                    .bucket(&env.bucket)
                    .endpoint(&env.endpoint)
                    .region(&env.region)
                    .credentials(&env.access_key_id, &env.secret_access_key)
                    .allow_http(true)
                    .prefix(prefix)
                    .build()
                    .expect("S3 backup");
                Arc::new(backend)
            }
        }
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Starts `node`, derives `n` on-chain addresses, and stops it.
fn addresses(node: &Node, n: usize) -> Vec<Address> {
    node.start().expect("node starts against the Esplora stub");
    let addresses = (0..n)
        .map(|_| node.onchain_payment().new_address().expect("a new on-chain address"))
        .collect();
    node.stop().expect("node stops");
    addresses
}

fn key(p: &str, s: &str, k: &str) -> Key {
    Key::new(p, s, k).expect("valid key")
}

fn keys_of(rt: &Runtime, backend: &dyn Backend) -> BTreeSet<Key> {
    let keys = rt.block_on(backend.list_all_keys());
    keys.unwrap_or_else(|e| panic!("{backend}: list_all_keys: {e}")).into_iter().collect()
}

fn show(keys: &BTreeSet<Key>) -> String {
    keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// The addresses a node with [`SEED`] derives first, on an empty store: what a restored node
/// must continue from rather than repeat.
fn control_addresses(rt: &Runtime, esplora: &EsploraStub, n: usize) -> Vec<Address> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let backup = FsBackend::open(dir.path().join("backup"));
    let backup = rt.block_on(backup).expect("control backup");
    let (node, _) = rt
        .block_on(build_node(
            &dir.path().join("node"),
            backup,
            &dir.path().join("cache"),
            esplora.url(),
            SEED,
        ))
        .expect("control node builds");
    addresses(&node, n)
}

fn node_survives_losing_its_primary(backup_at: BackupAt, dir: &Path) {
    let rt = runtime();
    let esplora = EsploraStub::start();
    let storage = dir.join("node");
    let cache = dir.join("cache");

    // First life.
    let (node, store) = rt
        .block_on(build_node(&storage, backup_at.open(&rt), &cache, esplora.url(), SEED))
        .expect("node builds on the TierStore");
    let first = addresses(&node, 3);
    let node_id = node.node_id();
    drop(node);

    let (primary, backup, ephemeral) = tiers(&store);
    let durable = keys_of(&rt, &*primary);
    let ephemeral_keys = keys_of(&rt, &*ephemeral);
    eprintln!("primary ({primary}): {}", show(&durable));
    eprintln!("backup ({backup}): {}", show(&keys_of(&rt, &*backup)));
    eprintln!("ephemeral ({ephemeral}): {}", show(&ephemeral_keys));
    eprintln!("Esplora stub served: {:?}", esplora.paths());

    // What ldk-node wrote: the wallet and its own state in the primary, durable...
    for expected in [
        key("", "", "manager"),
        key("", "", "node_metrics"),
        key("bdk_wallet", "", "descriptor"),
        key("bdk_wallet", "", "change_descriptor"),
        key("bdk_wallet", "", "network"),
        key("bdk_wallet", "", "indexer"),
    ] {
        assert!(
            durable.contains(&expected),
            "{expected} missing from the primary: {}",
            show(&durable)
        );
    }
    // ...and in the backup, equal, value for value.
    let report = rt.block_on(store.verify()).expect("verify");
    assert!(report.is_consistent(), "primary and backup differ: {report:?}");
    assert_eq!(report.compared, durable.len(), "every durable key compared");
    assert!(store.divergences().is_empty(), "{:?}", store.divergences());
    // The network graph and scorer only in the ephemeral tier.
    let caches = BTreeSet::from([key("", "", "network_graph"), key("", "", "scorer")]);
    assert_eq!(ephemeral_keys, caches, "the ephemeral tier holds the caches only");
    for cache_key in &caches {
        assert!(!durable.contains(cache_key), "{cache_key} leaked into the primary");
        assert!(rt.block_on(backup.read(cache_key)).unwrap_err().is_not_found());
    }
    drop(store);
    drop((primary, backup, ephemeral));

    // Lose the primary, restore it from the backup with the library call.
    let db = storage.join(SQLITE_DB_FILE_NAME);
    std::fs::remove_file(&db).expect("delete the primary");
    {
        let fresh = SqliteStore::new(
            storage.clone(),
            Some(SQLITE_DB_FILE_NAME.to_owned()),
            Some(KV_TABLE_NAME.to_owned()),
        )
        .expect("fresh primary");
        let fresh: LdkBackend<SqliteStore, Lightning02> = LdkBackend::from_0_2(fresh);
        let backup = backup_at.open(&rt);
        let copied = rt.block_on(repair::copy_all(&*backup, &fresh, |_| true, |_, _| {}));
        let copied = copied.expect("restore from the backup");
        assert_eq!(copied.keys, durable.len(), "every durable key restored");
    }
    let restored: BTreeSet<Key> = sqlite_keys(&db)
        .expect("list the restored file")
        .into_iter()
        .map(|(p, s, k)| key(&p, &s, &k))
        .collect();
    assert_eq!(restored, durable, "the restored primary holds what the old one held");

    // Second life, on the restored store: same node, and the wallet's index continues.
    let control = control_addresses(&rt, &esplora, 5);
    assert_eq!(first, control[..3], "the same seed derives the same addresses");
    let (node, store) = rt
        .block_on(build_node(&storage, backup_at.open(&rt), &cache, esplora.url(), SEED))
        .expect("node builds on the restored TierStore");
    assert_eq!(node.node_id(), node_id);
    let next = addresses(&node, 1);
    assert_eq!(next[0], control[3], "the restored wallet continues at index 3, no reuse");
    drop(node);
    assert!(rt.block_on(store.verify()).expect("verify").is_consistent());
    drop(store);

    // Without TierStore: ldk-node's own `Builder::build()` opens the primary file directly.
    let direct = SqliteStore::new(
        storage.clone(),
        Some(SQLITE_DB_FILE_NAME.to_owned()),
        Some(KV_TABLE_NAME.to_owned()),
    )
    .expect("ldk-node's SqliteStore opens the primary");
    let mut wallet = KVStoreSync::list(&direct, "bdk_wallet", "").expect("list the wallet");
    wallet.sort();
    assert!(wallet.contains(&"indexer".to_owned()), "ldk-node's layout: {wallet:?}");
    KVStoreSync::read(&direct, "", "", "node_metrics").expect("node metrics in the root");
    drop(direct);
    let mut builder = Builder::new();
    builder
        .set_network(Network::Regtest)
        .set_chain_source_esplora(esplora.url().to_owned(), None)
        .set_entropy_seed_bytes(SEED)
        .set_storage_dir_path(storage.display().to_string());
    let node = builder.build().expect("ldk-node builds on its own SqliteStore");
    assert_eq!(node.node_id(), node_id);
    let next = addresses(&node, 1);
    assert_eq!(next[0], control[4], "ldk-node alone continues the same wallet");
}

fn tiers(store: &TierStore) -> (Arc<dyn Backend>, Arc<dyn Backend>, Arc<dyn Backend>) {
    let backup = store.backup().expect("a backup tier");
    let ephemeral = store.ephemeral().expect("an ephemeral tier");
    (Arc::clone(store.primary()), Arc::clone(backup), Arc::clone(ephemeral))
}

#[test]
fn sqlite_primary_fs_backup_fs_ephemeral() {
    let dir = tempfile::tempdir().expect("temporary directory");
    node_survives_losing_its_primary(BackupAt::Dir(dir.path().join("backup")), dir.path());
}

#[test]
fn sqlite_primary_s3_backup_fs_ephemeral() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let prefix = s3::unique_prefix("ldk-node-backup");
    node_survives_losing_its_primary(BackupAt::S3 { prefix }, dir.path());
}

#[test]
fn readme_shows_the_compiled_example() {
    let lib = include_str!("../src/lib.rs");
    let begin = lib.find("// --- README example: begin ---\n").expect("begin marker");
    let end = lib.find("// --- README example: end ---").expect("end marker");
    let example = &lib[begin..end];
    let example = &example[example.find('\n').expect("marker line") + 1..];
    let readme = include_str!("../../../README.md");
    assert!(
        readme.contains(example),
        "README.md's \"With ldk-node 0.7\" section must show integration/ldk-node/src/lib.rs's \
         example verbatim:\n{example}"
    );
}
