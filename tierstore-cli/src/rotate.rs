//! `rotate`: re-seal an encrypted store under a new root key, with progress; resumable.
//! `keygen`: write a new random root key to a key file.

use std::path::PathBuf;

use clap::Args;
use tierstore::OpenOptions;
use tierstore::encrypt::{Encrypted, Keyring, RootKey};

use crate::exit::CliResult;
use crate::progress::{self, Progress};

/// `tierstore rotate --store encrypted:URL --old-key-file OLD --new-key-file NEW`
#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The encrypted store: `encrypted:INNER-URL` (or the inner URL itself).
    #[arg(long)]
    store: String,
    /// The key the store was sealed with (repeat for several earlier keys, e.g. to finish an
    /// interrupted rotation started from another key). Mode 0600.
    #[arg(long = "old-key-file", required = true)]
    old_key_files: Vec<PathBuf>,
    /// The new root key: every object is re-sealed under it. Mode 0600; 64 hex digits or 32
    /// bytes. Create one with `tierstore keygen new.key`.
    #[arg(long)]
    new_key_file: PathBuf,
}

/// Re-seals every object not yet under the new key. Stop the node's writers to this store
/// first; an interrupted run is resumed by running it again with the same keys.
pub(crate) async fn rotate(args: RotateArgs) -> CliResult {
    let inner_url = args.store.strip_prefix("encrypted:").unwrap_or(&args.store);
    let inner = tierstore::open_with(inner_url, &OpenOptions::existing()).await?;
    let new = RootKey::from_file(&args.new_key_file)?;
    let old = args.old_key_files.iter().map(RootKey::from_file).collect::<Result<Vec<_>, _>>()?;
    let keys = Keyring::with_previous(new, old)?;
    let current = keys.current_id();
    let store = Encrypted::builder(inner, keys).open().await?;
    // One listing up front for the bar (only on a terminal); the rotation itself walks the
    // store page by page.
    let total = progress::length(store.inner(), tierstore::repair::Scan::new()).await?;
    let bar = Progress::start("rotating", total + 1);
    let report =
        match store.rotate(|p| bar.set(p.scanned, format!("{} re-sealed", p.rewritten))).await {
            Ok(report) => report,
            Err(e) => {
                bar.abandon();
                return Err(e.into());
            }
        };
    bar.finish(&format!(
        "rotated {store}: {} objects, {} re-sealed under key {current}; the old keys can now be retired",
        report.scanned, report.rewritten
    ));
    Ok(())
}

/// `tierstore keygen PATH`
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// Where to write the new key (64 hex digits, mode 0600). An existing file is never
    /// overwritten.
    path: PathBuf,
}

/// Writes a new random root key to a new file only its owner can read
/// ([`RootKey::create_file`]).
pub(crate) fn keygen(args: KeygenArgs) -> CliResult {
    let key = RootKey::generate()?;
    key.create_file(&args.path)?;
    let shown = args.path.display();
    println!(
        "wrote root key {} to {shown} (mode 0600). Keep a copy apart from the backup it \
         encrypts: without it the backup cannot be read.",
        key.id()
    );
    Ok(())
}
