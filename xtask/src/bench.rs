//! `cargo xtask bench`: every criterion benchmark in one run, then one Markdown report and
//! SVG charts.
//!
//! Benchmarks file a record per measurement (`tierstore_testkit::bench::Record`) in
//! `target/tierstore-bench/<group>/<id>.json`; a record may name a baseline measured in the
//! same run, and the report shows the ratio to it. Before the criterion benchmarks, the run
//! builds `bench/ldk-node-sqlite`, a crate outside the workspace (its rusqlite cannot link
//! beside ours) that times ldk-node 0.7.1's real `SqliteStore`; the SQLite bench runs it next
//! to its own measurements, filing `sqlite_write/ldk_node_real_c<N>`.
//!
//! The report (`target/bench-report.md`) has a table per group, the goals of the project's
//! performance issues checked against this run's figures, and links to the charts
//! (`target/bench-charts/`); the charts the README shows are also written to `docs/bench/`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::cmd::{self, cargo, root, target_dir};
use crate::{charts, goals, services, tools};

/// Charts the README shows, copied to `docs/bench/` by every run.
const README_CHARTS: [&str; 2] =
    ["writes-vs-concurrency-sqlite_write.svg", charts::FIRST_PAGE_FILE];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let records_dir = target_dir().join("tierstore-bench");
    if records_dir.exists() {
        std::fs::remove_dir_all(&records_dir)
            .map_err(|e| format!("cannot clear {}: {e}", records_dir.display()))?;
    }
    let criterion_dir = target_dir().join("criterion");
    clear_overhead(&criterion_dir)?;
    let ldk_node = if wants_ldk_node(args) { Some(build_ldk_node_bench()?) } else { None };
    let tools = tools::ensure()?;
    let servers = services::start(&tools)?;
    let mut bench = cargo();
    bench.args(["bench", "--workspace", "--all-features", "--benches", "--"]).args(args);
    bench.env("TIERSTORE_BENCH_DIR", &records_dir);
    if let Some(program) = ldk_node {
        bench.env(LDK_NODE_BENCH, program);
    }
    for (key, value) in servers.env() {
        bench.env(key, value);
    }
    cmd::run(&mut bench)?;
    drop(servers);

    let records = load(&records_dir)?;
    if records.is_empty() {
        return Err(format!("no benchmark filed a record in {}", records_dir.display()));
    }
    let mut report = report(&records);
    report.push_str(&overhead_table(&criterion_estimates(&criterion_dir)?));
    report.push_str(&goals::table(&records));
    report.push_str(&first_page_table(&records));
    let chart_dir = target_dir().join("bench-charts");
    let drawn = charts::write(&records, &chart_dir)?;
    report.push_str(&charts_section(&drawn));
    publish_readme_charts(&chart_dir)?;
    let path = target_dir().join("bench-report.md");
    std::fs::write(&path, &report).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("{report}");
    eprintln!("xtask bench: report written to {}", path.display());
    Ok(())
}

/// One record, as its JSON object.
pub(crate) type Record = serde_json::Map<String, Value>;

/// Every record, by `group/id`.
pub(crate) type Records = BTreeMap<String, Record>;

/// Whether the criterion filter (if any) selects the SQLite write group.
fn wants_ldk_node(args: &[String]) -> bool {
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    filters.is_empty() || filters.iter().any(|f| "sqlite_write".contains(f.as_str()))
}

/// Builds `bench/ldk-node-sqlite` (its own lock file and target directory) and returns its
/// program, which the SQLite bench runs before each of its own measurements (env
/// [`LDK_NODE_BENCH`]), so that replica and real crate are timed side by side.
fn build_ldk_node_bench() -> Result<std::path::PathBuf, String> {
    let manifest = root().join("bench/ldk-node-sqlite/Cargo.toml");
    let target = target_dir().join("ldk-node-sqlite");
    let mut build = cargo();
    build.args(["build", "--release", "--locked", "--manifest-path"]).arg(&manifest);
    build.arg("--target-dir").arg(&target);
    cmd::run(&mut build)?;
    Ok(target.join("release/ldk-node-sqlite-bench"))
}

/// The variable naming the real ldk-node bench program for `tierstore-sqlite`'s bench.
const LDK_NODE_BENCH: &str = "TIERSTORE_LDK_NODE_BENCH";

fn load(dir: &Path) -> Result<Records, String> {
    let mut records = Records::new();
    let groups = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for group in groups.flatten() {
        let files = std::fs::read_dir(group.path()).map_err(|e| format!("{e}"))?;
        for file in files.flatten() {
            let Value::Object(record) = read_json(&file.path())? else {
                return Err(format!("{}: not a JSON object", file.path().display()));
            };
            let name = format!("{}/{}", text_of(&record, "group"), text_of(&record, "id"));
            records.insert(name, record);
        }
    }
    Ok(records)
}

