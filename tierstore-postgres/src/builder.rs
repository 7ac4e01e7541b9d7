//! [`PostgresBuilder`]: table, pool size, TLS and password, then
//! [`connect`](PostgresBuilder::connect).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tierstore_core::Error;
use tokio_postgres::Config;
use tokio_postgres::config::Host;

use crate::backend::PostgresBackend;
use crate::conninfo::{ConnInfo, display_name};
use crate::password::{self, Target};
use crate::schema::{LDK_NODE_TABLE, Table};
use crate::tls::{RootCerts, SslMode};

/// Connections a backend's pool opens at most, by default. Sixteen writes in flight each get
/// a connection of their own, so their commits share PostgreSQL's WAL flushes.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long opening one connection may take, by default.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request may wait for a free connection when all are busy (e.g. with 64 MiB
/// values) before failing with a transient error.
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of a [`PostgresBackend`]: the table, the pool, TLS and the password. Built by
/// [`PostgresBackend::builder`]; [`connect`](Self::connect) opens the backend.
///
/// Settings made here win over the same settings in the connection string.
///
/// ```no_run
/// # async fn example() -> Result<(), tierstore_core::Error> {
/// use tierstore_postgres::{PostgresBackend, SslMode};
///
/// let backend = PostgresBackend::builder("host=db.internal user=node dbname=lightning")
///     .table("ldk_data")
///     .pool_size(32)
///     .ssl_mode(SslMode::VerifyFull)
///     .root_certificates_file("/etc/ssl/db-ca.pem")
///     .connect()
///     .await?;
/// # drop(backend);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresBuilder {
    conn_str: String,
    table: String,
    pool_size: usize,
    ssl_mode: Option<SslMode>,
    root_certs: Option<RootCerts>,
    password: Option<String>,
    connect_timeout: Duration,
}

impl PostgresBuilder {
    pub(crate) fn new(conn_str: &str) -> PostgresBuilder {
        PostgresBuilder {
            conn_str: conn_str.to_owned(),
            table: LDK_NODE_TABLE.to_owned(),
            pool_size: DEFAULT_POOL_SIZE,
            ssl_mode: None,
            root_certs: None,
            password: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// The table holding the data: `table` or `schema.table`, each part of `[A-Za-z0-9_]`,
    /// at most 49 bytes (default [`LDK_NODE_TABLE`], ldk-node's).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// Connections the pool opens at most (at least one; default [`DEFAULT_POOL_SIZE`]).
    /// Connections are opened on demand and reopened after the server restarts.
    pub fn pool_size(mut self, connections: usize) -> Self {
        self.pool_size = connections.max(1);
        self
    }

    /// libpq's `sslmode` (default: the connection string's, else `prefer`).
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = Some(mode);
        self
    }

    /// Trusts the CA certificates in this PEM text (instead of the system's).
    pub fn root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certs = Some(RootCerts::Pem(pem.into()));
        self
    }

