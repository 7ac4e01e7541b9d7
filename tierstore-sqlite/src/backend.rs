//! [`SqliteBackend`]: opening a database, and the [`Backend`] implementation.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use tierstore_core::{
    Backend, BoxError, Bytes, Error, Key, KeyError, Namespace, Operation, Page, async_trait,
};
use tokio::sync::oneshot;

use crate::options::SqliteOptions;
use crate::readers::Readers;
use crate::schema::{self, DEFAULT_TABLE, SchemaError, Statements};
use crate::writer::{Failure, Job, Mutation, Writer};

/// A [`Backend`] in one SQLite database file, schema-compatible with ldk-node's
/// `SqliteStore` (v3). See the [crate documentation](crate) for the data model, durability
/// and concurrency.
///
/// Cloning is cheap and shares the database. Dropping the last clone stops the writer
/// thread and closes every connection before it returns (it waits for a commit in progress,
/// a few milliseconds), so the files can be reopened or deleted right after.
#[derive(Clone)]
pub struct SqliteBackend {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    path: PathBuf,
    statements: Statements,
    /// `None` when opened read-only: no writer thread, writes and removes are refused.
    writer: Option<Writer>,
    readers: Readers,
}

impl SqliteBackend {
    /// Opens (or creates, with mode 0600) the database at `path` with the default, durable
    /// options: table `ldk_data`, WAL, `synchronous=FULL`.
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteBackend, Error> {
        Self::open_with(path.as_ref(), SqliteOptions::new()).await
    }

    /// Options for opening a database; see [`SqliteOptions`].
    pub fn options() -> SqliteOptions {
        SqliteOptions::new()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Opens an existing database at `path` for reading only, with the default table: no
    /// file or directory is created, no schema is migrated, no writer thread is started, and
    /// writes and removes fail. For tools that inspect a store (`tierstore ls`, `verify`).
    ///
    /// A missing file, or a database without the table, is an [`Error::Config`] naming the
    /// path.
    pub async fn open_read_only(path: impl AsRef<Path>) -> Result<SqliteBackend, Error> {
        Self::open_read_only_with(path.as_ref(), SqliteOptions::new()).await
    }

    /// The display name of the database at `path`, once `options` are known to be valid.
    fn checked_name(path: &Path, options: &SqliteOptions) -> Result<String, Error> {
        let name = if options.table == DEFAULT_TABLE {
            format!("sqlite:{}", path.display())
        } else {
            format!("sqlite:{}?table={}", path.display(), options.table)
        };
        options.validate().map_err(|reason| Error::config(format!("{name}: {reason}")))?;
        Ok(name)
    }

    pub(crate) async fn open_read_only_with(
        path: &Path,
        options: SqliteOptions,
    ) -> Result<SqliteBackend, Error> {
        let name = Self::checked_name(path, &options)?;
        let path = path.to_path_buf();
        let readers = Readers::new(path.clone());
        let table = options.table.clone();
        let checked = tokio::task::spawn_blocking({
            let path = path.clone();
            move || check_readable(&path, &table)
        })
        .await
        .map_err(|e| Error::backend(&name, Operation::Open, path.display(), e))?;
        checked.map_err(|e| open_failed(&name, &path, e))?;
        let statements = Statements::new(&options.table);
        Ok(SqliteBackend {
            inner: Arc::new(Inner { name, path, statements, writer: None, readers }),
        })
    }

    pub(crate) async fn open_with(
        path: &Path,
        options: SqliteOptions,
    ) -> Result<SqliteBackend, Error> {
        let name = Self::checked_name(path, &options)?;
        let path = path.to_path_buf();
        let opening = path.clone();
        let task_options = options.clone();
        let conn = tokio::task::spawn_blocking(move || open_writer(&opening, &task_options))
            .await
            .map_err(|e| Error::backend(&name, Operation::Open, path.display(), e))?
            .map_err(|e| open_failed(&name, &path, e))?;
        let statements = Statements::new(&options.table);
        let writer = Writer::spawn(conn, statements.clone(), options.max_batch, name.clone())
            .map_err(|e| Error::backend(&name, Operation::Open, path.display(), e))?;
        let readers = Readers::new(path.clone());
        let writer = Some(writer);
        Ok(SqliteBackend { inner: Arc::new(Inner { name, path, statements, writer, readers }) })
    }

    /// Queues `mutation` for the writer thread and waits for its commit.
    async fn mutate(&self, op: Operation, key: &Key, mutation: Mutation) -> Result<(), Error> {
        let Some(writer) = &self.inner.writer else {
            return Err(Error::backend(self, op, key, "the database was opened read-only"));
        };
        let (reply, outcome) = oneshot::channel();
        writer
            .send(Job { mutation, reply })
            .map_err(|_| Error::backend(self, op, key, "the writer thread has stopped"))?;
        match outcome.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(failure)) => Err(classify(self, op, key, failure)),
            Err(_) => Err(Error::backend(self, op, key, "the writer thread stopped mid-write")),
        }
    }

    /// Runs `f` on a read connection on a blocking thread.
    async fn read_with<T, F>(&self, op: Operation, target: String, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Statements) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let result = tokio::task::spawn_blocking(move || {
            inner.readers.with(|conn| f(conn, &inner.statements))
        })
        .await;
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(classify(self, op, target, Arc::new(e))),
            Err(join) => Err(Error::backend(self, op, target, join)),
        }
    }
}