fn read_json(file: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))
}

pub(crate) fn text_of<'a>(record: &'a serde_json::Map<String, Value>, field: &str) -> &'a str {
    record.get(field).and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn number(record: &serde_json::Map<String, Value>, field: &str) -> f64 {
    record.get(field).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

/// The record's note, followed by its `extra` figures (`{"peak RSS": "212 MB", ...}`) if any.
fn what(record: &Record) -> String {
    let mut note = text_of(record, "note").to_owned();
    if let Some(Value::Object(extra)) = record.get("extra") {
        let figures: Vec<String> = extra
            .iter()
            .map(|(name, value)| match value {
                Value::String(text) => format!("{name} {text}"),
                other => format!("{name} {other}"),
            })
            .collect();
        if !figures.is_empty() {
            let _ = write!(note, " ({})", figures.join(", "));
        }
    }
    note
}

/// Per series of first-page records (see [`charts::first_page_series`]): the p50 at each
/// namespace size, and how it grows from the smallest.
fn first_page_table(records: &Records) -> String {
    let series = charts::first_page_series(records);
    if series.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "## First page against namespace size\n\n\
         p50 latency of the first page; in brackets, the ratio to the same series' smallest \
         namespace (O(page) listing stays near 1.0x).\n\n| series | p50 by namespace size |\n|---|---|\n",
    );
    for (name, points) in series {
        let smallest = points.first().map_or(f64::NAN, |p| p.1);
        let cells: Vec<String> = points
            .iter()
            .map(|(n, p50)| format!("{n}: {} ({:.2}x)", format_micros(*p50), p50 / smallest))
            .collect();
        let _ = writeln!(out, "| {name} | {} |", cells.join(" · "));
    }
    out.push('\n');
    out
}

fn charts_section(charts: &[charts::Chart]) -> String {
    if charts.is_empty() {
        return String::new();
    }
    let mut out = String::from("## Charts\n\n");
    for chart in charts {
        let file = chart.path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default();
        let _ = writeln!(out, "- [{}](bench-charts/{file})", chart.title);
    }
    out.push('\n');
    out
}

/// Copies the charts the README shows to `docs/bench/` of the workspace.
fn publish_readme_charts(chart_dir: &Path) -> Result<(), String> {
    let docs = root().join("docs/bench");
    std::fs::create_dir_all(&docs).map_err(|e| format!("{}: {e}", docs.display()))?;
    for file in README_CHARTS {
        let from = chart_dir.join(file);
        if from.exists() {
            std::fs::copy(&from, docs.join(file)).map_err(|e| {
                format!("cannot copy {} to {}: {e}", from.display(), docs.display())
            })?;
        }
    }
    Ok(())
}

fn report(records: &Records) -> String {
    let mut out = String::from("# TierStore benchmark report\n\n");
    let _ = writeln!(
        out,
        "Produced by `cargo xtask bench` on this machine; every ratio compares two \
         measurements of the same run. Latencies are per operation.\n"
    );
    let mut groups: BTreeMap<&str, Vec<(&String, &Record)>> = BTreeMap::new();
    for (name, record) in records {
        groups.entry(text_of(record, "group")).or_default().push((name, record));
    }
    if let Some(rows) = groups.remove(CONFIGS) {
        configs_table(&mut out, records, &rows);
    }
    for (group, rows) in groups {
        let _ = writeln!(out, "## {group}\n");
        out.push_str("| benchmark | concurrency | ops/s | p50 | p99 | baseline | ratio | what |\n");
        out.push_str("|---|---:|---:|---:|---:|---|---:|---|\n");
        for (_, record) in rows {
            let ops = number(record, "ops_per_sec");
            let (baseline, ratio) = match record.get("baseline").and_then(Value::as_str) {
                Some(base) => match records.get(base) {
                    Some(b) => (base.to_owned(), format!("{:.2}x", ops / number(b, "ops_per_sec"))),
                    None => (format!("{base} (missing)"), "—".to_owned()),
                },
                None => ("—".to_owned(), "—".to_owned()),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                text_of(record, "id"),
                number(record, "concurrency"),
                format_rate(ops),
                format_micros(number(record, "p50_us")),
                format_micros(number(record, "p99_us")),
                baseline,
                ratio,
                what(record),
            );
        }
        out.push('\n');
    }
    out
}

/// The group of TierStore configurations, shown as one row per configuration.
const CONFIGS: &str = "configs";

