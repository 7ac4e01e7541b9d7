//! `copy` and `verify`: between two stores, streamed (no list of every key in memory).

use clap::Args;
use tierstore::repair::{self, Scan, VerifyReport};
use tierstore::{Key, Routing, RoutingRule};

use crate::exit::{CliResult, Differences};
use crate::progress::{self, Progress};
use crate::stores::{self, Stores};

/// `tierstore copy --from URL --to URL`
#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// The store to copy from (must exist).
    #[arg(long)]
    from: String,
    /// The store to copy into (created if missing).
    #[arg(long)]
    to: String,
    /// Copy LDK's caches (network graph, scorer) too.
    #[arg(long)]
    with_caches: bool,
    /// Skip the comparison after copying.
    #[arg(long)]
    no_verify: bool,
    /// Copy from an empty source (refused otherwise: it is most often the wrong store).
    #[arg(long)]
    force: bool,
}

pub(crate) async fn copy(stores: &Stores, args: CopyArgs) -> CliResult {
    let source = stores.source(&args.from).await?;
    stores::refuse_empty_source(&*source, args.force).await?;
    let target = stores.target(&args.to).await?;
    let include = key_filter(args.with_caches);
    let len = progress::length(&*source, Scan::new().include(&include)).await?;
    let bar = Progress::start("copying", len);
    let on_copied = |_: &Key, _: usize| bar.inc();
    let copied =
        repair::copy_all_with(&*source, &*target, Scan::new().include(&include), &on_copied)
            .await
            .inspect_err(|_| bar.abandon())?;
    let summary = format!(
        "copied {} keys ({}) from {source} to {target}",
        copied.keys,
        human_bytes(copied.bytes)
    );
    if args.no_verify {
        bar.finish(&summary);
        return Ok(());
    }
    bar.abandon();
    let check = compare(&*source, &*target, &include, "checking").await?;
    println!("{summary}; {}", report_line(&check));
    list_differences(&check);
    if check.is_consistent() {
        Ok(())
    } else {
        Err(Differences(format!("the copy in {target} does not match {source}")).into())
    }
}

/// `tierstore verify --primary URL --backup URL`
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The authoritative store (must exist).
    #[arg(long)]
    primary: String,
    /// The store that should hold the same durable data (must exist).
    #[arg(long)]
    backup: String,
    /// Compare LDK's caches (network graph, scorer) too; a backup does not hold them.
    #[arg(long)]
    with_caches: bool,
}

pub(crate) async fn verify(stores: &Stores, args: VerifyArgs) -> CliResult {
    let primary = stores.source(&args.primary).await?;
    let backup = stores.source(&args.backup).await?;
    let include = key_filter(args.with_caches);
    let report = compare(&*primary, &*backup, &include, "verifying").await?;
    let empty = if report.compared == 0 && report.extra_total == 0 {
        format!(" ({primary} is empty)")
    } else {
        String::new()
    };
    println!("{}{empty}", report_line(&report));
    list_differences(&report);
    if report.is_consistent() {
        Ok(())
    } else {
        Err(Differences(format!("{backup} differs from {primary}")).into())
    }
}

/// Verifies `target` against `source` with a progress bar.
async fn compare(
    source: &dyn tierstore::Backend,
    target: &dyn tierstore::Backend,
    include: &(dyn Fn(&Key) -> bool + Sync),
    what: &str,
) -> Result<VerifyReport, tierstore::Error> {
    let len = progress::length(source, Scan::new().include(include)).await?;
    let bar = Progress::start(what, len);
    let callback = bar.callback();
    let scan = Scan::new().include(include).progress(&callback);
    let report = repair::verify_with(source, target, scan).await;
    bar.abandon();
    report
}

/// Durable keys only, unless caches are asked for.
pub(crate) fn key_filter(with_caches: bool) -> impl Fn(&Key) -> bool + Sync {
    let routing = Routing::ldk_default();
    move |key| with_caches || !routing.is_ephemeral(key)
}

/// `compared N keys: M missing, E extra, D different`.
pub(crate) fn report_line(report: &VerifyReport) -> String {
    format!(
        "compared {} keys: {} missing, {} extra, {} different",
        report.compared, report.missing_total, report.extra_total, report.different_total
    )
}

/// The differing keys, one per line, after the summary (as many as the report lists).
pub(crate) fn list_differences(report: &VerifyReport) {
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

/// The summary line and the differing keys (for the demo).
pub(crate) fn print_report(report: &VerifyReport) {
    println!("{}", report_line(report));
    list_differences(report);
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
