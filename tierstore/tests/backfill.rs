//! A node with 10,000 keys gains a backup (backfilled), then runs without it and writes more
//! (resilvered: only the difference copied, counted). Both are killed with `SIGKILL` in the
//! middle, in a child process; reopening finishes the job, copying only what is still
//! missing.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use futures::{StreamExt, TryStreamExt};
use lightning::util::persist::KVStore;
use tierstore::TierStore;

const CHILD: &str = "TIERSTORE_BACKFILL_CHILD";
const KEYS: usize = 10_000;

async fn with_backup(dir: &Path) -> TierStore {
    TierStore::builder(support::sqlite(&dir.join("primary.db")).await)
        .backup(support::sqlite(&dir.join("backup.db")).await)
        .journal(dir.join("journal"))
        .on_progress(|p| {
            let line = format!("progress {} {}\n", p.scanned, p.copied);
            let _ = std::io::stdout().lock().write_all(line.as_bytes());
        })
        .open()
        .await
        .expect("opens with the backup")
}

async fn without_backup(dir: &Path) -> TierStore {
    TierStore::builder(support::sqlite(&dir.join("primary.db")).await)
        .journal(dir.join("journal"))
        .open()
        .await
        .expect("opens without a backup")
}

async fn write_keys(store: &TierStore, range: std::ops::Range<usize>, tag: &str) {
    futures::stream::iter(range)
        .map(|i| {
            let store = store.clone();
            let value = format!("{tag}{i}").repeat(20).into_bytes();
            async move { KVStore::write(&store, "payments", "", &format!("p{i:05}"), value).await }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await
        .expect("writes");
}

/// Opens with the backup in a child process and kills it once it reports copied keys.
/// Returns how many keys the child said it had copied.
fn open_and_kill(dir: &Path) -> u64 {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["backfill_and_resilver_resume_after_kill_9", "--exact", "--test-threads", "1"])
        .env(CHILD, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut copied = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok) {
        let Some(at) = line.find("progress ") else { continue };
        let fields: Vec<u64> =
            line[at + 9..].split(' ').filter_map(|f| f.trim().parse().ok()).collect();
        if let [_, c] = fields[..]
            && c > 0
        {
            copied = c;
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    copied
}

#[test]
fn backfill_and_resilver_resume_after_kill_9() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    if let Some(dir) = std::env::var_os(CHILD) {
        rt.block_on(with_backup(Path::new(&dir)));
        // Not killed in the middle (the parent was too slow): stay until killed.
        std::thread::sleep(std::time::Duration::from_secs(60));
        std::process::exit(0);
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    rt.block_on(async {
        let store = without_backup(dir).await;
        write_keys(&store, 0..KEYS, "v").await;
    });

    // Backfill, killed in the middle, then finished.
    let killed_after = open_and_kill(dir);
    let backfill_killed_after = killed_after;
    assert!(killed_after > 0 && killed_after < KEYS as u64, "killed after {killed_after}");
    let backfilled = rt.block_on(async {
        let store = with_backup(dir).await;
        let report = store.last_resilver().expect("the backfill resumed");
        assert!(store.verify().await.unwrap().is_consistent());
        report
    });
    assert!(
        backfilled.copied < KEYS as u64 && backfilled.copied + killed_after >= KEYS as u64,
        "after a kill at {killed_after} copied, the rest copied {backfilled:?}"
    );

    // Runs without the backup and writes more: 1,000 new keys, 500 updated.
    rt.block_on(async {
        let store = without_backup(dir).await;
        write_keys(&store, KEYS..KEYS + 1000, "v").await;
        write_keys(&store, 0..500, "updated").await;
    });
    let killed_after = open_and_kill(dir);
    let finished = rt.block_on(async {
        let store = with_backup(dir).await;
        assert!(store.verify().await.unwrap().is_consistent());
        store.last_resilver().expect("the resilver resumed")
    });
    assert!(
        finished.copied + killed_after >= 1500 && finished.copied <= 1500,
        "only the difference is copied: {killed_after} before the kill, then {finished:?}"
    );
    assert_eq!(finished.scanned, (KEYS + 1000) as u64, "{finished:?}");
    let _ = writeln!(
        std::io::stderr(),
        "backfill of {KEYS} keys: killed after {backfill_killed_after} copied, reopened and \
         copied the other {}; resilver of 1,500 changed keys: killed after {killed_after} \
         copied, reopened and copied {} of {} compared",
        backfilled.copied,
        finished.copied,
        finished.scanned
    );
}
