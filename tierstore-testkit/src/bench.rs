//! Benchmark helpers shared by every crate's criterion benches, so that `cargo xtask bench`
//! can gather one report.
//!
//! [`Group::concurrent`] measures an operation run `concurrency` at a time as a criterion benchmark
//! (throughput in operations per second), records each operation's latency, and writes a
//! [`Record`] to `target/tierstore-bench/` (or `$TIERSTORE_BENCH_DIR`). Each record may name
//! its baseline — another record measured in the same run — so the report can show ratios.

use std::fmt::Write as _;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use futures::StreamExt;
use hdrhistogram::Histogram;
use tokio::runtime::Runtime;

/// One measured configuration, as written for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Criterion group, e.g. `sqlite_write`.
    pub group: String,
    /// Benchmark id within the group, e.g. `tierstore_c16`.
    pub id: String,
    /// Operations in flight at once.
    pub concurrency: usize,
    /// Operations per second over all measured operations.
    pub ops_per_sec: f64,
    /// Median latency of one operation, in microseconds.
    pub p50_us: u64,
    /// 99th percentile latency of one operation, in microseconds.
    pub p99_us: u64,
    /// `group/id` of the baseline this is compared with, if any.
    pub baseline: Option<String>,
    /// What was measured, for the report.
    pub note: String,
}

impl Record {
    /// The record as one line of JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let baseline = match &self.baseline {
            Some(b) => format!("\"{}\"", escape(b)),
            None => "null".to_owned(),
        };
        let _ = write!(
            out,
            "{{\"group\":\"{}\",\"id\":\"{}\",\"concurrency\":{},\"ops_per_sec\":{:.3},\
             \"p50_us\":{},\"p99_us\":{},\"baseline\":{},\"note\":\"{}\"}}",
            escape(&self.group),
            escape(&self.id),
            self.concurrency,
            self.ops_per_sec,
            self.p50_us,
            self.p99_us,
            baseline,
            escape(&self.note),
        );
        out
    }

    /// Writes the record to the bench directory as `<group>/<id>.json`.
    pub fn save(&self) -> std::io::Result<PathBuf> {
        self.save_with_extra(&[])
    }

    /// Writes the record with figures beyond the standard ones (`"extra": {name: value}`,
    /// e.g. peak memory), which the report shows after the note.
    pub fn save_with_extra(&self, extra: &[(&str, f64)]) -> std::io::Result<PathBuf> {
        let dir = bench_dir().join(&self.group);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}.json", self.id));
        let mut json = self.to_json();
        if !extra.is_empty() {
            let figures: Vec<String> = extra
                .iter()
                .map(|(name, value)| match value.is_finite() {
                    true => format!("\"{}\":{value:.3}", escape(name)),
                    false => format!("\"{}\":null", escape(name)),
                })
                .collect();
            json.pop();
            let _ = write!(json, ",\"extra\":{{{}}}}}", figures.join(","));
        }
        std::fs::write(&path, json + "\n")?;
        Ok(path)
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Where records go: `$TIERSTORE_BENCH_DIR`, or `target/tierstore-bench` of the workspace.
pub fn bench_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TIERSTORE_BENCH_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("tierstore-bench")
}

/// Options of one [`Group::concurrent`] measurement.
#[derive(Debug, Clone)]
pub struct Load {
    /// Benchmark id within the group.
    pub id: String,
    /// Operations in flight at once.
    pub concurrency: usize,
    /// `group/id` of the baseline record.
    pub baseline: Option<String>,
    /// What is measured, for the report.
    pub note: String,
}

impl Load {
    /// `id` at `concurrency`, without a baseline.
    pub fn new(id: impl Into<String>, concurrency: usize) -> Self {
        Load { id: id.into(), concurrency, baseline: None, note: String::new() }
    }

    /// Compares this measurement with the record `group/id`.
    pub fn baseline(mut self, baseline: impl Into<String>) -> Self {
        self.baseline = Some(baseline.into());
        self
    }

