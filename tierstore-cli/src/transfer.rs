//! `copy` and `verify`: between two stores.

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tierstore::repair::{self, VerifyReport};
use tierstore::{Key, Routing, RoutingRule};

use crate::CliResult;

/// `tierstore copy --from URL --to URL`
#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// The store to copy from.
    #[arg(long)]
    from: String,
    /// The store to copy into.
    #[arg(long)]
    to: String,
    /// Copy LDK's caches (network graph, scorer) too.
    #[arg(long)]
    with_caches: bool,
    /// Skip the comparison after copying.
    #[arg(long)]
    no_verify: bool,
}

pub(crate) async fn copy(args: CopyArgs) -> CliResult {
    let source = tierstore::open(&args.from).await?;
    let target = tierstore::open(&args.to).await?;
    let include = key_filter(args.with_caches);
    let total = source.list_all_keys().await?.into_iter().filter(|k| include(k)).count();
    let bar = progress_bar(total as u64, "copying");
    let copied = std::sync::atomic::AtomicU64::new(0);
    let report = repair::copy_all(&*source, &*target, &include, |_, bytes| {
        let sum =
            copied.fetch_add(bytes as u64, std::sync::atomic::Ordering::Relaxed) + bytes as u64;
        bar.inc(1);
        bar.set_message(human_bytes(sum));
    })
    .await?;
    bar.finish_and_clear();
    println!(
        "copied {} keys ({}) from {} to {}",
        report.keys,
        human_bytes(report.bytes),
        source,
        target
    );
    if args.no_verify {
        return Ok(());
    }
    let check = repair::verify(&*source, &*target, &include).await?;
    print_report(&check);
    if check.missing.is_empty() && check.different.is_empty() {
        Ok(())
    } else {
        Err("the copy does not match its source".into())
    }
}

/// `tierstore verify --primary URL --backup URL`
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The authoritative store.
    #[arg(long)]
    primary: String,
    /// The store that should hold the same durable data.
    #[arg(long)]
    backup: String,
    /// Compare LDK's caches (network graph, scorer) too; a backup does not hold them.
    #[arg(long)]
    with_caches: bool,
}

pub(crate) async fn verify(args: VerifyArgs) -> CliResult {
    let primary = tierstore::open(&args.primary).await?;
    let backup = tierstore::open(&args.backup).await?;
    let report = repair::verify(&*primary, &*backup, key_filter(args.with_caches)).await?;
    print_report(&report);
    if report.is_consistent() {
        Ok(())
    } else {
        Err(format!("{} differs from {}", backup, primary).into())
    }
}

/// Durable keys only, unless caches are asked for.
fn key_filter(with_caches: bool) -> impl Fn(&Key) -> bool {
    let routing = Routing::ldk_default();
    move |key| with_caches || !routing.is_ephemeral(key)
}

pub(crate) fn print_report(report: &VerifyReport) {
    println!(
        "compared {} keys: {} missing, {} extra, {} different",
        report.compared,
        report.missing.len(),
        report.extra.len(),
        report.different.len()
    );
    for key in &report.missing {
        println!("  missing   {key}");
    }
    for key in &report.extra {
        println!("  extra     {key}");
    }
    for key in &report.different {
        println!("  different {key}");
    }
}

pub(crate) fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(&format!(
        "{what} [{{elapsed_precise}}] {{bar:40.cyan/blue}} {{pos}}/{{len}} {{msg}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}
