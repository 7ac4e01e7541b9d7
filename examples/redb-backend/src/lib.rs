//! A TierStore [`Backend`] over [redb](https://docs.rs/redb), written the way a third party
//! would write one: it depends only on `tierstore-core` (and `tierstore-testkit` for its
//! tests), proves itself with the conformance suite's one macro, and plugs into a
//! [`TierStore`](tierstore_core::TierStore) in any role.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tierstore_core::{MemoryBackend, TierStore};
//! use tierstore_example_redb::RedbBackend;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = TierStore::builder(RedbBackend::open(dir.path().join("node.redb")).await?)
//!     .backup(MemoryBackend::named("backup"))
//!     .build()?;
//! assert!(store.primary().to_string().starts_with("redb:"));
//! # Ok::<(), tierstore_core::Error>(()) }).unwrap();
//! ```
//!
//! # Data model
//!
//! Two tables in one redb file, changed together in one transaction per mutation:
//!
//! - `values`: `(primary, secondary, key)` → `(creation sequence, value)`;
//! - `order`: `(primary, secondary, creation sequence)` → `key`, read backwards for pages
//!   newest-created first, at O(page) cost.
//!
//! The creation sequence comes from a counter in a third table, `meta`. An update keeps its
//! sequence (its position); a remove deletes both rows, so a re-created key gets a new one.
//! A page token is the sequence of the page's last key, so it resumes correctly even after
//! that key is deleted.
//!
//! redb is synchronous: every operation runs on tokio's blocking pool, never on an async
//! worker thread. Commits are `Durability::Immediate` (redb's default): acknowledged writes
//! survive a crash.

#![deny(missing_docs)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tierstore_core::{Backend, Bytes, Error, Key, Namespace, Operation, Page, async_trait};

/// `(primary, secondary, key)` → `(creation sequence, value)`.
const VALUES: TableDefinition<'_, (&str, &str, &str), (u64, &[u8])> =
    TableDefinition::new("values");
/// `(primary, secondary, creation sequence)` → `key`.
const ORDER: TableDefinition<'_, (&str, &str, u64), &str> = TableDefinition::new("order");
/// Counters: `next_sequence`.
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const NEXT_SEQUENCE: &str = "next_sequence";

/// A [`Backend`] storing everything in one redb database file.
#[derive(Clone)]
pub struct RedbBackend {
    db: Arc<Database>,
    path: PathBuf,
}

impl RedbBackend {
    /// Opens (or creates) the database at `path`.
    pub async fn open(path: impl AsRef<Path>) -> Result<RedbBackend, Error> {
        let path = path.as_ref().to_path_buf();
        let name = format!("redb:{}", path.display());
        let opened = path.clone();
        let db = tokio::task::spawn_blocking(move || -> Result<Database, redb::Error> {
            let db = Database::create(&opened)?;
            // Create the tables, so that readers of a fresh database find them.
            let txn = db.begin_write()?;
            txn.open_table(VALUES)?;
            txn.open_table(ORDER)?;
            txn.open_table(META)?;
            txn.commit()?;
            Ok(db)
        })
        .await
        .map_err(|e| Error::backend(&name, Operation::Open, &name, e))?
        .map_err(|e| Error::backend(&name, Operation::Open, &name, e))?;
        Ok(RedbBackend { db: Arc::new(db), path })
    }

    /// Runs `f` on the blocking pool with the database; redb's errors become [`Error`]s naming
    /// this backend, the operation and `target`.
    async fn blocking<T, F>(&self, op: Operation, target: String, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, redb::Error> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        let name = self.to_string();
        let result = tokio::task::spawn_blocking(move || f(&db)).await;
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(Error::backend(name, op, target, e)),
            Err(join) => Err(Error::backend(name, op, target, join)),
        }
    }
}

impl fmt::Display for RedbBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redb:{}", self.path.display())
    }
}

impl fmt::Debug for RedbBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbBackend").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Parses a page token: the creation sequence of the last key of the previous page.
fn parse_token(token: &str) -> Option<u64> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