    /// Trusts the CA certificates in this PEM file (libpq's `sslrootcert`).
    pub fn root_certificates_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.root_certs = Some(RootCerts::File(path.into()));
        self
    }

    /// Trusts the system's root certificates (libpq's `sslrootcert=system`).
    pub fn system_root_certificates(mut self) -> Self {
        self.root_certs = Some(RootCerts::System);
        self
    }

    /// The password, instead of the connection string's, `PGPASSWORD` or the password file.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// How long opening one connection may take (default 5 s; the connection string's
    /// `connect_timeout` wins if set).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Opens the backend: parses the connection string, builds the pool, and creates or checks
    /// the table.
    ///
    /// Fails with [`Error::Config`] for a bad connection string, table name or TLS setting, and
    /// for a table this crate must not use (a newer schema version, another shape). If the
    /// server cannot be reached (or fails transiently), the backend is returned all the same
    /// — a node must be able to start during an outage — and the table is created or checked
    /// by the first operation that reaches the server; until then operations fail with
    /// transient errors. Permanent refusals (wrong password, missing database) fail here.
    pub async fn connect(self) -> Result<PostgresBackend, Error> {
        let table = Table::new(&self.table).map_err(|e| Error::config(format!("postgres: {e}")))?;
        // Reads the password file and certificates: blocking.
        let resolved = tokio::task::spawn_blocking(move || self.resolve())
            .await
            .map_err(|e| Error::config(format!("postgres: resolving the configuration: {e}")))??;
        let Resolved { pool, name, password } = resolved;
        PostgresBackend::open(pool, format!("{name}/{}", table.name), table, password).await
    }

    /// The pool and the backend's name, from the connection string and the settings.
    fn resolve(self) -> Result<Resolved, Error> {
        let bad = |reason: String| Error::config(format!("postgres: {reason}"));
        let info = ConnInfo::parse(&self.conn_str)
            .map_err(|e| bad(format!("cannot use the connection string: {e}")))?;
        let ConnInfo { mut config, ssl_mode, root_certs, passfile } = info;
        let name = display_name(&config);
        let mode = self.ssl_mode.or(ssl_mode).unwrap_or(SslMode::Prefer);
        let roots = self.root_certs.or(root_certs);
        if let Some(password) = self.password {
            config.password(password);
        } else if config.get_password().is_none()
            && let Some(password) = lookup_password(&config, passfile)
        {
            config.password(password);
        }
        let password = config.get_password().map(|p| String::from_utf8_lossy(p).into_owned());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(self.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("tierstore");
        }
        config.ssl_mode(mode.negotiation());
        let manager =
            manager(config, mode, roots.as_ref()).map_err(|e| bad(format!("{name}: {e}")))?;
        let pool = Pool::builder(manager)
            .max_size(self.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT_TIMEOUT))
            .build()
            .map_err(|e| bad(format!("{name}: cannot build the connection pool: {e}")))?;
        Ok(Resolved { pool, name, password })
    }
}

struct Resolved {
    pool: Pool,
    name: String,
    password: Option<String>,
}

/// The pool's connection manager for `mode`: plain TCP for `disable`, rustls otherwise.
fn manager(config: Config, mode: SslMode, roots: Option<&RootCerts>) -> Result<Manager, String> {
    // A dropped connection is noticed by `is_closed` when it is taken from the pool; one that
    // died unnoticed fails its request with a transient error and is then discarded.
    let manager_config = ManagerConfig { recycling_method: RecyclingMethod::Fast };
    if mode == SslMode::Disable {
        return Ok(Manager::from_config(config, tokio_postgres::NoTls, manager_config));
    }
    #[cfg(feature = "tls")]
    {
        let tls = crate::tls::connector(mode, roots)?;
        Ok(Manager::from_config(config, tls, manager_config))
    }
    #[cfg(not(feature = "tls"))]
    {
        let _ = roots;
        Err(format!(
            "sslmode={mode} needs TLS, but tierstore-postgres was built without its `tls` \
             feature (use sslmode=disable, or enable the feature)"
        ))
    }
}

/// The password for the first host from `PGPASSWORD` or a password file.
fn lookup_password(config: &Config, passfile: Option<PathBuf>) -> Option<String> {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(Host::Unix(_)) | None => "localhost".to_owned(),
        #[cfg(not(unix))]
        None => "localhost".to_owned(),
    };
    let user = config.get_user().map(str::to_owned).or_else(|| std::env::var("USER").ok())?;
    let database = config.get_dbname().unwrap_or(&user).to_owned();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let target = Target { host: &host, port, database: &database, user: &user };
    password::lookup(&target, passfile.as_deref())
}

impl fmt::Debug for PostgresBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection string may hold a password: show only where it points.
        let target = ConnInfo::parse(&self.conn_str)
            .map_or_else(|_| "(unparsable)".to_owned(), |info| display_name(&info.config));
        f.debug_struct("PostgresBuilder")
            .field("server", &target)
            .field("table", &self.table)
            .field("pool_size", &self.pool_size)
            .field("ssl_mode", &self.ssl_mode)
            .field("root_certs", &self.root_certs)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}
