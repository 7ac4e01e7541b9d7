//! Starting server processes for tests: free loopback ports, a working directory, a log file,
//! and a supervisor that stops the server when the test process goes away.
//!
//! Fixtures keep their server in a `static`, which Rust never drops; so the server is not
//! stopped by a destructor but by its supervisor: a `sh` process that starts the server,
//! then blocks reading its stdin, a pipe from the test process. When the test process exits
//! — normally, by panic or by signal — the pipe closes, `read` returns, and the supervisor
//! kills the server, waits for it and deletes its directory.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running, supervised server.
#[derive(Debug)]
pub struct ServerProcess {
    supervisor: Child,
    dir: PathBuf,
    log: PathBuf,
}

/// Who owns the server's directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DirOwner {
    /// A temporary directory, deleted when the server stops.
    Server,
    /// The caller's directory, kept (e.g. to restart a server on the same data).
    Caller,
}

/// Picks a free TCP port on 127.0.0.1 (the OS's choice of an ephemeral port).
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl ServerProcess {
    /// Starts `program args...` in a fresh temporary directory, with its output in
    /// `<dir>/server.log`.
    pub fn start(name: &str, program: &Path, args: &[String]) -> io::Result<ServerProcess> {
        let dir = tempfile::Builder::new().prefix(&format!("tierstore-{name}-")).tempdir()?.keep();
        Self::spawn(dir, DirOwner::Server, program, args)
    }

    /// Starts `program args...` in the caller's directory `dir`, which is kept when the
    /// server stops: a test can stop the server and start it again on the same data.
    pub fn start_in(dir: &Path, program: &Path, args: &[String]) -> io::Result<ServerProcess> {
        std::fs::create_dir_all(dir)?;
        Self::spawn(dir.to_path_buf(), DirOwner::Caller, program, args)
    }

    /// Starts `program args...` in `dir`, a directory the caller prepared (e.g. with an
    /// initialised database and the right owner), which is deleted when the server stops, as
    /// [`start`](Self::start)'s temporary directory is.
    pub fn adopt(dir: PathBuf, program: &Path, args: &[String]) -> io::Result<ServerProcess> {
        Self::spawn(dir, DirOwner::Server, program, args)
    }

    fn spawn(
        dir: PathBuf,
        owner: DirOwner,
        program: &Path,
        args: &[String],
    ) -> io::Result<ServerProcess> {
        let log = dir.join("server.log");
        // $1 = directory, $2 = log, $3 = remove the directory at the end (1/0),
        // $4... = the server's command line.
        let script = r#"
            dir="$1"; log="$2"; cleanup="$3"; shift 3
            "$@" </dev/null >>"$log" 2>&1 &
            pid=$!
            # Blocks until the test process closes our stdin (it exited).
            read _unused
            kill "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            if [ "$cleanup" = 1 ]; then rm -rf "$dir"; fi
        "#;
        let supervisor = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("tierstore-supervisor")
            .arg(&dir)
            .arg(&log)
            .arg(if owner == DirOwner::Server { "1" } else { "0" })
            .arg(program)
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start {}: {e}", program.display()))
            })?;
        Ok(ServerProcess { supervisor, dir, log })
    }

    /// The server's working directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last lines of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Waits until `addr` accepts TCP connections, or fails after `timeout` (or at once if
    /// the server already exited) with the log's tail.
    pub fn wait_for_port(&mut self, addr: SocketAddr, timeout: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.supervisor.try_wait() {
                return Err(format!(
                    "the server's supervisor exited ({status}):\n{}",
                    self.log_tail()
                ));
            }
            if start.elapsed() > timeout {
                return Err(format!(
                    "nothing listens on {addr} after {timeout:?}; server log:\n{}",
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server now (SIGTERM) and waits for it; a temporary directory is deleted,
    /// a caller's directory ([`start_in`](Self::start_in)) is kept.
    pub fn stop(mut self) {
        // Closing stdin makes the supervisor kill the server and clean up.
        drop(self.supervisor.stdin.take());
        let _ = self.supervisor.wait();
    }
}

/// Finds `program`: the path in `env_var` if set, else the first of `candidates` that exists,
/// else `program` on `PATH`.
pub fn find_program(
    program: &str,
    env_var: &str,
    candidates: &[PathBuf],
) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(env_var) {
        return Ok(PathBuf::from(path));
    }
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "`{program}` not found (set {env_var}, or run `cargo xtask test`, which installs it)"
            )
        })
}

/// The workspace's `target` directory (for tools installed by `cargo xtask`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supervised_server_is_reachable_and_stops() {
        let port = free_port().unwrap();
        let python = find_program("python3", "TIERSTORE_TEST_PYTHON", &[]).unwrap();
        let args =
            ["-m", "http.server", "--bind", "127.0.0.1", &port.to_string()].map(str::to_owned);
        let mut server = ServerProcess::start("probe", &python, &args).unwrap();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        server.wait_for_port(addr, Duration::from_secs(20)).unwrap();
        let dir = server.dir().to_path_buf();
        assert!(dir.is_dir());
        server.stop();
        assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err());
        assert!(!dir.exists(), "the supervisor removes the server's directory");

        let kept = tempfile::tempdir().unwrap();
        let port = free_port().unwrap();
        let args =
            ["-m", "http.server", "--bind", "127.0.0.1", &port.to_string()].map(str::to_owned);
        let mut server = ServerProcess::start_in(kept.path(), &python, &args).unwrap();
        server.wait_for_port(([127, 0, 0, 1], port).into(), Duration::from_secs(20)).unwrap();
        server.stop();
        assert!(kept.path().join("server.log").is_file(), "the caller's directory is kept");
    }
}
