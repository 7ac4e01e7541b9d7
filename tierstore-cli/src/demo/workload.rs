//! The demo's LDK-shaped persistence workload, and the model of what it leaves behind.
//!
//! It writes what an LDK node with a few dozen channels writes: channel monitors of tens of
//! KiB rewritten as they are consolidated, monitor updates appended and lazily pruned
//! (as `MonitorUpdatingPersister` does), a channel manager of hundreds of KiB on every round,
//! payments and pending events, a network graph of tens of MiB and a scorer — the last two
//! routed to the ephemeral store by TierStore's default rule.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use futures::{FutureExt, StreamExt};
use lightning::util::persist::KVStore;
use tierstore::{Error, TierStore};

/// How much work the demo does.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    pub(crate) channels: usize,
    pub(crate) rounds: usize,
    pub(crate) payments_per_round: usize,
    pub(crate) graph_bytes: usize,
    pub(crate) concurrency: usize,
}

/// The final content of every key the workload touched: a hash of its value, or `None` if it
/// was removed.
pub(crate) type Model = BTreeMap<(String, String, String), Option<u64>>;

const MONITOR_BYTES: usize = 40 * 1024;
const MONITOR_UPDATE_BYTES: usize = 2 * 1024;
const MANAGER_BYTES: usize = 300 * 1024;
const PAYMENT_BYTES: usize = 600;
const EVENTS_BYTES: usize = 4 * 1024;
const SCORER_BYTES: usize = 1024 * 1024;
/// Monitors are consolidated (rewritten whole, updates pruned) every this many updates.
const CONSOLIDATE_EVERY: usize = 5;

/// One write or remove of the workload.
#[derive(Debug, Clone)]
struct Op {
    key: (String, String, String),
    /// `Some(len)` writes `len` bytes; `None` removes (lazily).
    write: Option<usize>,
}

impl Op {
    fn write(p: &str, s: &str, k: &str, len: usize) -> Op {
        Op { key: (p.to_owned(), s.to_owned(), k.to_owned()), write: Some(len) }
    }

    fn remove(p: &str, s: &str, k: &str) -> Op {
        Op { key: (p.to_owned(), s.to_owned(), k.to_owned()), write: None }
    }
}

fn monitor_name(channel: usize) -> String {
    // Monitor keys are funding outpoints: a 64-hex-digit txid and an output index.
    format!("{:064x}_{}", (channel as u128 + 1) * 0x9e37_79b9_7f4a_7c15, channel % 4)
}

