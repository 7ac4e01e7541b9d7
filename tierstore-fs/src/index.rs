//! The listing index: each namespace's keys in creation order, so that a page costs O(page)
//! instead of a scan of the namespace's directory.
//!
//! # Contract
//!
//! - A namespace is indexed on its first page, by one scan of its directory with
//!   `FilesystemStoreV2`'s rules ([`layout::scan`]); later pages are served from memory.
//! - After every write and remove made through this backend (and its clones), the key's file
//!   is looked at again (one `lstat`) and the index takes what is on disk. So the index
//!   holds exactly the positions a scan would find, and pages are the pages
//!   `FilesystemStoreV2` gives, key for key, token for token.
//! - Mutations that finish while a namespace is being scanned are noted and looked at again
//!   when the scan ends, so none is lost between the two.
//! - If looking at a file fails, the namespace is forgotten and scanned again on its next
//!   page.
//!
//! # Other writers
//!
//! The index knows the directory as it was when the namespace was scanned plus this
//! backend's own mutations. Keys that another process, another store opened on the same
//! directory, or LDK code calling the wrapped [`FilesystemStoreV2`] directly creates or
//! removes later are missing from pages (or stay in them) until
//! [`FsBackend::rescan`](crate::FsBackend::rescan) or a new backend. `read`, `list` and
//! `list_all_keys` always read the directory and see them at once. (`FilesystemStoreV2`
//! itself does not support two writers on one directory: its per-key locks are in-process.)
//!
//! Nothing here is persisted, so there is no crash story: a restarted backend scans again.
//!
//! [`FilesystemStoreV2`]: lightning_persister::fs_store::v2::FilesystemStoreV2

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tierstore_core::{Key, Namespace};

use crate::layout::{self, Position};

/// Every indexed namespace of one store directory.
pub(crate) struct ListingIndex {
    root: PathBuf,
    /// Never held across an await or any I/O.
    slots: Mutex<HashMap<Namespace, Arc<Slot>>>,
}

/// One namespace's index and the lock that lets one caller build it.
#[derive(Default)]
struct Slot {
    /// Held briefly: to read a page, or to apply one `lstat` (on a blocking thread).
    state: tokio::sync::Mutex<State>,
    /// Held by the one caller scanning the namespace; others wait for its result.
    build: tokio::sync::Mutex<()>,
}

#[derive(Default)]
enum State {
    /// Not scanned (yet, or again after an error).
    #[default]
    Unbuilt,
    /// Being scanned; keys mutated meanwhile, to be looked at again when the scan ends.
    Building {
        touched: HashSet<String>,
    },
    Built(Order),
}

/// Keys in creation order.
#[derive(Default)]
struct Order {
    by_key: HashMap<String, u64>,
    /// Ascending; pages walk it backwards (newest first, then key descending).
    by_position: BTreeSet<Position>,
}

impl Order {
    /// Records `key` at modification time `mtime`, or its absence.
    fn set(&mut self, key: &str, mtime: Option<u64>) {
        if let Some(old) = self.by_key.remove(key) {
            self.by_position.remove(&(old, key.to_owned()));
        }
        if let Some(mtime) = mtime {
            self.by_key.insert(key.to_owned(), mtime);
            self.by_position.insert((mtime, key.to_owned()));
        }
    }

    /// Up to `limit` keys after `after` (older ones), and the position to resume from if
    /// older keys remain.
    fn page(&self, after: Option<&Position>, limit: usize) -> (Vec<String>, Option<Position>) {
        let mut older = match after {
            Some(after) => self.by_position.range(..after.clone()).rev(),
            None => self.by_position.range(..).rev(),
        };
        let keys: Vec<&Position> = older.by_ref().take(limit).collect();
        let next = match (keys.last(), older.next()) {
            (Some(last), Some(_)) => Some((*last).clone()),
            _ => None,
        };
        (keys.into_iter().map(|(_, key)| key.clone()).collect(), next)
    }
}

impl ListingIndex {
    pub(crate) fn new(root: PathBuf) -> Self {
        ListingIndex { root, slots: Mutex::new(HashMap::new()) }
    }