    /// Describes the measurement in the report.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }
}

/// A criterion benchmark group whose measurements are also filed as [`Record`]s under the
/// group's name.
pub struct Group<'a> {
    name: String,
    inner: BenchmarkGroup<'a, WallTime>,
}

impl<'a> Group<'a> {
    /// Opens the criterion group `name`.
    pub fn new(c: &'a mut Criterion, name: &str) -> Self {
        Group { name: name.to_owned(), inner: c.benchmark_group(name) }
    }

    /// Short measurements: 10 samples after a 0.5 s warm-up, over `measurement`. Enough for
    /// the throughput and percentiles a [`Record`] files, in a time CI can afford.
    pub fn brief(&mut self, measurement: Duration) -> &mut Self {
        self.inner
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(measurement);
        self
    }

    /// The criterion group, for settings such as `sample_size` or `measurement_time`.
    pub fn criterion(&mut self) -> &mut BenchmarkGroup<'a, WallTime> {
        &mut self.inner
    }

    /// Runs `op(i)` for i = 0, 1, 2, ... with `load.concurrency` operations in flight, as the
    /// criterion benchmark `load.id`; records each operation's latency and saves a [`Record`]
    /// of the throughput and percentiles over all measured operations.
    pub fn concurrent<F, Fut>(&mut self, rt: &Runtime, load: Load, op: F) -> Record
    where
        F: Fn(u64) -> Fut,
        Fut: Future<Output = ()>,
    {
        let latencies = Mutex::new(latency_histogram());
        let totals = Mutex::new((0u64, Duration::ZERO));
        let next = AtomicU64::new(0);
        self.inner.throughput(Throughput::Elements(1));
        self.inner.bench_function(load.id.as_str(), |b| {
            b.to_async(rt).iter_custom(|iters| {
                let (latencies, totals, next, op) = (&latencies, &totals, &next, &op);
                async move {
                    let start = Instant::now();
                    let timed: Vec<Duration> = futures::stream::iter(0..iters)
                        .map(|_| async move {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let t = Instant::now();
                            op(i).await;
                            t.elapsed()
                        })
                        .buffer_unordered(load.concurrency)
                        .collect()
                        .await;
                    let elapsed = start.elapsed();
                    let mut histogram = latencies.lock().expect("not poisoned");
                    for d in timed {
                        histogram.saturating_record(micros(d));
                    }
                    let mut totals = totals.lock().expect("not poisoned");
                    totals.0 += iters;
                    totals.1 += elapsed;
                    elapsed
                }
            })
        });
        let histogram = latencies.into_inner().expect("not poisoned");
        let (ops, elapsed) = totals.into_inner().expect("not poisoned");
        let record = Record::measured(&self.name, load, &histogram, ops, elapsed);
        save_or_warn(&record);
        record
    }

    /// Closes the criterion group.
    pub fn finish(self) {
        self.inner.finish();
    }
}

/// An operation of an [`interleaved`] measurement: `op(i)` for i = 0, 1, 2, ...
pub type Op<'a> = Box<dyn Fn(u64) -> futures::future::BoxFuture<'a, ()> + 'a>;

