//! The Redis fixture: a `redis-server` on a free loopback port, or the server named by the
//! environment.
//!
//! [`shared_url`] is what tests call: `TIERSTORE_REDIS_URL` when it is set (as `cargo xtask
//! test` does), otherwise the URL of one `redis-server` per test binary, started on first use
//! and stopped when the process exits. Tests isolate themselves with [`unique_prefix`].
//! Nothing is skipped: if no server can be had, `shared_url` panics with the reason.
//!
//! Servers started here are durable the way a primary or backup Redis should be configured:
//! `--appendonly yes --appendfsync always` (every acknowledged write is fsynced), no RDB
//! snapshots, listening on 127.0.0.1 only. They never use port 6379, so a system Redis is
//! never touched.
//!
//! The binary is `$TIERSTORE_REDIS_SERVER`, else `/usr/bin/redis-server` (Debian package
//! `redis-server`), else `redis-server` on `PATH`.
//!
//! ```no_run
//! let url = tierstore_testkit::servers::redis::shared_url();
//! let prefix = tierstore_testkit::servers::redis::unique_prefix("my_test");
//! println!("{url} {prefix}");
//! ```

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::env_var;
use super::process::{ServerProcess, find_program, free_port};
pub use super::unique_prefix;

/// How long `redis-server` may take to answer `PING` (it usually takes a few milliseconds;
/// replaying a large AOF after a restart takes longer).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The port a system Redis listens on; never used by the fixture.
const SYSTEM_PORT: u16 = 6379;

/// A running `redis-server`, stopped when the test process exits or on [`stop`](Self::stop).
#[derive(Debug)]
pub struct RedisServer {
    process: ServerProcess,
    port: u16,
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port in a fresh temporary directory (deleted
    /// when the server stops), and waits until it answers `PING`.
    pub fn start() -> io::Result<RedisServer> {
        let port = pick_port()?;
        let program = program()?;
        let process = ServerProcess::start("redis", &program, &args(port))?;
        Self::ready(process, port)
    }

    /// Starts `redis-server` on `port` with its data in `dir`, which is kept when the server
    /// stops: a test can stop the server and start it again on the same data and port.
    pub fn start_in(dir: &Path, port: u16) -> io::Result<RedisServer> {
        if port == SYSTEM_PORT {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "port 6379 belongs to the system Redis; the fixture never uses it",
            ));
        }
        let program = program()?;
        let process = ServerProcess::start_in(dir, &program, &args(port))?;
        Self::ready(process, port)
    }

    /// Waits until the server answers `PING` (the port opens before the AOF is loaded).
    fn ready(mut process: ServerProcess, port: u16) -> io::Result<RedisServer> {
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let timed_out = |reason: String| io::Error::new(io::ErrorKind::TimedOut, reason);
        process.wait_for_port(addr, START_TIMEOUT).map_err(timed_out)?;
        let started = Instant::now();
        loop {
            match ping(addr) {
                Ok(()) => return Ok(RedisServer { process, port }),
                Err(_) if started.elapsed() < START_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(timed_out(format!(
                        "redis-server on {addr} does not answer PING: {e}; server log:\n{}",
                        process.log_tail()
                    )));
                }
            }
        }
    }

    /// The server's URL, `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }

    /// Stops the server now (SIGTERM) and waits for it. A temporary directory is deleted;
    /// a caller's directory ([`start_in`](Self::start_in)) is kept.
    pub fn stop(self) {
        self.process.stop();
    }
}

/// The URL of this test binary's Redis: `TIERSTORE_REDIS_URL` if set and non-empty, else a
/// `redis-server` started on first use and stopped when the process exits.
///
/// Blocks only while that server starts (milliseconds) and returns at once afterwards, so async
/// tests may call it directly; code that must never block can call it through
/// `tokio::task::spawn_blocking`.
///
/// # Panics
///
/// If no server can be had, with the reason (a missing `redis-server` binary, a server that
/// does not start). Tests never skip.
pub fn shared_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    static SERVER: OnceLock<RedisServer> = OnceLock::new();
    URL.get_or_init(|| {
        if let Some(url) = env_var("TIERSTORE_REDIS_URL") {
            return url;
        }
        SERVER
            .get_or_init(|| {
                RedisServer::start()
                    .unwrap_or_else(|e| panic!("cannot start the Redis test server: {e}"))
            })
            .url()
    })
    .clone()
}

fn program() -> io::Result<PathBuf> {
    find_program(
        "redis-server",
        "TIERSTORE_REDIS_SERVER",
        &[PathBuf::from("/usr/bin/redis-server")],
    )
    .map_err(|reason| io::Error::new(io::ErrorKind::NotFound, reason))
}

/// A free loopback port other than the system Redis's.
fn pick_port() -> io::Result<u16> {
    loop {
        let port = free_port()?;
        if port != SYSTEM_PORT {
            return Ok(port);
        }
    }
}

/// The command line of a durable, loopback-only server with its data in its working directory
/// (the server's directory, see [`ServerProcess`]).
fn args(port: u16) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--protected-mode",
        "no",
        "--dir",
        ".",
        // Every acknowledged write is in the append-only file and fsynced.
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        // No RDB snapshots: the AOF is the only persistence.
        "--save",
        "",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Sends `PING` over raw TCP and expects `+PONG`.
fn ping(addr: SocketAddr) -> io::Result<()> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"PING\r\n")?;
    let mut reply = [0u8; 64];
    let n = stream.read(&mut reply)?;
    let reply = String::from_utf8_lossy(&reply[..n]);
    if reply.starts_with("+PONG") {
        Ok(())
    } else {
        // e.g. `-LOADING Redis is loading the dataset in memory`.
        Err(io::Error::other(format!("PING answered {:?}", reply.trim_end())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_port_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = RedisServer::start_in(dir.path(), SYSTEM_PORT).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