enum OpenError {
    Io(std::io::Error),
    Schema(SchemaError),
}

impl From<rusqlite::Error> for OpenError {
    fn from(e: rusqlite::Error) -> Self {
        OpenError::Schema(SchemaError::Sqlite(e))
    }
}

/// The error of a failed open, naming the database: a missing file or an unsupported schema is
/// a configuration error, SQLite's own errors are classified as for any operation.
fn open_failed(name: &str, path: &Path, e: OpenError) -> Error {
    match e {
        OpenError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Error::config(format!("{name}: {} does not exist", path.display()))
        }
        OpenError::Io(e) => Error::backend(name, Operation::Open, path.display(), e),
        OpenError::Schema(SchemaError::Sqlite(e)) => {
            classify(name, Operation::Open, path.display(), Arc::new(e))
        }
        OpenError::Schema(SchemaError::Unsupported(reason)) => {
            Error::config(format!("{name}: {reason}"))
        }
    }
}

/// Creates the file (mode 0600) if needed, opens the writer's connection, applies the
/// pragmas and prepares the schema. Blocking.
fn open_writer(path: &Path, options: &SqliteOptions) -> Result<Connection, OpenError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(OpenError::Io)?;
    }
    create_private(path).map_err(OpenError::Io)?;
    let mut conn = Connection::open(path)?;
    schema::configure(&conn)?;
    // The page size only applies to a database without tables, and must precede WAL mode.
    if let Some(size) = options.page_size {
        conn.pragma_update(None, "page_size", size)?;
    }
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", options.journal_mode.pragma(), |row| {
            row.get(0)
        })?;
    if !mode.eq_ignore_ascii_case(options.journal_mode.pragma()) {
        return Err(OpenError::Schema(SchemaError::Unsupported(format!(
            "journal_mode {} was requested but SQLite kept {mode}",
            options.journal_mode.pragma()
        ))));
    }
    conn.pragma_update(None, "synchronous", options.synchronous.pragma())?;
    schema::prepare(&mut conn, options).map_err(OpenError::Schema)?;
    Ok(conn)
}

