//! The journal: a local, durable record of which durable keys may differ between primary and
//! backup.
//!
//! # Contract
//!
//! - Before a durable mutation is sent to primary and backup, its key is recorded
//!   ([`Journal::begin`]) and the record is fsynced; the mutation's future does not touch a
//!   tier before that. Records of concurrent mutations share one fsync (group commit, in
//!   [`writer`]).
//! - Once both tiers acknowledged it, the record is closed ([`Journal::end`]). If one tier
//!   failed, the key stays recorded as a divergence ([`Journal::diverged`]) until a repair
//!   makes the backup equal the primary ([`Journal::resolved`]).
//! - The journal also remembers which primary it belongs to and which backup it last synced
//!   with, at which generation (see [`crate::sync_record`]).
//! - One process at a time: the file is locked while open.
//!
//! # Crash story
//!
//! | crash ... | on disk | next `open()` |
//! |---|---|---|
//! | before a `begin` record is durable | maybe a torn last frame | dropped; the mutation never reached a tier and was never acknowledged |
//! | after `begin`, anywhere in the mutation | the open `begin` | the key is a divergence: the backup is made equal to the primary |
//! | after both tiers, before `end` is written | the open `begin` | same: an extra copy of an equal key, harmless |
//! | after a tier failed, before `diverged` is written | the open `begin` | same |
//! | during compaction | the old file or the new one, each complete | replayed as it is |
//!
//! Records nobody waits for (`end`, `diverged`, `resolved`) may be lost in a crash; each loss
//! leaves the key *more* suspect, never less. A file damaged other than by a torn write is
//! refused with [`Error::Journal`], whose message gives the way out: move the file away and
//! reopen, which resilvers the backup in full (every key compared, differences copied).

mod record;
mod replay;
mod state;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

pub(crate) use record::{Record, truncate_to_millis};
pub(crate) use state::State;
use writer::{Counters, Request, Writer};

use crate::error::{Error, Operation};
use crate::key::Key;
use crate::sync_record::StoreId;
use crate::tier_store::Divergence;

/// Counters of a journal's work since it was opened, to see group commit at work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalStats {
    /// Records appended.
    pub records: u64,
    /// Frames written (one `write` each).
    pub frames: u64,
    /// `fdatasync` calls: with many mutations in flight, far fewer than records.
    pub syncs: u64,
    /// Compactions.
    pub compactions: u64,
    /// Bytes appended.
    pub bytes: u64,
}

/// An open journal: a handle on its writer thread.
pub(crate) struct Journal {
    path: PathBuf,
    requests: Mutex<Option<mpsc::Sender<Request>>>,
    next_id: AtomicU64,
    thread: Mutex<Option<JoinHandle<()>>>,
    counters: Arc<Counters>,
}

/// What opening a journal found.
pub(crate) struct Opened {
    pub(crate) journal: Journal,
    /// The state before this process: divergences include interrupted mutations.
    pub(crate) state: State,
    /// Whether the file did not exist (or held nothing yet).
    pub(crate) fresh: bool,
    /// Bytes dropped as a torn write.
    pub(crate) torn: u64,
}

impl Journal {
    /// Opens (or creates) the journal at `path`, replays it, and starts its writer thread.
    /// Blocking: call it on a blocking thread.
    pub(crate) fn open(path: &Path) -> Result<Opened, Error> {
        Self::open_with(path, writer::COMPACT_AT)
    }

    /// [`open`](Self::open), compacting from `compact_at` bytes on.
    pub(crate) fn open_with(path: &Path, compact_at: u64) -> Result<Opened, Error> {
        let fail = |reason: String| Error::journal(path, reason);
        let existing = match std::fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(fail(format!("cannot read it: {e}"))),
        };
        let replayed = match &existing {
            Some(bytes) => replay::replay(bytes).map_err(|reason| {
                Error::journal(
                    path,
                    format!(
                        "it is corrupt: {reason}. TierStore cannot tell which keys may differ \
                         between primary and backup. Move the file away and open the store \
                         again: open() then resilvers the backup in full (every key compared, \
                         only the differences copied)"
                    ),
                )
            })?,
            None => replay::Replayed { fresh: true, ..Default::default() },
        };
        if replayed.torn > 0 && !replayed.fresh {
            tracing::warn!(
                target: "tierstore", journal = %path.display(), bytes = replayed.torn,
                at = replayed.good_len,
                "dropping a torn write at the end of the journal (a crash during its last write)"
            );
        }
        let mut state = replayed.state;
        let interrupted = state.interrupted();
        if interrupted > 0 {
            tracing::info!(
                target: "tierstore", journal = %path.display(), mutations = interrupted,
                "mutations were interrupted by the last stop; their keys will be recovered"
            );
        }
        // Rewrite the file as a compact snapshot: this drops a torn tail, makes a new file
        // durable (header and directory entry) and starts from the current state.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        }
        let lock_probe = existing.as_ref().map(|_| std::fs::File::open(path)).transpose();
        let lock_probe = lock_probe.map_err(|e| fail(format!("cannot open it: {e}")))?;
        if let Some(old) = &lock_probe {
            writer::lock(old, path).map_err(fail)?;
        }
        let temp = writer::compact_path(path);
        let new = writer::write_new(&temp, &state.snapshot(), compact_at).map_err(fail)?;
        writer::lock(&new.file, &temp).map_err(fail)?;
        std::fs::rename(&temp, path).map_err(|e| fail(format!("cannot replace it: {e}")))?;
        writer::sync_dir(path).map_err(fail)?;
        drop(lock_probe);

