//! The ldk-node 0.7.1 integration crate (`integration/ldk-node`), outside the workspace.
//!
//! ldk-node 0.7.1 pulls rusqlite 0.31, whose `links = "sqlite3"` cannot share the workspace's
//! lockfile with tierstore-sqlite's rusqlite, so the crate has its own workspace and
//! `Cargo.lock`, and builds into a target directory of its own beside the workspace's
//! (`<target>/ldk-node-it`): the two dependency graphs never invalidate each other's
//! artifacts. `cargo xtask test` runs its tests with the same servers and environment as the
//! workspace's (its S3 backup run uses the SeaweedFS the workspace tests use) and counts
//! them in the same results; `cargo xtask ci` also checks its formatting and clippy.

use std::path::PathBuf;
use std::process::Command;

use crate::cmd::{self, cargo, root, target_dir};

/// The crate's manifest.
fn manifest() -> PathBuf {
    root().join("integration/ldk-node/Cargo.toml")
}

/// `cargo <subcommand>` on the integration crate, in its own target directory.
fn integration_cargo(subcommand: &str) -> Command {
    let mut cmd = cargo();
    cmd.arg(subcommand).arg("--manifest-path").arg(manifest());
    cmd.arg("--target-dir").arg(target_dir().join("ldk-node-it"));
    cmd
}

/// The integration crate's tests, with the servers' environment.
pub(crate) fn test_command(env: &[(String, String)]) -> Command {
    let mut cmd = integration_cargo("test");
    cmd.arg("--no-fail-fast");
    cmd.envs(env.iter().map(|(key, value)| (key, value)));
    cmd
}

/// Formatting and clippy (`-D warnings`, all targets) of the integration crate.
pub(crate) fn check() -> Result<(), String> {
    cmd::run(cargo().args(["fmt", "--check", "--manifest-path"]).arg(manifest()))?;
    cmd::run(integration_cargo("clippy").args(["--all-targets", "--", "-D", "warnings"]))
}
