//! The table layout shared with ldk-node's `SqliteStore` (schema version 3), its migration
//! from version 2, and the SQL statements the backend runs.

use rusqlite::{Connection, OptionalExtension};

use crate::options::SqliteOptions;

/// The default table name.
pub(crate) const DEFAULT_TABLE: &str = "ldk_data";

/// The schema version this crate writes and reads (`PRAGMA user_version`), as ldk-node's
/// `SqliteStore` v3.
pub(crate) const SCHEMA_VERSION: i64 = 3;

/// Why a database cannot be opened as it is.
#[derive(Debug)]
pub(crate) enum SchemaError {
    Sqlite(rusqlite::Error),
    Unsupported(String),
}

impl From<rusqlite::Error> for SchemaError {
    fn from(e: rusqlite::Error) -> Self {
        SchemaError::Sqlite(e)
    }
}

/// Applies the connection settings every connection needs.
pub(crate) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // Another process (e.g. ldk-node, or `tierstore copy`) may hold the write lock briefly.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Keep each cached statement's plan. Without the query planner stability guarantee,
    // SQLite (built with STAT4, as rusqlite bundles it) marks the write statement for
    // re-preparation whenever a parameter is rebound, and re-parses it on every write.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Whether the database has a table named `table`.
pub(crate) fn has_table(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    let found = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |_| Ok(()),
        )
        .optional()?;
    Ok(found.is_some())
}

/// Creates the table and index of a new database, migrates a version-2 database (ldk-node
/// before pagination), and refuses versions it does not know.
pub(crate) fn prepare(conn: &mut Connection, options: &SqliteOptions) -> Result<(), SchemaError> {
    let table = &options.table;
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(SchemaError::Unsupported(format!(
            "schema version {version} is newer than this tierstore-sqlite supports \
             ({SCHEMA_VERSION}); upgrade tierstore before opening this database"
        )));
    }
    let exists = has_table(conn, table)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    match (exists, version) {
        (false, _) => {
            tx.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {table} (
                    primary_namespace TEXT NOT NULL,
                    secondary_namespace TEXT DEFAULT \"\" NOT NULL,
                    key TEXT NOT NULL CHECK (key <> ''),
                    value BLOB,
                    sort_order INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (primary_namespace, secondary_namespace, key)
                );"
            ))?;
        }
        (true, 2) => {
            // ldk-node v2 kept no creation order. The row id follows the order rows were last
            // (re)inserted, the best approximation there is.
            tracing::info!(table, "migrating SQLite schema from version 2 to 3");
            tx.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN sort_order INTEGER NOT NULL DEFAULT 0;
                 UPDATE {table} SET sort_order = rowid;"
            ))?;
        }
        (true, 3) => {}
        (true, other) => {
            return Err(SchemaError::Unsupported(format!(
                "table {table} has schema version {other}, older than the oldest this crate \
                 migrates (2); open it with ldk-node first, which migrates it"
            )));
        }
    }
    tx.execute_batch(&format!(
        "CREATE INDEX IF NOT EXISTS idx_{table}_paginated
             ON {table} (primary_namespace, secondary_namespace, sort_order DESC, key ASC);
         PRAGMA user_version = {SCHEMA_VERSION};"
    ))?;
    tx.commit()?;
    Ok(())
}

/// The statements the backend runs, built once for its table.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    pub(crate) read: String,
    pub(crate) write: String,
    pub(crate) remove: String,
    pub(crate) list: String,
    pub(crate) first_page: String,
    pub(crate) next_page: String,
    pub(crate) list_all: String,
    pub(crate) list_namespaces: String,
}

impl Statements {
    pub(crate) fn new(table: &str) -> Self {
        Statements {
            read: format!(
                "SELECT value FROM {table}
                 WHERE primary_namespace = ?1 AND secondary_namespace = ?2 AND key = ?3"
            ),
            // A new key gets the namespace's highest sort order plus one (an index seek); an
            // update keeps its row's sort order, hence its place in pages.
            write: format!(
                "INSERT INTO {table} (primary_namespace, secondary_namespace, key, value, sort_order)
                 VALUES (?1, ?2, ?3, ?4, (SELECT COALESCE(MAX(sort_order), 0) + 1 FROM {table}
                     WHERE primary_namespace = ?1 AND secondary_namespace = ?2))
                 ON CONFLICT (primary_namespace, secondary_namespace, key)
                 DO UPDATE SET value = excluded.value"
            ),
            remove: format!(
                "DELETE FROM {table}
                 WHERE primary_namespace = ?1 AND secondary_namespace = ?2 AND key = ?3"
            ),
            list: format!(
                "SELECT key FROM {table} WHERE primary_namespace = ?1 AND secondary_namespace = ?2"
            ),
            first_page: format!(
                "SELECT key, sort_order FROM {table}
                 WHERE primary_namespace = ?1 AND secondary_namespace = ?2
                 ORDER BY sort_order DESC, key ASC LIMIT ?3"
            ),
            // After (sort_order, key) in (sort_order DESC, key ASC) order; the first condition
            // bounds the index range, the second skips the page's own position.
            next_page: format!(
                "SELECT key, sort_order FROM {table}
                 WHERE primary_namespace = ?1 AND secondary_namespace = ?2
                   AND sort_order <= ?3 AND (sort_order < ?3 OR key > ?4)
                 ORDER BY sort_order DESC, key ASC LIMIT ?5"
            ),
            list_all: format!("SELECT primary_namespace, secondary_namespace, key FROM {table}"),
            list_namespaces: format!(
                "SELECT DISTINCT primary_namespace, secondary_namespace FROM {table}"
            ),
        }
    }
}
