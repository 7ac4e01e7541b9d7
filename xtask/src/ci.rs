//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

use crate::cmd::{self, cargo};

/// Crates and the feature sets each must build with on its own (besides the default set,
/// which `clippy --workspace` builds, and all features, which `clippy --all-features` does).
const FEATURE_BUILDS: &[(&str, &[&str])] = &[
    ("tierstore-core", &["--no-default-features"]),
    ("tierstore-core", &["--no-default-features", "--features", "lightning-0-2"]),
    ("tierstore-sqlite", &["--no-default-features"]),
    ("tierstore-fs", &["--no-default-features"]),
    ("tierstore-redis", &["--no-default-features"]),
    ("tierstore-s3", &["--no-default-features"]),
    ("tierstore-s3", &["--no-default-features", "--features", "aws-sdk"]),
    ("tierstore-postgres", &["--no-default-features"]),
    ("tierstore", &["--no-default-features"]),
    ("tierstore", &["--no-default-features", "--features", "sqlite"]),
    ("tierstore", &["--no-default-features", "--features", "fs"]),
    ("tierstore", &["--no-default-features", "--features", "redis"]),
    ("tierstore", &["--no-default-features", "--features", "s3"]),
    ("tierstore", &["--no-default-features", "--features", "aws-sdk"]),
    ("tierstore", &["--no-default-features", "--features", "postgres"]),
    ("tierstore", &["--no-default-features", "--features", "lightning-0-2"]),
    ("tierstore-cli", &["--no-default-features"]),
];

pub(crate) fn run(test_args: &[String]) -> Result<(), String> {
    cmd::run(cargo().args(["fmt", "--all", "--check"]))?;
    cmd::run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))?;
    cmd::run(
        cargo()
            .args(["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    // Clippy rather than check, so that a warning only one feature set shows (dead code
    // behind a cfg) fails too; `-D warnings` reaches our crates only, not their dependencies.
    for (package, features) in FEATURE_BUILDS {
        cmd::run(
            cargo()
                .args(["clippy", "--package", package])
                .args(*features)
                .args(["--", "-D", "warnings"]),
        )?;
    }
    crate::ldk_node::check()?;
    crate::test::run(test_args)
}
