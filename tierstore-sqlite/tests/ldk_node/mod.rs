//! ldk-node's `SqliteStore`, played by its SQL through rusqlite: its file and table names,
//! its schemas and its write statements. Written from ldk-node's definitions, independently
//! of this crate's `schema.rs`, so that tests prove compatibility instead of assuming it.
//! Shared by the compatibility tests and the benchmark's baseline.
//!
//! Two versions: the v3 schema (pagination, ldk-node after 0.7) for the compatibility tests,
//! and ldk-node 0.7.1's store as released ([`open_0_7_1`], [`write_0_7_1`]) for the
//! benchmark's baseline, which `cargo xtask bench` also checks against the real crate.

// Each user takes what it needs.
#![allow(dead_code, unreachable_pub)]

use rusqlite::{Connection, params};

/// ldk-node's database file name.
pub const FILE: &str = "ldk_node_data.sqlite";
/// ldk-node's table name.
pub const TABLE: &str = "ldk_node_data";

/// Creates ldk-node's v3 table and pagination index, as ldk-node does.
pub fn create_v3(conn: &Connection) {
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (
            primary_namespace TEXT NOT NULL,
            secondary_namespace TEXT DEFAULT \"\" NOT NULL,
            key TEXT NOT NULL CHECK (key <> ''),
            value BLOB,
            sort_order INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (primary_namespace, secondary_namespace, key));
         CREATE INDEX IF NOT EXISTS idx_{TABLE}_paginated ON {TABLE}
            (primary_namespace, secondary_namespace, sort_order DESC, key ASC);
         PRAGMA user_version = 3;"
    ))
    .expect("v3 schema");
}

/// One write as ldk-node's `SqliteStore` issues it: an upsert that gives a new key the
/// namespace's next sort order, in its own (autocommit) transaction.
pub fn write(conn: &Connection, primary: &str, secondary: &str, key: &str, value: &[u8]) {
    conn.prepare_cached(&format!(
        "INSERT INTO {TABLE} (primary_namespace, secondary_namespace, key, value, sort_order)
         VALUES (?1, ?2, ?3, ?4, (SELECT COALESCE(MAX(sort_order), 0) + 1 FROM {TABLE}
             WHERE primary_namespace = ?1 AND secondary_namespace = ?2))
         ON CONFLICT (primary_namespace, secondary_namespace, key)
         DO UPDATE SET value = excluded.value"
    ))
    .expect("prepares")
    .execute(params![primary, secondary, key, value])
    .expect("ldk-node write");
}

/// Every key of a namespace in ldk-node's page order.
pub fn page(conn: &Connection, primary: &str, secondary: &str) -> Vec<String> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT key FROM {TABLE}
             WHERE primary_namespace = ?1 AND secondary_namespace = ?2
             ORDER BY sort_order DESC, key ASC"
        ))
        .expect("prepares");
    statement
        .query_map(params![primary, secondary], |row| row.get(0))
        .expect("lists")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Opens a database as ldk-node 0.7.1's `SqliteStore::new` does: `Connection::open` and no
/// pragma at all (so SQLite's defaults: a rollback journal in `DELETE` mode,
/// `synchronous=FULL`), `user_version` 2 on a new database, the v2 table (no `sort_order`, no
/// pagination index).
pub fn open_0_7_1(path: &std::path::Path) -> Connection {
    let conn = Connection::open(path).expect("opens");
    let version: u16 = conn
        .query_row("SELECT user_version FROM pragma_user_version", [], |row| row.get(0))
        .expect("user_version");
    if version == 0 {
        conn.pragma_update(None, "user_version", 2).expect("sets user_version");
    }
    conn.execute(
        &format!(
            "CREATE TABLE IF NOT EXISTS {TABLE} (
            primary_namespace TEXT NOT NULL,
            secondary_namespace TEXT DEFAULT \"\" NOT NULL,
            key TEXT NOT NULL CHECK (key <> ''),
            value BLOB, PRIMARY KEY ( primary_namespace, secondary_namespace, key )
            );"
        ),
        [],
    )
    .expect("v2 table");
    conn
}

/// One write as ldk-node 0.7.1's `SqliteStore` issues it: `INSERT OR REPLACE` with named
/// parameters, a cached statement, in its own (autocommit) transaction.
pub fn write_0_7_1(conn: &Connection, primary: &str, secondary: &str, key: &str, value: &[u8]) {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO {TABLE} (primary_namespace, secondary_namespace, key, value) \
         VALUES (:primary_namespace, :secondary_namespace, :key, :value);"
    ))
    .expect("prepares")
    .execute(rusqlite::named_params! {
        ":primary_namespace": primary,
        ":secondary_namespace": secondary,
        ":key": key,
        ":value": value,
    })
    .expect("ldk-node write");
}
