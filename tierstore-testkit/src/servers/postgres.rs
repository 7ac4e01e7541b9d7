//! The PostgreSQL fixture: a private server (`initdb` + `postgres`) on a free loopback port,
//! or the server named by the environment.
//!
//! [`shared_url`] is what tests call: `TIERSTORE_POSTGRES_URL` when it is set (as `cargo xtask
//! test` does), otherwise the URL of one server per test binary, initialised in a temporary
//! directory on first use and stopped when the process exits. Tests isolate themselves with
//! [`unique_table`]. Nothing is skipped: if no server can be had, `shared_url` panics with
//! the reason.
//!
//! Servers started here are configured the way a primary or backup database should be:
//! `fsync=on`, `synchronous_commit=on`, `full_page_writes=on` (a commit is acknowledged once
//! its WAL is flushed), listening on 127.0.0.1 only, without a Unix socket, with `trust`
//! authentication for the superuser `postgres` (the URL carries no password). They never use
//! port 5432, so the machine's own cluster is never touched.
//!
//! `initdb` and `postgres` refuse to run as root. When the tests run as root (as on CI
//! machines), the fixture runs both as the `postgres` user of the Debian package (through
//! `setpriv`) and gives that user the server's directory; otherwise they run as the current
//! user.
//!
//! The binaries come from `$TIERSTORE_POSTGRES_BIN_DIR`, else the newest
//! `/usr/lib/postgresql/<version>/bin` (Debian package `postgresql`), else `PATH`.
//!
//! ```no_run
//! let url = tierstore_testkit::servers::postgres::shared_url();
//! let table = tierstore_testkit::servers::postgres::unique_table("my_test");
//! println!("{url} {table}");
//! ```

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::env_var;
use super::process::{ServerProcess, free_port};
pub use super::unique_prefix;

/// How long a server may take to accept connections (crash recovery after [`kill`] replays
/// the WAL first).
///
/// [`kill`]: PostgresServer::kill
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The port a system PostgreSQL listens on; never used by the fixture.
const SYSTEM_PORT: u16 = 5432;

/// The user the server runs as when the tests run as root.
const SERVER_USER: &str = "postgres";

/// The database superuser `initdb` creates, and the database the URL names.
const SUPERUSER: &str = "postgres";

/// A running PostgreSQL server, stopped when the test process exits or on [`stop`](Self::stop)
/// / [`kill`](Self::kill).
#[derive(Debug)]
pub struct PostgresServer {
    process: ServerProcess,
    port: u16,
    data: PathBuf,
}

impl PostgresServer {
    /// Initialises a cluster in a fresh temporary directory (deleted when the server stops),
    /// starts it on a free loopback port and waits until it accepts connections.
    pub fn start() -> io::Result<PostgresServer> {
        Self::start_temporary(None)
    }

    /// [`start`](Self::start)s a server whose superuser `postgres` must log in with
    /// `password` (SCRAM) over TCP; [`url`](Self::url) does not carry it.
    pub fn start_with_password(password: &str) -> io::Result<PostgresServer> {
        Self::start_temporary(Some(password))
    }

    fn start_temporary(password: Option<&str>) -> io::Result<PostgresServer> {
        let tools = Tools::find()?;
        let dir = tempfile::Builder::new().prefix("tierstore-postgres-").tempdir()?.keep();
        let port = pick_port()?;
        let started = (|| {
            let data = prepare(&tools, &dir, password)?;
            let process =
                ServerProcess::adopt(dir.clone(), &tools.launcher, &tools.args(&data, port))?;
            Self::ready(&tools, process, port, data)
        })();
        if started.is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        started
    }

