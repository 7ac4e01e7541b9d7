//! The table shared with ldk-node's `PostgresStore` (schema version 1), how it is created or
//! adopted, and the SQL statements the backend runs.
//!
//! # Layout
//!
//! ```sql
//! CREATE TABLE "ldk_data" (
//!     primary_namespace TEXT NOT NULL,
//!     secondary_namespace TEXT NOT NULL DEFAULT '',
//!     key TEXT NOT NULL CHECK (key <> ''),
//!     value BYTEA,
//!     sort_order BIGSERIAL CHECK (sort_order >= 0),
//!     PRIMARY KEY (primary_namespace, secondary_namespace, key));
//! COMMENT ON TABLE "ldk_data" IS '1';           -- the schema version
//! CREATE INDEX "idx_ldk_data_paginated" ON "ldk_data"
//!     (primary_namespace, secondary_namespace, sort_order DESC, key ASC);
//! ```
//!
//! exactly as ldk-node creates it. `sort_order` is a `BIGINT` whose default draws from a
//! sequence: a new row takes the next value, an upsert that updates keeps the row's value.
//!
//! # Adopting an existing table
//!
//! Early ldk-node versions created `sort_order BIGINT NOT NULL DEFAULT 0` and numbered rows
//! from an in-process counter (the table's maximum plus one at startup). Such a table gets a
//! sequence owned by its `sort_order` column, and that column's default becomes the
//! sequence's next value: the order then comes from the database whichever process writes.
//! Rows and their order are untouched. At every preparation the sequence is moved past the
//! table's largest `sort_order` if a counter-based writer went beyond it.
//!
//! A table without a version comment gets version 1 if it has the five columns; a newer
//! version, an unparsable comment or missing columns are refused, with a message, before
//! anything is changed.

use tokio_postgres::Transaction;

/// ldk-node's table name (`DEFAULT_KV_TABLE_NAME` there), this crate's default.
pub const LDK_NODE_TABLE: &str = "ldk_data";

/// The schema version this crate reads and writes (the table's comment).
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// The longest table name: `idx_<table>_paginated` must fit PostgreSQL's 63-byte identifiers.
const MAX_TABLE_LEN: usize = 63 - "idx__paginated".len();

/// A validated table name, `table` or `schema.table`, and its quoted SQL forms.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// As given, e.g. `ldk_data` or `node.ldk_data`.
    pub(crate) name: String,
    /// Quoted, e.g. `"node"."ldk_data"`.
    pub(crate) sql: String,
    /// The pagination index, quoted: `"idx_<name>_paginated"`, as ldk-node names it.
    index_sql: String,
    /// The sequence this crate creates when adopting a table without one.
    sequence_sql: String,
}

impl Table {
    /// Validates `name`: one or two `.`-separated parts of `[A-Za-z0-9_]`, at most 49 bytes.
    /// Names are quoted in SQL, so upper case is kept (as ldk-node does).
    pub(crate) fn new(name: &str) -> Result<Table, String> {
        let parts: Vec<&str> = name.split('.').collect();
        let valid_part =
            |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if parts.len() > 2 || !parts.iter().all(valid_part) {
            return Err(format!(
                "table name {name:?} must be `table` or `schema.table`, each part of \
                 [A-Za-z0-9_]"
            ));
        }
        if name.len() > MAX_TABLE_LEN {
            return Err(format!(
                "table name {name:?} is {} bytes; at most {MAX_TABLE_LEN} fit the index name \
                 idx_<table>_paginated",
                name.len()
            ));
        }
        let quote = |ident: &str| format!("\"{ident}\"");
        let sql = parts.iter().map(|p| quote(p)).collect::<Vec<_>>().join(".");
        let (schema, table) = match parts[..] {
            [schema, table] => (format!("{}.", quote(schema)), table),
            _ => (String::new(), name),
        };
        Ok(Table {
            name: name.to_owned(),
            sql,
            index_sql: quote(&format!("idx_{name}_paginated")),
            sequence_sql: format!("{schema}{}", quote(&format!("{table}_sort_order_seq"))),
        })
    }
}

/// Why a table cannot be used as it is.
#[derive(Debug)]
pub(crate) enum SchemaError {
    /// The database failed (possibly transiently).
    Postgres(tokio_postgres::Error),
    /// The table is not one this crate can use; retrying will not help.
    Refused(String),
}

impl From<tokio_postgres::Error> for SchemaError {
    fn from(e: tokio_postgres::Error) -> Self {
        SchemaError::Postgres(e)
    }
}

