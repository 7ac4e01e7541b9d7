//! [`SqliteOptions`]: how a database is opened.

use std::fmt;
use std::path::Path;

use tierstore_core::Error;

use crate::SqliteBackend;
use crate::schema::DEFAULT_TABLE;

/// SQLite's journal mode (`PRAGMA journal_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum JournalMode {
    /// Write-ahead log (the default): readers never wait for a writer, and one fsync commits a
    /// transaction.
    #[default]
    Wal,
    /// Rollback journal, deleted after each transaction (SQLite's own default). Readers wait
    /// while a transaction commits.
    Delete,
    /// Rollback journal, truncated rather than deleted after each transaction.
    Truncate,
}

impl JournalMode {
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            JournalMode::Wal => "WAL",
            JournalMode::Delete => "DELETE",
            JournalMode::Truncate => "TRUNCATE",
        }
    }
}

/// SQLite's sync level (`PRAGMA synchronous`): what a commit waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// Every commit is fsynced before it is acknowledged (the default): an acknowledged write
    /// survives a crash of the process, of the OS and a power loss.
    #[default]
    Full,
    /// In WAL mode, commits are fsynced only at checkpoints. The database stays consistent,
    /// but a power loss or OS crash may roll back the last acknowledged writes. **Risky for
    /// channel monitors**: a node that forgets a monitor update it acknowledged can lose funds.
    /// Fine for the ephemeral role.
    Normal,
    /// No fsync at all. An OS crash or power loss may corrupt the database. Only for caches
    /// and tests.
    Off,
}

impl Synchronous {
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
            Synchronous::Off => "OFF",
        }
    }
}

/// How to open a [`SqliteBackend`]; the defaults are durable.
///
/// ```no_run
/// # async fn example() -> Result<(), tierstore_core::Error> {
/// use tierstore_sqlite::{JournalMode, SqliteOptions, Synchronous};
///
/// // ldk-node's file and table, opened by TierStore.
/// let store = SqliteOptions::new()
///     .table_name("ldk_node_data")
///     .journal_mode(JournalMode::Wal)
///     .synchronous(Synchronous::Full)
///     .open("/var/lib/node/ldk_node_data.sqlite")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    pub(crate) table: String,
    pub(crate) journal_mode: JournalMode,
    pub(crate) synchronous: Synchronous,
    pub(crate) page_size: Option<u32>,
    pub(crate) max_batch: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            table: DEFAULT_TABLE.to_owned(),
            journal_mode: JournalMode::default(),
            synchronous: Synchronous::default(),
            page_size: None,
            max_batch: 256,
        }
    }
}

impl fmt::Debug for SqliteOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteOptions")
            .field("table", &self.table)
            .field("journal_mode", &self.journal_mode)
            .field("synchronous", &self.synchronous)
            .field("page_size", &self.page_size)
            .field("max_batch", &self.max_batch)
            .finish()
    }
}

impl SqliteOptions {
    /// The defaults: table `ldk_data`, WAL, `synchronous=FULL`, SQLite's default page size,
    /// batches of up to 256 writes per commit.
    pub fn new() -> Self {
        Self::default()
    }

    /// The table holding the data (default `ldk_data`; ldk-node's is `ldk_node_data`).
    /// Checked when the database is opened: ASCII letters, digits and `_`, not starting with
    /// a digit.
    pub fn table_name(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// The journal mode (default [`JournalMode::Wal`]).
    pub fn journal_mode(mut self, mode: JournalMode) -> Self {
        self.journal_mode = mode;
        self
    }

    /// The sync level (default [`Synchronous::Full`]); see [`Synchronous`] for what the weaker
    /// levels risk.
    pub fn synchronous(mut self, level: Synchronous) -> Self {
        self.synchronous = level;
        self
    }

    /// The page size of a **new** database (a power of two from 512 to 65536); an existing
    /// database keeps its own.
    pub fn page_size(mut self, bytes: u32) -> Self {
        self.page_size = Some(bytes);
        self
    }

    /// The most writes committed in one transaction (default 256, at least 1).
    pub fn max_batch(mut self, writes: usize) -> Self {
        self.max_batch = writes;
        self
    }

    /// Opens (or creates, with mode 0600) the database at `path` with these options.
    pub async fn open(self, path: impl AsRef<Path>) -> Result<SqliteBackend, Error> {
        SqliteBackend::open_with(path.as_ref(), self).await
    }

    /// Opens an existing database at `path` for reading only, with these options (the table
    /// name matters; the write settings do not); see [`SqliteBackend::open_read_only`].
    pub async fn open_read_only(self, path: impl AsRef<Path>) -> Result<SqliteBackend, Error> {
        SqliteBackend::open_read_only_with(path.as_ref(), self).await
    }

    /// Checks the options; the error names the bad one.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let table = &self.table;
        let valid_table = table.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !table.to_ascii_lowercase().starts_with("sqlite_");
        if !valid_table {
            return Err(format!(
                "table name {table:?}: expected ASCII letters, digits and `_`, not starting with a \
                 digit or `sqlite_`"
            ));
        }
        if let Some(size) = self.page_size
            && !(size.is_power_of_two() && (512..=65536).contains(&size))
        {
            return Err(format!("page size {size}: expected a power of two from 512 to 65536"));
        }
        if self.max_batch == 0 {
            return Err("max_batch 0: at least one write per transaction".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_durable() {
        let options = SqliteOptions::new();
        assert_eq!(options.journal_mode, JournalMode::Wal);
        assert_eq!(options.synchronous, Synchronous::Full);
        assert_eq!(options.table, "ldk_data");
        assert!(options.validate().is_ok());
    }

    #[test]
    fn bad_options_are_named() {
        for (options, needle) in [
            (SqliteOptions::new().table_name("1abc"), "table name \"1abc\""),
            (SqliteOptions::new().table_name("a;drop"), "table name \"a;drop\""),
            (SqliteOptions::new().table_name(""), "table name \"\""),
            (SqliteOptions::new().table_name("sqlite_master"), "sqlite_master"),
            (SqliteOptions::new().page_size(1000), "page size 1000"),
            (SqliteOptions::new().page_size(256), "page size 256"),
            (SqliteOptions::new().max_batch(0), "max_batch 0"),
        ] {
            let err = options.validate().expect_err(needle);
            assert!(err.contains(needle), "{err:?} should name {needle:?}");
        }
        assert!(SqliteOptions::new().table_name("_x9").page_size(65536).validate().is_ok());
    }
}
