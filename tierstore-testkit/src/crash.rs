//! The kill -9 loop: a child process writes, updates and removes through a journaled
//! TierStore and prints every operation it starts and every one acknowledged; the parent
//! kills it (`SIGKILL`) at random moments, reopens the store with `open()` and checks that
//!
//! - no acknowledged operation is lost, on either tier: every key holds its last
//!   acknowledged state, or the state of an operation that was in flight (or failed) after it;
//! - no value is torn: every value read back is one the child wrote, whole;
//! - the backup equals the primary and `verify()` is consistent after every reopen.
//!
//! One test function is both parent and child: [`KillLoop::run`] re-executes the test binary
//! with `--exact <test>` and an environment variable that makes the same function run the
//! child's workload instead. The parent decides everything the child must share (a
//! directory, server URLs, key prefixes) once, in `setup`, and both open the store with the
//! same `open` function from it.
//!
//! ```no_run
//! use tierstore_testkit::crash::KillLoop;
//!
//! #[test]
//! fn kill_9_memory() {
//!     KillLoop::new("kill_9_memory").run(
//!         |_dir| Default::default(),
//!         |dir, _params| async move {
//!             # let primary = tierstore_core::MemoryBackend::new();
//!             tierstore_core::TierStore::builder(primary).journal(dir.join("journal")).open().await
//!         },
//!     );
//! }
//! ```
//!
//! Kills: [`KillLoop::kills`], default 50, or `TIERSTORE_KILLS` from the environment.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lightning::util::persist::KVStore;
use tierstore_core::{Backend, Error, Key, TierStore};

const CHILD: &str = "TIERSTORE_CRASH_CHILD";
const DIR: &str = "TIERSTORE_CRASH_DIR";
const PARAMS: &str = "TIERSTORE_CRASH_PARAMS";
const LINE: &str = "@ts ";
const WRITERS: usize = 8;
const KEYS_PER_WRITER: usize = 8;

/// What the parent hands the child besides the directory: `name -> value` (no `\n`).
pub type Params = BTreeMap<String, String>;

/// A kill -9 loop over one store configuration.
#[derive(Debug, Clone)]
pub struct KillLoop {
    test: String,
    kills: usize,
}

/// What a loop saw, printed at its end.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Child processes killed.
    pub kills: usize,
    /// Kills that landed before the child finished opening (during recovery).
    pub kills_during_open: usize,
    /// Operations acknowledged to the child.
    pub acknowledged: u64,
    /// Operations in flight (started, not acknowledged) at a kill.
    pub in_flight_at_kill: u64,
    /// Keys checked after reopens, summed.
    pub keys_checked: u64,
}

impl KillLoop {
    /// A loop for the test function named `test` (its full name as `cargo test` shows it).
    pub fn new(test: &str) -> Self {
        let kills = std::env::var("TIERSTORE_KILLS").ok().and_then(|v| v.parse().ok());
        KillLoop { test: test.to_owned(), kills: kills.unwrap_or(50) }
    }

    /// Sets the number of kills (overrides `TIERSTORE_KILLS`).
    pub fn kills(mut self, kills: usize) -> Self {
        self.kills = kills;
        self
    }