/// Checks, without writing anything, that `path` is a database this crate can read: it
/// exists, has `table`, and the current schema version (a version-2 database needs the
/// migration a read-write open does). Blocking.
fn check_readable(path: &Path, table: &str) -> Result<(), OpenError> {
    std::fs::metadata(path).map_err(OpenError::Io)?;
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let has_table = schema::has_table(&conn, table)?;
    if !has_table {
        return Err(OpenError::Schema(SchemaError::Unsupported(format!(
            "{} has no table {table}: not a TierStore or ldk-node database",
            path.display()
        ))));
    }
    if version != schema::SCHEMA_VERSION {
        return Err(OpenError::Schema(SchemaError::Unsupported(format!(
            "schema version {version}, but a read-only open reads only version {}; open it \
             read-write once to migrate it",
            schema::SCHEMA_VERSION
        ))));
    }
    Ok(())
}

/// Creates an empty file readable by its owner only, unless it exists. SQLite gives its
/// `-wal` and `-shm` files the same permissions as the database file.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    match create.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Maps a SQLite error: a busy or locked database is transient (another connection holds
/// the lock), everything else permanent.
fn classify(
    backend: impl fmt::Display,
    op: Operation,
    target: impl fmt::Display,
    failure: Failure,
) -> Error {
    let transient = matches!(
        failure.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    );
    let source: BoxError = Box::new(failure);
    if transient {
        Error::transient(backend, op, target, source)
    } else {
        Error::backend(backend, op, target, source)
    }
}

/// A page token: the position `(sort_order, key)` of the last key of the previous page.
/// Positions stay valid after that key is deleted.
fn format_token(sort_order: i64, key: &str) -> String {
    format!("{sort_order}:{key}")
}

fn parse_token(namespace: &Namespace, token: &str) -> Result<(i64, String), Error> {
    let invalid = |why: &str| {
        Error::invalid_input(
            Operation::ListPage,
            format!("page token {token:?} for namespace {namespace}: {why}"),
        )
    };
    let (order, key) =
        token.split_once(':').ok_or_else(|| invalid("expected `<sort order>:<key>`"))?;
    let order: i64 = order.parse().map_err(|_| invalid("the sort order is not an integer"))?;
    namespace.key(key).map_err(|e: KeyError| invalid(&e.to_string()))?;
    Ok((order, key.to_owned()))
}

impl fmt::Display for SqliteBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.name)
    }
}

