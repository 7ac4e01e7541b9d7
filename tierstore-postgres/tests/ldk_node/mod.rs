//! ldk-node's `PostgresStore`, played by its SQL through tokio-postgres: its table layout,
//! schema-version comment, write statement and pagination. Written from ldk-node's source
//! (`src/io/postgres_store/mod.rs`, PR #863), independently of this crate's `schema.rs`, so
//! that tests prove compatibility instead of assuming it. Shared by the compatibility tests
//! and the benchmark's baseline.
//!
//! ldk-node's store went through two numberings of `sort_order`, both with schema version 1:
//!
//! - **counter** (the PR as first merged): `sort_order BIGINT NOT NULL DEFAULT 0`, each write
//!   passes `sort_order` from an in-process counter started at the table's maximum plus one,
//!   every operation on one client behind a mutex ([`CounterStore`]);
//! - **sequence** (later): `sort_order BIGSERIAL CHECK (sort_order >= 0)`, identifiers
//!   quoted, the write leaves `sort_order` to its default.

// Each user takes what it needs.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::Mutex;
use tokio_postgres::Client;

/// ldk-node's default table name (`DEFAULT_KV_TABLE_NAME`).
pub const TABLE: &str = "ldk_data";
/// ldk-node's schema version, the table comment.
pub const SCHEMA_VERSION: &str = "1";
/// Keys per page of ldk-node's `list_paginated`.
pub const PAGE_SIZE: usize = 50;

fn quoted(table: &str) -> String {
    format!("\"{}\"", table.replace('"', "\"\""))
}

/// Creates the table as ldk-node's sequence-numbered version does.
pub async fn create_sequence_table(client: &Client, table: &str) {
    let t = quoted(table);
    let index = quoted(&format!("idx_{table}_paginated"));
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {t} (
                primary_namespace TEXT NOT NULL,
                secondary_namespace TEXT NOT NULL DEFAULT '',
                key TEXT NOT NULL CHECK (key <> ''),
                value BYTEA,
                sort_order BIGSERIAL CHECK (sort_order >= 0),
                PRIMARY KEY (primary_namespace, secondary_namespace, key));
             COMMENT ON TABLE {t} IS '{SCHEMA_VERSION}';
             CREATE INDEX IF NOT EXISTS {index} ON {t}
                (primary_namespace, secondary_namespace, sort_order DESC, key ASC);"
        ))
        .await
        .expect("ldk-node's table");
}

/// Creates the table as ldk-node's counter-numbered version did (unquoted names).
pub async fn create_counter_table(client: &Client, table: &str) {
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                primary_namespace TEXT NOT NULL,
                secondary_namespace TEXT NOT NULL DEFAULT '',
                key TEXT NOT NULL CHECK (key <> ''),
                value BYTEA,
                sort_order BIGINT NOT NULL DEFAULT 0,
                PRIMARY KEY (primary_namespace, secondary_namespace, key));
             COMMENT ON TABLE {table} IS '{SCHEMA_VERSION}';
             CREATE INDEX IF NOT EXISTS idx_{table}_paginated ON {table}
                (primary_namespace, secondary_namespace, sort_order DESC, key ASC);"
        ))
        .await
        .expect("ldk-node's counter table");
}

/// One write as the sequence-numbered ldk-node issues it (without its lease check, which
/// guards a companion table): `sort_order` from the column's default.
pub async fn write(client: &Client, table: &str, ns: (&str, &str), key: &str, value: &[u8]) {
    client
        .execute(
            &format!(
                "INSERT INTO {} (primary_namespace, secondary_namespace, key, value)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (primary_namespace, secondary_namespace, key)
                 DO UPDATE SET value = EXCLUDED.value",
                quoted(table)
            ),
            &[&ns.0, &ns.1, &key, &value],
        )
        .await
        .expect("ldk-node write");
}

