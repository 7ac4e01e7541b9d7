//! `tierstore`: run the demo workload, inspect stores, copy (migrate), verify, resilver and
//! restore them.

mod demo;
mod exit;
mod inspect;
mod keyarg;
mod progress;
mod recovery;
#[cfg(feature = "encryption")]
mod rotate;
mod stores;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tiered persistence for LDK nodes: demo, inspect, copy, verify, resilver and restore
/// stores.
///
/// Stores are named by URL: memory:, sqlite:PATH, file:DIR, redis://HOST/DB?prefix=P,
/// s3://BUCKET/PREFIX?endpoint=URL, postgres://USER@HOST/DB?table=T (password from
/// PGPASSWORD or ~/.pgpass). A store read from (ls, get, verify, copy --from, restore
/// --from, resilver --primary) must exist: a mistyped path fails, naming it, and creates
/// nothing.
#[derive(Debug, Parser)]
#[command(name = "tierstore", version, after_help = exit::HELP)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Settings every command takes.
#[derive(Debug, clap::Args)]
pub(crate) struct Global {
    /// The root-key file for encrypted stores.
    #[arg(long, global = true, env = "TIERSTORE_KEY_FILE", value_name = "PATH")]
    pub(crate) key_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an LDK-shaped workload through a TierStore and prove the backup can restore it.
    Demo(demo::DemoArgs),
    /// List keys of a store (one namespace, or every key).
    Ls(inspect::LsArgs),
    /// Print (or save) the value of one key.
    Get(inspect::GetArgs),
    /// Store a value under one key.
    Put(inspect::PutArgs),
    /// Remove one key.
    Rm(inspect::RmArgs),
    /// Copy every key from one store to another (migration), then verify.
    Copy(transfer::CopyArgs),
    /// Compare two stores and list the keys that are missing or different (exit code 3).
    Verify(transfer::VerifyArgs),
    /// Make a backup equal its primary, copying only the differences.
    Resilver(recovery::ResilverArgs),
    /// Restore a lost primary from its backup, into an empty store.
    Restore(recovery::RestoreArgs),
    /// Re-seal an encrypted store under a new root key (resumable).
    #[cfg(feature = "encryption")]
    Rotate(rotate::RotateArgs),
    /// Write a new random root key to a key file (mode 0600) for `--key-file`.
    #[cfg(feature = "encryption")]
    Keygen(rotate::KeygenArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are "errors" printed on stdout, with success.
            let _ = e.print();
            return if e.use_stderr() { exit::USAGE } else { exit::OK }.into();
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::ERROR.into();
        }
    };
    let stores = stores::Stores::new(&cli.global);
    let result: exit::CliResult = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(&stores, args).await,
            Command::Ls(args) => inspect::ls(&stores, args).await,
            Command::Get(args) => inspect::get(&stores, args).await,
            Command::Put(args) => inspect::put(&stores, args).await,
            Command::Rm(args) => inspect::rm(&stores, args).await,
            Command::Copy(args) => transfer::copy(&stores, args).await,
            Command::Verify(args) => transfer::verify(&stores, args).await,
            Command::Resilver(args) => recovery::resilver(&stores, args).await,
            Command::Restore(args) => recovery::restore(&stores, args).await,
            #[cfg(feature = "encryption")]
            Command::Rotate(args) => rotate::rotate(args).await,
            #[cfg(feature = "encryption")]
            Command::Keygen(args) => rotate::keygen(args),
        }
    });
    exit::report(result)
}