/// Records `<config>__write` and `<config>__read` of the `configs` group as one row each:
/// writes/s, write latency, reads/s, and both ratios to the configuration's baseline.
fn configs_table(
    out: &mut String,
    records: &Records,
    rows: &[(&String, &serde_json::Map<String, Value>)],
) {
    let _ = writeln!(out, "## TierStore configurations\n");
    out.push_str(
        "| configuration | writes/s | write p50 | write p99 | reads/s | baseline | write ratio \
         | read ratio | what |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---|---:|---:|---|\n");
    let ratio = |record: &serde_json::Map<String, Value>| match record
        .get("baseline")
        .and_then(Value::as_str)
        .and_then(|base| records.get(base))
    {
        Some(base) => {
            format!("{:.2}x", number(record, "ops_per_sec") / number(base, "ops_per_sec"))
        }
        None => "—".to_owned(),
    };
    for (_, write) in rows {
        let Some(config) = text_of(write, "id").strip_suffix("__write") else { continue };
        let read = records.get(&format!("{CONFIGS}/{config}__read"));
        let baseline = text_of(write, "baseline")
            .strip_prefix("configs/")
            .and_then(|b| b.strip_suffix("__write"))
            .unwrap_or("—");
        let _ = writeln!(
            out,
            "| {config} | {} | {} | {} | {} | {baseline} | {} | {} | {} |",
            format_rate(number(write, "ops_per_sec")),
            format_micros(number(write, "p50_us")),
            format_micros(number(write, "p99_us")),
            read.map_or("—".to_owned(), |r| format_rate(number(r, "ops_per_sec"))),
            ratio(write),
            read.map_or("—".to_owned(), &ratio),
            text_of(write, "note"),
        );
    }
    out.push('\n');
}

/// Criterion groups of tierstore-core's `overhead` bench: TierStore against the raw
/// `MemoryBackend`, per operation.
const OVERHEAD_PREFIX: &str = "overhead_";

/// The criterion directories of the overhead groups (`target/criterion/overhead_*`).
fn overhead_groups(criterion_dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(groups) = std::fs::read_dir(criterion_dir) else { return Vec::new() };
    groups
        .flatten()
        .filter(|group| group.file_name().to_string_lossy().starts_with(OVERHEAD_PREFIX))
        .map(|group| group.path())
        .collect()
}

/// Removes earlier results of the overhead groups, so a filtered run cannot report stale ones.
fn clear_overhead(criterion_dir: &Path) -> Result<(), String> {
    for group in overhead_groups(criterion_dir) {
        std::fs::remove_dir_all(&group)
            .map_err(|e| format!("cannot clear {}: {e}", group.display()))?;
    }
    Ok(())
}

/// Mean time per iteration (ns) of every criterion benchmark of the overhead groups, by
/// (group, benchmark), read from criterion's `new/benchmark.json` and `new/estimates.json`.
fn criterion_estimates(criterion_dir: &Path) -> Result<BTreeMap<(String, String), f64>, String> {
    let mut found = BTreeMap::new();
    let mut pending = overhead_groups(criterion_dir);
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let in_new = dir.file_name().is_some_and(|name| name == "new");
            if !in_new || entry.file_name() != "benchmark.json" {
                continue;
            }
            let benchmark = read_json(&path)?;
            let group = benchmark["group_id"].as_str().unwrap_or_default().to_owned();
            let mut id = benchmark["function_id"].as_str().unwrap_or_default().to_owned();
            if let Some(value) = benchmark["value_str"].as_str() {
                id = format!("{id}/{value}");
            }
            let estimates = read_json(&dir.join("estimates.json"))?;
            let mean = estimates["mean"]["point_estimate"].as_f64().unwrap_or(f64::NAN);
            found.insert((group, id), mean);
        }
    }
    Ok(found)
}

/// One row per operation: the raw backend's time, TierStore's with a primary only and with
/// a backup, and their ratios to the raw time.
fn overhead_table(estimates: &BTreeMap<(String, String), f64>) -> String {
    let mut ops: Vec<&str> =
        estimates.keys().filter_map(|(group, _)| group.strip_prefix(OVERHEAD_PREFIX)).collect();
    ops.dedup();
    if ops.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "## TierStore overhead over the raw MemoryBackend (tierstore-core `overhead`)\n\n\
         | operation | raw MemoryBackend | TierStore, primary | ratio | TierStore, primary + \
         backup | ratio |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for op in ops {
        let get =
            |id: &str| estimates.get(&(format!("{OVERHEAD_PREFIX}{op}"), id.to_owned())).copied();
        let raw = get("raw_memory");
        let cell = |ns: Option<f64>| ns.map_or("—".to_owned(), format_nanos);
        let ratio = |ns: Option<f64>| match (ns, raw) {
            (Some(ns), Some(raw)) => format!("{:.2}x", ns / raw),
            _ => "—".to_owned(),
        };
        let (primary, backup) = (get("tierstore/primary"), get("tierstore/primary+backup"));
        let _ = writeln!(
            out,
            "| {op} | {} | {} | {} | {} | {} |",
            cell(raw),
            cell(primary),
            ratio(primary),
            cell(backup),
            ratio(backup),
        );
    }
    out.push('\n');
    out
}