/// The value of a key, by ldk-node's read statement.
pub async fn read(client: &Client, table: &str, ns: (&str, &str), key: &str) -> Option<Vec<u8>> {
    client
        .query_opt(
            &format!(
                "SELECT value FROM {} WHERE primary_namespace=$1 AND secondary_namespace=$2 \
                 AND key=$3",
                quoted(table)
            ),
            &[&ns.0, &ns.1, &key],
        )
        .await
        .expect("ldk-node read")
        .map(|row| row.get(0))
}

/// One page as ldk-node's `list_paginated` reads it: [`PAGE_SIZE`] keys newest first, after
/// the token (the last page's last `sort_order`, as a decimal string).
pub async fn page(
    client: &Client,
    table: &str,
    ns: (&str, &str),
    token: Option<&str>,
) -> (Vec<String>, Option<String>) {
    let fetch = (PAGE_SIZE + 1) as i64;
    let t = quoted(table);
    let rows = match token {
        None => {
            client
                .query(
                    &format!(
                        "SELECT key, sort_order FROM {t} WHERE primary_namespace=$1 AND \
                     secondary_namespace=$2 ORDER BY sort_order DESC, key ASC LIMIT $3"
                    ),
                    &[&ns.0, &ns.1, &fetch],
                )
                .await
        }
        Some(token) => {
            let after: i64 = token.parse().expect("ldk-node tokens are sort orders");
            client
                .query(
                    &format!(
                        "SELECT key, sort_order FROM {t} WHERE primary_namespace=$1 AND \
                         secondary_namespace=$2 AND sort_order < $3 \
                         ORDER BY sort_order DESC, key ASC LIMIT $4"
                    ),
                    &[&ns.0, &ns.1, &after, &fetch],
                )
                .await
        }
    }
    .expect("ldk-node page");
    let next = (rows.len() > PAGE_SIZE).then(|| rows[PAGE_SIZE - 1].get::<_, i64>(1).to_string());
    (rows.iter().take(PAGE_SIZE).map(|row| row.get(0)).collect(), next)
}

/// Every key of a namespace, newest first, by walking ldk-node's pages.
pub async fn all_pages(client: &Client, table: &str, ns: (&str, &str)) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let (page, next) = page(client, table, ns, token.as_deref()).await;
        keys.extend(page);
        match next {
            Some(next) => token = Some(next),
            None => return keys,
        }
    }
}

/// The schema version ldk-node reads: the table's comment.
pub async fn schema_version(client: &Client, table: &str) -> Option<String> {
    client
        .query_one("SELECT obj_description(to_regclass($1), 'pg_class')", &[&quoted(table)])
        .await
        .expect("reads the comment")
        .get(0)
}

/// ldk-node's counter-numbered store: one client behind a mutex, `sort_order` from a counter
/// started at the table's maximum plus one, one autocommitted statement per write.
pub struct CounterStore {
    client: Mutex<Client>,
    table: String,
    next_sort_order: AtomicI64,
}

impl CounterStore {
    /// Opens the store on `client` as ldk-node does: creates the table if needed, then starts
    /// the counter at the table's maximum `sort_order` plus one.
    pub async fn open(client: Client, table: &str) -> CounterStore {
        create_counter_table(&client, table).await;
        let max: i64 = client
            .query_one(&format!("SELECT COALESCE(MAX(sort_order), 0) FROM {table}"), &[])
            .await
            .expect("max sort_order")
            .get(0);
        CounterStore {
            client: Mutex::new(client),
            table: table.to_owned(),
            next_sort_order: AtomicI64::new(max + 1),
        }
    }

    /// One write, as ldk-node's `write_internal`: under the client mutex, the next counter
    /// value, one upsert.
    pub async fn write(&self, ns: (&str, &str), key: &str, value: &[u8]) {
        let client = self.client.lock().await;
        let sort_order = self.next_sort_order.fetch_add(1, Ordering::Relaxed);
        client
            .execute(
                &format!(
                    "INSERT INTO {} (primary_namespace, secondary_namespace, key, value, \
                     sort_order) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (primary_namespace, secondary_namespace, key) \
                     DO UPDATE SET value = EXCLUDED.value",
                    self.table
                ),
                &[&ns.0, &ns.1, &key, &value, &sort_order],
            )
            .await
            .expect("ldk-node counter write");
    }
}