    /// Starts a server on `port` with its cluster in `dir/data` (initialised on first use),
    /// which is kept when the server stops: a test can stop or kill the server and start it
    /// again on the same data and port. The fixture gives `dir` to the server's user.
    pub fn start_in(dir: &Path, port: u16) -> io::Result<PostgresServer> {
        if port == SYSTEM_PORT {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "port 5432 belongs to the system PostgreSQL; the fixture never uses it",
            ));
        }
        let tools = Tools::find()?;
        std::fs::create_dir_all(dir)?;
        let data = prepare(&tools, dir, None)?;
        let process = ServerProcess::start_in(dir, &tools.launcher, &tools.args(&data, port))?;
        Self::ready(&tools, process, port, data)
    }

    /// Waits until the server accepts connections (the port opens before crash recovery ends).
    fn ready(
        tools: &Tools,
        mut process: ServerProcess,
        port: u16,
        data: PathBuf,
    ) -> io::Result<PostgresServer> {
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let timed_out = |reason: String| io::Error::new(io::ErrorKind::TimedOut, reason);
        process.wait_for_port(addr, START_TIMEOUT).map_err(timed_out)?;
        let started = Instant::now();
        loop {
            let probe = Command::new(tools.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", SUPERUSER])
                .args(["-d", SUPERUSER])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            if probe.success() {
                return Ok(PostgresServer { process, port, data });
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(timed_out(format!(
                    "PostgreSQL on {addr} does not accept connections after {START_TIMEOUT:?}; \
                     server log:\n{}",
                    process.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's URL, `postgres://postgres@127.0.0.1:<port>/postgres` (trust
    /// authentication: no password).
    pub fn url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{SUPERUSER}", self.port)
    }

    /// The port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }

    /// Stops the server now, with a fast shutdown (clients are disconnected, a checkpoint is
    /// written), and waits for it. A temporary directory is deleted; a caller's directory
    /// ([`start_in`](Self::start_in)) is kept.
    pub fn stop(self) {
        self.signal("INT");
        self.process.stop();
    }

    /// Kills the postmaster (`SIGKILL`), as a crash would, and waits until every server
    /// process has exited, so that the next start on the same data runs crash recovery from
    /// the WAL. Use with [`start_in`](Self::start_in)'s directory.
    pub fn kill(self) {
        self.signal("KILL");
        let data = self.data.clone();
        self.process.stop();
        // The backends notice the postmaster's death and exit; until they have, a new
        // postmaster would refuse the data directory. Every server process runs in it.
        let deadline = Instant::now() + START_TIMEOUT;
        while processes_in(&data) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` to the postmaster (its pid is the first line of `postmaster.pid`).
    fn signal(&self, signal: &str) {
        let pid = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next().map(str::to_owned));
        if let Some(pid) = pid {
            let _ = Command::new("kill")
                .args([&format!("-{signal}"), &pid])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The URL of this test binary's PostgreSQL: `TIERSTORE_POSTGRES_URL` if set and non-empty,
/// else a private server started on first use and stopped when the process exits.
///
/// Blocks while that server is initialised and started (about a second); from async code,
/// call it through `tokio::task::spawn_blocking`.
///
/// # Panics
///
/// If no server can be had, with the reason (missing binaries, a server that does not start).
/// Tests never skip.
pub fn shared_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    static SERVER: OnceLock<PostgresServer> = OnceLock::new();
    URL.get_or_init(|| {
        if let Some(url) = env_var("TIERSTORE_POSTGRES_URL") {
            return url;
        }
        SERVER
            .get_or_init(|| {
                PostgresServer::start()
                    .unwrap_or_else(|e| panic!("cannot start the PostgreSQL test server: {e}"))
            })
            .url()
    })
    .clone()
}

/// A table name no other test (of this or another run) uses: `t_<test>_<pid>_<n>_<time>`,
/// lower case, at most 49 bytes, so that the pagination index name `idx_<table>_paginated`
/// stays within PostgreSQL's 63-byte identifiers.
pub fn unique_table(test: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let test: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .take(16)
        .collect();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!(
        "t_{test}_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos % 1_000_000_000_000
    )
}

/// Where the server's programs are, and how to run them as the server's user.
struct Tools {
    /// The directory of `initdb`, `postgres`, `pg_isready`.
    bin: PathBuf,
    /// `setpriv` when running as root, else `postgres` itself.
    launcher: PathBuf,
    /// The server user's uid and gid, when running as root.
    owner: Option<(u32, u32)>,
}

impl Tools {
    fn find() -> io::Result<Tools> {
        let not_found = |reason: String| io::Error::new(io::ErrorKind::NotFound, reason);
        let bin = bin_dir().ok_or_else(|| {
            not_found(
                "PostgreSQL's `postgres` and `initdb` not found (set TIERSTORE_POSTGRES_BIN_DIR, \
                 or run `cargo xtask test`, which installs the Debian package `postgresql`)"
                    .to_owned(),
            )
        })?;
        if !is_root() {
            return Ok(Tools { launcher: bin.join("postgres"), bin, owner: None });
        }
        let owner = user_ids(SERVER_USER).ok_or_else(|| {
            not_found(format!(
                "running as root, and PostgreSQL refuses root: the user `{SERVER_USER}` (created \
                 by the Debian package `postgresql`) is missing"
            ))
        })?;
        let launcher = PathBuf::from("/usr/bin/setpriv");
        if !launcher.is_file() {
            return Err(not_found("running as root needs /usr/bin/setpriv (util-linux)".into()));
        }
        Ok(Tools { bin, launcher, owner: Some(owner) })
    }

    /// `program` run as the server's user: `setpriv ... program` as root, else `program`.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match self.owner {
            Some((uid, gid)) => {
                let mut cmd = Command::new(&self.launcher);
                cmd.args([
                    format!("--reuid={uid}"),
                    format!("--regid={gid}"),
                    "--clear-groups".to_owned(),
                ]);
                cmd.arg(program);
                cmd
            }
            None => Command::new(program),
        }
    }

    /// The supervised command line: the launcher's arguments, then the server's.
    fn args(&self, data: &Path, port: u16) -> Vec<String> {
        let mut args = Vec::new();
        if let Some((uid, gid)) = self.owner {
            args.extend([
                format!("--reuid={uid}"),
                format!("--regid={gid}"),
                "--clear-groups".to_owned(),
                self.bin.join("postgres").display().to_string(),
            ]);
        }
        args.extend([
            "-D".to_owned(),
            data.display().to_string(),
            "-p".to_owned(),
            port.to_string(),
        ]);
        for setting in [
            "listen_addresses=127.0.0.1",
            // No Unix socket: nothing to clash with the system cluster's.
            "unix_socket_directories=",
            // Durable: a commit is acknowledged once its WAL is flushed.
            "fsync=on",
            "synchronous_commit=on",
            "full_page_writes=on",
            // Several test binaries' pools at once.
            "max_connections=300",
            "shared_buffers=32MB",
            "logging_collector=off",
            "log_min_messages=warning",
        ] {
            args.extend(["-c".to_owned(), setting.to_owned()]);
        }
        args
    }
}

/// Gives `dir` to the server's user and initialises `dir/data` unless it holds a cluster:
/// `trust` authentication, or SCRAM over TCP with `password` for the superuser.
fn prepare(tools: &Tools, dir: &Path, password: Option<&str>) -> io::Result<PathBuf> {
    if let Some((uid, gid)) = tools.owner {
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))?;
    }
    let data = dir.join("data");
    if data.join("PG_VERSION").is_file() {
        return Ok(data);
    }
    let mut initdb = tools.command("initdb");
    initdb.arg("-D").arg(&data);
    initdb.args(["-U", SUPERUSER, "--encoding=UTF8", "--locale=C", "--no-sync"]);
    let pwfile = dir.join("pwfile");
    match password {
        None => {
            initdb.arg("--auth=trust");
        }
        Some(password) => {
            std::fs::write(&pwfile, password)?;
            if let Some((uid, gid)) = tools.owner {
                std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid))?;
            }
            initdb.args(["--auth-local=trust", "--auth-host=scram-sha-256"]);
            initdb.arg(format!("--pwfile={}", pwfile.display()));
        }
    }
    let output = initdb.output();
    let _ = std::fs::remove_file(&pwfile);
    let output = output?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "initdb -D {} failed ({}): {}{}",
            data.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(data)
}

/// Where the fixture finds `initdb`, `postgres` and `pg_isready`:
/// `$TIERSTORE_POSTGRES_BIN_DIR`, else the newest Debian `/usr/lib/postgresql/*/bin`, else the
/// directory of `postgres` on `PATH`; `None` if there is none (`cargo xtask test` then
/// installs the Debian package `postgresql`).
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = env_var("TIERSTORE_POSTGRES_BIN_DIR") {
        return Some(PathBuf::from(dir));
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("postgres").is_file() && bin.join("initdb").is_file())
                .then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin);
    newest.or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .find(|dir| dir.join("postgres").is_file() && dir.join("initdb").is_file())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// The uid and gid of `user`, from `/etc/passwd`.
fn user_ids(user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != user {
            return None;
        }
        let _password = fields.next()?;
        Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
    })
}

/// Whether any process still runs in `data` (every PostgreSQL server process does).
fn processes_in(data: &Path) -> bool {
    let Ok(data) = data.canonicalize() else { return false };
    std::fs::read_dir("/proc").into_iter().flatten().flatten().any(|entry| {
        entry.file_name().to_str().is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()))
            && std::fs::read_link(entry.path().join("cwd")).is_ok_and(|cwd| cwd == data)
    })
}

/// A free loopback port other than the system PostgreSQL's.
fn pick_port() -> io::Result<u16> {
    loop {
        let port = free_port()?;
        if port != SYSTEM_PORT {
            return Ok(port);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_port_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = PostgresServer::start_in(dir.path(), SYSTEM_PORT).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn table_names_are_unique_short_identifiers() {
        let a = unique_table("A very long test name: with/odd chars");
        let b = unique_table("A very long test name: with/odd chars");
        assert_ne!(a, b);
        assert!(a.len() <= 49, "{a} is {} bytes", a.len());
        assert!(a.starts_with("t_a_very_long_te"), "{a}");
        assert!(
            a.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'),
            "{a}"
        );
    }

    #[test]
    fn a_private_server_starts_serves_and_stops() {
        let server = PostgresServer::start().expect("PostgreSQL starts");
        let addr: SocketAddr = ([127, 0, 0, 1], server.port()).into();
        assert!(server.url().ends_with(&format!(":{}/postgres", server.port())));
        let data = server.data_dir().to_path_buf();
        assert!(data.join("PG_VERSION").is_file());
        server.stop();
        assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err());
        assert!(!data.exists(), "the temporary directory is removed");
    }
}