impl fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteBackend").field("name", &self.inner.name).finish_non_exhaustive()
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn read(&self, key: &Key) -> Result<Vec<u8>, Error> {
        let owned = key.clone();
        let found = self
            .read_with(Operation::Read, key.to_string(), move |conn, sql| {
                let mut statement = conn.prepare_cached(&sql.read)?;
                statement
                    .query_row(params![owned.primary(), owned.secondary(), owned.key()], |row| {
                        // ldk-node's column is nullable; a NULL value reads as empty.
                        row.get::<_, Option<Vec<u8>>>(0)
                    })
                    .optional()
            })
            .await?;
        match found {
            Some(value) => Ok(value.unwrap_or_default()),
            None => Err(Error::not_found(self, Operation::Read, key)),
        }
    }

    async fn write(&self, key: &Key, value: Bytes) -> Result<(), Error> {
        self.mutate(Operation::Write, key, Mutation::Write { key: key.clone(), value }).await
    }

    /// One job for the writer thread: the entries are applied in order inside one group's
    /// transaction, so a page of a copy costs one fsync.
    async fn write_batch(&self, entries: Vec<(Key, Bytes)>) -> Result<(), Error> {
        let keys: Vec<Key> = entries.iter().map(|(k, _)| k.clone()).collect();
        let Some(first) = keys.first() else { return Ok(()) };
        let failed_at = Arc::new(AtomicUsize::new(0));
        let (reply, outcome) = oneshot::channel();
        let mutation = Mutation::Batch { entries, failed_at: Arc::clone(&failed_at) };
        let op = Operation::Write;
        let Some(writer) = &self.inner.writer else {
            return Err(Error::backend(self, op, first, "the database was opened read-only"));
        };
        writer
            .send(Job { mutation, reply })
            .map_err(|_| Error::backend(self, op, first, "the writer thread has stopped"))?;
        match outcome.await {
            Ok(Ok(())) => Ok(()),
            // Named after the entry that failed; those before it are stored.
            Ok(Err(failure)) => {
                let key = keys.get(failed_at.load(Ordering::Relaxed)).unwrap_or(first);
                Err(classify(self, op, key, failure))
            }
            Err(_) => Err(Error::backend(self, op, first, "the writer thread stopped mid-write")),
        }
    }

    async fn remove(&self, key: &Key, _lazy: bool) -> Result<(), Error> {
        // Removes are group-committed like writes already: nothing to gain by deferring.
        self.mutate(Operation::Remove, key, Mutation::Remove { key: key.clone() }).await
    }

    async fn list(&self, namespace: &Namespace) -> Result<Vec<String>, Error> {
        let ns = namespace.clone();
        self.read_with(Operation::List, namespace.to_string(), move |conn, sql| {
            let mut statement = conn.prepare_cached(&sql.list)?;
            let rows = statement
                .query_map(params![ns.primary(), ns.secondary()], |row| row.get::<_, String>(0))?;
            rows.collect()
        })
        .await
    }

    async fn list_page(
        &self,
        namespace: &Namespace,
        token: Option<&str>,
        limit: usize,
    ) -> Result<Page, Error> {
        let after = token.map(|token| parse_token(namespace, token)).transpose()?;
        if limit == 0 {
            return Ok(Page::new(Vec::new(), token.map(str::to_owned)));
        }
        let ns = namespace.clone();
        // One row more than the page tells whether an older key remains.
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        let mut rows = self
            .read_with(Operation::ListPage, namespace.to_string(), move |conn, sql| {
                let map = |row: &rusqlite::Row<'_>| Ok((row.get::<_, String>(0)?, row.get(1)?));
                match after {
                    None => {
                        let mut statement = conn.prepare_cached(&sql.first_page)?;
                        statement
                            .query_map(params![ns.primary(), ns.secondary(), fetch], map)?
                            .collect::<rusqlite::Result<Vec<(String, i64)>>>()
                    }
                    Some((order, key)) => {
                        let mut statement = conn.prepare_cached(&sql.next_page)?;
                        statement
                            .query_map(
                                params![ns.primary(), ns.secondary(), order, key, fetch],
                                map,
                            )?
                            .collect()
                    }
                }
            })
            .await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = match rows.last() {
            Some((key, order)) if more => Some(format_token(*order, key)),
            _ => None,
        };
        Ok(Page::new(rows.into_iter().map(|(key, _)| key).collect(), next))
    }

    async fn list_all_keys(&self) -> Result<Vec<Key>, Error> {
        let rows = self
            .read_with(Operation::ListAllKeys, "*".to_owned(), |conn, sql| {
                let mut statement = conn.prepare_cached(&sql.list_all)?;
                let rows = statement.query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        rows.into_iter()
            .map(|(primary, secondary, key)| {
                Key::new(&primary, &secondary, &key).map_err(|e| {
                    Error::backend(
                        self,
                        Operation::ListAllKeys,
                        format!("{primary}/{secondary}/{key}"),
                        format!("a row holds a key LDK would not accept: {e}"),
                    )
                })
            })
            .collect()
    }

    async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        let rows = self
            .read_with(Operation::ListAllKeys, "*".to_owned(), |conn, sql| {
                let mut statement = conn.prepare_cached(&sql.list_namespaces)?;
                let rows = statement.query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        rows.into_iter()
            .map(|(primary, secondary)| {
                Namespace::new(&primary, &secondary).map_err(|e| {
                    Error::backend(
                        self,
                        Operation::ListAllKeys,
                        format!("{primary}/{secondary}"),
                        format!("a row holds a namespace LDK would not accept: {e}"),
                    )
                })
            })
            .collect()
    }
}