    fn slot(&self, namespace: &Namespace) -> Option<Arc<Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).get(namespace).cloned()
    }

    fn slot_or_new(&self, namespace: &Namespace) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(slots.entry(namespace.clone()).or_default())
    }

    /// Forgets every namespace: the next page of each scans its directory again.
    pub(crate) fn forget(&self) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Takes `key`'s file as it is now into the index, after a write or remove of it
    /// (successful or not: a failed one may have changed the file). Blocking: call it on the
    /// blocking thread that ran the mutation.
    pub(crate) fn after_mutation(&self, key: &Key) {
        let Some(slot) = self.slot(key.namespace()) else { return };
        let mut state = slot.state.blocking_lock();
        match &mut *state {
            State::Unbuilt => {}
            State::Building { touched } => {
                touched.insert(key.key().to_owned());
            }
            State::Built(order) => match layout::position(&self.root, key) {
                Ok(mtime) => order.set(key.key(), mtime),
                Err(e) => {
                    tracing::warn!(%key, error = %e, "cannot look at the file; rescanning later");
                    *state = State::Unbuilt;
                }
            },
        }
    }

    /// One page of `namespace`: up to `limit` keys after `after`, newest first, and where
    /// the next page starts. Scans the namespace first if it is not indexed.
    pub(crate) async fn page(
        self: &Arc<Self>,
        namespace: &Namespace,
        after: Option<&Position>,
        limit: usize,
    ) -> io::Result<(Vec<String>, Option<Position>)> {
        let slot = self.slot_or_new(namespace);
        loop {
            if let State::Built(order) = &*slot.state.lock().await {
                return Ok(order.page(after, limit));
            }
            let _building = slot.build.lock().await;
            {
                let mut state = slot.state.lock().await;
                if matches!(*state, State::Built(_)) {
                    continue;
                }
                *state = State::Building { touched: HashSet::new() };
            }
            let (index, slot, namespace) = (Arc::clone(self), Arc::clone(&slot), namespace.clone());
            tokio::task::spawn_blocking(move || index.build(&slot, &namespace))
                .await
                .map_err(io::Error::other)??;
        }
    }

    /// Scans `namespace` into `slot`, then looks again at the keys mutated meanwhile.
    /// Blocking.
    fn build(&self, slot: &Slot, namespace: &Namespace) -> io::Result<()> {
        let _span = tracing::debug_span!("fs_index_scan", %namespace).entered();
        let scanned = layout::scan(&self.root, namespace);
        let mut state = slot.state.blocking_lock();
        let touched = match std::mem::take(&mut *state) {
            State::Building { touched } => touched,
            _ => HashSet::new(),
        };
        let mut order = Order::default();
        for (mtime, key) in scanned? {
            order.set(&key, Some(mtime));
        }
        for key in touched {
            let key = namespace.key(&key).map_err(io::Error::other)?;
            order.set(key.key(), layout::position(&self.root, &key)?);
        }
        *state = State::Built(order);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(entries: &[(u64, &str)]) -> Order {
        let mut order = Order::default();
        for (mtime, key) in entries {
            order.set(key, Some(*mtime));
        }
        order
    }

    #[test]
    fn pages_run_newest_first_then_by_key_descending() {
        let order = order(&[(10, "a"), (20, "b"), (20, "c"), (30, "d")]);
        let (keys, next) = order.page(None, 2);
        assert_eq!(keys, ["d", "c"]);
        assert_eq!(next, Some((20, "c".to_owned())));
        let (keys, next) = order.page(next.as_ref(), 2);
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(next, None, "no older key remains");
        assert_eq!(
            order.page(None, 4),
            (vec!["d".into(), "c".into(), "b".into(), "a".into()], None)
        );
    }

    #[test]
    fn a_page_resumes_after_a_deleted_position() {
        let mut order = order(&[(10, "a"), (20, "b"), (30, "c")]);
        let (_, next) = order.page(None, 1);
        order.set("c", None);
        order.set("b", None);
        assert_eq!(order.page(next.as_ref(), 5), (vec!["a".into()], None));
    }

    #[test]
    fn an_update_moves_a_key_to_its_new_position() {
        let mut order = order(&[(10, "a"), (20, "b")]);
        order.set("a", Some(30));
        assert_eq!(order.page(None, 5).0, ["a", "b"]);
        assert_eq!(order.by_position.len(), 2);
    }
}
