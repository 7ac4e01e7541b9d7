//! A large SQLite store: 1,000,000 keys of 4 KiB (`TIERSTORE_BENCH_LARGE_KEYS` to change),
//! copied to a new store and verified against it with `tierstore_core::repair`, against a raw
//! SQLite `INSERT INTO … SELECT` of the same rows into the same schema.
//!
//! - `large_store/raw_copy`: `ATTACH` + one `INSERT … SELECT`, in one transaction.
//! - `large_store/copy`: `repair::copy_all` between two [`SqliteBackend`]s (baseline
//!   `raw_copy`), in a child process whose peak RSS (`VmHWM`) is reported.
//! - `large_store/verify`: `repair::verify` of the two stores, in a child process too.
//!
//! Rates are keys/s; the `extra` figures are the seconds taken and the child's peak RSS in MB.
//! The source store (about 4.3 GB for a million keys) is built once with raw inserts in one
//! unjournaled transaction and cached under the target directory (`tierstore-large/`); every
//! copy is deleted after its measurement. The keys spread over 100 namespaces
//! (`monitor_updates/<channel>`), as a node with 100 channels keeps its monitor updates.
//!
//! `cargo bench -p tierstore-sqlite --bench large`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use rusqlite::{Connection, params};
use tierstore_core::repair;
use tierstore_sqlite::SqliteBackend;
use tierstore_testkit::bench::{Record, bench_dir};

const GROUP: &str = "large_store";
const VALUE_SIZE: usize = 4096;
const NAMESPACES: usize = 100;
const DEFAULT_KEYS: usize = 1_000_000;
/// Set in the child process: `copy` or `verify`.
const ROLE: &str = "TIERSTORE_LARGE_ROLE";

fn main() {
    if let Ok(role) = std::env::var(ROLE) {
        child(&role);
        return;
    }
    // `cargo bench -- <filter>` passes the filter to every bench binary.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !GROUP.contains(f.as_str()) && !f.contains(GROUP)) {
        return;
    }
    let keys = std::env::var("TIERSTORE_BENCH_LARGE_KEYS")
        .ok()
        .map(|k| k.parse().expect("TIERSTORE_BENCH_LARGE_KEYS: a number of keys"))
        .unwrap_or(DEFAULT_KEYS);
    let cache =
        bench_dir().parent().expect("the bench directory has a parent").join("tierstore-large");
    std::fs::create_dir_all(&cache).expect("cache directory");
    let source = source_store(&cache, keys);
    let target = cache.join("copy.sqlite");

    remove_store(&target);
    let raw = raw_copy(&source, &target);
    remove_store(&target);
    file(
        &Record {
            baseline: None,
            ..record(
                "raw_copy",
                keys,
                raw,
                "raw SQLite ATTACH + INSERT INTO … SELECT of every row, one transaction",
            )
        },
        raw,
        f64::NAN,
    );

    let (copy, copy_rss) = run_child("copy", &source, &target);
    file(
        &Record {
            baseline: Some(format!("{GROUP}/raw_copy")),
            ..record(
                "copy",
                keys,
                copy,
                "repair::copy_all between two SqliteBackends (child process)",
            )
        },
        copy,
        copy_rss,
    );
    let (verify, verify_rss) = run_child("verify", &source, &target);
    file(
        &record("verify", keys, verify, "repair::verify of the two stores (child process)"),
        verify,
        verify_rss,
    );
    remove_store(&target);
}

fn record(id: &str, keys: usize, seconds: f64, note: &str) -> Record {
    Record {
        group: GROUP.to_owned(),
        id: id.to_owned(),
        concurrency: 1,
        ops_per_sec: keys as f64 / seconds,
        p50_us: 0,
        p99_us: 0,
        baseline: None,
        note: format!("{keys} keys of 4 KiB: {note}"),
    }
}

fn file(record: &Record, seconds: f64, peak_rss_mb: f64) {
    eprintln!(
        "{GROUP}/{}: {seconds:.1} s, {:.0} keys/s, peak RSS {peak_rss_mb:.0} MB",
        record.id, record.ops_per_sec
    );
    if let Err(e) = record.save_with_extra(&[("seconds", seconds), ("peak_rss_mb", peak_rss_mb)]) {
        eprintln!("{GROUP}: could not save {}: {e}", record.id);
    }
}