/// What preparation learnt about the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerFacts {
    /// `fsync` is on and `synchronous_commit` is not `off` for our sessions.
    pub(crate) durable: bool,
}

/// Creates or checks the table, index and sequence, in `tx` (which the caller commits).
/// Concurrent preparations of one table, from any process, are serialised by an advisory lock.
pub(crate) async fn prepare(
    tx: &Transaction<'_>,
    table: &Table,
) -> Result<ServerFacts, SchemaError> {
    let t = &table.sql;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('tierstore-postgres:' || $1))", &[t]).await?;
    let exists: bool = tx.query_one("SELECT to_regclass($1) IS NOT NULL", &[t]).await?.get(0);
    if exists {
        check_existing(tx, table).await?;
    } else {
        tx.batch_execute(&format!(
            "CREATE TABLE {t} (
                primary_namespace TEXT NOT NULL,
                secondary_namespace TEXT NOT NULL DEFAULT '',
                key TEXT NOT NULL CHECK (key <> ''),
                value BYTEA,
                sort_order BIGSERIAL CHECK (sort_order >= 0),
                PRIMARY KEY (primary_namespace, secondary_namespace, key));
             COMMENT ON TABLE {t} IS '{SCHEMA_VERSION}';"
        ))
        .await?;
    }
    tx.batch_execute(&format!(
        "CREATE INDEX IF NOT EXISTS {} ON {t}
             (primary_namespace, secondary_namespace, sort_order DESC, key ASC)",
        table.index_sql
    ))
    .await?;
    let sequence = ensure_sequence(tx, table).await?;
    catch_up(tx, table, &sequence).await?;
    let row = tx
        .query_one(
            "SELECT current_setting('fsync') = 'on', current_setting('synchronous_commit') <> 'off'",
            &[],
        )
        .await?;
    let (fsync, synchronous): (bool, bool) = (row.get(0), row.get(1));
    if !(fsync && synchronous) {
        tracing::warn!(
            table = %table.name, fsync, synchronous,
            "PostgreSQL may lose acknowledged writes: fsync or synchronous_commit is off"
        );
    }
    Ok(ServerFacts { durable: fsync && synchronous })
}

