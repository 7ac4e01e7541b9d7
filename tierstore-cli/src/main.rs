//! `tierstore`: run the demo workload, inspect stores, copy (migrate, restore) and verify them.

mod demo;
mod inspect;
mod keyarg;
#[cfg(feature = "encryption")]
mod rotate;
mod transfer;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tiered persistence for LDK nodes: demo, inspect, copy and verify stores.
///
/// Stores are named by URL: memory:, sqlite:PATH, file:DIR, redis://HOST/DB?prefix=P,
/// s3://BUCKET/PREFIX?endpoint=URL, postgres://USER@HOST/DB?table=T (password from
/// PGPASSWORD or ~/.pgpass) (each needs its cargo feature).
#[derive(Debug, Parser)]
#[command(name = "tierstore", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    /// Copy every key from one store to another (migration, restore), then verify.
    Copy(transfer::CopyArgs),
    /// Compare two stores and list the keys that are missing or different.
    Verify(transfer::VerifyArgs),
    /// Re-seal an encrypted store under a new root key (resumable).
    #[cfg(feature = "encryption")]
    Rotate(rotate::RotateArgs),
}

/// What a command reports when it fails: one readable line.
type CliResult = Result<(), Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            return ExitCode::FAILURE;
        }
    };
    let result: CliResult = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Ls(args) => inspect::ls(args).await,
            Command::Get(args) => inspect::get(args).await,
            Command::Put(args) => inspect::put(args).await,
            Command::Rm(args) => inspect::rm(args).await,
            Command::Copy(args) => transfer::copy(args).await,
            Command::Verify(args) => transfer::verify(args).await,
            #[cfg(feature = "encryption")]
            Command::Rotate(args) => rotate::rotate(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
