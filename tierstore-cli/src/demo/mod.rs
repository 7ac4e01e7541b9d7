//! `tierstore demo`: the main job.
//!
//! Builds a TierStore (by default SQLite primary, SQLite backup and filesystem ephemeral
//! store under `./tierstore-demo/`), runs an LDK-shaped workload through it, prints what each
//! tier did, checks that the backup equals the primary for every durable key and that every
//! key holds what the workload last wrote, then deletes the primary, restores it from the
//! backup and checks again. Any mismatch makes the command fail.

mod report;
mod workload;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use tierstore::layers::Metered;
use tierstore::{Backend, Config, RoutingRule, TierStore};

use crate::exit::CliResult;
use crate::progress::Progress;
use crate::stores::Stores;
use crate::transfer::{human_bytes, print_report};
use report::TierMetrics;
use workload::Workload;

/// `tierstore demo [options]`
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Directory for the embedded default stores.
    #[arg(long, default_value = "tierstore-demo")]
    dir: PathBuf,
    /// A TierStore config file (TOML) giving the roles, routing and layers.
    #[arg(long)]
    config: Option<PathBuf>,
    /// URL of the primary store (default: sqlite:DIR/primary.db).
    #[arg(long)]
    primary: Option<String>,
    /// URL of the backup store (default: sqlite:DIR/backup.db).
    #[arg(long)]
    backup: Option<String>,
    /// URL of the ephemeral store (default: file:DIR/cache).
    #[arg(long)]
    ephemeral: Option<String>,
    /// The journal (default: beside a local primary, e.g. DIR/primary.db.journal; none for
    /// a remote primary).
    #[arg(long, value_name = "PATH")]
    journal: Option<PathBuf>,
    /// Clear stores given by URL that already hold data, and a journal outside DIR (never
    /// needed for the defaults).
    #[arg(long)]
    wipe: bool,
    /// Channels (each with a channel monitor).
    #[arg(long, default_value_t = 32)]
    channels: usize,
    /// Rounds of channel activity (monitor updates, manager, payments, events).
    #[arg(long, default_value_t = 25)]
    rounds: usize,
    /// New payments per round.
    #[arg(long, default_value_t = 8)]
    payments: usize,
    /// Size of the network graph, in MiB.
    #[arg(long, default_value_t = 24)]
    graph_mib: usize,
    /// Operations in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

pub(crate) async fn run(stores: &Stores, args: DemoArgs) -> CliResult {
    let config = configure(&args)?;
    let journal = match &args.journal {
        Some(path) => Some(path.clone()),
        None => tierstore::default_journal_path(&config.primary)?,
    };
    let workload = Workload {
        channels: args.channels,
        rounds: args.rounds,
        payments_per_round: args.payments,
        graph_bytes: args.graph_mib * 1024 * 1024,
        concurrency: args.concurrency.max(1),
    };
    let routing = config.routing()?;
    let backup_url = config.backup.clone().ok_or("the demo needs a backup store")?;

    println!("TierStore demo");
    println!("  primary   {}", config.primary);
    println!("  backup    {backup_url}");
    println!("  ephemeral {}", config.ephemeral.as_deref().unwrap_or("(none: caches are durable)"));
    match &journal {
        Some(path) => println!("  journal   {}", path.display()),
        None => println!("  journal   (none: the primary is remote; pass --journal PATH)"),
    }
    prepare(stores, &args, &config, journal.as_deref()).await?;

    // Build the store with every role metered, to report what each tier did.
    let (store, tiers) = build(stores, &config, journal).await?;
    let bar = Progress::start("workload", workload.len() as u64);
    let started = Instant::now();
    let model = workload.run(&store, || bar.inc()).await?;
    bar.abandon();
    let elapsed = started.elapsed();
    let total: u64 = tiers
        .iter()
        .filter_map(|t| t.metrics.snapshot().get(&tierstore::Operation::Write).map(|w| w.bytes))
        .sum();
    println!(
        "\nworkload: {} operations on {} keys in {:.2?} ({} written across tiers)\n",
        workload.len(),
        model.len(),
        elapsed,
        human_bytes(total)
    );
    print!("{}", report::table(&tiers));

    let mut failures = Vec::new();
    println!("\ncheck 1: the backup equals the primary for every durable key");
    let verified = store.verify().await?;
    print_report(&verified);
    if !verified.is_consistent() || !store.divergences().is_empty() {
        failures.push("backup differs from primary");
    }
    println!("check 2: every key holds what the workload last wrote");
    let wrong = workload::check(&store, &model, |_, _, _| true).await?;
    report_wrong(&wrong, &mut failures, "content differs from the workload's");
    let ephemeral = store.ephemeral().cloned();
    drop(store);
    drop(tiers);

    println!("\ndeleting the primary ({}) and restoring it from the backup", config.primary);
    delete(stores, &config.primary).await?;
    let primary = stores.target(&config.primary).await?;
    let backup = stores.source(&backup_url).await?;
    let restored = tierstore::repair::copy_all(
        &*backup,
        &*primary,
        |key| !routing.is_ephemeral(key),
        |_, _| {},
    )
    .await?;
    println!("restored {} keys ({})", restored.keys, human_bytes(restored.bytes));
    let mut builder = TierStore::builder(primary).backup(backup).routing(routing.clone());
    if let Some(ephemeral) = ephemeral {
        builder = builder.ephemeral(ephemeral);
    }
    let store = builder.build()?;

    println!("check 3: the restored primary equals the backup");
    let verified = store.verify().await?;
    print_report(&verified);
    if !verified.is_consistent() {
        failures.push("restored primary differs from backup");
    }
    println!("check 4: every durable key holds what the workload last wrote");
    let wrong = workload::check(&store, &model, |p, s, k| {
        tierstore::Key::new(p, s, k).map(|key| !routing.is_ephemeral(&key)).unwrap_or(true)
    })
    .await?;
    report_wrong(&wrong, &mut failures, "restored content differs from the workload's");

    if failures.is_empty() {
        println!("\nall checks passed");
        Ok(())
    } else {
        Err(format!("demo failed: {}", failures.join("; ")).into())
    }
}

