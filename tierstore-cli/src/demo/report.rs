//! The per-tier table the demo prints.

use std::sync::Arc;
use std::time::Duration;

use tierstore::Operation;
use tierstore::layers::Metrics;

use crate::transfer::human_bytes;

/// One row source: a tier's name, its backend, and its metrics.
pub(crate) struct TierMetrics {
    pub(crate) tier: &'static str,
    pub(crate) backend: String,
    pub(crate) metrics: Arc<Metrics>,
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// A fixed-width table: tier, backend, operations, bytes, write and read latencies.
pub(crate) fn table(tiers: &[TierMetrics]) -> String {
    let header = [
        "tier",
        "backend",
        "writes",
        "removes",
        "reads",
        "lists",
        "bytes written",
        "bytes read",
        "write p50 ms",
        "write p99 ms",
        "read p50 ms",
        "read p99 ms",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for tier in tiers {
        let snapshot = tier.metrics.snapshot();
        let get = |op| snapshot.get(&op).cloned().unwrap_or_default();
        let (write, remove, read) =
            (get(Operation::Write), get(Operation::Remove), get(Operation::Read));
        let lists = get(Operation::List).count
            + get(Operation::ListPage).count
            + get(Operation::ListAllKeys).count;
        let latency = |stats: &tierstore::layers::OpStats, d: Duration| {
            if stats.count == 0 { "-".to_owned() } else { ms(d) }
        };
        rows.push(vec![
            tier.tier.to_owned(),
            tier.backend.clone(),
            write.count.to_string(),
            remove.count.to_string(),
            read.count.to_string(),
            lists.to_string(),
            human_bytes(write.bytes),
            human_bytes(read.bytes),
            latency(&write, write.p50),
            latency(&write, write.p99),
            latency(&read, read.p50),
            latency(&read, read.p99),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, w))| if c < 2 { format!("{cell:<w$}") } else { format!("{cell:>w$}") })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
            out.push('\n');
        }
    }
    out
}