/// Refuses an existing table of a newer version or another shape; stamps version 1 on a
/// table of the right shape without a comment (as ldk-node does).
async fn check_existing(tx: &Transaction<'_>, table: &Table) -> Result<(), SchemaError> {
    let (t, name) = (&table.sql, &table.name);
    let comment: Option<String> =
        tx.query_one("SELECT obj_description(to_regclass($1), 'pg_class')", &[t]).await?.get(0);
    if let Some(text) = comment.as_deref().map(str::trim) {
        match text.parse::<i64>() {
            Ok(SCHEMA_VERSION) => {}
            Ok(newer) if newer > SCHEMA_VERSION => {
                return Err(SchemaError::Refused(format!(
                    "table {name} has schema version {newer}, newer than this tierstore-postgres \
                     supports ({SCHEMA_VERSION}); upgrade tierstore before opening it"
                )));
            }
            _ => {
                return Err(SchemaError::Refused(format!(
                    "table {name} is commented {text:?}, which is not a schema version \
                     (ldk-node's tables are commented '{SCHEMA_VERSION}')"
                )));
            }
        }
    }
    let columns: Vec<String> = tx
        .query(
            "SELECT attname::text FROM pg_attribute
             WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
            &[t],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let missing: Vec<&str> =
        ["primary_namespace", "secondary_namespace", "key", "value", "sort_order"]
            .into_iter()
            .filter(|c| !columns.iter().any(|have| have == c))
            .collect();
    if !missing.is_empty() {
        return Err(SchemaError::Refused(format!(
            "table {name} exists but lacks column(s) {}: it is not an ldk-node / TierStore table",
            missing.join(", ")
        )));
    }
    if comment.is_none() {
        tx.batch_execute(&format!("COMMENT ON TABLE {t} IS '{SCHEMA_VERSION}'")).await?;
    }
    Ok(())
}

/// The sequence `sort_order` draws from, created and made the column's default if the table
/// has none (an early ldk-node table). Returns its quoted name.
async fn ensure_sequence(tx: &Transaction<'_>, table: &Table) -> Result<String, SchemaError> {
    let t = &table.sql;
    let serial = "SELECT pg_get_serial_sequence($1, 'sort_order')";
    if let Some(sequence) = tx.query_one(serial, &[t]).await?.get::<_, Option<String>>(0) {
        return Ok(sequence);
    }
    tracing::info!(table = %table.name, "giving sort_order a sequence, as ldk-node's BIGSERIAL");
    let s = &table.sequence_sql;
    tx.batch_execute(&format!(
        "CREATE SEQUENCE {s} OWNED BY {t}.sort_order;
         ALTER TABLE {t} ALTER COLUMN sort_order SET DEFAULT nextval('{}'::regclass);",
        s.replace('\'', "''")
    ))
    .await?;
    tx.query_one(serial, &[t]).await?.get::<_, Option<String>>(0).ok_or_else(|| {
        SchemaError::Refused(format!(
            "table {}: the new sort_order sequence is not owned",
            table.name
        ))
    })
}

/// Moves the sequence past the largest `sort_order`, should a writer numbering rows itself
/// (early ldk-node) have gone beyond it. Writers are held off (`SHARE ROW EXCLUSIVE` conflicts
/// with their `ROW EXCLUSIVE`) only while that is done, so the sequence never moves back
/// under a value just handed out.
async fn catch_up(tx: &Transaction<'_>, table: &Table, sequence: &str) -> Result<(), SchemaError> {
    let t = &table.sql;
    let behind = format!(
        "SELECT m FROM (SELECT COALESCE(MAX(sort_order), 0) AS m FROM {t}) AS table_max,
             (SELECT last_value, is_called FROM {sequence}) AS seq
         WHERE m >= last_value + CASE WHEN is_called THEN 1 ELSE 0 END"
    );
    if tx.query_opt(&behind, &[]).await?.is_none() {
        return Ok(());
    }
    tx.batch_execute(&format!("LOCK TABLE {t} IN SHARE ROW EXCLUSIVE MODE")).await?;
    if let Some(row) = tx.query_opt(&behind, &[]).await? {
        let max: i64 = row.get(0);
        tracing::info!(table = %table.name, max, "moving the sort_order sequence past the table's rows");
        tx.execute("SELECT setval($1::text::regclass, $2)", &[&sequence, &max]).await?;
    }
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
}

impl Statements {
    pub(crate) fn new(table: &Table) -> Statements {
        let t = &table.sql;
        let ns = "primary_namespace = $1 AND secondary_namespace = $2";
        Statements {
            read: format!("SELECT value FROM {t} WHERE {ns} AND key = $3"),
            // `sort_order` takes its default, the sequence's next value, for a new row; the
            // update keeps the row's value, hence its place in pages.
            write: format!(
                "INSERT INTO {t} (primary_namespace, secondary_namespace, key, value)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (primary_namespace, secondary_namespace, key)
                 DO UPDATE SET value = EXCLUDED.value"
            ),
            remove: format!("DELETE FROM {t} WHERE {ns} AND key = $3"),
            list: format!("SELECT key FROM {t} WHERE {ns}"),
            first_page: format!(
                "SELECT key, sort_order FROM {t} WHERE {ns}
                 ORDER BY sort_order DESC, key ASC LIMIT $3"
            ),
            // After the position (sort_order, key) in (sort_order DESC, key ASC) order: the
            // first condition bounds the index range, the second skips that position itself.
            next_page: format!(
                "SELECT key, sort_order FROM {t} WHERE {ns}
                   AND sort_order <= $3 AND (sort_order < $3 OR key > $4)
                 ORDER BY sort_order DESC, key ASC LIMIT $5"
            ),
            list_all: format!("SELECT primary_namespace, secondary_namespace, key FROM {t}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated_and_quoted() {
        let t = Table::new("ldk_data").unwrap();
        assert_eq!(t.sql, "\"ldk_data\"");
        assert_eq!(t.index_sql, "\"idx_ldk_data_paginated\"");
        assert_eq!(t.sequence_sql, "\"ldk_data_sort_order_seq\"");
        let t = Table::new("Node.Data").unwrap();
        assert_eq!(t.sql, "\"Node\".\"Data\"");
        assert_eq!(t.index_sql, "\"idx_Node.Data_paginated\"");
        assert_eq!(t.sequence_sql, "\"Node\".\"Data_sort_order_seq\"");
        for bad in ["", "a.b.c", ".a", "a.", "x; DROP TABLE y", "a\"b", "tab-le", "é"] {
            let err = Table::new(bad).unwrap_err();
            assert!(err.contains("table name"), "{bad:?}: {err}");
        }
        assert!(Table::new(&"a".repeat(49)).is_ok());
        let err = Table::new(&"a".repeat(50)).unwrap_err();
        assert!(err.contains("at most 49"), "{err}");
    }
}
