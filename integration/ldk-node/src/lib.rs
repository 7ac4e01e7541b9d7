//! A real ldk-node 0.7 node on a TierStore.
//!
//! ldk-node 0.7.1 is built on lightning 0.2: `Builder::build_with_store` takes any store
//! implementing lightning 0.2's `KVStore + KVStoreSync`, which TierStore does with
//! tierstore-core's `lightning-0-2` feature. This crate sits outside the workspace (ldk-node
//! pulls rusqlite 0.31, whose `links = "sqlite3"` cannot share a lockfile with
//! tierstore-sqlite's rusqlite) and is built and run by `cargo xtask test`.
//!
//! [`build_node`] is the README's "With ldk-node 0.7" example, compiled here and run by
//! `tests/node.rs` (which also checks that the README shows it unchanged): ldk-node's own
//! `SqliteStore` as primary, in the file and table `Builder::build()` uses, so an operator can
//! drop TierStore again without migrating; a backup of the caller's choice; the network graph
//! and scorer in a directory of their own.
//!
//! ldk-node 0.7.1's `SqliteStore` does not implement `MigratableKVStore`, so the adapter lists
//! its keys with [`sqlite_keys`] (one `SELECT` on its table), which `verify` and `copy_all`
//! need.

use std::path::Path;

use ldk_node::lightning::io;
use rusqlite::{Connection, OpenFlags};

// --- README example: begin ---
use std::sync::Arc;

use ldk_node::bitcoin::Network;
use ldk_node::io::sqlite_store::{KV_TABLE_NAME, SQLITE_DB_FILE_NAME, SqliteStore};
use ldk_node::{Builder, Node};
use tierstore_core::{IntoBackend, LdkBackend, TierStore};
use tierstore_fs::FsBackend;

/// A regtest ldk-node on a TierStore: ldk-node's own `SqliteStore` as primary (the file and
/// table `Builder::build()` uses), `backup` as backup, the network graph and scorer in
/// `cache_dir`.
pub async fn build_node(
    storage_dir: &Path,
    backup: impl IntoBackend,
    cache_dir: &Path,
    esplora_url: &str,
    seed: [u8; 64],
) -> Result<(Node, TierStore), Box<dyn std::error::Error>> {
    let sqlite = SqliteStore::new(
        storage_dir.to_path_buf(),
        Some(SQLITE_DB_FILE_NAME.to_owned()),
        Some(KV_TABLE_NAME.to_owned()),
    )?;
    // ldk-node 0.7.1's SqliteStore has no `MigratableKVStore`: list its keys with one SELECT
    // (`sqlite_keys`), so `verify` and `copy_all` can walk the primary.
    let db = storage_dir.join(SQLITE_DB_FILE_NAME);
    let primary = LdkBackend::from_0_2(sqlite)
        .named(format!("ldk-node-sqlite:{}", db.display()))
        .with_list_all_keys_from(move || sqlite_keys(&db));
    let store = TierStore::builder(primary)
        .backup(backup)
        .ephemeral(FsBackend::open(cache_dir).await?)
        .build()?;

    let mut builder = Builder::new();
    builder
        .set_network(Network::Regtest)
        .set_chain_source_esplora(esplora_url.to_owned(), None)
        .set_entropy_seed_bytes(seed)
        .set_storage_dir_path(storage_dir.display().to_string());
    let node = builder.build_with_store(Arc::new(store.clone()))?;
    Ok((node, store))
}
// --- README example: end ---

/// Every `(primary_namespace, secondary_namespace, key)` in ldk-node's SQLite file `db`
/// (table [`KV_TABLE_NAME`]), read through a read-only connection of its own.
pub fn sqlite_keys(db: &Path) -> Result<Vec<(String, String, String)>, io::Error> {
    let error = |e: rusqlite::Error| {
        io::Error::new(io::ErrorKind::Other, format!("listing the keys of {}: {e}", db.display()))
    };
    let connection =
        Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(error)?;
    let sql = format!("SELECT primary_namespace, secondary_namespace, key FROM {KV_TABLE_NAME}");
    let mut statement = connection.prepare(&sql).map_err(error)?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)));
    rows.map_err(error)?.collect::<Result<Vec<_>, _>>().map_err(error)
}
