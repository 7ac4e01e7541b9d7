//! `resilver` and `restore`: the two directions between a primary and its backup.
//!
//! - `resilver` makes the backup equal the primary, copying only what differs (keys missing
//!   or different on the backup are written, keys the primary no longer has are removed).
//!   With a journal (given, or the default beside a local primary) it goes through
//!   [`TierStoreBuilder::open`](tierstore::TierStoreBuilder::open), so the journal and the
//!   backup's sync record know the backup is in sync afterwards.
//! - `restore` copies a backup into an empty primary (a lost disk) and gives it the identity
//!   the backup mirrors, so the node's journaled store accepts the pair again.

use std::path::PathBuf;

use clap::Args;
use tierstore::repair::{self, ResilverReport, Scan};
use tierstore::{Key, TierStore};

use crate::exit::CliResult;
use crate::progress::{self, Progress};
use crate::stores::{self, Stores};
use crate::transfer::{human_bytes, key_filter};

/// `tierstore resilver --primary URL --backup URL [--journal PATH]`
#[derive(Debug, Args)]
pub(crate) struct ResilverArgs {
    /// The authoritative store (must exist). Stop the node first.
    #[arg(long)]
    primary: String,
    /// The backup to bring up to date (created if missing: a new backup is backfilled).
    #[arg(long)]
    backup: String,
    /// The node's journal (default: beside a local primary, e.g. primary.db.journal); the
    /// resilver is recorded there. Without one (a remote primary), the stores are compared
    /// directly.
    #[arg(long, value_name = "PATH")]
    journal: Option<PathBuf>,
}

pub(crate) async fn resilver(stores: &Stores, args: ResilverArgs) -> CliResult {
    let journal = match args.journal {
        Some(path) => Some(path),
        None => tierstore::default_journal_path(&args.primary)?,
    };
    let primary = stores.existing(&args.primary).await?;
    if stores::is_empty(&*primary).await? {
        eprintln!("note: the primary {primary} is empty");
    }
    let backup = stores.target(&args.backup).await?;
    let durable = key_filter(false);
    let len = progress::length(&*primary, Scan::new().include(&durable)).await?;
    let bar = Progress::start("resilvering", len);
    let report = run_resilver(&primary, &backup, journal, &durable, &bar).await;
    let report = report.inspect_err(|_| bar.abandon())?;
    bar.finish(&format!(
        "resilvered {backup} from {primary}: {} keys compared, {} unchanged, {} copied, {} \
         removed ({})",
        report.scanned,
        report.unchanged,
        report.copied,
        report.removed,
        human_bytes(report.bytes)
    ));
    Ok(())
}

async fn run_resilver(
    primary: &std::sync::Arc<dyn tierstore::Backend>,
    backup: &std::sync::Arc<dyn tierstore::Backend>,
    journal: Option<PathBuf>,
    durable: &(dyn Fn(&Key) -> bool + Sync),
    bar: &Progress,
) -> Result<ResilverReport, tierstore::Error> {
    let callback = bar.callback();
    if let Some(path) = journal {
        let store = TierStore::builder(primary.clone())
            .backup(backup.clone())
            .journal(path)
            .background_repair(None)
            .on_progress(bar.callback())
            .open()
            .await?;
        // The journal showed the backup in sync: compare anyway, that is what was asked.
        if let Some(report) = store.last_resilver() {
            return Ok(report);
        }
    }
    repair::resilver(&**primary, &**backup, Scan::new().include(durable).progress(&callback)).await
}

/// `tierstore restore --from BACKUP --to PRIMARY [--force]`
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The backup to restore from (must exist and hold keys).
    #[arg(long)]
    from: String,
    /// The new primary (created if missing; must be empty).
    #[arg(long)]
    to: String,
    /// Restore into a primary that holds keys (overwriting them), or from an empty backup.
    #[arg(long)]
    force: bool,
}

pub(crate) async fn restore(stores: &Stores, args: RestoreArgs) -> CliResult {
    let backup = stores.source(&args.from).await?;
    stores::refuse_empty_source(&*backup, args.force).await?;
    let primary = stores.target(&args.to).await?;
    let len = progress::length(&*backup, Scan::new()).await?;
    let bar = Progress::start("restoring", len);
    let on_copied = |_: &Key, _: usize| bar.inc();
    let report = repair::restore(&*backup, &*primary, Scan::new(), args.force, &on_copied)
        .await
        .inspect_err(|_| bar.abandon())?;
    bar.finish(&format!(
        "restored {} keys ({}) from {backup} into {primary}",
        report.keys,
        human_bytes(report.bytes)
    ));
    Ok(())
}
