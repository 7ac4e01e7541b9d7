//! Times ldk-node 0.7.1's `SqliteStore` (the real crate) writing 4 KiB values to distinct keys
//! through its async `KVStore`, with 1, 2, 4, ... writes in flight, and files one record per
//! concurrency in TierStore's bench format (`<dir>/<group>/<id>.json`), so that
//! `cargo xtask bench` reports it beside the in-tree replica of the same write path.
//!
//! `ldk-node-sqlite-bench <records dir> <scratch dir> <seconds per run> <concurrency>...`

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ldk_node::io::sqlite_store::SqliteStore;
use ldk_node::lightning::util::persist::KVStore;

const GROUP: &str = "sqlite_write";
const VALUE_SIZE: usize = 4096;
const WARM_UP: Duration = Duration::from_millis(500);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: ldk-node-sqlite-bench <records dir> <scratch dir> <seconds> <concurrency>...");
        std::process::exit(2);
    }
    let records = PathBuf::from(&args[0]);
    let scratch = PathBuf::from(&args[1]);
    let seconds: f64 = args[2].parse().expect("seconds per run");
    let levels: Vec<usize> =
        args[3..].iter().map(|c| c.parse().expect("a concurrency level")).collect();
    let runtime = ldk_node::tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    for concurrency in levels {
        let dir = scratch.join(format!("ldk-node-real-c{concurrency}"));
        let _ = std::fs::remove_dir_all(&dir);
        let store = SqliteStore::new(dir.clone(), None, None).expect("ldk-node opens its store");
        let run = runtime.block_on(measure(Arc::new(store), concurrency, seconds));
        save(&records, concurrency, &run).expect("record saved");
        eprintln!(
            "{GROUP}/ldk_node_real_c{concurrency}: {:.0} writes/s, p50 {} us, p99 {} us",
            run.ops_per_sec, run.p50_us, run.p99_us
        );
        std::fs::remove_dir_all(&dir).expect("scratch directory removed");
    }
}

struct Run {
    ops_per_sec: f64,
    p50_us: u64,
    p99_us: u64,
}

/// `concurrency` closed loops, each writing one new key after the other, for `seconds` after
/// a warm-up; every write of the measured window is timed.
async fn measure(store: Arc<SqliteStore>, concurrency: usize, seconds: f64) -> Run {
    let next = Arc::new(AtomicU64::new(0));
    let value = vec![0x5a_u8; VALUE_SIZE];
    let start = Instant::now();
    let measured_from = start + WARM_UP;
    let end = measured_from + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (store, next, value) = (Arc::clone(&store), Arc::clone(&next), value.clone());
        tasks.push(ldk_node::tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let began = Instant::now();
                if began >= end {
                    return latencies;
                }
                let key = format!("k{}", next.fetch_add(1, Ordering::Relaxed));
                KVStore::write(&*store, "bench", "", &key, value.clone()).await.expect("writes");
                if began >= measured_from {
                    latencies.push(began.elapsed());
                }
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("writer task"));
    }
    let window = Instant::now().duration_since(measured_from).as_secs_f64();
    all.sort();
    let quantile = |q: f64| {
        let i = ((all.len() as f64 * q).ceil() as usize).clamp(1, all.len().max(1)) - 1;
        all.get(i).map_or(0, |d| d.as_micros() as u64)
    };
    Run { ops_per_sec: all.len() as f64 / window, p50_us: quantile(0.5), p99_us: quantile(0.99) }
}

fn save(records: &Path, concurrency: usize, run: &Run) -> std::io::Result<()> {
    let dir = records.join(GROUP);
    std::fs::create_dir_all(&dir)?;
    let id = format!("ldk_node_real_c{concurrency}");
    let json = format!(
        "{{\"group\":\"{GROUP}\",\"id\":\"{id}\",\"concurrency\":{concurrency},\
         \"ops_per_sec\":{:.3},\"p50_us\":{},\"p99_us\":{},\"baseline\":null,\
         \"note\":\"ldk-node 0.7.1 SqliteStore (the real crate, rusqlite 0.31), KVStore::write\"}}\n",
        run.ops_per_sec, run.p50_us, run.p99_us
    );
    std::fs::write(dir.join(format!("{id}.json")), json)
}