#[async_trait]
impl Backend for RedbBackend {
    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        let owned = key.clone();
        let found = self
            .blocking(Operation::Read, key.to_string(), move |db| {
                let txn = db.begin_read()?;
                let values = txn.open_table(VALUES)?;
                let row = values.get((owned.primary(), owned.secondary(), owned.key()))?;
                Ok(row.map(|guard| guard.value().1.to_vec()))
            })
            .await?;
        found.ok_or_else(|| Error::not_found(self, Operation::Read, key))
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        let owned = key.clone();
        self.blocking(Operation::Write, key.to_string(), move |db| {
            let (p, s, k) = (owned.primary(), owned.secondary(), owned.key());
            let txn = db.begin_write()?;
            {
                let mut values = txn.open_table(VALUES)?;
                let existing = values.get((p, s, k))?.map(|guard| guard.value().0);
                let sequence = match existing {
                    Some(sequence) => sequence,
                    None => {
                        let mut meta = txn.open_table(META)?;
                        let next = meta.get(NEXT_SEQUENCE)?.map_or(1, |guard| guard.value());
                        meta.insert(NEXT_SEQUENCE, next + 1)?;
                        txn.open_table(ORDER)?.insert((p, s, next), k)?;
                        next
                    }
                };
                values.insert((p, s, k), (sequence, value.as_ref()))?;
            }
            txn.commit()?;
            Ok(())
        })
        .await
    }

    async fn remove(&self, key: &Key, _lazy: bool) -> Result<(), Error> {
        let owned = key.clone();
        self.blocking(Operation::Remove, key.to_string(), move |db| {
            let (p, s, k) = (owned.primary(), owned.secondary(), owned.key());
            let txn = db.begin_write()?;
            {
                let mut values = txn.open_table(VALUES)?;
                let removed = values.remove((p, s, k))?.map(|guard| guard.value().0);
                if let Some(sequence) = removed {
                    txn.open_table(ORDER)?.remove((p, s, sequence))?;
                }
            }
            txn.commit()?;
            Ok(())
        })
        .await
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        let ns = namespace.clone();
        self.blocking(Operation::List, namespace.to_string(), move |db| {
            let (p, s) = (ns.primary(), ns.secondary());
            let txn = db.begin_read()?;
            let order = txn.open_table(ORDER)?;
            let mut keys = Vec::new();
            for row in order.range((p, s, 0)..=(p, s, u64::MAX))? {
                keys.push(row?.1.value().to_owned());
            }
            Ok(keys)
        })
        .await
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        let before = match token {
            None => u64::MAX,
            Some(token) => parse_token(token).ok_or_else(|| {
                Error::invalid_input(
                    Operation::ListPage,
                    format!("{self}: malformed page token `{token}` for {namespace}"),
                )
            })?,
        };
        let ns = namespace.clone();
        self.blocking(Operation::ListPage, namespace.to_string(), move |db| {
            let (p, s) = (ns.primary(), ns.secondary());
            let txn = db.begin_read()?;
            let order = txn.open_table(ORDER)?;
            // Sequences start at 1, so an exhausted namespace has `before` = 1 at the least.
            let mut rows = order.range((p, s, 0)..(p, s, before))?.rev();
            let mut keys = Vec::with_capacity(limit.min(1024));
            let mut last = None;
            while keys.len() < limit {
                let Some(row) = rows.next() else { break };
                let (position, key) = row?;
                last = Some(position.value().2);
                keys.push(key.value().to_owned());
            }
            // `next` only when an older key exists, so the last page ends the listing.
            let more = keys.len() == limit && rows.next().is_some();
            let next = if more { last.map(|sequence| sequence.to_string()) } else { None };
            Ok(Page::new(keys, next))
        })
        .await
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        let name = self.to_string();
        let rows = self
            .blocking(Operation::ListAllKeys, String::from("*"), move |db| {
                let txn = db.begin_read()?;
                let values = txn.open_table(VALUES)?;
                let mut rows = Vec::new();
                for row in values.iter()? {
                    let (position, _) = row?;
                    let (p, s, k) = position.value();
                    rows.push((p.to_owned(), s.to_owned(), k.to_owned()));
                }
                Ok(rows)
            })
            .await?;
        rows.into_iter()
            .map(|(p, s, k)| {
                // Keys were validated on the way in; a row that fails now is corruption.
                Key::new(&p, &s, &k).map_err(|e| {
                    Error::backend(&name, Operation::ListAllKeys, format!("{p}/{s}/{k}"), e)
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::parse_token;

    #[test]
    fn tokens_are_decimal_sequences_only() {
        assert_eq!(parse_token("42"), Some(42));
        assert_eq!(parse_token(""), None);
        assert_eq!(parse_token("-1"), None);
        assert_eq!(parse_token("+1"), None);
        assert_eq!(parse_token("99999999999999999999999"), None);
    }
}