    /// Runs the loop (in the parent) or the workload (in the child, never returning).
    ///
    /// `setup` runs once, in the parent, and returns the parameters both processes open the
    /// store with; `open` opens the journaled TierStore from the directory and parameters.
    pub fn run<S, O, Fut>(self, setup: S, open: O) -> Counts
    where
        S: FnOnce(&Path) -> Params,
        O: Fn(PathBuf, Params) -> Fut,
        Fut: Future<Output = Result<TierStore, Error>>,
    {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        if std::env::var(CHILD).ok().as_deref() == Some(self.test.as_str()) {
            let dir = PathBuf::from(std::env::var(DIR).expect("the parent sets the directory"));
            let params = decode(&std::env::var(PARAMS).unwrap_or_default());
            rt.block_on(child(open(dir, params)));
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let params = setup(dir.path());
        let counts = rt.block_on(self.parent(dir.path(), &params, &open));
        let _ = writeln!(
            std::io::stderr(),
            "kill -9 loop {}: {} kills ({} during open/recovery), {} acknowledged operations, \
             {} in flight at a kill, {} key checks after reopen: no acknowledged operation \
             lost, no torn value, backup consistent",
            self.test,
            counts.kills,
            counts.kills_during_open,
            counts.acknowledged,
            counts.in_flight_at_kill,
            counts.keys_checked
        );
        counts
    }

    async fn parent<O, Fut>(&self, dir: &Path, params: &Params, open: &O) -> Counts
    where
        O: Fn(PathBuf, Params) -> Fut,
        Fut: Future<Output = Result<TierStore, Error>>,
    {
        let mut model: HashMap<Key, KeyModel> = HashMap::new();
        let mut counts = Counts::default();
        let log = dir.join("child.log");
        for round in 0..self.kills {
            let exe = std::env::current_exe().expect("the test binary");
            let mut child = Command::new(exe)
                .args([&self.test, "--exact", "--test-threads", "1"])
                .env(CHILD, &self.test)
                .env(DIR, dir)
                .env(PARAMS, encode(params))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&log).expect("child log"))
                .spawn()
                .expect("the child starts");
            let stdout = child.stdout.take().expect("piped");
            let (lines, received) = mpsc::channel();
            let reader = std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if lines.send(line).is_err() {
                        break;
                    }
                }
            });
            // A quarter of the kills land at any moment, recovery included; the others
            // once the child works, after a random stretch of operations.
            let during_open = fastrand::u8(0..4) == 0;
            let mut ready = false;
            let mut all = Vec::new();
            let started = Instant::now();
            let deadline = if during_open {
                Some(started + Duration::from_millis(fastrand::u64(0..80)))
            } else {
                None
            };
            let mut kill_at = deadline;
            loop {
                let now = Instant::now();
                if kill_at.is_some_and(|at| now >= at) {
                    break;
                }
                if now.duration_since(started) > Duration::from_secs(120) {
                    let _ = child.kill();
                    panic!("round {round}: the child never got ready; its log:\n{}", tail(&log));
                }
                match received.recv_timeout(Duration::from_millis(5)) {
                    Ok(line) => {
                        // libtest may print "test NAME ... " before our first line.
                        let line = line.find(LINE).map_or(line.clone(), |at| line[at..].to_owned());
                        if line == format!("{LINE}READY") && !ready {
                            ready = true;
                            if kill_at.is_none() {
                                kill_at = Some(
                                    Instant::now() + Duration::from_millis(fastrand::u64(20..400)),
                                );
                            }
                        }
                        all.push(line);
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        let status = child.wait().expect("child status");
                        panic!("round {round}: the child exited ({status}); log:\n{}", tail(&log));
                    }
                }
            }
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
            reader.join().expect("reader thread");
            all.extend(received.try_iter());
            counts.kills += 1;
            if !ready {
                counts.kills_during_open += 1;
            }
            for line in &all {
                apply(&mut model, line, &mut counts);
            }
            counts.in_flight_at_kill +=
                model.values().filter(|m| !m.possible.is_empty()).count() as u64;

            let store = open(dir.to_path_buf(), params.clone())
                .await
                .unwrap_or_else(|e| panic!("round {round}: reopening after kill -9: {e}"));
            counts.keys_checked += check(&store, &mut model, round).await;
            drop(store);
        }
        counts
    }
}

/// What the parent knows of one key.
#[derive(Debug, Default)]
struct KeyModel {
    /// The last acknowledged (or checked) state: `None` absent, `Some(seq)` a written value.
    committed: Option<u64>,
    /// States of operations started (or failed) after it.
    possible: Vec<Option<u64>>,
}

fn apply(model: &mut HashMap<Key, KeyModel>, line: &str, counts: &mut Counts) {
    let Some(rest) = line.strip_prefix(LINE) else { return };
    let fields: Vec<&str> = rest.split(' ').collect();
    let (kind, key, seq, op) = match fields[..] {
        [kind, key, seq, op, ..] => (kind, key, seq, op),
        _ => return,
    };
    let (Some(key), Ok(seq)) = (parse_key(key), seq.parse::<u64>()) else { return };
    let state = if op == "w" { Some(seq) } else { None };
    let entry = model.entry(key).or_default();
    match kind {
        "B" | "E" => entry.possible.push(state),
        "A" => {
            entry.committed = state;
            entry.possible.clear();
            counts.acknowledged += 1;
        }
        _ => {}
    }
}

/// Checks every key the child touched on both tiers; returns how many.
async fn check(store: &TierStore, model: &mut HashMap<Key, KeyModel>, round: usize) -> u64 {
    let backup = store.backup().expect("the kill loop needs a backup");
    for (key, m) in model.iter_mut() {
        let primary = state_of(store.primary().as_ref(), key).await;
        let allowed = std::iter::once(&m.committed).chain(&m.possible).any(|s| *s == primary);
        assert!(
            allowed,
            "round {round}: {key} holds {primary:?} in the primary; acknowledged {:?}, in \
             flight {:?}: an acknowledged operation was lost",
            m.committed, m.possible
        );
        let in_backup = state_of(backup.as_ref(), key).await;
        assert_eq!(in_backup, primary, "round {round}: {key}: the backup differs after open()");
        m.committed = primary;
        m.possible.clear();
    }
    let divergences = store.divergences();
    assert!(divergences.is_empty(), "round {round}: left after open(): {divergences:?}");
    let report = store.verify().await.expect("verify");
    assert!(report.is_consistent(), "round {round}: verify after open(): {report:?}");
    model.len() as u64
}

