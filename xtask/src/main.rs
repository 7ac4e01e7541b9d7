//! `cargo xtask <task>`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! - `test`: installs the servers the tests need (redis-server and PostgreSQL with apt-get,
//!   SeaweedFS with pip into a venv under `target/`), starts them on free loopback ports,
//!   runs every test of the workspace with every server required, then the ldk-node 0.7.1
//!   integration crate (`integration/ldk-node`, outside the workspace) on the same servers,
//!   prints the backend × role matrix, stops them.
//! - `ci`: formatting, clippy (`-D warnings`, all targets and features), docs (`-D
//!   warnings`), feature builds of every crate, then `test`.
//! - `bench`: every criterion benchmark (with ldk-node's real `SqliteStore` beside the SQLite
//!   rows), then one Markdown report in `target/bench-report.md` with the goals checked, and
//!   SVG charts in `target/bench-charts/` (the README's two also in `docs/bench/`).
//! - `bindings`: uniffi bindings of `tierstore-ffi` (Python as an importable package, Kotlin
//!   and Swift sources) under `target/bindings/`; `test` builds them and runs pytest.
//! - `services`: installs and starts the servers, prints their environment, and keeps them
//!   up until Ctrl-C (for running `cargo test` by hand against shared servers).

mod bench;
mod bindings;
mod charts;
mod ci;
mod cmd;
mod goals;
mod ldk_node;
mod services;
mod test;
mod tools;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "test" => test::run(rest),
        "ci" => ci::run(rest),
        "bench" => bench::run(rest),
        "bindings" => bindings::run_task(rest),
        "services" => services::run(rest),
        "help" | "-h" | "--help" => {
            eprintln!("{}", USAGE);
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask {task}: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task> [args]

tasks:
  test [-- <cargo test args>]   every test, with every server (installs and starts them)
  ci                            fmt, clippy, docs, feature builds, then test
  bench [<filter>]              every benchmark, report in target/bench-report.md
  services                      start the test servers and wait (Ctrl-C stops them)
  bindings [python|kotlin|swift|all]  uniffi bindings in target/bindings/ (Python: a package)";