fn format_nanos(ns: f64) -> String {
    if ns >= 1000.0 { format!("{:.2} µs", ns / 1000.0) } else { format!("{ns:.0} ns") }
}

pub(crate) fn format_rate(ops: f64) -> String {
    if ops >= 10_000.0 { format!("{:.0}", ops) } else { format!("{ops:.1}") }
}

pub(crate) fn format_micros(us: f64) -> String {
    if us.is_nan() {
        "—".to_owned()
    } else if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_shows_ratio_to_the_baseline() {
        let mut records = Records::new();
        for (id, ops, baseline) in [("base", 100.0, None), ("ours", 450.0, Some("g/base"))] {
            let json = serde_json::json!({
                "group": "g", "id": id, "concurrency": 16, "ops_per_sec": ops,
                "p50_us": 900, "p99_us": 2500, "baseline": baseline, "note": "4 KiB writes"
            });
            let Value::Object(map) = json else { unreachable!() };
            records.insert(format!("g/{id}"), map);
        }
        let report = report(&records);
        assert!(
            report.contains("| ours | 16 | 450.0 | 900 µs | 2.50 ms | g/base | 4.50x |"),
            "{report}"
        );
        assert!(report.contains("| base | 16 | 100.0 |"), "{report}");
    }

    #[test]
    fn configurations_fold_writes_and_reads_into_one_row() {
        let mut records = Records::new();
        for (id, ops, baseline) in [
            ("sqlite__write", 1000.0, None),
            ("sqlite__read", 50000.0, None),
            ("sqlite+sqlite_backup__write", 800.0, Some("configs/sqlite__write")),
            ("sqlite+sqlite_backup__read", 45000.0, Some("configs/sqlite__read")),
        ] {
            let json = serde_json::json!({
                "group": "configs", "id": id, "concurrency": 16, "ops_per_sec": ops,
                "p50_us": 1500, "p99_us": 4000, "baseline": baseline, "note": "n"
            });
            let Value::Object(map) = json else { unreachable!() };
            records.insert(format!("configs/{id}"), map);
        }
        let report = report(&records);
        assert!(
            report.contains(
                "| sqlite+sqlite_backup | 800.0 | 1.50 ms | 4.00 ms | 45000 | sqlite | 0.80x | 0.90x | n |"
            ),
            "{report}"
        );
        assert!(!report.contains("## configs"), "{report}");
    }

    #[test]
    fn overhead_rows_compare_with_the_raw_backend() {
        let mut estimates = BTreeMap::new();
        for (id, ns) in [
            ("raw_memory", 500.0),
            ("tierstore/primary", 1000.0),
            ("tierstore/primary+backup", 2500.0),
        ] {
            estimates.insert(("overhead_write".to_owned(), id.to_owned()), ns);
        }
        let table = overhead_table(&estimates);
        assert!(
            table.contains("| write | 500 ns | 1.00 µs | 2.00x | 2.50 µs | 5.00x |"),
            "{table}"
        );
        assert!(overhead_table(&BTreeMap::new()).is_empty());
    }

    #[test]
    fn estimates_are_read_from_the_overhead_groups_only() {
        let root = std::env::temp_dir().join(format!("xtask-criterion-{}", std::process::id()));
        let write = |group: &str, function: &str, value: &str, mean: f64| {
            let dir = root.join(group).join(function).join(value).join("new");
            std::fs::create_dir_all(&dir).unwrap();
            let benchmark = serde_json::json!({
                "group_id": group, "function_id": function, "value_str": value,
            });
            std::fs::write(dir.join("benchmark.json"), benchmark.to_string()).unwrap();
            let estimates = serde_json::json!({ "mean": { "point_estimate": mean } });
            std::fs::write(dir.join("estimates.json"), estimates.to_string()).unwrap();
        };
        write("overhead_read", "tierstore", "primary", 456.0);
        write("sqlite_write", "tierstore_c1", "x", 1.0);
        let estimates = criterion_estimates(&root).unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        let expected = [(("overhead_read".to_owned(), "tierstore/primary".to_owned()), 456.0)];
        assert_eq!(estimates, BTreeMap::from(expected));
    }
}
