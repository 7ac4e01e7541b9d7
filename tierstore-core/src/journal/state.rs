//! What the journal's records add up to.

use std::collections::HashMap;
use std::time::SystemTime;

use super::record::{Record, truncate_to_millis};
use crate::error::{Operation, Tier};
use crate::key::Key;
use crate::sync_record::StoreId;
use crate::tier_store::Divergence;

/// The state a sequence of records describes. Applying a record is idempotent, and a suffix
/// of records applied again to the state they produced changes nothing.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct State {
    /// The primary this journal belongs to.
    pub(crate) primary: Option<StoreId>,
    /// The backup known to be in sync, and its generation.
    pub(crate) synced: Option<(StoreId, u64)>,
    /// Mutations begun and not yet ended: id -> key and operation.
    pub(crate) open: HashMap<u64, (Key, Operation)>,
    /// Keys whose tiers may differ.
    pub(crate) diverged: HashMap<Key, Divergence>,
    /// Highest mutation id seen.
    pub(crate) last_id: u64,
}

impl State {
    pub(crate) fn apply(&mut self, record: &Record) {
        match record {
            Record::Begin { id, key, op } => {
                self.open.insert(*id, (key.clone(), *op));
                self.last_id = self.last_id.max(*id);
            }
            Record::End { id } => {
                self.open.remove(id);
            }
            Record::Diverged { id, divergence } => {
                self.open.remove(id);
                self.diverged.insert(divergence.key.clone(), divergence.clone());
            }
            Record::Resolved { key } => {
                self.diverged.remove(key);
            }
            Record::Primary { store } => self.primary = Some(*store),
            Record::Synced { backup, generation } => self.synced = Some((*backup, *generation)),
            Record::Unsynced => self.synced = None,
        }
    }

    /// Records that rebuild this state from nothing (what compaction writes).
    pub(crate) fn snapshot(&self) -> Vec<Record> {
        let mut records = Vec::with_capacity(2 + self.open.len() + self.diverged.len());
        if let Some(store) = self.primary {
            records.push(Record::Primary { store });
        }
        records.push(match self.synced {
            Some((backup, generation)) => Record::Synced { backup, generation },
            None => Record::Unsynced,
        });
        for divergence in self.diverged.values() {
            records.push(Record::Diverged { id: 0, divergence: divergence.clone() });
        }
        let mut open: Vec<_> = self.open.iter().collect();
        open.sort_by_key(|(id, _)| **id);
        for (id, (key, op)) in open {
            records.push(Record::Begin { id: *id, key: key.clone(), op: *op });
        }
        records
    }

    /// After a restart: mutations that began and never ended may have reached one tier and
    /// not the other. Each becomes a divergence (unless its key already is one). Returns how
    /// many there were.
    pub(crate) fn interrupted(&mut self) -> usize {
        let open: Vec<_> = self.open.drain().collect();
        let count = open.len();
        for (_, (key, operation)) in open {
            if self.diverged.contains_key(&key) {
                continue;
            }
            let divergence = Divergence {
                key: key.clone(),
                tier: Tier::Backup,
                operation,
                reason: "interrupted: the process stopped before both tiers acknowledged it"
                    .to_owned(),
                at: truncate_to_millis(SystemTime::now()),
            };
            self.diverged.insert(key, divergence);
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn divergence(key: &Key) -> Divergence {
        Divergence {
            key: key.clone(),
            tier: Tier::Backup,
            operation: Operation::Write,
            reason: "backup down".into(),
            at: truncate_to_millis(SystemTime::now()),
        }
    }

    #[test]
    fn snapshot_rebuilds_the_state_and_suffixes_are_idempotent() {
        let a = Key::new("ns", "", "a").unwrap();
        let b = Key::new("ns", "", "b").unwrap();
        let records = vec![
            Record::Primary { store: StoreId::random() },
            Record::Begin { id: 1, key: a.clone(), op: Operation::Write },
            Record::Begin { id: 2, key: b.clone(), op: Operation::Remove },
            Record::End { id: 1 },
            Record::Diverged { id: 2, divergence: divergence(&b) },
            Record::Begin { id: 3, key: a.clone(), op: Operation::Write },
            Record::Resolved { key: b.clone() },
            Record::Diverged { id: 0, divergence: divergence(&a) },
            Record::Synced { backup: StoreId::random(), generation: 3 },
        ];
        let mut state = State::default();
        records.iter().for_each(|r| state.apply(r));
        assert_eq!(state.open.len(), 1);
        assert_eq!(state.diverged.keys().collect::<Vec<_>>(), vec![&a]);
        assert_eq!(state.last_id, 3);

        let mut rebuilt = State::default();
        state.snapshot().iter().for_each(|r| rebuilt.apply(r));
        assert_eq!(rebuilt, state);

        for start in 0..records.len() {
            let mut again = state.clone();
            records[start..].iter().for_each(|r| again.apply(r));
            assert_eq!(again, state, "re-applying the suffix from {start}");
        }
    }

    #[test]
    fn interrupted_mutations_become_divergences() {
        let a = Key::new("ns", "", "a").unwrap();
        let mut state = State::default();
        state.apply(&Record::Begin { id: 5, key: a.clone(), op: Operation::Remove });
        assert_eq!(state.interrupted(), 1);
        assert!(state.open.is_empty());
        assert_eq!(state.diverged[&a].operation, Operation::Remove);
    }
}