/// Measures several loads in alternation: a warm-up round of each, then `rounds` rounds in
/// which each load runs for `round` with its concurrency. Files one [`Record`] per load (in
/// `group`) over all its measured rounds. On a machine whose load drifts (other processes'
/// I/O), ratios between loads measured this way compare like with like, where loads measured
/// one after the other for seconds each do not.
pub fn interleaved(
    rt: &Runtime,
    group: &str,
    rounds: usize,
    round: Duration,
    loads: Vec<(Load, Op<'_>)>,
) -> Vec<Record> {
    let mut totals: Vec<(Histogram<u64>, u64, Duration)> =
        loads.iter().map(|_| (latency_histogram(), 0, Duration::ZERO)).collect();
    let mut next = 0u64;
    for r in 0..=rounds {
        for ((load, op), total) in loads.iter().zip(totals.iter_mut()) {
            let start = Instant::now();
            let end = start + round;
            let base = next;
            let timed: Vec<Duration> = rt.block_on(
                futures::stream::iter(0u64..)
                    .map(|i| async move {
                        let t = Instant::now();
                        if t >= end {
                            return None;
                        }
                        op(base + i).await;
                        Some(t.elapsed())
                    })
                    .buffer_unordered(load.concurrency)
                    .take_while(|d| std::future::ready(d.is_some()))
                    .filter_map(std::future::ready)
                    .collect(),
            );
            let elapsed = start.elapsed();
            next += timed.len() as u64 + load.concurrency as u64;
            if r == 0 {
                continue; // warm-up
            }
            for d in &timed {
                total.0.saturating_record(micros(*d));
            }
            total.1 += timed.len() as u64;
            total.2 += elapsed;
        }
    }
    loads
        .into_iter()
        .zip(totals)
        .map(|((load, _), (histogram, ops, elapsed))| {
            let record = Record::measured(group, load, &histogram, ops, elapsed);
            eprintln!(
                "{group}/{}: {:.0} ops/s, p50 {} us, p99 {} us",
                record.id, record.ops_per_sec, record.p50_us, record.p99_us
            );
            save_or_warn(&record);
            record
        })
        .collect()
}

impl Record {
    /// The record of `load` in `group`: `ops` operations in `elapsed`, latencies in µs.
    fn measured(
        group: &str,
        load: Load,
        latencies: &Histogram<u64>,
        ops: u64,
        elapsed: Duration,
    ) -> Record {
        Record {
            group: group.to_owned(),
            id: load.id,
            concurrency: load.concurrency,
            ops_per_sec: ops as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE),
            p50_us: latencies.value_at_quantile(0.5),
            p99_us: latencies.value_at_quantile(0.99),
            baseline: load.baseline,
            note: load.note,
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// A `size`-byte value of operation `i`: pseudo-random bytes (SplitMix64 seeded by `i`), so
/// no two operations write the same value, whatever keys they reuse.
///
/// Benches that update keys must write new bytes: SQLite compares an overwritten cell with
/// the old one and leaves identical pages clean, so rewriting a key with the same value
/// commits without writing (or fsyncing) anything and would measure no write at all. A
/// channel monitor update never repeats its bytes.
pub fn value_of(i: u64, size: usize) -> Vec<u8> {
    let mut state = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut value = Vec::with_capacity(size + 8);
    while value.len() < size {
        // SplitMix64.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        value.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    value.truncate(size);
    value
}

/// Saves `record`; a bench that cannot file its record still reports through criterion.
pub fn save_or_warn(record: &Record) {
    if let Err(e) = record.save() {
        eprintln!("tierstore bench: could not save {}/{}: {e}", record.group, record.id);
    }
}

/// Durable writes of a fixed size straight to one file, the physical reference of a store's
/// commit: each [`write`](Self::write) writes `bytes` bytes at the next offset of a region
/// allocated (and synced) in advance, wrapping at its end, then `fdatasync`s the file. The
/// file never grows, so a sync flushes data only, as SQLite's WAL after its first checkpoint
/// (the WAL is reused from its start, not truncated).
#[derive(Debug)]
pub struct SyncedWrites {
    file: std::fs::File,
    path: PathBuf,
    block: Vec<u8>,
    region: u64,
    offset: AtomicU64,
}

impl SyncedWrites {
    /// Creates `path` with a region of `region` bytes (at least `bytes`), written and synced,
    /// for writes of `bytes` bytes each. The file is removed on drop.
    pub fn create(path: impl Into<PathBuf>, bytes: usize, region: usize) -> std::io::Result<Self> {
        use std::io::Write;
        let path = path.into();
        let region = region.max(bytes);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .read(true)
            .open(&path)?;
        file.write_all(&vec![0; region])?;
        file.sync_all()?;
        Ok(SyncedWrites {
            file,
            path,
            block: vec![0x5a; bytes],
            region: region as u64,
            offset: AtomicU64::new(0),
        })
    }

    /// Writes one block at the next offset and `fdatasync`s the file. Blocking.
    pub fn write(&self) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let len = self.block.len() as u64;
        let wrap = |at: u64| if at + len > self.region { 0 } else { at };
        // The closure always returns `Some`: either way the result is the previous offset.
        let previous = self
            .offset
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |at| Some(wrap(at) + len))
            .unwrap_or_else(|at| at);
        let offset = wrap(previous);
        self.file.write_all_at(&self.block, offset)?;
        self.file.sync_data()
    }
}

impl Drop for SyncedWrites {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Measures the disk's fsync rate (write 4 KiB + `fdatasync` of one file, `ops` times) in
/// `dir`: the physical limit of any durable store on this machine. Saved as the record
/// `disk/fsync`.
pub fn fsync_rate(dir: &std::path::Path, ops: usize) -> std::io::Result<Record> {
    let probe = SyncedWrites::create(dir.join("fsync-probe"), 4096, 4096)?;
    let mut histogram = latency_histogram();
    let start = Instant::now();
    for _ in 0..ops {
        let t = Instant::now();
        probe.write()?;
        histogram.saturating_record(micros(t.elapsed()));
    }
    let elapsed = start.elapsed();
    let record = Record {
        group: "disk".to_owned(),
        id: "fsync".to_owned(),
        concurrency: 1,
        ops_per_sec: ops as f64 / elapsed.as_secs_f64(),
        p50_us: histogram.value_at_quantile(0.5),
        p99_us: histogram.value_at_quantile(0.99),
        baseline: None,
        note: "4 KiB write + fdatasync of one file: the disk's physical limit".to_owned(),
    };
    record.save()?;
    Ok(record)
}

/// Latencies in µs up to an hour. (Bounds are explicit because `saturating_record` would
/// otherwise clamp at the auto-resizing histogram's initial 2 ms ceiling.)
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60 * 60 * 1_000_000, 3).expect("valid bounds")
}

#[cfg(test)]
mod tests {
    use super::{SyncedWrites, value_of};

    #[test]
    fn values_of_different_operations_differ() {
        let base = value_of(5, 4096);
        assert_eq!(base.len(), 4096);
        assert_eq!(base, value_of(5, 4096), "deterministic");
        // Neighbours, and operations that reuse the same key of a 256- or 1024-key workload.
        for other in [4u64, 6, 5 + 256, 5 + 1024, 5 + (1 << 32)] {
            let value = value_of(other, 4096);
            let same = base.iter().zip(&value).filter(|(a, b)| a == b).count();
            assert!(same < 64, "operations 5 and {other} share {same} of 4096 bytes");
        }
        assert!(value_of(3, 0).is_empty());
        assert_eq!(value_of(3, 5).len(), 5);
    }

    #[test]
    fn synced_writes_fill_their_region_then_wrap_without_growing_the_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("probe");
        let probe = SyncedWrites::create(&path, 3, 7).expect("creates");
        assert_eq!(std::fs::read(&path).expect("reads"), [0; 7]);
        probe.write().expect("writes");
        assert_eq!(std::fs::read(&path).expect("reads"), [0x5a, 0x5a, 0x5a, 0, 0, 0, 0]);
        probe.write().expect("writes");
        assert_eq!(std::fs::read(&path).expect("reads"), [0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0]);
        // A third block would pass the region's end: it goes back to the start.
        std::fs::write(&path, [0; 7]).expect("resets");
        probe.write().expect("writes");
        assert_eq!(std::fs::read(&path).expect("reads"), [0x5a, 0x5a, 0x5a, 0, 0, 0, 0]);
        drop(probe);
        assert!(!path.exists(), "the probe's file is removed with it");
    }
}