fn report_wrong(wrong: &[String], failures: &mut Vec<&'static str>, what: &'static str) {
    println!("  {} keys wrong", wrong.len());
    for key in wrong.iter().take(20) {
        println!("  wrong {key}");
    }
    if !wrong.is_empty() {
        failures.push(what);
    }
}

/// The roles: a config file if given, flags on top, the embedded defaults for the rest.
fn configure(args: &DemoArgs) -> Result<Config, Box<dyn std::error::Error>> {
    let dir = args.dir.display();
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::new(format!("sqlite:{dir}/primary.db")),
    };
    if args.config.is_none() {
        config.backup = Some(format!("sqlite:{dir}/backup.db"));
        config.ephemeral = Some(format!("file:{dir}/cache"));
    }
    if let Some(url) = &args.primary {
        config.primary = url.clone();
    }
    if let Some(url) = &args.backup {
        config.backup = Some(url.clone());
    }
    if let Some(url) = &args.ephemeral {
        config.ephemeral = Some(url.clone());
    }
    Ok(config)
}

/// Starts from empty stores: the demo directory is the demo's own; other stores must be
/// empty or explicitly wiped.
async fn prepare(
    stores: &Stores,
    args: &DemoArgs,
    config: &Config,
    journal: Option<&std::path::Path>,
) -> CliResult {
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| format!("cannot create {}: {e}", args.dir.display()))?;
    // A journal of earlier stores would refuse the new ones: the demo starts over.
    if let Some(journal) = journal.filter(|path| path.exists()) {
        if !journal.starts_with(&args.dir) && !args.wipe {
            return Err(format!(
                "the journal {} already exists; the demo starts from scratch (pass --wipe to \
                 delete it)",
                journal.display()
            )
            .into());
        }
        std::fs::remove_file(journal)
            .map_err(|e| format!("cannot delete {}: {e}", journal.display()))?;
    }
    let roles = [Some(&config.primary), config.backup.as_ref(), config.ephemeral.as_ref()];
    for url in roles.into_iter().flatten() {
        if tierstore::local_path(url)?.is_some_and(|path| path.starts_with(&args.dir)) {
            delete(stores, url).await?;
            continue;
        }
        let backend = stores.target(url).await?;
        let keys = backend.list_all_keys().await?;
        if keys.is_empty() {
            continue;
        }
        if !args.wipe {
            return Err(format!(
                "{url} already holds {} keys; the demo needs empty stores (pass --wipe to clear it)",
                keys.len()
            )
            .into());
        }
        remove_all(&*backend, keys).await?;
    }
    Ok(())
}

/// Deletes a store's data: the files of `sqlite:` and `file:` stores (where `open` finds
/// them), every key otherwise.
async fn delete(stores: &Stores, url: &str) -> CliResult {
    let Some(path) = tierstore::local_path(url)? else {
        let backend = stores.target(url).await?;
        let keys = backend.list_all_keys().await?;
        return remove_all(&*backend, keys).await;
    };
    let ignore_missing = |result: std::io::Result<()>, what: &std::path::Path| match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot delete {}: {e}", what.display()))
        }
        _ => Ok(()),
    };
    if !url.starts_with("sqlite:") {
        return Ok(ignore_missing(std::fs::remove_dir_all(&path), &path)?);
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let file = std::path::PathBuf::from(file);
        ignore_missing(std::fs::remove_file(&file), &file)?;
    }
    Ok(())
}

async fn remove_all(backend: &dyn tierstore::Backend, keys: Vec<tierstore::Key>) -> CliResult {
    for key in keys {
        backend.remove(&key, false).await?;
    }
    Ok(())
}

/// Opens every role through the config's layers, meters each, and opens the TierStore (with
/// the journal if there is one).
async fn build(
    stores: &Stores,
    config: &Config,
    journal: Option<PathBuf>,
) -> Result<(TierStore, Vec<TierMetrics>), Box<dyn std::error::Error>> {
    let options = stores.options();
    let mut tiers = Vec::new();
    let mut metered = |tier: &'static str, backend: Arc<dyn Backend>| -> Arc<dyn Backend> {
        let backend = Metered::new(backend);
        tiers.push(TierMetrics {
            tier,
            backend: backend.to_string(),
            metrics: Arc::clone(backend.metrics()),
        });
        Arc::new(backend)
    };
    let primary = metered("primary", config.open_role_with(&config.primary, options).await?);
    let mut builder = TierStore::builder(primary).routing(config.routing()?);
    if let Some(url) = &config.backup {
        builder = builder.backup(metered("backup", config.open_role_with(url, options).await?));
    }
    if let Some(url) = &config.ephemeral {
        builder =
            builder.ephemeral(metered("ephemeral", config.open_role_with(url, options).await?));
    }
    if let Some(page_size) = config.page_size {
        builder = builder.page_size(page_size);
    }
    let store = match journal {
        Some(path) => builder.journal(path).open().await?,
        None => builder.build()?,
    };
    Ok((store, tiers))
}