        let counters = Arc::new(Counters::default());
        let writer = Writer {
            path: path.to_path_buf(),
            file: new.file,
            len: new.len,
            allocated: new.allocated,
            compacted_len: new.len,
            compact_at,
            state: state.clone(),
            counters: Arc::clone(&counters),
        };
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("tierstore-journal".to_owned())
            .spawn(move || writer.run(receiver))
            .map_err(|e| fail(format!("cannot start its writer thread: {e}")))?;
        let journal = Journal {
            path: path.to_path_buf(),
            requests: Mutex::new(Some(sender)),
            next_id: AtomicU64::new(state.last_id + 1),
            thread: Mutex::new(Some(thread)),
            counters,
        };
        Ok(Opened { journal, state, fresh: replayed.fresh, torn: replayed.torn })
    }

    /// The journal's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Records that a durable mutation of `key` is about to reach the tiers; returns once the
    /// record is durable, with the id that [`end`](Self::end) or
    /// [`diverged`](Self::diverged) closes.
    pub(crate) async fn begin(&self, key: &Key, op: Operation) -> Result<u64, Error> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.durable(vec![Record::Begin { id, key: key.clone(), op }]).await?;
        Ok(id)
    }

    /// Both tiers acknowledged mutation `id`.
    pub(crate) fn end(&self, id: u64) {
        self.lazy(Record::End { id });
    }

    /// The tiers may differ on `divergence.key` (closing mutation `id`, if not 0).
    pub(crate) fn diverged(&self, id: u64, divergence: &Divergence) {
        self.lazy(Record::Diverged { id, divergence: divergence.clone() });
    }

    /// The backup equals the primary again on `key`.
    pub(crate) fn resolved(&self, key: &Key) {
        self.lazy(Record::Resolved { key: key.clone() });
    }

    /// Durably records the primary this journal belongs to.
    pub(crate) async fn set_primary(&self, store: StoreId) -> Result<(), Error> {
        self.durable(vec![Record::Primary { store }]).await
    }

    /// Durably records the backup in sync (or that none is).
    pub(crate) async fn set_synced(&self, synced: Option<(StoreId, u64)>) -> Result<(), Error> {
        let record = match synced {
            Some((backup, generation)) => Record::Synced { backup, generation },
            None => Record::Unsynced,
        };
        self.durable(vec![record]).await
    }

    /// Counters since the journal was opened.
    pub(crate) fn stats(&self) -> JournalStats {
        let c = &self.counters;
        JournalStats {
            records: c.records.load(Ordering::Relaxed),
            frames: c.frames.load(Ordering::Relaxed),
            syncs: c.syncs.load(Ordering::Relaxed),
            compactions: c.compactions.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
        }
    }

    async fn durable(&self, records: Vec<Record>) -> Result<(), Error> {
        let (done, answer) = oneshot::channel();
        self.send(Request::Append { records, done: Some(done) })?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(Error::journal(&self.path, reason)),
            Err(_) => Err(Error::journal(&self.path, "its writer thread stopped")),
        }
    }

    fn lazy(&self, record: Record) {
        // An error here means the writer stopped; the next durable request reports it.
        let _ = self.send(Request::Append { records: vec![record], done: None });
    }

    fn send(&self, request: Request) -> Result<(), Error> {
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let sender = requests.as_ref().ok_or_else(|| Error::journal(&self.path, "it is closed"))?;
        sender.send(request).map_err(|_| Error::journal(&self.path, "its writer thread stopped"))
    }

    /// Writes what is queued, syncs, and stops the writer thread (also done on drop).
    pub(crate) fn close(&self) {
        drop(self.requests.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests;