/// Deterministic, incompressible-looking bytes for a value, so each write differs.
fn value(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed ^ 0x2545_f491_4f6c_dd1d;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn digest(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

impl Workload {
    /// The operations, in batches: the operations of a batch touch different keys and run
    /// concurrently; batches run one after another.
    fn batches(&self) -> Vec<Vec<Op>> {
        let mut batches = Vec::new();
        let mut first = vec![
            Op::write("", "", "manager", MANAGER_BYTES),
            Op::write("", "", "network_graph", self.graph_bytes),
            Op::write("", "", "scorer", SCORER_BYTES),
        ];
        for channel in 0..self.channels {
            first.push(Op::write("monitors", "", &monitor_name(channel), MONITOR_BYTES));
        }
        batches.push(first);
        let mut payment = 0;
        for round in 1..=self.rounds {
            let mut batch = vec![Op::write("", "", "manager", MANAGER_BYTES)];
            for channel in 0..self.channels {
                let monitor = monitor_name(channel);
                if round % CONSOLIDATE_EVERY == 0 {
                    batch.push(Op::write("monitors", "", &monitor, MONITOR_BYTES));
                } else {
                    let update = format!("{round}");
                    batch.push(Op::write(
                        "monitor_updates",
                        &monitor,
                        &update,
                        MONITOR_UPDATE_BYTES,
                    ));
                }
            }
            for _ in 0..self.payments_per_round {
                batch.push(Op::write(
                    "payments",
                    "",
                    &format!("{:064x}", payment + 1),
                    PAYMENT_BYTES,
                ));
                payment += 1;
            }
            batch.push(Op::write("events", "", "pending", EVENTS_BYTES));
            if round % 4 == 0 {
                batch.push(Op::write("", "", "scorer", SCORER_BYTES));
            }
            if round == self.rounds / 2 {
                batch.push(Op::write("", "", "network_graph", self.graph_bytes));
            }
            batches.push(batch);
            if round % CONSOLIDATE_EVERY == 0 {
                // Updates folded into the consolidated monitor are pruned, lazily.
                let prune = (0..self.channels)
                    .flat_map(|channel| {
                        let monitor = monitor_name(channel);
                        (round + 1 - CONSOLIDATE_EVERY..round)
                            .map(move |r| Op::remove("monitor_updates", &monitor, &r.to_string()))
                    })
                    .collect();
                batches.push(prune);
            }
        }
        batches
    }

    /// Number of operations [`Workload::run`] performs.
    pub(crate) fn len(&self) -> usize {
        self.batches().iter().map(Vec::len).sum()
    }

    /// Runs the workload through `store`, calling `progress` after each operation, and
    /// returns the model of the final state.
    pub(crate) async fn run(&self, store: &TierStore, progress: impl Fn()) -> Result<Model, Error> {
        let mut model = Model::new();
        let mut seed = 0u64;
        for batch in self.batches() {
            let ops: Vec<(Op, Option<Vec<u8>>)> = batch
                .into_iter()
                .map(|op| {
                    seed += 1;
                    let bytes = op.write.map(|len| value(seed, len));
                    (op, bytes)
                })
                .collect();
            for (op, bytes) in &ops {
                model.insert(op.key.clone(), bytes.as_deref().map(digest));
            }
            let results = futures::stream::iter(ops)
                .map(|(op, bytes)| {
                    let (p, s, k) = &op.key;
                    let done = match bytes {
                        Some(bytes) => KVStore::write(store, p, s, k, bytes).boxed(),
                        None => KVStore::remove(store, p, s, k, true).boxed(),
                    };
                    let progress = &progress;
                    async move {
                        let result = done.await;
                        progress();
                        result.map_err(|e| (op.key, e))
                    }
                })
                .buffer_unordered(self.concurrency)
                .collect::<Vec<_>>()
                .await;
            if let Some(Err(((p, s, k), e))) = results.into_iter().find(Result::is_err) {
                return Err(Error::config(format!("workload write of {p}/{s}/{k} failed: {e}")));
            }
        }
        Ok(model)
    }
}

/// Reads every key of `model` back through `store` and returns the keys whose content is
/// not what the workload left (wrong value, missing, or present although removed).
pub(crate) async fn check(
    store: &TierStore,
    model: &Model,
    include: impl Fn(&str, &str, &str) -> bool,
) -> Result<Vec<String>, Error> {
    let mut wrong = Vec::new();
    for ((p, s, k), expected) in model.iter().filter(|((p, s, k), _)| include(p, s, k)) {
        let found = match KVStore::read(store, p, s, k).await {
            Ok(bytes) => Some(digest(&bytes)),
            Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::config(format!("reading {p}/{s}/{k}: {e}"))),
        };
        if found != *expected {
            wrong.push(format!("{p}/{s}/{k}"));
        }
    }
    Ok(wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_never_touch_one_key_twice() {
        let workload = Workload {
            channels: 3,
            rounds: 10,
            payments_per_round: 2,
            graph_bytes: 1024,
            concurrency: 4,
        };
        for batch in workload.batches() {
            let mut keys: Vec<_> = batch.iter().map(|op| &op.key).collect();
            keys.sort();
            let before = keys.len();
            keys.dedup();
            assert_eq!(keys.len(), before, "a batch runs its operations concurrently");
        }
        assert!(workload.len() > 3 * 10);
        assert_ne!(value(1, 64), value(2, 64));
        assert_eq!(value(7, 100).len(), 100);
    }
}