async fn state_of(backend: &dyn Backend, key: &Key) -> Option<u64> {
    match backend.read(key).await {
        Ok(bytes) => Some(decode_value(key, &bytes).unwrap_or_else(|e| panic!("{key}: {e}"))),
        Err(e) if e.is_not_found() => None,
        Err(e) => panic!("reading {key} from {backend}: {e}"),
    }
}

/// The child: open, then write, update and remove forever, printing each step.
async fn child<Fut: Future<Output = Result<TierStore, Error>>>(open: Fut) -> ! {
    let store = match open.await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("the child could not open the store: {e}");
            std::process::exit(3);
        }
    };
    emit(format_args!("{LINE}READY"));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move { writer(store, w).await })
        })
        .collect();
    // The parent kills us; if it does not (it died), stop after a while.
    tokio::time::sleep(Duration::from_secs(120)).await;
    drop(writers);
    std::process::exit(0);
}

async fn writer(store: TierStore, w: usize) {
    let keys: Vec<Key> = (0..KEYS_PER_WRITER)
        .map(|k| {
            let namespace = if k % 2 == 0 { "monitors" } else { "payments" };
            Key::new(namespace, "", &format!("w{w}k{k}")).expect("valid key")
        })
        .collect();
    // Sequence numbers never repeat for a key, across restarts: start from the clock.
    let mut seq = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
        * 64;
    loop {
        seq += 1;
        let key = &keys[fastrand::usize(0..keys.len())];
        let write = fastrand::u8(0..10) < 7;
        let op = if write { "w" } else { "r" };
        emit(format_args!("{LINE}B {} {seq} {op}", show_key(key)));
        let result = if write {
            KVStore::write(&store, key.primary(), key.secondary(), key.key(), value(key, seq)).await
        } else {
            KVStore::remove(&store, key.primary(), key.secondary(), key.key(), false).await
        };
        match result {
            Ok(()) => emit(format_args!("{LINE}A {} {seq} {op}", show_key(key))),
            Err(e) => {
                let e = e.to_string().replace('\n', " ");
                emit(format_args!("{LINE}E {} {seq} {op} {e}", show_key(key)));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// One protocol line on the real stdout (libtest captures `println!`, not this), written
/// whole with one `write`.
fn emit(line: std::fmt::Arguments<'_>) {
    let line = format!("{line}\n");
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}

fn show_key(key: &Key) -> String {
    format!("{}/{}", key.primary(), key.key())
}

fn parse_key(text: &str) -> Option<Key> {
    let (namespace, key) = text.split_once('/')?;
    Key::new(namespace, "", key).ok()
}

/// `key#seq#` then a filler of a length that varies with `seq`, then a checksum of all that.
fn value(key: &Key, seq: u64) -> Vec<u8> {
    let mut out = format!("{}#{seq}#", show_key(key)).into_bytes();
    let filler = (seq % 97) as usize * 61;
    out.extend((0..filler).map(|i| (seq as usize + i) as u8));
    let sum = checksum(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

fn decode_value(key: &Key, bytes: &[u8]) -> Result<u64, String> {
    let torn = || format!("a torn or foreign value of {} bytes", bytes.len());
    let (body, sum) =
        bytes.split_at_checked(bytes.len().checked_sub(8).ok_or_else(torn)?).ok_or_else(torn)?;
    if checksum(body).to_le_bytes() != sum {
        return Err(torn());
    }
    let text = String::from_utf8_lossy(body);
    let mut parts = text.splitn(3, '#');
    let (Some(name), Some(seq)) = (parts.next(), parts.next()) else { return Err(torn()) };
    if name != show_key(key) {
        return Err(format!("the value of {name} is under {key}"));
    }
    let seq: u64 = seq.parse().map_err(|_| torn())?;
    if value(key, seq) != bytes {
        return Err(torn());
    }
    Ok(seq)
}

/// FNV-1a, 64 bits: enough to tell a torn value from a whole one.
fn checksum(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

fn encode(params: &Params) -> String {
    params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n")
}

fn decode(text: &str) -> Params {
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect()
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_torn_ones_are_caught() {
        let key = Key::new("monitors", "", "w1k2").unwrap();
        for seq in [1, 96, 97, 12345] {
            let v = value(&key, seq);
            assert_eq!(decode_value(&key, &v), Ok(seq));
            for cut in [1, v.len() / 2, v.len() - 1] {
                assert!(decode_value(&key, &v[..cut]).is_err(), "cut at {cut}");
            }
        }
        let other = Key::new("monitors", "", "w1k3").unwrap();
        assert!(decode_value(&other, &value(&key, 5)).unwrap_err().contains("is under"));
        let params: Params = [("a".into(), "x=y".into()), ("b".into(), "".into())].into();
        assert_eq!(decode(&encode(&params)), params);
    }
}