/// Deletes a database and its WAL files.
fn remove_store(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(file));
    }
}

/// The cached source store of `keys` keys, built if missing.
fn source_store(cache: &Path, keys: usize) -> PathBuf {
    let path = cache.join(format!("source-{keys}.sqlite"));
    let done = cache.join(format!("source-{keys}.done"));
    if done.exists() {
        return path;
    }
    remove_store(&path);
    let started = Instant::now();
    // The backend creates its schema; the rows go in raw, as fast as SQLite takes them.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    drop(rt.block_on(SqliteBackend::open(&path)).expect("creates the schema"));
    let mut conn = Connection::open(&path).expect("opens");
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;").expect("pragmas");
    let tx = conn.transaction().expect("transaction");
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO ldk_data (primary_namespace, secondary_namespace, key, value, sort_order)
                 VALUES ('monitor_updates', ?1, ?2, ?3, ?4)",
            )
            .expect("prepares");
        let mut value = vec![0u8; VALUE_SIZE];
        for i in 0..keys {
            let (channel, update) = (i % NAMESPACES, i / NAMESPACES);
            value[..8].copy_from_slice(&(i as u64).to_le_bytes());
            value[VALUE_SIZE - 8..]
                .copy_from_slice(&(i as u64).wrapping_mul(0x9e37_79b9).to_le_bytes());
            let key = format!("u{update:08}");
            insert
                .execute(params![format!("chan{channel:03}"), key, value, update as i64 + 1])
                .expect("inserts");
        }
    }
    tx.commit().expect("commits");
    conn.execute_batch("PRAGMA journal_mode = WAL;").expect("back to WAL");
    drop(conn);
    std::fs::write(&done, b"").expect("marker");
    eprintln!("{GROUP}: built a source store of {keys} keys in {:.1?}", started.elapsed());
    path
}

/// Seconds to copy every row of `source` into a new `target` with the backend's schema.
fn raw_copy(source: &Path, target: &Path) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    drop(rt.block_on(SqliteBackend::open(target)).expect("creates the schema"));
    let conn = Connection::open(target).expect("opens");
    conn.pragma_update(None, "synchronous", "FULL").expect("durable");
    conn.execute("ATTACH DATABASE ?1 AS source", [source.to_string_lossy()]).expect("attaches");
    let started = Instant::now();
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         INSERT INTO main.ldk_data SELECT * FROM source.ldk_data;
         COMMIT;",
    )
    .expect("copies");
    started.elapsed().as_secs_f64()
}

/// Runs this binary as the child `role`; returns its seconds and peak RSS (MB).
fn run_child(role: &str, source: &Path, target: &Path) -> (f64, f64) {
    let exe = std::env::current_exe().expect("own executable");
    let output =
        Command::new(exe).env(ROLE, role).arg(source).arg(target).output().expect("child starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{role} child failed ({}): {stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let figures: Vec<f64> = stdout
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(f64::NAN))
        .collect();
    match figures[..] {
        [seconds, rss] => (seconds, rss),
        _ => panic!("{role} child: unexpected output {stdout:?}"),
    }
}

/// The child: `copy` or `verify` from the first argument to the second; prints
/// `<seconds> <peak RSS MB>`.
fn child(role: &str) {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let (source, target) = (&args[0], &args[1]);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let seconds = rt.block_on(async {
        let source = SqliteBackend::open(source).await.expect("opens the source");
        let target = SqliteBackend::open(target).await.expect("opens the target");
        let started = Instant::now();
        match role {
            "copy" => {
                repair::copy_all(&source, &target, |_| true, |_, _| {}).await.expect("copies");
            }
            "verify" => {
                let report = repair::verify(&source, &target, |_| true).await.expect("verifies");
                assert!(report.is_consistent(), "the copy differs: {report:?}");
            }
            other => panic!("unknown role {other}"),
        }
        started.elapsed().as_secs_f64()
    });
    println!("{seconds:.3} {:.1}", peak_rss_mb());
}

/// This process's peak resident set (`VmHWM` of `/proc/self/status`), in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb * 1024.0 / 1e6)
}
